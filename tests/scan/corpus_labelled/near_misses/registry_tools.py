"""A task registry whose decorator happens to be called ``tool``: not an agent framework."""

import shutil

from invoke_registry import tool


@tool
def wipe(directory: str) -> None:
    """Remove a build directory."""
    shutil.rmtree(directory)
