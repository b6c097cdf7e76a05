from mcp.server.fastmcp import FastMCP

mcp = FastMCP("notes")


@mcp.tool()
def read_note(note_id: str) -> str:
    """Read a note by id."""
    return ""
