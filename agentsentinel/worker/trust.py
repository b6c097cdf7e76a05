"""Trust recomputation in the worker: debounced after events, periodic for decay and silence.

Agents whose events were just stored are marked; at most every ``trust_debounce_ms`` the marked
agents are recomputed in one transaction (so an agent is rescored at most about once a second
however many events it sends), with the live detector's behavior score. Every
``trust_refresh_s`` every agent on the shards this worker owns is recomputed, so recency decays
and alarms age out for silent agents too.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.behavior import BehaviorScore
from agentsentinel.bus.base import shard_for
from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent
from agentsentinel.services import scores
from agentsentinel.settings import Settings

log = logging.getLogger(__name__)

BehaviorLookup = Callable[[str, datetime], BehaviorScore | None]
_CHUNK = 200


async def owned_agents(
    sessions: async_sessionmaker[AsyncSession], owned_shards: frozenset[int], shard_count: int
) -> list[uuid.UUID]:
    """Ids of the agents whose events go to the shards this worker owns, sorted."""
    async with sessions() as session:
        ids = (await session.execute(select(Agent.id).order_by(Agent.id))).scalars()
        return [a for a in ids if shard_for(a, shard_count) in owned_shards]


class TrustUpdater:
    """Recomputes trust scores of marked agents (debounced) and of owned agents (periodic)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        behavior_of: BehaviorLookup,
        shard_count: int,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.behavior_of = behavior_of
        self.shard_count = shard_count
        self._marked: set[uuid.UUID] = set()
        self._next_flush = 0.0
        self._next_refresh = time.monotonic() + settings.trust_refresh_s
        self.recomputed = 0

    def mark(self, agent_ids: set[uuid.UUID]) -> None:
        self._marked |= agent_ids

    async def tick(self, owned_shards: frozenset[int], *, force: bool = False) -> None:
        """Run what is due (call often; it is cheap when nothing is)."""
        now = time.monotonic()
        if self._marked and (force or now >= self._next_flush):
            marked, self._marked = self._marked, set()
            self._next_flush = now + self.settings.trust_debounce_ms / 1000.0
            await self._recompute(marked)
        if now >= self._next_refresh:
            self._next_refresh = now + self.settings.trust_refresh_s
            await self.refresh_owned(owned_shards)

    async def refresh_owned(self, owned_shards: frozenset[int]) -> None:
        """Recompute every agent on the owned shards."""
        mine = await owned_agents(self.sessions, owned_shards, self.shard_count)
        for i in range(0, len(mine), _CHUNK):
            await self._recompute(set(mine[i : i + _CHUNK]))

    async def _recompute(self, agent_ids: set[uuid.UUID]) -> None:
        try:
            async with self.sessions() as session, session.begin():
                agents = (
                    await session.execute(select(Agent).where(Agent.id.in_(agent_ids)))
                ).scalars()
                now = utcnow()
                for agent in agents:
                    behavior = self.behavior_of(str(agent.id), now)
                    await scores.recompute(
                        session, agent, behavior=behavior, settings=self.settings, now=now
                    )
                    self.recomputed += 1
        except Exception:
            log.warning("trust recompute of %d agents failed", len(agent_ids), exc_info=True)
            self._marked |= agent_ids  # try again on the next tick
