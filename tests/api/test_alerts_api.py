"""GET /alerts and /alerts/{id}: fields, filters, cursor pages, scopes and bad input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agentsentinel.alerts.outbox import STATUSES
from agentsentinel.alerts.triggers import AGENT_STATUS, ANOMALY, CRITICAL_FINDING, UNGRANTED_TOOL
from agentsentinel.alerts.urls import destination_id
from agentsentinel.db.types import utcnow
from agentsentinel.models import Alert
from agentsentinel.schemas.alert import AlertStatus, AlertTrigger
from tests.conftest import Server

HOOK_URL = "https://hooks.example.com/in/secret-token-123"
FIELDS = {
    "id",
    "created_at",
    "agent_id",
    "agent_name",
    "trigger",
    "severity",
    "message",
    "channel",
    "destination",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "sent_at",
    "dedup_key",
    "payload",
}


@dataclass
class World:
    own: str
    other: str
    ids: list[str]  # newest first, as the API lists them
    rows: dict[str, dict[str, Any]]  # id -> what was stored
    keys: dict[str, str]


async def _world(server: Server) -> World:
    c, h = server.client, server.headers()
    own = (await c.post("/api/v1/agents", json={"name": "own"}, headers=h)).json()["id"]
    other = (await c.post("/api/v1/agents", json={"name": "other"}, headers=h)).json()["id"]
    base = utcnow().replace(microsecond=0) - timedelta(hours=1)
    # Pending rows are due tomorrow: the running dispatcher leaves them alone.
    later = base + timedelta(days=1)
    specs: list[tuple[str | None, str, str, str, int]] = [
        # agent, trigger, status, channel, minutes after base (two pairs share a created_at)
        (own, CRITICAL_FINDING, "sent", "log", 0),
        (own, CRITICAL_FINDING, "failed", "webhook", 0),
        (own, ANOMALY, "pending", "webhook", 5),
        (other, UNGRANTED_TOOL, "suppressed", "webhook", 10),
        (other, AGENT_STATUS, "sent", "log", 10),
        (None, CRITICAL_FINDING, "sent", "log", 15),
        (own, "suppressed_digest", "pending", "webhook", 20),
    ]
    rows: dict[str, dict[str, Any]] = {}
    async with server.runtime.sessions() as session, session.begin():
        for n, (agent, trigger, status, channel, minutes) in enumerate(specs):
            created = base + timedelta(minutes=minutes)
            payload: dict[str, Any] = {"trigger": trigger, "agent_name": "own" if agent else None}
            if trigger != "suppressed_digest":
                payload |= {"severity": "HIGH", "message": f"alert {n}"}
            row = Alert(
                id=uuid.uuid4(),
                channel=channel,
                destination=destination_id(HOOK_URL) if channel == "webhook" else "",
                dedup_key=f"test:{n}",
                trigger=trigger,
                agent_id=uuid.UUID(agent) if agent else None,
                payload=payload,
                status=status,
                attempts=0 if status == "pending" else 1,
                next_attempt_at=later if status == "pending" else created,
                last_error="HTTP 500" if status == "failed" else None,
                created_at=created,
                sent_at=created if status == "sent" else None,
            )
            session.add(row)
            rows[str(row.id)] = {"created": created, "agent": agent, "spec": specs[n], "n": n}
    ids = sorted(rows, key=lambda i: (rows[i]["created"], uuid.UUID(i)), reverse=True)

    async def key(scope: str, agent: str | None = None) -> str:
        body: dict[str, Any] = {"name": f"k-{scope}", "scope": scope}
        if agent:
            body["agent_id"] = agent
        r = await c.post("/api/v1/keys", json=body, headers=h)
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    keys = {
        "admin": server.admin_key,
        "readonly": await key("readonly"),
        "agent_own": await key("agent", own),
    }
    return World(own, other, ids, rows, keys)


async def _get(server: Server, path: str, key: str | None = None, **params: Any) -> Any:
    return await server.client.get(f"/api/v1{path}", params=params, headers=server.headers(key))


async def test_lists_newest_first_with_the_stored_fields(server: Server) -> None:
    world = await _world(server)
    r = await _get(server, "/alerts")
    assert r.status_code == 200, r.text
    items = r.json()
    assert [a["id"] for a in items] == world.ids
    assert "X-Next-Cursor" not in r.headers
    for item in items:
        assert set(item) == FIELDS
        stored = world.rows[item["id"]]
        agent, trigger, status, channel, _ = stored["spec"]
        assert (item["agent_id"], item["trigger"], item["status"], item["channel"]) == (
            agent,
            trigger,
            status,
            channel,
        )
        assert item["dedup_key"] == f"test:{stored['n']}"
        assert item["created_at"] == stored["created"].isoformat()
        if channel == "webhook":
            assert item["destination"] == destination_id(HOOK_URL)
        if trigger == "suppressed_digest":
            assert item["message"] is None and item["severity"] is None
        else:
            assert item["message"] == f"alert {stored['n']}" and item["severity"] == "HIGH"
    failed = next(a for a in items if a["status"] == "failed")
    assert failed["last_error"] == "HTTP 500" and failed["attempts"] == 1
    sent = next(a for a in items if a["status"] == "sent")
    assert sent["sent_at"] is not None
    # The destination is a host and a hash: the URL and its token never appear.
    assert "secret-token" not in r.text and "https://" not in r.text
    assert destination_id(HOOK_URL).startswith("hooks.example.com#")


async def test_filters(server: Server) -> None:
    world = await _world(server)

    async def ids(**params: Any) -> list[str]:
        r = await _get(server, "/alerts", **params)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()]

    def expect(pred: Any) -> list[str]:
        return [i for i in world.ids if pred(world.rows[i])]

    assert await ids(agent_id=world.own) == expect(lambda r: r["agent"] == world.own)
    for status in STATUSES:
        assert await ids(status=status) == expect(lambda r, s=status: r["spec"][2] == s)
    assert await ids(trigger=CRITICAL_FINDING) == expect(lambda r: r["spec"][1] == CRITICAL_FINDING)
    assert await ids(channel="log") == expect(lambda r: r["spec"][3] == "log")
    first = min(r["created"] for r in world.rows.values())
    since, until = first + timedelta(minutes=5), first + timedelta(minutes=15)
    window = await ids(since=since.isoformat(), until=until.isoformat())
    assert window == expect(lambda r: since <= r["created"] < until) and len(window) == 3
    assert await ids(agent_id=world.own, status="pending", trigger=ANOMALY) == expect(
        lambda r: r["agent"] == world.own and r["spec"][1:3] == (ANOMALY, "pending")
    )
    assert await ids(agent_id=str(uuid.uuid4())) == []


async def test_cursor_pages_are_stable_and_complete(server: Server) -> None:
    world = await _world(server)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await _get(server, "/alerts", **params)
        assert r.status_code == 200, r.text
        seen += [a["id"] for a in r.json()]
        cursor = r.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == world.ids
    # A new alert does not shift the pages already handed out.
    first = await _get(server, "/alerts", limit=3)
    async with server.runtime.sessions() as session, session.begin():
        session.add(
            Alert(
                channel="log",
                destination="",
                dedup_key="test:new",
                trigger=ANOMALY,
                payload={},
                status="sent",
            )
        )
    second = await _get(server, "/alerts", limit=3, cursor=first.headers["X-Next-Cursor"])
    assert [a["id"] for a in second.json()] == world.ids[3:6]


async def test_get_one_and_unknown(server: Server) -> None:
    world = await _world(server)
    r = await _get(server, f"/alerts/{world.ids[0]}")
    assert r.status_code == 200 and r.json()["id"] == world.ids[0]
    assert set(r.json()) == FIELDS
    r = await _get(server, f"/alerts/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found" and "detail" in r.json()
    r = await _get(server, "/alerts/not-a-uuid")
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


async def test_bad_filters_are_422(server: Server) -> None:
    bad: list[dict[str, Any]] = [
        {"status": "delivered"},
        {"trigger": "nope"},
        {"channel": "email"},
        {"agent_id": "x"},
        {"since": "yesterday"},
        {"limit": 0},
        {"limit": 501},
        {"limit": -1},
        {"cursor": "!!!"},
        {"cursor": "x" * 300},
        {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
        {"since": "0001-01-01T00:00:00+05:00"},  # before year 1 in UTC
        {"until": "9999-12-31T23:59:59-05:00"},
    ]
    for params in bad:
        r = await _get(server, "/alerts", **params)
        assert r.status_code == 422, (params, r.text)
        body = r.json()
        assert isinstance(body["detail"], list) and body["code"] == "validation_error", body


async def test_scopes(server: Server) -> None:
    world = await _world(server)
    own_ids = [i for i in world.ids if world.rows[i]["agent"] == world.own]
    other_id = next(i for i in world.ids if world.rows[i]["agent"] == world.other)
    no_agent_id = next(i for i in world.ids if world.rows[i]["agent"] is None)
    readonly, agent = world.keys["readonly"], world.keys["agent_own"]

    r = await _get(server, "/alerts", readonly)
    assert r.status_code == 200 and [a["id"] for a in r.json()] == world.ids
    assert (await _get(server, f"/alerts/{other_id}", readonly)).status_code == 200

    # An agent key reads its own agent's alerts, and must say so (as for the event stream).
    r = await _get(server, "/alerts", agent)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await _get(server, "/alerts", agent, agent_id=world.own)
    assert r.status_code == 200 and [a["id"] for a in r.json()] == own_ids
    assert (await _get(server, "/alerts", agent, agent_id=world.other)).status_code == 403
    assert (await _get(server, f"/alerts/{own_ids[0]}", agent)).status_code == 200
    assert (await _get(server, f"/alerts/{other_id}", agent)).status_code == 403
    assert (await _get(server, f"/alerts/{no_agent_id}", agent)).status_code == 403

    r = await server.client.get("/api/v1/alerts")
    assert r.status_code == 401


def test_schema_literals_match_the_outbox() -> None:
    from typing import get_args

    from agentsentinel.alerts.outbox import DIGEST_TRIGGER

    assert set(get_args(AlertStatus)) == set(STATUSES)
    assert set(get_args(AlertTrigger)) == {
        CRITICAL_FINDING,
        AGENT_STATUS,
        ANOMALY,
        UNGRANTED_TOOL,
        DIGEST_TRIGGER,
    }
