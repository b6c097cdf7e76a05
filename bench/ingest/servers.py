"""Start the AgentSentinel servers under test as real subprocesses, and always tear them down.

Two deployments:

* ``embedded``: one ``sentinel serve`` (SQLite in a temp data dir, in-memory bus,
  in-process worker);
* ``production``: a throwaway Postgres database, a unique Redis key prefix, one ``sentinel api`` and
  one ``sentinel worker`` (``AGENTSENTINEL_MODE=production``, random secret).

Both read the bootstrap admin key from ``AGENTSENTINEL_BOOTSTRAP_KEY_FILE``. Server stderr goes to
``bench/results/`` (git-ignored); stdout (one-time login URL) is discarded so no secret lands on
disk. Teardown runs on success, error, Ctrl-C or SIGTERM: SIGTERM, a grace period, then SIGKILL;
the temp dir, the database and the Redis keys are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import asyncpg
import httpx
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "bench" / "results"
SENTINEL = Path(sys.executable).with_name("sentinel")
STOP_GRACE_S = 20.0
READY_TIMEOUT_S = 90.0


class ServerFailure(RuntimeError):
    """A server process died or never became ready; the message carries its log tail."""


@dataclass
class ServerProcess:
    """One server subprocess in its own session (so Ctrl-C reaches only the bench)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    _cpu_seconds: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            self.log_file.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """user + system CPU time of the process, or the last value seen once it has exited."""
        seconds = proc_cpu_seconds(self.pid)
        if seconds is not None:
            self._cpu_seconds = seconds
        return self._cpu_seconds

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM the process group, wait ``grace_s``, then SIGKILL. Returns the exit code."""
        try:
            if self.proc.poll() is None:
                self._signal(signal.SIGTERM)
                try:
                    self.proc.wait(grace_s)
                except subprocess.TimeoutExpired:
                    print(
                        f"  {self.name} (pid {self.pid}) ignored SIGTERM for {grace_s:.0f}s: "
                        "SIGKILL",
                        file=sys.stderr,
                    )
                    self._signal(signal.SIGKILL)
                    self.proc.wait(10)
            return self.proc.returncode
        finally:
            self.log_file.close()

    def _signal(self, sig: signal.Signals) -> None:
        # start_new_session=True made the child its own process-group leader (pgid == pid).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)


def proc_cpu_seconds(pid: int) -> float | None:
    """user + system CPU seconds of ``pid`` from Linux /proc (None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def start_process(
    name: str, args: Sequence[str], env: dict[str, str], log_path: Path, cwd: Path
) -> ServerProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        list(args),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
        start_new_session=True,
    )
    return ServerProcess(name, proc, log_path, log_file)


