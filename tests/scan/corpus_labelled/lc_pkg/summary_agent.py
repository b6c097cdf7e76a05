from langgraph.prebuilt import create_react_agent

from lc_pkg import tools as lc_tools

summariser = create_react_agent(
    "openai:gpt-4o", [lc_tools.summarise], name="summariser", prompt="Summarises documents."
)
