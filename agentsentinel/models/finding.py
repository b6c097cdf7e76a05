"""Posture and behavior findings with their lifecycle, and suppressions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentsentinel.db.base import Base
from agentsentinel.db.types import JSONType, UTCDateTime, utcnow


class Finding(Base):
    __tablename__ = "findings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    # hash(rule_id, agent_id, normalised evidence key): re-scans update the same row.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    finding_type: Mapped[str] = mapped_column(String(16))  # POSTURE | BEHAVIOR
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    remediation: Mapped[str | None] = mapped_column(Text, default=None)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    status_by: Mapped[str | None] = mapped_column(String(255), default=None)
    suppressed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(255), default=None)

    __table_args__ = (
        Index(None, "agent_id", "status"),
        Index(None, "status", "severity"),
        Index(None, "created_at"),
    )


class Suppression(Base):
    __tablename__ = "suppressions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    tool_name: Mapped[str | None] = mapped_column(String(255), default=None)
    path_glob: Mapped[str | None] = mapped_column(String(1024), default=None)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(255), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
