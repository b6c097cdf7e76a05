"""Agents, tool grants and MCP connections."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agentsentinel.db.types import utcnow
from agentsentinel.errors import NotFound
from agentsentinel.models import Agent, AgentEvent, Finding, McpConnection, ToolGrant
from agentsentinel.schemas.agent import (
    AgentCreate,
    AgentUpdate,
    GrantCreate,
    GrantUpdate,
    McpCreate,
)
from agentsentinel.settings import Settings

DEFAULT_MODEL = "unknown"
DEFAULT_TEAM = "unassigned"
OPEN_STATUSES = ("OPEN", "ACKNOWLEDGED")
# Agent fields the posture rules read: changing one rescans the agent.
_POSTURE_FIELDS = ("name", "agent_type", "description", "owner_team")


async def _scan(
    session: AsyncSession,
    agent_id: uuid.UUID,
    settings: Settings | None,
    previous_hashes: dict[str, str | None] | None = None,
) -> None:
    """Rescan the agent's posture in this transaction (every change below ends with it)."""
    # Imported here: services.posture -> services.scores -> this module.
    from agentsentinel.services import posture

    agent = await get_agent(session, agent_id)
    await posture.scan_agent(session, agent, settings=settings, previous_hashes=previous_hashes)


async def _lock(session: AsyncSession, agent_id: uuid.UUID) -> None:
    """Lock the agent before touching its grants or bindings (the scanner's lock order)."""
    from agentsentinel.services import posture

    if await posture.lock_agent(session, agent_id) is None:
        raise NotFound("Agent not found")


async def create_agent(
    session: AsyncSession, body: AgentCreate, *, settings: Settings | None = None
) -> Agent:
    agent = Agent(
        name=body.name,
        agent_type=body.agent_type,
        model=(body.model or "").strip() or DEFAULT_MODEL,
        owner_team=(body.owner_team or "").strip() or DEFAULT_TEAM,
        description=body.description,
        tags=list(dict.fromkeys(body.tags)),
    )
    session.add(agent)
    await session.flush()
    await _scan(session, agent.id, settings)
    return agent


@dataclass(frozen=True)
class AgentFilter:
    status: str | None = None
    owner_team: str | None = None
    q: str | None = None


def _filtered(stmt: Any, flt: AgentFilter) -> Any:
    if flt.status:
        stmt = stmt.where(Agent.status == flt.status)
    if flt.owner_team:
        stmt = stmt.where(Agent.owner_team == flt.owner_team)
    if flt.q:
        escaped = flt.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Agent.name).like(f"%{escaped}%", escape="\\"))
    return stmt


async def list_agents(
    session: AsyncSession, flt: AgentFilter, limit: int, offset: int
) -> tuple[list[Agent], int]:
    total = (
        await session.execute(_filtered(select(func.count()).select_from(Agent), flt))
    ).scalar_one()
    rows = (
        (
            await session.execute(
                _filtered(select(Agent), flt)
                .order_by(Agent.created_at.desc(), Agent.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return list(rows), int(total)


async def get_agent(session: AsyncSession, agent_id: uuid.UUID, *, detail: bool = False) -> Agent:
    stmt = select(Agent).where(Agent.id == agent_id)
    if detail:
        stmt = stmt.options(selectinload(Agent.grants), selectinload(Agent.mcp_connections))
    agent = (await session.execute(stmt)).scalar_one_or_none()
    if agent is None:
        raise NotFound("Agent not found")
    return agent


async def call_counts_7d(session: AsyncSession, agent_id: uuid.UUID) -> dict[str, int]:
    """Calls per tool over the last 7 days (index range scan on (agent_id, tool_name, ts))."""
    since = utcnow() - timedelta(days=7)
    rows = await session.execute(
        select(AgentEvent.tool_name, func.count())
        .where(AgentEvent.agent_id == agent_id, AgentEvent.ts >= since)
        .group_by(AgentEvent.tool_name)
    )
    return {name: int(count) for name, count in rows}


async def open_findings_count(session: AsyncSession, agent_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Finding)
                .where(Finding.agent_id == agent_id, Finding.status.in_(OPEN_STATUSES))
            )
        ).scalar_one()
    )


async def update_agent(
    session: AsyncSession,
    agent_id: uuid.UUID,
    body: AgentUpdate,
    *,
    settings: Settings | None = None,
) -> Agent:
    await _lock(session, agent_id)
    agent = await get_agent(session, agent_id)
    before = [getattr(agent, name) for name in _POSTURE_FIELDS]
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "agent_type", "description", "tags"):
        if field in changes and (changes[field] is not None or field == "description"):
            setattr(agent, field, changes[field])
    if "model" in changes:
        agent.model = (changes["model"] or "").strip() or DEFAULT_MODEL
    if "owner_team" in changes:
        agent.owner_team = (changes["owner_team"] or "").strip() or DEFAULT_TEAM
    agent.updated_at = utcnow()
    await session.flush()
    if [getattr(agent, name) for name in _POSTURE_FIELDS] != before:
        await _scan(session, agent_id, settings)
    return agent


async def delete_agent(session: AsyncSession, agent_id: uuid.UUID) -> None:
    agent = await get_agent(session, agent_id)
    await session.delete(agent)
    await session.flush()


