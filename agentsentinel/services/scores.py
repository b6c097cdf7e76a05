"""Trust score read path, recompute and history.

Until the posture and behavior engines are wired in, posture and behavior are neutral (100) and
only freshness of evidence (recency) moves; the agent is reported as "insufficient evidence" and
status WATCH. The blend, bands and history storage are the real ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, TrustScore
from agentsentinel.services.agents import open_findings_count

WEIGHTS = {"posture": 0.45, "behavior": 0.45, "recency": 0.10}
STALE_AFTER = timedelta(seconds=30)
FRESH_FOR = timedelta(hours=1)
SILENT_AFTER = timedelta(hours=24)


def recency(last_event_at: datetime | None, now: datetime) -> float:
    """100 while the agent reports, decaying linearly to 0 over a day of silence."""
    if last_event_at is None:
        return 0.0
    idle = now - last_event_at
    if idle <= FRESH_FOR:
        return 100.0
    if idle >= SILENT_AFTER:
        return 0.0
    return 100.0 * (1 - (idle - FRESH_FOR) / (SILENT_AFTER - FRESH_FOR))


def band(trust: float) -> str:
    if trust >= 80:
        return "TRUSTED"
    if trust >= 60:
        return "WATCH"
    if trust >= 40:
        return "ALERT"
    return "CRITICAL"


async def recompute(session: AsyncSession, agent: Agent) -> Agent:
    """Recompute and store the agent's score; a history row is written when it changed."""
    now = utcnow()
    posture, behavior = 100.0, 100.0
    fresh = recency(agent.last_event_at, now)
    trust = max(
        0.0,
        min(
            100.0,
            WEIGHTS["posture"] * posture
            + WEIGHTS["behavior"] * behavior
            + WEIGHTS["recency"] * fresh,
        ),
    )
    insufficient = agent.last_event_at is None
    status = "WATCH" if insufficient else band(trust)
    changed = (
        round(trust, 2) != round(agent.trust_score, 2)
        or status != agent.status
        or agent.last_scored_at is None
    )
    agent.posture_score, agent.behavior_score, agent.recency = posture, behavior, fresh
    agent.trust_score, agent.status, agent.insufficient_evidence = trust, status, insufficient
    agent.last_scored_at = now
    if changed:
        session.add(
            TrustScore(
                agent_id=agent.id,
                ts=now,
                trust_score=trust,
                posture_score=posture,
                behavior_score=behavior,
                recency=fresh,
                status=status,
                breakdown=breakdown(agent),
                reasons=[],
            )
        )
    await session.flush()
    return agent


def breakdown(agent: Agent) -> dict[str, Any]:
    return {
        "weights": WEIGHTS,
        "posture": {"score": agent.posture_score, "findings": []},
        "behavior": {"score": agent.behavior_score, "alarms": []},
        "recency": {
            "score": agent.recency,
            "last_event_at": agent.last_event_at.isoformat() if agent.last_event_at else None,
        },
        "insufficient_evidence": agent.insufficient_evidence,
    }


async def current(session: AsyncSession, agent: Agent) -> dict[str, Any]:
    """The score a client polls: recomputed only when stale, so polling stays cheap."""
    if agent.last_scored_at is None or utcnow() - agent.last_scored_at > STALE_AFTER:
        await recompute(session, agent)
    return score_read(agent, await open_findings_count(session, agent.id))


def score_read(agent: Agent, findings_count: int) -> dict[str, Any]:
    return {
        "agent_id": agent.id,
        "trust_score": agent.trust_score,
        "posture_score": agent.posture_score,
        "behavior_score": agent.behavior_score,
        "recency": agent.recency,
        "recency_bonus": WEIGHTS["recency"] * agent.recency,
        "status": agent.status,
        "findings_count": findings_count,
        "insufficient_evidence": agent.insufficient_evidence,
        "last_scored_at": agent.last_scored_at,
        "breakdown": breakdown(agent),
        "reasons": [],
    }


async def history(
    session: AsyncSession, agent_id: uuid.UUID, since: datetime | None, limit: int
) -> list[TrustScore]:
    stmt = select(TrustScore).where(TrustScore.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(TrustScore.ts >= since)
    rows = await session.execute(stmt.order_by(TrustScore.ts.desc()).limit(limit))
    return list(rows.scalars().all())
