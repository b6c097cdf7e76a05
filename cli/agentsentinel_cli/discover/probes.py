"""Phase two of an endpoint sweep: what speaks on an open port.

Key contracts:
- An MCP server is confirmed only by a valid JSON-RPC ``initialize`` result (``protocolVersion``
  plus ``serverInfo`` or ``capabilities``), over streamable HTTP (``POST /mcp``, JSON or
  SSE-framed answer) or the SSE transport (``GET /sse`` -> ``endpoint`` event -> POST). A 404,
  an HTML page or any other JSON is not MCP.
- "open" means ``tools/list`` answered without credentials; "auth_required" means a 401 carrying
  MCP auth metadata (``WWW-Authenticate: ... resource_metadata=...`` or a
  ``/.well-known/oauth-protected-resource`` document). A bare 401 confirms nothing.
- OpenAI-compatible APIs, Ollama and AgentSentinel servers are recognised by the exact JSON shape
  of ``/v1/models``, ``/api/tags`` and ``/health``.
- Probes never send credentials and never call a tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import httpx

MCP_PROTOCOL_VERSION: Final = "2025-06-18"
_CLIENT_INFO: Final = {"name": "agentsentinel-discover", "version": "1"}
_ACCEPT_BOTH: Final = "application/json, text/event-stream"
# Upper bounds on what a probe reads from an untrusted server.
_MAX_BODY: Final = 4 * 1024 * 1024
_MAX_TOOL_PAGES: Final = 20
_MAX_MODELS_KEPT: Final = 50


@dataclass(frozen=True, slots=True)
class McpTool:
    """One tool definition returned by ``tools/list``."""

    name: str
    description: str | None
    input_schema: Mapping[str, Any] | None
    annotations: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class EndpointFinding:
    """What one probe recognised at ``url``."""

    kind: str  # "mcp_server" | "llm_api" | "ollama" | "agentsentinel"
    url: str
    details: Mapping[str, Any] = field(default_factory=dict)
    # MCP only: "open" | "auth_required" | "initialize_only"
    status: str | None = None
    tools: tuple[McpTool, ...] = ()


class _NotMcp(Exception):
    """The answer is not a valid MCP ``initialize`` result."""


class _AuthRequired(Exception):
    def __init__(self, metadata: Mapping[str, Any]) -> None:
        super().__init__("auth required")
        self.metadata = metadata


def base_urls(host: str, port: int) -> list[str]:
    """The URL roots to try for an open port (https only where TLS is the norm)."""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if port in (443, 8443):
        return [f"https://{netloc}"]
    return [f"http://{netloc}"]


async def probe_endpoint(
    client: httpx.AsyncClient, host: str, port: int
) -> tuple[list[EndpointFinding], str | None]:
    """Everything recognised on ``host:port`` and, when nothing answered HTTP, why."""
    found: list[EndpointFinding] = []
    error: str | None = None
    for base in base_urls(host, port):
        # One cheap request first: databases, brokers and other non-HTTP services fail it (or
        # never answer), and then no protocol probe is spent on them.
        try:
            await client.get(urljoin(base, "/"), headers={"Accept": "*/*"})
        except (httpx.HTTPError, OSError) as exc:
            error = f"not HTTP ({type(exc).__name__})"
            continue
        probes = (_probe_streamable, _probe_sse, _probe_openai, _probe_ollama, _probe_health)
        results = await asyncio.gather(*(_guarded(probe, client, base) for probe in probes))
        found.extend(r for r in results if r is not None)
        # A server on /mcp may also answer /sse: keep one MCP entry, preferring the streamable
        # transport (probed first).
        mcp = [f for f in found if f.kind == "mcp_server"]
        if len(mcp) > 1:
            found = [f for f in found if f.kind != "mcp_server" or f is mcp[0]]
    return found, error


async def _guarded(probe: Any, client: httpx.AsyncClient, base: str) -> EndpointFinding | None:
    try:
        result: EndpointFinding | None = await probe(client, base)
    except (httpx.HTTPError, _NotMcp, ValueError, KeyError, TypeError, TimeoutError, OSError):
        # Not this protocol; the other probes decide for themselves.
        return None
    except StopAsyncIteration:
        return None
    return result


# --- MCP over streamable HTTP --------------------------------------------------------------------


def _initialize_request(request_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": MCP_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": _CLIENT_INFO,
        },
    }


def _validate_initialize(message: Any, request_id: int) -> dict[str, Any]:
    """The ``initialize`` result, or ``_NotMcp``."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise _NotMcp
    if message.get("id") != request_id:
        raise _NotMcp
    result = message.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("protocolVersion"), str):
        raise _NotMcp
    info = result.get("serverInfo")
    caps = result.get("capabilities")
    if not isinstance(info, dict) and not isinstance(caps, dict):
        raise _NotMcp
    return result


