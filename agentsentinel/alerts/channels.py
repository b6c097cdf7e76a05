"""What each channel sends: the Slack message, the signed webhook request, the log line."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from agentsentinel.alerts.outbox import DIGEST_TRIGGER
from agentsentinel.alerts.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger("agentsentinel.alerts")

_SEVERITY_EMOJI = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":warning:",
    "INFO": ":information_source:",
}


@dataclass(frozen=True)
class AlertMessage:
    """An outbox row as the channels see it (the dispatcher builds it after claiming)."""

    id: str
    trigger: str
    dedup_key: str
    created_at: str
    payload: dict[str, Any]

    @property
    def severity(self) -> str:
        return str(self.payload.get("severity", "INFO"))

    @property
    def text(self) -> str:
        agent = self.payload.get("agent_name") or self.payload.get("agent_id") or "unknown agent"
        return f"[{self.severity}] {agent}: {self.payload.get('message', self.trigger)}"

    def document(self) -> dict[str, Any]:
        """The JSON body of webhook deliveries (and the fields of the log line)."""
        return {
            "id": self.id,
            "event": self.trigger,
            "dedup_key": self.dedup_key,
            "created_at": self.created_at,
            **self.payload,
        }


def digest_message(payload: dict[str, Any], suppressed: int) -> dict[str, Any]:
    """The digest's payload once its count is known."""
    agent = payload.get("agent_name") or payload.get("agent_id")
    return {
        **payload,
        "suppressed": suppressed,
        "message": (
            f"{suppressed} more alerts suppressed for agent {agent} between "
            f"{payload.get('window_start')} and {payload.get('window_end')} (per-agent limit)"
        ),
    }


def slack_body(message: AlertMessage) -> dict[str, Any]:
    """Slack incoming-webhook JSON: ``text`` (notifications, fallbacks) and blocks."""
    payload = message.payload
    fields = [
        f"*Trigger*\n{message.trigger}",
        f"*Severity*\n{message.severity}",
        f"*Agent*\n{payload.get('agent_name') or '-'} (`{payload.get('agent_id') or '-'}`)",
    ]
    for key in ("finding_id", "event_id", "tool_name", "anomaly_score", "status"):
        if payload.get(key) is not None:
            fields.append(f"*{key.replace('_', ' ').capitalize()}*\n`{payload[key]}`")
    emoji = _SEVERITY_EMOJI.get(message.severity, ":warning:")
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{emoji} *AgentSentinel*: {message.text}"},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"alert `{message.id}` · {message.created_at}"}
            ],
        },
    ]
    return {"text": f"AgentSentinel {message.text}", "blocks": blocks}


def webhook_request(
    message: AlertMessage, secret: str, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    """The signed body and headers of a generic webhook delivery."""
    body = json.dumps(message.document(), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        EVENT_HEADER: message.trigger,
        # Stable across retries: receivers deduplicate at-least-once deliveries with it.
        DELIVERY_HEADER: message.id,
    }
    return body, headers


def log_alert(message: AlertMessage) -> None:
    """The log channel: one structured line (payloads hold ids and names, never secrets)."""
    level = logging.INFO if message.trigger == DIGEST_TRIGGER else logging.WARNING
    log.log(level, "alert %s", json.dumps(message.document(), sort_keys=True, default=str))
