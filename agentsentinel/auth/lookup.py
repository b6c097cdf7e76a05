"""The per-request key lookup: one compiled Core statement on a dedicated autocommit pool.

Every authenticated request resolves its key here, never from a cache: revocation, expiry and
agent deletion are committed before the request that made them answers, so the very next request
(in any API process) reads the new state.

Why a pool of its own: the application's pool pings every checked-out connection (``BEGIN; ;
ROLLBACK`` on asyncpg) and the request transaction adds ``BEGIN``/``COMMIT``, so an ORM lookup cost
six round trips. Here one ``SELECT`` is the whole exchange: autocommit (no transaction to open or
close), and no pre-ping: a connection found dead is invalidated by SQLAlchemy and the statement is
retried once on a fresh one.

The key row comes with its bound agent (outer join): an agent key whose agent row is gone is dead,
and a live agent key proves its agent exists, so ``POST /events`` with an agent key needs no
second query.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentsentinel.auth.keys import Scope, constant_time_equals
from agentsentinel.db.engine import create_engine, is_sqlite
from agentsentinel.models import Agent, ApiKey

_T = TypeVar("_T")

_keys = ApiKey.__table__
_agents = Agent.__table__
_KEY_COLUMNS = (
    _keys.c.id,
    _keys.c.name,
    _keys.c.scope,
    _keys.c.agent_id,
    _keys.c.is_active,
    _keys.c.expires_at,
    _keys.c.key_hash,
    _agents.c.id.label("bound_agent"),
)


def _key_select() -> Select[Any]:
    return select(*_KEY_COLUMNS).select_from(
        _keys.outerjoin(_agents, _agents.c.id == _keys.c.agent_id)
    )


_BY_HASH = _key_select().where(_keys.c.key_hash == bindparam("key_hash"))
_BY_ID = _key_select().where(_keys.c.id == bindparam("key_id"))
_AGENTS_IN = select(_agents.c.id).where(_agents.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What a request needs to know about its key (read fresh for every request)."""

    id: uuid.UUID
    name: str
    scope: str
    agent_id: uuid.UUID | None
    is_active: bool
    expires_at: datetime | None
    bound_agent_exists: bool

    def usable(self, now: datetime | None = None) -> bool:
        """Active, unexpired, and (agent keys) still bound to an agent that exists."""
        if not self.is_active:
            return False
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return False
        # An agent key whose agent is gone is dead: fail closed.
        return self.scope != Scope.AGENT or (self.agent_id is not None and self.bound_agent_exists)


def _record(row: Any) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        name=row.name,
        scope=row.scope,
        agent_id=row.agent_id,
        is_active=bool(row.is_active),
        expires_at=row.expires_at,
        bound_agent_exists=row.bound_agent is not None,
    )


class KeyLookup:
    """Key and agent-existence reads for authentication, one round trip each."""

    def __init__(self, engine: AsyncEngine, *, owns_engine: bool) -> None:
        self._engine = engine
        self._owns_engine = owns_engine

    @classmethod
    def for_database(cls, url: str, app_engine: AsyncEngine) -> KeyLookup:
        """A lookup with its own small autocommit pool (SQLite: the application's engine)."""
        if is_sqlite(app_engine):
            # One file, one writer: no second pool; reads outside a transaction see the latest
            # commit (WAL), which is all autocommit would give.
            return cls(app_engine, owns_engine=False)
        engine = create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=False,
            isolation_level="AUTOCOMMIT",
        )
        return cls(engine, owns_engine=True)

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    async def by_hash(self, digest: str) -> KeyRecord | None:
        """The key whose HMAC digest is ``digest``, with its bound agent."""

        async def run(conn: AsyncConnection) -> KeyRecord | None:
            row = (await conn.execute(_BY_HASH, {"key_hash": digest})).first()
            # The database matched on equality already; compare again in constant time so a
            # collation or index quirk can never turn a near miss into a match.
            if row is None or not constant_time_equals(row.key_hash, digest):
                return None
            return _record(row)

        return await self._run(run)

    async def by_id(self, key_id: uuid.UUID) -> KeyRecord | None:
        """The key ``key_id`` (dashboard sessions name the key by id), with its bound agent."""

        async def run(conn: AsyncConnection) -> KeyRecord | None:
            row = (await conn.execute(_BY_ID, {"key_id": key_id})).first()
            return None if row is None else _record(row)

        return await self._run(run)

    async def agents_existing(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` are registered agents."""
        wanted = list(set(ids))
        if not wanted:
            return set()

        async def run(conn: AsyncConnection) -> set[uuid.UUID]:
            return set((await conn.execute(_AGENTS_IN, {"ids": wanted})).scalars())

        return await self._run(run)

    async def _run(self, fn: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        try:
            async with self._engine.connect() as conn:
                return await fn(conn)
        except DBAPIError as exc:
            # Without pre-ping a pooled connection may have died (database restart, idle
            # timeout): SQLAlchemy has invalidated it, so one retry gets a fresh connection.
            if not exc.connection_invalidated:
                raise
        async with self._engine.connect() as conn:
            return await fn(conn)