def _sse_messages(text: str) -> list[Any]:
    """The JSON ``data`` payloads of an SSE body (events split on blank lines)."""
    messages: list[Any] = []
    for event in _sse_events_from_text(text):
        if event[0] in ("message", "") and event[1]:
            with contextlib.suppress(json.JSONDecodeError):
                messages.append(json.loads(event[1]))
    return messages


def _sse_events_from_text(text: str) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    name, data = "", list[str]()
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = "", list[str]()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    if data:
        events.append((name, "\n".join(data)))
    return events


def _rpc_messages(response: httpx.Response) -> list[Any]:
    """JSON-RPC messages of a streamable-HTTP answer, JSON or SSE-framed."""
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        payload = response.json()
        return payload if isinstance(payload, list) else [payload]
    if ctype == "text/event-stream":
        return _sse_messages(response.text)
    raise _NotMcp


def _find_response(messages: list[Any], request_id: int) -> Any:
    for message in messages:
        if isinstance(message, dict) and message.get("id") == request_id:
            return message
    raise _NotMcp


async def _auth_metadata(
    client: httpx.AsyncClient, base: str, response: httpx.Response, path: str
) -> dict[str, Any] | None:
    """MCP authorization metadata behind a 401, or ``None`` when it carries none."""
    challenge = response.headers.get("www-authenticate", "")
    if "resource_metadata" in challenge:
        return {"www_authenticate": _redact_challenge(challenge)}
    for well_known in (
        f"/.well-known/oauth-protected-resource{path}",
        "/.well-known/oauth-protected-resource",
    ):
        with contextlib.suppress(httpx.HTTPError, ValueError):
            doc = await client.get(urljoin(base, well_known))
            body = doc.json() if doc.status_code == 200 else None
            if isinstance(body, dict) and (
                isinstance(body.get("resource"), str)
                or isinstance(body.get("authorization_servers"), list)
            ):
                return {
                    "protected_resource_metadata": urljoin(base, well_known),
                    "authorization_servers": [
                        str(s) for s in body.get("authorization_servers", [])
                    ][:5],
                }
    return None


def _redact_challenge(challenge: str) -> str:
    """The challenge as shown in reports (bounded; it never holds a secret, but may be long)."""
    return challenge[:300]


async def _probe_streamable(client: httpx.AsyncClient, base: str) -> EndpointFinding | None:
    url = urljoin(base, "/mcp")
    headers = {"Accept": _ACCEPT_BOTH, "Content-Type": "application/json"}
    response = await client.post(url, json=_initialize_request(1), headers=headers)
    if response.status_code == 401:
        metadata = await _auth_metadata(client, base, response, "/mcp")
        if metadata is None:
            return None
        return EndpointFinding(
            "mcp_server",
            url,
            {"transport": "streamable-http", "auth": metadata},
            status="auth_required",
        )
    if response.status_code != 200:
        return None
    result = _validate_initialize(_find_response(_rpc_messages(response), 1), 1)
    session = response.headers.get("mcp-session-id")
    call_headers = dict(headers)
    if session:
        call_headers["Mcp-Session-Id"] = session
    negotiated = str(result["protocolVersion"])
    call_headers["MCP-Protocol-Version"] = negotiated
    details: dict[str, Any] = {"transport": "streamable-http", **_server_details(result)}

    async def call(message: dict[str, Any]) -> httpx.Response:
        return await client.post(url, json=message, headers=call_headers)

    await call({"jsonrpc": "2.0", "method": "notifications/initialized"})
    status, tools, extra = await _list_tools_streamable(call, base)
    details.update(extra)
    if session:
        # Be a polite client: end the session the probe opened.
        with contextlib.suppress(httpx.HTTPError):
            await client.delete(url, headers=call_headers)
    return EndpointFinding("mcp_server", url, details, status=status, tools=tools)


