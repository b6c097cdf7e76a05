"""Posture engine: the single tool classifier of the product and the posture rules.

Pure standard library: importable by the server, ``sentinel scan``, the MCP shim and the LangChain
handler without any server extra. See ``AGENTS.md`` for the key contracts.
"""

from agentsentinel.posture.capabilities import (
    DANGEROUS_CAPABILITIES,
    WRITE_CAPABILITIES,
    ToolCapability,
    ToolScope,
    is_dangerous,
    scope_for,
)
from agentsentinel.posture.classifier import (
    Evidence,
    EvidenceSource,
    ToolClassification,
    ToolOverride,
    classify_tool,
    description_words,
    path_parameters,
    tokenize,
)
from agentsentinel.posture.rules import (
    RULES,
    AgentPosture,
    CredentialHit,
    McpServerPosture,
    PostureRule,
    PostureSource,
    RuleConfig,
    RuleFinding,
    Severity,
    SourceLocation,
    ToolPosture,
    UngrantedUse,
    evaluate,
    rule_catalog,
)
from agentsentinel.posture.sinks import SinkRule, sink_rule

__all__ = [
    "DANGEROUS_CAPABILITIES",
    "RULES",
    "WRITE_CAPABILITIES",
    "AgentPosture",
    "CredentialHit",
    "Evidence",
    "EvidenceSource",
    "McpServerPosture",
    "PostureRule",
    "PostureSource",
    "RuleConfig",
    "RuleFinding",
    "Severity",
    "SinkRule",
    "SourceLocation",
    "ToolCapability",
    "ToolClassification",
    "ToolOverride",
    "ToolPosture",
    "ToolScope",
    "UngrantedUse",
    "classify_tool",
    "description_words",
    "evaluate",
    "is_dangerous",
    "path_parameters",
    "rule_catalog",
    "scope_for",
    "sink_rule",
    "tokenize",
]
