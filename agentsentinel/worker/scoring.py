"""The scoring hook between the event pipeline and the behavior engine.

The ingest service drives a scorer through one cycle per batch::

    await scorer.prepare(session, items)        # load checkpoints / profiles it lacks
    scores = scorer.score_batch(items)          # in stream order: score, then learn
    ... persist, commit, reply ...
    every checkpoint interval: await scorer.checkpoint(session); commit; ack what was held

A stateful scorer (the detector) makes the service hold its acks until the state that learned
from the events is checkpointed: a worker killed in between is replayed from the bus by the
next owner, which restores the checkpoint and learns those events once (see ``DetectorPipeline``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.behavior import BehaviorScore


@dataclass(frozen=True, slots=True)
class EventScore:
    anomaly_score: float | None
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ScoringInput:
    """One event to score: its bus payload and its position on its shard."""

    payload: dict[str, Any]
    stream_id: str


class EventScorer(Protocol):
    """Scores a shard's events in stream order, then learns from them (one writer per agent)."""

    #: True when the scorer keeps state that must be checkpointed before events are acked.
    stateful: bool

    async def prepare(self, session: AsyncSession, items: Sequence[ScoringInput]) -> None:
        """Load what scoring these events needs (checkpoints, profiles)."""
        ...

    def score_batch(self, items: Sequence[ScoringInput]) -> list[EventScore]: ...

    async def checkpoint(self, session: AsyncSession, *, final: bool = False) -> None:
        """Persist learned state (inside the caller's transaction)."""
        ...

    def retain(self, owned_shards: frozenset[int], shard_count: int) -> None:
        """Drop state of agents on shards this worker no longer owns."""
        ...

    def forget(self, agent_ids: set[uuid.UUID]) -> None:
        """Drop state of deleted agents."""
        ...

    async def periodic(self, session: AsyncSession, now: datetime) -> None:
        """Time-driven work (silence detection); called about once a minute."""
        ...

    def behavior(self, agent_id: str, now: datetime) -> BehaviorScore | None:
        """The live behavior score of an agent, when the scorer holds one."""
        ...

    def granted(self, agent_id: str, tool_name: str) -> bool | None:
        """Whether the agent holds a grant for the tool (None: the scorer does not know)."""
        ...


class UnscoredPipeline:
    """Used when no detector is configured: every event is stored with a null score."""

    stateful = False

    async def prepare(self, session: AsyncSession, items: Sequence[ScoringInput]) -> None:
        return None

    def score_batch(self, items: Sequence[ScoringInput]) -> list[EventScore]:
        return [EventScore(None) for _ in items]

    async def checkpoint(self, session: AsyncSession, *, final: bool = False) -> None:
        return None

    def retain(self, owned_shards: frozenset[int], shard_count: int) -> None:
        return None

    def forget(self, agent_ids: set[uuid.UUID]) -> None:
        return None

    async def periodic(self, session: AsyncSession, now: datetime) -> None:
        return None

    def behavior(self, agent_id: str, now: datetime) -> BehaviorScore | None:
        return None

    def granted(self, agent_id: str, tool_name: str) -> bool | None:
        return None
