"""The dispatcher over real HTTP to a local receiver, on both storage modes.

Time is driven through the dispatcher's ``now`` (no sleeps): retries, backoff and Retry-After are
read from the rows it writes.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.alerts.dispatcher import AlertDispatcher
from agentsentinel.alerts.outbox import ROUTING_KEY, AlertDraft, AlertRouting, enqueue, enqueue_many
from agentsentinel.alerts.signing import DELIVERY_HEADER, EVENT_HEADER, verify_signature
from agentsentinel.db.engine import create_engine, create_session_factory
from agentsentinel.db.types import utcnow
from agentsentinel.models import Alert
from agentsentinel.settings import Settings
from tests.alerts.conftest import Received, Receiver, with_alerts

SECRET = "webhook-secret-" + "z" * 32
SLACK_URL = "https://hooks.slack.com/services/T0/B0/secret-token"


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.resolved_database_url())
    yield create_session_factory(engine)
    await engine.dispose()


def _configure(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, **changes: object
) -> Settings:
    configured = with_alerts(settings, alert_webhook_secret=SECRET, **changes)
    sessions.configure(info={ROUTING_KEY: AlertRouting.from_settings(configured)})
    return configured


async def _enqueue(sessions: async_sessionmaker[AsyncSession], key: str = "k1") -> None:
    async with sessions() as session, session.begin():
        await enqueue(
            session,
            trigger="critical_finding",
            agent_id=None,
            dedup_key=key,
            payload={"severity": "CRITICAL", "message": "boom", "agent_name": "bot"},
        )


async def _rows(sessions: async_sessionmaker[AsyncSession], channel: str) -> list[Alert]:
    async with sessions() as session:
        rows = await session.execute(select(Alert).where(Alert.channel == channel))
        return list(rows.scalars())


async def test_retries_with_growing_backoff_until_delivered(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    cfg = _configure(sessions, settings, alert_webhook_urls=[receiver.url], alert_backoff_s=2.0)
    await _enqueue(sessions)
    receiver.answer(500, 500)
    dispatcher = AlertDispatcher(sessions, cfg, rng=random.Random(7))
    try:
        now = utcnow()
        delays = []
        for _ in range(2):
            await dispatcher.run_once(now)
            (row,) = await _rows(sessions, "webhook")
            assert row.status == "pending" and row.last_error == "HTTP 500"
            delays.append((row.next_attempt_at - now).total_seconds())
            # Not due yet: nothing is sent before the backoff has passed.
            before = len(receiver.requests)
            await dispatcher.run_once(now + timedelta(seconds=delays[-1] - 0.5))
            assert len(receiver.requests) == before
            now = row.next_attempt_at
        assert 2.0 <= delays[0] <= 2.5 and 4.0 <= delays[1] <= 5.0
        await dispatcher.run_once(now)
    finally:
        await dispatcher.stop()
    (row,) = await _rows(sessions, "webhook")
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert row.sent_at is not None
    assert len(receiver.requests) == 3
    # Every attempt is signed over its own timestamp and carries the same delivery id.
    assert {r.headers[DELIVERY_HEADER] for r in receiver.requests} == {str(row.id)}
    for request in receiver.requests:
        assert request.headers[EVENT_HEADER] == "critical_finding"
        assert verify_signature(
            SECRET,
            request.body,
            request.headers["X-AgentSentinel-Signature"],
            now=int(request.headers["X-AgentSentinel-Signature"][2:12]),
        )
        assert not verify_signature(
            "x" * 40,
            request.body,
            request.headers.get("X-AgentSentinel-Signature"),
            tolerance_s=10**10,
        )
    body = receiver.requests[-1].json()
    assert body["event"] == "critical_finding" and body["dedup_key"] == "k1"
    # The log channel delivered the same alert once, first time.
    (logged,) = await _rows(sessions, "log")
    assert (logged.status, logged.attempts) == ("sent", 1)


async def test_gives_up_after_max_attempts(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    cfg = _configure(sessions, settings, alert_webhook_urls=[receiver.url], alert_max_attempts=2)
    await _enqueue(sessions)
    receiver.answer(503, 503, 503)
    dispatcher = AlertDispatcher(sessions, cfg)
    try:
        now = utcnow()
        await dispatcher.run_once(now)
        await dispatcher.run_once(now + timedelta(hours=2))
        assert await dispatcher.run_once(now + timedelta(hours=4)) == 0
    finally:
        await dispatcher.stop()
    (row,) = await _rows(sessions, "webhook")
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "HTTP 503")
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_client_errors_fail_at_once(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    status: int,
) -> None:
    cfg = _configure(sessions, settings, alert_webhook_urls=[receiver.url])
    await _enqueue(sessions)
    receiver.answer(status)
    dispatcher = AlertDispatcher(sessions, cfg)
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    (row,) = await _rows(sessions, "webhook")
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, f"HTTP {status}")


async def test_429_honours_retry_after_and_408_retries(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    cfg = _configure(sessions, settings, alert_webhook_urls=[receiver.url], alert_backoff_s=1.0)
    await _enqueue(sessions)
    receiver.answer(429, headers={"Retry-After": "120"})
    receiver.answer(408)
    dispatcher = AlertDispatcher(sessions, cfg)
    try:
        now = utcnow()
        await dispatcher.run_once(now)
        (row,) = await _rows(sessions, "webhook")
        assert row.status == "pending" and row.last_error == "HTTP 429"
        assert (row.next_attempt_at - now).total_seconds() == pytest.approx(120, abs=1)
        assert await dispatcher.run_once(now + timedelta(seconds=119)) == 0
        await dispatcher.run_once(now + timedelta(seconds=121))
        (row,) = await _rows(sessions, "webhook")
        assert (row.status, row.attempts, row.last_error) == ("pending", 2, "HTTP 408")
    finally:
        await dispatcher.stop()


async def test_connection_errors_retry_without_leaking_the_url(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook?token=SECRET"
    cfg = _configure(sessions, settings, alert_webhook_urls=[url])
    await _enqueue(sessions)
    dispatcher = AlertDispatcher(sessions, cfg)
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    (row,) = await _rows(sessions, "webhook")
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "ConnectError"
    assert "SECRET" not in row.destination


async def test_slack_delivery_over_real_http(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    """The client posts to hooks.slack.com; the transport sends it to the local fake Slack."""
    local = httpx.URL(receiver.url)

    class ToLocalSlack(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            assert request.url.host == "hooks.slack.com" and request.url.scheme == "https"
            request.url = request.url.copy_with(scheme="http", host=local.host, port=local.port)
            return await super().handle_async_request(request)

    cfg = _configure(sessions, settings, alert_slack_webhook_url=SLACK_URL)
    await _enqueue(sessions)
    dispatcher = AlertDispatcher(sessions, cfg, transport=ToLocalSlack())
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    (request,) = receiver.requests
    assert request.path == "/services/T0/B0/secret-token"
    body = request.json()
    assert "boom" in body["text"] and "CRITICAL" in body["text"]
    assert body["blocks"][0]["type"] == "section" and "bot" in body["blocks"][0]["text"]["text"]
    (row,) = await _rows(sessions, "slack")
    assert row.status == "sent"
    assert "secret-token" not in row.destination and row.destination.startswith("hooks.slack.com#")


async def test_no_database_lock_is_held_while_sending(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    """The receiver itself writes the row being delivered; a held lock would make it time out."""
    url = make_url(settings.resolved_database_url())
    outcomes: list[str] = []

    def write_same_row(item: Received) -> None:
        alert_id = item.headers[DELIVERY_HEADER]
        try:
            if url.get_backend_name() == "sqlite":
                conn = sqlite3.connect(str(url.database), timeout=2.0)
                try:
                    conn.execute(
                        "UPDATE alerts SET last_error = 'receiver' WHERE id = ?",
                        (uuid.UUID(alert_id).hex,),
                    )
                    conn.commit()
                finally:
                    conn.close()
            else:
                asyncio.run(_pg_write(url.set(drivername="postgresql"), alert_id))
            outcomes.append("written")
        except Exception as exc:  # reported to the test below
            outcomes.append(repr(exc))

    receiver.on_request = write_same_row
    cfg = _configure(sessions, settings, alert_webhook_urls=[receiver.url])
    await _enqueue(sessions)
    dispatcher = AlertDispatcher(sessions, cfg)
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    assert outcomes == ["written"]
    (row,) = await _rows(sessions, "webhook")
    assert row.status == "sent"


async def _pg_write(url: object, alert_id: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(str(url).replace("postgresql://", "postgresql://", 1))
    try:
        await conn.execute("SET lock_timeout = '2s'")
        await conn.execute(
            "UPDATE alerts SET last_error = 'receiver' WHERE id = $1", uuid.UUID(alert_id)
        )
    finally:
        await conn.close()


async def test_two_dispatchers_never_send_the_same_row(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    cfg = _configure(sessions, settings, alert_webhook_urls=[receiver.url])
    for n in range(30):
        await _enqueue(sessions, f"k{n}")
    first, second = AlertDispatcher(sessions, cfg), AlertDispatcher(sessions, cfg)
    try:
        now = utcnow()
        await asyncio.gather(first.run_once(now), second.run_once(now))
    finally:
        await first.stop()
        await second.stop()
    ids = [r.headers[DELIVERY_HEADER] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 30
    assert {r.status for r in await _rows(sessions, "webhook")} == {"sent"}


async def test_replayed_triggers_do_not_use_up_the_agent_limit(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from agentsentinel.models import Agent

    _configure(sessions, settings, alert_agent_limit=3)
    async with sessions() as session, session.begin():
        agent = Agent(name="replay-bot")
        session.add(agent)
    drafts = [AlertDraft("anomalous_event", agent.id, f"event:{n}", {}) for n in range(3)]
    for _ in range(3):  # the same three occurrences, replayed: all sent, nothing suppressed
        async with sessions() as session, session.begin():
            await enqueue_many(session, drafts)
    async with sessions() as session, session.begin():
        extra = [AlertDraft("anomalous_event", agent.id, f"event:{n}", {}) for n in range(3, 5)]
        assert await enqueue_many(session, extra) == 2 + 1  # two suppressed, one digest
    rows = await _rows(sessions, "log")
    statuses = sorted((r.dedup_key, r.status) for r in rows)
    assert statuses == [
        (f"digest:{agent.id}:{statuses[0][0].rsplit(':', 1)[1]}", "pending"),
        ("event:0", "pending"),
        ("event:1", "pending"),
        ("event:2", "pending"),
        ("event:3", "suppressed"),
        ("event:4", "suppressed"),
    ]
