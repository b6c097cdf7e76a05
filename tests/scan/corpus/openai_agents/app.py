from agents import Agent, CodeInterpreterTool, WebSearchTool, function_tool


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return "sunny"


@function_tool(name_override="send_email")
def email(to: str, subject: str, body: str) -> str:
    """Send an email to a recipient."""
    return "sent"


assistant = Agent(
    name="Assistant",
    instructions="Help the user.",
    tools=[get_weather, email, WebSearchTool(), CodeInterpreterTool(tool_config={})],
)
