"""One suite, two storage modes.

Every test that takes the ``backend`` fixture runs on SQLite + the in-memory bus, and also on
Postgres + Redis Streams when ``AGENTSENTINEL_TEST_DATABASE_URL`` and
``AGENTSENTINEL_TEST_REDIS_URL`` are set (CI sets both). When they are set but unreachable the
tests fail; they are never silently skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentsentinel.settings import Settings

PG_URL = os.environ.get("AGENTSENTINEL_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("AGENTSENTINEL_TEST_REDIS_URL")
TEST_SECRET = "test-secret-" + "x" * 40
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL and REDIS_URL else [])


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str | None  # None: a fresh SQLite copy per test
    redis_url: str | None


def _in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking set-up (Alembic, asyncio.run) outside the test's running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _run(coro: Any) -> Any:
    return _in_thread(asyncio.run, coro)


def _pg_admin_url(url: str) -> str:
    from agentsentinel.settings import normalise_database_url

    return normalise_database_url(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating once is much faster)."""
    from agentsentinel.db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    _in_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway Postgres database for this test session, migrated to head."""
    assert PG_URL, "AGENTSENTINEL_TEST_DATABASE_URL is not set"
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from agentsentinel.db.migrate import upgrade

    base = make_url(_pg_admin_url(PG_URL))
    name = f"as_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    _run(admin(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        _in_thread(upgrade, url)
        yield url
    finally:
        _run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("postgres_database"), REDIS_URL)
    return Backend("sqlite", None, None)


_TABLES = (
    "login_tokens",
    "api_keys",
    "alerts",
    "trust_scores",
    "suppressions",
    "findings",
    "baselines",
    "agent_events",
    "mcp_connections",
    "tool_grants",
    "agents",
)


async def _truncate(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} CASCADE"))
    finally:
        await engine.dispose()


async def _delete_redis_prefix(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def settings(
    backend: Backend, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Settings]:
    """Settings for one test, on a clean database and a private Redis key prefix."""
    prefix = f"astest:{uuid.uuid4().hex[:12]}"
    if backend.database_url is None:
        db_path = tmp_path / "agentsentinel.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), db_path)
        url = f"sqlite+aiosqlite:///{db_path}"
    else:
        url = backend.database_url
        await _truncate(url)
    yield Settings(
        mode="embedded",
        data_dir=tmp_path / "data",
        database_url=url,
        redis_url=backend.redis_url,
        secret_key=TEST_SECRET,
        run_worker=True,
        redis_prefix=prefix,
        reply_timeout_ms=5000,
        lease_ttl_ms=2000,
        show_docs=True,
        shard_count=4,
    )
    if backend.redis_url:
        await _delete_redis_prefix(backend.redis_url, prefix)


@dataclass
class Server:
    """A running app (lifespan entered) and a client for it."""

    app: Any
    runtime: Any
    client: httpx.AsyncClient
    admin_key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-API-Key": key or self.admin_key}


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[Server]:
    from agentsentinel.api.app import create_app

    app = create_app(settings, migrate=False)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        assert runtime.bootstrap is not None and runtime.bootstrap.key is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Server(app, runtime, client, runtime.bootstrap.key)


@dataclass
class LiveServer:
    base_url: str
    admin_key: str
    runtime: Any


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def run_live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn on a loopback port, in a background thread."""
    import threading
    import time

    import uvicorn

    from agentsentinel.api.app import create_app

    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "live server did not start"
    runtime = app.state.runtime
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", runtime.bootstrap.key, runtime)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
