"""Cross-module resolution and per-agent assembly: ``FileFacts`` of a tree in, a ``Report`` out.

Key contracts:
- A tool reference (``search``, ``tools.search``, ``TOOLS``) is resolved in the module that wrote
  it: its own bindings first, then its imports, followed into the module they name (matched
  exactly or, when the scan root is not the import root, by a unique dotted suffix), through
  re-exports, to a bounded depth.
- Tools registered by decorator on an object (``@mcp.tool()``, ``@agent.tool``) belong to the agent
  that object is bound to, wherever it was imported from.
- A tool attached to no agent is grouped with the other unattached tools of its file into an
  implicit agent named after the file (its description is the module docstring).
- Credentials of a file go to the first agent defined in it (else its implicit agent); a file
  with neither still gets its HARDCODED_CREDENTIALS findings, with no agent.
- Agent names are the name given in code (``name=``, the server name, CrewAI ``role``), else the
  variable; names used in several files are prefixed with the module to stay distinct.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentsentinel.posture import (
    AgentPosture,
    CredentialHit,
    McpServerPosture,
    PostureSource,
    RuleConfig,
    RuleFinding,
    SourceLocation,
    ToolClassification,
    ToolOverride,
    ToolPosture,
    classify_tool,
    evaluate,
)
from agentsentinel_cli.mcp_configs import McpServerEntry, to_posture
from agentsentinel_cli.report.model import (
    AgentReport,
    Finding,
    Location,
    ToolReport,
)
from agentsentinel_cli.scan.facts import FileFacts, Ref, ToolDef

ToolId = tuple[str, int]  # (display path, index in that file's tools)
_MAX_DEPTH = 12


@dataclass
class _Agent:
    name: str
    framework: str
    path: str
    line: int
    column: int
    description: str | None
    tools: list[ToolId] = field(default_factory=list)
    mcp_servers: list[McpServerPosture] = field(default_factory=list)
    credentials: list[CredentialHit] = field(default_factory=list)
    implicit: bool = False


class Resolver:
    """Resolves dotted names to tools and agents across the scanned modules."""

    def __init__(
        self, files: list[FileFacts], load: Callable[[FileFacts], FileFacts] | None = None
    ) -> None:
        self.load = load
        self.by_module: dict[str, FileFacts] = {}
        suffixes: dict[str, list[str]] = {}
        for facts in files:
            if facts.module is None or facts.module in self.by_module:
                continue
            self.by_module[facts.module] = facts
            parts = facts.module.split(".")
            for i in range(1, len(parts)):
                suffixes.setdefault(".".join(parts[i:]), []).append(facts.module)
        self.suffixes = suffixes

    def module(self, name: str) -> FileFacts | None:
        if name not in self.by_module:
            candidates = self.suffixes.get(name, [])
            if len(candidates) != 1:
                return None
            name = candidates[0]
        facts = self.by_module[name]
        if facts.lazy and self.load is not None:
            facts = self.by_module[name] = self.load(facts)
        return facts

    def _split(self, qualname: str) -> tuple[FileFacts, str] | None:
        parts = qualname.split(".")
        for i in range(len(parts) - 1, 0, -1):
            target = self.module(".".join(parts[:i]))
            if target is not None:
                return target, ".".join(parts[i:])
        return None

    def tools(self, facts: FileFacts, ref: Ref, depth: int = 0) -> list[ToolId]:
        kind, value = ref
        if kind == "tool":
            return [(facts.path, int(value))]
        if depth > _MAX_DEPTH:
            return []
        head, _, rest = value.partition(".")
        if not rest and head in facts.bindings:
            return [t for r in facts.bindings[head] for t in self.tools(facts, r, depth + 1)]
        if head in facts.imports:
            qualname = facts.imports[head] + (f".{rest}" if rest else "")
            split = self._split(qualname)
            if split is not None:
                return self.tools(split[0], ("name", split[1]), depth + 1)
        return []

    def agent_var(self, facts: FileFacts, dotted: str, depth: int = 0) -> tuple[str, str] | None:
        """(path, variable) of the agent object ``dotted`` names in ``facts``' module."""
        if depth > _MAX_DEPTH:
            return None
        head, _, rest = dotted.partition(".")
        if not rest and any(a.var == head for a in facts.agents):
            return facts.path, head
        if head in facts.imports:
            split = self._split(facts.imports[head] + (f".{rest}" if rest else ""))
            if split is not None:
                return self.agent_var(split[0], split[1], depth + 1)
        return None


