"""The conditions that alert, called by the engines inside their own transaction.

Each builds a channel-independent payload (agent, trigger, severity, message, ids, summary) and a
dedup key that names the occurrence, not the observation: a rescan or a redelivered event maps
to the same key and never alerts twice; a reopened finding or a new entry into a band is a new
occurrence and alerts again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.alerts.outbox import AlertDraft, enqueue_many
from agentsentinel.models import Agent, Finding

CRITICAL_FINDING = "critical_finding"
AGENT_STATUS = "agent_status"
ANOMALY = "anomalous_event"
UNGRANTED_TOOL = "ungranted_tool"

# Trust bands from best to worst (agentsentinel.trust.engine).
_BAND_RANK = {"TRUSTED": 0, "WATCH": 1, "ALERT": 2, "CRITICAL": 3}
_ALERTING_BANDS = ("ALERT", "CRITICAL")


async def finding_opened(session: AsyncSession, finding: Finding) -> None:
    """A finding was created or reopened: alert when it is CRITICAL (once per occurrence)."""
    if finding.severity != "CRITICAL" or finding.status != "OPEN":
        return
    occurrence = sum(1 for entry in finding.history if entry.get("to") == "OPEN")
    agent_name = (
        await session.execute(select(Agent.name).where(Agent.id == finding.agent_id))
    ).scalar_one_or_none()
    payload = {
        "trigger": CRITICAL_FINDING,
        "severity": "CRITICAL",
        "agent_id": str(finding.agent_id),
        "agent_name": agent_name,
        "finding_id": str(finding.id),
        "rule_id": finding.rule_id,
        "message": f"{'Reopened' if occurrence > 1 else 'New'} CRITICAL finding: {finding.message}",
        "summary": {
            "rule_id": finding.rule_id,
            "finding_type": finding.finding_type,
            "fingerprint": finding.fingerprint,
            "occurrence": occurrence,
            "remediation": finding.remediation,
            "first_seen_at": _iso(finding.first_seen_at),
        },
    }
    key = f"finding:{finding.fingerprint}:{occurrence}"
    await enqueue_many(session, [AlertDraft(CRITICAL_FINDING, finding.agent_id, key, payload)])


async def status_changed(
    session: AsyncSession,
    agent: Agent,
    previous: str | None,
    *,
    trust_score: float,
    reasons: Sequence[Mapping[str, Any]] = (),
    now: datetime,
) -> None:
    """The agent's band moved: alert when it entered ALERT or CRITICAL from a better band."""
    current = agent.status
    if current not in _ALERTING_BANDS or previous == current:
        return
    if previous in _BAND_RANK and _BAND_RANK[previous] >= _BAND_RANK[current]:
        return  # CRITICAL -> ALERT is an improvement
    payload = {
        "trigger": AGENT_STATUS,
        "severity": "CRITICAL" if current == "CRITICAL" else "HIGH",
        "agent_id": str(agent.id),
        "agent_name": agent.name,
        "status": current,
        "message": (
            f"Agent entered {current} (was {previous or 'unscored'}); trust score {trust_score:.1f}"
        ),
        "summary": {
            "previous_status": previous,
            "trust_score": round(trust_score, 2),
            "posture_score": agent.posture_score,
            "behavior_score": agent.behavior_score,
            "reasons": [dict(r) for r in list(reasons)[:5]],
        },
    }
    key = f"status:{agent.id}:{current}:{int(now.timestamp() * 1000)}"
    await enqueue_many(session, [AlertDraft(AGENT_STATUS, agent.id, key, payload)])


async def events_stored(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    agent_names: Mapping[uuid.UUID, str],
    threshold: float,
) -> None:
    """Newly stored events (not duplicates): alert on ungranted tool use and high anomaly."""
    drafts = []
    for row in rows:
        reasons = row.get("reasons") or []
        score = row.get("anomaly_score")
        ungranted = any(r.get("signal") == UNGRANTED_TOOL for r in reasons)
        anomalous = score is not None and score >= threshold
        if not (ungranted or anomalous):
            continue
        trigger = UNGRANTED_TOOL if ungranted else ANOMALY
        agent_id = row["agent_id"]
        name = agent_names.get(agent_id)
        what = "ungranted tool" if ungranted else "anomalous call of"
        payload = {
            "trigger": trigger,
            "severity": "HIGH",
            "agent_id": str(agent_id),
            "agent_name": name,
            "event_id": str(row["id"]),
            "tool_name": row.get("tool_name"),
            "anomaly_score": score,
            "message": f"{what} {row.get('tool_name')!r} (anomaly score {score})",
            "summary": {
                "occurred_at": _iso(row.get("ts")),
                "session_id": row.get("session_id"),
                "reasons": [
                    {"signal": r.get("signal"), "detail": r.get("detail")} for r in reasons[:5]
                ],
            },
        }
        drafts.append(AlertDraft(trigger, agent_id, f"event:{row['id']}", payload))
    await enqueue_many(session, drafts)


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
