"""API key management."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.auth.keys import Scope, generate_key, hash_secret, key_prefix
from agentsentinel.db.types import utcnow
from agentsentinel.errors import Conflict, InvalidInput, NotFound
from agentsentinel.models import Agent, ApiKey


async def create_key(
    session: AsyncSession,
    secret: str,
    *,
    name: str,
    scope: Scope,
    agent_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    created_by: str | None = None,
) -> tuple[ApiKey, str]:
    """Mint a key; returns the row and the plaintext (shown once, never stored)."""
    if scope is Scope.AGENT:
        if agent_id is None:
            raise InvalidInput("agent keys must be bound to an agent")
        if await session.get(Agent, agent_id) is None:
            raise NotFound("Agent not found")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput(
            [{"loc": ["body", "expires_at"], "msg": "must be in the future", "type": "value_error"}]
        )
    raw = generate_key(scope)
    key = ApiKey(
        name=name,
        key_prefix=key_prefix(raw),
        key_hash=hash_secret(secret, raw),
        scope=scope,
        agent_id=agent_id,
        expires_at=expires_at,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    return key, raw


async def list_keys(
    session: AsyncSession, limit: int, offset: int, include_revoked: bool = True
) -> tuple[list[ApiKey], int]:
    stmt = select(ApiKey)
    count = select(func.count()).select_from(ApiKey)
    if not include_revoked:
        stmt = stmt.where(ApiKey.is_active.is_(True))
        count = count.where(ApiKey.is_active.is_(True))
    total = (await session.execute(count)).scalar_one()
    rows = (
        (
            await session.execute(
                stmt.order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return list(rows), int(total)


async def revoke_key(
    session: AsyncSession, key_id: uuid.UUID, caller_id: uuid.UUID | None
) -> ApiKey:
    """Deactivate a key (kept for audit). Effective on the very next request: keys aren't cached."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("Key not found")
    if caller_id is not None and key.id == caller_id:
        raise Conflict("refusing to revoke the key making this request")
    if key.is_active:
        key.is_active = False
        key.revoked_at = utcnow()
        await session.flush()
    return key
