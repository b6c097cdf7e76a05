"""Alerts: the outbox rows (one per alert and destination), newest first, read-only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import and_, or_, select

from agentsentinel.api.deps import PrincipalDep, SessionDep, ensure_can_read_agent
from agentsentinel.errors import Forbidden, InvalidInput, NotFound
from agentsentinel.models import Alert
from agentsentinel.schemas.alert import AlertChannel, AlertRead, AlertStatus, AlertTrigger
from agentsentinel.schemas.common import UTCDatetime
from agentsentinel.services.events import decode_cursor, encode_cursor

router = APIRouter(tags=["alerts"])


def _read(row: Alert) -> dict[str, Any]:
    payload = row.payload if isinstance(row.payload, dict) else {}

    def text(name: str) -> str | None:
        value = payload.get(name)
        return None if value is None else str(value)

    return {
        "id": row.id,
        "created_at": row.created_at,
        "agent_id": row.agent_id,
        "agent_name": text("agent_name"),
        "trigger": row.trigger,
        "severity": text("severity"),
        "message": text("message"),
        "channel": row.channel,
        "destination": row.destination,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": row.next_attempt_at,
        "sent_at": row.sent_at,
        "dedup_key": row.dedup_key,
        "payload": payload,
    }


@router.get("/alerts", response_model=list[AlertRead], operation_id="list_alerts")
async def list_alerts(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    agent_id: uuid.UUID | None = None,
    status: AlertStatus | None = None,
    trigger: AlertTrigger | None = None,
    channel: AlertChannel | None = None,
    since: UTCDatetime | None = None,
    until: UTCDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> list[dict[str, Any]]:
    """Alerts newest first (``since`` ≤ created_at < ``until``); one row per destination.

    Agent keys must filter by their own ``agent_id``. The next page's cursor is in the
    ``X-Next-Cursor`` header.
    """
    if agent_id is None:
        if not principal.can_read_fleet():
            raise Forbidden("agent keys must filter alerts by their own agent_id")
    else:
        ensure_can_read_agent(principal, agent_id)
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            [{"loc": ["query", "until"], "msg": "must not be before since", "type": "value_error"}]
        )
    stmt = select(Alert)
    if agent_id is not None:
        stmt = stmt.where(Alert.agent_id == agent_id)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if trigger is not None:
        stmt = stmt.where(Alert.trigger == trigger)
    if channel is not None:
        stmt = stmt.where(Alert.channel == channel)
    if since is not None:
        stmt = stmt.where(Alert.created_at >= since)
    if until is not None:
        stmt = stmt.where(Alert.created_at < until)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Alert.created_at < at, and_(Alert.created_at == at, Alert.id < last_id))
        )
    stmt = stmt.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    if len(rows) > limit:
        rows = rows[:limit]
        response.headers["X-Next-Cursor"] = encode_cursor(rows[-1].created_at, rows[-1].id)
    return [_read(row) for row in rows]


@router.get("/alerts/{alert_id}", response_model=AlertRead, operation_id="get_alert")
async def get_alert(alert_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    """One alert row."""
    row = await session.get(Alert, alert_id)
    if row is None:
        raise NotFound("Alert not found")
    if not principal.can_read_fleet() and (
        row.agent_id is None or not principal.can_read_agent(row.agent_id)
    ):
        raise Forbidden("this key may only read its own agent")
    return _read(row)
