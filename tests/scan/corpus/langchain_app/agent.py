from langgraph.prebuilt import create_react_agent

from .tools import TOOLS, FileWriterTool, order_lookup

ALL_TOOLS = TOOLS + [FileWriterTool()]  # noqa: RUF005 (the form under test)

agent = create_react_agent(
    "openai:gpt-4o", ALL_TOOLS, prompt="Research assistant that writes reports."
)

support = create_react_agent(
    "openai:gpt-4o", tools=[order_lookup], name="support", prompt="Read-only order support."
)
