"""OWASP risk identifiers used as finding tags, pinned to the list versions they come from.

Tags are the bare identifiers (``ASI02``, ``MCP05``): short enough to filter on, and the versions
below say which edition they refer to. When OWASP publishes a new edition, re-map every rule's tags
against it and bump the version here in the same change; stored findings keep their old tags.
"""

from __future__ import annotations

from typing import Final

# OWASP Top 10 for Agentic Applications, 2026 edition (OWASP GenAI Security Project, Dec 2025).
ASI_VERSION: Final = "2026"
# OWASP MCP Top 10, 2025 edition (beta).
MCP_VERSION: Final = "2025"

OWASP_LISTS: Final[dict[str, dict[str, str]]] = {
    "ASI": {"name": "OWASP Top 10 for Agentic Applications", "version": ASI_VERSION},
    "MCP": {"name": "OWASP MCP Top 10", "version": MCP_VERSION},
}

ASI01: Final = "ASI01"  # Agent Goal Hijack
ASI02: Final = "ASI02"  # Tool Misuse and Exploitation
ASI03: Final = "ASI03"  # Identity and Privilege Abuse
ASI04: Final = "ASI04"  # Agentic Supply Chain Vulnerabilities
ASI05: Final = "ASI05"  # Unexpected Code Execution
ASI06: Final = "ASI06"  # Memory and Context Poisoning
ASI07: Final = "ASI07"  # Insecure Inter-Agent Communication
ASI08: Final = "ASI08"  # Cascading Failures
ASI09: Final = "ASI09"  # Human-Agent Trust Exploitation
ASI10: Final = "ASI10"  # Rogue Agents

MCP01: Final = "MCP01"  # Token Mismanagement and Secret Exposure
MCP02: Final = "MCP02"  # Privilege Escalation via Scope Creep
MCP03: Final = "MCP03"  # Tool Poisoning
MCP04: Final = "MCP04"  # Software Supply Chain Attacks and Dependency Tampering
MCP05: Final = "MCP05"  # Command Injection and Execution
MCP06: Final = "MCP06"  # Prompt Injection via Contextual Payloads
MCP07: Final = "MCP07"  # Insufficient Authentication and Authorization
MCP08: Final = "MCP08"  # Lack of Audit and Telemetry
MCP09: Final = "MCP09"  # Shadow MCP Servers
MCP10: Final = "MCP10"  # Context Injection and Over-Sharing

TAG_TITLES: Final[dict[str, str]] = {
    ASI01: "Agent Goal Hijack",
    ASI02: "Tool Misuse and Exploitation",
    ASI03: "Identity and Privilege Abuse",
    ASI04: "Agentic Supply Chain Vulnerabilities",
    ASI05: "Unexpected Code Execution",
    ASI06: "Memory and Context Poisoning",
    ASI07: "Insecure Inter-Agent Communication",
    ASI08: "Cascading Failures",
    ASI09: "Human-Agent Trust Exploitation",
    ASI10: "Rogue Agents",
    MCP01: "Token Mismanagement and Secret Exposure",
    MCP02: "Privilege Escalation via Scope Creep",
    MCP03: "Tool Poisoning",
    MCP04: "Software Supply Chain Attacks and Dependency Tampering",
    MCP05: "Command Injection and Execution",
    MCP06: "Prompt Injection via Contextual Payloads",
    MCP07: "Insufficient Authentication and Authorization",
    MCP08: "Lack of Audit and Telemetry",
    MCP09: "Shadow MCP Servers",
    MCP10: "Context Injection and Over-Sharing",
}


def tag_reference(tag: str) -> dict[str, str]:
    """``{"id", "title", "list", "version"}`` of one tag, for the rule catalog."""
    listing = OWASP_LISTS[tag[:3]]
    return {
        "id": tag,
        "title": TAG_TITLES[tag],
        "list": listing["name"],
        "version": listing["version"],
    }
