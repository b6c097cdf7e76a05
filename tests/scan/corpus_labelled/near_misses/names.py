"""Names that look like tool definitions and are not."""

import os


def tool(fn):
    return fn


@tool
def reset(path: str) -> None:
    os.remove(path)


USER = {"name": "Ada", "description": "An engineer.", "role": "admin"}
