from crewai import Agent
from crewai.tools import BaseTool, tool


@tool("Database Query")
def database_query(sql: str) -> str:
    """Run a SQL query against the customer database."""
    return ""


class SlackPoster(BaseTool):
    name: str = "post_to_slack"
    description: str = "Post a message to a Slack channel."

    def _run(self, channel: str, text: str) -> str:
        return ""


analyst = Agent(
    role="Data Analyst",
    goal="Answer questions about customers.",
    backstory="An analyst.",
    tools=[database_query, SlackPoster()],
    allow_code_execution=True,
)
