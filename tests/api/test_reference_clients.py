"""The reference ecosystem's clients must work unchanged (specs/api.md, compatibility 1-12).

Each test replays, request for request, what one reference client sends: the LangChain callback
handler, the MCP shim, the React dashboard (``ui/src/lib/api.js``) and the CLI's ``--connect``.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

from agentsentinel.models import Finding
from tests.conftest import Server


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def json_headers(key: str) -> dict[str, str]:
    # Both reference Python clients and the UI send these two headers on every request.
    return {"X-API-Key": key, "Content-Type": "application/json"}


async def _agent_key(server: Server, agent_id: str) -> str:
    r = await server.client.post(
        "/api/v1/keys",
        json={"name": "lc", "scope": "agent", "agent_id": agent_id},
        headers=server.headers(),
    )
    assert r.status_code == 201, r.text
    return r.json()["key"]


async def test_langchain_handler_flow(server: Server) -> None:
    c, h = server.client, json_headers(server.admin_key)
    # _register_agent: model/owner_team/description omitted by default
    r = await c.post(
        "/api/v1/agents",
        json={"name": "langchain-agent-abc123", "agent_type": "llm_agent"},
        headers=h,
    )
    assert r.status_code // 100 == 2, r.text
    agent_id = r.json()["id"]
    assert r.json()["model"] == "unknown" and r.json()["owner_team"] == "unassigned"
    # _add_grant: the client's own scope/is_dangerous are tolerated and ignored
    r = await c.post(
        f"/api/v1/agents/{agent_id}/grants",
        json={"tool_name": "get_skills", "scope": "write", "is_dangerous": True},
        headers=h,
    )
    assert r.status_code // 100 == 2, r.text
    assert r.json()["is_dangerous"] is False  # derived server-side, not the client's claim
    # _report_event: six classic fields; duration may be None
    for duration in (12, None):
        r = await c.post(
            "/api/v1/events",
            json={
                "agent_id": agent_id,
                "tool_name": "get_skills",
                "input_hash": sha("in"),
                "output_hash": sha("out"),
                "duration_ms": duration,
                "session_id": "lc-1a2b3c4d",
            },
            headers=h,
        )
        assert r.status_code // 100 == 2, r.text
        body = r.json()
        assert uuid.UUID(body["event_id"]) and body["timestamp"]
        assert body["anomaly_score"] is None or isinstance(body["anomaly_score"], float)
    # get_trust_score
    r = await c.get(f"/api/v1/agents/{agent_id}/score", headers=h)
    assert r.status_code == 200
    score = r.json()
    for field in ("trust_score", "posture_score", "behavior_score", "recency_bonus"):
        assert isinstance(score[field], (int, float)), field
    assert isinstance(score["findings_count"], int) and score["status"]


async def test_langchain_handler_with_agent_key(server: Server) -> None:
    """The handler given ``agent_id`` + an agent-scoped key: grants, events and score work."""
    c = server.client
    r = await c.post("/api/v1/agents", json={"name": "bound"}, headers=server.headers())
    agent_id = r.json()["id"]
    h = json_headers(await _agent_key(server, agent_id))
    r = await c.post(
        f"/api/v1/agents/{agent_id}/grants",
        json={"tool_name": "search_docs", "scope": "read", "is_dangerous": False},
        headers=h,
    )
    assert r.status_code // 100 == 2, r.text
    r = await c.post(
        "/api/v1/events",
        json={
            "agent_id": agent_id,
            "tool_name": "search_docs",
            "input_hash": sha("q"),
            "output_hash": sha("a"),
            "duration_ms": 5,
            "session_id": "lc-00000001",
        },
        headers=h,
    )
    assert r.status_code // 100 == 2, r.text
    r = await c.get(f"/api/v1/agents/{agent_id}/score", headers=h)
    assert r.status_code == 200 and isinstance(r.json()["trust_score"], float)


async def test_mcp_shim_flow(server: Server) -> None:
    c = server.client
    h = {"X-API-Key": server.admin_key}  # the shim sends only the key header
    r = await c.post(
        "/api/v1/agents",
        json={
            "name": "my-rag-agent",
            "agent_type": "llm_agent",
            "model": "claude-opus-4-7",
            "owner_team": "platform-eng",
            "description": "Agent monitored via AgentSentinel MCP shim",
        },
        headers=h,
    )
    assert r.status_code // 100 == 2
    agent_id = r.json()["id"]
    for tool in ("read_file", "write_file", "list_directory"):
        scope = "write" if tool == "write_file" else "read"
        r = await c.post(
            f"/api/v1/agents/{agent_id}/grants",
            json={"tool_name": tool, "scope": scope, "is_dangerous": False},
            headers=h,
        )
        r.raise_for_status()
    r = await c.post(
        "/api/v1/events",
        json={
            "agent_id": agent_id,
            "tool_name": "read_file",
            "input_hash": sha('{"path": "/tmp/a"}'),
            "output_hash": sha("[]"),
            "duration_ms": 3,
            "session_id": "shim-1234abcd",
        },
        headers=h,
    )
    r.raise_for_status()
    assert "anomaly_score" in r.json()


async def test_dashboard_flow(server: Server) -> None:
    c, h = server.client, json_headers(server.admin_key)
    # Register page: description null when empty, model default, grants with null rate limit
    r = await c.post(
        "/api/v1/agents",
        json={
            "name": "sales-rag-bot",
            "agent_type": "rag_agent",
            "model": "claude-sonnet-4-6",
            "owner_team": "platform-eng",
            "description": None,
        },
        headers=h,
    )
    r.raise_for_status()
    agent = r.json()
    r = await c.post(
        f"/api/v1/agents/{agent['id']}/grants",
        json={
            "tool_name": "crm_search",
            "scope": "read",
            "is_dangerous": False,
            "rate_limit_per_hour": None,
        },
        headers=h,
    )
    r.raise_for_status()
    r = await c.post(
        f"/api/v1/agents/{agent['id']}/mcp",
        json={
            "server_name": "crm",
            "server_url": "https://crm.internal/mcp",
            "capabilities": ["tools"],
        },
        headers=h,
    )
    r.raise_for_status()
    # Dashboard: a JSON array with the documented fields
    r = await c.get("/api/v1/agents", headers=h)
    assert r.status_code == 200 and isinstance(r.json(), list)
    listed = r.json()[0]
    for field in (
        "id",
        "name",
        "agent_type",
        "model",
        "owner_team",
        "description",
        "status",
        "trust_score",
        "posture_score",
        "behavior_score",
        "last_scored_at",
        "created_at",
        "updated_at",
    ):
        assert field in listed, field
    # Agent detail: grants[] and mcp_connections[] with their fields
    r = await c.get(f"/api/v1/agents/{agent['id']}", headers=h)
    detail = r.json()
    grant = detail["grants"][0]
    for field in (
        "id",
        "agent_id",
        "tool_name",
        "scope",
        "is_dangerous",
        "rate_limit_per_hour",
        "call_count_7d",
        "last_called_at",
        "created_at",
    ):
        assert field in grant, field
    mcp = detail["mcp_connections"][0]
    for field in ("id", "agent_id", "server_name", "server_url", "capabilities", "created_at"):
        assert field in mcp, field
    # Events page: test-event sender with nulls, then the feed
    r = await c.post(
        "/api/v1/events",
        json={
            "agent_id": agent["id"],
            "tool_name": "crm_search",
            "input_hash": sha("x"),
            "output_hash": sha("y"),
            "duration_ms": None,
            "session_id": None,
        },
        headers=h,
    )
    r.raise_for_status()
    r = await c.get("/api/v1/events", params={"limit": 100, "agent_id": agent["id"]}, headers=h)
    events = r.json()
    assert isinstance(events, list) and len(events) == 1
    for field in (
        "event_id",
        "agent_id",
        "agent_name",
        "tool_name",
        "anomaly_score",
        "duration_ms",
        "session_id",
        "timestamp",
    ):
        assert field in events[0], field
    assert events[0]["agent_name"] == "sales-rag-bot"
    assert detail["grants"][0]["call_count_7d"] == 0
    r = await c.get(f"/api/v1/agents/{agent['id']}", headers=h)
    assert r.json()["grants"][0]["call_count_7d"] == 1
    # Findings card: array, then PATCH returns the updated finding as JSON
    async with server.runtime.sessions() as session, session.begin():
        finding = Finding(
            agent_id=uuid.UUID(agent["id"]),
            fingerprint=sha("f1"),
            rule_id="MISSING_RATE_LIMIT",
            finding_type="POSTURE",
            severity="LOW",
            message="crm_search has no rate limit",
        )
        session.add(finding)
    r = await c.get(f"/api/v1/agents/{agent['id']}/findings", headers=h)
    # The posture scanner's own finding (an unauthenticated remote MCP server), then this one.
    assert {f["rule_id"] for f in r.json()} == {"INSECURE_MCP_CONNECTION", "MISSING_RATE_LIMIT"}
    found = [f for f in r.json() if f["fingerprint"] == sha("f1")]
    assert isinstance(r.json(), list) and len(found) == 1
    for field in (
        "id",
        "agent_id",
        "severity",
        "finding_type",
        "rule_id",
        "message",
        "status",
        "created_at",
        "resolved_at",
    ):
        assert field in found[0], field
    r = await c.patch(f"/api/v1/findings/{found[0]['id']}", json={"status": "RESOLVED"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "RESOLVED" and r.json()["resolved_at"]
    # Rescore button (GET /score)
    r = await c.get(f"/api/v1/agents/{agent['id']}/score", headers=h)
    assert r.status_code == 200 and r.json()["findings_count"] == 1


async def test_dashboard_with_session_cookie_instead_of_key(server: Server) -> None:
    """The reference UI sends no key when none is baked in: the session cookie carries it."""
    c = server.client
    r = await c.post("/api/v1/session", json={"key": server.admin_key})
    assert r.status_code == 200 and r.json()["scope"] == "admin"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    r = await c.get("/api/v1/agents", headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    c.cookies.clear()
    r = await c.get("/api/v1/agents")
    assert r.status_code == 401


async def test_login_token_is_one_time(server: Server) -> None:
    from agentsentinel.auth.bootstrap import create_login_token

    token = await create_login_token(server.runtime.sessions, server.runtime.secret)
    assert token
    r = await server.client.post("/api/v1/session", json={"token": token})
    assert r.status_code == 200 and r.json()["scope"] == "admin"
    server.client.cookies.clear()
    r = await server.client.post("/api/v1/session", json={"token": token})
    assert r.status_code == 401


async def test_cli_connect_mode(server: Server) -> None:
    c = server.client
    await c.post("/api/v1/agents", json={"name": "sales-agent"}, headers=server.headers())
    r = await c.get("/api/v1/agents", headers={"X-API-Key": server.admin_key})
    r.raise_for_status()
    platform_agents = {a["name"]: a for a in r.json()}
    assert int(platform_agents["sales-agent"]["trust_score"]) >= 0  # never null


async def test_health_and_unknown_paths(server: Server) -> None:
    r = await server.client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await server.client.get("/no/such/path")
    assert r.status_code == 404 and r.json()["detail"] == "Not Found"
    r = await server.client.get("/api/v1/agents/not-a-uuid", headers=server.headers())
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


@pytest.mark.parametrize("path", ["/ready", "/api/v1/ready"])
async def test_ready(server: Server, path: str) -> None:
    r = await server.client.get(path)
    assert r.status_code == 200
    assert r.json()["checks"]["database"]["ok"] and r.json()["checks"]["bus"]["ok"]
