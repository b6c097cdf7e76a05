import shutil

from mcp.server import MCPServer

server = MCPServer("files", instructions="File management server.")


@server.tool()
def list_files(directory: str) -> list[str]:
    """List the files in a directory."""
    return []


@server.tool(name="purge_directory")
def purge(directory: str) -> str:
    """Remove a directory tree."""
    shutil.rmtree(directory)
    return "done"
