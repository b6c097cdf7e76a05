"""The ingest endpoints' fast path: fresh authentication on every request, and answers
byte-for-byte what the response models would have produced."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from agentsentinel.db.types import utcnow
from agentsentinel.models import ApiKey
from agentsentinel.schemas.event import BatchAccepted, EventAccepted
from tests.conftest import Server


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def event(agent_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "tool_name": "search",
        "input_hash": sha("i"),
        "output_hash": sha("o"),
        **extra,
    }


async def _agent_and_key(server: Server, name: str = "a") -> tuple[str, str, str]:
    c, h = server.client, server.headers()
    agent = (await c.post("/api/v1/agents", json={"name": name}, headers=h)).json()["id"]
    created = (
        await c.post(
            "/api/v1/keys",
            json={"name": f"k-{name}", "scope": "agent", "agent_id": agent},
            headers=h,
        )
    ).json()
    return agent, created["id"], created["key"]


async def _post_both(server: Server, agent: str, key: str) -> tuple[int, int]:
    headers = {"X-API-Key": key}
    single = await server.client.post("/api/v1/events", json=event(agent), headers=headers)
    batch = await server.client.post(
        "/api/v1/events/batch", json={"events": [event(agent)]}, headers=headers
    )
    return single.status_code, batch.status_code


async def test_revocation_by_another_process_holds_on_the_next_event(server: Server) -> None:
    agent, key_id, key = await _agent_and_key(server)
    assert await _post_both(server, agent, key) == (201, 202)
    # Another API process (or `sentinel keys revoke`) writes straight to the database.
    async with server.runtime.sessions() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.id == uuid.UUID(key_id)).values(is_active=False)
        )
    assert await _post_both(server, agent, key) == (401, 401)


async def test_expiry_holds_on_the_next_event(server: Server) -> None:
    agent, key_id, key = await _agent_and_key(server)
    assert await _post_both(server, agent, key) == (201, 202)
    async with server.runtime.sessions() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(key_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await _post_both(server, agent, key) == (401, 401)


async def test_agent_key_cannot_post_once_its_agent_is_deleted(server: Server) -> None:
    agent, _, key = await _agent_and_key(server)
    assert await _post_both(server, agent, key) == (201, 202)
    r = await server.client.delete(f"/api/v1/agents/{agent}", headers=server.headers())
    assert r.status_code == 204
    assert await _post_both(server, agent, key) == (401, 401)


async def test_admin_events_for_a_deleted_agent_are_not_found(server: Server) -> None:
    c, h = server.client, server.headers()
    agent, _, _ = await _agent_and_key(server)
    assert (await c.post("/api/v1/events", json=event(agent), headers=h)).status_code == 201
    assert (await c.delete(f"/api/v1/agents/{agent}", headers=h)).status_code == 204
    assert (await c.post("/api/v1/events", json=event(agent), headers=h)).status_code == 404
    r = await c.post("/api/v1/events/batch", json={"events": [event(agent)]}, headers=h)
    assert r.status_code == 202 and r.json()["results"][0]["error"] == "Agent not found"


async def test_answers_are_what_the_response_models_give(server: Server) -> None:
    c, h = server.client, server.headers()
    agent, _, key = await _agent_and_key(server)
    other, _, _ = await _agent_and_key(server, "other")
    r = await c.post(
        "/api/v1/events",
        json=event(agent, occurred_at="2099-01-01T00:00:00", tags=[" t "]),
        headers={"X-API-Key": key},
    )
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == list(EventAccepted.model_fields)
    assert body == json.loads(EventAccepted.model_validate(body).model_dump_json())
    assert body["clock_adjusted"] is True

    events: list[Any] = [
        event(agent, event_id=str(uuid.uuid4())),
        {"tool_name": "x"},
        "not an object",
        event(other, event_id=str(uuid.uuid4())),
        event(agent, occurred_at="2001-01-01T00:00:00Z"),
        event(agent),
    ]
    for headers in ({"X-API-Key": key}, h):
        r = await c.post("/api/v1/events/batch", json={"events": events}, headers=headers)
        assert r.status_code == 202 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert list(body) == list(BatchAccepted.model_fields)
        assert body == json.loads(BatchAccepted.model_validate(body).model_dump_json())
        statuses = [x["status"] for x in body["results"]]
        other_agent = "accepted" if headers is h else "rejected"
        assert statuses == ["accepted", "rejected", "rejected", other_agent, "rejected", "accepted"]


async def _stored(server: Server, ids: list[str], timeout_s: float = 20.0) -> None:
    """Wait until the worker has stored every one of these events."""
    import asyncio

    from sqlalchemy import func, select

    from agentsentinel.models import AgentEvent

    wanted = [uuid.UUID(i) for i in ids]
    for _ in range(int(timeout_s / 0.05)):
        async with server.runtime.sessions() as session:
            count = (
                await session.execute(
                    select(func.count()).select_from(AgentEvent).where(AgentEvent.id.in_(wanted))
                )
            ).scalar_one()
        if count == len(wanted):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {count} of {len(wanted)} events stored")


async def test_last_seen_moves_forward_only_from_new_rows(server: Server) -> None:
    """Agents' ``last_event_at`` and grants' ``last_called_at`` follow the newest stored event;
    an older or redelivered event never moves them back, an ungranted tool touches no grant."""
    from sqlalchemy import select

    from agentsentinel.models import Agent, ToolGrant

    c, h = server.client, server.headers()
    agent = (await c.post("/api/v1/agents", json={"name": "seen"}, headers=h)).json()["id"]
    for tool in ("search", "fetch"):
        r = await c.post(f"/api/v1/agents/{agent}/grants", json={"tool_name": tool}, headers=h)
        assert r.status_code == 201, r.text
    now = utcnow().replace(microsecond=0)
    t = [now - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]

    def ev(tool: str, at: Any, event_id: str | None = None) -> dict[str, Any]:
        return event(
            agent,
            tool_name=tool,
            occurred_at=at.isoformat(),
            event_id=event_id or str(uuid.uuid4()),
        )

    first = [ev("search", t[0]), ev("search", t[3]), ev("fetch", t[1]), ev("unlisted", t[4])]
    r = await c.post("/api/v1/events/batch", json={"events": first}, headers=h)
    assert r.status_code == 202, r.text
    await _stored(server, [e["event_id"] for e in first])
    # Older events, and a redelivery of a stored id with a newer time: nothing moves back, and
    # the duplicate (not stored again) moves nothing forward.
    later = [ev("search", t[2]), ev("fetch", t[0]), ev("fetch", now, first[2]["event_id"])]
    r = await c.post("/api/v1/events/batch", json={"events": later}, headers=h)
    assert r.status_code == 202, r.text
    await _stored(server, [e["event_id"] for e in later])

    async with server.runtime.sessions() as session:
        row = await session.get(Agent, uuid.UUID(agent))
        assert row is not None and row.last_event_at == t[4]
        grants = {
            g.tool_name: g.last_called_at
            for g in (
                await session.execute(
                    select(ToolGrant).where(ToolGrant.agent_id == uuid.UUID(agent))
                )
            ).scalars()
        }
    assert grants == {"search": t[3], "fetch": t[1]}
