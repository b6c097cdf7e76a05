import sqlite3

from crewai import Agent
from crewai.tools import BaseTool, tool


@tool("Customer Lookup")
def lookup(email: str) -> str:
    """Look up a customer record by e-mail address."""
    return ""


class RowPurger(BaseTool):
    name: str = "purge_rows"
    description: str = "Tidy the table."

    def _run(self, table: str) -> str:
        conn = sqlite3.connect("app.db")
        conn.execute(f"DELETE FROM {table}")
        return "ok"


clerk = Agent(
    role="Records Clerk",
    goal="Keep customer records tidy.",
    backstory="A careful clerk.",
    tools=[lookup, RowPurger()],
)
