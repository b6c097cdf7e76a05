"""The behavior detector inside the worker: profiles, checkpoints, replay safety, silence.

One ``DetectorPipeline`` per worker process holds a :class:`~agentsentinel.behavior.Detector`
for the agents of the shards it owns (one writer per agent, events in stream order).

Checkpoints and exactly-once learning
-------------------------------------
Each agent's state is saved in ``baselines`` (scope ``agent``) with ``last_stream_id``, the
highest bus position whose event the state has learned. Stream ids grow on a shard (Redis ids
and the in-memory bus's are both time-based), and an agent lives on one shard, so "learned or
not" is one comparison per event:

- an event above the agent's applied id is scored, then learned (``Detector.process``);
- an event at or below it (a redelivery after a crash or a failed batch) is only scored
  (``Detector.score``): it is never learned twice.

The ingest service acks bus entries only after ``checkpoint`` has stored the state that learned
them. A worker killed between the two leaves the entries pending; the next owner of the shard
loads the last checkpoint (lazily, the first time it sees the agent) and learns exactly the
entries after it. The shared state (peer groups, fleet priors, calibration) is saved less
often (scope ``global``); it is a fleet-wide statistic, so a replay may count a few events in
it twice, which it tolerates by construction.

When a worker loses a shard (rebalancing) it drops the state of that shard's agents without
saving and does not ack that shard's held entries: the new owner replays them from the last
checkpoint.

Profiles (type, team, grants with their capabilities) come from the database: loaded with the
agent, refreshed every ``profile_refresh_s`` and immediately when an event names a tool outside
the agent's known grants (so a grant registered a moment ago never reads as "ungranted").
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.behavior import (
    BehaviorEvent,
    BehaviorScore,
    Detector,
    SilenceAlert,
    StateVersionError,
)
from agentsentinel.behavior.state import STATE_VERSION
from agentsentinel.bus.base import shard_for
from agentsentinel.db.engine import dialect_insert
from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, Baseline, Finding
from agentsentinel.services import findings
from agentsentinel.services.baselines import load_profiles, new_detector
from agentsentinel.settings import Settings
from agentsentinel.worker.scoring import EventScore, ScoringInput

log = logging.getLogger(__name__)

SHARED_SCOPE = ("global", "fleet")
SILENCE_RULE = "AGENT_SILENT"
_StreamPos = tuple[int, int]
_NEVER: _StreamPos = (-1, -1)


def stream_position(stream_id: str) -> _StreamPos:
    """Order key of a bus position (``<ms>-<seq>``)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def behavior_event(payload: dict[str, Any]) -> BehaviorEvent:
    """The detector's view of a bus payload (already validated by the API)."""
    metrics = payload.get("metrics") or {}
    return BehaviorEvent(
        agent_id=payload["agent_id"],
        tool_name=payload["tool_name"],
        occurred_at=datetime.fromisoformat(payload["occurred_at"]),
        session_id=payload.get("session_id"),
        input_hash=payload.get("input_hash"),
        output_hash=payload.get("output_hash"),
        duration_ms=payload.get("duration_ms"),
        status=payload.get("status", "ok"),
        error_type=payload.get("error_type"),
        input_bytes=payload.get("input_bytes"),
        output_bytes=payload.get("output_bytes"),
        target_hash=payload.get("target_hash"),
        tool_definition_hash=payload.get("tool_definition_hash"),
        metrics={k: float(v) for k, v in metrics.items()},
        tags=tuple(payload.get("tags") or ()),
        event_id=payload.get("event_id"),
    )


