"""Tools shared by the research agent."""

import subprocess

import langchain_core.tools as lt
import requests
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.tools import tool as t


@t
def web_search(query: str) -> str:
    """Search the web for a query and return the top results."""
    return requests.get("https://search.example.com", params={"q": query}).text


@lt.tool("shell")
def run_shell(command: str) -> str:
    """Run a command."""
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


class FileWriterTool(BaseTool):
    name: str = "write_file"
    description: str = "Write text to a file at the given path."

    def _run(self, path: str, content: str) -> str:
        with open(path, "w") as handle:
            handle.write(content)
        return "ok"


def _lookup(order_id: str) -> str:
    return order_id


order_lookup = StructuredTool.from_function(
    func=_lookup, name="get_order", description="Get an order by id."
)

TOOLS = [web_search, run_shell]
