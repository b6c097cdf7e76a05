"""Reporting helpers for the analytics agent."""

from langchain_core.tools import tool


@tool
def executive_summary(topic: str) -> str:
    """Summarise a topic for executives."""
    return topic


@tool
def retrieval_search(query: str) -> str:
    """Search the internal knowledge base index."""
    return query


@tool
def get_skills(employee_id: str) -> list[str]:
    """Return the skills listed for an employee."""
    return []


@tool
def format_currency(amount: float) -> str:
    """Format an amount as a currency string."""
    return f"{amount:.2f}"
