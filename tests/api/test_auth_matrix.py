"""Every endpoint x every kind of caller gives the documented status (specs/api.md, Keys)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentsentinel.models import Finding
from tests.conftest import Server

CALLERS = ("none", "bad", "revoked", "readonly", "agent_own", "agent_other", "admin")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class World:
    own: str  # the agent the agent-scoped keys act on
    other: str
    grant: str
    mcp: str
    finding: str
    spare_key: str
    keys: dict[str, str | None]


async def _world(server: Server) -> World:
    c, h = server.client, server.headers()
    own = (await c.post("/api/v1/agents", json={"name": "own"}, headers=h)).json()["id"]
    other = (await c.post("/api/v1/agents", json={"name": "other"}, headers=h)).json()["id"]
    grant = (
        await c.post(f"/api/v1/agents/{own}/grants", json={"tool_name": "search"}, headers=h)
    ).json()["id"]
    mcp = (
        await c.post(
            f"/api/v1/agents/{own}/mcp",
            json={"server_name": "fs", "server_url": "stdio:npx server-filesystem"},
            headers=h,
        )
    ).json()["id"]
    async with server.runtime.sessions() as session, session.begin():
        finding = Finding(
            agent_id=uuid.UUID(own),
            fingerprint=sha(str(uuid.uuid4())),
            rule_id="TOOL_SPRAWL",
            finding_type="POSTURE",
            severity="LOW",
            message="m",
        )
        session.add(finding)
        await session.flush()
        finding_id = str(finding.id)

    async def key(scope: str, agent: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": f"k-{scope}", "scope": scope}
        if agent:
            body["agent_id"] = agent
        r = await c.post("/api/v1/keys", json=body, headers=h)
        assert r.status_code == 201, r.text
        return r.json()

    revoked = await key("readonly")
    assert (await c.delete(f"/api/v1/keys/{revoked['id']}", headers=h)).status_code == 204
    spare = await key("readonly")
    keys = {
        "none": None,
        "bad": "as_adm_" + "0" * 64,
        "revoked": revoked["key"],
        "readonly": (await key("readonly"))["key"],
        "agent_own": (await key("agent", own))["key"],
        "agent_other": (await key("agent", other))["key"],
        "admin": server.admin_key,
    }
    return World(own, other, grant, mcp, finding_id, spare["id"], keys)


def event(agent_id: str) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "tool_name": "search",
        "input_hash": sha("i"),
        "output_hash": sha("o"),
    }


@dataclass(frozen=True)
class Row:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None
    # status for readonly, agent_own, agent_other, admin (none/bad/revoked are always 401)
    expect: tuple[int, int, int, int]


ROWS = [
    Row("GET", lambda w: "/api/v1/agents", None, (200, 403, 403, 200)),
    Row("POST", lambda w: "/api/v1/agents", lambda w: {"name": "new"}, (403, 403, 403, 201)),
    Row("GET", lambda w: f"/api/v1/agents/{w.own}", None, (200, 200, 403, 200)),
    Row(
        "PATCH",
        lambda w: f"/api/v1/agents/{w.own}",
        lambda w: {"description": "d"},
        (403, 403, 403, 200),
    ),
    Row(
        "POST",
        lambda w: f"/api/v1/agents/{w.own}/grants",
        lambda w: {"tool_name": f"t-{uuid.uuid4().hex[:8]}"},
        (403, 201, 403, 201),
    ),
    Row(
        "PATCH",
        lambda w: f"/api/v1/grants/{w.grant}",
        lambda w: {"rate_limit_per_hour": 10},
        (403, 403, 403, 200),
    ),
    Row(
        "POST",
        lambda w: f"/api/v1/agents/{w.own}/mcp",
        lambda w: {"server_name": "x", "server_url": "https://x.example/mcp"},
        (403, 403, 403, 201),
    ),
    Row("POST", lambda w: "/api/v1/events", lambda w: event(w.own), (403, 201, 403, 201)),
    Row(
        "POST",
        lambda w: "/api/v1/events/batch",
        lambda w: {"events": [event(w.own)]},
        (202, 202, 202, 202),
    ),
    Row("GET", lambda w: "/api/v1/events", None, (200, 403, 403, 200)),
    Row(
        "GET",
        lambda w: "/api/v1/events/stream?agent_id=00000000-0000-0000-0000-000000000000",
        None,
        (None, 403, 403, None),
    ),  # type: ignore[arg-type]
    Row("GET", lambda w: f"/api/v1/agents/{w.own}/findings", None, (200, 200, 403, 200)),
    Row("GET", lambda w: "/api/v1/findings", None, (200, 403, 403, 200)),
    Row(
        "PATCH",
        lambda w: f"/api/v1/findings/{w.finding}",
        lambda w: {"status": "ACKNOWLEDGED"},
        (403, 403, 403, 200),
    ),
    Row("GET", lambda w: f"/api/v1/agents/{w.own}/score", None, (200, 200, 403, 200)),
    Row("POST", lambda w: f"/api/v1/agents/{w.own}/rescore", None, (403, 403, 403, 200)),
    Row("GET", lambda w: f"/api/v1/agents/{w.own}/score/history", None, (200, 200, 403, 200)),
    Row("GET", lambda w: f"/api/v1/agents/{w.own}/baseline", None, (200, 200, 403, 200)),
    Row("GET", lambda w: "/api/v1/keys", None, (403, 403, 403, 200)),
    Row(
        "POST",
        lambda w: "/api/v1/keys",
        lambda w: {"name": "n", "scope": "readonly"},
        (403, 403, 403, 201),
    ),
    Row("GET", lambda w: "/api/v1/session", None, (200, 200, 200, 200)),
    Row("GET", lambda w: "/api/v1/rules", None, (200, 403, 403, 200)),
    Row("POST", lambda w: f"/api/v1/agents/{w.own}/scan", None, (403, 200, 403, 200)),
    Row("GET", lambda w: "/api/v1/alerts", None, (200, 403, 403, 200)),
    Row("GET", lambda w: f"/api/v1/alerts?agent_id={w.own}", None, (200, 200, 403, 200)),
    Row("GET", lambda w: "/api/v1/suppressions", None, (200, 403, 403, 200)),
    Row(
        "POST",
        lambda w: "/api/v1/suppressions",
        lambda w: {"rule_id": "TOOL_SPRAWL", "agent_id": w.own, "reason": "accepted risk"},
        (403, 403, 403, 201),
    ),
    # Destructive rows last: they remove what earlier rows use.
    Row("DELETE", lambda w: f"/api/v1/keys/{w.spare_key}", None, (403, 403, 403, 204)),
    Row("DELETE", lambda w: f"/api/v1/mcp/{w.mcp}", None, (403, 403, 403, 204)),
    Row("DELETE", lambda w: f"/api/v1/grants/{w.grant}", None, (403, 403, 403, 204)),
    Row("DELETE", lambda w: f"/api/v1/agents/{w.other}", None, (403, 403, 403, 204)),
]


async def test_auth_matrix(server: Server) -> None:
    server.runtime.throttle.limit = 100_000  # this test fails auth on purpose, many times
    world = await _world(server)
    failures = []
    for row in ROWS:
        for caller in CALLERS:
            expected: int | None
            if caller in ("none", "bad", "revoked"):
                expected = 401
            else:
                index = ("readonly", "agent_own", "agent_other", "admin").index(caller)
                expected = row.expect[index]
            if expected is None:
                continue  # a 200 SSE stream never ends: covered by tests/integration
            key = world.keys[caller]
            headers = {"X-API-Key": key} if key else {}
            body = row.body(world) if row.body else None
            r = await server.client.request(row.method, row.path(world), json=body, headers=headers)
            if r.status_code != expected:
                failures.append(
                    f"{row.method} {row.path(world)} as {caller}: "
                    f"{r.status_code} != {expected} {r.text[:120]}"
                )
            elif expected >= 400:
                assert "detail" in r.json() and "code" in r.json()
            server.client.cookies.clear()
    assert not failures, "\n".join(failures)


async def test_agent_key_batch_rejects_other_agents_events_alone(server: Server) -> None:
    world = await _world(server)
    r = await server.client.post(
        "/api/v1/events/batch",
        json={"events": [event(world.own), event(world.other)]},
        headers={"X-API-Key": world.keys["agent_own"]},
    )
    assert r.status_code == 202
    assert [x["status"] for x in r.json()["results"]] == ["accepted", "rejected"]


async def test_revocation_takes_effect_on_next_request(server: Server) -> None:
    c, h = server.client, server.headers()
    created = (
        await c.post("/api/v1/keys", json={"name": "soon-gone", "scope": "readonly"}, headers=h)
    ).json()
    assert (await c.get("/api/v1/agents", headers={"X-API-Key": created["key"]})).status_code == 200
    assert (await c.delete(f"/api/v1/keys/{created['id']}", headers=h)).status_code == 204
    assert (await c.get("/api/v1/agents", headers={"X-API-Key": created["key"]})).status_code == 401


async def test_agent_key_dies_with_its_agent(server: Server) -> None:
    c, h = server.client, server.headers()
    agent = (await c.post("/api/v1/agents", json={"name": "doomed"}, headers=h)).json()["id"]
    key = (
        await c.post(
            "/api/v1/keys", json={"name": "k", "scope": "agent", "agent_id": agent}, headers=h
        )
    ).json()["key"]
    assert (await c.get(f"/api/v1/agents/{agent}", headers={"X-API-Key": key})).status_code == 200
    assert (await c.delete(f"/api/v1/agents/{agent}", headers=h)).status_code == 204
    r = await c.get(f"/api/v1/agents/{agent}", headers={"X-API-Key": key})
    assert r.status_code == 401


async def test_failed_auth_is_rate_limited(server: Server) -> None:
    limit = server.runtime.settings.auth_failures_per_minute
    bad = {"X-API-Key": "as_adm_" + "1" * 64}
    for _ in range(limit):
        assert (await server.client.get("/api/v1/agents", headers=bad)).status_code == 401
    r = await server.client.get("/api/v1/agents", headers=server.headers())
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


async def test_cannot_revoke_own_key(server: Server) -> None:
    me = (await server.client.get("/api/v1/session", headers=server.headers())).json()["key_id"]
    r = await server.client.delete(f"/api/v1/keys/{me}", headers=server.headers())
    assert r.status_code == 409
