"""The alert outbox: rows written in the caller's transaction, one per configured channel.

An alert exists iff the change that triggered it committed. ``(channel, destination, dedup_key)``
is unique and inserted with ON CONFLICT DO NOTHING, so a replayed trigger never alerts twice.
Per agent and channel at most ``agent_limit`` alerts are sent per fixed window of ``window_s``
seconds; the excess is stored with status ``suppressed`` (kept, listed, never sent) and one
``suppressed_digest`` row per agent, channel and window, due when the window ends, reports how
many were held back.

Finished rows (``sent``, ``failed``, ``suppressed``) are deleted after the retention period by
``delete_expired`` (the dispatcher calls it); ``pending`` rows never are. Its docstring says why
dedup and the throttle do not need the deleted rows.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agentsentinel.alerts.urls import destination_id
from agentsentinel.db.engine import dialect_insert
from agentsentinel.db.types import utcnow
from agentsentinel.models import Alert
from agentsentinel.settings import Settings

ROUTING_KEY = "agentsentinel.alerts"  # key of the routing in ``session.info``
DIGEST_TRIGGER = "suppressed_digest"
LOG_CHANNEL, SLACK_CHANNEL, WEBHOOK_CHANNEL = "log", "slack", "webhook"
STATUSES = ("pending", "sent", "failed", "suppressed")
FINISHED = ("sent", "failed", "suppressed")  # what retention may delete
PRUNE_BATCH = 1000  # rows per DELETE statement
_ALERTS = cast(Table, Alert.__table__)


@dataclass(frozen=True)
class Route:
    channel: str
    destination: str  # non-secret id of the URL ("" for the log)
    url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AlertRouting:
    """Where alerts go and how many per agent; sessions of a ``Runtime`` carry one."""

    routes: tuple[Route, ...] = (Route(LOG_CHANNEL, ""),)
    agent_limit: int = 20
    window_s: int = 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertRouting:
        routes = [Route(LOG_CHANNEL, "")]
        if settings.alert_slack_webhook_url is not None:
            url = settings.alert_slack_webhook_url.get_secret_value()
            routes.append(Route(SLACK_CHANNEL, destination_id(url), url))
        for url in settings.alert_webhook_urls:
            routes.append(Route(WEBHOOK_CHANNEL, destination_id(url), url))
        return cls(tuple(routes), settings.alert_agent_limit, settings.alert_agent_window_s)

    def url_of(self, channel: str, destination: str) -> str | None:
        for route in self.routes:
            if route.channel == channel and route.destination == destination:
                return route.url
        return None


def routing_of(session: AsyncSession) -> AlertRouting:
    """The session's routing; a session not made by a ``Runtime`` alerts to the log only."""
    routing = session.info.get(ROUTING_KEY)
    return routing if isinstance(routing, AlertRouting) else AlertRouting()


@dataclass(frozen=True)
class AlertDraft:
    trigger: str
    agent_id: uuid.UUID | None
    dedup_key: str
    payload: dict[str, Any]


def _window(now: datetime, window_s: int) -> tuple[datetime, datetime]:
    start = int(now.timestamp()) // window_s * window_s
    begin = datetime.fromtimestamp(start, UTC)
    return begin, begin + timedelta(seconds=window_s)


def _lock_key(agent_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(f"alerts:{agent_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def enqueue(
    session: AsyncSession,
    *,
    trigger: str,
    agent_id: uuid.UUID | None,
    dedup_key: str,
    payload: dict[str, Any],
) -> int:
    """Write the alert for every configured channel; returns the rows inserted."""
    return await enqueue_many(session, [AlertDraft(trigger, agent_id, dedup_key, payload)])


async def enqueue_many(
    session: AsyncSession, drafts: Sequence[AlertDraft], *, now: datetime | None = None
) -> int:
    """Batched ``enqueue``: a fixed number of statements whatever the number of drafts."""
    if not drafts:
        return 0
    routing = routing_of(session)
    now = now or utcnow()
    start, end = _window(now, routing.window_s)
    agent_ids = sorted({d.agent_id for d in drafts if d.agent_id is not None})
    if agent_ids and session.get_bind().dialect.name == "postgresql":
        # Serialise the count-then-insert of one agent's alerts across processes (SQLite has
        # a single writer already). Sorted keys: two batches never wait on each other in a cycle.
        for agent_id in agent_ids:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(agent_id)}
            )
    keys = {d.dedup_key for d in drafts}
    found = await session.execute(
        select(Alert.channel, Alert.destination, Alert.dedup_key).where(Alert.dedup_key.in_(keys))
    )
    existing = {(channel, destination, key) for channel, destination, key in found}
    counts: dict[tuple[str, str, uuid.UUID], int] = {}
    if agent_ids:
        rows = await session.execute(
            select(Alert.channel, Alert.destination, Alert.agent_id, func.count())
            .where(
                Alert.agent_id.in_(agent_ids),
                Alert.created_at >= start,
                Alert.status != "suppressed",
                Alert.trigger != DIGEST_TRIGGER,
            )
            .group_by(Alert.channel, Alert.destination, Alert.agent_id)
        )
        counts = {(c, d, a): n for c, d, a, n in rows if a is not None}
    values: list[dict[str, Any]] = []
    digests: dict[tuple[str, str, uuid.UUID], dict[str, Any]] = {}
    seen: set[tuple[str, str, str]] = set()
    for draft in drafts:
        for route in routing.routes:
            ident = (route.channel, route.destination, draft.dedup_key)
            if ident in existing or ident in seen:
                continue
            seen.add(ident)
            status = "pending"
            if draft.agent_id is not None:
                bucket = (route.channel, route.destination, draft.agent_id)
                sent = counts.get(bucket, 0)
                if sent >= routing.agent_limit:
                    status = "suppressed"
                    digests.setdefault(bucket, _digest_row(route, draft, start, end, now))
                counts[bucket] = sent + 1
            values.append(
                _row(route, draft.trigger, draft.agent_id, draft.dedup_key, draft.payload)
                | {"status": status, "next_attempt_at": now, "created_at": now}
            )
    values.extend(digests.values())
    if not values:
        return 0
    insert = dialect_insert(session)
    stmt = insert(_ALERTS).on_conflict_do_nothing().returning(_ALERTS.c.id)
    result = await session.execute(stmt, values)
    return len(result.scalars().all())


