"""Small helpers shared by the bus tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from agentsentinel.bus import BusMessage, Delivery, ShardConsumer


def agent(n: int) -> str:
    """A deterministic agent id."""
    return str(uuid.UUID(int=n + 1))


def message(agent_id: str, seq: int, reply_to: str | None = None) -> BusMessage:
    """An event message as the API would publish it."""
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{agent_id}/{seq}"))
    return BusMessage(
        message_id=event_id,
        agent_id=agent_id,
        payload={
            "event_id": event_id,
            "agent_id": agent_id,
            "occurred_at": "2025-01-01T00:00:00+00:00",
            "seq": seq,
        },
        reply_to=reply_to,
    )


async def drain(
    consumer: ShardConsumer,
    expected: int,
    *,
    count: int = 100,
    ack: bool = True,
    timeout: float = 10.0,
) -> list[Delivery]:
    """Read until ``expected`` deliveries arrived, acking them unless told not to."""
    got: list[Delivery] = []
    try:
        async with asyncio.timeout(timeout):
            while len(got) < expected:
                batch = await consumer.read(count, 50)
                if ack and batch:
                    await consumer.ack(batch)
                got.extend(batch)
    except TimeoutError:
        pytest.fail(f"only {len(got)} of {expected} deliveries within {timeout} s")
    return got


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"{what} did not hold within {timeout} s")
