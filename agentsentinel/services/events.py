"""Event ingestion (publish to the bus, await the worker's score) and event queries."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.auth.lookup import KeyLookup
from agentsentinel.bus.base import BusMessage, BusUnavailable, EventBus
from agentsentinel.db.types import utcnow
from agentsentinel.errors import DependencyUnavailable, InvalidInput, NotFound
from agentsentinel.models import Agent, AgentEvent
from agentsentinel.schemas.event import EventCreate
from agentsentinel.settings import Settings

_event_adapter: TypeAdapter[EventCreate] = TypeAdapter(EventCreate)


@dataclass(slots=True)
class PreparedEvent:
    message: BusMessage
    occurred_at: datetime
    received_at: datetime
    clock_adjusted: bool


@dataclass(frozen=True, slots=True)
class ReceiveWindow:
    """The time bounds of one request, computed once for all of its events."""

    received_at: datetime
    received_iso: str
    latest: datetime  # later than this is clock skew: replaced by the receive time
    oldest: datetime  # earlier than this is outside the retention window: rejected
    retention_days: int

    @classmethod
    def at(cls, settings: Settings, received_at: datetime) -> ReceiveWindow:
        return cls(
            received_at,
            received_at.isoformat(),
            received_at + timedelta(seconds=settings.future_skew_seconds),
            received_at - timedelta(days=settings.retention_days),
            settings.retention_days,
        )


def prepare(
    body: EventCreate,
    settings: Settings,
    received_at: datetime,
    window: ReceiveWindow | None = None,
) -> PreparedEvent:
    """Fix the event's identity and time, and build its bus message."""
    if window is None:
        window = ReceiveWindow.at(settings, received_at)
    occurred = body.occurred_at
    adjusted = False
    if occurred is None:
        occurred = window.received_at
        occurred_iso = window.received_iso
    else:
        if occurred > window.latest:
            occurred, adjusted = window.received_at, True
        elif occurred < window.oldest:
            raise InvalidInput(
                [
                    {
                        "loc": ["body", "occurred_at"],
                        "type": "value_error",
                        "msg": f"older than the retention window ({window.retention_days} days)",
                    }
                ]
            )
        occurred_iso = occurred.isoformat()
    payload = body.model_dump(mode="json", exclude_none=True)
    # A client's event_id is already in its canonical text form in the JSON dump.
    event_id = payload.get("event_id") or str(uuid.uuid4())
    payload["event_id"] = event_id
    payload["occurred_at"] = occurred_iso
    payload["received_at"] = window.received_iso
    payload["clock_adjusted"] = adjusted
    message = BusMessage(event_id, payload["agent_id"], payload)
    return PreparedEvent(message, occurred, window.received_at, adjusted)


async def agent_ids_existing(lookup: KeyLookup, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` are registered agents (one round trip, no transaction)."""
    return await lookup.agents_existing(ids)


async def publish(bus: EventBus, messages: Sequence[BusMessage]) -> None:
    try:
        await bus.publish(messages)
    except BusUnavailable as exc:
        raise DependencyUnavailable(
            "event bus unavailable; retry later", headers={"Retry-After": "2"}
        ) from exc


def validate_batch_item(raw: Any) -> EventCreate | list[dict[str, Any]]:
    """The validated event, or the validation errors for this item alone."""
    try:
        return _event_adapter.validate_python(raw)
    except ValidationError as exc:
        return [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]


# Queries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    agent_id: uuid.UUID | None = None
    tool_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_score: float | None = None
    session_id: str | None = None


def encode_cursor(ts: datetime, event_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{ts.isoformat()}|{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ts_text, id_text = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        ts = datetime.fromisoformat(ts_text)
        if ts.tzinfo is None:
            raise ValueError("naive")
        return ts, uuid.UUID(id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}]
        ) from exc


async def list_events(
    session: AsyncSession, flt: EventFilter, limit: int, cursor: str | None
) -> tuple[list[tuple[AgentEvent, str]], str | None]:
    """Newest first; keyset pagination on (ts, id) so deep pages stay cheap."""
    stmt = select(AgentEvent, Agent.name).join(Agent, Agent.id == AgentEvent.agent_id)
    if flt.agent_id:
        stmt = stmt.where(AgentEvent.agent_id == flt.agent_id)
    if flt.tool_name:
        stmt = stmt.where(AgentEvent.tool_name == flt.tool_name)
    if flt.session_id:
        stmt = stmt.where(AgentEvent.session_id == flt.session_id)
    if flt.since:
        stmt = stmt.where(AgentEvent.ts >= flt.since)
    if flt.until:
        stmt = stmt.where(AgentEvent.ts < flt.until)
    if flt.min_score is not None:
        stmt = stmt.where(AgentEvent.anomaly_score >= flt.min_score)
    if cursor:
        ts, event_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(AgentEvent.ts < ts, and_(AgentEvent.ts == ts, AgentEvent.id < event_id))
        )
    stmt = stmt.order_by(AgentEvent.ts.desc(), AgentEvent.id.desc()).limit(limit + 1)
    rows = [(ev, name) for ev, name in (await session.execute(stmt))]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(last.ts, last.id)
    return rows, next_cursor


def event_read(ev: AgentEvent, agent_name: str) -> dict[str, Any]:
    return {
        "event_id": ev.id,
        "agent_id": ev.agent_id,
        "agent_name": agent_name,
        "tool_name": ev.tool_name,
        "anomaly_score": ev.anomaly_score,
        "duration_ms": ev.duration_ms,
        "session_id": ev.session_id,
        "timestamp": ev.ts,
        "received_at": ev.received_at,
        "clock_adjusted": ev.clock_adjusted,
        "status": ev.status,
        "error_type": ev.error_type,
        "input_hash": ev.input_hash,
        "output_hash": ev.output_hash,
        "input_bytes": ev.input_bytes,
        "output_bytes": ev.output_bytes,
        "target_hash": ev.target_hash,
        "tool_definition_hash": ev.tool_definition_hash,
        "tags": ev.tags,
        "metrics": ev.metrics,
        "source": ev.source,
        "trace_id": ev.trace_id,
        "span_id": ev.span_id,
        "parent_event_id": ev.parent_event_id,
        "reasons": ev.reasons,
    }


def now() -> datetime:
    return utcnow()


def not_found_agent() -> NotFound:
    return NotFound("Agent not found")
