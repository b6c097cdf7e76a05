"""An agent given a plain function that another module defines."""

from langgraph.prebuilt import create_react_agent
from weather_helpers import get_tide

sailor = create_react_agent(
    "openai:gpt-4o", [get_tide], name="sailor", prompt="Answers sailing questions."
)