def _dedupe(items: list[ToolId]) -> list[ToolId]:
    return list(dict.fromkeys(items))


def _location(loc: SourceLocation | None) -> Location | None:
    return None if loc is None else Location(loc.file, loc.line, loc.column)


def assemble(
    files: list[FileFacts],
    overrides: Mapping[str, ToolOverride],
    rule_config: RuleConfig,
    load: Callable[[FileFacts], FileFacts] | None = None,
    classified: Mapping[str, list[ToolClassification]] | None = None,
    memo: dict[str, ToolClassification] | None = None,
) -> tuple[list[Finding], list[AgentReport], list[ToolReport]]:
    """Agents, tools and rule findings of a scanned tree (files sorted by path); ``load`` gives
    the full facts of a ``lazy`` file when a name is resolved into it; ``classified`` the
    classifications of the tools of some files, computed already (``classify_tools`` with the
    same ``overrides``), and ``memo`` the classification memo they were computed with."""
    resolver = Resolver(files, load)
    by_path = {f.path: f for f in files}
    agents: list[_Agent] = []
    by_var: dict[tuple[str, str], _Agent] = {}
    for facts in files:
        wrapped = {w for a in facts.agents for w in a.wraps}
        local: dict[str, _Agent] = {}
        for definition in facts.agents:
            agent = _Agent(
                name=definition.name,
                framework=definition.framework,
                path=facts.path,
                line=definition.line,
                column=definition.column,
                description=definition.description,
            )
            for ref in definition.tools:
                agent.tools += resolver.tools(facts, ref)
            if definition.var:
                local[definition.var] = agent
            if definition.var in wrapped:
                continue
            agents.append(agent)
        for definition in facts.agents:
            outer = local.get(definition.var or "")
            for var in definition.wraps:
                inner = local.get(var)
                if outer is not None and inner is not None:
                    outer.tools = inner.tools + outer.tools
                    outer.description = outer.description or inner.description
        for var, agent in local.items():
            by_var[(facts.path, var)] = agent
        if facts.mcp_servers:
            agents.append(
                _Agent(
                    name=facts.path,
                    framework="mcp_config",
                    path=facts.path,
                    line=facts.mcp_servers[0].line or 1,
                    column=1,
                    description=None,
                    mcp_servers=[_server(facts.path, m) for m in facts.mcp_servers],
                )
            )
    # Decorator-registered tools go to the object they were registered on.
    for facts in files:
        for index, tool in enumerate(facts.tools):
            if tool.owner is None:
                continue
            target = resolver.agent_var(facts, tool.owner)
            if target is not None and target in by_var:
                owner = by_var[target]
                owner.tools.append((facts.path, index))
                if not tool.framework:
                    tool.framework = owner.framework
    for agent in agents:
        agent.tools = _dedupe(agent.tools)
    attached = {t for a in agents for t in a.tools}
    for facts in files:
        loose = [
            (facts.path, i) for i in range(len(facts.tools)) if (facts.path, i) not in attached
        ]
        if not loose:
            continue
        first = facts.tools[loose[0][1]]
        frameworks = Counter(facts.tools[i].framework or "python" for _, i in loose)
        agents.append(
            _Agent(
                name=facts.path,
                framework=frameworks.most_common(1)[0][0],
                path=facts.path,
                line=first.line,
                column=first.column,
                description=facts.docstring,
                tools=loose,
                implicit=True,
            )
        )
    _unique_names(agents, by_path)
    orphans: list[tuple[str, list[CredentialHit]]] = []
    for facts in files:
        if not facts.credentials:
            continue
        holders = sorted(
            (a for a in agents if a.path == facts.path), key=lambda a: (a.implicit, a.line)
        )
        if holders:
            holders[0].credentials += facts.credentials
        else:
            orphans.append((facts.path, facts.credentials))

    postures: dict[ToolId, ToolPosture] = {}
    memo = {} if memo is None else memo
    known = classified or {}

    def posture_of(tool_id: ToolId) -> ToolPosture:
        if tool_id not in postures:
            path, index = tool_id
            tool = by_path[path].tools[index]
            done = known.get(path)
            classification = done[index] if done is not None else classify(tool, overrides, memo)
            postures[tool_id] = _tool_posture(tool, path, classification)
        return postures[tool_id]

    findings: list[Finding] = []
    agent_reports: list[AgentReport] = []
    holders_of: dict[ToolId, list[str]] = {}
    for agent in agents:
        for tool_id in agent.tools:
            holders_of.setdefault(tool_id, []).append(agent.name)
        posture = AgentPosture(
            name=agent.name,
            description=agent.description,
            tools=tuple(posture_of(t) for t in agent.tools),
            mcp_servers=tuple(agent.mcp_servers),
            credential_hits=tuple(agent.credentials),
            source=PostureSource.code,
            location=SourceLocation(agent.path, agent.line, agent.column),
        )
        location = Location(agent.path, agent.line, agent.column)
        findings += [_finding(rf, agent.name, location) for rf in evaluate(posture, rule_config)]
        agent_reports.append(
            AgentReport(
                name=agent.name,
                kind=agent.framework,
                location=location,
                tools=tuple(posture_of(t).name for t in agent.tools),
                details=_agent_details(agent),
            )
        )
    for path, hits in orphans:
        posture = AgentPosture(name=path, credential_hits=tuple(hits), source=PostureSource.code)
        findings += [_finding(rf, None, Location(path)) for rf in evaluate(posture, rule_config)]
    tool_reports: list[ToolReport] = []
    for facts in files:
        for index, tool in enumerate(facts.tools):
            tool_posture = posture_of((facts.path, index))
            c = tool_posture.classification
            held_by = sorted(set(holders_of.get((facts.path, index), [])))
            tool_reports.append(
                ToolReport(
                    name=tool.name,
                    location=Location(facts.path, tool.line, tool.column),
                    framework=tool.framework or "python",
                    scope=c.scope.value,
                    capabilities=tuple(sorted(cap.value for cap in c.capabilities)),
                    dangerous=c.is_dangerous,
                    confidence=c.confidence,
                    description=tool.description,
                    agent=", ".join(held_by) or None,
                    evidence=tuple(f"sink:{s}" for s in tool.sinks),
                )
            )
    return findings, agent_reports, tool_reports


