"""Findings: per agent, fleet-wide, and lifecycle updates."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from agentsentinel.api.deps import (
    AdminDep,
    PrincipalDep,
    ReaderDep,
    RuntimeDep,
    SessionDep,
    ensure_can_act_for,
    ensure_can_read_agent,
)
from agentsentinel.schemas.finding import (
    FindingRead,
    FindingStatus,
    FindingUpdate,
    ScanSummary,
    Severity,
)
from agentsentinel.services import findings as svc
from agentsentinel.services import posture
from agentsentinel.services.agents import get_agent

router = APIRouter(tags=["findings"])

RuleId = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.get(
    "/agents/{agent_id}/findings",
    response_model=list[FindingRead],
    operation_id="list_agent_findings",
)
async def list_agent_findings(
    agent_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    status: FindingStatus | None = None,
    severity: Severity | None = None,
    rule_id: RuleId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """The agent's findings, newest first. Total in ``X-Total-Count``."""
    ensure_can_read_agent(principal, agent_id)
    await get_agent(session, agent_id)
    rows, total = await svc.list_findings(
        session, svc.FindingFilter(agent_id, status, severity, rule_id), limit, offset
    )
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.get("/findings", response_model=list[FindingRead], operation_id="list_findings")
async def list_findings(
    response: Response,
    session: SessionDep,
    _: ReaderDep,
    agent_id: uuid.UUID | None = None,
    status: FindingStatus | None = None,
    severity: Severity | None = None,
    rule_id: RuleId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Fleet-wide findings with the same filters. Total in ``X-Total-Count``."""
    rows, total = await svc.list_findings(
        session, svc.FindingFilter(agent_id, status, severity, rule_id), limit, offset
    )
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.patch("/findings/{finding_id}", response_model=FindingRead, operation_id="update_finding")
async def update_finding(
    finding_id: uuid.UUID, body: FindingUpdate, session: SessionDep, principal: AdminDep
) -> Any:
    """Acknowledge, resolve, suppress (reason required) or reopen a finding; returns it."""
    finding = await svc.get_finding(session, finding_id)
    actor = f"key:{principal.name}"
    return await svc.update_status(session, finding, body, actor)


@router.post("/agents/{agent_id}/scan", response_model=ScanSummary, operation_id="scan_agent")
async def scan_agent(
    agent_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Run the posture scanner on the agent now; returns what changed and its findings summary."""
    ensure_can_act_for(principal, agent_id)
    agent = await get_agent(session, agent_id)
    result = await posture.scan_agent(session, agent, settings=runtime.settings)
    return {
        **result.summary(),
        "posture_score": agent.posture_score,
        "trust_score": agent.trust_score,
        "status": agent.status,
    }