def stop_all(processes: Sequence[ServerProcess]) -> None:
    """Stop in start order (the API first, so the worker drains what it accepted)."""
    for process in processes:
        try:
            code = process.stop()
        except Exception as exc:  # keep stopping the others
            print(f"  could not stop {process.name}: {exc!r}", file=sys.stderr)
            continue
        if code not in (0, None, -signal.SIGTERM):
            print(f"  {process.name} exited with {code}; log: {process.log_path}", file=sys.stderr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without any AGENTSENTINEL_* leakage, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSENTINEL_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def failure(message: str, processes: Sequence[ServerProcess]) -> ServerFailure:
    tails = "\n".join(
        f"--- {p.name} (pid {p.pid}, {'running' if p.alive() else f'exit {p.proc.returncode}'}) "
        f"{p.log_path} ---\n{p.tail()}"
        for p in processes
    )
    return ServerFailure(f"{message}\n{tails}")


def ensure_alive(processes: Sequence[ServerProcess]) -> None:
    dead = [p for p in processes if not p.alive()]
    if dead:
        raise failure(f"server process {dead[0].name} exited", processes)


async def wait_ready(base_url: str, processes: Sequence[ServerProcess]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    async with httpx.AsyncClient(base_url=base_url, timeout=3.0) as client:
        while time.monotonic() < deadline:
            ensure_alive(processes)
            try:
                response = await client.get("/ready")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            await asyncio.sleep(0.2)
    raise failure(f"{base_url}/ready not 200 after {READY_TIMEOUT_S:.0f}s ({last})", processes)


async def read_key_file(path: Path, processes: Sequence[ServerProcess]) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            key = (await asyncio.to_thread(path.read_text)).strip()
            if key:
                return key
        await asyncio.sleep(0.1)
    raise failure(f"bootstrap key file {path} was not written", processes)


# Row counting (the bench's own view of what is persisted) -----------------------------------


class RowStore(ABC):
    """Read-only access to ``agent_events`` in the server's database."""

    @abstractmethod
    async def count(self) -> int: ...

    @abstractmethod
    async def scored(self) -> int: ...

    @abstractmethod
    async def ids(self) -> set[str]: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def service_pids(self) -> dict[str, list[int]]:
        """Pids of the backing services working for this deployment (for CPU accounting)."""
        return {}


class SqliteRows(RowStore):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str) -> list[tuple[object, ...]]:
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()

    async def count(self) -> int:
        rows = await asyncio.to_thread(self._query, "SELECT count(*) FROM agent_events")
        return int(str(rows[0][0])) if rows else 0

    async def scored(self) -> int:
        rows = await asyncio.to_thread(
            self._query, "SELECT count(*) FROM agent_events WHERE anomaly_score IS NOT NULL"
        )
        return int(str(rows[0][0])) if rows else 0

    async def ids(self) -> set[str]:
        # SQLAlchemy's Uuid type stores 32 hex digits without dashes on SQLite.
        rows = await asyncio.to_thread(self._query, "SELECT id FROM agent_events")
        return {_norm_uuid(row[0]) for row in rows}

    async def close(self) -> None:
        return None


class PostgresRows(RowStore):
    def __init__(self, conn: asyncpg.Connection, dbname: str, redis_pid: int | None) -> None:
        self.conn = conn
        self.dbname = dbname
        self.redis_pid = redis_pid

    async def service_pids(self) -> dict[str, list[int]]:
        # Backends of the bench database except this polling connection; Redis is shared with
        # anything else running on the machine.
        rows = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.dbname,
        )
        pids = {"postgres": [int(r[0]) for r in rows]}
        if self.redis_pid:
            pids["redis"] = [self.redis_pid]
        return pids

    async def count(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM agent_events"))

    async def scored(self) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM agent_events WHERE anomaly_score IS NOT NULL"
            )
        )

    async def ids(self) -> set[str]:
        return {_norm_uuid(r[0]) for r in await self.conn.fetch("SELECT id FROM agent_events")}

    async def close(self) -> None:
        await self.conn.close()


def _norm_uuid(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value).replace("-", "").lower()


# Deployments ------------------------------------------------------------------------------


@dataclass
class Deployment:
    mode: str
    base_url: str
    admin_key: str
    processes: list[ServerProcess]
    rows: RowStore
    description: str
    versions: dict[str, str] = field(default_factory=dict)

    def ensure_alive(self) -> None:
        ensure_alive(self.processes)


def _log_path(stamp: str, mode: str, name: str) -> Path:
    return RESULTS_DIR / f"ingest-{stamp}-{mode}-{name}.log"


@contextlib.asynccontextmanager
async def embedded(stamp: str) -> AsyncIterator[Deployment]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    processes: list[ServerProcess] = []
    try:
        port = free_port()
        key_file = tmp / "admin.key"
        env = server_env(
            {
                "AGENTSENTINEL_DATA_DIR": str(tmp / "data"),
                "AGENTSENTINEL_BOOTSTRAP_KEY_FILE": str(key_file),
            }
        )
        processes.append(
            start_process(
                "serve",
                [str(SENTINEL), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env,
                _log_path(stamp, "embedded", "serve"),
                tmp,
            )
        )
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, processes)
        admin_key = await read_key_file(key_file, processes)
        rows = SqliteRows(tmp / "data" / "agentsentinel.db")
        yield Deployment(
            "embedded",
            base_url,
            admin_key,
            processes,
            rows,
            "1 x `sentinel serve` (SQLite WAL + in-memory bus + in-process worker)",
            {"sqlite": sqlite3.sqlite_version},
        )
    finally:
        stop_all(processes)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.asynccontextmanager
