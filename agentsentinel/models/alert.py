"""Alert outbox: at-least-once delivery, retries, dedup per fingerprint, per-agent throttling."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentsentinel.db.base import Base
from agentsentinel.db.types import JSONType, UTCDateTime, utcnow


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(String(32))  # slack | webhook | log
    destination: Mapped[str] = mapped_column(String(2048), default="")
    dedup_key: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # pending | sent | failed | suppressed (over the per-agent limit: kept, never sent)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        UniqueConstraint("channel", "destination", "dedup_key"),
        Index(None, "status", "next_attempt_at"),
        # The per-agent throttle counts an agent's recent alerts (agentsentinel/alerts/outbox.py).
        Index(None, "agent_id", "created_at"),
    )
