"""Suppressions: create, list, delete. Creating or deleting one rescans the agents it covers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select

from agentsentinel.api.deps import AdminDep, ReaderDep, RuntimeDep, SessionDep
from agentsentinel.db.types import utcnow
from agentsentinel.errors import InvalidInput, NotFound
from agentsentinel.models import Finding, Suppression
from agentsentinel.posture.rules import RULES_BY_ID
from agentsentinel.schemas.suppression import SuppressionCreate, SuppressionRead
from agentsentinel.services import posture
from agentsentinel.services.agents import get_agent

router = APIRouter(tags=["suppressions"])


def _read(row: Suppression, rescanned: int = 0) -> dict[str, Any]:
    data = SuppressionRead.model_validate(
        {
            **{c: getattr(row, c) for c in SuppressionRead.model_fields if hasattr(row, c)},
            "active": row.expires_at is None or row.expires_at > utcnow(),
            "rescanned_agents": rescanned,
        }
    )
    return data.model_dump()


async def _covered_agents(session: Any, row: Suppression) -> set[uuid.UUID]:
    """Agents whose findings the suppression may change: its agent, or those with the rule."""
    if row.agent_id is not None:
        return {row.agent_id}
    ids = await session.execute(
        select(Finding.agent_id).where(Finding.rule_id == row.rule_id).distinct()
    )
    return set(ids.scalars())


@router.post(
    "/suppressions",
    status_code=201,
    response_model=SuppressionRead,
    operation_id="create_suppression",
)
async def create_suppression(
    body: SuppressionCreate, session: SessionDep, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Suppress a rule's findings (one agent, one tool, or everywhere), optionally until a date."""
    if body.rule_id not in RULES_BY_ID:
        raise InvalidInput(
            [{"loc": ["body", "rule_id"], "msg": "unknown rule id", "type": "value_error"}]
        )
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise InvalidInput(
            [{"loc": ["body", "expires_at"], "msg": "must be in the future", "type": "value_error"}]
        )
    if body.agent_id is not None:
        await get_agent(session, body.agent_id)
    row = Suppression(
        rule_id=body.rule_id,
        agent_id=body.agent_id,
        tool_name=body.tool_name,
        path_glob=body.path_glob,
        reason=body.reason,
        created_by=f"key:{principal.name}",
        expires_at=body.expires_at,
    )
    session.add(row)
    await session.flush()
    scanned = await posture.scan_agents(
        session, await _covered_agents(session, row), settings=runtime.settings
    )
    return _read(row, len(scanned))


@router.get("/suppressions", response_model=list[SuppressionRead], operation_id="list_suppressions")
async def list_suppressions(
    response: Response,
    session: SessionDep,
    _: ReaderDep,
    agent_id: uuid.UUID | None = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Suppressions, newest first (expired ones included, ``active: false``)."""
    stmt = select(Suppression)
    if agent_id is not None:
        stmt = stmt.where(Suppression.agent_id == agent_id)
    if rule_id is not None:
        stmt = stmt.where(Suppression.rule_id == rule_id)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(
        stmt.order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(limit)
        .offset(offset)
    )
    response.headers["X-Total-Count"] = str(total)
    return [_read(r) for r in rows.scalars()]


@router.delete("/suppressions/{suppression_id}", status_code=204, operation_id="delete_suppression")
async def delete_suppression(
    suppression_id: uuid.UUID, session: SessionDep, _: AdminDep, runtime: RuntimeDep
) -> Response:
    """Delete a suppression; the findings it hid reopen if their condition still holds."""
    row = await session.get(Suppression, suppression_id)
    if row is None:
        raise NotFound("Suppression not found")
    agents = await _covered_agents(session, row)
    await session.delete(row)
    await session.flush()
    await posture.scan_agents(session, agents, settings=runtime.settings)
    return Response(status_code=204)
