"""Endpoint probes against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agentsentinel_cli.discover.probes import EndpointFinding, probe_all

from tests.discover import apps
from tests.discover.conftest import ServerThread


def probe(port: int) -> list[EndpointFinding]:
    results, _ = asyncio.run(probe_all([("127.0.0.1", port)], timeout_s=3.0, concurrency=4))
    return results[("127.0.0.1", port)]


def test_streamable_http_mcp_without_auth_is_open_and_lists_tools(
    serve: Callable[[Any], ServerThread],
) -> None:
    server = serve(apps.streamable_app())
    found = probe(server.port)
    assert [f.kind for f in found] == ["mcp_server"]
    mcp = found[0]
    assert mcp.status == "open"
    assert mcp.details["transport"] == "streamable-http"
    assert mcp.details["server_name"] == "files-test"
    assert sorted(t.name for t in mcp.tools) == ["read_file", "run_shell_command"]
    read = next(t for t in mcp.tools if t.name == "read_file")
    assert read.input_schema is not None and "path" in read.input_schema["properties"]


def test_streamable_http_mcp_with_bearer_auth_is_auth_required_without_tools(
    serve: Callable[[Any], ServerThread],
) -> None:
    server = serve(apps.authed_streamable_app())
    found = probe(server.port)
    assert [f.kind for f in found] == ["mcp_server"]
    assert found[0].status == "auth_required"
    assert found[0].tools == ()
    assert "resource_metadata" in found[0].details["auth"]["www_authenticate"]


def test_sse_mcp_server_is_confirmed_and_open(serve: Callable[[Any], ServerThread]) -> None:
    server = serve(apps.sse_app())
    found = probe(server.port)
    assert [f.kind for f in found] == ["mcp_server"]
    assert found[0].details["transport"] == "sse"
    assert found[0].status == "open"
    assert sorted(t.name for t in found[0].tools) == ["read_file", "run_shell_command"]


def test_plain_404_app_html_app_and_bare_401_are_not_mcp(
    serve: Callable[[Any], ServerThread],
) -> None:
    for app in (apps.not_found_app(), apps.html_app(), apps.bare_401_app()):
        server = serve(app)
        assert probe(server.port) == []


def test_openai_compatible_ollama_and_agentsentinel_are_recognised(
    serve: Callable[[Any], ServerThread],
) -> None:
    openai = serve(apps.openai_app())
    ollama = serve(apps.ollama_app())
    health = serve(apps.health_app())
    [llm] = probe(openai.port)
    assert llm.kind == "llm_api"
    assert llm.details["models"] == ["gpt-oss-20b", "llama-3-8b"]
    [oll] = probe(ollama.port)
    assert oll.kind == "ollama" and oll.details["version"] == "0.5.1"
    [sentinel] = probe(health.port)
    assert sentinel.kind == "agentsentinel" and sentinel.details["mode"] == "embedded"


def test_non_http_service_is_skipped_with_a_reason() -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def garbage() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"\x00\x01\x02 not http\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=garbage, daemon=True)
    thread.start()
    results, errors = asyncio.run(probe_all([("127.0.0.1", port)], timeout_s=2.0, concurrency=2))
    listener.close()
    assert results[("127.0.0.1", port)] == []
    assert errors[("127.0.0.1", port)].startswith("not HTTP")
