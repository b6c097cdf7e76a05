"""Pieces of the bus that need no backend: sharding, local fan-out and waiters, capacity."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentsentinel.bus import (
    BusUnavailable,
    EventBus,
    FeedFanout,
    MemoryBus,
    Reply,
    ReplyWaiters,
    create_bus,
    shard_for,
)
from agentsentinel.settings import Settings

from ._helpers import agent, drain, message


@given(st.uuids(), st.integers(min_value=1, max_value=1024))
def test_shard_for_is_stable_and_in_range(agent_id: uuid.UUID, shard_count: int) -> None:
    shard = shard_for(agent_id, shard_count)
    assert 0 <= shard < shard_count
    assert shard_for(str(agent_id), shard_count) == shard == shard_for(agent_id, shard_count)


def test_shard_for_values_are_pinned() -> None:
    # Shard numbers are stored state (detector checkpoints per shard): changing the hash is a
    # migration, not a refactoring.
    assert [shard_for(uuid.UUID(int=n), 16) for n in range(8)] == [10, 8, 7, 6, 7, 15, 6, 9]
    assert shard_for("6f1c9a52-0b7e-4d3a-9f2e-1a2b3c4d5e6f", 1024) == 492


def test_shard_for_spreads_agents_evenly() -> None:
    counts = Counter(shard_for(uuid.UUID(int=n * 7919), 16) for n in range(16_000))
    assert set(counts) == set(range(16))
    assert all(800 <= count <= 1200 for count in counts.values())


async def test_feed_drops_the_oldest_items_of_a_slow_subscriber() -> None:
    fanout = FeedFanout(buffer=10)
    slow = fanout.subscribe()
    for n in range(15):
        fanout.publish({"n": n})  # never blocks
    assert slow.dropped == 5
    slow.close()
    assert [item["n"] async for item in slow] == list(range(5, 15))
    assert len(fanout) == 0


async def test_feed_iteration_ends_when_closed() -> None:
    fanout = FeedFanout()
    subscription = fanout.subscribe()
    reader = asyncio.create_task(anext(subscription, None))
    await asyncio.sleep(0)
    fanout.close()
    assert await reader is None


async def test_reply_waiters() -> None:
    waiters = ReplyWaiters()
    waiters.expect("early")
    waiters.resolve(Reply("early", "accepted", 0.5))
    assert await waiters.wait("early", 1.0) == Reply("early", "accepted", 0.5)
    assert await waiters.wait("late", 0.01) is None
    waiters.resolve(Reply("late", "accepted"))  # nobody waits any more: dropped
    assert len(waiters) == 0

    waiting = asyncio.create_task(waiters.wait("shutdown", 10.0))
    await asyncio.sleep(0)
    waiters.close()
    assert await waiting is None


async def test_memory_bus_refuses_events_over_capacity() -> None:
    bus = MemoryBus(shard_count=2, capacity=10)
    await bus.publish([message(agent(i), 0) for i in range(8)])
    with pytest.raises(BusUnavailable):
        await bus.publish([message(agent(i), 1) for i in range(3)])  # all or nothing
    await bus.publish([message(agent(i), 1) for i in range(2)])
    assert await bus.ping() is False
    with pytest.raises(BusUnavailable):
        await bus.publish([message(agent(0), 2)])

    consumer = bus.consumer()
    got = await drain(consumer, 10, ack=False)
    with pytest.raises(BusUnavailable):  # read but not acked still counts
        await bus.publish([message(agent(0), 2)])
    await consumer.ack(got)
    assert await bus.ping() is True
    await bus.publish([message(agent(0), 2)])
    await bus.close()
    with pytest.raises(BusUnavailable):
        await bus.publish([message(agent(0), 3)])


async def test_memory_stream_ids_are_time_based_like_redis_ids() -> None:
    # Ids must keep growing across restarts of the process (a fresh, empty bus), because the worker
    # checkpoints the last applied id per shard: wall-clock ids give that, a counter would not.
    bus = MemoryBus(shard_count=1)
    before_ms = time.time_ns() // 1_000_000
    await bus.publish([message(agent(1), seq) for seq in range(3)])
    after_ms = time.time_ns() // 1_000_000
    ids = [d.stream_id for d in await drain(bus.consumer(), 3)]
    await bus.close()
    parsed = [tuple(int(part) for part in stream_id.split("-")) for stream_id in ids]
    assert parsed == sorted(set(parsed))
    assert all(before_ms <= ms <= after_ms for ms, _ in parsed)


async def test_create_bus_picks_the_implementation(tmp_path: object) -> None:
    memory = create_bus(Settings(shard_count=4, data_dir=tmp_path))
    assert isinstance(memory, MemoryBus) and isinstance(memory, EventBus)
    assert memory.shard_count == 4

    from agentsentinel.bus import RedisStreamsBus

    settings = Settings(
        redis_url="redis://127.0.0.1:6379/0",
        redis_prefix="astest:factory",
        shard_count=8,
        data_dir=tmp_path,
    )
    redis_bus = create_bus(settings, instance_id="api-1")
    try:
        assert isinstance(redis_bus, RedisStreamsBus) and isinstance(redis_bus, EventBus)
        assert (redis_bus.shard_count, redis_bus.prefix, redis_bus.instance_id) == (
            8,
            "astest:factory",
            "api-1",
        )
    finally:
        await redis_bus.close()
