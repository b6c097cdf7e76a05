from mcp import types
from mcp.server.lowlevel import Server

app = Server("inventory")


@app.list_tools()
async def list_tools() -> list[types.Tool]:
    return [
        types.Tool(
            name="count_stock",
            description="Count the units of a product in stock.",
            inputSchema={"type": "object", "properties": {"sku": {"type": "string"}}},
        ),
        types.Tool(
            name="delete_sku",
            description="Delete a product from the catalogue.",
            inputSchema={"type": "object", "properties": {"sku": {"type": "string"}}},
        ),
    ]
