"""The event bus contract shared by the in-memory and the Redis Streams implementations.

Key contracts:
- Events are routed to one of ``shard_count`` shards by ``shard_for(agent_id)``, so every event of
  one agent lands on the same shard and is processed in order by one worker at a time.
- ``publish`` returns once the bus has durably accepted the messages (Redis: XADD done). It raises
  ``BusUnavailable`` when the bus cannot accept them; the API turns that into 503 + Retry-After.
- A worker owns shards through a ``ShardConsumer``: ``read`` yields deliveries only from owned
  shards; ``ack`` is called after the effect of a delivery is persisted. Delivery is at least once:
  an entry read but not acked is handed out again (to the next owner of its shard, or to the same
  consumer after ``reclaim_idle_ms``) with ``attempts`` incremented; past ``max_deliveries`` the bus
  moves it to the dead-letter stream itself, and ``dead_letter`` does the same on the worker's
  request (a poisoned payload).
- Replies: the API publishes with ``reply_to`` set to its ``instance_id`` and waits on
  ``wait_reply(message_id)``; the worker calls ``send_replies`` after persisting. Replies are best
  effort: a lost one only makes the request answer "pending".
- The live feed (SSE) is a best-effort broadcast: ``broadcast`` (one item) or ``broadcast_many``
  (a batch of items in one message: one Redis ``PUBLISH``) / ``subscribe_feed``. Subscribers
  always receive single items, in broadcast order.

``FeedFanout`` and ``ReplyWaiters`` below are the process-local halves shared by both
implementations (the Redis bus feeds them from its pub/sub listener).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson ships with the server extra; json is the fallback
    _orjson = None  # type: ignore[assignment]

DEFAULT_FEED_BUFFER = 1_000


class BusUnavailable(RuntimeError):
    """The bus cannot accept or deliver messages right now (retry later)."""


def shard_for(agent_id: uuid.UUID | str, shard_count: int) -> int:
    """Stable shard of an agent: the same agent always maps to the same shard."""
    digest = hashlib.blake2b(str(agent_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shard_count


def json_dumps(value: Any) -> bytes:
    """Compact JSON bytes (orjson when installed)."""
    if _orjson is not None:
        return _orjson.dumps(value)
    return json.dumps(value, separators=(",", ":")).encode()


def json_loads(data: bytes | str) -> Any:
    """Parse JSON (orjson when installed)."""
    if _orjson is not None:
        return _orjson.loads(data)
    return json.loads(data)


def default_instance_id() -> str:
    """A process-unique name: host, pid and a random suffix (a restarted process gets a new one)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One event on its way to the worker.

    ``payload`` is the validated event as a JSON-compatible dict (it always carries ``event_id``,
    ``agent_id`` and ``occurred_at``). ``reply_to`` names the API instance waiting for the score,
    or is None when nobody waits (batch ingest).
    """

    message_id: str
    agent_id: str
    payload: dict[str, Any]
    reply_to: str | None = None


def encode_message(message: BusMessage) -> bytes:
    """The wire form of a message (compact JSON); raises TypeError for a non-JSON payload."""
    return json_dumps(
        {
            "message_id": message.message_id,
            "agent_id": message.agent_id,
            "reply_to": message.reply_to,
            "payload": message.payload,
        }
    )


def decode_message(data: bytes | str) -> BusMessage:
    """Inverse of ``encode_message``; raises ValueError on anything else."""
    try:
        raw = json_loads(data)
        payload = raw["payload"]
        reply_to = raw.get("reply_to")
        if not isinstance(payload, dict) or not isinstance(reply_to, str | None):
            raise ValueError("malformed bus message")
        return BusMessage(
            message_id=str(raw["message_id"]),
            agent_id=str(raw["agent_id"]),
            payload=payload,
            reply_to=reply_to,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed bus message: {exc}") from exc


@dataclass(slots=True)
class Delivery:
    """A message handed to a worker; ``stream_id`` is the bus position (Redis stream id)."""

    shard: int
    stream_id: str
    message: BusMessage
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Reply:
    """The worker's answer to a waiting request."""

    message_id: str
    status: str  # "accepted" | "duplicate" | "rejected"
    anomaly_score: float | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry the bus gave up on; ``message`` is None when its payload could not be decoded."""

    shard: int
    stream_id: str
    reason: str
    attempts: int
    message: BusMessage | None


@runtime_checkable
class ShardConsumer(Protocol):
    """A worker's handle on the shards it owns."""

    consumer_id: str

    async def owned_shards(self) -> frozenset[int]:
        """Refresh ownership (renew leases, acquire free shards up to a fair share); return it."""
        ...

    async def read(self, count: int, block_ms: int) -> list[Delivery]:
        """Deliveries from owned shards: first entries left pending by a dead owner, then new ones.

        At most ``count`` per owned shard, in stream order within a shard. Blocks up to
        ``block_ms`` (capped at a third of the lease TTL so leases are renewed in time) when
        nothing is waiting; renews ownership itself when a renewal is due.
        """
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Mark deliveries as done (after their effect is persisted).

        Safe even after the shard's lease was lost: it only records that the effect exists, and
        the new owner's duplicate of the entry is absorbed by idempotent persistence.
        """
        ...

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move a poisoned delivery to the dead-letter stream and ack it."""
        ...

    async def release(self) -> None:
        """Give up every lease (graceful shutdown) so another worker can take over at once."""
        ...


