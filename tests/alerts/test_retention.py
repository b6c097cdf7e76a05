"""Retention of the outbox on both storage modes, time driven through ``now`` (no sleeps).

Finished rows (sent, failed, suppressed) older than ``alert_retention_days`` go, in batches;
pending rows, the current throttle window and suppressed rows awaiting their digest stay.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.alerts import dispatcher as dispatcher_module
from agentsentinel.alerts.dispatcher import AlertDispatcher
from agentsentinel.alerts.outbox import (
    DIGEST_TRIGGER,
    ROUTING_KEY,
    AlertDraft,
    AlertRouting,
    delete_expired,
    enqueue_many,
    retention_cutoff,
    suppressed_count,
)
from agentsentinel.db.engine import create_engine, create_session_factory
from agentsentinel.models import Agent, Alert
from agentsentinel.settings import Settings
from tests.alerts.conftest import with_alerts

DAY = timedelta(days=1)
WEEK_S = 7 * 86400
# The start of a 7-day throttle window (windows are aligned on the epoch).
T0 = datetime.fromtimestamp(
    int(datetime(2030, 3, 1, tzinfo=UTC).timestamp()) // WEEK_S * WEEK_S, UTC
)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.resolved_database_url())
    yield create_session_factory(engine)
    await engine.dispose()


def _dispatcher(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, **changes: object
) -> AlertDispatcher:
    configured = with_alerts(settings, **changes)
    sessions.configure(info={ROUTING_KEY: AlertRouting.from_settings(configured)})
    return AlertDispatcher(sessions, configured)


async def _agent(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with sessions() as session, session.begin():
        agent = Agent(name=f"bot-{uuid.uuid4().hex[:6]}")
        session.add(agent)
        await session.flush()
        return agent.id


async def _add(
    sessions: async_sessionmaker[AsyncSession],
    status: str,
    created: datetime,
    *,
    touched: datetime | None = None,
    agent_id: uuid.UUID | None = None,
    trigger: str = "critical_finding",
) -> uuid.UUID:
    row = Alert(
        id=uuid.uuid4(),
        channel="log",
        destination="",
        dedup_key=f"test:{uuid.uuid4()}",
        trigger=trigger,
        agent_id=agent_id,
        payload={},
        status=status,
        attempts=0 if status in ("pending", "suppressed") else 1,
        next_attempt_at=touched or created,
        created_at=created,
    )
    async with sessions() as session, session.begin():
        session.add(row)
    return row.id


async def _ids(sessions: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessions() as session:
        return set((await session.execute(select(Alert.id))).scalars())


async def test_deletes_finished_rows_past_retention_never_pending(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dispatcher = _dispatcher(sessions, settings, alert_retention_days=30)
    try:
        now = T0 + 100 * DAY
        old = now - 31 * DAY
        gone = {
            await _add(sessions, "sent", old),
            await _add(sessions, "failed", old),
            await _add(sessions, "suppressed", old),
        }
        kept = {
            await _add(sessions, "pending", now - 365 * DAY),  # never, however old
            await _add(sessions, "sent", now - 29 * DAY),
            await _add(sessions, "failed", now - 29 * DAY),
            await _add(sessions, "suppressed", now - 29 * DAY),
            # Created long ago, but its last attempt is recent: retention counts from that.
            await _add(sessions, "failed", old, touched=now - DAY),
        }
        assert await dispatcher.prune(now) == 3
        assert await _ids(sessions) == kept
        assert await dispatcher.prune(now) == 0
        # Thirty days after their last touch, the rest follow; the pending row stays.
        assert await dispatcher.prune(now + 2 * DAY) == 3
        assert await dispatcher.prune(now + 30 * DAY) == 1
        remaining = await _ids(sessions)
        assert len(remaining) == 1 and remaining < kept and not gone & remaining
    finally:
        await dispatcher.stop()


async def test_a_delivered_alert_goes_after_the_retention_period(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dispatcher = _dispatcher(sessions, settings, alert_retention_days=7)
    try:
        draft = AlertDraft("critical_finding", None, "finding:abc:1", {"message": "m"})
        async with sessions() as session, session.begin():
            assert await enqueue_many(session, [draft], now=T0) == 1
        assert await dispatcher.run_once(T0) == 1
        assert await dispatcher.prune(T0 + 6 * DAY) == 0
        # Within retention the row still deduplicates a replay of the same occurrence.
        async with sessions() as session, session.begin():
            assert await enqueue_many(session, [draft], now=T0 + 6 * DAY) == 0
        assert await dispatcher.prune(T0 + 8 * DAY) == 1
        assert await _ids(sessions) == set()
    finally:
        await dispatcher.stop()


async def test_batches_and_at_most_once_a_minute(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher_module, "PRUNE_BATCH", 3)
    dispatcher = _dispatcher(sessions, settings, alert_retention_days=1)
    try:
        now = T0 + 10 * DAY
        for _ in range(7):
            await _add(sessions, "sent", now - 2 * DAY)
        async with sessions() as session, session.begin():
            assert await delete_expired(session, now - DAY, limit=2) == 2
        assert await dispatcher.prune_if_due(now) == 5  # statements of 3 and 2 rows
        assert await _ids(sessions) == set()
        await _add(sessions, "sent", now - 2 * DAY)
        assert await dispatcher.prune_if_due(now + timedelta(seconds=59)) is None
        assert len(await _ids(sessions)) == 1
        assert await dispatcher.prune_if_due(now + timedelta(seconds=60)) == 1
    finally:
        await dispatcher.stop()


async def test_keeps_the_current_throttle_window(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A 7-day window with a 1-day retention: the window's rows still count towards the limit."""
    agent = await _agent(sessions)
    dispatcher = _dispatcher(
        sessions,
        settings,
        alert_retention_days=1,
        alert_agent_window_s=WEEK_S,
        alert_agent_limit=2,
    )
    assert retention_cutoff(T0 + 3 * DAY, 1, WEEK_S) == T0
    assert retention_cutoff(T0 + 3 * DAY, 1, 3600) == T0 + 2 * DAY
    try:
        before = await _add(sessions, "sent", T0 - DAY, agent_id=agent)  # previous window

        def draft(n: int) -> AlertDraft:
            return AlertDraft("anomalous_event", agent, f"event:{n}", {"message": str(n)})

        async with sessions() as session, session.begin():
            await enqueue_many(session, [draft(1), draft(2)], now=T0 + DAY)
        assert await dispatcher.run_once(T0 + DAY) == 2
        assert await dispatcher.prune(T0 + 4 * DAY) == 1
        remaining = await _ids(sessions)
        assert before not in remaining and len(remaining) == 2
        # The limit of this window is used up: the next alert is still held back.
        async with sessions() as session, session.begin():
            await enqueue_many(session, [draft(3)], now=T0 + 4 * DAY)
            statuses = (
                await session.execute(select(Alert.status).where(Alert.dedup_key == "event:3"))
            ).scalar_one()
        assert statuses == "suppressed"
    finally:
        await dispatcher.stop()


