"""Plain data in and out of the posture rules: one agent's posture, the thresholds, the findings.

Key contracts:
- Inputs are frozen dataclasses built by the caller (the server's posture scanner from grants and
  MCP bindings, ``sentinel scan`` from code); nothing here knows about the database or the CLI.
- A fact that the caller does not know is ``None`` (``granted_at``, ``now``, an MCP server's
  ``auth``), and a rule that needs it stays quiet; ``None`` never means "bad". The exception is
  documented per field (``last_called_at=None`` means "never called" once ``granted_at`` is known).
- Datetimes should be timezone-aware; naive ones are read as UTC.
- ``RuleFinding.key`` is the normalised evidence key of the stable fingerprint
  ``hash(rule_id, agent_id, key)``: it names *what* the finding is about (a tool, a set of tools, a
  server, a credential) and never carries counts or timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from agentsentinel.posture.classifier import ToolClassification, ToolOverride, classify_tool


class Severity(StrEnum):
    """Finding severity; the string values are stored and sent over the API."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """4 for CRITICAL down to 0 for INFO, for sorting and ``--fail-on`` comparisons."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK: Final[dict[Severity, int]] = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class PostureSource(StrEnum):
    """Where a posture was assembled: a running server (grants, usage) or agent source code."""

    server = "server"
    code = "code"


def aware(moment: datetime) -> datetime:
    """``moment`` with a timezone; a naive datetime is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in agent source code (``sentinel scan``); ``line`` is 1-based."""

    file: str
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True, slots=True)
class ToolPosture:
    """One tool the agent holds (a grant on the server, a tool attached to the agent in code).

    ``last_called_at=None`` means never called; it only matters together with ``granted_at``
    (unknown grant time: the usage rules stay quiet). ``pinned_definition_hash`` is the definition
    hash approved when the tool was granted or last acknowledged; ``None`` means nothing is pinned.
    ``server`` names the MCP server the tool came from, when it came from one.
    """

    name: str
    classification: ToolClassification
    description: str | None = None
    input_schema: Mapping[str, Any] | None = None
    annotations: Mapping[str, Any] | None = None
    rate_limit_per_hour: int | None = None
    granted_at: datetime | None = None
    last_called_at: datetime | None = None
    definition_hash: str | None = None
    pinned_definition_hash: str | None = None
    server: str | None = None
    location: SourceLocation | None = None

    @classmethod
    def classify(
        cls,
        name: str,
        description: str | None = None,
        input_schema: Mapping[str, Any] | None = None,
        annotations: Mapping[str, Any] | None = None,
        *,
        sinks: Iterable[str] = (),
        override: ToolOverride | None = None,
        **facts: Any,
    ) -> ToolPosture:
        """Classify the definition with ``classify_tool`` and build the posture in one step."""
        classification = classify_tool(
            name, description, input_schema, annotations, sinks, override
        )
        return cls(
            name=name,
            classification=classification,
            description=description,
            input_schema=input_schema,
            annotations=annotations,
            **facts,
        )

    @property
    def key(self) -> str:
        """Fingerprint key of the tool: its name, prefixed by its MCP server when not granted."""
        return self.name if self.server is None else f"{self.server}/{self.name}"


@dataclass(frozen=True, slots=True)
class McpServerPosture:
    """An MCP server the agent is connected to.

    ``url`` is ``http(s)://…`` or ``stdio:<command>``. ``auth`` is ``"none"``, ``"bearer"``,
    ``"oauth"`` (or another scheme name); ``None`` means unknown and is not reported as missing.
    ``tools`` are the tools the server offers (``tools/list``), all of which reach the model.
    """

    name: str
    url: str
    auth: str | None = None
    tools: tuple[ToolPosture, ...] = ()
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class CredentialHit:
    """A hard-coded credential found by ``sentinel scan`` (detection is the CLI's job).

    ``masked`` is the value as it may be shown (``sk-a…9xQ2``); ``value_hash`` is an optional
    hash of the value, which keeps the fingerprint stable when two secrets mask alike.
    """

    file: str
    line: int
    kind: str
    masked: str
    value_hash: str | None = None


