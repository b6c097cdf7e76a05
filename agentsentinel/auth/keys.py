"""Key format, HMAC hashing and constant-time checks.

A key looks like ``as_<adm|agt|ro>_<64 hex>``. Only an HMAC-SHA256 of it (keyed with the server
secret) is stored, so a stolen database does not yield usable keys; the first characters are kept
for display.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum


class Scope(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    READONLY = "readonly"


SCOPE_TAG = {Scope.ADMIN: "adm", Scope.AGENT: "agt", Scope.READONLY: "ro"}
KEY_PATTERN = re.compile(r"^as_(adm|agt|ro)_[0-9a-f]{64}$")
PREFIX_LENGTH = 12


def generate_key(scope: Scope) -> str:
    """A new plaintext key for ``scope`` (256 bits of randomness)."""
    return f"as_{SCOPE_TAG[scope]}_{secrets.token_hex(32)}"


def hash_secret(secret: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` keyed with the server secret, as hex."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def key_prefix(raw: str) -> str:
    return raw[:PREFIX_LENGTH]


def looks_like_key(raw: str) -> bool:
    """Cheap shape check before touching the database (bounded length, known alphabet)."""
    return len(raw) <= 80 and KEY_PATTERN.match(raw) is not None


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
