"""Plain data in and out of the detector: events, agent profiles, scores, alarms.

Everything here is immutable and free of I/O; the worker builds these from validated API payloads
and turns the results into API responses (``to_dict``) and findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EVENT_STATUSES = ("ok", "error")


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


@dataclass(frozen=True, slots=True)
class BehaviorEvent:
    """One tool call as the detector sees it (the API's event, hashes already lower-case).

    ``occurred_at`` is the event time (client time, or received time when the client's was
    missing or in the future) and must be timezone-aware. ``metrics`` holds argument values to
    watch, e.g. ``{"amount": 1250.0}``; ``target_hash`` is the hash of the destination argument.
    """

    agent_id: str
    tool_name: str
    occurred_at: datetime
    session_id: str | None = None
    input_hash: str | None = None
    output_hash: str | None = None
    duration_ms: int | None = None
    status: str = "ok"
    error_type: str | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    target_hash: str | None = None
    tool_definition_hash: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    event_id: str | None = None

    def __post_init__(self) -> None:
        _require_aware(self.occurred_at, "occurred_at")
        if self.status not in EVENT_STATUSES:
            raise ValueError(f"status must be one of {EVENT_STATUSES}, got {self.status!r}")


@dataclass(frozen=True)
class AgentProfile:
    """What the detector needs to know about an agent besides its events.

    ``granted_tools`` maps each granted tool to its capability names (from the shared tool
    classifier: ``destructive``, ``code_execution``, ``writes_external``, ``reads_private_data``,
    ``financial``, ``privilege_admin``, ``secrets_access``, ...). An empty mapping means "no grants
    registered" (ungranted-tool checks are off), not "nothing is allowed".
    ``tool_definition_hashes`` holds the definition hash an admin has pinned or acknowledged per
    tool; a definition change to the acknowledged hash is never anomalous.
    The peer group is (agent_type, owner_team, set of granted tools) by default.
    """

    agent_id: str
    agent_type: str = "llm_agent"
    owner_team: str = "unassigned"
    granted_tools: Mapping[str, frozenset[str]] = field(default_factory=dict)
    created_at: datetime | None = None
    tool_definition_hashes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reason:
    """One contributing signal of a score, with what was expected and what was observed."""

    signal: str
    detail: str
    expected: str | None
    observed: str | None
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API's ``reasons[]``."""
        return {
            "signal": self.signal,
            "detail": self.detail,
            "expected": self.expected,
            "observed": self.observed,
            "p_value": self.p_value,
        }


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The detector's verdict on one event.

    ``anomaly_score`` is calibrated against recent fleet traffic: 0.99 means the event is rarer
    than 99 % of recent events. ``raw_p`` is the combined p-value before calibration; ``signals``
    holds the p-value of every sub-signal that applied to the event. ``quarantined`` events were
    not learned from.
    """

    anomaly_score: float
    raw_p: float
    reasons: tuple[Reason, ...]
    quarantined: bool
    signals: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API returns ``anomaly_score`` and ``reasons``)."""
        return {
            "anomaly_score": self.anomaly_score,
            "raw_p": self.raw_p,
            "reasons": [r.to_dict() for r in self.reasons],
            "quarantined": self.quarantined,
            "signals": dict(self.signals),
        }


@dataclass(frozen=True, slots=True)
class SilenceAlert:
    """An agent that stopped reporting while it is usually active."""

    agent_id: str
    last_event_at: datetime
    silent_seconds: float
    expected_events: float
    p_value: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "agent_id": self.agent_id,
            "last_event_at": self.last_event_at.isoformat(),
            "silent_seconds": self.silent_seconds,
            "expected_events": self.expected_events,
            "p_value": self.p_value,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class AlarmSummary:
    """One anomalous session (or event) that contributes to an agent's behavior score."""

    occurred_at: datetime
    anomaly_score: float
    contribution: float
    session_id: str | None
    event_id: str | None
    tool_name: str
    signals: tuple[str, ...]
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "anomaly_score": self.anomaly_score,
            "contribution": self.contribution,
            "session_id": self.session_id,
            "event_id": self.event_id,
            "tool_name": self.tool_name,
            "signals": list(self.signals),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class BehaviorScore:
    """Behavior score of an agent (0-100, 100 = clean) and the alarms that moved it.

    ``insufficient_evidence`` is true while the agent has too few events for its score to mean
    much (the trust engine shows such agents as WATCH, "insufficient evidence"). ``silence`` is
    the open silence alert, if the agent is currently silent inside its usual active window.
    """

    agent_id: str
    score: float
    penalty: float
    alarms: tuple[AlarmSummary, ...]
    evidence_events: float
    insufficient_evidence: bool
    last_event_at: datetime | None
    silence: SilenceAlert | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "agent_id": self.agent_id,
            "score": self.score,
            "penalty": self.penalty,
            "alarms": [a.to_dict() for a in self.alarms],
            "evidence_events": self.evidence_events,
            "insufficient_evidence": self.insufficient_evidence,
            "last_event_at": self.last_event_at.isoformat() if self.last_event_at else None,
            "silence": self.silence.to_dict() if self.silence else None,
        }
