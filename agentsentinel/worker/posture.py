"""Posture scans in the worker: agents that used an ungranted tool, and a periodic full rescan.

The ingest service marks the agents whose stored events named a tool they hold no grant for;
each tick scans them (an agent at most every few seconds; one transaction per agent, so one
failing agent does not hold the others back), and every ``posture_scan_interval_s`` every
agent on the shards this worker owns is rescanned (grace periods elapse, usage ages out of the
ungranted window, suppressions expire). Changes made through the API are scanned in their own
request and need nothing from here.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent
from agentsentinel.services import posture
from agentsentinel.settings import Settings
from agentsentinel.worker.trust import BehaviorLookup, owned_agents

log = logging.getLogger(__name__)

_MARK_DEBOUNCE_S = 5.0
_FIRST_FULL_SCAN_S = 30.0


class PostureScanner:
    """Scans marked agents on the next tick and owned agents every scan interval."""

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
        self._last_scan: dict[uuid.UUID, float] = {}
        # The first full scan soon after start: grace periods and suppressions may have run
        # out while no worker was up.
        self._next_full = time.monotonic() + min(
            _FIRST_FULL_SCAN_S, settings.posture_scan_interval_s
        )
        self.scanned = 0

    def mark(self, agent_ids: set[uuid.UUID]) -> None:
        """Queue agents for a scan on the next tick."""
        self._marked |= agent_ids

    def forget(self, agent_ids: set[uuid.UUID]) -> None:
        """Drop bookkeeping of deleted agents."""
        self._marked -= agent_ids
        for agent_id in agent_ids:
            self._last_scan.pop(agent_id, None)

    async def tick(self, owned_shards: frozenset[int], *, now: float | None = None) -> None:
        """Run what is due (``now`` is a ``time.monotonic()`` reading; cheap when idle)."""
        now = time.monotonic() if now is None else now
        if self._marked:
            # An agent that keeps calling an ungranted tool is rescanned at most every
            # _MARK_DEBOUNCE_S, not on every batch; it stays marked until then.
            due = {
                a for a in self._marked if now - self._last_scan.get(a, -1e18) >= _MARK_DEBOUNCE_S
            }
            self._marked -= due
            for agent_id in due:
                self._last_scan[agent_id] = now
            await self._scan(due)
        if now >= self._next_full:
            self._next_full = now + self.settings.posture_scan_interval_s
            await self.scan_owned(owned_shards)

    async def scan_owned(self, owned_shards: frozenset[int]) -> None:
        """Scan every agent on the owned shards."""
        await self._scan(set(await owned_agents(self.sessions, owned_shards, self.shard_count)))

    async def _scan(self, agent_ids: set[uuid.UUID]) -> None:
        for agent_id in sorted(agent_ids):
            try:
                async with self.sessions() as session, session.begin():
                    agent = await session.get(Agent, agent_id)
                    if agent is None:
                        continue  # deleted since it was marked
                    moment = utcnow()
                    await posture.scan_agent(
                        session,
                        agent,
                        settings=self.settings,
                        now=moment,
                        behavior=self.behavior_of(str(agent_id), moment),
                    )
                    self.scanned += 1
            except Exception:
                # Not re-queued (a persistent failure would spin every tick): the periodic full
                # scan picks the agent up again.
                log.warning("posture scan of agent %s failed", agent_id, exc_info=True)
