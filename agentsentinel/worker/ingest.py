"""The event consumer: read owned shards, score, persist idempotently, reply, ack.

Order of effects for one batch (the exactly-once contract):
1. drop events whose agent no longer exists (answered ``rejected``, acked: they can never succeed);
2. score in stream order; the detector learns only from events past its checkpointed position;
3. insert with ON CONFLICT DO NOTHING on the event id, update agent/grant "last seen" columns,
   commit;
4. reply to waiting requests and publish the live feed;
5. ack — with a stateful scorer, once the state that learned from the batch is checkpointed
   (every ``checkpoint_interval_ms``). A crash before 5 redelivers the entries: step 3 makes
   the replay a no-op in the table and step 2 learns each event once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.alerts import triggers as alert_triggers
from agentsentinel.bus.base import Delivery, EventBus, Reply, ShardConsumer
from agentsentinel.db.engine import dialect_insert
from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, AgentEvent, ToolGrant
from agentsentinel.settings import Settings
from agentsentinel.worker.posture import PostureScanner
from agentsentinel.worker.scoring import EventScore, EventScorer, ScoringInput, UnscoredPipeline
from agentsentinel.worker.trust import TrustUpdater

log = logging.getLogger(__name__)

_INLINE_SCORING = 64  # larger batches are scored in a thread
_EVENT_COLUMNS = {c.name for c in AgentEvent.__table__.columns} - {"id", "ts", "anomaly_score"}
# Every row of a multi-row INSERT carries every column: an optional field a payload lacks gets the
# column's own default (or NULL), never a different key set per row.
_EVENT_DEFAULTS = {
    c.name: c.default.arg if c.default is not None and c.default.is_scalar else None
    for c in AgentEvent.__table__.columns
    if c.name in _EVENT_COLUMNS
}


def event_row(payload: dict[str, Any], score: EventScore) -> dict[str, Any]:
    """The ``agent_events`` row of a bus payload."""
    row = {k: payload.get(k, default) for k, default in _EVENT_DEFAULTS.items()}
    row["id"] = uuid.UUID(payload["event_id"])
    row["agent_id"] = uuid.UUID(payload["agent_id"])
    row["ts"] = datetime.fromisoformat(payload["occurred_at"])
    row["received_at"] = datetime.fromisoformat(payload["received_at"])
    if payload.get("parent_event_id"):
        row["parent_event_id"] = uuid.UUID(payload["parent_event_id"])
    row["anomaly_score"] = score.anomaly_score
    row["reasons"] = score.reasons or None
    return row


class EventIngestService:
    """Consumes events from the bus until stopped; one instance per worker process."""

    def __init__(
        self,
        bus: EventBus,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        scorer: EventScorer | None = None,
        consumer_id: str | None = None,
    ) -> None:
        self.bus = bus
        self.sessions = sessions
        self.settings = settings
        self.scorer = scorer or UnscoredPipeline()
        self.consumer: ShardConsumer = bus.consumer(consumer_id)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.processed = 0
        # Deliveries processed but not acked until the scorer's next checkpoint.
        self._held: list[Delivery] = []
        self._held_since = 0.0
        self._next_periodic = time.monotonic() + settings.silence_check_s
        self._owned: frozenset[int] = frozenset()
        self.trust = TrustUpdater(sessions, settings, self.scorer.behavior, bus.shard_count)
        self.posture = PostureScanner(sessions, settings, self.scorer.behavior, bus.shard_count)

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="event-ingest")

    async def stop(self, drain: bool = True) -> None:
        """Finish the batch in hand (with ``drain``, also what is queued), then release."""
        self._drain = drain
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run(self) -> None:
        self._drain = True
        refresh_every = self.settings.lease_ttl_ms / 3000.0
        next_refresh = 0.0
        try:
            while not self._stopping.is_set():
                if time.monotonic() >= next_refresh:
                    await self._refresh_ownership()
                    next_refresh = time.monotonic() + refresh_every
                deliveries = await self._read(block_ms=200)
                if deliveries:
                    await self.process(deliveries)
                await self.checkpoint()
                await self.trust.tick(self._owned)
                await self.posture.tick(self._owned)
                if time.monotonic() >= self._next_periodic:
                    await self._periodic()
            if self._drain:
                # Graceful shutdown: what is already on the bus for our shards is handled now.
                while deliveries := await self._read(block_ms=0):
                    await self.process(deliveries)
            await self.checkpoint(final=True)
            await self.trust.tick(self._owned, force=True)
        finally:
            await self.consumer.release()

    async def _refresh_ownership(self) -> None:
        try:
            owned = await self.consumer.owned_shards()
        except Exception:
            log.warning("shard ownership refresh failed; retrying", exc_info=True)
            return
        # State learned for a lost shard is dropped unsaved and its entries are left unacked:
        # the new owner replays them from the last checkpoint.
        self.scorer.retain(owned, self.bus.shard_count)
        self._owned = owned
        self._held = [d for d in self._held if d.shard in owned]

    async def checkpoint(self, *, final: bool = False) -> None:
        """Save the scorer's state, then ack what it covers (due every checkpoint interval)."""
        if not self._held and not final:
            return
        interval = self.settings.checkpoint_interval_ms / 1000.0
        if not final and time.monotonic() - self._held_since < interval:
            return
        try:
            async with self.sessions() as session, session.begin():
                await self.scorer.checkpoint(session, final=final)
        except Exception:
            log.warning("detector checkpoint failed; entries stay unacked", exc_info=True)
            return
        held, self._held = self._held, []
        if held:
            await self.consumer.ack(held)

    async def _periodic(self) -> None:
        self._next_periodic = time.monotonic() + self.settings.silence_check_s
        try:
            async with self.sessions() as session, session.begin():
                await self.scorer.periodic(session, utcnow())
        except Exception:
            log.warning("periodic behavior checks failed", exc_info=True)

    async def _read(self, block_ms: int) -> list[Delivery]:
        try:
            return await self.consumer.read(self.settings.worker_batch_size, block_ms)
        except Exception:
            log.warning("bus read failed; retrying", exc_info=True)
            await asyncio.sleep(0.5)
            return []

    # Processing --------------------------------------------------------------------------

    async def process(self, deliveries: Sequence[Delivery]) -> None:
        """Handle one batch; failures fall back to one event at a time."""
        try:
            await self._process(deliveries)
        except Exception:
            log.warning("batch of %d failed; retrying one by one", len(deliveries), exc_info=True)
            for delivery in deliveries:
                try:
                    await self._process([delivery])
                except Exception as exc:
                    if delivery.attempts >= self.settings.max_deliveries:
                        log.error("dead-lettering event %s: %s", delivery.message.message_id, exc)
                        await self.consumer.dead_letter(delivery, repr(exc)[:500])
                    else:
                        log.warning(
                            "event %s failed (attempt %d)",
                            delivery.message.message_id,
                            delivery.attempts,
                        )

    async def _process(self, deliveries: Sequence[Delivery]) -> None:
        payloads = [d.message.payload for d in deliveries]
        replies: list[tuple[str, Reply]] = []
        feed: list[dict[str, Any]] = []
        async with self.sessions() as session, session.begin():
            agent_ids = {uuid.UUID(p["agent_id"]) for p in payloads}
            result = await session.execute(
                select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids))
            )
            names = {agent_id: name for agent_id, name in result}
            live = [d for d in deliveries if uuid.UUID(d.message.payload["agent_id"]) in names]
            if len(live) < len(deliveries):
                self.scorer.forget(agent_ids - names.keys())
                self.posture.forget(agent_ids - names.keys())
            for d in deliveries:
                if uuid.UUID(d.message.payload["agent_id"]) not in names and d.message.reply_to:
                    replies.append(
                        (
                            d.message.reply_to,
                            Reply(d.message.message_id, "rejected", error="agent not found"),
                        )
                    )
            items = [ScoringInput(d.message.payload, d.stream_id) for d in live]
            await self.scorer.prepare(session, items)
            if len(items) > _INLINE_SCORING:
                # Keep the event loop (the API, in embedded mode) responsive during long batches.
                scores = await asyncio.to_thread(self.scorer.score_batch, items)
            else:
                scores = self.scorer.score_batch(items)
            rows = [event_row(d.message.payload, s) for d, s in zip(live, scores, strict=True)]
            inserted = await self._insert(session, rows)
            await self._touch_last_seen(session, [r for r in rows if r["id"] in inserted])
            # New rows only: a redelivered event never alerts twice. One call for the batch.
            await alert_triggers.events_stored(
                session,
                [r for r in rows if r["id"] in inserted],
                names,
                self.settings.alert_anomaly_threshold,
            )
            duplicates = {r["id"] for r in rows} - inserted
            stored: dict[uuid.UUID, tuple[float | None, list[dict[str, Any]] | None]] = {}
            if duplicates:
                stored = {
                    i: (s, r)
                    for i, s, r in (
                        await session.execute(
                            select(
                                AgentEvent.id, AgentEvent.anomaly_score, AgentEvent.reasons
                            ).where(AgentEvent.id.in_(duplicates))
                        )
                    )
                }
        self.trust.mark({row["agent_id"] for row in rows if row["id"] in inserted})
        # Ungranted tool use opens UNGRANTED_TOOL_USE without waiting for the periodic scan.
        self.posture.mark(
            {
                row["agent_id"]
                for row in rows
                if row["id"] in inserted
                and (
                    self.scorer.granted(str(row["agent_id"]), row["tool_name"]) is False
                    or any(r.get("signal") == "ungranted_tool" for r in row["reasons"] or ())
                )
            }
        )
        for d, row in zip(live, rows, strict=True):
            event_id = row["id"]
            if event_id in inserted:
                feed.append(_feed_item(row, names[row["agent_id"]]))
                reply = Reply(
                    d.message.message_id, "accepted", row["anomaly_score"], row["reasons"] or []
                )
            else:
                score, reasons = stored.get(event_id, (None, None))
                reply = Reply(d.message.message_id, "duplicate", score, reasons or [])
            if d.message.reply_to:
                replies.append((d.message.reply_to, reply))
        if replies:
            await self.bus.send_replies(replies)
        if feed:
            await self.bus.broadcast_many(feed)
        if self.scorer.stateful:
            if not self._held:
                self._held_since = time.monotonic()
            self._held.extend(deliveries)
        else:
            await self.consumer.ack(deliveries)
        self.processed += len(deliveries)

    async def _insert(self, session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert the batch (duplicates skipped); the ids of the new rows.

        On Postgres one statement also moves the agents' and grants' "last seen" forward (see
        ``_PG_WRITE``), so ``_touch_last_seen`` has nothing left to do there.
        """
        if not rows:
            return set()
        if session.get_bind().dialect.name == "postgresql":
            result = await session.execute(_PG_WRITE, _pg_columns(rows))
            return set(result.scalars().all())
        insert = dialect_insert(session)
        # Core (not ORM) statement: one multi-row INSERT per batch, ids of new rows back.
        stmt = insert(_EVENTS).on_conflict_do_nothing().returning(_EVENTS.c.id)
        result = await session.execute(stmt, rows)
        return set(result.scalars().all())

    async def _touch_last_seen(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """Move "last seen" forward (never back): one executemany per table, not one per row."""
        if session.get_bind().dialect.name == "postgresql":
            return  # done by the INSERT statement itself
        latest_agent: dict[uuid.UUID, datetime] = {}
        latest_tool: dict[tuple[uuid.UUID, str], datetime] = {}
        for row in rows:
            agent_id, ts = row["agent_id"], row["ts"]
            latest_agent[agent_id] = max(ts, latest_agent.get(agent_id, ts))
            key = (agent_id, row["tool_name"])
            latest_tool[key] = max(ts, latest_tool.get(key, ts))
        if latest_agent:
            await session.execute(
                _TOUCH_AGENT, [{"b_id": a, "b_ts": ts} for a, ts in latest_agent.items()]
            )
        if latest_tool:
            await session.execute(
                _TOUCH_GRANT,
                [{"b_id": a, "b_tool": t, "b_ts": ts} for (a, t), ts in latest_tool.items()],
            )


_EVENTS = cast(Table, AgentEvent.__table__)
_AGENTS = cast(Table, Agent.__table__)
_GRANTS = cast(Table, ToolGrant.__table__)
_TOUCH_AGENT = (
    update(_AGENTS)
    .where(_AGENTS.c.id == bindparam("b_id"))
    .where(or_(_AGENTS.c.last_event_at.is_(None), _AGENTS.c.last_event_at < bindparam("b_ts")))
    .values(last_event_at=bindparam("b_ts"), updated_at=_AGENTS.c.updated_at)
)
_TOUCH_GRANT = (
    update(_GRANTS)
    .where(_GRANTS.c.agent_id == bindparam("b_id"), _GRANTS.c.tool_name == bindparam("b_tool"))
    .where(or_(_GRANTS.c.last_called_at.is_(None), _GRANTS.c.last_called_at < bindparam("b_ts")))
    .values(last_called_at=bindparam("b_ts"), updated_at=_GRANTS.c.updated_at)
)


# Postgres: the whole batch in one round trip. Each column travels as one array parameter
# (``unnest``), so the statement text is the same for every batch size and stays prepared; the
# data-modifying CTEs move "last seen" forward from the rows actually inserted (a duplicate never
# touches anything). JSON columns travel as text and are cast.
_PG_DIALECT: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
_PG_TYPES = {c.name: c.type.compile(dialect=_PG_DIALECT) for c in _EVENTS.columns}
_PG_JSON = {name for name, sql_type in _PG_TYPES.items() if sql_type == "JSONB"}
# Arrays are cast to unbounded types: the INSERT's own assignment then rejects an overlong value
# instead of an explicit CAST to VARCHAR(n) silently truncating it.
_PG_ARRAY = {
    name: "TEXT" if name in _PG_JSON or sql_type.startswith("VARCHAR") else sql_type
    for name, sql_type in _PG_TYPES.items()
}
_PG_COLUMNS = tuple(_PG_TYPES)
# Identifiers and types below come from the model, never from input.
_PG_WRITE = text(
    "WITH u AS (SELECT * FROM unnest("  # noqa: S608
    + ", ".join(f"CAST(:{name} AS {_PG_ARRAY[name]}[])" for name in _PG_COLUMNS)
    + ") AS u("
    + ", ".join(_PG_COLUMNS)
    + ")), ins AS (INSERT INTO agent_events ("
    + ", ".join(_PG_COLUMNS)
    + ") SELECT "
    + ", ".join(f"CAST({name} AS JSONB)" if name in _PG_JSON else name for name in _PG_COLUMNS)
    + " FROM u ON CONFLICT DO NOTHING RETURNING id, agent_id, tool_name, ts),"
    " touch_agents AS (UPDATE agents AS a SET last_event_at = m.ts"
    " FROM (SELECT agent_id, max(ts) AS ts FROM ins GROUP BY agent_id) AS m"
    " WHERE a.id = m.agent_id AND (a.last_event_at IS NULL OR a.last_event_at < m.ts)),"
    " touch_grants AS (UPDATE tool_grants AS g SET last_called_at = m.ts"
    " FROM (SELECT agent_id, tool_name, max(ts) AS ts FROM ins GROUP BY agent_id, tool_name) AS m"
    " WHERE g.agent_id = m.agent_id AND g.tool_name = m.tool_name"
    " AND (g.last_called_at IS NULL OR g.last_called_at < m.ts))"
    " SELECT id FROM ins"
).columns(id=_EVENTS.c.id.type)


def _pg_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The batch as one list per column (JSON values serialised), for ``_PG_WRITE``."""
    out: dict[str, list[Any]] = {}
    for name in _PG_COLUMNS:
        values = [row.get(name) for row in rows]
        if name in _PG_JSON:
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        out[name] = values
    return out


def _feed_item(row: dict[str, Any], agent_name: str) -> dict[str, Any]:
    return {
        "type": "event",
        "event_id": str(row["id"]),
        "agent_id": str(row["agent_id"]),
        "agent_name": agent_name,
        "tool_name": row["tool_name"],
        "anomaly_score": row["anomaly_score"],
        "reasons": row["reasons"] or [],
        "duration_ms": row.get("duration_ms"),
        "session_id": row.get("session_id"),
        "status": row.get("status", "ok"),
        "timestamp": row["ts"].isoformat(),
    }
