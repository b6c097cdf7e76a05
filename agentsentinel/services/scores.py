"""Trust score: recompute (engine in :mod:`agentsentinel.trust.engine`), read path, history.

Who recomputes: the worker, debounced after an agent's events and periodically for decay and
silence (it passes the live detector's behavior score); ``POST /agents/{id}/rescore`` (behavior
from the agent's last checkpoint). Reads (``GET /agents/{id}/score``, the agents list) only read
the stored values, so polling is one indexed query. Each change is stored in ``trust_scores``
with its breakdown and top reasons.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.alerts import triggers as alert_triggers
from agentsentinel.behavior import BehaviorScore
from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, Finding, TrustScore
from agentsentinel.services import baselines
from agentsentinel.services.agents import open_findings_count
from agentsentinel.settings import Settings
from agentsentinel.trust.engine import (
    COUNTED_STATUSES,
    FindingInput,
    TrustConfig,
    TrustResult,
    blend,
    posture_score,
)

_DEFAULT_CONFIG = TrustConfig()


def trust_config(settings: Settings | None) -> TrustConfig:
    """The trust engine's configuration from the server settings."""
    if settings is None:
        return _DEFAULT_CONFIG
    return TrustConfig(
        weight_posture=settings.trust_weight_posture,
        weight_behavior=settings.trust_weight_behavior,
        weight_recency=settings.trust_weight_recency,
        hysteresis=settings.trust_hysteresis,
        severity_penalty={
            "CRITICAL": settings.trust_penalty_critical,
            "HIGH": settings.trust_penalty_high,
            "MEDIUM": settings.trust_penalty_medium,
            "LOW": settings.trust_penalty_low,
        },
        repeat_ratio=settings.trust_penalty_ratio,
    )


def posture_parameters(config: TrustConfig) -> dict[str, Any]:
    """The posture formula's parameters, stored beside each breakdown so it can be re-derived."""
    return {
        "start": 100.0,
        "severity_penalty": dict(config.severity_penalty),
        "repeat_ratio": config.repeat_ratio,
        "counted_statuses": sorted(COUNTED_STATUSES),
    }


async def _findings(session: AsyncSession, agent_id: uuid.UUID) -> list[FindingInput]:
    rows = await session.execute(
        select(
            Finding.id, Finding.rule_id, Finding.severity, Finding.status, Finding.message
        ).where(Finding.agent_id == agent_id, Finding.status.in_(COUNTED_STATUSES))
    )
    return [
        FindingInput(rule_id, severity, status, str(finding_id), message)
        for finding_id, rule_id, severity, status, message in rows
    ]


async def recompute(
    session: AsyncSession,
    agent: Agent,
    *,
    behavior: BehaviorScore | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> TrustResult:
    """Recompute and store the agent's score; a history row is written when it changed."""
    now = now or utcnow()
    config = trust_config(settings)
    if behavior is None:
        behavior = await baselines.behavior(session, agent, now)
    result = blend(
        posture=posture_score(await _findings(session, agent.id), config),
        behavior=round(behavior.score, 2),
        behavior_alarms=[alarm.to_dict() for alarm in behavior.alarms],
        behavior_insufficient=behavior.insufficient_evidence,
        last_event_at=agent.last_event_at,
        previous_status=agent.status if agent.last_scored_at is not None else None,
        now=now,
        config=config,
    )
    result.breakdown["posture"]["parameters"] = posture_parameters(config)
    changed = (
        agent.last_scored_at is None
        or round(result.trust, 2) != round(agent.trust_score, 2)
        or result.status != agent.status
        or result.insufficient_evidence != agent.insufficient_evidence
    )
    previous_status = agent.status if agent.last_scored_at is not None else None
    agent.posture_score, agent.behavior_score = result.posture, result.behavior
    agent.recency, agent.trust_score = result.recency, result.trust
    agent.status, agent.insufficient_evidence = result.status, result.insufficient_evidence
    agent.last_scored_at = now
    if changed:
        session.add(
            TrustScore(
                agent_id=agent.id,
                ts=now,
                trust_score=result.trust,
                posture_score=result.posture,
                behavior_score=result.behavior,
                recency=result.recency,
                status=result.status,
                breakdown=result.breakdown,
                reasons=result.reasons,
            )
        )
    await session.flush()
    await alert_triggers.status_changed(
        session, agent, previous_status, trust_score=result.trust, reasons=result.reasons, now=now
    )
    return result


async def latest(session: AsyncSession, agent_id: uuid.UUID) -> TrustScore | None:
    """The newest history row (breakdown and reasons of the current score)."""
    row = await session.execute(
        select(TrustScore)
        .where(TrustScore.agent_id == agent_id)
        .order_by(TrustScore.ts.desc())
        .limit(1)
    )
    return row.scalar_one_or_none()


async def current(
    session: AsyncSession, agent: Agent, settings: Settings | None = None
) -> dict[str, Any]:
    """The score a client polls: the stored one (computed once for a never-scored agent)."""
    if agent.last_scored_at is None:
        await recompute(session, agent, settings=settings)
    return score_read(
        agent,
        await open_findings_count(session, agent.id),
        await latest(session, agent.id),
        settings,
    )


def recency_bonus(agent: Agent, settings: Settings | None = None) -> float:
    """Compatibility field: the recency part of the trust score."""
    return trust_config(settings).weights["recency"] * agent.recency


def score_read(
    agent: Agent,
    findings_count: int,
    row: TrustScore | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    return {
        "agent_id": agent.id,
        "trust_score": agent.trust_score,
        "posture_score": agent.posture_score,
        "behavior_score": agent.behavior_score,
        "recency": agent.recency,
        "recency_bonus": recency_bonus(agent, settings),
        "status": agent.status,
        "findings_count": findings_count,
        "insufficient_evidence": agent.insufficient_evidence,
        "last_scored_at": agent.last_scored_at,
        "breakdown": row.breakdown if row is not None else {},
        "reasons": row.reasons if row is not None else [],
    }


async def history(
    session: AsyncSession, agent_id: uuid.UUID, since: datetime | None, limit: int
) -> list[TrustScore]:
    stmt = select(TrustScore).where(TrustScore.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(TrustScore.ts >= since)
    rows = await session.execute(stmt.order_by(TrustScore.ts.desc()).limit(limit))
    return list(rows.scalars().all())
