"""Trust score, recompute, history, and what the detector learned."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from agentsentinel.api.deps import (
    AdminDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    ensure_can_read_agent,
)
from agentsentinel.db.types import utcnow
from agentsentinel.schemas.common import UTCDatetime
from agentsentinel.schemas.score import ScoreHistoryItem, ScoreRead
from agentsentinel.services import baselines
from agentsentinel.services import scores as svc
from agentsentinel.services.agents import get_agent, open_findings_count

router = APIRouter(tags=["scores"])


@router.get("/agents/{agent_id}/score", response_model=ScoreRead, operation_id="get_score")
async def get_score(
    agent_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    """The current trust score (numbers never null), as last computed by the trust engine."""
    ensure_can_read_agent(principal, agent_id)
    return await svc.current(session, await get_agent(session, agent_id), runtime.settings)


@router.post("/agents/{agent_id}/rescore", response_model=ScoreRead, operation_id="rescore_agent")
async def rescore(
    agent_id: uuid.UUID, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> Any:
    """Explicit full recompute (behavior from the agent's last detector checkpoint)."""
    agent = await get_agent(session, agent_id)
    await svc.recompute(session, agent, settings=runtime.settings)
    return svc.score_read(
        agent,
        await open_findings_count(session, agent_id),
        await svc.latest(session, agent_id),
        runtime.settings,
    )


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
    """What the detector learned about the agent: per-tool rates, sizes and durations,
    transitions, time of day, errors, maturity, and the behavior score with its alarms."""
    ensure_can_read_agent(principal, agent_id)
    return await baselines.summary(session, await get_agent(session, agent_id), utcnow())
