"""Dashboard sessions: a signed, expiring cookie that names an API key (never contains it)."""

from __future__ import annotations

import time
import uuid

from agentsentinel.auth.keys import constant_time_equals, hash_secret

COOKIE_NAME = "agentsentinel_session"
_VERSION = "v1"


def sign_session(secret: str, key_id: uuid.UUID, ttl_seconds: int) -> tuple[str, int]:
    """A cookie value for ``key_id`` valid for ``ttl_seconds``, and its expiry (epoch seconds)."""
    expires = int(time.time()) + ttl_seconds
    body = f"{_VERSION}.{key_id.hex}.{expires}"
    return f"{body}.{hash_secret(secret, 'session|' + body)}", expires


def verify_session(secret: str, value: str) -> tuple[uuid.UUID, int] | None:
    """The key id and expiry of a valid, unexpired cookie; None otherwise."""
    if len(value) > 200:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        return None
    body = ".".join(parts[:3])
    if not constant_time_equals(parts[3], hash_secret(secret, "session|" + body)):
        return None
    try:
        key_id = uuid.UUID(hex=parts[1])
        expires = int(parts[2])
    except ValueError:
        return None
    if expires < time.time():
        return None
    return key_id, expires
