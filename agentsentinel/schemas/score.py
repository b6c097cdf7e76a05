"""Trust score (compatibility fields + breakdown) and its history."""

from __future__ import annotations

import uuid
from typing import Any

from agentsentinel.schemas.common import OutDatetime, ResponseModel


class ScoreRead(ResponseModel):
    agent_id: uuid.UUID
    trust_score: float
    posture_score: float
    behavior_score: float
    recency: float
    recency_bonus: float
    status: str
    findings_count: int
    insufficient_evidence: bool
    last_scored_at: OutDatetime | None
    breakdown: dict[str, Any]
    reasons: list[dict[str, Any]]


class ScoreHistoryItem(ResponseModel):
    ts: OutDatetime
    trust_score: float
    posture_score: float
    behavior_score: float
    recency: float
    status: str
    reasons: list[dict[str, Any]]
    breakdown: dict[str, Any] = {}
