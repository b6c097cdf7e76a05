"""The rules only ``sentinel discover`` raises (facts the posture rules cannot see).

Everything about MCP servers and their tools goes through the shared posture rules
(``agentsentinel.posture.evaluate``); these cover what only a live host shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agentsentinel.posture import Severity


@dataclass(frozen=True, slots=True)
class DiscoverRule:
    """Metadata of one discover rule."""

    id: str
    severity: Severity
    title: str
    remediation: str
    tags: tuple[str, ...]


LLM_KEY_IN_ENVIRONMENT: Final = DiscoverRule(
    id="LLM_KEY_IN_ENVIRONMENT",
    severity=Severity.CRITICAL,
    title="LLM API key exposed in a process or container environment",
    remediation=(
        "Any process of the same user (or anyone with docker access) can read this key. Load it "
        "from a secret manager at runtime or inject it through a credential proxy, and rotate it "
        "if the host is shared."
    ),
    tags=("ASI03", "MCP01"),
)
OPEN_MCP_SERVER: Final = DiscoverRule(
    id="OPEN_MCP_SERVER",
    severity=Severity.MEDIUM,
    title="Local MCP server lists its tools without authentication",
    remediation=(
        "Require a token (MCP authorization) even on loopback: any local process, and web pages "
        "through DNS rebinding, can call an unauthenticated local MCP server."
    ),
    tags=("MCP07", "MCP09"),
)
UNAUTHENTICATED_MODEL_API: Final = DiscoverRule(
    id="UNAUTHENTICATED_MODEL_API",
    severity=Severity.HIGH,
    title="Model API reachable from the network without authentication",
    remediation=(
        "Bind the model server to loopback or put it behind an authenticating gateway; anyone "
        "who reaches it can use its models and compute."
    ),
    tags=("ASI03", "MCP07"),
)

DISCOVER_RULES: Final = {
    rule.id: rule for rule in (LLM_KEY_IN_ENVIRONMENT, OPEN_MCP_SERVER, UNAUTHENTICATED_MODEL_API)
}
