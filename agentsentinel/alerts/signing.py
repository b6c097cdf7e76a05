"""HMAC-SHA256 signatures of webhook deliveries, and the helper receivers verify them with.

Header: ``X-AgentSentinel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." +
body)>``. Signing the timestamp with the body lets a receiver refuse replays of old deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-AgentSentinel-Signature"
EVENT_HEADER = "X-AgentSentinel-Event"
DELIVERY_HEADER = "X-AgentSentinel-Delivery"
DEFAULT_TOLERANCE_S = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp`` (default: now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={_mac(secret, ts, body)}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True iff ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of ``now``."""
    if not header:
        return False
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body)
    # Constant-time, and any of several v1 values may match (secret rotation on the sender).
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))
