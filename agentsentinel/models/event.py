"""Tool-call events: the time-partitioned fact table (a hypertable when TimescaleDB is present)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agentsentinel.db.base import Base
from agentsentinel.db.types import JSONType, UTCDateTime


class AgentEvent(Base):
    __tablename__ = "agent_events"

    # The client's event_id when given (idempotency key), else minted by the API.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    tool_name: Mapped[str] = mapped_column(String(255))
    # Event time (client's occurred_at, or received time): partitioning and detector clock.
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_adjusted: Mapped[bool] = mapped_column(default=False)
    input_hash: Mapped[str] = mapped_column(String(64))
    output_hash: Mapped[str] = mapped_column(String(64))
    duration_ms: Mapped[int | None] = mapped_column(default=None)
    session_id: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(8), default="ok")
    error_type: Mapped[str | None] = mapped_column(String(255), default=None)
    input_bytes: Mapped[int | None] = mapped_column(default=None)
    output_bytes: Mapped[int | None] = mapped_column(default=None)
    target_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    tool_definition_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    tags: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
    metrics: Mapped[dict[str, float] | None] = mapped_column(JSONType, default=None)
    source: Mapped[str | None] = mapped_column(String(32), default=None)
    trace_id: Mapped[str | None] = mapped_column(String(64), default=None)
    span_id: Mapped[str | None] = mapped_column(String(32), default=None)
    parent_event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    anomaly_score: Mapped[float | None] = mapped_column(default=None)
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)

    __table_args__ = (
        Index(None, "agent_id", "tool_name", "ts"),
        Index(None, "agent_id", "ts"),
        Index(None, "ts", "id"),
    )
