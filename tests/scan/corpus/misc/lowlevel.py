import mcp.types as types
from mcp.server.lowlevel import Server

server = Server("weather")


@server.list_tools()
async def list_tools() -> list[types.Tool]:
    return [
        types.Tool(
            name="get_forecast",
            description="Get the weather forecast for a city.",
            inputSchema={"type": "object", "properties": {"city": {"type": "string"}}},
        )
    ]
