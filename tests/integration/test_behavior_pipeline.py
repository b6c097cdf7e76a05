"""The behavior detector inside the event pipeline, through the API, on both storage modes.

- scores and reasons reach ``POST /events``, ``GET /events`` and the live feed;
- ``GET /agents/{id}/baseline`` and the trust score's behavior part come from what was learned;
- a worker that dies after learning but before its checkpoint is replayed without learning twice;
- silence becomes an AGENT_SILENT finding of type BEHAVIOR, resolved when the agent reports again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from agentsentinel.bus.base import BusMessage, Delivery
from agentsentinel.models import Agent, AgentEvent, Baseline
from agentsentinel.settings import Settings
from agentsentinel.worker.behavior import SILENCE_RULE, DetectorPipeline
from agentsentinel.worker.ingest import EventIngestService
from tests.conftest import Server

GRANTS = ("search_docs", "read_customer_record", "summarize_text")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[Server]:
    """The standard test server with a short checkpoint interval (baselines appear quickly)."""
    import httpx

    from agentsentinel.api.app import create_app

    fast = settings.model_copy(update={"checkpoint_interval_ms": 100})
    app = create_app(fast, migrate=False)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Server(app, runtime, client, runtime.bootstrap.key)


async def _agent_with_grants(server: Server, name: str = "support-bot") -> str:
    c, h = server.client, server.headers()
    r = await c.post("/api/v1/agents", json={"name": name, "owner_team": "support"}, headers=h)
    assert r.status_code == 201, r.text
    agent_id = str(r.json()["id"])
    for tool in GRANTS:
        r = await c.post(f"/api/v1/agents/{agent_id}/grants", json={"tool_name": tool}, headers=h)
        assert r.status_code // 100 == 2, r.text
    return agent_id


def _history(agent_id: str, start: datetime, days: int) -> list[dict[str, Any]]:
    """Working-hours sessions (09:00-17:00 UTC, one every 20 min) of the same three-step task."""
    events = []
    for day in range(days):
        for slot in range(24):
            t0 = start + timedelta(days=day, hours=9, minutes=20 * slot)
            session = f"d{day}s{slot}"
            for step, tool in enumerate(GRANTS):
                n = day * 100 + slot * 3 + step
                events.append(
                    {
                        "agent_id": agent_id,
                        "tool_name": tool,
                        "input_hash": sha(f"in{n}"),
                        "output_hash": sha(f"out{n}"),
                        "duration_ms": 200 + (n * 37) % 150,
                        "input_bytes": 400 + (n * 13) % 200,
                        "output_bytes": 2000 + (n * 29) % 900,
                        "session_id": session,
                        "occurred_at": (t0 + timedelta(seconds=20 * step)).isoformat(),
                    }
                )
    return events


async def _wait_stored(server: Server, agent_id: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with server.runtime.sessions() as session:
            stored = (
                await session.execute(
                    select(func.count())
                    .select_from(AgentEvent)
                    .where(AgentEvent.agent_id == uuid.UUID(agent_id))
                )
            ).scalar_one()
        if stored >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} events stored after {timeout}s")


async def _wait_processed(server: Server, agent_id: str, count: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = await server.client.get(f"/api/v1/agents/{agent_id}/baseline", headers=server.headers())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["checkpoint"]["events_processed"] >= count or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


async def test_scores_and_reasons_reach_every_read_path(server: Server) -> None:
    c, h = server.client, server.headers()
    agent_id = await _agent_with_grants(server)
    start = (datetime.now(UTC) - timedelta(days=4)).replace(hour=0, minute=0, second=0)
    history = _history(agent_id, start, days=3)
    for i in range(0, len(history), 500):
        r = await c.post("/api/v1/events/batch", json={"events": history[i : i + 500]}, headers=h)
        assert r.status_code == 202, r.text
    await _wait_stored(server, agent_id, len(history))

    # The usual task the next morning is scored, and unremarkable.
    morning = start + timedelta(days=3, hours=9, minutes=40)
    usual = {
        **history[0],
        "session_id": "next-day",
        "input_hash": sha("usual-in"),
        "output_hash": sha("usual-out"),
        "occurred_at": morning.isoformat(),
    }
    r = await c.post("/api/v1/events", json=usual, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "accepted"
    assert isinstance(r.json()["anomaly_score"], float)
    assert r.json()["anomaly_score"] < 0.9, r.json()

    # A destructive tool the agent was never granted, in the same session: top of the scale.
    feed = server.runtime.bus.subscribe_feed()
    await feed.wait_ready()
    attack = {
        **usual,
        "tool_name": "drop_customer_table",
        "input_hash": sha("attack-in"),
        "output_hash": sha("attack-out"),
        "occurred_at": (morning + timedelta(seconds=30)).isoformat(),
    }
    r = await c.post("/api/v1/events", json=attack, headers=h)
    assert r.status_code == 201, r.text
    posted = r.json()
    assert posted["anomaly_score"] >= 0.95, posted
    signals = {reason["signal"] for reason in posted["reasons"]}
    assert "ungranted_tool" in signals, posted["reasons"]
    reason = next(x for x in posted["reasons"] if x["signal"] == "ungranted_tool")
    assert reason["detail"] and reason["observed"] is not None and reason["expected"] is not None

    # GET /events returns the stored score and reasons.
    r = await c.get("/api/v1/events", params={"agent_id": agent_id, "limit": 5}, headers=h)
    stored = next(e for e in r.json() if e["event_id"] == posted["event_id"])
    assert stored["anomaly_score"] == posted["anomaly_score"]
    assert stored["reasons"] == posted["reasons"]

    # The live feed carried the same verdict.
    try:
        item = await asyncio.wait_for(_next_for(feed, posted["event_id"]), timeout=5)
    finally:
        feed.close()
    assert item["anomaly_score"] == posted["anomaly_score"]
    assert item["reasons"] == posted["reasons"]

    # The baseline shows what was learned, once the worker has checkpointed it.
    processed = len(history) + 2
    body = await _wait_processed(server, agent_id, processed)
    assert body["checkpoint"]["events_processed"] == processed
    assert body["maturity"]["mature"] is True
    tools = {t["tool"]: t for t in body["tools"]}
    assert set(tools) == set(GRANTS)
    assert 150 <= tools["search_docs"]["duration_ms"]["p50"] <= 400
    transitions = {(t["from"], t["to"]) for t in body["transitions"]}
    assert ("search_docs", "read_customer_record") in transitions
    assert body["behavior"]["alarms"], body["behavior"]
    assert body["behavior"]["score"] < 100.0

    # The worker rescored the agent after its events (debounced), without anyone asking: the
    # agents list and GET /score show it, and the history row names the alarm.
    deadline = time.monotonic() + 10
    while True:
        r = await c.get(f"/api/v1/agents/{agent_id}/score", headers=h)
        if r.json()["behavior_score"] < 100.0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    polled = r.json()
    assert polled["behavior_score"] < 100.0 and polled["insufficient_evidence"] is False
    assert any(x["source"] == "behavior" for x in polled["reasons"]), polled["reasons"]
    r = await c.get("/api/v1/agents", headers=h)
    listed = next(a for a in r.json() if str(a["id"]) == agent_id)
    assert listed["trust_score"] == pytest.approx(polled["trust_score"])
    assert listed["status"] == polled["status"]
    r = await c.get(f"/api/v1/agents/{agent_id}/score/history", headers=h)
    assert r.status_code == 200 and len(r.json()) >= 2  # at creation, and after the alarm

    # The trust score's behavior part is the detector's behavior score.
    r = await c.post(f"/api/v1/agents/{agent_id}/rescore", headers=h)
    assert r.status_code == 200, r.text
    score = r.json()
    assert score["behavior_score"] == pytest.approx(body["behavior"]["score"], abs=0.5)
    assert score["behavior_score"] < 100.0
    assert score["breakdown"]["behavior"]["score"] == score["behavior_score"]


async def _next_for(feed: Any, event_id: str) -> dict[str, Any]:
    async for item in feed:
        if item.get("event_id") == event_id:
            return dict(item)
    raise AssertionError("feed ended")


async def test_new_agent_like_its_peers_is_not_anomalous(server: Server) -> None:
    """Peer groups: a brand-new agent doing its peers' daily work scores low from its first call."""
    c, h = server.client, server.headers()
    start = (datetime.now(UTC) - timedelta(days=4)).replace(hour=0, minute=0, second=0)
    veterans = [await _agent_with_grants(server, f"support-{i}") for i in range(3)]
    for agent_id in veterans:
        history = _history(agent_id, start, days=3)
        for i in range(0, len(history), 500):
            r = await c.post(
                "/api/v1/events/batch", json={"events": history[i : i + 500]}, headers=h
            )
            assert r.status_code == 202
        await _wait_stored(server, agent_id, len(history))
    newcomer = await _agent_with_grants(server, "support-new")
    first_session = _history(newcomer, start + timedelta(days=3), days=1)[:3]
    scores = []
    for event in first_session:
        r = await c.post("/api/v1/events", json=event, headers=h)
        assert r.status_code == 201, r.text
        scores.append(r.json()["anomaly_score"])
    assert all(s is not None and s < 0.9 for s in scores), scores


