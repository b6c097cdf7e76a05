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
import gc
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import String, Table, bindparam, or_, select, text, update
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


def freeze_startup_objects() -> None:
    """Keep what start-up allocated (modules, settings, pools) out of the collector's walks.

    The worker allocates a few dicts per event, which regularly sets off full collections; without
    this each of them also walks every object created at start-up. Frozen objects are never
    freed: call it once per worker process, after start-up.
    """
    gc.collect()
    gc.freeze()


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
        replies: list[tuple[str, Reply]] = []
        feed: list[dict[str, Any]] = []
        threshold = self.settings.alert_anomaly_threshold
        async with self.sessions() as session, session.begin():
            # Agent ids travel as text; each distinct one is parsed once per batch.
            agent_uuid: dict[str, uuid.UUID] = {}
            for d in deliveries:
                text_id = d.message.payload["agent_id"]
                if text_id not in agent_uuid:
                    agent_uuid[text_id] = uuid.UUID(text_id)
            result = await session.execute(
                select(Agent.id, Agent.name).where(Agent.id.in_(set(agent_uuid.values())))
            )
            names = {agent_id: name for agent_id, name in result}
            live = [d for d in deliveries if agent_uuid[d.message.payload["agent_id"]] in names]
            if len(live) < len(deliveries):
                gone = set(agent_uuid.values()) - names.keys()
                self.scorer.forget(gone)
                self.posture.forget(gone)
                replies.extend(
                    (
                        d.message.reply_to,
                        Reply(d.message.message_id, "rejected", error="agent not found"),
                    )
                    for d in deliveries
                    if d.message.reply_to and agent_uuid[d.message.payload["agent_id"]] not in names
                )
            items = [ScoringInput(d.message.payload, d.stream_id) for d in live]
            await self.scorer.prepare(session, items)
            if len(items) > _INLINE_SCORING:
                # Keep the event loop (the API, in embedded mode) responsive during long batches.
                scores = await asyncio.to_thread(self.scorer.score_batch, items)
            else:
                scores = self.scorer.score_batch(items)
            event_ids = [_canonical_id(d.message.payload["event_id"]) for d in live]
            inserted = await self._insert(session, live, scores, event_ids)
            # New rows only: a redelivered event never alerts twice. One call for the batch, with
            # the rows that can alert (a score over the threshold, or a reason such as an
            # ungranted tool); the others need no row built for them.
            await alert_triggers.events_stored(
                session,
                [
                    event_row(d.message.payload, s)
                    for d, s, event_id in zip(live, scores, event_ids, strict=True)
                    if event_id in inserted
                    and (
                        s.reasons or (s.anomaly_score is not None and s.anomaly_score >= threshold)
                    )
                ],
                names,
                threshold,
            )
            duplicates = [event_id for event_id in event_ids if event_id not in inserted]
            stored: dict[str, tuple[float | None, list[dict[str, Any]] | None]] = {}
            if duplicates:
                stored = {
                    str(i): (s, r)
                    for i, s, r in (
                        await session.execute(
                            select(
                                AgentEvent.id, AgentEvent.anomaly_score, AgentEvent.reasons
                            ).where(AgentEvent.id.in_({uuid.UUID(e) for e in duplicates}))
                        )
                    )
                }
        touched: set[uuid.UUID] = set()
        ungranted: set[uuid.UUID] = set()
        granted = self.scorer.granted
        for d, score, event_id in zip(live, scores, event_ids, strict=True):
            payload = d.message.payload
            reply_to = d.message.reply_to
            if event_id in inserted:
                agent_text = payload["agent_id"]
                agent_id = agent_uuid[agent_text]
                touched.add(agent_id)
                # Ungranted tool use opens UNGRANTED_TOOL_USE without waiting for the periodic
                # scan.
                if agent_id not in ungranted and (
                    granted(agent_text, payload["tool_name"]) is False
                    or any(r.get("signal") == "ungranted_tool" for r in score.reasons)
                ):
                    ungranted.add(agent_id)
                feed.append(_feed_item(payload, event_id, score, names[agent_id]))
                if reply_to:
                    replies.append(
                        (
                            reply_to,
                            Reply(
                                d.message.message_id,
                                "accepted",
                                score.anomaly_score,
                                score.reasons or [],
                            ),
                        )
                    )
            elif reply_to:
                stored_score, reasons = stored.get(event_id, (None, None))
                replies.append(
                    (
                        reply_to,
                        Reply(d.message.message_id, "duplicate", stored_score, reasons or []),
                    )
                )
        self.trust.mark(touched)
        self.posture.mark(ungranted)
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

    async def _insert(
        self,
        session: AsyncSession,
        live: Sequence[Delivery],
        scores: Sequence[EventScore],
        event_ids: Sequence[str],
    ) -> set[str]:
        """Insert the batch (duplicates skipped); the ids (canonical text) of the new rows.

        Postgres: the batch travels as one JSON array, the payloads as they came off the bus
        plus their scores, and one statement inserts it and moves the agents' and grants'
        "last seen" forward (see ``_PG_WRITE``). Other databases: one multi-row INSERT, then
        ``_touch_last_seen``.
        """
        if not live:
            return set()
        if session.get_bind().dialect.name == "postgresql":
            batch = [
                {
                    **d.message.payload,
                    "anomaly_score": s.anomaly_score,
                    "reasons": s.reasons or None,
                }
                for d, s in zip(live, scores, strict=True)
            ]
            result = await session.execute(_PG_WRITE, {"batch": orjson.dumps(batch).decode()})
            return set(result.scalars().all())
        rows = [event_row(d.message.payload, s) for d, s in zip(live, scores, strict=True)]
        insert = dialect_insert(session)
        # Core (not ORM) statement: one multi-row INSERT per batch, ids of new rows back.
        stmt = insert(_EVENTS).on_conflict_do_nothing().returning(_EVENTS.c.id)
        result = await session.execute(stmt, rows)
        inserted = {str(i) for i in result.scalars().all()}
        await self._touch_last_seen(
            session,
            [r for r, event_id in zip(rows, event_ids, strict=True) if event_id in inserted],
        )
        return inserted

    async def _touch_last_seen(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """Move "last seen" forward (never back): one executemany per table, not one per row."""
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


# Postgres: the whole batch in one round trip, as one JSON array parameter. ``json_to_recordset``
# reads the bus payloads as they are (``event_id`` is the row's ``id``, ``occurred_at`` its
# ``ts``; other keys are ignored) and Postgres parses uuids, timestamps and numbers itself, so the
# worker builds no per-column Python objects; the statement text never changes and stays
# prepared. The data-modifying CTEs move "last seen" forward from the rows actually inserted (a
# duplicate never touches anything).
_PG_DIALECT: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
_PG_TYPES = {c.name: c.type.compile(dialect=_PG_DIALECT) for c in _EVENTS.columns}
_PG_COLUMNS = tuple(_PG_TYPES)
_PG_SOURCE = {"id": "event_id", "ts": "occurred_at"}  # column -> payload key, where they differ
# Strings are read as unbounded TEXT: the INSERT's own assignment then rejects an overlong value
# instead of a cast to VARCHAR(n) silently truncating it.
_PG_RECORD = {
    name: "TEXT" if sql_type.startswith("VARCHAR") else sql_type
    for name, sql_type in _PG_TYPES.items()
}


def _pg_literal(value: Any) -> str:
    """SQL literal of a column default from the model (never from input)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _pg_select(name: str) -> str:
    """The value inserted into ``name``: the payload's, else the column's default."""
    source = _PG_SOURCE.get(name, name)
    default = _EVENT_DEFAULTS.get(name)
    return source if default is None else f"COALESCE({source}, {_pg_literal(default)})"


# Identifiers, types and defaults below come from the model, never from input.
_PG_WRITE = text(
    "WITH u AS (SELECT * FROM json_to_recordset(CAST(CAST(:batch AS TEXT) AS JSON)) AS u("  # noqa: S608
    + ", ".join(f"{_PG_SOURCE.get(name, name)} {_PG_RECORD[name]}" for name in _PG_COLUMNS)
    + ")), ins AS (INSERT INTO agent_events ("
    + ", ".join(_PG_COLUMNS)
    + ") SELECT "
    + ", ".join(_pg_select(name) for name in _PG_COLUMNS)
    + " FROM u ON CONFLICT DO NOTHING RETURNING id, agent_id, tool_name, ts),"
    " touch_agents AS (UPDATE agents AS a SET last_event_at = m.ts"
    " FROM (SELECT agent_id, max(ts) AS ts FROM ins GROUP BY agent_id) AS m"
    " WHERE a.id = m.agent_id AND (a.last_event_at IS NULL OR a.last_event_at < m.ts)),"
    " touch_grants AS (UPDATE tool_grants AS g SET last_called_at = m.ts"
    " FROM (SELECT agent_id, tool_name, max(ts) AS ts FROM ins GROUP BY agent_id, tool_name) AS m"
    " WHERE g.agent_id = m.agent_id AND g.tool_name = m.tool_name"
    " AND (g.last_called_at IS NULL OR g.last_called_at < m.ts))"
    " SELECT CAST(id AS TEXT) FROM ins"
).columns(id=String())


def _canonical_id(value: str) -> str:
    """The canonical text form of a UUID (what Postgres returns); the API already sends that."""
    if len(value) == 36 and value == value.lower():
        return value
    return str(uuid.UUID(value))


def _feed_item(
    payload: dict[str, Any], event_id: str, score: EventScore, agent_name: str
) -> dict[str, Any]:
    return {
        "type": "event",
        "event_id": event_id,
        "agent_id": payload["agent_id"],
        "agent_name": agent_name,
        "tool_name": payload["tool_name"],
        "anomaly_score": score.anomaly_score,
        "reasons": score.reasons or [],
        "duration_ms": payload.get("duration_ms"),
        "session_id": payload.get("session_id"),
        "status": payload.get("status", "ok"),
        "timestamp": payload["occurred_at"],
    }
