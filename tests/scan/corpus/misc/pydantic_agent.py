import os

from pydantic_ai import Agent, RunContext

agent = Agent("openai:gpt-4o", name="deleter", system_prompt="Clean up temporary files.")


@agent.tool
def delete_temp_file(ctx: RunContext[None], path: str) -> str:
    """Delete a temporary file."""
    os.remove(path)
    return "deleted"


@agent.tool_plain
def roll_dice() -> int:
    """Roll a six-sided die."""
    return 4