def _row(
    route: Route, trigger: str, agent_id: uuid.UUID | None, dedup_key: str, payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "channel": route.channel,
        "destination": route.destination,
        "dedup_key": dedup_key,
        "trigger": trigger,
        "agent_id": agent_id,
        "payload": payload,
        "attempts": 0,
        "last_error": None,
        "sent_at": None,
    }


def _digest_row(
    route: Route, draft: AlertDraft, start: datetime, end: datetime, now: datetime
) -> dict[str, Any]:
    """The one "N more alerts suppressed" row of a window, due when the window closes."""
    payload = {
        "trigger": DIGEST_TRIGGER,
        "severity": "INFO",
        "agent_id": str(draft.agent_id),
        "agent_name": draft.payload.get("agent_name"),
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
    }
    key = f"digest:{draft.agent_id}:{int(start.timestamp())}"
    return _row(route, DIGEST_TRIGGER, draft.agent_id, key, payload) | {
        "status": "pending",
        "next_attempt_at": end,
        "created_at": now,
    }


async def suppressed_count(session: AsyncSession, digest: Alert) -> int:
    """How many alerts the digest row stands for (counted when it is sent: nothing is lost)."""
    start = datetime.fromisoformat(digest.payload["window_start"])
    end = datetime.fromisoformat(digest.payload["window_end"])
    count = await session.execute(
        select(func.count()).where(
            Alert.channel == digest.channel,
            Alert.destination == digest.destination,
            Alert.agent_id == digest.agent_id,
            Alert.status == "suppressed",
            Alert.created_at >= start,
            Alert.created_at < end,
        )
    )
    return int(count.scalar_one())


def retention_cutoff(now: datetime, retention_days: int, window_s: int) -> datetime:
    """Rows last touched before this may go: the retention age, and never the current window.

    The throttle counts the rows of the current window, so none of them is deleted, whatever
    the two settings (a 7-day window with a 1-day retention keeps the window's rows).
    """
    return min(now - timedelta(days=retention_days), _window(now, window_s)[0])


async def delete_expired(
    session: AsyncSession, cutoff: datetime, *, limit: int = PRUNE_BATCH
) -> int:
    """Delete at most ``limit`` finished rows last touched before ``cutoff``; returns the count.

    "Last touched" is ``next_attempt_at``: creation for a suppressed row, the end of the last
    claim's lease for a sent or failed one (always ≥ ``created_at``, and indexed with ``status``).
    Never deleted: ``pending`` rows (due, leased or retrying), and suppressed rows of an agent
    and destination whose ``suppressed_digest`` is still pending (it counts them when sent).

    Dedup does not need old rows: every dedup key names an occurrence that cannot recur once its
    trigger committed. ``finding:<fingerprint>:<n>`` numbers the OPEN transitions kept in the
    finding's own history (the fingerprint includes the agent id); ``event:<id>`` alerts only
    when the event is first stored (the events table makes re-sent ids duplicates);
    ``status:`` keys carry the transition's time in ms; ``digest:`` keys are written during
    their window only, whose rows ``retention_cutoff`` keeps.
    """
    digest = aliased(Alert)
    digest_pending = (
        select(digest.id)
        .where(
            digest.trigger == DIGEST_TRIGGER,
            digest.status == "pending",
            digest.channel == Alert.channel,
            digest.destination == Alert.destination,
            digest.agent_id == Alert.agent_id,
        )
        .exists()
    )
    ids = (
        select(Alert.id)
        .where(
            Alert.status.in_(FINISHED),
            Alert.next_attempt_at < cutoff,
            Alert.created_at < cutoff,
            ~and_(Alert.status == "suppressed", digest_pending),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(_ALERTS)
        .where(_ALERTS.c.id.in_(ids.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
