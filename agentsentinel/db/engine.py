"""Async engine and session factory for SQLite (embedded) and Postgres (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# SQLite pragmas, each with the reason it is set.
SQLITE_PRAGMAS = {
    # Readers never block the single writer and the writer never blocks readers.
    "journal_mode": "WAL",
    # WAL + NORMAL is durable across application crashes; only an OS crash can lose the last
    # transactions, which the bus redelivers anyway.
    "synchronous": "NORMAL",
    # SQLite ignores foreign keys unless asked; deletes must cascade as on Postgres.
    "foreign_keys": "ON",
    # The API and the in-process worker write concurrently: wait for the lock instead of failing.
    "busy_timeout": "10000",
}


def ensure_sqlite_dir(url: str) -> None:
    """SQLite cannot create the folder of its file: make it (owner-only) when missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine with backend-appropriate settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        ensure_sqlite_dir(url)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for name, value in SQLITE_PRAGMAS.items():
                cursor.execute(f"PRAGMA {name}={value}")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def dialect_insert(session: AsyncSession) -> Any:
    """``insert`` of the session's dialect (Postgres or SQLite), with ``on_conflict_*``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert
