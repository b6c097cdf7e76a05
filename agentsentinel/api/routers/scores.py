"""Trust score, recompute, history, and what the detector learned."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from agentsentinel.api.deps import AdminDep, PrincipalDep, SessionDep, ensure_can_read_agent
from agentsentinel.models import Baseline
from agentsentinel.schemas.common import UTCDatetime
from agentsentinel.schemas.score import ScoreHistoryItem, ScoreRead
from agentsentinel.services import scores as svc
from agentsentinel.services.agents import get_agent, open_findings_count

router = APIRouter(tags=["scores"])


@router.get("/agents/{agent_id}/score", response_model=ScoreRead, operation_id="get_score")
async def get_score(agent_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    """The current trust score (numbers never null); recomputed only when stale."""
    ensure_can_read_agent(principal, agent_id)
    return await svc.current(session, await get_agent(session, agent_id))


@router.post("/agents/{agent_id}/rescore", response_model=ScoreRead, operation_id="rescore_agent")
async def rescore(agent_id: uuid.UUID, session: SessionDep, _: AdminDep) -> Any:
    """Explicit full recompute."""
    agent = await svc.recompute(session, await get_agent(session, agent_id))
    return svc.score_read(agent, await open_findings_count(session, agent_id))


@router.get(
    "/agents/{agent_id}/score/history",
    response_model=list[ScoreHistoryItem],
    operation_id="get_score_history",
)
async def score_history(
    agent_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    since: UTCDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """Score changes, newest first."""
    ensure_can_read_agent(principal, agent_id)
    await get_agent(session, agent_id)
    return await svc.history(session, agent_id, since, limit)


@router.get("/agents/{agent_id}/baseline", operation_id="get_baseline")
async def baseline(
    agent_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """What the detector has learned about the agent (empty until it has seen events)."""
    ensure_can_read_agent(principal, agent_id)
    await get_agent(session, agent_id)
    row = (
        await session.execute(
            select(Baseline).where(Baseline.scope == "agent", Baseline.scope_key == str(agent_id))
        )
    ).scalar_one_or_none()
    return {
        "agent_id": str(agent_id),
        "maturity": "none" if row is None else "learning",
        "event_count": 0 if row is None else row.event_count,
        "last_event_at": None
        if row is None or row.last_event_at is None
        else row.last_event_at.isoformat(),
        "tools": {},
        "transitions": [],
    }
