"""The in-process event bus of the embedded mode: the Redis Streams semantics without Redis.

Each shard is a queue of unread entries plus a pending list (read, not yet acked), like a stream
and its consumer group's PEL. Ownership uses the same leases and fair share as the Redis bus
(monotonic clock instead of key TTLs), so the worker code and the contract tests are the same for
both. Everything runs on one event loop: no locks, and no await between a check and its update.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentsentinel.bus.base import (
    BusMessage,
    BusUnavailable,
    DeadLetter,
    Delivery,
    FeedFanout,
    FeedSubscription,
    Reply,
    ReplyWaiters,
    decode_message,
    default_instance_id,
    encode_message,
    shard_for,
)

DEAD_LETTER_LIMIT = 10_000  # the dead-letter list is for inspection; keep it bounded
_RECLAIM_INTERVAL_MS = 1_000
_MAX_DELIVERIES_REASON = "max deliveries exceeded"


_Id = tuple[int, int]  # (milliseconds, sequence), ordered like a Redis stream id


@dataclass(slots=True)
class _Entry:
    id: _Id
    message: BusMessage


@dataclass(slots=True)
class _Pending:
    entry: _Entry
    consumer_id: str
    delivered_at: float
    deliveries: int


@dataclass(slots=True)
class _Lease:
    owner: str
    expires_at: float


class _Shard:
    __slots__ = ("last_id", "pending", "unread")

    def __init__(self) -> None:
        self.last_id: _Id = (0, 0)
        self.unread: deque[_Entry] = deque()
        # Insertion order is stream order: entries only enter from ``unread``, in order, and a
        # claim updates an entry in place.
        self.pending: dict[_Id, _Pending] = {}

    def next_id(self) -> _Id:
        # Time-based like Redis ids, so ids keep growing across restarts of the process: a worker
        # that checkpoints "last applied id per shard" must not mistake new events for replays.
        now_ms = time.time_ns() // 1_000_000
        last_ms, last_seq = self.last_id
        self.last_id = (now_ms, 0) if now_ms > last_ms else (last_ms, last_seq + 1)
        return self.last_id


def _stream_id(entry_id: _Id) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


def _parse_id(stream_id: str) -> _Id:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class MemoryBus:
    """``EventBus`` for one process (``sentinel serve``): per-shard queues, leases, futures."""

    def __init__(
        self,
        shard_count: int = 16,
        max_deliveries: int = 5,
        capacity: int = 100_000,
        *,
        lease_ttl_ms: int = 10_000,
        reclaim_idle_ms: int = 5_000,
        instance_id: str | None = None,
    ) -> None:
        if shard_count < 1 or max_deliveries < 1 or capacity < 1 or lease_ttl_ms < 3:
            raise ValueError("shard_count, max_deliveries, capacity and lease_ttl_ms must be > 0")
        self.shard_count = shard_count
        self.instance_id = instance_id or default_instance_id()
        self.max_deliveries = max_deliveries
        self.capacity = capacity
        self.lease_ttl_ms = lease_ttl_ms
        self.reclaim_idle_ms = max(reclaim_idle_ms, 0)
        self._shards = [_Shard() for _ in range(shard_count)]
        self._backlog = 0  # unread + pending entries, bounded by ``capacity``
        self._leases: dict[int, _Lease] = {}
        self._heartbeats: dict[str, float] = {}
        self._dead: deque[DeadLetter] = deque(maxlen=DEAD_LETTER_LIMIT)
        self._wake = asyncio.Event()
        self._waiters = ReplyWaiters()
        self._feed = FeedFanout()
        self._closed = False

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Nothing to connect to; present for symmetry with the Redis bus."""

    async def close(self) -> None:
        """End feed subscriptions, wake reply waiters with None and blocked readers."""
        self._closed = True
        self._feed.close()
        self._waiters.close()
        self._notify()

    async def ping(self) -> bool:
        """True while the bus is open and below its capacity."""
        return not self._closed and self._backlog < self.capacity

    # Publishing and replies -----------------------------------------------------------------

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        """Enqueue messages on their agents' shards, or refuse all of them when over capacity."""
        if self._closed:
            raise BusUnavailable("the event bus is closed")
        if self._backlog + len(messages) > self.capacity:
            raise BusUnavailable(
                f"the in-memory event backlog is full ({self._backlog} of {self.capacity})"
            )
        # A trip through the wire format, as on Redis: a payload that Redis would refuse fails
        # here too, and the worker gets its own copy with the same (JSON) types.
        copies = [decode_message(encode_message(message)) for message in messages]
        for message in copies:
            shard = self._shards[shard_for(message.agent_id, self.shard_count)]
            shard.unread.append(_Entry(shard.next_id(), message))
        self._backlog += len(copies)
        if copies:
            self._notify()

    def expect_reply(self, message_id: str) -> None:
        """Register a reply waiter before publishing."""
        self._waiters.expect(message_id)

    def forget_reply(self, message_id: str) -> None:
        """Drop a reply waiter (the publish failed)."""
        self._waiters.forget(message_id)

    async def wait_reply(self, message_id: str, timeout: float) -> Reply | None:  # noqa: ASYNC109
        """The worker's reply, or None after ``timeout`` seconds."""
        return await self._waiters.wait(message_id, timeout)

    async def send_replies(self, replies: Sequence[tuple[str, Reply]]) -> None:
        """Complete the waiting requests of this process (there is no other one)."""
        for reply_to, reply in replies:
            if reply_to == self.instance_id:
                self._waiters.resolve(reply)

    async def broadcast(self, item: dict[str, Any]) -> None:
        """Fan a live-feed item out to the local subscribers."""
        self._feed.publish(item)

    async def broadcast_many(self, items: Sequence[dict[str, Any]]) -> None:
        """Fan several live-feed items out to the local subscribers, in order."""
        self._feed.publish_many(items)

    def subscribe_feed(self) -> FeedSubscription:
        """A bounded subscription to the live feed."""
        return self._feed.subscribe()

    # Consumers ------------------------------------------------------------------------------

    def consumer(self, consumer_id: str | None = None) -> MemoryShardConsumer:
        """A consumer handle; reusing a consumer id takes over that consumer's leases."""
        return MemoryShardConsumer(self, consumer_id or default_instance_id())

    async def stats(self) -> dict[str, Any]:
        """Depth, pending and lag per shard, owners, live workers and dead letters."""
        now = time.monotonic()
        shards: list[dict[str, Any]] = []
        for index, shard in enumerate(self._shards):
            lease = self._leases.get(index)
            owner = lease.owner if lease is not None and lease.expires_at > now else None
            shards.append(
                {
                    "shard": index,
                    "length": len(shard.unread) + len(shard.pending),
                    "pending": len(shard.pending),
                    "lag": len(shard.unread),
                    "owner": owner,
                }
            )
        return {
            "backend": "memory",
            "shard_count": self.shard_count,
            "length": self._backlog,
            "pending": sum(item["pending"] for item in shards),
            "lag": sum(item["lag"] for item in shards),
            "dead_letters": len(self._dead),
            "workers": sorted(self._alive_workers(now)),
            "capacity": self.capacity,
            "shards": shards,
        }

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters, newest first."""
        return list(reversed(self._dead))[: max(limit, 0)]

    # Internals used by MemoryShardConsumer --------------------------------------------------

    @property
    def _lease_ttl_s(self) -> float:
        return self.lease_ttl_ms / 1000

    @property
    def _max_block_ms(self) -> int:
        return max(1, self.lease_ttl_ms // 3)

    def _notify(self) -> None:
        # Readers wait on the current event; replacing it after set() means a reader that checks
        # the queues and then grabs the event (no await in between) can never miss a publish.
        self._wake.set()
        self._wake = asyncio.Event()

    def _alive_workers(self, now: float) -> list[str]:
        horizon = 2 * self._lease_ttl_s
        return [worker for worker, seen in self._heartbeats.items() if now - seen <= horizon]

    def _heartbeat(self, consumer_id: str, now: float) -> int:
        self._heartbeats[consumer_id] = now
        alive = self._alive_workers(now)
        for worker in list(self._heartbeats):
            if worker not in alive:
                del self._heartbeats[worker]
        return len(alive)

    def _lease_free_for(self, shard: int, consumer_id: str, now: float) -> bool:
        lease = self._leases.get(shard)
        return lease is None or lease.expires_at <= now or lease.owner == consumer_id

    def _claim(
        self, shard: int, consumer_id: str, start: _Id, min_idle_s: float, count: int
    ) -> tuple[list[Delivery], _Id | None]:
        """XAUTOCLAIM: take pending entries from ``start`` on; returns them and the cursor."""
        now = time.monotonic()
        state = self._shards[shard]
        claimed: list[Delivery] = []
        exhausted: list[_Id] = []
        cursor: _Id | None = None
        for entry_id, pending in state.pending.items():
            if entry_id < start:
                continue
            if len(claimed) + len(exhausted) >= count:
                cursor = entry_id
                break
            if now - pending.delivered_at < min_idle_s:
                continue
            pending.consumer_id = consumer_id
            pending.delivered_at = now
            pending.deliveries += 1
            if pending.deliveries > self.max_deliveries:
                exhausted.append(entry_id)
            else:
                claimed.append(
                    Delivery(shard, _stream_id(entry_id), pending.entry.message, pending.deliveries)
                )
        for entry_id in exhausted:
            self._bury(shard, entry_id, _MAX_DELIVERIES_REASON)
        return claimed, cursor

    def _read_new(self, shard: int, consumer_id: str, count: int) -> list[Delivery]:
        now = time.monotonic()
        state = self._shards[shard]
        deliveries: list[Delivery] = []
        while state.unread and len(deliveries) < count:
            entry = state.unread.popleft()
            state.pending[entry.id] = _Pending(entry, consumer_id, now, 1)
            deliveries.append(Delivery(shard, _stream_id(entry.id), entry.message, 1))
        return deliveries

    def _ack(self, shard: int, stream_id: str) -> None:
        if self._shards[shard].pending.pop(_parse_id(stream_id), None) is not None:
            self._backlog -= 1

    def _bury(self, shard: int, entry_id: _Id, reason: str) -> None:
        pending = self._shards[shard].pending.pop(entry_id, None)
        if pending is None:
            return
        self._backlog -= 1
        self._dead.append(
            DeadLetter(
                shard, _stream_id(entry_id), reason, pending.deliveries, pending.entry.message
            )
        )

    def _record_dead(self, delivery: Delivery, reason: str) -> None:
        self._ack(delivery.shard, delivery.stream_id)
        self._dead.append(
            DeadLetter(
                delivery.shard, delivery.stream_id, reason, delivery.attempts, delivery.message
            )
        )


class MemoryShardConsumer:
    """A worker's handle on the shards it owns in a ``MemoryBus``."""

    def __init__(self, bus: MemoryBus, consumer_id: str) -> None:
        self.consumer_id = consumer_id
        self._bus = bus
        self._owned: set[int] = set()
        # Shards acquired but whose entries pending for others are not all claimed yet; the value
        # is the claim cursor. New entries of such a shard are held back to keep agent order.
        self._takeover: dict[int, _Id] = {}
        self._refreshed_at = -math.inf
        self._reclaimed_at = time.monotonic()

    async def owned_shards(self) -> frozenset[int]:
        """Renew leases, rebalance to the fair share and return the owned shards."""
        self._refresh()
        return frozenset(self._owned)

    async def read(self, count: int, block_ms: int) -> list[Delivery]:
        """Claimed entries first (takeover, stale), then new ones; at most ``count`` per shard."""
        if count < 1:
            raise ValueError("count must be at least 1")
        bus = self._bus
        deadline = time.monotonic() + min(max(block_ms, 0), bus._max_block_ms) / 1000
        while True:
            if time.monotonic() - self._refreshed_at >= bus._max_block_ms / 1000:
                self._refresh()
            if not self._owned or bus._closed:
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                return []
            deliveries = self._claim(count)
            if deliveries:
                return deliveries
            for shard in sorted(self._owned):
                if shard not in self._takeover:
                    deliveries.extend(bus._read_new(shard, self.consumer_id, count))
            if deliveries:
                return deliveries
            if self._takeover:
                continue  # every claimed entry was dead-lettered; the cursors moved on
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            wake = bus._wake
            try:
                async with asyncio.timeout(remaining):
                    await wake.wait()
            except TimeoutError:
                return []

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Forget acked entries (their effect is persisted)."""
        for delivery in deliveries:
            self._bus._ack(delivery.shard, delivery.stream_id)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move a poisoned delivery to the dead-letter list and ack it."""
        self._bus._record_dead(delivery, reason)

    async def release(self) -> None:
        """Give up every lease and leave the worker set; unacked entries go to the next owner."""
        bus = self._bus
        for shard in self._owned:
            lease = bus._leases.get(shard)
            if lease is not None and lease.owner == self.consumer_id:
                del bus._leases[shard]
        bus._heartbeats.pop(self.consumer_id, None)
        self._owned.clear()
        self._takeover.clear()
        self._refreshed_at = -math.inf

    def _refresh(self) -> None:
        bus = self._bus
        now = time.monotonic()
        ttl = bus._lease_ttl_s
        fair = math.ceil(bus.shard_count / bus._heartbeat(self.consumer_id, now))
        for shard in sorted(self._owned):
            lease = bus._leases.get(shard)
            if lease is not None and lease.owner == self.consumer_id and lease.expires_at > now:
                lease.expires_at = now + ttl
            else:
                self._lose(shard)
        if len(self._owned) > fair:
            for shard in sorted(self._owned)[fair:]:
                del bus._leases[shard]
                self._lose(shard)
        elif len(self._owned) < fair:
            free = [
                shard
                for shard in range(bus.shard_count)
                if shard not in self._owned and bus._lease_free_for(shard, self.consumer_id, now)
            ]
            random.shuffle(free)  # several workers starting together do not fight for shard 0
            for shard in free[: fair - len(self._owned)]:
                bus._leases[shard] = _Lease(self.consumer_id, now + ttl)
                self._owned.add(shard)
                self._takeover[shard] = (0, 0)
        self._refreshed_at = now

    def _lose(self, shard: int) -> None:
        self._owned.discard(shard)
        self._takeover.pop(shard, None)

    def _claim(self, count: int) -> list[Delivery]:
        bus = self._bus
        claimed: list[Delivery] = []
        for shard, cursor in sorted(self._takeover.items()):
            deliveries, next_cursor = bus._claim(shard, self.consumer_id, cursor, 0.0, count)
            claimed.extend(deliveries)
            if next_cursor is None:
                del self._takeover[shard]
            else:
                self._takeover[shard] = next_cursor
        now = time.monotonic()
        interval_ms = min(_RECLAIM_INTERVAL_MS, bus.reclaim_idle_ms)
        if now - self._reclaimed_at >= interval_ms / 1000:
            self._reclaimed_at = now
            idle_s = bus.reclaim_idle_ms / 1000
            for shard in sorted(self._owned - self._takeover.keys()):
                claimed.extend(bus._claim(shard, self.consumer_id, (0, 0), idle_s, count)[0])
        return claimed
