"""The event bus on Redis Streams (production mode): sharded streams, one consumer group, leases.

Keys (``P`` is the prefix; ``{n}`` is a Redis Cluster hash tag, so a shard's stream and lease share
a slot and shards spread over cluster nodes):

- ``P:events:{n}``   stream of shard n; field ``m`` holds the message as compact JSON; group
  ``workers`` (created from id 0, so entries published before the first worker are not skipped).
- ``P:lease:{n}``    the consumer id owning shard n (``SET NX PX``, renewed by compare-and-set).
- ``P:workers``      ZSET of live consumers, score = last heartbeat in ms (Redis clock).
- ``P:events:dead``  dead letters: shard, id, payload, reason, attempts, consumer.
- ``P:reply:<instance>`` and ``P:feed``  pub/sub channels for replies and the live feed.

History is bounded twice: the owner trims acked entries (``XTRIM MINID``) below the oldest pending
entry and the group's last-delivered id, and ``XADD MAXLEN ~`` caps each stream as a last resort.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline, PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    ClusterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

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
    json_dumps,
    json_loads,
    shard_for,
)

logger = logging.getLogger(__name__)

GROUP = "workers"
_GROUP_B = GROUP.encode()
_FIELD = b"m"
_FIRST_ID = "0-0"
_RECLAIM_INTERVAL_MS = 1_000
_MAX_CLAIM_ROUNDS = 8
_SUBSCRIBE_TIMEOUT_S = 5.0
_RECONNECT_MIN_S = 0.05
_RECONNECT_MAX_S = 1.0
_MAX_DELIVERIES_REASON = "max deliveries exceeded"
_UNDECODABLE_REASON = "undecodable payload"

# Errors that mean "Redis cannot serve us right now", as opposed to a bug in a command.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OutOfMemoryError,
    ReadOnlyError,
    ClusterDownError,
    TryAgainError,
    OSError,
)
_LISTENER_ERRORS: tuple[type[BaseException], ...] = (*_UNAVAILABLE, RedisError)

# Extend a lease only while we still hold it: a worker that paused past its TTL must not steal back
# a shard another worker took meanwhile.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# SET NX, except that our own id counts as free: a restarted worker reusing its id takes its
# shards back at once instead of waiting for its old leases to expire.
_ACQUIRE_LUA = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Append a batch of messages to one shard stream in one command (ARGV order is stream order). A
# pipeline of XADDs costs the client a command to pack and a reply to parse per message; this is
# one of each per shard. ``MAXLEN ~`` as for a single XADD.
_XADD_MANY_LUA = """
local maxlen = ARGV[1]
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'm', ARGV[i])
end
return #ARGV - 1
"""
# Scored with the Redis clock so that clock skew between worker hosts cannot shrink or inflate the
# set of live workers (and with it everyone's fair share).
_HEARTBEAT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZCARD', KEYS[1])
"""


def _reply_to_dict(reply: Reply) -> dict[str, Any]:
    return {
        "message_id": reply.message_id,
        "status": reply.status,
        "anomaly_score": reply.anomaly_score,
        "reasons": reply.reasons,
        "error": reply.error,
    }


