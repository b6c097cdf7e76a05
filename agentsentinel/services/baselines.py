"""What the behavior engine learned about an agent, read from its checkpoint.

The worker owns the live detector; API processes read the agent's last checkpoint (saved every
``checkpoint_interval_ms`` while it learns) into a throw-away detector to answer
``GET /agents/{id}/baseline`` and to compute the behavior score at the time of the request (the
score decays with time, so it is computed on read, not stored).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.behavior import (
    AgentProfile,
    BehaviorScore,
    Detector,
    DetectorConfig,
    StateVersionError,
)
from agentsentinel.models import Agent, Baseline, ToolGrant
from agentsentinel.posture import classify_tool

log = logging.getLogger(__name__)


def _capabilities_of(tool: str) -> frozenset[str]:
    """Capabilities of a tool that no profile grants, from its name alone (shared classifier)."""
    return frozenset(cap.value for cap in classify_tool(tool).capabilities)


def new_detector() -> Detector:
    """A detector configured the way the server uses it."""
    return Detector(DetectorConfig(capability_lookup=_capabilities_of))


async def load_profiles(
    session: AsyncSession, agent_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AgentProfile]:
    """Profiles of existing agents (deleted ones are absent)."""
    if not agent_ids:
        return {}
    agents = await session.execute(
        select(Agent.id, Agent.agent_type, Agent.owner_team, Agent.created_at).where(
            Agent.id.in_(agent_ids)
        )
    )
    grants: dict[uuid.UUID, dict[str, frozenset[str]]] = {}
    rows = await session.execute(
        select(ToolGrant.agent_id, ToolGrant.tool_name, ToolGrant.capabilities).where(
            ToolGrant.agent_id.in_(agent_ids)
        )
    )
    for agent_id, tool, caps in rows:
        grants.setdefault(agent_id, {})[tool] = frozenset(caps or ())
    return {
        agent_id: AgentProfile(
            agent_id=str(agent_id),
            agent_type=agent_type,
            owner_team=owner_team,
            granted_tools=grants.get(agent_id, {}),
            created_at=created_at,
        )
        for agent_id, agent_type, owner_team, created_at in agents
    }


@dataclass(frozen=True)
class AgentBaseline:
    """An agent's restored detector state and the checkpoint it came from."""

    detector: Detector
    agent_id: str
    row: Baseline | None


async def load(session: AsyncSession, agent: Agent) -> AgentBaseline:
    """The agent's checkpoint in a detector of its own (empty when it has none yet)."""
    detector = new_detector()
    agent_id = str(agent.id)
    row = (
        await session.execute(
            select(Baseline).where(Baseline.scope == "agent", Baseline.scope_key == agent_id)
        )
    ).scalar_one_or_none()
    if row is not None:
        try:
            detector.import_agent_state(agent_id, row.state)
        except (StateVersionError, ValueError) as exc:
            log.warning("baseline of agent %s not readable: %s", agent_id, exc)
            row = None
    profile = (await load_profiles(session, [agent.id])).get(agent.id)
    if profile is not None:
        detector.upsert_profile(profile)
    return AgentBaseline(detector, agent_id, row)


async def behavior(session: AsyncSession, agent: Agent, now: datetime) -> BehaviorScore:
    """The agent's behavior score at ``now`` (100 and "insufficient evidence" before events)."""
    baseline = await load(session, agent)
    return baseline.detector.behavior_score(baseline.agent_id, now)


async def summary(session: AsyncSession, agent: Agent, now: datetime) -> dict[str, Any]:
    """``GET /agents/{id}/baseline``: learned model, maturity, and the behavior score now."""
    baseline = await load(session, agent)
    out = baseline.detector.agent_baseline_summary(baseline.agent_id)
    row = baseline.row
    out["checkpoint"] = {
        "saved_at": row.updated_at.isoformat() if row is not None else None,
        "events_processed": row.event_count if row is not None else 0,
        "last_event_at": row.last_event_at.isoformat()
        if row is not None and row.last_event_at is not None
        else None,
    }
    out["behavior"] = baseline.detector.behavior_score(baseline.agent_id, now).to_dict()
    return out
