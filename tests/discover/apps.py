"""ASGI apps the discover tests probe: real MCP SDK servers and look-alikes that are not MCP."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

TOKEN = "test-token-123"


def mcp_server() -> MCPServer:
    server = MCPServer("files-test")

    @server.tool()
    def read_file(path: str) -> str:
        """Read a file from the local disk and return its text."""
        return path

    @server.tool()
    def run_shell_command(command: str) -> str:
        """Execute a shell command on the host and return its output."""
        return command

    return server


def streamable_app() -> Any:
    return mcp_server().streamable_http_app()


def sse_app() -> Any:
    return mcp_server().sse_app()


class BearerAuth:
    """401 with MCP authorization metadata unless the bearer token is right."""

    def __init__(self, app: Any, port_holder: dict[str, int]) -> None:
        self.app = app
        self.port_holder = port_holder

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {TOKEN}".encode():
                response = JSONResponse(
                    {"error": "invalid_token"},
                    status_code=401,
                    headers={
                        "WWW-Authenticate": (
                            'Bearer resource_metadata="http://127.0.0.1/.well-known/'
                            'oauth-protected-resource/mcp"'
                        )
                    },
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def authed_streamable_app() -> Any:
    return BearerAuth(streamable_app(), {})


def not_found_app() -> Any:
    async def nothing(request: Request) -> Response:
        return PlainTextResponse("Not Found", status_code=404)

    return Starlette(routes=[Route("/{path:path}", nothing, methods=["GET", "POST", "DELETE"])])


def html_app() -> Any:
    async def page(request: Request) -> Response:
        return HTMLResponse("<html><body>Welcome to MCP docs</body></html>")

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])


def bare_401_app() -> Any:
    async def deny(request: Request) -> Response:
        return PlainTextResponse("no", status_code=401, headers={"WWW-Authenticate": "Basic"})

    return Starlette(routes=[Route("/{path:path}", deny, methods=["GET", "POST"])])


def openai_app() -> Any:
    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": "llama-3-8b", "object": "model", "owned_by": "local"},
                    {"id": "gpt-oss-20b", "object": "model", "owned_by": "local"},
                ],
            }
        )

    return Starlette(routes=[Route("/v1/models", models)])


def ollama_app() -> Any:
    async def tags(request: Request) -> Response:
        return JSONResponse({"models": [{"name": "llama3:8b", "size": 1}]})

    async def version(request: Request) -> Response:
        return JSONResponse({"version": "0.5.1"})

    return Starlette(routes=[Route("/api/tags", tags), Route("/api/version", version)])


def health_app() -> Any:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": "0.1.0", "mode": "embedded"})

    return Starlette(routes=[Route("/health", health)])