def _reply_from_dict(raw: dict[str, Any]) -> Reply:
    score = raw.get("anomaly_score")
    return Reply(
        message_id=str(raw["message_id"]),
        status=str(raw["status"]),
        anomaly_score=None if score is None else float(score),
        reasons=list(raw.get("reasons") or []),
        error=raw.get("error"),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_tuple(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


@contextmanager
def _unavailable_as_bus_error(action: str) -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        raise BusUnavailable(f"Redis is unavailable ({action}): {exc}") from exc


def _raise_unless_busygroup(results: Iterable[Any]) -> None:
    for result in results:
        if isinstance(result, ResponseError) and "BUSYGROUP" in str(result):
            continue
        if isinstance(result, Exception):
            raise result


class RedisStreamsBus:
    """``EventBus`` on Redis Streams: one stream per shard, consumer group ``workers``."""

    def __init__(
        self,
        url: str,
        *,
        shard_count: int = 16,
        prefix: str = "agentsentinel",
        stream_maxlen: int = 1_000_000,
        max_deliveries: int = 5,
        lease_ttl_ms: int = 10_000,
        instance_id: str | None = None,
        reclaim_idle_ms: int = 5_000,
        trim_interval_ms: int = 5_000,
    ) -> None:
        if shard_count < 1 or max_deliveries < 1 or stream_maxlen < 1 or lease_ttl_ms < 3:
            raise ValueError("shard_count, max_deliveries, stream_maxlen, lease_ttl_ms must be > 0")
        self.shard_count = shard_count
        self.instance_id = instance_id or default_instance_id()
        self.prefix = prefix
        self.stream_maxlen = stream_maxlen
        self.max_deliveries = max_deliveries
        self.lease_ttl_ms = lease_ttl_ms
        self.reclaim_idle_ms = max(reclaim_idle_ms, 0)
        self.trim_interval_ms = max(trim_interval_ms, 0)
        # Reads block at most a third of the lease TTL so the loop renews leases in time.
        self._max_block_ms = max(1, lease_ttl_ms // 3)
        self._redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=2.0,
            # Longer than the longest XREADGROUP BLOCK, or a quiet blocking read would time out.
            socket_timeout=5.0 + self._max_block_ms / 1000,
            socket_keepalive=True,
            retry=Retry(ExponentialWithJitterBackoff(cap=0.25, base=0.01), 3),
            client_name="".join(c if c.isalnum() or c in "-_:." else "_" for c in self.instance_id),
        )
        self._stream_keys = [f"{prefix}:events:{{{shard}}}" for shard in range(shard_count)]
        self._lease_keys = [f"{prefix}:lease:{{{shard}}}" for shard in range(shard_count)]
        self._shard_of_key = {key.encode(): shard for shard, key in enumerate(self._stream_keys)}
        self._dead_key = f"{prefix}:events:dead"
        self._workers_key = f"{prefix}:workers"
        self._feed_channel = f"{prefix}:feed"
        self._reply_channel = self._reply_channel_for(self.instance_id)
        self._renew = self._redis.register_script(_RENEW_LUA)
        self._acquire = self._redis.register_script(_ACQUIRE_LUA)
        self._release = self._redis.register_script(_RELEASE_LUA)
        self._heartbeat = self._redis.register_script(_HEARTBEAT_LUA)
        self._xadd_many = self._redis.register_script(_XADD_MANY_LUA)
        self._waiters = ReplyWaiters()
        # The feed channel is subscribed only while this process has feed subscribers (SSE
        # clients): every feed message reaches every subscribed process, and an API process
        # without SSE clients has better things to do than read them.
        self._feed = FeedFanout(on_interest=self._feed_interest, ready=self._feed_ready)
        self._feed_subscribed = False  # SUBSCRIBE sent on the current pubsub connection
        self._feed_confirmed = asyncio.Event()  # ... and confirmed by Redis
        self._feed_lock = asyncio.Lock()  # one (un)subscribe or (re)connect at a time
        self._feed_syncs: set[asyncio.Task[None]] = set()
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._closed = False

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the consumer groups and start the reply/feed listener (raises BusUnavailable)."""
        if self._closed:
            raise BusUnavailable("the event bus is closed")
        if self._listener is not None:
            return
        with _unavailable_as_bus_error("start"):
            await self._ensure_groups(range(self.shard_count))
            await self._connect_pubsub()
        self._listener = asyncio.create_task(self._listen(), name="agentsentinel-bus-listener")

    async def close(self) -> None:
        """Stop the listener, end feed subscriptions, wake reply waiters, close connections."""
        self._closed = True
        listener, self._listener = self._listener, None
        for task in (listener, *self._feed_syncs):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        await self._drop_pubsub()
        self._feed.close()
        self._waiters.close()
        await self._redis.aclose()

    async def ping(self) -> bool:
        """True when Redis answers PING."""
        if self._closed:
            return False
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    # Publishing and replies -----------------------------------------------------------------

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        """Append every message to its shard in one round trip (raises BusUnavailable).

        One message: a plain ``XADD``. Several: one ``_XADD_MANY_LUA`` call per shard (pipelined
        when the batch spans shards), so an agent's events keep their order within its shard.
        """
        if self._closed:
            raise BusUnavailable("the event bus is closed")
        if not messages:
            return
        by_shard: dict[int, list[bytes]] = {}
        shard_of: dict[str, int] = {}
        for message in messages:
            shard = shard_of.get(message.agent_id)
            if shard is None:
                shard = shard_of[message.agent_id] = shard_for(message.agent_id, self.shard_count)
            by_shard.setdefault(shard, []).append(encode_message(message))
        with _unavailable_as_bus_error("publish"):
            if len(by_shard) == 1:
                ((shard, encoded),) = by_shard.items()
                await self._append(shard, encoded)
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard, encoded in by_shard.items():
                    await self._append(shard, encoded, pipe)
                await pipe.execute()

    async def _append(self, shard: int, encoded: list[bytes], pipe: Pipeline | None = None) -> None:
        key = self._stream_keys[shard]
        if len(encoded) == 1:
            client = self._redis if pipe is None else pipe
            await client.xadd(
                key, {_FIELD: encoded[0]}, maxlen=self.stream_maxlen, approximate=True
            )
        else:
            await self._xadd_many(keys=[key], args=[self.stream_maxlen, *encoded], client=pipe)

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
        """PUBLISH replies grouped per waiting API instance; a failure only loses the replies."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for reply_to, reply in replies:
            grouped.setdefault(reply_to, []).append(_reply_to_dict(reply))
        if not grouped:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for reply_to, items in grouped.items():
                    pipe.publish(self._reply_channel_for(reply_to), json_dumps(items))
                await pipe.execute()
        except _UNAVAILABLE as exc:
            logger.warning("could not send %d replies: %s", len(replies), exc)

    async def broadcast(self, item: dict[str, Any]) -> None:
        """PUBLISH a live-feed item to every API process (best effort)."""
        try:
            await self._redis.publish(self._feed_channel, json_dumps(item))
        except _UNAVAILABLE as exc:
            logger.debug("live-feed item dropped: %s", exc)

    async def broadcast_many(self, items: Sequence[dict[str, Any]]) -> None:
        """PUBLISH several live-feed items as one message (a JSON array; best effort)."""
        if not items:
            return
        try:
            await self._redis.publish(self._feed_channel, json_dumps(list(items)))
        except _UNAVAILABLE as exc:
            logger.debug("%d live-feed items dropped: %s", len(items), exc)

    def subscribe_feed(self) -> FeedSubscription:
        """A bounded subscription to the live feed (fed by the listener started in ``start``)."""
        return self._feed.subscribe()

    # Consumers and introspection ------------------------------------------------------------

    def consumer(self, consumer_id: str | None = None) -> RedisShardConsumer:
        """A consumer handle; a stable id (e.g. the host name) lets a restart resume at once."""
        return RedisShardConsumer(self, consumer_id or default_instance_id())

    async def stats(self) -> dict[str, Any]:
        """XLEN, pending, lag and owner per shard; dead-letter length; live workers."""
        with _unavailable_as_bus_error("stats"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard in range(self.shard_count):
                    pipe.xlen(self._stream_keys[shard])
                    pipe.xinfo_groups(self._stream_keys[shard])
                    pipe.get(self._lease_keys[shard])
                pipe.xlen(self._dead_key)
                pipe.zrange(self._workers_key, 0, -1)
                results = await pipe.execute(raise_on_error=False)
        shards: list[dict[str, Any]] = []
        for shard in range(self.shard_count):
            length, groups, owner = results[3 * shard : 3 * shard + 3]
            group = _find_group(groups)
            shards.append(
                {
                    "shard": shard,
                    "length": length if isinstance(length, int) else 0,
                    "pending": int(group["pending"]) if group else 0,
                    "lag": group.get("lag") if group else None,
                    "owner": _text(owner) if isinstance(owner, bytes | str) else None,
                }
            )
        dead, workers = results[-2:]
        return {
            "backend": "redis",
            "shard_count": self.shard_count,
            "length": sum(item["length"] for item in shards),
            "pending": sum(item["pending"] for item in shards),
            "lag": sum(item["lag"] or 0 for item in shards),
            "dead_letters": dead if isinstance(dead, int) else 0,
            "workers": sorted(_text(w) for w in workers) if isinstance(workers, list) else [],
            "shards": shards,
        }

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters, newest first."""
        if limit <= 0:
            return []
        with _unavailable_as_bus_error("dead letters"):
            entries = await self._redis.xrevrange(self._dead_key, count=limit)
        letters: list[DeadLetter] = []
        for _, fields in entries or []:
            if fields is None:
                continue
            try:
                message: BusMessage | None = decode_message(fields.get(b"payload", b""))
            except ValueError:
                message = None
            letters.append(
                DeadLetter(
                    shard=int(fields.get(b"shard", b"-1")),
                    stream_id=_text(fields.get(b"id", b"")),
                    reason=_text(fields.get(b"reason", b"")),
                    attempts=int(fields.get(b"attempts", b"0")),
                    message=message,
                )
            )
        return letters

    # Internals ------------------------------------------------------------------------------

    def _reply_channel_for(self, instance_id: str) -> str:
        return f"{self.prefix}:reply:{instance_id}"

    async def _ensure_groups(self, shards: Iterable[int]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in shards:
                pipe.xgroup_create(self._stream_keys[shard], GROUP, id="0", mkstream=True)
            _raise_unless_busygroup(await pipe.execute(raise_on_error=False))

    async def _bury(
        self, letters: Sequence[tuple[int, str, bytes, str, int]], consumer_id: str
    ) -> None:
        """XADD ``(shard, id, payload, reason, attempts)`` to the dead letters, then XACK."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard, stream_id, payload, reason, attempts in letters:
                pipe.xadd(
                    self._dead_key,
                    {
                        "shard": shard,
                        "id": stream_id,
                        "payload": payload,
                        "reason": reason,
                        "attempts": attempts,
                        "consumer": consumer_id,
                    },
                    maxlen=self.stream_maxlen,
                    approximate=True,
                )
                pipe.xack(self._stream_keys[shard], GROUP, stream_id)
            await pipe.execute()
        for shard, stream_id, _, reason, attempts in letters:
            logger.warning(
                "dead-lettered %s of shard %d after %d deliveries: %s",
                stream_id,
                shard,
                attempts,
                reason,
            )

    async def _connect_pubsub(self) -> None:
        """A new pubsub connection: our reply channel, and the feed channel if anyone listens."""
        async with self._feed_lock:
            self._pubsub = await self._subscribe()
        self._sync_feed_soon()  # interest may have changed while connecting

    async def _subscribe(self) -> PubSub:
        pubsub = self._redis.pubsub()
        channels = [self._reply_channel]
        if self._feed:
            channels.append(self._feed_channel)
        try:
            await pubsub.subscribe(*channels)
            # SUBSCRIBE is only effective once confirmed; until then a reply could be missed.
            confirmed = 0
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
                while confirmed < len(channels):
                    message = await pubsub.get_message(timeout=0.5)
                    if message is None:
                        continue
                    if message.get("type") == "subscribe":
                        confirmed += 1
                    self._dispatch(message)
        except BaseException:
            with suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._feed_subscribed = len(channels) > 1
        return pubsub

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._feed_subscribed = False
        self._feed_confirmed.clear()
        if pubsub is not None:
            with suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _feed_interest(self, wanted: bool) -> None:
        """The first feed subscriber arrived or the last one left (called synchronously)."""
        self._sync_feed_soon()

    def _sync_feed_soon(self) -> None:
        if self._closed or self._pubsub is None:
            return  # (re)connecting subscribes according to the interest at that time
        try:
            task = asyncio.get_running_loop().create_task(self._sync_feed())
        except RuntimeError:  # no running loop (a subscription closed at interpreter exit)
            return
        self._feed_syncs.add(task)
        task.add_done_callback(self._feed_syncs.discard)

    async def _sync_feed(self) -> None:
        """(Un)subscribe the feed channel so that it matches whether anyone here listens."""
        async with self._feed_lock:
            pubsub = self._pubsub
            wanted = bool(self._feed) and not self._closed
            if pubsub is None or wanted == self._feed_subscribed:
                return
            try:
                if wanted:
                    await pubsub.subscribe(self._feed_channel)
                else:
                    self._feed_confirmed.clear()
                    await pubsub.unsubscribe(self._feed_channel)
            except Exception as exc:  # the listener reconnects, and subscribes as needed then
                logger.debug("could not (un)subscribe the live feed: %s", exc)
                return
            if self._pubsub is pubsub:
                self._feed_subscribed = wanted

    async def _feed_ready(self) -> None:
        """Wait (bounded) until Redis confirmed our feed subscription; best effort."""
        if self._closed or self._listener is None or not self._feed:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
                await self._feed_confirmed.wait()

    async def _listen(self) -> None:
        delay = _RECONNECT_MIN_S
        while True:
            try:
                if self._pubsub is None:
                    await self._connect_pubsub()
                    logger.info("event bus listener resubscribed to %s", self._reply_channel)
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=1.0)
            except _LISTENER_ERRORS as exc:
                logger.warning("event bus listener lost Redis (%s); reconnecting", exc)
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MAX_S)
                continue
            delay = _RECONNECT_MIN_S
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind != "message":
            if kind == "subscribe" and _text(message.get("channel") or b"") == self._feed_channel:
                self._feed_confirmed.set()
            return
        channel = _text(message.get("channel") or b"")
        try:
            if channel == self._reply_channel:
                for raw in json_loads(message["data"]):
                    self._waiters.resolve(_reply_from_dict(raw))
            elif channel == self._feed_channel:
                # Every process hears every feed message; with no SSE client here, drop it
                # before paying for the JSON.
                if not self._feed:
                    return
                data = json_loads(message["data"])
                if isinstance(data, dict):  # broadcast
                    self._feed.publish(data)
                elif isinstance(data, list):  # broadcast_many
                    self._feed.publish_many(item for item in data if isinstance(item, dict))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("ignored an undecodable message on %s: %s", channel, exc)


def _find_group(groups: Any) -> dict[str, Any] | None:
    if not isinstance(groups, list):
        return None
    for group in groups:
        if isinstance(group, dict) and group.get("name") in (GROUP, _GROUP_B):
            return group
    return None


class RedisShardConsumer:
    """A worker's handle on the shards it owns: leases, claims, reads, acks, trimming."""

    def __init__(self, bus: RedisStreamsBus, consumer_id: str) -> None:
        self.consumer_id = consumer_id
        self._bus = bus
        self._id_b = consumer_id.encode()
        self._owned: set[int] = set()
        # Shards acquired whose entries pending for a previous owner are not all claimed yet (the
        # value is the XAUTOCLAIM cursor). Their new entries wait, to keep each agent's order.
        self._takeover: dict[int, str] = {}
        self._stale_cursor: dict[int, str] = {}
        self._refreshed_at = -math.inf
        self._reclaimed_at = time.monotonic()
        self._trimmed_at: dict[int, float] = {}

    async def owned_shards(self) -> frozenset[int]:
        """Heartbeat, renew leases, rebalance to the fair share, trim; return the owned shards."""
        with _unavailable_as_bus_error("lease refresh"):
            await self._refresh()
        return frozenset(self._owned)

    async def read(self, count: int, block_ms: int) -> list[Delivery]:
        """Claimed entries first (takeover, stale), then new ones; at most ``count`` per shard."""
        if count < 1:
            raise ValueError("count must be at least 1")
        bus = self._bus
        block_ms = min(max(block_ms, 0), bus._max_block_ms)
        with _unavailable_as_bus_error("read"):
            if time.monotonic() - self._refreshed_at >= bus._max_block_ms / 1000:
                await self._refresh()
            if not self._owned:
                await asyncio.sleep(block_ms / 1000)
                return []
            try:
                return await self._read_owned(count, block_ms)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The streams vanished (Redis restarted without persistence): recreate the groups.
                await bus._ensure_groups(self._owned)
                return []

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """XACK per shard in one round trip (after the deliveries' effect is persisted)."""
        by_shard: dict[int, list[str]] = {}
        for delivery in deliveries:
            by_shard.setdefault(delivery.shard, []).append(delivery.stream_id)
        if not by_shard:
            return
        bus = self._bus
        with _unavailable_as_bus_error("ack"):
            async with bus._redis.pipeline(transaction=False) as pipe:
                for shard, ids in by_shard.items():
                    pipe.xack(bus._stream_keys[shard], GROUP, *ids)
                await pipe.execute()

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move a poisoned delivery to ``P:events:dead`` and ack it."""
        letter = (
            delivery.shard,
            delivery.stream_id,
            encode_message(delivery.message),
            reason,
            delivery.attempts,
        )
        with _unavailable_as_bus_error("dead letter"):
            await self._bus._bury([letter], self.consumer_id)

    async def release(self) -> None:
        """Give up every lease and leave the worker set, so others take over at once."""
        bus = self._bus
        owned = sorted(self._owned)
        self._forget_all()
        with _unavailable_as_bus_error("release"):
            async with bus._redis.pipeline(transaction=False) as pipe:
                for shard in owned:
                    await bus._release(
                        keys=[bus._lease_keys[shard]], args=[self.consumer_id], client=pipe
                    )
                pipe.zrem(bus._workers_key, self.consumer_id)
                await pipe.execute()

    # Ownership ------------------------------------------------------------------------------

    async def _refresh(self) -> None:
        bus = self._bus
        started = time.monotonic()
        owned = sorted(self._owned)
        async with bus._redis.pipeline(transaction=False) as pipe:
            await bus._heartbeat(
                keys=[bus._workers_key],
                args=[self.consumer_id, 2 * bus.lease_ttl_ms],
                client=pipe,
            )
            for shard in owned:
                await bus._renew(
                    keys=[bus._lease_keys[shard]],
                    args=[self.consumer_id, bus.lease_ttl_ms],
                    client=pipe,
                )
            results = await pipe.execute()
        alive = max(1, int(results[0]))
        for shard, renewed in zip(owned, results[1:], strict=True):
            if not int(renewed):
                logger.warning("%s lost the lease of shard %d", self.consumer_id, shard)
                self._lose(shard)
        fair = math.ceil(bus.shard_count / alive)
        if len(self._owned) > fair:
            await self._give_up(sorted(self._owned)[fair:])
        elif len(self._owned) < fair:
            await self._acquire(fair - len(self._owned))
        self._refreshed_at = started
        await self._trim_due(started)

    async def _acquire(self, wanted: int) -> None:
        bus = self._bus
        candidates = [shard for shard in range(bus.shard_count) if shard not in self._owned]
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard in candidates:
                pipe.get(bus._lease_keys[shard])
            holders = await pipe.execute()
        free = [
            shard
            for shard, holder in zip(candidates, holders, strict=True)
            if holder is None or holder == self._id_b
        ]
        if not free:
            return
        random.shuffle(free)  # several workers starting together do not all race for shard 0
        chosen = free[:wanted]
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard in chosen:
                await bus._acquire(
                    keys=[bus._lease_keys[shard]],
                    args=[self.consumer_id, bus.lease_ttl_ms],
                    client=pipe,
                )
            for shard in chosen:
                pipe.xgroup_create(bus._stream_keys[shard], GROUP, id="0", mkstream=True)
            results = await pipe.execute(raise_on_error=False)
        _raise_unless_busygroup(results)
        for shard, acquired in zip(chosen, results[: len(chosen)], strict=True):
            if int(acquired):
                self._owned.add(shard)
                # Anything pending in the shard belongs to an owner that is gone or lost its lease
                # (it checks ownership before going on), so claim it all, whatever its idle time.
                self._takeover[shard] = _FIRST_ID
                self._stale_cursor.pop(shard, None)

    async def _give_up(self, shards: Sequence[int]) -> None:
        bus = self._bus
        for shard in shards:
            self._lose(shard)
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard in shards:
                await bus._release(
                    keys=[bus._lease_keys[shard]], args=[self.consumer_id], client=pipe
                )
            await pipe.execute()

    def _lose(self, shard: int) -> None:
        self._owned.discard(shard)
        self._takeover.pop(shard, None)
        self._stale_cursor.pop(shard, None)
        self._trimmed_at.pop(shard, None)

    def _forget_all(self) -> None:
        for shard in list(self._owned):
            self._lose(shard)
        self._refreshed_at = -math.inf

    async def _trim_due(self, now: float) -> None:
        """Trim the acked history of owned shards every ``trim_interval_ms``; drop old consumers."""
        bus = self._bus
        interval_s = bus.trim_interval_ms / 1000
        due = [
            shard
            for shard in sorted(self._owned)
            if now - self._trimmed_at.get(shard, -math.inf) >= interval_s
        ]
        if not due:
            return
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard in due:
                self._trimmed_at[shard] = now
                pipe.xinfo_groups(bus._stream_keys[shard])
                pipe.xpending(bus._stream_keys[shard], GROUP)
                pipe.xinfo_consumers(bus._stream_keys[shard], GROUP)
            results = await pipe.execute(raise_on_error=False)
        trims: list[tuple[int, str]] = []
        stale_consumers: list[tuple[int, bytes]] = []
        for index, shard in enumerate(due):
            groups, pending, consumers = results[3 * index : 3 * index + 3]
            group = _find_group(groups)
            if group is None or not isinstance(pending, dict) or not isinstance(consumers, list):
                continue  # no stream or group yet: nothing to trim
            # Below both the oldest pending entry and the last delivered one, every entry has been
            # delivered and acked; newer entries are unread or pending and must stay.
            floor = _id_tuple(group["last-delivered-id"])
            if pending.get("pending") and pending.get("min"):
                floor = min(floor, _id_tuple(pending["min"]))
            if floor > (0, 0):
                trims.append((shard, f"{floor[0]}-{floor[1]}"))
            stale_consumers.extend(
                (shard, consumer["name"])
                for consumer in consumers
                if consumer["name"] != self._id_b
                and int(consumer["pending"]) == 0
                and int(consumer["idle"]) > 2 * bus.lease_ttl_ms
            )
        if not trims and not stale_consumers:
            return
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard, min_id in trims:
                pipe.xtrim(bus._stream_keys[shard], minid=min_id, approximate=False)
            # Restarted workers get fresh ids; without this the group's consumer list only grows.
            for shard, name in stale_consumers:
                pipe.xgroup_delconsumer(bus._stream_keys[shard], GROUP, name)
            await pipe.execute(raise_on_error=False)

    # Reading --------------------------------------------------------------------------------

    async def _read_owned(self, count: int, block_ms: int) -> list[Delivery]:
        bus = self._bus
        for _ in range(_MAX_CLAIM_ROUNDS):
            claimed = await self._claim(count)
            if claimed:
                return claimed
            if not self._takeover:
                break
        readable = [shard for shard in sorted(self._owned) if shard not in self._takeover]
        if not readable:
            return []
        response: Any = await bus._redis.xreadgroup(
            GROUP,
            self.consumer_id,
            {bus._stream_keys[shard]: ">" for shard in readable},
            count=count,
            block=block_ms or None,
        )
        streams = response.items() if isinstance(response, dict) else response or []
        deliveries: list[Delivery] = []
        poisoned: list[tuple[int, str, bytes, str, int]] = []
        for key, entries in streams:
            shard = bus._shard_of_key[key if isinstance(key, bytes) else key.encode()]
            for entry_id, fields in entries:
                raw = fields.get(_FIELD, b"")
                try:
                    deliveries.append(Delivery(shard, _text(entry_id), decode_message(raw)))
                except ValueError:
                    poisoned.append((shard, _text(entry_id), raw, _UNDECODABLE_REASON, 1))
        if poisoned:
            await bus._bury(poisoned, self.consumer_id)
        return deliveries

    async def _claim(self, count: int) -> list[Delivery]:
        """XAUTOCLAIM for shards being taken over (idle >= 0) and stale entries of owned shards."""
        bus = self._bus
        jobs = [(shard, cursor, 0, True) for shard, cursor in sorted(self._takeover.items())]
        now = time.monotonic()
        if now - self._reclaimed_at >= min(_RECLAIM_INTERVAL_MS, bus.reclaim_idle_ms) / 1000:
            self._reclaimed_at = now
            jobs.extend(
                (shard, self._stale_cursor.get(shard, _FIRST_ID), bus.reclaim_idle_ms, False)
                for shard in sorted(self._owned)
                if shard not in self._takeover
            )
        if not jobs:
            return []
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard, cursor, min_idle, _ in jobs:
                pipe.xautoclaim(
                    bus._stream_keys[shard], GROUP, self.consumer_id, min_idle, cursor, count=count
                )
            results = await pipe.execute(raise_on_error=False)
        claimed: list[tuple[int, str, bytes]] = []
        missing_groups: list[int] = []
        for (shard, _, _, takeover), result in zip(jobs, results, strict=True):
            if isinstance(result, ResponseError) and "NOGROUP" in str(result):
                missing_groups.append(shard)
                next_cursor, entries = _FIRST_ID, []
            elif isinstance(result, Exception):
                raise result
            else:
                next_cursor, entries = _text(result[0]), result[1]
            if takeover and next_cursor == _FIRST_ID:
                del self._takeover[shard]
            elif takeover:
                self._takeover[shard] = next_cursor
            else:
                self._stale_cursor[shard] = next_cursor
            # Entries trimmed away while pending come back without fields (Redis 6.2) or in the
            # third element (7.0+, already removed from the PEL): nothing left to process.
            claimed.extend(
                (shard, _text(entry_id), fields.get(_FIELD, b""))
                for entry_id, fields in entries
                if fields is not None
            )
        if missing_groups:
            await bus._ensure_groups(missing_groups)
        if not claimed:
            return []
        # XAUTOCLAIM does not report delivery counts; XPENDING per claimed id does (exception path).
        async with bus._redis.pipeline(transaction=False) as pipe:
            for shard, stream_id, _ in claimed:
                pipe.xpending_range(bus._stream_keys[shard], GROUP, stream_id, stream_id, 1)
            pendings = await pipe.execute()
        deliveries: list[Delivery] = []
        poisoned: list[tuple[int, str, bytes, str, int]] = []
        for (shard, stream_id, raw), pending in zip(claimed, pendings, strict=True):
            if not pending or pending[0]["consumer"] != self._id_b:
                continue  # acked by the previous owner meanwhile, or no longer ours
            attempts = int(pending[0]["times_delivered"])
            try:
                message = decode_message(raw)
            except ValueError:
                poisoned.append((shard, stream_id, raw, _UNDECODABLE_REASON, attempts))
                continue
            if attempts > bus.max_deliveries:
                poisoned.append((shard, stream_id, raw, _MAX_DELIVERIES_REASON, attempts))
            else:
                deliveries.append(Delivery(shard, stream_id, message, attempts))
        if poisoned:
            await bus._bury(poisoned, self.consumer_id)
        return deliveries
