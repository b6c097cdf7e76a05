"""What ``sentinel scan`` and ``sentinel discover`` report, independent of the output format.

Key contracts:
- The engines (``agentsentinel_cli.scan``, ``agentsentinel_cli.discover``) build a ``Report``;
  the writers in ``agentsentinel_cli.report`` render it as table, json, sarif or markdown. No
  engine prints, and no writer decides what is a finding.
- Paths in ``Location`` are relative to the scan root (POSIX separators) when the file is under it,
  so reports are identical across machines and the SARIF ``uri`` is stable.
- ``Finding.fingerprint`` is stable across runs and unaffected by line moves: it is what
  ``--baseline`` and SARIF ``partialFingerprints`` use. Build it with ``finding_fingerprint``.
- ``Report.sorted()`` gives the deterministic order every writer uses: severity (highest first),
  then rule id, path, line, key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from agentsentinel.posture import RuleFinding, Severity

SCHEMA_VERSION: Final = "1.0"


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file (1-based line and column) or, for discover, an address or process."""

    path: str
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column}

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass(frozen=True, slots=True)
class ToolReport:
    """One tool found in code (scan) or offered by a live MCP server (discover)."""

    name: str
    location: Location
    framework: str
    scope: str
    capabilities: tuple[str, ...]
    dangerous: bool
    confidence: float
    description: str | None = None
    agent: str | None = None
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location.to_dict(),
            "framework": self.framework,
            "scope": self.scope,
            "capabilities": list(self.capabilities),
            "dangerous": self.dangerous,
            "confidence": round(self.confidence, 3),
            "description": self.description,
            "agent": self.agent,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class AgentReport:
    """An agent found in code, or something discovered running (process, server, endpoint)."""

    name: str
    # scan: the framework ("langchain", "crewai", ...); discover: "process", "mcp_server", ...
    kind: str
    location: Location
    tools: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "location": self.location.to_dict(),
            "tools": list(self.tools),
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: ``rule_id`` is a posture rule id (``GET /api/v1/rules``) or a discover rule."""

    rule_id: str
    severity: Severity
    message: str
    location: Location | None
    fingerprint: str
    title: str = ""
    remediation: str = ""
    agent: str | None = None
    tags: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rule(cls, rf: RuleFinding, agent: str | None, fallback: Location) -> Finding:
        """A posture rule's finding, placed at its own location or else at ``fallback``."""
        loc = rf.location
        location = fallback if loc is None else Location(loc.file, loc.line, loc.column)
        return cls(
            rule_id=rf.rule_id,
            severity=rf.severity,
            message=rf.message,
            location=location,
            fingerprint=finding_fingerprint(rf.rule_id, agent, rf.key, location.path),
            title=rf.title,
            remediation=rf.remediation,
            agent=agent,
            tags=rf.tags,
            evidence=dict(rf.evidence),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "remediation": self.remediation,
            "location": None if self.location is None else self.location.to_dict(),
            "agent": self.agent,
            "tags": list(self.tags),
            "evidence": dict(self.evidence),
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class ScanError:
    """A file or target that could not be processed (syntax error, unreadable, refused)."""

    target: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "message": self.message}


def finding_fingerprint(rule_id: str, agent: str | None, key: str, path: str | None = None) -> str:
    """Stable id of a finding: rule, agent, normalised evidence key and file (never the line)."""
    raw = "\x1f".join((rule_id, agent or "", key, path or ""))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _finding_order(f: Finding) -> tuple[Any, ...]:
    loc = f.location
    return (
        -f.severity.rank,
        f.rule_id,
        "" if loc is None else loc.path,
        0 if loc is None or loc.line is None else loc.line,
        f.agent or "",
        f.fingerprint,
    )


@dataclass(frozen=True, slots=True)
class Report:
    """The result of one command run."""

    command: str  # "scan" | "discover"
    targets: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    agents: tuple[AgentReport, ...] = ()
    tools: tuple[ToolReport, ...] = ()
    errors: tuple[ScanError, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    # Findings hidden by config suppressions, inline ignores or --baseline (counted, not shown).
    suppressed: int = 0

    def sorted(self) -> Report:
        return replace(
            self,
            findings=tuple(sorted(self.findings, key=_finding_order)),
            agents=tuple(sorted(self.agents, key=lambda a: (a.kind, a.name, str(a.location)))),
            tools=tuple(
                sorted(
                    self.tools,
                    key=lambda t: (t.location.path, t.location.line or 0, t.name),
                )
            ),
            errors=tuple(sorted(self.errors, key=lambda e: (e.target, e.message))),
        )

    def to_dict(self) -> dict[str, Any]:
        ordered = self.sorted()
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "targets": list(self.targets),
            "summary": {
                "findings": len(self.findings),
                "by_severity": {
                    s.value: sum(1 for f in self.findings if f.severity == s) for s in Severity
                },
                "agents": len(self.agents),
                "tools": len(self.tools),
                "errors": len(self.errors),
                "suppressed": self.suppressed,
            },
            "findings": [f.to_dict() for f in ordered.findings],
            "agents": [a.to_dict() for a in ordered.agents],
            "tools": [t.to_dict() for t in ordered.tools],
            "errors": [e.to_dict() for e in ordered.errors],
            "stats": dict(self.stats),
        }
