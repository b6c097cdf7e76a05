"""What one file yields, before any cross-file resolution: the unit of caching and parallelism.

Key contracts:
- ``FileFacts`` depends on the file's bytes and display path only (never on other files, the
  overrides or the rule config), so it can be computed in a worker process and cached by content
  hash. Everything is plain data that round-trips through ``to_dict``/``from_dict`` (JSON).
- References between things (an agent's tools, a list variable) are kept as ``Ref``s, dotted names
  as written in the module, and resolved across modules by ``agentsentinel_cli.scan.resolve``.
- No credential value is kept: ``CredentialHit`` is already masked and hashed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from agentsentinel.posture import CredentialHit

# A reference to tools: ("name", "dotted.name") or ("tool", "<index of a ToolDef in this file>").
Ref = tuple[str, str]


@dataclass(slots=True)
class ToolDef:
    """A tool definition found in a file."""

    name: str
    framework: str
    line: int
    column: int
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    sinks: list[str] = field(default_factory=list)
    # The capabilities a built-in tool is known to have (hosted tools, code-executing agents).
    known_capabilities: list[str] | None = None
    # The dotted name of the agent/server object whose decorator registered the tool (``mcp``).
    owner: str | None = None


@dataclass(slots=True)
class AgentDef:
    """An agent constructor call (or MCP server object) found in a file."""

    name: str
    framework: str
    line: int
    column: int
    var: str | None = None
    description: str | None = None
    tools: list[Ref] = field(default_factory=list)
    # Variables holding agents this one wraps (``AgentExecutor(agent=runnable)``): merged into it.
    wraps: list[str] = field(default_factory=list)


@dataclass(slots=True)
class McpEntryFacts:
    """An MCP server declared in a client config file (values of env and headers dropped)."""

    name: str
    transport: str
    command: str | None
    args: list[str]
    url: str | None
    env_keys: list[str]
    has_auth_header: bool
    line: int | None


@dataclass(slots=True)
class FileFacts:
    """Everything the engine needs from one file."""

    path: str
    module: str | None = None
    is_package: bool = False
    docstring: str | None = None
    imports: dict[str, str] = field(default_factory=dict)
    bindings: dict[str, list[Ref]] = field(default_factory=dict)
    tools: list[ToolDef] = field(default_factory=list)
    agents: list[AgentDef] = field(default_factory=list)
    mcp_servers: list[McpEntryFacts] = field(default_factory=list)
    credentials: list[CredentialHit] = field(default_factory=list)
    error: str | None = None
    # A Python file with no marker of any tool or agent form: parsed for errors only; its
    # imports, bindings and docstring are extracted on demand (``extract.complete``).
    lazy: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict(self)``, without its deep copies: the dict shares lists and dicts
        with the facts, so serialise it before changing them."""
        return {
            "path": self.path,
            "module": self.module,
            "is_package": self.is_package,
            "docstring": self.docstring,
            "imports": self.imports,
            "bindings": self.bindings,
            "tools": [_flat(t, _TOOL_FIELDS) for t in self.tools],
            "agents": [_flat(a, _AGENT_FIELDS) for a in self.agents],
            "mcp_servers": [_flat(m, _MCP_FIELDS) for m in self.mcp_servers],
            "credentials": [_flat(c, _CREDENTIAL_FIELDS) for c in self.credentials],
            "error": self.error,
            "lazy": self.lazy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileFacts:
        return cls(
            path=data["path"],
            module=data["module"],
            is_package=data["is_package"],
            docstring=data["docstring"],
            imports=dict(data["imports"]),
            bindings={k: [(r[0], r[1]) for r in v] for k, v in data["bindings"].items()},
            tools=[ToolDef(**t) for t in data["tools"]],
            agents=[
                AgentDef(**{**a, "tools": [(r[0], r[1]) for r in a["tools"]]})
                for a in data["agents"]
            ],
            mcp_servers=[McpEntryFacts(**m) for m in data["mcp_servers"]],
            credentials=[CredentialHit(**c) for c in data["credentials"]],
            error=data["error"],
            lazy=bool(data.get("lazy", False)),
        )


def _flat(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


_TOOL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ToolDef))
_AGENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AgentDef))
_MCP_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(McpEntryFacts))
_CREDENTIAL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CredentialHit))