@dataclass(frozen=True, slots=True)
class UngrantedUse:
    """The behavior worker saw the agent call a tool it holds no grant for."""

    tool: str
    count: int
    first_seen: datetime
    last_seen: datetime
    classification: ToolClassification | None = None


@dataclass(frozen=True, slots=True)
class AgentPosture:
    """Everything the rules look at for one agent."""

    name: str
    agent_type: str = "llm_agent"
    description: str | None = None
    owner_team: str | None = None
    tools: tuple[ToolPosture, ...] = ()
    mcp_servers: tuple[McpServerPosture, ...] = ()
    credential_hits: tuple[CredentialHit, ...] = ()
    ungranted_uses: tuple[UngrantedUse, ...] = ()
    now: datetime | None = None
    source: PostureSource = PostureSource.server
    location: SourceLocation | None = None

    def reachable_tools(self) -> tuple[ToolPosture, ...]:
        """The agent's tools, then every MCP server tool not held under the same name.

        An MCP client offers all of a server's tools to the model, so they are within the agent's
        reach whether granted or not. Server tools keep ``server`` set (their key is
        ``server/name``); two servers offering one name are both kept.
        """
        held = {tool.name for tool in self.tools}
        out = list(self.tools)
        seen: set[str] = set()
        for server in sorted(self.mcp_servers, key=lambda s: s.name):
            for tool in server.tools:
                if tool.name in held:
                    continue
                item = tool if tool.server == server.name else replace(tool, server=server.name)
                if item.key not in seen:
                    seen.add(item.key)
                    out.append(item)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Thresholds of the rules; every default is the documented product default."""

    # UNUSED_DANGEROUS_GRANT: a grant younger than this is never "unused" ...
    unused_grant_grace: timedelta = timedelta(days=14)
    # ... and an older one is unused when it has not been called for this long (or ever).
    unused_grant_idle: timedelta = timedelta(days=30)
    # CREDENTIAL_SCOPE_MISMATCH: an admin grant (past the grace period) idle this long.
    admin_grant_idle: timedelta = timedelta(days=7)
    # TOOL_SPRAWL: more tools than this ...
    tool_sprawl_limit: int = 15
    # ... or more than this many tools spanning at least ``tool_sprawl_capabilities`` capabilities.
    tool_sprawl_min_tools: int = 10
    tool_sprawl_capabilities: int = 5
    # MCP_OVER_CONNECTION: more MCP servers than this.
    mcp_connection_limit: int = 3
    # Rule ids not to evaluate at all (the CLI's config, a deployment's policy).
    disabled_rules: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("tool_sprawl_limit", "tool_sprawl_min_tools", "mcp_connection_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.tool_sprawl_capabilities < 1:
            raise ValueError("tool_sprawl_capabilities must be >= 1")
        object.__setattr__(self, "disabled_rules", frozenset(self.disabled_rules))


@dataclass(frozen=True, slots=True)
class RuleHit:
    """What a check reports; the registry adds the rule's metadata to make a ``RuleFinding``."""

    key: str
    message: str
    evidence: Mapping[str, Any]
    severity: Severity | None = None  # None: the rule's default severity
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class RuleFinding:
    """One posture finding for one agent."""

    rule_id: str
    severity: Severity
    title: str
    message: str
    remediation: str
    evidence: Mapping[str, Any]
    tags: tuple[str, ...]
    key: str
    location: SourceLocation | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (evidence is already JSON-ready)."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "remediation": self.remediation,
            "evidence": dict(self.evidence),
            "tags": list(self.tags),
            "key": self.key,
            "location": None if self.location is None else self.location.to_dict(),
        }
