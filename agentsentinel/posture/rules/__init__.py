"""Posture rules: one agent's posture in, findings out (see ``agentsentinel/posture/AGENTS.md``).

Pure standard library, no database and no CLI: the server's posture scanner and ``sentinel scan``
build an ``AgentPosture`` and call ``evaluate``.
"""

from agentsentinel.posture.rules.intent import read_only_intent
from agentsentinel.posture.rules.model import (
    AgentPosture,
    CredentialHit,
    McpServerPosture,
    PostureSource,
    RuleConfig,
    RuleFinding,
    RuleHit,
    Severity,
    SourceLocation,
    ToolPosture,
    UngrantedUse,
)
from agentsentinel.posture.rules.network import McpEndpoint, is_loopback_host, parse_endpoint
from agentsentinel.posture.rules.owasp import ASI_VERSION, MCP_VERSION, OWASP_LISTS, TAG_TITLES
from agentsentinel.posture.rules.poisoning import (
    PoisoningMatch,
    PoisoningSignal,
    find_poisoning,
    poisoning_severity,
    scan_tool_definition,
)
from agentsentinel.posture.rules.registry import (
    RULES,
    RULES_BY_ID,
    PostureRule,
    evaluate,
    get_rule,
    rule_catalog,
)

__all__ = [
    "ASI_VERSION",
    "MCP_VERSION",
    "OWASP_LISTS",
    "RULES",
    "RULES_BY_ID",
    "TAG_TITLES",
    "AgentPosture",
    "CredentialHit",
    "McpEndpoint",
    "McpServerPosture",
    "PoisoningMatch",
    "PoisoningSignal",
    "PostureRule",
    "PostureSource",
    "RuleConfig",
    "RuleFinding",
    "RuleHit",
    "Severity",
    "SourceLocation",
    "ToolPosture",
    "UngrantedUse",
    "evaluate",
    "find_poisoning",
    "get_rule",
    "is_loopback_host",
    "parse_endpoint",
    "poisoning_severity",
    "read_only_intent",
    "rule_catalog",
    "scan_tool_definition",
]
