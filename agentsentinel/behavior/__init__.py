"""Behavior engine: the per-agent anomaly detector (pure domain code: no web, DB or asyncio).

Public API: :class:`Detector`, :class:`DetectorConfig` and the plain data types in
:mod:`agentsentinel.behavior.events`. Contracts for the worker are in ``AGENTS.md``.
"""

from agentsentinel.behavior.config import DetectorConfig
from agentsentinel.behavior.detector import Detector
from agentsentinel.behavior.events import (
    AgentProfile,
    AlarmSummary,
    BehaviorEvent,
    BehaviorScore,
    Reason,
    ScoreResult,
    SilenceAlert,
)
from agentsentinel.behavior.state import StateVersionError

__all__ = [
    "AgentProfile",
    "AlarmSummary",
    "BehaviorEvent",
    "BehaviorScore",
    "Detector",
    "DetectorConfig",
    "Reason",
    "ScoreResult",
    "SilenceAlert",
    "StateVersionError",
]