class DetectorPipeline:
    """``EventScorer`` backed by the behavior detector, with checkpoints in ``baselines``."""

    stateful = True

    def __init__(self, settings: Settings, detector: Detector | None = None) -> None:
        self.settings = settings
        self.detector = detector or new_detector()
        self._shared_loaded = False
        self._loaded: set[str] = set()
        self._applied: dict[str, _StreamPos] = {}
        self._learned: dict[str, int] = {}
        self._last_event: dict[str, datetime] = {}
        self._dirty: set[str] = set()
        self._grants: dict[str, frozenset[str]] = {}
        self._profile_at: dict[str, float] = {}
        self._last_shared = time.monotonic()

    # Loading ----------------------------------------------------------------------------

    async def prepare(self, session: AsyncSession, items: Sequence[ScoringInput]) -> None:
        """Load checkpoints of agents seen for the first time; refresh stale profiles."""
        if not self._shared_loaded:
            await self._load_shared(session)
        now = time.monotonic()
        refresh_s = self.settings.profile_refresh_s
        missing: set[str] = set()
        stale: set[str] = set()
        for item in items:
            agent_id = item.payload["agent_id"]
            if agent_id not in self._loaded:
                missing.add(agent_id)
                continue
            if now - self._profile_at.get(agent_id, 0.0) > refresh_s:
                stale.add(agent_id)
            grants = self._grants.get(agent_id)
            if grants is not None and item.payload["tool_name"] not in grants:
                stale.add(agent_id)  # a grant may have been registered since we last looked
        if missing:
            await self._load_agents(session, missing)
        stale -= missing
        if stale:
            await self._load_profiles(session, stale)

    async def _load_shared(self, session: AsyncSession) -> None:
        row = (
            await session.execute(
                select(Baseline.state).where(
                    Baseline.scope == SHARED_SCOPE[0], Baseline.scope_key == SHARED_SCOPE[1]
                )
            )
        ).scalar_one_or_none()
        if row is not None:
            try:
                self.detector.import_shared_state(row)
            except (StateVersionError, ValueError) as exc:
                log.warning("fleet baseline checkpoint not usable (%s); relearning it", exc)
        self._shared_loaded = True

    async def _load_agents(self, session: AsyncSession, agent_ids: set[str]) -> None:
        ids = [uuid.UUID(a) for a in agent_ids]
        rows = await session.execute(
            select(
                Baseline.scope_key,
                Baseline.state,
                Baseline.last_stream_id,
                Baseline.event_count,
                Baseline.last_event_at,
            ).where(Baseline.scope == "agent", Baseline.agent_id.in_(ids))
        )
        for agent_id, state, last_stream_id, event_count, last_event_at in rows:
            try:
                self.detector.import_agent_state(agent_id, state)
            except (StateVersionError, ValueError) as exc:
                log.warning("baseline of agent %s not usable (%s); relearning it", agent_id, exc)
                continue
            if last_stream_id:
                self._applied[agent_id] = stream_position(last_stream_id)
            self._learned[agent_id] = event_count
            if last_event_at is not None:
                self._last_event[agent_id] = last_event_at
        await self._load_profiles(session, agent_ids)
        self._loaded |= agent_ids

    async def _load_profiles(self, session: AsyncSession, agent_ids: set[str]) -> None:
        profiles = await load_profiles(session, [uuid.UUID(a) for a in agent_ids])
        now = time.monotonic()
        for agent_id in agent_ids:
            profile = profiles.get(uuid.UUID(agent_id))
            if profile is None:
                continue  # deleted: its events are rejected before scoring
            self.detector.upsert_profile(profile)
            self._grants[agent_id] = frozenset(profile.granted_tools)
            self._profile_at[agent_id] = now

    # Scoring ----------------------------------------------------------------------------

    def score_batch(self, items: Sequence[ScoringInput]) -> list[EventScore]:
        """Score in stream order; learn only from events past the agent's applied position."""
        detector = self.detector
        out: list[EventScore] = []
        for item in items:
            payload = item.payload
            agent_id = payload["agent_id"]
            try:
                event = behavior_event(payload)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("event %s not scorable: %s", payload.get("event_id"), exc)
                out.append(EventScore(None))
                continue
            position = stream_position(item.stream_id)
            if position > self._applied.get(agent_id, _NEVER):
                result = detector.process(event)
                self._applied[agent_id] = position
                self._learned[agent_id] = self._learned.get(agent_id, 0) + 1
                last = self._last_event.get(agent_id)
                if last is None or event.occurred_at > last:
                    self._last_event[agent_id] = event.occurred_at
                self._dirty.add(agent_id)
            else:
                result = detector.score(event)
            out.append(
                EventScore(
                    round(result.anomaly_score, 6),
                    [reason.to_dict() for reason in result.reasons],
                )
            )
        return out

    # Checkpoints ------------------------------------------------------------------------

    async def checkpoint(self, session: AsyncSession, *, final: bool = False) -> None:
        """Save the state of every agent that learned since the last checkpoint.

        The shared state is saved every ``shared_checkpoint_s`` and on the ``final`` checkpoint.
        """
        insert = dialect_insert(session)
        now = utcnow()
        rows = []
        for agent_id in sorted(self._dirty):
            if agent_id not in self._loaded:
                continue
            try:
                blob = self.detector.export_agent_state(agent_id)
            except KeyError:
                continue
            position = self._applied.get(agent_id)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "scope": "agent",
                    "scope_key": agent_id,
                    "agent_id": uuid.UUID(agent_id),
                    "state": blob,
                    "state_version": STATE_VERSION,
                    "event_count": self._learned.get(agent_id, 0),
                    "last_stream_id": f"{position[0]}-{position[1]}" if position else None,
                    "last_event_at": self._last_event.get(agent_id),
                    "updated_at": now,
                }
            )
        if rows:
            # Rows of agents deleted meanwhile are skipped: their state has no owner any more.
            existing = set(
                (
                    await session.execute(
                        select(Agent.id).where(Agent.id.in_([r["agent_id"] for r in rows]))
                    )
                ).scalars()
            )
            rows = [r for r in rows if r["agent_id"] in existing]
        if rows:
            stmt = insert(Baseline)
            stmt = stmt.on_conflict_do_update(
                index_elements=["scope", "scope_key"],
                set_={
                    "state": stmt.excluded.state,
                    "event_count": stmt.excluded.event_count,
                    "last_stream_id": stmt.excluded.last_stream_id,
                    "last_event_at": stmt.excluded.last_event_at,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            await session.execute(stmt, rows)
        if final or time.monotonic() - self._last_shared >= self.settings.shared_checkpoint_s:
            await self._save_shared(session)
        self._dirty.clear()

    async def _save_shared(self, session: AsyncSession) -> None:
        insert = dialect_insert(session)
        stmt = insert(Baseline).values(
            id=uuid.uuid4(),
            scope=SHARED_SCOPE[0],
            scope_key=SHARED_SCOPE[1],
            agent_id=None,
            state=self.detector.export_shared_state(),
            state_version=STATE_VERSION,
            event_count=0,
            updated_at=utcnow(),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope", "scope_key"],
            set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
        )
        await session.execute(stmt)
        self._last_shared = time.monotonic()

    def behavior(self, agent_id: str, now: datetime) -> BehaviorScore | None:
        """The live behavior score of an agent this worker holds (None if it holds none)."""
        if agent_id not in self._loaded:
            return None
        return self.detector.behavior_score(agent_id, now)

    # Ownership --------------------------------------------------------------------------

    def granted(self, agent_id: str, tool_name: str) -> bool | None:
        """From the agent's profile (refreshed by ``prepare`` when a tool is not in it)."""
        grants = self._grants.get(agent_id)
        return None if grants is None else tool_name in grants

    def retain(self, owned_shards: frozenset[int], shard_count: int) -> None:
        for agent_id in list(self._loaded):
            if shard_for(agent_id, shard_count) not in owned_shards:
                self._drop(agent_id)

    def forget(self, agent_ids: set[uuid.UUID]) -> None:
        for agent_id in agent_ids:
            self._drop(str(agent_id))

    def _drop(self, agent_id: str) -> None:
        self.detector.forget_agent(agent_id)
        self._loaded.discard(agent_id)
        self._dirty.discard(agent_id)
        self._applied.pop(agent_id, None)
        self._learned.pop(agent_id, None)
        self._last_event.pop(agent_id, None)
        self._grants.pop(agent_id, None)
        self._profile_at.pop(agent_id, None)

    # Periodic ---------------------------------------------------------------------------

    async def periodic(self, session: AsyncSession, now: datetime) -> None:
        """Silence: an AGENT_SILENT finding per silent agent, resolved once it reports again.

        The detector stops calling a gap unusual when it runs into the agent's quiet hours (it
        could be an early finish); the finding stays open until the agent actually sends an event.
        """
        alerts = self.detector.check_silence(now)
        agent_ids = {uuid.UUID(a) for a in self._loaded}
        existing = set(
            (await session.execute(select(Agent.id).where(Agent.id.in_(agent_ids)))).scalars()
        )
        keep: set[str] = set()
        for alert in alerts:
            agent_id = uuid.UUID(alert.agent_id)
            if agent_id not in existing:
                continue
            finding = await findings.observe(
                session,
                agent_id=agent_id,
                rule_id=SILENCE_RULE,
                finding_type="BEHAVIOR",
                severity="MEDIUM",
                message=_silence_message(alert),
                remediation=(
                    "Check that the agent and its AgentSentinel instrumentation (LangChain "
                    "handler, MCP shim) are running; a hijacked or crashed agent often goes quiet."
                ),
                evidence=alert.to_dict(),
                tags=["ASI10"],
                by="behavior-engine",
            )
            keep.add(finding.fingerprint)
        open_rows = await session.execute(
            select(Finding.agent_id, Finding.fingerprint, Finding.evidence, Agent.last_event_at)
            .join(Agent, Agent.id == Finding.agent_id)
            .where(
                Finding.rule_id == SILENCE_RULE,
                Finding.status.in_(("OPEN", "ACKNOWLEDGED")),
                Finding.agent_id.in_(existing),
            )
        )
        reported: set[uuid.UUID] = set()
        for agent_id, fingerprint, evidence, last_event_at in open_rows:
            if fingerprint in keep or last_event_at is None:
                continue
            silent_since = _parse_time((evidence or {}).get("last_event_at"))
            if silent_since is None or last_event_at > silent_since:
                reported.add(agent_id)
        await findings.clear(
            session,
            reported,
            SILENCE_RULE,
            by="behavior-engine",
            reason="the agent reports again",
        )


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _silence_message(alert: SilenceAlert) -> str:
    return f"Agent went silent inside its usual active window: {alert.detail}"
