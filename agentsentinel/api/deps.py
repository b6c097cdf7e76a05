"""Request dependencies: the runtime, the request-owned transaction, and the caller's identity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from agentsentinel.auth.keys import Scope, hash_secret, looks_like_key
from agentsentinel.auth.lookup import KeyLookup, KeyRecord
from agentsentinel.auth.sessions import COOKIE_NAME, verify_session
from agentsentinel.auth.throttle import client_address
from agentsentinel.errors import Forbidden, RateLimited, Unauthenticated
from agentsentinel.models import ApiKey
from agentsentinel.runtime import Runtime

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# Dependencies are ``async def`` even when they do not await: FastAPI runs plain ``def``
# dependencies in a worker thread, which costs more than the dependency itself.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_key_lookup(request: Request) -> KeyLookup:
    """The process's key lookup (created by the app's lifespan)."""
    lookup: KeyLookup = request.app.state.key_lookup
    return lookup


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed when the handler returns, rolled back on error.

    ``scope="function"`` (below) makes the commit happen before the response is sent, so a 2xx
    always means the change is durable.
    """
    async with runtime.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, name, scope and (agent keys) the bound agent."""

    key_id: uuid.UUID
    name: str
    scope: Scope
    agent_id: uuid.UUID | None
    via_cookie: bool = False
    session_expires: datetime | None = None

    # Module constants rather than ``Scope.X``: enum member lookups are slow on Python 3.11 and
    # ``can_act_for`` runs once per event of a batch.
    @property
    def is_admin(self) -> bool:
        return self.scope is _ADMIN

    def can_read_fleet(self) -> bool:
        return self.scope is _ADMIN or self.scope is _READONLY

    def can_read_agent(self, agent_id: uuid.UUID) -> bool:
        return self.can_read_fleet() or self.agent_id == agent_id

    def can_act_for(self, agent_id: uuid.UUID) -> bool:
        scope = self.scope
        return scope is _ADMIN or (scope is _AGENT and self.agent_id == agent_id)


_ADMIN, _AGENT, _READONLY = Scope.ADMIN, Scope.AGENT, Scope.READONLY


def key_is_usable(key: ApiKey | None) -> bool:
    """Active, unexpired, and (agent keys) still bound to an agent."""
    if key is None or not key.is_active:
        return False
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        return False
    # An agent key whose agent is gone is dead: fail closed.
    return not (key.scope == Scope.AGENT and key.agent_id is None)


async def authenticate(
    request: Request,
    runtime: RuntimeDep,
    raw_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """Resolve the caller from ``X-API-Key`` or the dashboard session cookie (never cached).

    One ``SELECT`` per request (key + bound agent, see ``auth.lookup``) on its own connection,
    so revocation, expiry and agent deletion hold from the very next request in every process.
    """
    address = client_address(request, runtime.settings.trusted_proxies)
    wait = runtime.throttle.retry_after(address)
    if wait:
        raise RateLimited(
            "too many failed authentication attempts; retry later",
            headers={"Retry-After": str(wait)},
        )
    cookie = request.cookies.get(COOKIE_NAME) if not raw_key else None
    key: KeyRecord | None = None
    via_cookie = False
    expires: datetime | None = None
    if raw_key:
        if looks_like_key(raw_key):
            key = await get_key_lookup(request).by_hash(hash_secret(runtime.secret, raw_key))
    elif cookie:
        verified = verify_session(runtime.secret, cookie)
        if verified is not None:
            key = await get_key_lookup(request).by_id(verified[0])
            via_cookie = True
            expires = datetime.fromtimestamp(verified[1], UTC)
    else:
        # Not a guess at a key, so not counted towards the failed-auth throttle.
        raise Unauthenticated("missing X-API-Key header")
    if key is None or not key.usable():
        runtime.throttle.record_failure(address)
        raise Unauthenticated("invalid, expired or revoked API key")
    if via_cookie and request.method in _UNSAFE:
        _check_same_origin(request, runtime.settings.cors_origins)
    runtime.usage.touch(key.id)
    return Principal(key.id, key.name, Scope(key.scope), key.agent_id, via_cookie, expires)


def _check_same_origin(request: Request, allowed: list[str]) -> None:
    """Cookie-authenticated writes must come from our own pages (defence beside SameSite)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin != own and origin not in allowed:
        raise Forbidden("cross-origin request refused")


PrincipalDep = Annotated[Principal, Depends(authenticate)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise Forbidden(f"scope '{principal.scope}' may not do this; admin required")
    return principal


async def require_fleet_read(principal: PrincipalDep) -> Principal:
    if not principal.can_read_fleet():
        raise Forbidden(f"scope '{principal.scope}' may not read fleet-wide data")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
ReaderDep = Annotated[Principal, Depends(require_fleet_read)]


def ensure_can_read_agent(principal: Principal, agent_id: uuid.UUID) -> None:
    if not principal.can_read_agent(agent_id):
        raise Forbidden("this key may only read its own agent")


def ensure_can_act_for(principal: Principal, agent_id: uuid.UUID) -> None:
    if not principal.can_act_for(agent_id):
        if principal.scope is Scope.READONLY:
            raise Forbidden("readonly keys cannot write")
        raise Forbidden("this key may only act for its own agent")
