"""Triggers through the real API + worker pipeline, delivered over HTTP, on both storage modes."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agentsentinel.alerts.outbox import DIGEST_TRIGGER
from agentsentinel.alerts.signing import verify_signature
from agentsentinel.behavior import BehaviorScore
from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, AgentEvent, Alert
from agentsentinel.services import findings, scores
from agentsentinel.settings import Settings
from tests.alerts.conftest import Receiver, with_alerts
from tests.conftest import Server

SECRET = "pipeline-secret-" + "q" * 32
LIMIT = 5


@pytest.fixture
async def server(settings: Settings, receiver: Receiver) -> AsyncIterator[Server]:
    from agentsentinel.api.app import create_app

    configured = with_alerts(
        settings,
        alert_webhook_urls=[receiver.url],
        alert_webhook_secret=SECRET,
        alert_agent_limit=LIMIT,
        alert_poll_interval_s=0.05,
    )
    app = create_app(configured, migrate=False)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Server(app, runtime, client, runtime.bootstrap.key)


async def _agent(server: Server, name: str) -> str:
    h = server.headers()
    r = await server.client.post("/api/v1/agents", json={"name": name}, headers=h)
    assert r.status_code == 201, r.text
    agent_id = str(r.json()["id"])
    r = await server.client.post(
        f"/api/v1/agents/{agent_id}/grants", json={"tool_name": "search_docs"}, headers=h
    )
    assert r.status_code // 100 == 2, r.text
    return agent_id


async def _until(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _count(server: Server, *where: Any) -> int:
    async with server.runtime.sessions() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(Alert).where(*where))
            ).scalar_one()
        )


async def _delivered(server: Server) -> None:
    """Wait until nothing but digests (due only at the window's end) is left pending.

    A row being sent is still ``pending`` (its lease moved ``next_attempt_at`` forward), so
    "nothing due" is not "delivered": every receiver here answers 200 at once, so any pending
    row other than a digest is one not sent yet.
    """

    async def idle() -> bool:
        waiting = (Alert.status == "pending", Alert.trigger != DIGEST_TRIGGER)
        return await _count(server, *waiting) == 0

    await _until(idle, "pending alerts delivered")


async def test_burst_of_ungranted_calls_is_deduplicated_and_throttled(
    server: Server, receiver: Receiver
) -> None:
    c, h = server.client, server.headers()
    agent_id = await _agent(server, "burst-bot")
    t0 = datetime.now(UTC) - timedelta(hours=1)
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "agent_id": agent_id,
            "tool_name": "drop_customer_table",
            "input_hash": hashlib.sha256(f"in{n}".encode()).hexdigest(),
            "output_hash": hashlib.sha256(f"out{n}".encode()).hexdigest(),
            "session_id": f"s{n // 10}",
            "occurred_at": (t0 + timedelta(seconds=n)).isoformat(),
        }
        for n in range(1000)
    ]
    for i in range(0, 1000, 500):
        r = await c.post("/api/v1/events/batch", json={"events": events[i : i + 500]}, headers=h)
        assert r.status_code == 202, r.text
        assert r.json()["accepted"] == 500, str(r.json())[:500]

    async def stored() -> bool:
        async with server.runtime.sessions() as session:
            n = (await session.execute(select(func.count()).select_from(AgentEvent))).scalar_one()
        return bool(n >= 1000)

    await _until(stored, "1000 events stored")
    await _delivered(server)
    agent = uuid.UUID(agent_id)
    ungranted = (Alert.trigger == "ungranted_tool", Alert.agent_id == agent)
    # Every event is recorded once per channel; LIMIT of them are sent, the rest held back.
    assert await _count(server, *ungranted, Alert.channel == "webhook") == 1000
    assert await _count(server, *ungranted, Alert.status == "suppressed") == 2 * (1000 - LIMIT)

    # Redelivery of the same events (duplicates) adds nothing.
    r = await c.post("/api/v1/events/batch", json={"events": events[:500]}, headers=h)
    assert r.status_code == 202, r.text
    await _until(lambda: _dup_replies_done(server, agent_id), "duplicates processed", timeout=30)
    assert await _count(server, *ungranted, Alert.channel == "webhook") == 1000

    # The digest goes out when the window closes (driven through the dispatcher's clock).
    dispatcher = server.runtime.alerts
    assert dispatcher is not None
    later = utcnow() + timedelta(seconds=server.runtime.settings.alert_agent_window_s + 1)
    while await dispatcher.run_once(later):
        pass

    bodies = [r.json() for r in receiver.requests]
    for request in receiver.requests:
        assert verify_signature(
            SECRET, request.body, request.headers["X-AgentSentinel-Signature"], tolerance_s=10**6
        )
    keys = Counter(b["dedup_key"] for b in bodies)
    assert all(n == 1 for n in keys.values()), keys.most_common(3)
    per_trigger = Counter(b["event"] for b in bodies if b.get("agent_id") == agent_id)
    assert per_trigger["ungranted_tool"] + per_trigger["agent_status"] <= LIMIT
    (digest,) = [b for b in bodies if b["event"] == "suppressed_digest"]
    suppressed = await _count(
        server, Alert.agent_id == agent, Alert.channel == "webhook", Alert.status == "suppressed"
    )
    assert digest["suppressed"] == suppressed >= 1000 - LIMIT
    assert f"{suppressed} more alerts suppressed for agent burst-bot" in digest["message"]
    sample = next(b for b in bodies if b["event"] == "ungranted_tool")
    assert sample["agent_name"] == "burst-bot" and sample["tool_name"] == "drop_customer_table"
    assert sample["event_id"] in {e["event_id"] for e in events}


async def _dup_replies_done(server: Server, agent_id: str) -> bool:
    return server.runtime.ingest is not None and server.runtime.ingest.processed >= 1500


async def test_critical_finding_alerts_once_per_occurrence(
    server: Server, receiver: Receiver
) -> None:
    agent_id = uuid.UUID(await _agent(server, "finding-bot"))

    async def observe() -> None:
        async with server.runtime.sessions() as session, session.begin():
            await findings.observe(
                session,
                agent_id=agent_id,
                rule_id="TEST-CRIT",
                finding_type="POSTURE",
                severity="CRITICAL",
                message="shell tool reachable from untrusted input",
                evidence={},
            )

    await observe()
    await observe()  # a rescan of an open finding
    key = Alert.trigger == "critical_finding"
    assert await _count(server, key, Alert.channel == "webhook") == 1
    async with server.runtime.sessions() as session, session.begin():
        assert await findings.clear(session, {agent_id}, "TEST-CRIT") == 1
    await observe()  # reopened: a new occurrence
    await observe()
    assert await _count(server, key, Alert.channel == "webhook") == 2
    await _delivered(server)
    sent = [r.json() for r in receiver.requests if r.json()["event"] == "critical_finding"]
    sent.sort(key=lambda b: b["dedup_key"])
    assert [b["dedup_key"].rsplit(":", 1)[1] for b in sent] == ["1", "2"]
    assert sent[0]["message"].startswith("New CRITICAL finding")
    assert sent[1]["message"].startswith("Reopened CRITICAL finding")


async def test_a_finding_that_rolls_back_never_alerts(server: Server) -> None:
    agent_id = uuid.UUID(await _agent(server, "rollback-bot"))
    with pytest.raises(RuntimeError):
        async with server.runtime.sessions() as session, session.begin():
            await findings.observe(
                session,
                agent_id=agent_id,
                rule_id="TEST-CRIT",
                finding_type="POSTURE",
                severity="CRITICAL",
                message="m",
                evidence={},
            )
            raise RuntimeError("the triggering change fails")
    assert await _count(server, Alert.agent_id == agent_id) == 0


def _behavior(agent_id: uuid.UUID, score: float) -> BehaviorScore:
    return BehaviorScore(
        agent_id=str(agent_id),
        score=score,
        penalty=100.0 - score,
        alarms=(),
        evidence_events=10_000.0,
        insufficient_evidence=False,
        last_event_at=utcnow(),
        silence=None,
    )


async def test_agent_entering_alert_band_alerts_once(server: Server, receiver: Receiver) -> None:
    agent_id = uuid.UUID(await _agent(server, "band-bot"))

    async def recompute(behavior: float) -> str:
        async with server.runtime.sessions() as session, session.begin():
            agent = await session.get(Agent, agent_id)
            assert agent is not None
            agent.last_event_at = utcnow()
            result = await scores.recompute(
                session,
                agent,
                behavior=_behavior(agent_id, behavior),
                settings=server.runtime.settings,
            )
            return result.status

    assert await recompute(100.0) in ("TRUSTED", "WATCH")
    assert await recompute(10.0) == "ALERT"
    assert await recompute(12.0) == "ALERT"  # still in the band: no new alert
    key = (Alert.trigger == "agent_status", Alert.channel == "webhook")
    assert await _count(server, *key) == 1
    await _delivered(server)
    (sent,) = [r.json() for r in receiver.requests if r.json()["event"] == "agent_status"]
    assert sent["status"] == "ALERT" and sent["agent_name"] == "band-bot"


async def test_anomaly_above_the_threshold_alerts_and_below_does_not(
    server: Server, receiver: Receiver
) -> None:
    """The score trigger on its own (no ungranted reason): strictly by the configured threshold."""
    from agentsentinel.alerts import triggers

    agent_id = uuid.UUID(await _agent(server, "scored"))
    threshold = server.runtime.settings.alert_anomaly_threshold
    rows = [
        {"id": uuid.uuid4(), "agent_id": agent_id, "tool_name": "search_docs", "reasons": []}
        | {"anomaly_score": score}
        for score in (threshold, min(1.0, threshold + 0.005), threshold - 0.01, None)
    ]
    async with server.runtime.sessions() as session, session.begin():
        await triggers.events_stored(session, rows, {agent_id: "scored"}, threshold)
    # One row per channel (the webhook and the log), for the two events at or above the threshold.
    assert await _count(server, Alert.trigger == triggers.ANOMALY, Alert.channel == "webhook") == 2
    assert await _count(server, Alert.trigger == triggers.ANOMALY) == 4
    async with server.runtime.sessions() as session:
        keys = set(
            (
                await session.execute(
                    select(Alert.dedup_key).where(Alert.trigger == triggers.ANOMALY)
                )
            ).scalars()
        )
    assert keys == {f"event:{rows[0]['id']}", f"event:{rows[1]['id']}"}

    async def both_sent() -> bool:  # a claimed row is still "pending" while it is being sent
        sent = (Alert.trigger == triggers.ANOMALY, Alert.channel == "webhook")
        return await _count(server, *sent, Alert.status == "sent") == 2

    await _until(both_sent, "both anomaly alerts delivered")
    sent = [r for r in receiver.requests if r.json().get("event") == triggers.ANOMALY]
    assert {r.json()["event_id"] for r in sent} == {
        str(rows[0]["id"]),
        str(rows[1]["id"]),
    }
