"""Validation of alert destinations (standard library only: settings call it at load time)."""

from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlsplit

SLACK_HOST = "hooks.slack.com"
_LOOPBACK_NAMES = {"localhost"}


def validate_slack_webhook_url(url: str) -> str:
    """Accept only ``https://hooks.slack.com/...`` (no userinfo, no port but 443); else raise."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise ValueError("the Slack webhook URL must use https")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise ValueError("the Slack webhook URL must not contain credentials")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the Slack webhook URL has an invalid port") from None
    if port not in (None, 443):
        raise ValueError("the Slack webhook URL must use the default https port")
    # hostname is lower-cased by urlsplit; an exact match refuses hooks.slack.com.evil.com,
    # evil.com/hooks.slack.com and IP literals alike.
    netloc = parts.netloc.lower()
    if parts.hostname != SLACK_HOST or netloc not in (SLACK_HOST, f"{SLACK_HOST}:443"):
        raise ValueError(f"the Slack webhook URL must point to https://{SLACK_HOST}/")
    if not parts.path.startswith("/services/") or parts.fragment:
        raise ValueError("the Slack webhook URL must be https://hooks.slack.com/services/...")
    return url.strip()


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(url: str) -> str:
    """Accept ``https`` URLs, and plain ``http`` only to a loopback receiver; no credentials."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if not host:
        raise ValueError("the alert webhook URL has no host")
    if parts.scheme == "http":
        if not _is_loopback(host):
            raise ValueError("the alert webhook URL must use https (http only to localhost)")
    elif parts.scheme != "https":
        raise ValueError("the alert webhook URL must use https")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the alert webhook URL must not contain credentials")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("the alert webhook URL has an invalid port") from None
    if parts.fragment:
        raise ValueError("the alert webhook URL must not contain a fragment")
    return url.strip()


def destination_id(url: str) -> str:
    """What the outbox stores instead of the URL (URLs carry tokens): host and a short hash."""
    host = urlsplit(url).hostname or "unknown"
    return f"{host}#{hashlib.sha256(url.encode()).hexdigest()[:16]}"
