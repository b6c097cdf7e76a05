"""Serialised detector state (per agent, per peer group, global) with its replay checkpoint."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentsentinel.db.base import Base
from agentsentinel.db.types import UTCDateTime, utcnow


class Baseline(Base):
    __tablename__ = "baselines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    scope: Mapped[str] = mapped_column(String(16))  # "agent" | "group" | "global" | "shard"
    scope_key: Mapped[str] = mapped_column(String(255))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    state: Mapped[bytes] = mapped_column(LargeBinary)
    state_version: Mapped[int] = mapped_column(default=1)
    event_count: Mapped[int] = mapped_column(default=0)
    # Highest bus position whose effect is inside ``state``: replays at or below it don't learn.
    last_stream_id: Mapped[str | None] = mapped_column(String(64), default=None)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("scope", "scope_key"),)
