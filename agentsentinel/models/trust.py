"""Trust score history: one row per change, with its breakdown and the reasons that moved it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agentsentinel.db.base import Base
from agentsentinel.db.types import JSONType, UTCDateTime


class TrustScore(Base):
    __tablename__ = "trust_scores"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    trust_score: Mapped[float]
    posture_score: Mapped[float]
    behavior_score: Mapped[float]
    recency: Mapped[float]
    status: Mapped[str] = mapped_column(String(16))
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    __table_args__ = (Index(None, "agent_id", "ts"),)
