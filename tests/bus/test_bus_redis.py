"""What only the Redis Streams bus has: key layout, trimming, dead-letter stream, reconnects."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from agentsentinel.bus import BusUnavailable, Reply, shard_for
from agentsentinel.bus.redis_streams import GROUP, RedisStreamsBus

from ._helpers import agent, drain, eventually, message


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
async def buses(redis_url: str, redis_prefix: str) -> AsyncIterator[list[RedisStreamsBus]]:
    """Buses created by a test (append to it) are closed at teardown."""
    created: list[RedisStreamsBus] = []
    yield created
    for bus in reversed(created):
        await bus.close()


async def _bus(
    buses: list[RedisStreamsBus], url: str, prefix: str, **options: int
) -> RedisStreamsBus:
    bus = RedisStreamsBus(url, prefix=prefix, **options)
    buses.append(bus)
    await bus.start()
    return bus


async def test_key_layout_leases_and_worker_set(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    bus = await _bus(buses, redis_url, redis_prefix, shard_count=4)
    sent = message(agent(7), 0)
    shard = shard_for(sent.agent_id, 4)
    await bus.publish([sent])

    stream = f"{redis_prefix}:events:{{{shard}}}"
    [(_, fields)] = await client.xrange(stream)
    assert json.loads(fields[b"m"])["message_id"] == sent.message_id
    for index in range(4):
        groups = await client.xinfo_groups(f"{redis_prefix}:events:{{{index}}}")
        assert [g["name"] for g in groups] == [GROUP.encode()]

    consumer = bus.consumer("worker-1")
    assert await consumer.owned_shards() == frozenset(range(4))
    assert await client.get(f"{redis_prefix}:lease:{{{shard}}}") == b"worker-1"
    ttl = await client.pttl(f"{redis_prefix}:lease:{{{shard}}}")
    assert 0 < ttl <= 10_000
    assert await client.zrange(f"{redis_prefix}:workers", 0, -1) == [b"worker-1"]

    await consumer.release()
    assert await client.exists(f"{redis_prefix}:lease:{{{shard}}}") == 0
    assert await client.zrange(f"{redis_prefix}:workers", 0, -1) == []


async def test_trim_removes_only_acked_history(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    bus = await _bus(buses, redis_url, redis_prefix, shard_count=1, trim_interval_ms=0)
    stream = f"{redis_prefix}:events:{{0}}"
    await bus.publish([message(agent(1), seq) for seq in range(10)])
    consumer = bus.consumer("w")
    got = await drain(consumer, 10, ack=False)
    await consumer.ack(got[:5] + got[6:])

    await consumer.owned_shards()
    remaining = [entry_id.decode() for entry_id, _ in await client.xrange(stream)]
    assert remaining == [d.stream_id for d in got[5:]]  # the pending one and everything after

    # Unread entries are never trimmed either.
    await bus.publish([message(agent(1), seq) for seq in range(10, 13)])
    await consumer.ack([got[5]])
    await consumer.owned_shards()
    assert await client.xlen(stream) == 4  # the last delivered entry + three unread
    later = await drain(consumer, 3)
    assert [d.message.payload["seq"] for d in later] == [10, 11, 12]
    await consumer.owned_shards()
    assert await client.xlen(stream) == 1


async def test_dead_letter_stream_fields(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    bus = await _bus(buses, redis_url, redis_prefix, shard_count=2)
    sent = message(agent(3), 0)
    await bus.publish([sent])
    consumer = bus.consumer("w")
    [delivery] = await drain(consumer, 1, ack=False)
    await consumer.dead_letter(delivery, "poisoned")

    [(_, fields)] = await client.xrange(f"{redis_prefix}:events:dead")
    assert fields[b"shard"] == str(delivery.shard).encode()
    assert fields[b"id"] == delivery.stream_id.encode()
    assert fields[b"reason"] == b"poisoned"
    assert fields[b"attempts"] == b"1"
    assert json.loads(fields[b"payload"])["payload"] == sent.payload
    pending = await client.xpending(f"{redis_prefix}:events:{{{delivery.shard}}}", GROUP)
    assert pending["pending"] == 0


async def test_undecodable_entry_is_dead_lettered(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    bus = await _bus(buses, redis_url, redis_prefix, shard_count=1)
    await client.xadd(f"{redis_prefix}:events:{{0}}", {"m": b"not json"})
    await bus.publish([message(agent(1), 0)])
    consumer = bus.consumer("w")

    [delivery] = await drain(consumer, 1)
    assert delivery.message.payload["seq"] == 0
    [letter] = await bus.dead_letters()
    assert (letter.reason, letter.message) == ("undecodable payload", None)


async def test_groups_are_recreated_after_redis_lost_the_streams(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    bus = await _bus(buses, redis_url, redis_prefix, shard_count=2)
    consumer = bus.consumer("w")
    assert await consumer.owned_shards() == frozenset({0, 1})
    await client.delete(*(f"{redis_prefix}:events:{{{shard}}}" for shard in range(2)))

    await bus.publish([message(agent(1), 0)])
    [delivery] = await drain(consumer, 1)
    assert delivery.message.payload["seq"] == 0


async def test_listener_resubscribes_after_its_connection_is_killed(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    api = await _bus(buses, redis_url, redis_prefix)
    worker = await _bus(buses, redis_url, redis_prefix)
    clients = await client.client_list(_type="pubsub")
    [victim] = [c for c in clients if c["name"] == api.instance_id]
    await client.client_kill_filter(_id=victim["id"])

    attempt = 0

    async def round_trip() -> bool:
        nonlocal attempt
        attempt += 1
        message_id = f"probe-{attempt}"
        api.expect_reply(message_id)
        await worker.send_replies([(api.instance_id, Reply(message_id, "accepted", 0.5))])
        return await api.wait_reply(message_id, 0.2) is not None

    await eventually(round_trip, what="a reply after the listener reconnected")


async def _feed_listeners(client: aioredis.Redis, prefix: str) -> int:
    [(_, count)] = await client.pubsub_numsub(f"{prefix}:feed")
    return int(count)


async def test_feed_channel_is_subscribed_only_while_someone_listens(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    api = await _bus(buses, redis_url, redis_prefix)
    worker = await _bus(buses, redis_url, redis_prefix)
    assert await _feed_listeners(client, redis_prefix) == 0
    async with api.subscribe_feed() as feed:
        assert await _feed_listeners(client, redis_prefix) == 1
        async with api.subscribe_feed() as second:
            await worker.broadcast_many([{"n": 1}, {"n": 2}])
            async with asyncio.timeout(5):
                assert [await anext(second), await anext(second)] == [{"n": 1}, {"n": 2}]
        assert await _feed_listeners(client, redis_prefix) == 1  # the first one still listens
        async with asyncio.timeout(5):
            assert [await anext(feed), await anext(feed)] == [{"n": 1}, {"n": 2}]

    async def unsubscribed() -> bool:
        return await _feed_listeners(client, redis_prefix) == 0

    await eventually(unsubscribed, what="the feed channel unsubscribed")
    # Listening again works, and nothing broadcast meanwhile is replayed.
    await worker.broadcast({"n": 3})
    async with api.subscribe_feed() as feed:
        await worker.broadcast({"n": 4})
        async with asyncio.timeout(5):
            assert await anext(feed) == {"n": 4}


async def test_broadcast_many_is_one_message(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    worker = await _bus(buses, redis_url, redis_prefix)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(f"{redis_prefix}:feed")
    try:
        await worker.broadcast_many([{"n": 1}, {"n": 2}, {"n": 3}])
        async with asyncio.timeout(5):
            while (message := await pubsub.get_message(timeout=1.0)) is None:
                pass
        assert json.loads(message["data"]) == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert await pubsub.get_message(timeout=0.2) is None
    finally:
        await pubsub.aclose()


async def test_feed_subscription_survives_a_killed_listener_connection(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    api = await _bus(buses, redis_url, redis_prefix)
    worker = await _bus(buses, redis_url, redis_prefix)
    async with api.subscribe_feed() as feed:
        clients = await client.client_list(_type="pubsub")
        [victim] = [c for c in clients if c["name"] == api.instance_id]
        await client.client_kill_filter(_id=victim["id"])
        seq = 0

        async def delivered() -> bool:
            nonlocal seq
            seq += 1
            await worker.broadcast({"n": seq})
            try:
                async with asyncio.timeout(0.2):
                    while True:
                        if (await anext(feed))["n"] == seq:
                            return True
            except TimeoutError:
                return False

        await eventually(delivered, what="feed items after the listener reconnected")


async def test_publish_keeps_order_within_a_shard_for_one_and_many_shards(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus]
) -> None:
    bus = await _bus(buses, redis_url, redis_prefix, shard_count=2)
    one = agent(1)
    same_shard = [
        a for a in (agent(n) for n in range(2, 40)) if shard_for(a, 2) == shard_for(one, 2)
    ]
    other = next(
        a for a in (agent(n) for n in range(2, 40)) if shard_for(a, 2) != shard_for(one, 2)
    )
    await bus.publish([message(one, 0)])  # a single XADD
    await bus.publish([message(one, s) for s in range(1, 4)])  # one shard: one script call
    await bus.publish(  # two shards: a pipeline
        [message(a, s) for s in range(4, 7) for a in (one, other, same_shard[0])]
    )
    got = await drain(bus.consumer("w"), 1 + 3 + 9)
    seqs: dict[str, list[int]] = {}
    for delivery in got:
        seqs.setdefault(delivery.message.agent_id, []).append(delivery.message.payload["seq"])
    assert seqs[one] == list(range(7))
    assert seqs[other] == seqs[same_shard[0]] == [4, 5, 6]


async def test_old_consumers_are_removed_from_the_group(
    redis_url: str, redis_prefix: str, buses: list[RedisStreamsBus], client: aioredis.Redis
) -> None:
    options = {"shard_count": 1, "lease_ttl_ms": 500, "trim_interval_ms": 0}
    bus = await _bus(buses, redis_url, redis_prefix, **options)
    await bus.publish([message(agent(1), 0)])
    first = bus.consumer("first")
    await drain(first, 1)
    await first.release()
    second = bus.consumer("second")
    stream = f"{redis_prefix}:events:{{0}}"

    async def first_forgotten() -> bool:
        await second.owned_shards()
        names = {c["name"] for c in await client.xinfo_consumers(stream, GROUP)}
        return b"first" not in names

    await eventually(first_forgotten, what="the idle consumer removed from the group")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_redis_raises_bus_unavailable() -> None:
    bus = RedisStreamsBus(f"redis://127.0.0.1:{_closed_port()}/0", shard_count=2)
    try:
        assert await bus.ping() is False
        with pytest.raises(BusUnavailable):
            await bus.start()
        with pytest.raises(BusUnavailable):
            await bus.publish([message(agent(1), 0)])
        consumer = bus.consumer("w")
        with pytest.raises(BusUnavailable):
            await consumer.read(10, 10)
        with pytest.raises(BusUnavailable):
            await consumer.owned_shards()
        with pytest.raises(BusUnavailable):
            await bus.stats()
        # Best-effort paths do not raise.
        await bus.broadcast({"n": 1})
        await bus.send_replies([("api", Reply("m", "accepted"))])
    finally:
        await bus.close()
    with pytest.raises(BusUnavailable):
        await bus.publish([message(agent(1), 0)])


async def test_close_ends_feed_subscriptions_and_reply_waits(
    redis_url: str, redis_prefix: str
) -> None:
    bus = RedisStreamsBus(redis_url, prefix=redis_prefix)
    await bus.start()
    feed = bus.subscribe_feed()
    bus.expect_reply("m1")
    waiter = asyncio.create_task(bus.wait_reply("m1", 10.0))
    await asyncio.sleep(0)
    await bus.close()
    assert await waiter is None
    assert [item async for item in feed] == []
