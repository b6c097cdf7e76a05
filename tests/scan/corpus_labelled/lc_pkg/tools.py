"""Tools of the research agents."""

import subprocess

import langchain_core.tools as lt
import requests
from langchain_core.tools import BaseTool, StructuredTool, Tool
from langchain_core.tools import tool as t


@t("web_search")
def search(query: str) -> str:
    """Search the web and return the result snippets."""
    return requests.get("https://search.example.com", params={"q": query}, timeout=10).text


@t(name_or_callable="fetch_page")
def fetch(url: str) -> str:
    """Fetch a web page by URL."""
    return requests.get(url, timeout=10).text


@lt.tool
def bash(command: str) -> str:
    """Run it."""
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


def _summarise(text: str) -> str:
    return text[:200]


summarise = StructuredTool.from_function(
    func=_summarise, name="summarise_text", description="Summarise a text in a few lines."
)


def _word_count(text: str) -> int:
    return len(text.split())


word_count = Tool(name="word_count", func=_word_count, description="Count the words of a text.")


class ReportWriter(BaseTool):
    name: str = "save_report"
    description: str = "Save a report."

    def _run(self, path: str, body: str) -> str:
        with open(path, "w") as handle:
            handle.write(body)
        return path
