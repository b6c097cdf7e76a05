"""Posture engine: the single tool classifier of the product (and, later, the posture rules).

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
    tokenize,
)
from agentsentinel.posture.sinks import SinkRule, sink_rule

__all__ = [
    "DANGEROUS_CAPABILITIES",
    "WRITE_CAPABILITIES",
    "Evidence",
    "EvidenceSource",
    "SinkRule",
    "ToolCapability",
    "ToolClassification",
    "ToolOverride",
    "ToolScope",
    "classify_tool",
    "description_words",
    "is_dangerous",
    "scope_for",
    "sink_rule",
    "tokenize",
]
