"""Bus fixtures: the contract tests run on the memory bus and, when
``AGENTSENTINEL_TEST_REDIS_URL`` is set, on Redis Streams under a private key prefix that is
deleted afterwards. Set but unreachable is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentsentinel.bus import EventBus, MemoryBus

REDIS_ENV = "AGENTSENTINEL_TEST_REDIS_URL"

_MEMORY_OPTIONS = {"shard_count", "max_deliveries", "capacity", "lease_ttl_ms", "reclaim_idle_ms"}
_REDIS_OPTIONS = {
    "shard_count",
    "max_deliveries",
    "lease_ttl_ms",
    "reclaim_idle_ms",
    "trim_interval_ms",
    "stream_maxlen",
}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; skips when unset, fails when set but unreachable."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"set {REDIS_ENV}")
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(url, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"{REDIS_ENV}={url} is set but Redis is unreachable: {exc}")
    finally:
        client.close()
    return url


async def delete_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix:`` (SCAN + DEL)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix private to this test, cleaned up afterwards."""
    prefix = f"astest:{uuid.uuid4().hex}"
    yield prefix
    await delete_prefix(redis_url, prefix)


class BusFactory:
    """Started buses over one backend, closed at teardown.

    Memory: one bus per process, so every call returns the same bus (the first call's options
    win). Redis: every call is a new client with its own instance id, like a separate process.
    """

    def __init__(self, kind: str, redis_url: str | None = None, prefix: str | None = None) -> None:
        self.kind = kind
        self.redis_url = redis_url
        self.prefix = prefix
        self.buses: list[EventBus] = []

    async def __call__(self, **options: Any) -> EventBus:
        if self.kind == "memory":
            if not self.buses:
                bus: EventBus = MemoryBus(
                    **{k: v for k, v in options.items() if k in _MEMORY_OPTIONS}
                )
                await bus.start()
                self.buses.append(bus)
            return self.buses[0]
        from agentsentinel.bus.redis_streams import RedisStreamsBus

        assert self.redis_url is not None and self.prefix is not None
        bus = RedisStreamsBus(
            self.redis_url,
            prefix=self.prefix,
            **{k: v for k, v in options.items() if k in _REDIS_OPTIONS},
        )
        self.buses.append(bus)
        await bus.start()
        return bus

    async def close(self) -> None:
        for bus in reversed(self.buses):
            await bus.close()


@pytest.fixture(params=["memory", "redis"])
def bus_backend(request: pytest.FixtureRequest) -> tuple[str, str | None, str | None]:
    """``(kind, redis_url, prefix)``: the memory bus, or Redis under a fresh prefix."""
    if request.param == "redis":
        return "redis", request.getfixturevalue("redis_url"), f"astest:{uuid.uuid4().hex}"
    return "memory", None, None


@pytest.fixture
async def make_bus(bus_backend: tuple[str, str | None, str | None]) -> AsyncIterator[BusFactory]:
    """A factory of buses: parametrised over the memory bus and Redis Streams."""
    kind, url, prefix = bus_backend
    factory = BusFactory(kind, url, prefix)
    try:
        yield factory
    finally:
        await factory.close()
        if url is not None and prefix is not None:
            await delete_prefix(url, prefix)