async def production(
    stamp: str, pg_admin_dsn: str, redis_url: str, workers: int = 1
) -> AsyncIterator[Deployment]:
    tag = secrets.token_hex(4)
    dbname = f"bench_ingest_{tag}"
    prefix = f"bench-ingest-{tag}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    processes: list[ServerProcess] = []
    rows: PostgresRows | None = None
    created = False
    try:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{dbname}"')
            created = True
            pg_version = str(await admin.fetchval("SHOW server_version"))
        finally:
            await admin.close()
        db_dsn = urlsplit(pg_admin_dsn)._replace(path=f"/{dbname}").geturl()
        redis_client = aioredis.from_url(redis_url)
        try:
            info = await redis_client.info("server")
            redis_version = str(info.get("redis_version", "?"))
            redis_pid = int(info.get("process_id", 0)) or None
        finally:
            await redis_client.aclose()
        port = free_port()
        key_file = tmp / "admin.key"
        env = server_env(
            {
                "AGENTSENTINEL_MODE": "production",
                "AGENTSENTINEL_DATABASE_URL": db_dsn,
                "AGENTSENTINEL_REDIS_URL": redis_url,
                "AGENTSENTINEL_REDIS_PREFIX": prefix,
                "AGENTSENTINEL_SECRET_KEY": secrets.token_hex(32),
                "AGENTSENTINEL_BOOTSTRAP_KEY_FILE": str(key_file),
                "AGENTSENTINEL_DATA_DIR": str(tmp / "data"),
            }
        )
        # The API migrates the schema; the worker starts once it is there (no migration race).
        processes.append(
            start_process(
                "api",
                [str(SENTINEL), "api", "--host", "127.0.0.1", "--port", str(port)],
                env,
                _log_path(stamp, "production", "api"),
                tmp,
            )
        )
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, processes)
        for i in range(1, workers + 1):
            name = "worker" if workers == 1 else f"worker{i}"
            processes.append(
                start_process(
                    name,
                    [str(SENTINEL), "worker"],
                    env,
                    _log_path(stamp, "production", name),
                    tmp,
                )
            )
        admin_key = await read_key_file(key_file, processes)
        rows = PostgresRows(await asyncpg.connect(db_dsn), dbname, redis_pid)
        yield Deployment(
            "production",
            base_url,
            admin_key,
            processes,
            rows,
            f"1 x `sentinel api` + {workers} x `sentinel worker` (Postgres + Redis Streams)",
            {"postgres": pg_version, "redis": redis_version},
        )
    finally:
        stop_all(processes)
        if rows is not None:
            with contextlib.suppress(Exception):
                await rows.close()
        if created:
            await _drop_database(pg_admin_dsn, dbname)
        await _clean_redis(redis_url, prefix)
        shutil.rmtree(tmp, ignore_errors=True)


async def _drop_database(pg_admin_dsn: str, dbname: str) -> None:
    try:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            await admin.close()
    except Exception as exc:
        print(f"  could not drop database {dbname}: {exc!r} (drop it by hand)", file=sys.stderr)


async def _clean_redis(redis_url: str, prefix: str) -> None:
    try:
        client = aioredis.from_url(redis_url)
        try:
            batch: list[bytes] = []
            async for key in client.scan_iter(match=f"{prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    await client.delete(*batch)
                    batch.clear()
            if batch:
                await client.delete(*batch)
        finally:
            await client.aclose()
    except Exception as exc:
        print(f"  could not clean Redis keys {prefix}*: {exc!r}", file=sys.stderr)
