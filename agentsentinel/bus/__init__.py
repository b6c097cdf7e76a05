"""The event bus between the API and the workers: in-memory (embedded) or Redis Streams.

``create_bus(settings)`` picks the implementation; ``redis`` is imported only when a Redis URL is
configured (it belongs to the ``server`` extra). See ``AGENTS.md`` for the key contracts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentsentinel.bus.base import (
    BusMessage,
    BusUnavailable,
    DeadLetter,
    Delivery,
    EventBus,
    FeedFanout,
    FeedSubscription,
    Reply,
    ReplyWaiters,
    ShardConsumer,
    decode_message,
    default_instance_id,
    encode_message,
    shard_for,
)
from agentsentinel.bus.memory import MemoryBus, MemoryShardConsumer

if TYPE_CHECKING:
    from agentsentinel.bus.redis_streams import RedisShardConsumer, RedisStreamsBus
    from agentsentinel.settings import Settings

__all__ = [
    "BusMessage",
    "BusUnavailable",
    "DeadLetter",
    "Delivery",
    "EventBus",
    "FeedFanout",
    "FeedSubscription",
    "MemoryBus",
    "MemoryShardConsumer",
    "RedisShardConsumer",
    "RedisStreamsBus",
    "Reply",
    "ReplyWaiters",
    "ShardConsumer",
    "create_bus",
    "decode_message",
    "default_instance_id",
    "encode_message",
    "shard_for",
]

_REDIS_NAMES = frozenset({"RedisStreamsBus", "RedisShardConsumer"})


def __getattr__(name: str) -> Any:
    if name in _REDIS_NAMES:
        from agentsentinel.bus import redis_streams

        return getattr(redis_streams, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_bus(settings: Settings, *, instance_id: str | None = None) -> EventBus:
    """The Redis Streams bus when ``redis_url`` is set, else the in-memory bus."""
    if settings.redis_url is None:
        return MemoryBus(
            shard_count=settings.shard_count,
            max_deliveries=settings.max_deliveries,
            lease_ttl_ms=settings.lease_ttl_ms,
            instance_id=instance_id,
        )
    try:
        from agentsentinel.bus.redis_streams import RedisStreamsBus
    except ImportError as exc:
        raise RuntimeError(
            "AGENTSENTINEL_REDIS_URL is set but the Redis client is missing; "
            'install the server extra: pip install "agentsentinel[server]"'
        ) from exc
    return RedisStreamsBus(
        settings.redis_url.get_secret_value(),
        shard_count=settings.shard_count,
        prefix=settings.redis_prefix,
        stream_maxlen=settings.stream_maxlen,
        max_deliveries=settings.max_deliveries,
        lease_ttl_ms=settings.lease_ttl_ms,
        instance_id=instance_id,
    )
