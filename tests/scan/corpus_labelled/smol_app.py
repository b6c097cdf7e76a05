import os

from smolagents import ToolCallingAgent, tool


@tool
def rm(path: str) -> str:
    """Tidy a path.

    Args:
        path: the path
    """
    os.remove(path)
    return "ok"


janitor = ToolCallingAgent(tools=[rm], model=None, description="Keeps the workspace tidy.")
