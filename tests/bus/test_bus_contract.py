"""The bus contract, run against the memory bus and Redis Streams alike."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest

from agentsentinel.bus import BusMessage, Delivery, EventBus, Reply, ShardConsumer, shard_for

from ._helpers import agent, drain, eventually, message
from .conftest import BusFactory


def _ids(deliveries: list[Delivery]) -> list[str]:
    return [d.message.message_id for d in deliveries]


async def test_publish_read_ack(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=4)
    assert isinstance(bus, EventBus)
    sent = [message(agent(i), 0) for i in range(12)]
    await bus.publish(sent)

    consumer = bus.consumer("w1")
    assert isinstance(consumer, ShardConsumer)
    assert await consumer.owned_shards() == frozenset(range(4))
    got = await drain(consumer, 12)

    assert sorted(_ids(got)) == sorted(m.message_id for m in sent)
    by_id = {m.message_id: m for m in sent}
    for delivery in got:
        assert delivery.message == by_id[delivery.message.message_id]
        assert delivery.shard == shard_for(delivery.message.agent_id, 4)
        assert delivery.attempts == 1
    stats = await bus.stats()
    assert stats["pending"] == 0 and stats["lag"] == 0

    # Acked entries are never handed out again, even to the next owner.
    await consumer.release()
    assert await bus.consumer("w2").read(100, 50) == []


async def test_payload_must_be_json(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=2)
    with pytest.raises(TypeError):
        await bus.publish([message(agent(1), 0), BusMessage("m", agent(2), {"x": object()})])
    assert (await bus.stats())["length"] == 0


async def test_per_agent_order_within_a_shard(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=4)
    agents = [agent(i) for i in range(8)]
    for batch in range(5):
        await bus.publish([message(a, batch * 5 + k) for k in range(5) for a in agents])

    got = await drain(bus.consumer("w"), 8 * 25, count=7)

    seqs: dict[str, list[int]] = defaultdict(list)
    positions: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for delivery in got:
        seqs[delivery.message.agent_id].append(delivery.message.payload["seq"])
        ms, _, seq = delivery.stream_id.partition("-")
        positions[delivery.shard].append((int(ms), int(seq)))
    assert all(seqs[a] == list(range(25)) for a in agents)
    assert all(ids == sorted(ids) for ids in positions.values())


async def test_reply_round_trip_and_timeout(make_bus: BusFactory) -> None:
    api = await make_bus()
    worker = await make_bus()
    sent = message(agent(1), 0, reply_to=api.instance_id)
    api.expect_reply(sent.message_id)
    await api.publish([sent])

    [delivery] = await drain(worker.consumer("w"), 1)
    assert delivery.message.reply_to == api.instance_id
    reply = Reply(sent.message_id, "accepted", 0.25, [{"signal": "tool", "detail": "rare"}])
    await worker.send_replies([(api.instance_id, reply)])

    assert await api.wait_reply(sent.message_id, 5.0) == reply
    assert await api.wait_reply("never-published", 0.05) is None


async def test_forgotten_reply_is_not_kept(make_bus: BusFactory) -> None:
    api = await make_bus()
    api.expect_reply("m1")
    api.forget_reply("m1")
    await api.send_replies([(api.instance_id, Reply("m1", "accepted", 0.1))])
    assert await api.wait_reply("m1", 0.05) is None


async def test_feed_fans_out_to_every_subscriber(make_bus: BusFactory) -> None:
    first, second, worker = await make_bus(), await make_bus(), await make_bus()
    async with first.subscribe_feed() as feed_1, second.subscribe_feed() as feed_2:
        await worker.broadcast({"kind": "event", "n": 1})
        await worker.broadcast({"kind": "event", "n": 2})
        async with asyncio.timeout(5):
            for feed in (feed_1, feed_2):
                assert [await anext(feed), await anext(feed)] == [
                    {"kind": "event", "n": 1},
                    {"kind": "event", "n": 2},
                ]


async def test_broadcast_many_reaches_subscribers_as_single_items_in_order(
    make_bus: BusFactory,
) -> None:
    api, worker = await make_bus(), await make_bus()
    async with api.subscribe_feed() as feed:
        await worker.broadcast({"n": 0})
        await worker.broadcast_many([{"n": 1}, {"n": 2}, {"n": 3}])
        await worker.broadcast_many([])
        await worker.broadcast({"n": 4})
        async with asyncio.timeout(5):
            assert [await anext(feed) for _ in range(5)] == [{"n": n} for n in range(5)]


async def _split(first: ShardConsumer, second: ShardConsumer) -> tuple[frozenset[int], ...]:
    for _ in range(5):
        owned = await second.owned_shards(), await first.owned_shards()
        if len(owned[0]) == len(owned[1]) == 4:
            return owned
        await asyncio.sleep(0.01)
    raise AssertionError(f"no fair split after 5 rounds: {owned}")


async def test_two_consumers_split_shards_then_one_takes_all(make_bus: BusFactory) -> None:
    bus_1 = await make_bus(shard_count=8)
    bus_2 = await make_bus(shard_count=8)
    first, second = bus_1.consumer("c1"), bus_2.consumer("c2")
    assert await first.owned_shards() == frozenset(range(8))

    owned_2, owned_1 = await _split(first, second)
    assert owned_1.isdisjoint(owned_2)

    # Each consumer only ever sees its own shards, and every message is seen once.
    sent = [message(agent(i), 0) for i in range(40)]
    await bus_1.publish(sent)
    seen: list[Delivery] = []
    async with asyncio.timeout(10):
        while len(seen) < len(sent):
            for consumer, owned in ((first, owned_1), (second, owned_2)):
                batch = await consumer.read(100, 20)
                assert {d.shard for d in batch} <= owned
                await consumer.ack(batch)
                seen.extend(batch)
    assert sorted(_ids(seen)) == sorted(m.message_id for m in sent)

    await first.release()
    assert await second.owned_shards() == frozenset(range(8))


async def test_dead_consumer_entries_are_claimed_once(make_bus: BusFactory) -> None:
    options = {"shard_count": 4, "lease_ttl_ms": 500}
    api, dying_bus, survivor_bus = [await make_bus(**options) for _ in range(3)]
    sent = [message(agent(i), 0) for i in range(20)]
    await api.publish(sent)

    dying = dying_bus.consumer("dying")
    assert await dying.owned_shards() == frozenset(range(4))
    taken = await drain(dying, 20, ack=False)
    assert {d.attempts for d in taken} == {1}
    # It now stops renewing and never acks or releases.

    survivor = survivor_bus.consumer("survivor")
    got = await drain(survivor, 20)
    assert sorted(_ids(got)) == sorted(m.message_id for m in sent)
    assert all(d.attempts == 2 for d in got)
    for _ in range(3):
        assert await survivor.read(100, 20) == []
    assert await survivor.owned_shards() == frozenset(range(4))
    assert (await api.stats())["pending"] == 0


async def test_restarted_consumer_with_same_id_resumes_at_once(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=2)
    sent = [message(agent(i), 0) for i in range(6)]
    await bus.publish(sent)
    await drain(bus.consumer("worker-a"), 6, ack=False)

    # Same id, fresh object (a restarted process): no waiting for the old leases to expire.
    got = await drain(bus.consumer("worker-a"), 6, timeout=2.0)
    assert sorted(_ids(got)) == sorted(m.message_id for m in sent)
    assert {d.attempts for d in got} == {2}


async def test_unacked_delivery_is_retried_by_the_same_consumer(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=2, reclaim_idle_ms=100)
    await bus.publish([message(agent(1), 0)])
    consumer = bus.consumer("w")
    [first] = await drain(consumer, 1, ack=False)  # the batch "fails": no ack

    [retry] = await drain(consumer, 1)
    assert (retry.stream_id, retry.message, retry.attempts) == (
        first.stream_id,
        first.message,
        2,
    )


async def test_dead_letter_after_max_deliveries(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=2, max_deliveries=2)
    sent = message(agent(1), 0)
    await bus.publish([sent])

    for attempt, name in ((1, "a"), (2, "b")):
        consumer = bus.consumer(name)
        [delivery] = await drain(consumer, 1, ack=False)
        assert delivery.attempts == attempt
        await consumer.release()

    last = bus.consumer("c")
    assert await last.read(10, 50) == []
    assert await last.read(10, 50) == []
    stats = await bus.stats()
    assert (stats["dead_letters"], stats["pending"], stats["lag"]) == (1, 0, 0)
    [letter] = await bus.dead_letters()
    assert (letter.shard, letter.stream_id, letter.attempts) == (
        delivery.shard,
        delivery.stream_id,
        3,
    )
    assert letter.reason == "max deliveries exceeded"
    assert letter.message == sent


async def test_explicit_dead_letter(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=2)
    await bus.publish([message(agent(1), 0), message(agent(2), 0)])
    consumer = bus.consumer("w")
    poisoned, healthy = await drain(consumer, 2, ack=False)
    await consumer.dead_letter(poisoned, "payload failed validation")
    await consumer.ack([healthy])

    stats = await bus.stats()
    assert (stats["dead_letters"], stats["pending"]) == (1, 0)
    [letter] = await bus.dead_letters()
    assert (letter.reason, letter.message) == ("payload failed validation", poisoned.message)
    await consumer.release()
    assert await bus.consumer("w2").read(10, 50) == []


async def test_trimming_bounds_acked_history_and_keeps_unacked(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=1, trim_interval_ms=0)
    sent = [message(agent(1), seq) for seq in range(10)]
    await bus.publish(sent)
    consumer = bus.consumer("w")
    got = await drain(consumer, 10, ack=False)
    kept = got[5]
    await consumer.ack(got[:5] + got[6:])

    await consumer.owned_shards()  # trims (at most every trim_interval_ms)
    assert (await bus.stats())["length"] <= 5

    # The unacked entry survived trimming with its payload: the next owner gets it.
    await consumer.release()
    successor = bus.consumer("w2")
    [again] = await drain(successor, 1)
    assert (again.stream_id, again.message, again.attempts) == (kept.stream_id, kept.message, 2)
    await successor.owned_shards()
    assert (await bus.stats())["length"] <= 1


async def test_read_without_owned_shards_waits_instead_of_spinning(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=1)
    owner, idle = bus.consumer("owner"), bus.consumer("idle")
    assert await owner.owned_shards() == frozenset({0})
    assert await idle.owned_shards() == frozenset()
    started = time.monotonic()
    assert await idle.read(10, 100) == []
    assert time.monotonic() - started >= 0.09


async def test_stats_report_backlog_owners_and_workers(make_bus: BusFactory) -> None:
    bus = await make_bus(shard_count=2)
    await bus.publish([message(agent(i), 0) for i in range(6)])
    consumer = bus.consumer("w")
    await consumer.owned_shards()

    stats = await bus.stats()
    assert stats["shard_count"] == 2 and len(stats["shards"]) == 2
    assert stats["length"] == 6 and stats["lag"] == 6 and stats["pending"] == 0
    assert {shard["owner"] for shard in stats["shards"]} == {"w"}
    assert stats["workers"] == ["w"]

    async def all_read() -> bool:
        await consumer.read(100, 20)
        return (await bus.stats())["pending"] == 6

    await eventually(all_read, what="every entry pending")
