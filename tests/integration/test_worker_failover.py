"""A worker SIGKILLed mid-stream loses nothing and duplicates nothing (Postgres + Redis).

"Nothing" covers the detector too: every event is learned exactly once across the kill (the
checkpointed ``event_count`` of the agents' baselines adds up to the events published).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from agentsentinel.bus.base import BusMessage
from agentsentinel.models import Agent, AgentEvent, Baseline
from agentsentinel.runtime import Runtime
from agentsentinel.settings import Settings
from tests.conftest import PG_URL, REDIS_URL

TOTAL = 10_000


def _payload(agent_id: uuid.UUID, n: int) -> BusMessage:
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    payload = {
        "event_id": event_id,
        "agent_id": str(agent_id),
        "tool_name": f"tool_{n % 7}",
        "input_hash": digest,
        "output_hash": digest,
        "duration_ms": n % 1000,
        "session_id": f"s{n // 50}",
        "status": "ok",
        "occurred_at": now,
        "received_at": now,
        "clock_adjusted": False,
    }
    return BusMessage(message_id=event_id, agent_id=str(agent_id), payload=payload)


def _spawn_worker(settings: Settings, log_path: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTSENTINEL_MODE": "production",
        "AGENTSENTINEL_SECRET_KEY": "k" * 48,
        "AGENTSENTINEL_DATABASE_URL": settings.resolved_database_url(),
        "AGENTSENTINEL_REDIS_URL": settings.redis_url.get_secret_value()
        if settings.redis_url
        else "",
        "AGENTSENTINEL_REDIS_PREFIX": settings.redis_prefix,
        "AGENTSENTINEL_SHARD_COUNT": str(settings.shard_count),
        "AGENTSENTINEL_LEASE_TTL_MS": "1500",
        "AGENTSENTINEL_WORKER_BATCH_SIZE": "200",
        "AGENTSENTINEL_LOG_LEVEL": "WARNING",
    }
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-c", "from agentsentinel_cli.main import main; main()", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(AgentEvent))).scalar_one()
        )


async def _learned(runtime: Runtime) -> int:
    """Events the detector learned, according to the agents' checkpoints."""
    async with runtime.sessions() as session:
        total = (
            await session.execute(
                select(func.sum(Baseline.event_count)).where(Baseline.scope == "agent")
            )
        ).scalar_one()
        return int(total or 0)


async def _wait_for(runtime: Runtime, target: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = await _count(runtime)
    while count < target and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        count = await _count(runtime)
    return count


@pytest.mark.slow
@pytest.mark.skipif(
    not (PG_URL and REDIS_URL),
    reason="needs AGENTSENTINEL_TEST_DATABASE_URL and AGENTSENTINEL_TEST_REDIS_URL",
)
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    settings: Settings, tmp_path: object
) -> None:
    publisher = Runtime(settings.model_copy(update={"run_worker": False}))
    await publisher.bus.start()
    try:
        agents = [uuid.uuid4() for _ in range(8)]
        async with publisher.sessions() as session, session.begin():
            session.add_all(Agent(id=a, name=f"agent-{i}") for i, a in enumerate(agents))
        messages = [_payload(agents[n % len(agents)], n) for n in range(TOTAL)]
        expected_ids = {uuid.UUID(m.message_id) for m in messages}

        first = _spawn_worker(settings, f"{tmp_path}/worker1.log")
        # Publish while the first worker consumes: it dies mid-stream, not after it.
        for start in range(0, TOTAL // 2, 500):
            await publisher.bus.publish(messages[start : start + 500])
        reached = await _wait_for(publisher, 1500, timeout=60)
        assert 0 < reached < TOTAL, f"worker 1 made no progress ({reached})"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = await _count(publisher)

        for start in range(TOTAL // 2, TOTAL, 500):
            await publisher.bus.publish(messages[start : start + 500])
        second = _spawn_worker(settings, f"{tmp_path}/worker2.log")
        try:
            final = await _wait_for(publisher, TOTAL, timeout=120)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        log = Path(f"{tmp_path}/worker2.log").read_text()[-2000:]
        assert final == TOTAL, f"{final} of {TOTAL} stored (killed at {killed_at}); log: {log}"
        async with publisher.sessions() as session:
            ids = set((await session.execute(select(AgentEvent.id))).scalars().all())
            distinct = (
                await session.execute(text("SELECT count(DISTINCT id) FROM agent_events"))
            ).scalar_one()
        assert ids == expected_ids and distinct == TOTAL
        # Worker 2 stopped gracefully, so its final checkpoint is in: learned once, every one.
        assert await _learned(publisher) == TOTAL
        stats = await publisher.bus.stats()
        assert stats.get("dead_letters", 0) == 0
        assert second.returncode == 0, log
    finally:
        await publisher.bus.close()
        await publisher.engine.dispose()


async def test_graceful_stop_drains_in_flight_events(settings: Settings) -> None:
    """Embedded mode: events already on the in-process bus are stored before shutdown ends."""
    runtime = Runtime(settings)
    await runtime.start(migrate=False, api=False, worker=True)
    stopped = False
    try:
        agent = uuid.uuid4()
        async with runtime.sessions() as session, session.begin():
            session.add(Agent(id=agent, name="drain"))
        messages = [_payload(agent, n) for n in range(2000)]
        for start in range(0, len(messages), 500):
            await runtime.bus.publish(messages[start : start + 500])
        await runtime.stop()
        stopped = True
        engine_runtime = Runtime(settings)
        try:
            assert await _count(engine_runtime) == 2000
            assert await _learned(engine_runtime) == 2000
        finally:
            await engine_runtime.engine.dispose()
    finally:
        if not stopped:
            await runtime.stop()
