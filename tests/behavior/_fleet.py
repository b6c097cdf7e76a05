"""A small, deterministic fleet simulator for the detector's tests.

Support agents of one peer group work weekdays 09:00-17:00 UTC in sessions of a few calls:
read a ticket, search the knowledge base, reply to the customer (a new address each time), update
the ticket, or escalate to an internal list (three known addresses); 2 % of calls time out.
Everything derives from a seed, so every test sees the same history.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agentsentinel.behavior import AgentProfile, BehaviorEvent, Detector, DetectorConfig

T0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday

TOOLS: dict[str, frozenset[str]] = {
    "read_ticket": frozenset({"reads_private_data"}),
    "search_kb": frozenset(),
    "reply_ticket": frozenset({"writes_external"}),
    "update_ticket": frozenset({"writes_internal"}),
    "send_email": frozenset({"writes_external"}),
    "issue_refund": frozenset({"financial"}),
    "delete_ticket": frozenset({"destructive"}),
}
TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("read_ticket", "search_kb", "reply_ticket", "update_ticket"),
    ("read_ticket", "update_ticket"),
    ("read_ticket", "search_kb", "send_email"),
    ("read_ticket", "issue_refund", "reply_ticket"),
)


def h(*parts: object) -> str:
    """A SHA-256 hex digest of the parts (stands in for the client's content hashes)."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def profile(agent_id: str, team: str = "emea", tools: Iterable[str] | None = None) -> AgentProfile:
    """A support agent's profile (grants: every tool of the role unless ``tools`` is given)."""
    names = list(tools) if tools is not None else list(TOOLS)
    return AgentProfile(
        agent_id=agent_id,
        agent_type="support_agent",
        owner_team=team,
        granted_tools={name: TOOLS.get(name, frozenset()) for name in names},
    )


def call(
    agent_id: str,
    tool: str,
    at: datetime,
    session_id: str | None,
    rng: random.Random,
    **overrides: Any,
) -> BehaviorEvent:
    """One realistic call of ``tool`` (any field can be overridden)."""
    target = None
    if tool == "send_email":
        target = h("team-list", rng.randrange(3))
    elif tool == "reply_ticket":
        target = h("customer", rng.random())
    values: dict[str, Any] = {
        "input_hash": h("in", rng.random()),
        "output_hash": h("out", rng.random()),
        "duration_ms": int(rng.lognormvariate(5.0, 0.5)),
        "input_bytes": int(rng.lognormvariate(7.0, 0.5)),
        "output_bytes": int(rng.lognormvariate(8.0, 0.7)),
        "target_hash": target,
        "tool_definition_hash": h("definition", tool, 1),
        "metrics": {"amount": round(rng.lognormvariate(4.0, 0.5), 2)}
        if tool == "issue_refund"
        else {},
    }
    values.update(overrides)
    return BehaviorEvent(
        agent_id=agent_id, tool_name=tool, occurred_at=at, session_id=session_id, **values
    )


def history(
    agent_ids: Sequence[str],
    days: int,
    seed: int = 1,
    start: datetime = T0,
    sessions_per_day: int = 12,
) -> list[BehaviorEvent]:
    """Weekday sessions of every agent, 09:00-17:00 UTC, in event-time order."""
    rng = random.Random(seed)
    events: list[BehaviorEvent] = []
    for day in range(days):
        date = start + timedelta(days=day)
        if date.weekday() >= 5:
            continue
        for agent_id in agent_ids:
            for n in range(sessions_per_day):
                at = date + timedelta(hours=9.0 + rng.uniform(0.0, 8.0))
                sid = f"{agent_id}-{day}-{n}"
                for tool in rng.choice(TEMPLATES):
                    if rng.random() < 0.02:  # an occasional timeout
                        events.append(
                            call(agent_id, tool, at, sid, rng, status="error", error_type="timeout")
                        )
                    else:
                        events.append(call(agent_id, tool, at, sid, rng))
                    at += timedelta(seconds=rng.uniform(2.0, 20.0))
    events.sort(key=lambda e: e.occurred_at)
    return events


def trained(
    agent_ids: Sequence[str] = ("a1", "a2", "a3", "a4"),
    days: int = 14,
    seed: int = 1,
    config: DetectorConfig | None = None,
) -> tuple[Detector, datetime]:
    """A detector that learned ``days`` of history of the agents; returns it and the end time."""
    detector = Detector(config)
    for agent_id in agent_ids:
        detector.upsert_profile(profile(agent_id))
    for event in history(agent_ids, days, seed):
        detector.process(event)
    return detector, T0 + timedelta(days=days)


def workday(end: datetime, hour: float = 11.0) -> datetime:
    """The first weekday at or after ``end``, at ``hour`` UTC."""
    day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day + timedelta(hours=hour)
