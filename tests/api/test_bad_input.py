"""Bad input gets a clear 4xx with a ``detail`` (and loses nothing)."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import Server


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/agents?limit=-1", 422),
        ("/api/v1/agents?limit=0", 422),
        ("/api/v1/agents?limit=501", 422),
        ("/api/v1/agents?offset=-5", 422),
        ("/api/v1/agents?limit=abc", 422),
        ("/api/v1/agents?status=SLEEPY", 422),
        ("/api/v1/events?limit=-1", 422),
        ("/api/v1/events?min_score=2", 422),
        ("/api/v1/events?cursor=%%%", 422),
        ("/api/v1/events?cursor=bm90LWEtY3Vyc29y", 422),
        ("/api/v1/events?since=yesterday", 422),
        ("/api/v1/findings?severity=APOCALYPTIC", 422),
        ("/api/v1/findings?status=MAYBE", 422),
        ("/api/v1/agents/not-a-uuid", 422),
        ("/api/v1/agents/00000000-0000-0000-0000-000000000000", 404),
        # Postgres cannot compare text with NUL: refused before any query, on every backend.
        ("/api/v1/events?tool_name=a%00", 422),
        ("/api/v1/events?session_id=a%00", 422),
        ("/api/v1/findings?rule_id=a%00", 422),
        ("/api/v1/agents/a%00", 422),
    ],
)
async def test_bad_queries(server: Server, path: str, status: int) -> None:
    r = await server.client.get(path, headers=server.headers())
    assert r.status_code == status, r.text
    body = r.json()
    assert body["detail"] and body["code"]
    if status == 422:
        assert isinstance(body["detail"], list) and body["detail"][0]["loc"]


async def _agent(server: Server) -> str:
    r = await server.client.post("/api/v1/agents", json={"name": "a"}, headers=server.headers())
    return str(r.json()["id"])


async def test_bad_events(server: Server) -> None:
    agent = await _agent(server)
    good = {"agent_id": agent, "tool_name": "t", "input_hash": sha("i"), "output_hash": sha("o")}
    cases = [
        {**good, "input_hash": "xyz"},
        {**good, "duration_ms": -1},
        {**good, "duration_ms": 86_400_001},
        {**good, "duration_ms": "slow"},
        {**good, "agent_id": "nope"},
        {**good, "status": "maybe"},
        {**good, "tool_name": ""},
        {**good, "tool_name": "x" * 256},
        {**good, "metrics": {"amount": "NaN"}},
        {**good, "surprise": 1},
        {**good, "occurred_at": "2001-01-01T00:00:00Z"},
    ]
    for body in cases:
        r = await server.client.post("/api/v1/events", json=body, headers=server.headers())
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"]
    r = await server.client.post(
        "/api/v1/events",
        content=b"{not json",
        headers={**server.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    # Nothing half-stored: only valid events exist afterwards.
    r = await server.client.get("/api/v1/events", headers=server.headers())
    assert r.json() == []


async def test_long_durations_and_upper_case_hashes_are_accepted(server: Server) -> None:
    agent = await _agent(server)
    r = await server.client.post(
        "/api/v1/events",
        json={
            "agent_id": agent,
            "tool_name": "nightly_export",
            "input_hash": sha("i").upper(),
            "output_hash": sha("o"),
            "duration_ms": 86_400_000,
        },
        headers=server.headers(),
    )
    assert r.status_code == 201, r.text
    events = (await server.client.get("/api/v1/events", headers=server.headers())).json()
    assert events[0]["duration_ms"] == 86_400_000
    assert events[0]["input_hash"] == sha("i")


async def test_future_time_is_replaced_and_marked(server: Server) -> None:
    agent = await _agent(server)
    r = await server.client.post(
        "/api/v1/events",
        json={
            "agent_id": agent,
            "tool_name": "t",
            "input_hash": sha("i"),
            "output_hash": sha("o"),
            "occurred_at": "2999-01-01T00:00:00Z",
        },
        headers=server.headers(),
    )
    assert r.status_code == 201
    assert r.json()["clock_adjusted"] is True and not r.json()["timestamp"].startswith("2999")


async def test_huge_body_is_413(server: Server) -> None:
    limit = server.runtime.settings.max_body_bytes
    r = await server.client.post(
        "/api/v1/agents",
        content=b"x" * (limit + 1),
        headers={**server.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


async def test_batch_rejects_bad_events_alone(server: Server) -> None:
    agent = await _agent(server)
    good = {"agent_id": agent, "tool_name": "t", "input_hash": sha("i"), "output_hash": sha("o")}
    r = await server.client.post(
        "/api/v1/events/batch",
        json={
            "events": [
                good,
                {**good, "duration_ms": -1},
                "not an object",
                {**good, "tool_name": "u"},
                {**good, "agent_id": "00000000-0000-0000-0000-000000000000"},
            ]
        },
        headers=server.headers(),
    )
    assert r.status_code == 202
    body = r.json()
    assert [x["status"] for x in body["results"]] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert body["accepted"] == 2 and body["rejected"] == 3
    assert body["results"][1]["error"][0]["loc"] == ["duration_ms"]
    r = await server.client.post(
        "/api/v1/events/batch", json={"events": [good] * 1001}, headers=server.headers()
    )
    assert r.status_code == 422


async def test_nul_characters_are_refused_before_acceptance(server: Server) -> None:
    """Postgres cannot store NUL in text or JSON: it is a 422 on every backend, never an accepted
    event that cannot be written (a batch refuses the item alone), and nothing else is lost."""
    agent = await _agent(server)
    h = server.headers()
    good = {"agent_id": agent, "tool_name": "t", "input_hash": sha("i"), "output_hash": sha("o")}
    r = await server.client.post("/api/v1/events", json={**good, "tool_name": "a\x00b"}, headers=h)
    assert r.status_code == 422, r.text
    assert "NUL" in str(r.json()["detail"]) and "tool_name" in str(r.json()["detail"])
    r = await server.client.post(
        "/api/v1/events", json={**good, "metrics": {"rows\x00": 1.0}}, headers=h
    )
    assert r.status_code == 422, r.text
    r = await server.client.post(
        "/api/v1/events/batch",
        json={"events": [good, {**good, "session_id": "s\x00"}, {**good, "tool_name": "u"}]},
        headers=h,
    )
    assert r.status_code == 202, r.text
    assert [x["status"] for x in r.json()["results"]] == ["accepted", "rejected", "accepted"]
    r = await server.client.post("/api/v1/agents", json={"name": "bot\x00"}, headers=h)
    assert r.status_code == 422, r.text
    r = await server.client.post(
        f"/api/v1/agents/{agent}/grants",
        json={"tool_name": "q", "input_schema": {"properties": {"x": {"description": "\x00"}}}},
        headers=h,
    )
    assert r.status_code == 422, r.text
    assert "input_schema.properties.x.description" in str(r.json()["detail"])
    # The two good batch events are stored and scored; so is a clean single event after them.
    r = await server.client.post("/api/v1/events", json=good, headers=h)
    assert r.status_code == 201 and r.json()["status"] == "accepted", r.text
    events = await server.client.get(f"/api/v1/events?agent_id={agent}", headers=h)
    assert sorted(e["tool_name"] for e in events.json()) == ["t", "t", "u"]


async def test_batch_is_idempotent_on_event_id(server: Server) -> None:
    import asyncio
    import uuid

    agent = await _agent(server)
    ev = {
        "agent_id": agent,
        "tool_name": "t",
        "input_hash": sha("i"),
        "output_hash": sha("o"),
        "event_id": str(uuid.uuid4()),
    }
    for _ in range(3):
        r = await server.client.post(
            "/api/v1/events/batch", json={"events": [ev, ev]}, headers=server.headers()
        )
        assert r.status_code == 202
    for _ in range(100):
        events = (await server.client.get("/api/v1/events", headers=server.headers())).json()
        if events:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    events = (await server.client.get("/api/v1/events", headers=server.headers())).json()
    assert len(events) == 1
    r = await server.client.post("/api/v1/events", json=ev, headers=server.headers())
    assert r.status_code == 201 and r.json()["status"] == "duplicate"


async def test_many_concurrent_single_events_are_all_scored_in_time(server: Server) -> None:
    """More waiting requests than pooled connections must not starve the worker."""
    import asyncio

    agent = await _agent(server)

    async def post(n: int) -> str:
        r = await server.client.post(
            "/api/v1/events",
            json={
                "agent_id": agent,
                "tool_name": "t",
                "input_hash": sha(str(n)),
                "output_hash": sha("o"),
            },
            headers=server.headers(),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["status"])

    statuses = await asyncio.gather(*(post(n) for n in range(48)))
    assert statuses.count("accepted") == 48, statuses
