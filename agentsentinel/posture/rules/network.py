"""MCP server endpoints: transport, host and whether the host is this machine.

Key contracts:
- URLs are parsed, never matched as strings: ``localhost.evil.com`` and ``127.0.0.1.nip.io`` are
  remote hosts; ``localhost``, ``127.0.0.0/8``, ``::1`` and IPv4-mapped loopback
  (``::ffff:127.0.0.1``) are loopback. Hosts ending in ``.localhost`` are *not* trusted: RFC 6761
  reserves them, but not every resolver honours it, and a rule must not depend on resolvers.
- Credentials in a URL (``https://user:token@host``, ``?api_key=…``) are detected and never echoed:
  ``redacted_url`` drops the user info and the query.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from agentsentinel.posture.classifier import tokenize

_PLAINTEXT: Final = frozenset({"http", "ws"})
_ENCRYPTED: Final = frozenset({"https", "wss"})
_LOCAL_PROCESS: Final = frozenset({"stdio"})
# Query parameter names (as tokens) that carry a credential.
_SECRET_QUERY_TOKENS: Final = frozenset(
    {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "auth", "signature", "sig"}
)


@dataclass(frozen=True, slots=True)
class McpEndpoint:
    """What a posture rule needs to know about an MCP server URL."""

    scheme: str  # lower case; "" when the URL has none
    host: str | None  # lower case, no brackets, no trailing dot; None for stdio / unparseable
    port: int | None
    loopback: bool
    encrypted: bool
    local_process: bool  # stdio: a child process, no network transport
    credentials_in_url: bool
    redacted_url: str
    valid: bool


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (IPv4, IPv6, IPv4-mapped IPv6)."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _secret_query(query: str) -> bool:
    for name, _ in parse_qsl(query, keep_blank_values=True):
        tokens = set(tokenize(name))
        if tokens & _SECRET_QUERY_TOKENS or "".join(tokenize(name)) in _SECRET_QUERY_TOKENS:
            return True
    return False


def parse_endpoint(url: str) -> McpEndpoint:
    """Parse an MCP server URL; an unparseable one comes back with ``valid=False``."""
    text = url.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme in _LOCAL_PROCESS:
        return McpEndpoint(scheme, None, None, True, False, True, False, f"{scheme}:", True)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return McpEndpoint(scheme, None, None, False, False, False, False, "<unparseable>", False)
    host = host.rstrip(".") if host else None
    credentials = bool(parts.username or parts.password) or _secret_query(parts.query)
    netloc = host or ""
    if host and ":" in host:
        netloc = f"[{host}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    redacted = f"{scheme}://{netloc}{parts.path}" if scheme else text.split("?", 1)[0]
    valid = scheme in _PLAINTEXT | _ENCRYPTED and bool(host)
    return McpEndpoint(
        scheme=scheme,
        host=host,
        port=port,
        loopback=bool(host) and is_loopback_host(host or ""),
        encrypted=scheme in _ENCRYPTED,
        local_process=False,
        credentials_in_url=credentials,
        redacted_url=redacted,
        valid=valid,
    )
