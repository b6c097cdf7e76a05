from langgraph.prebuilt import create_react_agent

from .tools import ReportWriter, bash, fetch, search, summarise

TOOLS = [search, fetch, summarise]

researcher = create_react_agent(
    "openai:gpt-4o", TOOLS, prompt="Research a topic on the web and write a report."
)

ops = create_react_agent(
    model="openai:gpt-4o",
    tools=TOOLS + [bash, ReportWriter()],  # noqa: RUF005 (the form under test)
    name="ops",
    prompt="Operations helper.",
)
