"""Start-up waits for Redis and the database instead of exiting when they come up late."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from agentsentinel.bus.base import BusUnavailable
from agentsentinel.runtime import Runtime
from agentsentinel.settings import Settings
from tests.conftest import TEST_SECRET, _free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _settings(tmp_path: Path, redis_port: int, wait_s: float) -> Settings:
    return Settings(
        mode="production",
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        redis_prefix=f"astest:{uuid.uuid4().hex[:12]}",
        secret_key=TEST_SECRET,
        run_worker=True,
        shard_count=2,
        lease_ttl_ms=2000,
        startup_wait_s=wait_s,
    )


def _redis(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_worker_waits_for_redis_that_starts_late(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    runtime = Runtime(_settings(tmp_path, port, wait_s=30))
    redis: subprocess.Popen[bytes] | None = None

    async def start_redis_later() -> None:
        nonlocal redis
        await asyncio.sleep(1.5)
        redis = _redis(port)

    try:
        with caplog.at_level(logging.WARNING, logger="agentsentinel.runtime"):
            await asyncio.gather(runtime.start(api=False, worker=True), start_redis_later())
        assert any("event bus is not reachable yet" in r.getMessage() for r in caplog.records)
        assert await runtime.bus.ping()
        async with runtime.sessions() as session:  # migrated before the bus came up
            assert (await session.execute(text("SELECT count(*) FROM agents"))).scalar_one() == 0
    finally:
        await runtime.stop()
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)


async def test_without_wait_an_unreachable_redis_fails_at_once(tmp_path: Path) -> None:
    runtime = Runtime(_settings(tmp_path, _free_port(), wait_s=0))
    try:
        with pytest.raises(BusUnavailable):
            await asyncio.wait_for(runtime.start(api=False, worker=True), timeout=20)
    finally:
        await runtime.stop()