def _delivery(agent_id: uuid.UUID, n: int, base: datetime) -> Delivery:
    event_id = str(uuid.UUID(int=n + 1))
    ts = base + timedelta(minutes=3 * n)
    payload = {
        "event_id": event_id,
        "agent_id": str(agent_id),
        "tool_name": GRANTS[n % 3] if n % 17 else "export_report",
        "input_hash": sha(f"i{n}"),
        "output_hash": sha(f"o{n % 40}"),
        "duration_ms": 100 + (n * 53) % 400,
        "session_id": f"s{n // 6}",
        "status": "error" if n % 23 == 0 else "ok",
        "occurred_at": ts.isoformat(),
        "received_at": ts.isoformat(),
        "clock_adjusted": False,
    }
    message = BusMessage(message_id=event_id, agent_id=str(agent_id), payload=payload)
    return Delivery(shard=0, stream_id=f"{1_700_000_000_000 + n}-0", message=message)


async def _run(service: EventIngestService, deliveries: list[Delivery]) -> None:
    for i in range(0, len(deliveries), 25):
        await service.process(deliveries[i : i + 25])


async def test_crash_between_learning_and_checkpoint_learns_each_event_once(
    settings: Settings,
) -> None:
    """Replay after a crash: the restored detector ends bit-identical to one that never crashed."""
    from agentsentinel.runtime import Runtime

    runtime = Runtime(settings.model_copy(update={"run_worker": False}))
    await runtime.start(migrate=False, api=False, worker=False)
    try:
        agent_id = uuid.uuid4()
        async with runtime.sessions() as session, session.begin():
            session.add(Agent(id=agent_id, name="replayed"))
        base = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        deliveries = [_delivery(agent_id, n, base) for n in range(300)]

        def service() -> tuple[EventIngestService, DetectorPipeline]:
            pipeline = DetectorPipeline(runtime.settings)
            return (
                EventIngestService(runtime.bus, runtime.sessions, runtime.settings, pipeline),
                pipeline,
            )

        # Reference: one worker that sees every event once and never crashes.
        never, never_pipeline = service()
        await _run(never, deliveries)
        reference_state = never_pipeline.detector.export_agent_state(str(agent_id))

        # Worker A: learns 0..199, checkpoints after 120, dies before the next checkpoint.
        a, _ = service()
        await _run(a, deliveries[:120])
        await a.checkpoint(final=True)
        await _run(a, deliveries[120:200])
        del a  # killed: 120..199 were learned in memory only, and never acked

        # Worker B: restores the checkpoint, gets the unacked entries again plus new ones. It
        # is also handed some entries at or below the checkpoint (a duplicate delivery).
        b, b_pipeline = service()
        async with runtime.sessions() as session:
            row = (
                await session.execute(select(Baseline).where(Baseline.scope == "agent"))
            ).scalar_one()
        assert row.event_count == 120 and row.last_stream_id == deliveries[119].stream_id
        await _run(b, deliveries[90:300])
        assert b_pipeline.detector.export_agent_state(str(agent_id)) == reference_state
        await b.checkpoint(final=True)
        async with runtime.sessions() as session:
            row = (
                await session.execute(select(Baseline).where(Baseline.scope == "agent"))
            ).scalar_one()
        assert row.event_count == 300
        assert row.last_stream_id == deliveries[-1].stream_id
    finally:
        await runtime.stop()