def _agent_details(agent: _Agent) -> dict[str, Any]:
    details: dict[str, Any] = {"implicit": agent.implicit}
    if agent.description:
        details["description"] = agent.description[:200]
    if agent.mcp_servers:
        details["mcp_servers"] = [s.name for s in agent.mcp_servers]
    return details


def _unique_names(agents: list[_Agent], by_path: Mapping[str, FileFacts]) -> None:
    counts = Counter(a.name for a in agents)
    for agent in agents:
        if counts[agent.name] > 1 and not agent.implicit:
            module = by_path[agent.path].module or Path(agent.path).stem
            agent.name = f"{module}:{agent.name}"


def _server(path: str, m: Any) -> McpServerPosture:
    entry = McpServerEntry(
        name=m.name,
        transport=m.transport,
        command=m.command,
        args=tuple(m.args),
        url=m.url,
        env_keys=tuple(m.env_keys),
        has_auth_header=m.has_auth_header,
        location=Location(path, m.line),
    )
    return to_posture(entry)


def classify(
    tool: ToolDef, overrides: Mapping[str, ToolOverride], memo: dict[str, ToolClassification]
) -> ToolClassification:
    """The classification of one tool; shared by tools with the same definition (``memo``: the
    exact classifier input, as ``repr``, to its result)."""
    override = overrides.get(tool.name)
    if override is None and tool.known_capabilities is not None:
        override = ToolOverride(capabilities=frozenset(tool.known_capabilities))  # type: ignore[arg-type]
    key = repr(
        (tool.name, tool.description, tool.input_schema, tool.annotations, tool.sinks, override)
    )
    classification = memo.get(key)
    if classification is None:
        classification = memo[key] = classify_tool(
            tool.name, tool.description, tool.input_schema, tool.annotations, tool.sinks, override
        )
    return classification


def classify_tools(
    facts: FileFacts, overrides: Mapping[str, ToolOverride], memo: dict[str, ToolClassification]
) -> list[ToolClassification]:
    """The classifications of the tools of one file, in order (for ``assemble(classified=)``)."""
    return [classify(tool, overrides, memo) for tool in facts.tools]


def _tool_posture(tool: ToolDef, path: str, classification: ToolClassification) -> ToolPosture:
    return ToolPosture(
        name=tool.name,
        classification=classification,
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=tool.annotations,
        location=SourceLocation(path, tool.line, tool.column),
    )


def _finding(rf: RuleFinding, agent: str | None, fallback: Location) -> Finding:
    return Finding.from_rule(rf, agent, fallback)
