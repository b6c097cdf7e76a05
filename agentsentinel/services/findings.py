"""Findings queries and the lifecycle transitions an operator makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.db.types import utcnow
from agentsentinel.errors import InvalidInput, NotFound
from agentsentinel.models import Finding
from agentsentinel.schemas.finding import FindingUpdate


@dataclass(frozen=True)
class FindingFilter:
    agent_id: uuid.UUID | None = None
    status: str | None = None
    severity: str | None = None
    rule_id: str | None = None


def _filtered(stmt: Any, flt: FindingFilter) -> Any:
    if flt.agent_id:
        stmt = stmt.where(Finding.agent_id == flt.agent_id)
    if flt.status:
        stmt = stmt.where(Finding.status == flt.status)
    if flt.severity:
        stmt = stmt.where(Finding.severity == flt.severity)
    if flt.rule_id:
        stmt = stmt.where(Finding.rule_id == flt.rule_id)
    return stmt


async def list_findings(
    session: AsyncSession, flt: FindingFilter, limit: int, offset: int
) -> tuple[list[Finding], int]:
    total = (
        await session.execute(_filtered(select(func.count()).select_from(Finding), flt))
    ).scalar_one()
    rows = (
        (
            await session.execute(
                _filtered(select(Finding), flt)
                .order_by(Finding.created_at.desc(), Finding.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return list(rows), int(total)


async def get_finding(session: AsyncSession, finding_id: uuid.UUID) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("Finding not found")
    return finding


async def update_status(
    session: AsyncSession, finding: Finding, body: FindingUpdate, actor: str
) -> Finding:
    """Apply an operator's transition and record it in the finding's history."""
    now = utcnow()
    if body.until is not None and body.until <= now:
        raise InvalidInput(
            [{"loc": ["body", "until"], "msg": "must be in the future", "type": "value_error"}]
        )
    previous = finding.status
    finding.status = body.status
    finding.status_reason = body.reason
    finding.status_by = actor
    finding.suppressed_until = body.until if body.status in ("SUPPRESSED", "ACKNOWLEDGED") else None
    if body.status == "RESOLVED":
        finding.resolved_at = now
        finding.resolved_by = actor
    elif previous == "RESOLVED":
        finding.resolved_at = None
        finding.resolved_by = None
    finding.history = [
        *finding.history,
        {
            "at": now.isoformat(),
            "from": previous,
            "to": body.status,
            "by": actor,
            "reason": body.reason,
            "until": body.until.isoformat() if body.until else None,
        },
    ]
    finding.updated_at = now
    await session.flush()
    return finding