@runtime_checkable
class EventBus(Protocol):
    """What the API and the worker need from the bus."""

    shard_count: int
    instance_id: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the bus can accept messages."""
        ...

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        """Durably enqueue messages on their agents' shards (raises ``BusUnavailable``)."""
        ...

    async def wait_reply(self, message_id: str, timeout: float) -> Reply | None:  # noqa: ASYNC109
        """Wait for the worker's reply to a message published with ``reply_to=instance_id``.

        Returns None when the deadline passes. Call ``expect_reply`` before ``publish`` so a fast
        reply is never missed.
        """
        ...

    def expect_reply(self, message_id: str) -> None: ...

    def forget_reply(self, message_id: str) -> None: ...

    async def send_replies(self, replies: Sequence[tuple[str, Reply]]) -> None:
        """Deliver ``(reply_to, reply)`` pairs to the waiting API instances (best effort)."""
        ...

    def consumer(self, consumer_id: str | None = None) -> ShardConsumer: ...

    async def broadcast(self, item: dict[str, Any]) -> None:
        """Best-effort fan-out of a live-feed item to every API process."""
        ...

    async def broadcast_many(self, items: Sequence[dict[str, Any]]) -> None:
        """Best-effort fan-out of several live-feed items at once (Redis: one ``PUBLISH``).

        Subscribers receive the items one by one, in order, exactly as if each had been passed
        to ``broadcast``. An empty sequence does nothing.
        """
        ...

    def subscribe_feed(self) -> FeedSubscription:
        """Live-feed items broadcast from now on (for SSE clients); ``aclose()`` it when done."""
        ...

    async def stats(self) -> dict[str, Any]:
        """Queue depth per shard, pending and dead-letter counts (for /ready and benchmarks)."""
        ...

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters, newest first (for operators)."""
        ...


class FeedSubscription:
    """One live-feed reader: a bounded buffer that drops the oldest item when the reader lags.

    Registered on creation, so items broadcast before the first ``__anext__`` are kept. Iteration
    ends when the subscription or the bus is closed.
    """

    def __init__(self, fanout: FeedFanout, maxsize: int) -> None:
        self._fanout = fanout
        self._items: deque[dict[str, Any]] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def push(self, item: dict[str, Any]) -> None:
        """Buffer an item without ever blocking the publisher."""
        if self._closed:
            return
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def __aiter__(self) -> FeedSubscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        """Stop receiving; a pending ``__anext__`` ends once the buffer is drained."""
        self._closed = True
        self._fanout.discard(self)
        self._ready.set()

    async def aclose(self) -> None:
        """Async alias of ``close`` (for ``contextlib.aclosing`` and ``async with``)."""
        self.close()

    async def wait_ready(self) -> None:
        """Return once items broadcast from now on by any process are sure to reach us.

        The Redis bus subscribes to the feed channel only while this process has subscribers;
        the first one waits here (bounded) for Redis to confirm. Elsewhere this returns at once.
        """
        await self._fanout.ready()

    async def __aenter__(self) -> FeedSubscription:
        await self.wait_ready()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FeedFanout:
    """Process-local fan-out of live-feed items to every open ``FeedSubscription``.

    ``on_interest(True)`` is called when the first subscription opens and ``on_interest(False)``
    when the last one closes (the Redis bus subscribes to its channel only in between); ``ready``
    is what ``FeedSubscription.wait_ready`` awaits.
    """

    def __init__(
        self,
        buffer: int = DEFAULT_FEED_BUFFER,
        *,
        on_interest: Callable[[bool], None] | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._buffer = buffer
        self._subscriptions: set[FeedSubscription] = set()
        self._on_interest = on_interest
        self._ready = ready

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(self) -> FeedSubscription:
        """A new subscription that receives every item published from now on."""
        subscription = FeedSubscription(self, self._buffer)
        self._subscriptions.add(subscription)
        if len(self._subscriptions) == 1 and self._on_interest is not None:
            self._on_interest(True)
        return subscription

    def discard(self, subscription: FeedSubscription) -> None:
        """Forget a subscription (called by its ``close``)."""
        if subscription not in self._subscriptions:
            return
        self._subscriptions.discard(subscription)
        if not self._subscriptions and self._on_interest is not None:
            self._on_interest(False)

    async def ready(self) -> None:
        if self._ready is not None:
            await self._ready()

    def publish(self, item: dict[str, Any]) -> None:
        """Hand the item to every subscriber; a slow one loses its oldest items, never us."""
        for subscription in tuple(self._subscriptions):
            subscription.push(item)

    def publish_many(self, items: Iterable[dict[str, Any]]) -> None:
        """``publish`` each item in order."""
        subscriptions = tuple(self._subscriptions)
        if not subscriptions:
            return
        for item in items:
            for subscription in subscriptions:
                subscription.push(item)

    def close(self) -> None:
        """End every subscription (bus shutdown)."""
        for subscription in tuple(self._subscriptions):
            subscription.close()


class ReplyWaiters:
    """Futures of the requests of this process that wait for a worker's reply."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[Reply | None]] = {}

    def __len__(self) -> int:
        return len(self._futures)

    def expect(self, message_id: str) -> None:
        """Register interest before publishing, so a reply that comes back at once is kept."""
        if message_id not in self._futures:
            self._futures[message_id] = asyncio.get_running_loop().create_future()

    def forget(self, message_id: str) -> None:
        """Drop a registration (the publish failed, or the request gave up)."""
        future = self._futures.pop(message_id, None)
        if future is not None and not future.done():
            future.cancel()

    def resolve(self, reply: Reply) -> None:
        """Complete the matching wait; a reply nobody waits for any more is dropped."""
        future = self._futures.get(reply.message_id)
        if future is not None and not future.done():
            future.set_result(reply)

    async def wait(self, message_id: str, timeout: float) -> Reply | None:  # noqa: ASYNC109
        """The reply, or None once ``timeout`` seconds have passed; the registration is removed."""
        self.expect(message_id)
        future = self._futures[message_id]
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                return await future
        except TimeoutError:
            return None
        finally:
            self.forget(message_id)

    def close(self) -> None:
        """Wake every waiter with None (bus shutdown)."""
        for future in self._futures.values():
            if not future.done():
                future.set_result(None)
        self._futures.clear()
