"""Findings queries, the lifecycle transitions an operator makes, and the engines' observations.

Engines (the behavior worker today, the posture scanner next) report a condition with
``observe`` and its disappearance with ``clear``; both address the finding by its stable
fingerprint, so repeated observations update one row (``last_seen_at``) instead of creating new
ones. A cleared finding is RESOLVED by the engine and reopens, with its history, when the
condition comes back. ACKNOWLEDGED and SUPPRESSED findings keep their status while observed
(until an expiring status lapses).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.alerts import triggers as alert_triggers
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


def fingerprint(rule_id: str, agent_id: uuid.UUID, key: str = "") -> str:
    """Stable identity of a finding: hash of rule, agent and the normalised evidence key."""
    return hashlib.sha256(f"{rule_id}\x1f{agent_id}\x1f{key}".encode()).hexdigest()


def _transition(finding: Finding, to: str, by: str, reason: str | None, now: datetime) -> None:
    finding.history = [
        *finding.history,
        {"at": now.isoformat(), "from": finding.status, "to": to, "by": by, "reason": reason},
    ]
    finding.status = to
    finding.status_by = by
    finding.status_reason = reason


async def observe(
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    rule_id: str,
    finding_type: str,
    severity: str,
    message: str,
    evidence: dict[str, Any],
    remediation: str | None = None,
    tags: list[str] | None = None,
    key: str = "",
    by: str = "engine",
    now: datetime | None = None,
) -> Finding:
    """Record that a condition holds now: create, refresh, or reopen its finding."""
    now = now or utcnow()
    fp = fingerprint(rule_id, agent_id, key)
    finding = (
        await session.execute(select(Finding).where(Finding.fingerprint == fp))
    ).scalar_one_or_none()
    if finding is None:
        finding = Finding(
            agent_id=agent_id,
            fingerprint=fp,
            rule_id=rule_id,
            finding_type=finding_type,
            severity=severity,
            message=message,
            remediation=remediation,
            evidence=evidence,
            tags=tags or [],
            status="OPEN",
            history=[{"at": now.isoformat(), "from": None, "to": "OPEN", "by": by}],
            first_seen_at=now,
            last_seen_at=now,
        )
        session.add(finding)
        await session.flush()
        await alert_triggers.finding_opened(session, finding)
        return finding
    finding.message, finding.severity, finding.evidence = message, severity, evidence
    finding.last_seen_at = now
    expired = finding.suppressed_until is not None and finding.suppressed_until <= now
    reopened = finding.status == "RESOLVED" or (
        finding.status in ("ACKNOWLEDGED", "SUPPRESSED") and expired
    )
    if reopened:
        _transition(finding, "OPEN", by, "condition observed again", now)
        finding.suppressed_until = None
        finding.resolved_at = None
        finding.resolved_by = None
    finding.updated_at = now
    await session.flush()
    if reopened:
        await alert_triggers.finding_opened(session, finding)
    return finding


async def clear(
    session: AsyncSession,
    agent_ids: set[uuid.UUID],
    rule_id: str,
    *,
    keep: Collection[str] = (),
    by: str = "engine",
    reason: str = "condition no longer holds",
    now: datetime | None = None,
) -> int:
    """Auto-resolve open/acknowledged findings of ``rule_id`` on these agents, except ``keep``."""
    if not agent_ids:
        return 0
    now = now or utcnow()
    rows = await session.execute(
        select(Finding).where(
            Finding.rule_id == rule_id,
            Finding.agent_id.in_(agent_ids),
            Finding.status.in_(("OPEN", "ACKNOWLEDGED")),
        )
    )
    resolved = 0
    for finding in rows.scalars():
        if finding.fingerprint in keep:
            continue
        _transition(finding, "RESOLVED", by, reason, now)
        finding.resolved_at = now
        finding.resolved_by = by
        finding.suppressed_until = None
        finding.updated_at = now
        resolved += 1
    await session.flush()
    return resolved
