"""API key management (admin) and dashboard sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from agentsentinel.api.deps import AdminDep, PrincipalDep, RuntimeDep, SessionDep, key_is_usable
from agentsentinel.auth.keys import hash_secret, looks_like_key
from agentsentinel.auth.sessions import COOKIE_NAME, sign_session
from agentsentinel.auth.throttle import client_address
from agentsentinel.db.types import utcnow
from agentsentinel.errors import RateLimited, Unauthenticated
from agentsentinel.models import ApiKey, LoginToken
from agentsentinel.schemas.key import KeyCreate, KeyCreated, KeyRead, SessionCreate, SessionRead
from agentsentinel.services import keys as svc

router = APIRouter(tags=["keys"])


@router.post("/keys", status_code=201, response_model=KeyCreated, operation_id="create_key")
async def create_key(
    body: KeyCreate, runtime: RuntimeDep, session: SessionDep, principal: AdminDep
) -> Any:
    """Create a key. The plaintext is in the response once and never again."""
    key, raw = await svc.create_key(
        session,
        runtime.secret,
        name=body.name,
        scope=body.scope,
        agent_id=body.agent_id,
        expires_at=body.expires_at,
        created_by=f"key:{principal.name}",
    )
    return {**KeyRead.model_validate(key).model_dump(), "key": raw}


@router.get("/keys", response_model=list[KeyRead], operation_id="list_keys")
async def list_keys(
    response: Response,
    session: SessionDep,
    _: AdminDep,
    include_revoked: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Keys (prefix only, never the key). Total in ``X-Total-Count``."""
    rows, total = await svc.list_keys(session, limit, offset, include_revoked)
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.delete("/keys/{key_id}", status_code=204, operation_id="revoke_key")
async def revoke_key(key_id: uuid.UUID, session: SessionDep, principal: AdminDep) -> Response:
    """Revoke a key; it stops working on the very next request, in every API process."""
    await svc.revoke_key(session, key_id, principal.key_id)
    return Response(status_code=204)


@router.post("/session", response_model=SessionRead, operation_id="create_session")
async def create_session(
    body: SessionCreate,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Exchange an API key or a one-time login token for an HttpOnly session cookie."""
    address = client_address(request, runtime.settings.trusted_proxies)
    wait = runtime.throttle.retry_after(address)
    if wait:
        raise RateLimited(
            "too many failed attempts; retry later", headers={"Retry-After": str(wait)}
        )
    key: ApiKey | None = None
    if body.key is not None:
        if looks_like_key(body.key):
            digest = hash_secret(runtime.secret, body.key)
            key = (
                await session.execute(select(ApiKey).where(ApiKey.key_hash == digest))
            ).scalar_one_or_none()
    else:
        assert body.token is not None
        digest = hash_secret(runtime.secret, "login|" + body.token)
        token = (
            await session.execute(select(LoginToken).where(LoginToken.token_hash == digest))
        ).scalar_one_or_none()
        if token is not None and token.used_at is None and token.expires_at > utcnow():
            token.used_at = utcnow()  # one-time: consumed even if the key turns out unusable
            key = await session.get(ApiKey, token.key_id)
    if not key_is_usable(key):
        runtime.throttle.record_failure(address)
        raise Unauthenticated("invalid, expired or already used credentials")
    assert key is not None
    ttl = runtime.settings.session_ttl_hours * 3600
    cookie, expires = sign_session(runtime.secret, key.id, ttl)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=ttl,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {
        "scope": key.scope,
        "key_id": key.id,
        "key_name": key.name,
        "agent_id": key.agent_id,
        "expires_at": datetime.fromtimestamp(expires, UTC),
    }


@router.get("/session", response_model=SessionRead, operation_id="get_session")
async def get_session(principal: PrincipalDep) -> dict[str, Any]:
    """Who the caller is (the dashboard uses it to switch to a read-only UI)."""
    return {
        "scope": principal.scope,
        "key_id": principal.key_id,
        "key_name": principal.name,
        "agent_id": principal.agent_id,
        "expires_at": principal.session_expires,
    }


@router.delete("/session", status_code=204, operation_id="delete_session")
async def delete_session() -> Response:
    """Log out: the cookie is cleared."""
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