async def test_suppressed_rows_wait_for_their_digest(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    agent = await _agent(sessions)
    dispatcher = _dispatcher(
        sessions, settings, alert_retention_days=1, alert_agent_window_s=3600, alert_agent_limit=1
    )
    try:
        drafts = [
            AlertDraft("anomalous_event", agent, f"event:{n}", {"message": str(n)})
            for n in range(3)
        ]
        async with sessions() as session, session.begin():
            await enqueue_many(session, drafts, now=T0)
        assert await dispatcher.run_once(T0) == 1  # the digest is due when the window ends
        # Days later the digest is still pending (say its dispatcher was down): the rows it
        # counts stay; the sent alert goes.
        later = T0 + 3 * DAY
        assert await dispatcher.prune(later) == 1
        async with sessions() as session:
            digest = (
                await session.execute(select(Alert).where(Alert.trigger == DIGEST_TRIGGER))
            ).scalar_one()
            assert digest.status == "pending"
            assert await suppressed_count(session, digest) == 2
        assert await dispatcher.run_once(later) == 1
        async with sessions() as session:
            sent = await session.get(Alert, digest.id)
            assert sent is not None and sent.status == "sent"
            assert sent.payload["suppressed"] == 2 and sent.payload["message"].startswith("2 more")
        # Once it is sent, the suppressed rows and (after its own retention) the digest go.
        assert await dispatcher.prune(later + timedelta(hours=1)) == 2
        assert await dispatcher.prune(later + 2 * DAY) == 1
        assert await _ids(sessions) == set()
    finally:
        await dispatcher.stop()


def test_retention_setting() -> None:
    assert Settings(secret_key="s" * 40).alert_retention_days == 30
    with pytest.raises(ValueError):
        Settings(secret_key="s" * 40, alert_retention_days=0)
