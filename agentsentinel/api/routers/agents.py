"""Agents, their tool grants and MCP connections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from agentsentinel.api.deps import (
    AdminDep,
    PrincipalDep,
    ReaderDep,
    RuntimeDep,
    SessionDep,
    ensure_can_act_for,
    ensure_can_read_agent,
)
from agentsentinel.errors import Forbidden
from agentsentinel.schemas.agent import (
    AgentCreate,
    AgentDetail,
    AgentRead,
    AgentStatus,
    AgentUpdate,
    GrantCreate,
    GrantRead,
    GrantUpdate,
    McpCreate,
    McpRead,
)
from agentsentinel.services import agents as svc
from agentsentinel.services import scores

router = APIRouter(tags=["agents"])


def _agent_read(agent: Any) -> dict[str, Any]:
    data = AgentRead.model_validate(agent).model_dump()
    data["recency_bonus"] = scores.recency_bonus(agent)
    return data


@router.post("/agents", status_code=201, response_model=AgentRead, operation_id="create_agent")
async def create_agent(
    body: AgentCreate, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Register an agent. ``model`` and ``owner_team`` are optional."""
    # Scanned and scored in this transaction: listed with a score and status from the start.
    agent = await svc.create_agent(session, body, settings=runtime.settings)
    return _agent_read(agent)


@router.get("/agents", response_model=list[AgentRead], operation_id="list_agents")
async def list_agents(
    response: Response,
    session: SessionDep,
    _: ReaderDep,
    status_: Annotated[AgentStatus | None, Query(alias="status")] = None,
    owner_team: Annotated[str | None, Query(max_length=128)] = None,
    q: Annotated[str | None, Query(max_length=255, description="name contains")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Agents, newest first, with their current score and status. Total in ``X-Total-Count``."""
    rows, total = await svc.list_agents(
        session, svc.AgentFilter(status_, owner_team, q), limit, offset
    )
    response.headers["X-Total-Count"] = str(total)
    return [_agent_read(a) for a in rows]


@router.get("/agents/{agent_id}", response_model=AgentDetail, operation_id="get_agent")
async def get_agent(
    agent_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The agent with its grants, MCP connections, open findings count and score breakdown."""
    ensure_can_read_agent(principal, agent_id)
    agent = await svc.get_agent(session, agent_id, detail=True)
    counts = await svc.call_counts_7d(session, agent_id)
    data = _agent_read(agent)
    data["grants"] = [
        {**GrantRead.model_validate(g).model_dump(), "call_count_7d": counts.get(g.tool_name, 0)}
        for g in agent.grants
    ]
    data["mcp_connections"] = [
        McpRead.model_validate(c).model_dump() for c in agent.mcp_connections
    ]
    findings = await svc.open_findings_count(session, agent_id)
    data["open_findings_count"] = findings
    data["score"] = scores.score_read(agent, findings, await scores.latest(session, agent_id))
    return data


@router.patch("/agents/{agent_id}", response_model=AgentRead, operation_id="update_agent")
async def update_agent(
    agent_id: uuid.UUID, body: AgentUpdate, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return _agent_read(await svc.update_agent(session, agent_id, body, settings=runtime.settings))


@router.delete("/agents/{agent_id}", status_code=204, operation_id="delete_agent")
async def delete_agent(agent_id: uuid.UUID, session: SessionDep, _: AdminDep) -> Response:
    """Delete the agent and everything that belongs to it (grants, events, findings, scores)."""
    await svc.delete_agent(session, agent_id)
    return Response(status_code=204)


@router.post(
    "/agents/{agent_id}/grants",
    response_model=GrantRead,
    status_code=201,
    operation_id="upsert_grant",
    responses={200: {"model": GrantRead, "description": "Existing grant updated"}},
)
async def upsert_grant(
    agent_id: uuid.UUID,
    body: GrantCreate,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Grant a tool (or update the grant). Scope, capabilities and danger are derived here."""
    ensure_can_act_for(principal, agent_id)
    if body.override is not None and not principal.is_admin:
        raise Forbidden("only admin keys may override a tool's classification")
    grant, created = await svc.upsert_grant(session, agent_id, body, settings=runtime.settings)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    counts = await svc.call_counts_7d(session, agent_id)
    return {
        **GrantRead.model_validate(grant).model_dump(),
        "call_count_7d": counts.get(grant.tool_name, 0),
    }


@router.patch("/grants/{grant_id}", response_model=GrantRead, operation_id="update_grant")
async def update_grant(
    grant_id: uuid.UUID, body: GrantUpdate, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    grant = await svc.update_grant(
        session, await svc.get_grant(session, grant_id), body, settings=runtime.settings
    )
    counts = await svc.call_counts_7d(session, grant.agent_id)
    return {
        **GrantRead.model_validate(grant).model_dump(),
        "call_count_7d": counts.get(grant.tool_name, 0),
    }


@router.delete("/grants/{grant_id}", status_code=204, operation_id="delete_grant")
async def delete_grant(
    grant_id: uuid.UUID, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> Response:
    await svc.delete_grant(
        session, await svc.get_grant(session, grant_id), settings=runtime.settings
    )
    return Response(status_code=204)


@router.post(
    "/agents/{agent_id}/mcp",
    response_model=McpRead,
    status_code=201,
    operation_id="upsert_mcp_connection",
    responses={200: {"model": McpRead, "description": "Existing connection updated"}},
)
async def upsert_mcp(
    agent_id: uuid.UUID,
    body: McpCreate,
    response: Response,
    session: SessionDep,
    _: AdminDep,
    runtime: RuntimeDep,
) -> Any:
    """Bind an MCP server to the agent (re-posting the same server_name updates it)."""
    conn, created = await svc.upsert_mcp(session, agent_id, body, settings=runtime.settings)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return conn


@router.delete("/mcp/{mcp_id}", status_code=204, operation_id="delete_mcp_connection")
async def delete_mcp(
    mcp_id: uuid.UUID, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> Response:
    await svc.delete_mcp(session, mcp_id, settings=runtime.settings)
    return Response(status_code=204)
