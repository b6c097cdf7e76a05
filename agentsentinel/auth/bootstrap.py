"""First-start admin key and one-time dashboard login tokens.

Several API processes may start together against one database: a transaction-scoped advisory
lock (Postgres) or the write lock (SQLite) makes "is there an active admin key? if not, mint one"
atomic, so exactly one key is minted and no process crashes. Any number of existing admin keys is
fine.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.auth.keys import Scope, generate_key, hash_secret, key_prefix
from agentsentinel.db.types import utcnow
from agentsentinel.models import ApiKey, LoginToken

_BOOTSTRAP_LOCK_ID = 0x41534B59  # arbitrary constant shared by every process
LOGIN_TOKEN_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class BootstrapResult:
    key: str | None  # the plaintext key when it goes to the terminal
    key_file: Path | None  # where the key went instead
    prefix: str


async def _lock(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _BOOTSTRAP_LOCK_ID})
    else:
        # A no-op write takes SQLite's write lock for the rest of the transaction.
        await session.execute(update(ApiKey).where(ApiKey.id.is_(None)).values(name=ApiKey.name))


def _active_admins() -> Select[int]:
    now = utcnow()
    return (
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.scope == Scope.ADMIN, ApiKey.is_active.is_(True))
        .where(or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
    )


def write_key_file(path: Path, key: str) -> None:
    """Write ``key`` alone to ``path`` with mode 0600, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bootstrap-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def ensure_admin_key(
    sessions: async_sessionmaker[AsyncSession], secret: str, key_file: Path | None
) -> BootstrapResult | None:
    """Mint the first admin key if no active one exists; None when one already does."""
    async with sessions() as session, session.begin():
        await _lock(session)
        if (await session.execute(_active_admins())).scalar_one() > 0:
            return None
        raw = generate_key(Scope.ADMIN)
        session.add(
            ApiKey(
                name="bootstrap-admin",
                key_prefix=key_prefix(raw),
                key_hash=hash_secret(secret, raw),
                scope=Scope.ADMIN,
                created_by="bootstrap",
            )
        )
        await session.flush()
        if key_file is not None:
            # Written before commit: if the file cannot be written, no undeliverable key exists.
            write_key_file(key_file, raw)
            return BootstrapResult(key=None, key_file=key_file, prefix=key_prefix(raw))
        return BootstrapResult(key=raw, key_file=None, prefix=key_prefix(raw))


async def create_login_token(sessions: async_sessionmaker[AsyncSession], secret: str) -> str | None:
    """A one-time dashboard login token bound to the oldest active admin key."""
    async with sessions() as session, session.begin():
        admin = (
            await session.execute(
                select(ApiKey)
                .where(ApiKey.scope == Scope.ADMIN, ApiKey.is_active.is_(True))
                .order_by(ApiKey.created_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        if admin is None:
            return None
        token = secrets.token_urlsafe(32)
        session.add(
            LoginToken(
                token_hash=hash_secret(secret, "login|" + token),
                key_id=admin.id,
                expires_at=utcnow() + LOGIN_TOKEN_TTL,
            )
        )
        return token