# Grants ----------------------------------------------------------------------------------------


def definition_hash(name: str, description: str | None, schema: dict[str, Any] | None) -> str:
    """SHA-256 of the tool's definition as an agent sees it (name, description, schema)."""
    canonical = json.dumps(
        {"name": name, "description": description or "", "input_schema": schema or {}},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _classify(grant: ToolGrant, settings: Settings | None = None) -> None:
    """Classify the grant: its own override (API) first, then the deployment's (settings)."""
    from agentsentinel.posture import classify_tool
    from agentsentinel.services.posture import tool_override

    override = tool_override(grant.tool_name, grant.override, settings)
    result = classify_tool(
        grant.tool_name,
        description=grant.description,
        input_schema=grant.input_schema,
        annotations=grant.annotations,
        override=override,
    )
    data = result.to_dict()
    grant.scope = str(data["scope"])
    grant.capabilities = list(data["capabilities"])
    grant.is_dangerous = bool(data["is_dangerous"])
    grant.confidence = float(data["confidence"])
    grant.evidence = list(data["evidence"])


async def upsert_grant(
    session: AsyncSession,
    agent_id: uuid.UUID,
    body: GrantCreate,
    *,
    settings: Settings | None = None,
) -> tuple[ToolGrant, bool]:
    """Create the grant, or update the existing one for (agent, tool). Returns (grant, created)."""
    await _lock(session, agent_id)
    grant = (
        await session.execute(
            select(ToolGrant).where(
                ToolGrant.agent_id == agent_id, ToolGrant.tool_name == body.tool_name
            )
        )
    ).scalar_one_or_none()
    created = grant is None
    if grant is None:
        grant = ToolGrant(agent_id=agent_id, tool_name=body.tool_name)
        session.add(grant)
    previous = grant.definition_hash
    fields = body.model_dump(exclude_unset=True, exclude={"tool_name"})
    _apply_grant_fields(grant, fields, settings)
    await session.flush()
    await _scan(session, agent_id, settings, {grant.tool_name: previous})
    return grant, created


def _apply_grant_fields(
    grant: ToolGrant, fields: dict[str, Any], settings: Settings | None = None
) -> None:
    for name in ("description", "input_schema", "annotations", "rate_limit_per_hour"):
        if name in fields:
            setattr(grant, name, fields[name])
    if "override" in fields:
        override = fields["override"]
        kept = {k: v for k, v in (override or {}).items() if v is not None}
        grant.override = kept or None
    if grant.description is not None or grant.input_schema is not None:
        grant.definition_hash = definition_hash(
            grant.tool_name, grant.description, grant.input_schema
        )
    _classify(grant, settings)
    grant.updated_at = utcnow()


async def get_grant(session: AsyncSession, grant_id: uuid.UUID) -> ToolGrant:
    grant = await session.get(ToolGrant, grant_id)
    if grant is None:
        raise NotFound("Grant not found")
    return grant


async def update_grant(
    session: AsyncSession,
    grant: ToolGrant,
    body: GrantUpdate,
    *,
    settings: Settings | None = None,
) -> ToolGrant:
    await _lock(session, grant.agent_id)
    previous = grant.definition_hash
    _apply_grant_fields(grant, body.model_dump(exclude_unset=True), settings)
    await session.flush()
    await _scan(session, grant.agent_id, settings, {grant.tool_name: previous})
    return grant


async def delete_grant(
    session: AsyncSession, grant: ToolGrant, *, settings: Settings | None = None
) -> None:
    agent_id = grant.agent_id
    await _lock(session, agent_id)
    await session.delete(grant)
    await session.flush()
    await _scan(session, agent_id, settings)


# MCP connections -------------------------------------------------------------------------------


async def upsert_mcp(
    session: AsyncSession,
    agent_id: uuid.UUID,
    body: McpCreate,
    *,
    settings: Settings | None = None,
) -> tuple[McpConnection, bool]:
    await _lock(session, agent_id)
    conn = (
        await session.execute(
            select(McpConnection).where(
                McpConnection.agent_id == agent_id, McpConnection.server_name == body.server_name
            )
        )
    ).scalar_one_or_none()
    created = conn is None
    if conn is None:
        conn = McpConnection(agent_id=agent_id, server_name=body.server_name)
        session.add(conn)
    conn.server_url = body.server_url
    conn.capabilities = body.capabilities
    conn.auth = body.auth
    conn.tools = (
        [t.model_dump(by_alias=True, exclude_none=True) for t in body.tools]
        if body.tools is not None
        else None
    )
    conn.updated_at = utcnow()
    await session.flush()
    await _scan(session, agent_id, settings)
    return conn, created


async def delete_mcp(
    session: AsyncSession, mcp_id: uuid.UUID, *, settings: Settings | None = None
) -> uuid.UUID:
    conn = await session.get(McpConnection, mcp_id)
    if conn is None:
        raise NotFound("MCP connection not found")
    agent_id = conn.agent_id
    await _lock(session, agent_id)
    await session.delete(conn)
    await session.flush()
    await _scan(session, agent_id, settings)
    return agent_id
