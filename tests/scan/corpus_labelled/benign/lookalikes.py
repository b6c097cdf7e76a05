"""Analytics helpers whose names contain scary substrings."""

from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent


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
def credit_check(customer_id: str) -> str:
    """Return the credit rating on file for a customer."""
    return "A"


@tool
def dropbox_list(folder: str) -> list[str]:
    """List the file names in a Dropbox folder."""
    return []


@tool
def preset_lookup(preset_name: str) -> str:
    """Return the settings of a chart preset."""
    return preset_name


@tool
def runtime_info() -> str:
    """Return the Python version the service runs on."""
    return "3.11"


@tool
def sender_lookup(message_id: str) -> str:
    """Return the display name of the sender of a stored message."""
    return ""


@tool
def count_tokens(text: str) -> int:
    """Count the tokens in a text."""
    return len(text.split())


@tool
def get_profile(user_id: str) -> dict[str, str]:
    """Return the profile of a user."""
    return {}


analyst = create_react_agent(
    "openai:gpt-4o",
    [
        executive_summary,
        retrieval_search,
        get_skills,
        credit_check,
        dropbox_list,
        preset_lookup,
        runtime_info,
        sender_lookup,
        count_tokens,
        get_profile,
    ],
    name="analyst",
    prompt="Read-only analytics assistant.",
)
