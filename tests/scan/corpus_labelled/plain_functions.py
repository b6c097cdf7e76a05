"""Plain functions given to agents that turn callables into tools themselves."""

import httpx
from autogen_agentchat.agents import AssistantAgent
from langgraph.prebuilt import create_react_agent
from pydantic_ai import Agent


def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return "sunny"


async def post_update(url: str, payload: str) -> str:
    """Share an update."""
    async with httpx.AsyncClient() as client:
        await client.post(url, content=payload)
    return "ok"


def roll_dice() -> int:
    """Roll a six-sided die."""
    return 4


def _unused_helper() -> None:
    return None


WEATHER_TOOLS = [get_weather]

forecaster = create_react_agent(
    "openai:gpt-4o", tools=WEATHER_TOOLS, prompt="Answers weather questions."
)
notifier = AssistantAgent(
    "notifier", model_client=None, tools=[post_update], system_message="Sends notifications."
)
dice = Agent("openai:gpt-4o", name="dice", tools=[roll_dice], system_prompt="Plays board games.")
