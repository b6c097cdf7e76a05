"""Alerts as stored in the outbox (read-only)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from agentsentinel.schemas.common import OutDatetime, ResponseModel

AlertStatus = Literal["pending", "sent", "failed", "suppressed"]
AlertTrigger = Literal[
    "critical_finding", "agent_status", "anomalous_event", "ungranted_tool", "suppressed_digest"
]
AlertChannel = Literal["log", "slack", "webhook"]


class AlertRead(ResponseModel):
    id: uuid.UUID
    created_at: OutDatetime
    agent_id: uuid.UUID | None
    agent_name: str | None
    trigger: str
    severity: str | None
    message: str | None = Field(
        description="null for a digest until its delivery starts (it is counted then)"
    )
    channel: str
    destination: str = Field(
        description="host and hash of the URL (`host#sha256[:16]`), never the URL; '' for the log"
    )
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: OutDatetime
    sent_at: OutDatetime | None
    dedup_key: str
    payload: dict[str, Any]
