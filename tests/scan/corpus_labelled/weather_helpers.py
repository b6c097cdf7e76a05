"""Helpers of the sailing agent."""


def get_tide(port: str) -> str:
    """Return the tide times of a port."""
    return ""