async def test_silence_opens_and_resolves_a_behavior_finding(server: Server) -> None:
    """A mid-day stop is reported; the finding stays open overnight and resolves on the next event.

    Silence p-values are floored at 1/(n+1) over the fleet's past pauses of the same kind, so the
    alert needs a fleet that has seen ~20,000 of them: 40 agents over two weeks here.
    """
    from agentsentinel.worker.scoring import ScoringInput

    start = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
    days = 14
    agent_ids = [uuid.uuid4() for _ in range(40)]
    async with server.runtime.sessions() as session, session.begin():
        session.add_all(
            Agent(id=a, name=f"job-{i}", owner_team="ops") for i, a in enumerate(agent_ids)
        )
    silent = agent_ids[0]
    stop = start + timedelta(days=days - 1, hours=12)  # a Sunday noon: it works every day
    events = [e for a in agent_ids for e in _history(str(a), start, days)]
    events = [
        e
        for e in events
        if e["agent_id"] != str(silent) or datetime.fromisoformat(e["occurred_at"]) <= stop
    ]
    events.sort(key=lambda e: e["occurred_at"])
    items = [
        ScoringInput(
            {**e, "event_id": str(uuid.uuid4()), "status": "ok"}, f"{1_700_000_000_000 + n}-0"
        )
        for n, e in enumerate(events)
    ]
    pipeline = DetectorPipeline(server.runtime.settings)
    async with server.runtime.sessions() as session, session.begin():
        await pipeline.prepare(session, items)
    pipeline.score_batch(items)
    last = max(
        datetime.fromisoformat(e["occurred_at"]) for e in events if e["agent_id"] == str(silent)
    )
    async with server.runtime.sessions() as session, session.begin():
        await session.execute(update(Agent).where(Agent.id == silent).values(last_event_at=last))

    async def check(at: datetime) -> list[dict[str, Any]]:
        async with server.runtime.sessions() as session, session.begin():
            await pipeline.periodic(session, at)
        r = await server.client.get(
            "/api/v1/findings", params={"rule_id": SILENCE_RULE}, headers=server.headers()
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    # Twenty minutes without an event is a usual pause between its sessions: nothing.
    assert await check(last + timedelta(minutes=20)) == []

    # Two hours into its working day without a single event: silent, and only this agent.
    [finding] = await check(last + timedelta(hours=2))
    assert finding["agent_id"] == str(silent)
    assert finding["finding_type"] == "BEHAVIOR" and finding["status"] == "OPEN"
    assert finding["evidence"]["expected_events"] >= 3
    assert finding["evidence"]["last_event_at"] == last.isoformat()

    # Still silent in the evening: the same finding, still open (not "resolved" by nightfall).
    [evening] = await check(last + timedelta(hours=8))
    assert evening["id"] == finding["id"] and evening["status"] == "OPEN"

    # It reports again (through the API): the next check resolves the finding, history kept.
    back = last + timedelta(hours=20)
    event = {**events[0], "agent_id": str(silent), "occurred_at": back.isoformat()}
    r = await server.client.post("/api/v1/events", json=event, headers=server.headers())
    assert r.status_code == 201 and r.json()["status"] == "accepted", r.text
    [resolved] = await check(back + timedelta(minutes=1))
    assert resolved["id"] == finding["id"] and resolved["status"] == "RESOLVED"
    assert [h["to"] for h in resolved["history"]] == ["OPEN", "RESOLVED"]


async def test_a_batch_with_different_optional_fields_is_stored_in_one_statement(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows of one multi-row INSERT carry the same columns, whatever each event left out."""
    from agentsentinel.runtime import Runtime

    runtime = Runtime(settings.model_copy(update={"run_worker": False}))
    await runtime.start(migrate=False, api=False, worker=False)
    try:
        agent_id = uuid.uuid4()
        async with runtime.sessions() as session, session.begin():
            session.add(Agent(id=agent_id, name="mixed"))
        base = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        deliveries = [_delivery(agent_id, n, base) for n in range(4)]
        deliveries[1].message.payload.update(target_hash=sha("dest"), metrics={"amount": 12.5})
        deliveries[2].message.payload.pop("duration_ms")
        deliveries[3].message.payload.update(tags=["x"], status="error", error_type="Timeout")
        parent = uuid.uuid4()
        deliveries[2].message.payload.update(
            parent_event_id=str(parent),
            clock_adjusted=True,
            trace_id="ab" * 16,
            span_id="cd" * 8,
            source="sdk",
            received_at=(base + timedelta(hours=1)).isoformat(),
        )
        del deliveries[0].message.payload["status"]
        # Not the canonical text form of its id: stored under the same UUID all the same.
        deliveries[1].message.payload["event_id"] = (
            deliveries[1].message.payload["event_id"].upper()
        )
        service = EventIngestService(
            runtime.bus, runtime.sessions, runtime.settings, DetectorPipeline(runtime.settings)
        )
        with caplog.at_level("WARNING"):
            await service.process(deliveries)
            # A redelivered batch stores nothing twice.
            await service.process(deliveries)
        assert "one by one" not in caplog.text
        async with runtime.sessions() as session:
            rows = {
                str(e.id): e
                for e in (
                    await session.execute(select(AgentEvent).where(AgentEvent.agent_id == agent_id))
                ).scalars()
            }
        assert len(rows) == 4
        d = [rows[str(uuid.UUID(x.message.payload["event_id"]))] for x in deliveries]
        assert d[1].target_hash == sha("dest") and d[1].metrics == {"amount": 12.5}
        assert d[0].target_hash is None and d[2].duration_ms is None
        assert d[3].status == "error" and d[3].tags == ["x"] and d[1].status == "ok"
        assert d[0].status == "ok" and d[0].tags is None and d[0].clock_adjusted is False
        assert d[2].parent_event_id == parent and d[2].clock_adjusted is True
        assert (d[2].trace_id, d[2].span_id, d[2].source) == ("ab" * 16, "cd" * 8, "sdk")
        assert d[2].ts == base + timedelta(minutes=6)
        assert d[2].received_at == base + timedelta(hours=1)
        assert all(e.anomaly_score is not None for e in d)
    finally:
        await runtime.stop()