async def _list_tools_streamable(
    call: Any, base: str
) -> tuple[str, tuple[McpTool, ...], dict[str, Any]]:
    tools: list[McpTool] = []
    cursor: str | None = None
    for page in range(_MAX_TOOL_PAGES):
        params: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
        request_id = 2 + page
        response: httpx.Response = await call(
            {"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": params}
        )
        if response.status_code in (401, 403):
            return "auth_required", (), {"tools_list_status": response.status_code}
        if response.status_code != 200:
            return "initialize_only", (), {"tools_list_status": response.status_code}
        message = _find_response(_rpc_messages(response), request_id)
        page_tools, cursor = _parse_tools(message)
        if page_tools is None:
            return "initialize_only", (), {"tools_list_error": _rpc_error(message)}
        tools.extend(page_tools)
        if not cursor:
            break
    return "open", tuple(tools), {}


def _parse_tools(message: Any) -> tuple[list[McpTool] | None, str | None]:
    result = message.get("result") if isinstance(message, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
        return None, None
    tools: list[McpTool] = []
    for raw in result["tools"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        description = raw.get("description")
        schema = raw.get("inputSchema")
        annotations = raw.get("annotations")
        tools.append(
            McpTool(
                name=raw["name"],
                description=description if isinstance(description, str) else None,
                input_schema=schema if isinstance(schema, dict) else None,
                annotations=annotations if isinstance(annotations, dict) else None,
            )
        )
    cursor = result.get("nextCursor")
    return tools, cursor if isinstance(cursor, str) and cursor else None


def _rpc_error(message: Any) -> str:
    error = message.get("error") if isinstance(message, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", ""))[:200]
    return "no result"


def _server_details(result: Mapping[str, Any]) -> dict[str, Any]:
    info = result.get("serverInfo") if isinstance(result.get("serverInfo"), dict) else {}
    caps = result.get("capabilities") if isinstance(result.get("capabilities"), dict) else {}
    assert isinstance(info, dict) and isinstance(caps, dict)
    return {
        "protocol_version": str(result.get("protocolVersion")),
        "server_name": str(info.get("name", ""))[:200] or None,
        "server_version": str(info.get("version", ""))[:100] or None,
        "capabilities": sorted(str(k) for k in caps)[:20],
    }


# --- MCP over the SSE transport ------------------------------------------------------------------


async def _probe_sse(client: httpx.AsyncClient, base: str) -> EndpointFinding | None:
    url = urljoin(base, "/sse")
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as stream:
        if stream.status_code == 401:
            metadata = await _auth_metadata(client, base, stream, "/sse")
            if metadata is None:
                return None
            return EndpointFinding(
                "mcp_server", url, {"transport": "sse", "auth": metadata}, status="auth_required"
            )
        ctype = stream.headers.get("content-type", "").split(";")[0].strip().lower()
        if stream.status_code != 200 or ctype != "text/event-stream":
            return None
        events = _sse_events(stream)
        name, data = await anext(events)
        if name != "endpoint" or not data:
            return None
        post_url = urljoin(url, data.strip())
        if urlsplit(post_url).netloc != urlsplit(url).netloc:
            # A server may not send the probe elsewhere.
            return None
        post_headers = {"Content-Type": "application/json"}
        await _sse_post(client, post_url, _initialize_request(1), post_headers)
        result = _validate_initialize(await _next_response(events, 1), 1)
        details: dict[str, Any] = {"transport": "sse", **_server_details(result)}
        await _sse_post(
            client, post_url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, {}
        )
        tools: list[McpTool] = []
        cursor: str | None = None
        status = "open"
        for page in range(_MAX_TOOL_PAGES):
            request_id = 2 + page
            params: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
            answer = await _sse_post(
                client,
                post_url,
                {"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": params},
                {},
            )
            if answer.status_code in (401, 403):
                status = "auth_required"
                break
            message = await _next_response(events, request_id)
            page_tools, cursor = _parse_tools(message)
            if page_tools is None:
                status = "initialize_only"
                details["tools_list_error"] = _rpc_error(message)
                break
            tools.extend(page_tools)
            if not cursor:
                break
        return EndpointFinding(
            "mcp_server",
            url,
            details,
            status=status,
            tools=tuple(tools) if status == "open" else (),
        )


async def _sse_post(
    client: httpx.AsyncClient, url: str, message: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    response = await client.post(url, json=message, headers=headers)
    if response.status_code >= 400 and response.status_code not in (401, 403):
        raise _NotMcp
    return response


async def _sse_events(stream: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    name, data, size = "", list[str](), 0
    async for line in stream.aiter_lines():
        size += len(line)
        if size > _MAX_BODY:
            raise _NotMcp
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "", list[str]()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


async def _next_response(events: AsyncIterator[tuple[str, str]], request_id: int) -> Any:
    async for name, data in events:
        if name not in ("message", ""):
            continue
        with contextlib.suppress(json.JSONDecodeError):
            message = json.loads(data)
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
    raise _NotMcp


# --- Model APIs and AgentSentinel ----------------------------------------------------------------


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200 or len(response.content) > _MAX_BODY:
        return None
    return response.json()


async def _probe_openai(client: httpx.AsyncClient, base: str) -> EndpointFinding | None:
    url = urljoin(base, "/v1/models")
    body = await _get_json(client, url)
    if not isinstance(body, dict) or body.get("object") != "list":
        return None
    data = body.get("data")
    if not isinstance(data, list):
        return None
    models = sorted(
        str(m["id"]) for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)
    )
    return EndpointFinding(
        "llm_api",
        url,
        {
            "api": "openai-compatible",
            "models": models[:_MAX_MODELS_KEPT],
            "model_count": len(models),
        },
    )


async def _probe_ollama(client: httpx.AsyncClient, base: str) -> EndpointFinding | None:
    url = urljoin(base, "/api/tags")
    body = await _get_json(client, url)
    if not isinstance(body, dict) or not isinstance(body.get("models"), list):
        return None
    models = sorted(
        str(m["name"])
        for m in body["models"]
        if isinstance(m, dict) and isinstance(m.get("name"), str)
    )
    details: dict[str, Any] = {"models": models[:_MAX_MODELS_KEPT], "model_count": len(models)}
    with contextlib.suppress(httpx.HTTPError, ValueError):
        version = await _get_json(client, urljoin(base, "/api/version"))
        if isinstance(version, dict) and isinstance(version.get("version"), str):
            details["version"] = version["version"][:50]
    return EndpointFinding("ollama", url, details)


async def _probe_health(client: httpx.AsyncClient, base: str) -> EndpointFinding | None:
    url = urljoin(base, "/health")
    body = await _get_json(client, url)
    if not isinstance(body, dict) or body.get("status") != "ok":
        return None
    version, mode = body.get("version"), body.get("mode")
    # Many services answer {"status": "ok"}; the AgentSentinel shape also names version and mode.
    if not isinstance(version, str) or not isinstance(mode, str):
        return None
    return EndpointFinding(
        "agentsentinel", urljoin(base, "/"), {"version": version[:50], "mode": mode[:50]}
    )


async def probe_all(
    targets: list[tuple[str, int]],
    *,
    timeout_s: float,
    concurrency: int,
    progress: Any = None,
) -> tuple[dict[tuple[str, int], list[EndpointFinding]], dict[tuple[str, int], str]]:
    """Probe every open target; results and transport errors keyed by target."""
    results: dict[tuple[str, int], list[EndpointFinding]] = {}
    errors: dict[tuple[str, int], str] = {}
    semaphore = asyncio.Semaphore(max(1, min(concurrency, 64)))
    done = 0
    # verify=False: probing identifies what listens (self-signed dev servers included) and sends
    # no credential, so certificate trust decides nothing here.
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=timeout_s),
        follow_redirects=False,
        verify=False,  # noqa: S501
        trust_env=False,
    ) as client:

        async def one(target: tuple[str, int]) -> None:
            nonlocal done
            async with semaphore:
                try:
                    async with asyncio.timeout(timeout_s * 12):
                        found, error = await probe_endpoint(client, *target)
                except TimeoutError:
                    found, error = [], "probe timed out"
            results[target] = found
            if error and not found:
                errors[target] = error
            done += 1
            if progress is not None:
                progress(done, len(targets))

        async with asyncio.TaskGroup() as group:
            for target in targets:
                group.create_task(one(target))
    return results, errors
