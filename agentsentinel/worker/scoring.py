"""The scoring hook between the event pipeline and the behavior engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EventScore:
    anomaly_score: float | None
    reasons: list[dict[str, Any]] = field(default_factory=list)


class EventScorer(Protocol):
    """Scores a shard's events in stream order, then learns from them (one writer per agent)."""

    def score_batch(self, events: Sequence[dict[str, Any]]) -> list[EventScore]: ...


class UnscoredPipeline:
    """Used until a detector is configured: every event is stored with a null score."""

    def score_batch(self, events: Sequence[dict[str, Any]]) -> list[EventScore]:
        return [EventScore(None) for _ in events]
