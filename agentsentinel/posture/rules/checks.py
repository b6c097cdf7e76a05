"""The check of every posture rule: ``(posture, config) -> hits``.

Each docstring is the rule's precise condition (it is served as the rule's description by
``rule_catalog``). Checks look at classifier capabilities and scope, never at tool-name substrings.
"Tools" means ``AgentPosture.reachable_tools()``: the agent's own tools plus every tool of a
connected MCP server. A tool is named by ``ToolPosture.key``; keys of a set of tools are sorted and
joined with ``,``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from agentsentinel.posture.capabilities import (
    DANGEROUS_CAPABILITIES,
    WRITE_CAPABILITIES,
    ToolCapability,
    ToolScope,
)
from agentsentinel.posture.classifier import description_words, path_parameters
from agentsentinel.posture.rules.intent import read_only_intent
from agentsentinel.posture.rules.model import (
    AgentPosture,
    RuleConfig,
    RuleHit,
    SourceLocation,
    ToolPosture,
    aware,
)
from agentsentinel.posture.rules.network import parse_endpoint
from agentsentinel.posture.rules.poisoning import (
    ShadowNames,
    limit_matches,
    poisoning_severity,
    scan_tool_definition,
)

C = ToolCapability
_PRIVATE: Final = frozenset({C.reads_private_data, C.secrets_access})
_UNTRUSTED: Final = frozenset({C.reads_untrusted_content})
_EXTERNAL: Final = frozenset({C.writes_external})
_IDENTITY: Final = frozenset({C.privilege_admin, C.secrets_access})
_RUNTIME: Final = frozenset({C.infrastructure, C.code_execution})
_FILE_WRITES: Final = frozenset({C.writes_internal, C.destructive})
# Dangerous capabilities that have a dedicated per-tool rule of their own.
_OWN_RULE: Final = frozenset({C.code_execution, C.secrets_access})
_NO_AUTH: Final = frozenset({"", "none", "no", "anonymous"})
# Patterns that constrain nothing ("any path").
_OPEN_PATTERNS: Final = frozenset({".*", "^.*$", ".+", "^.+$", "^(.*)$"})
# A definition that confines paths says so: "within allowed directories", "sandboxed".
_CONFINEMENT_WORDS: Final = frozenset({"sandbox", "sandboxed", "chroot", "chrooted", "jail"})
_CONFINING_VERBS: Final = frozenset(
    {"allow", "allowed", "permit", "permitted", "approve", "approved", "configure", "configured"}
    | {"restricted", "confined", "limited", "scoped", "whitelisted", "allowlisted"}
)
_PLACES: Final = frozenset(
    {"directory", "dir", "folder", "path", "root", "workspace", "sandbox", "project"}
)


# --- Helpers ------------------------------------------------------------------------------------


def _caps(tool: ToolPosture) -> frozenset[ToolCapability]:
    return tool.classification.capabilities


def _having(tools: Iterable[ToolPosture], wanted: frozenset[ToolCapability]) -> list[ToolPosture]:
    return [tool for tool in tools if not wanted.isdisjoint(_caps(tool))]


def _ref(tool: ToolPosture, shown: frozenset[ToolCapability] | None = None) -> dict[str, Any]:
    """JSON-ready reference to a tool for the evidence."""
    caps = _caps(tool) if shown is None else _caps(tool) & shown
    out: dict[str, Any] = {
        "tool": tool.key,
        "scope": tool.classification.scope.value,
        "capabilities": sorted(cap.value for cap in caps),
    }
    if tool.server is not None:
        out["mcp_server"] = tool.server
    if tool.location is not None:
        out["location"] = tool.location.to_dict()
    return out


def _refs(tools: Sequence[ToolPosture], shown: frozenset[ToolCapability]) -> list[dict[str, Any]]:
    return [_ref(tool, shown) for tool in sorted(tools, key=lambda t: t.key)]


def _set_key(*groups: Iterable[ToolPosture]) -> str:
    return ",".join(sorted({tool.key for group in groups for tool in group}))


def _names(tools: Iterable[ToolPosture]) -> str:
    return ", ".join(sorted({tool.key for tool in tools}))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else aware(moment).isoformat()


def _lethal_trifecta_parts(
    tools: Sequence[ToolPosture],
) -> tuple[list[ToolPosture], list[ToolPosture], list[ToolPosture]]:
    return _having(tools, _PRIVATE), _having(tools, _UNTRUSTED), _having(tools, _EXTERNAL)


# --- Capability combinations (per agent) --------------------------------------------------------


def check_lethal_trifecta(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent can read private data (``reads_private_data`` or ``secrets_access``), read content
    that outsiders author (``reads_untrusted_content``) and send data out (``writes_external``),
    through one tool or several. Any injected instruction in the untrusted content can then make
    the agent send the private data to the attacker. Key: the sorted names of every tool involved.
    """
    private, untrusted, external = _lethal_trifecta_parts(posture.reachable_tools())
    if not (private and untrusted and external):
        return
    yield RuleHit(
        key=_set_key(private, untrusted, external),
        message=(
            f"Agent '{posture.name}' combines private data ({_names(private)}), untrusted content "
            f"({_names(untrusted)}) and external communication ({_names(external)}): an injected "
            "instruction can exfiltrate the data."
        ),
        evidence={
            "private_data": _refs(private, _PRIVATE),
            "untrusted_content": _refs(untrusted, _UNTRUSTED),
            "external_communication": _refs(external, _EXTERNAL),
        },
        location=posture.location,
    )


def check_exfiltration_path(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent can read private data (``reads_private_data`` or ``secrets_access``) and send data
    out of the organisation (``writes_external``), but reads no untrusted content: when it also
    does, LETHAL_TRIFECTA reports the same path with its trigger and this rule stays quiet. Key:
    the sorted names of the source and sink tools.
    """
    private, untrusted, external = _lethal_trifecta_parts(posture.reachable_tools())
    if not (private and external) or untrusted:
        return
    yield RuleHit(
        key=_set_key(private, external),
        message=(
            f"Agent '{posture.name}' can read private data ({_names(private)}) and send data "
            f"outside the organisation ({_names(external)})."
        ),
        evidence={"sources": _refs(private, _PRIVATE), "sinks": _refs(external, _EXTERNAL)},
        location=posture.location,
    )


def check_prompt_injection_vector(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent reads content that outsiders author (``reads_untrusted_content``) and holds at
    least one tool that changes state (any write capability: internal or external writes,
    destructive, code execution, financial, privilege, infrastructure). Instructions injected into
    that content can turn into actions. Key: the sorted names of the untrusted sources and the
    acting tools.
    """
    tools = posture.reachable_tools()
    untrusted = _having(tools, _UNTRUSTED)
    acting = _having(tools, WRITE_CAPABILITIES)
    if not (untrusted and acting):
        return
    yield RuleHit(
        key=_set_key(untrusted, acting),
        message=(
            f"Agent '{posture.name}' reads untrusted content ({_names(untrusted)}) and can act on "
            f"it ({_names(acting)}): injected instructions can trigger those actions."
        ),
        evidence={
            "untrusted_sources": _refs(untrusted, _UNTRUSTED),
            "actions": _refs(acting, WRITE_CAPABILITIES),
        },
        location=posture.location,
    )


def check_lateral_movement_path(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent can obtain or change identities (``privilege_admin``: roles, permissions, accounts;
    or ``secrets_access``: credentials) and has a runtime to use them on (``infrastructure`` or
    ``code_execution``), through one tool or several: a compromised agent can grant itself access
    or reuse credentials to reach other systems. Key: the sorted names of the tools involved.
    """
    tools = posture.reachable_tools()
    identity = _having(tools, _IDENTITY)
    runtime = _having(tools, _RUNTIME)
    if not (identity and runtime):
        return
    yield RuleHit(
        key=_set_key(identity, runtime),
        message=(
            f"Agent '{posture.name}' can obtain or change identities ({_names(identity)}) and act "
            f"on infrastructure or run code ({_names(runtime)}): a path for lateral movement."
        ),
        evidence={"identity": _refs(identity, _IDENTITY), "runtime": _refs(runtime, _RUNTIME)},
        location=posture.location,
    )


# --- Agent-level hygiene ------------------------------------------------------------------------


def check_privilege_excess(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent's description declares a read-only purpose (``intent.read_only_intent``: explicit
    "read-only" / "view only" / "no side effects" / "only reads", or only read and answer verbs
    such as "searches", "answers questions" with no acting verb, all matched as words) and a tool
    has scope ``write`` or ``admin``. One finding per such tool; key: the tool name.
    """
    intent = read_only_intent(posture.description)
    if not intent:
        return
    for tool in posture.reachable_tools():
        scope = tool.classification.scope
        if scope is ToolScope.read:
            continue
        yield RuleHit(
            key=tool.key,
            message=(
                f"Agent '{posture.name}' is described as read-only but tool '{tool.key}' has "
                f"{scope.value} scope."
            ),
            evidence={"read_only_words": list(intent), **_ref(tool)},
            location=tool.location or posture.location,
        )


def check_undescribed_write_agent(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent has no description (missing or blank) and at least one tool with scope ``write``
    or ``admin``: nobody, and no rule such as PRIVILEGE_EXCESS, can judge whether those writes fit
    its purpose. Key: empty (one per agent).
    """
    if posture.description and posture.description.strip():
        return
    writers = [t for t in posture.reachable_tools() if t.classification.scope is not ToolScope.read]
    if not writers:
        return
    yield RuleHit(
        key="",
        message=(
            f"Agent '{posture.name}' can write ({_names(writers)}) but has no description of "
            "its purpose."
        ),
        evidence={"write_tools": _refs(writers, WRITE_CAPABILITIES)},
        location=posture.location,
    )


def check_tool_sprawl(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent has more than ``tool_sprawl_limit`` tools (default 15), or more than
    ``tool_sprawl_min_tools`` (default 10) tools that together span at least
    ``tool_sprawl_capabilities`` (default 5) distinct capabilities: too much to review, and a large
    blast radius. Key: empty (one per agent).
    """
    tools = posture.reachable_tools()
    capabilities = sorted({cap.value for tool in tools for cap in _caps(tool)})
    count = len(tools)
    too_many = count > config.tool_sprawl_limit
    too_broad = (
        count > config.tool_sprawl_min_tools
        and len(capabilities) >= config.tool_sprawl_capabilities
    )
    if not (too_many or too_broad):
        return
    yield RuleHit(
        key="",
        message=(
            f"Agent '{posture.name}' has {count} tools spanning {len(capabilities)} capabilities."
        ),
        evidence={
            "tool_count": count,
            "capabilities": capabilities,
            "tools": sorted(tool.key for tool in tools),
            "limit": config.tool_sprawl_limit,
            "min_tools": config.tool_sprawl_min_tools,
            "capability_limit": config.tool_sprawl_capabilities,
        },
        location=posture.location,
    )


# --- Per-tool grants ----------------------------------------------------------------------------


def _per_tool(posture: AgentPosture, capability: ToolCapability, what: str) -> Iterator[RuleHit]:
    for tool in posture.reachable_tools():
        if capability in _caps(tool):
            yield RuleHit(
                key=tool.key,
                message=f"Agent '{posture.name}' can {what} through tool '{tool.key}'.",
                evidence=_ref(tool),
                location=tool.location or posture.location,
            )


def check_code_execution_grant(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool has the ``code_execution`` capability (runs caller-supplied code, commands or SQL).
    One finding per tool; key: the tool name.
    """
    yield from _per_tool(posture, C.code_execution, "execute arbitrary code")


def check_secrets_access_grant(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool has the ``secrets_access`` capability (returns, stores or manages credentials; a tool
    that merely receives a password to log in does not). One finding per tool; key: the tool name.
    """
    yield from _per_tool(posture, C.secrets_access, "read or manage secrets")


def check_dangerous_grants(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool is dangerous (``ToolClassification.is_dangerous``) for a reason other than code
    execution or secrets access, which have rules of their own: ``destructive``,
    ``privilege_admin``, ``writes_external``, ``financial``, ``infrastructure``, or an override
    that marks it dangerous. One finding per tool; key: the tool name.
    """
    for tool in posture.reachable_tools():
        if not tool.classification.is_dangerous:
            continue
        caps = _caps(tool)
        reasons = (caps & DANGEROUS_CAPABILITIES) - _OWN_RULE
        if not reasons and caps & _OWN_RULE:
            continue  # reported by CODE_EXECUTION_GRANT / SECRETS_ACCESS_GRANT
        listed = ", ".join(sorted(cap.value for cap in reasons)) or "marked dangerous by override"
        yield RuleHit(
            key=tool.key,
            message=f"Agent '{posture.name}' holds dangerous tool '{tool.key}' ({listed}).",
            evidence={**_ref(tool), "dangerous_capabilities": sorted(c.value for c in reasons)},
            location=tool.location or posture.location,
        )


def _confined_by_words(description: str | None) -> list[str]:
    if not description:
        return []
    words = description_words(description)
    found = [w for w in words if w in _CONFINEMENT_WORDS]
    for i, word in enumerate(words):
        if word in _CONFINING_VERBS and any(w in _PLACES for w in words[i + 1 : i + 5]):
            found.append(" ".join(words[i : i + 3]))
    return found


def _constrained(schema: Mapping[str, Any]) -> bool:
    if "enum" in schema or "const" in schema:
        return True
    pattern = schema.get("pattern")
    return isinstance(pattern, str) and pattern.strip() not in _OPEN_PATTERNS


def check_unbounded_file_access(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool writes or deletes (``writes_internal`` or ``destructive``) at a file-system path the
    caller chooses (a parameter the classifier's vocabulary reads as a path: ``path``,
    ``file_path``, ``directory`` ...), and nothing bounds that path: the parameter has no ``enum``,
    ``const`` or restrictive ``pattern``, and the tool's description states no confinement
    ("within allowed directories", "sandboxed", "restricted to the project folder"). One finding
    per tool; key: the tool name.
    """
    for tool in posture.reachable_tools():
        writes = _caps(tool) & _FILE_WRITES
        if not writes:
            continue
        params = path_parameters(tool.input_schema)
        open_params = sorted(name for name, schema in params.items() if not _constrained(schema))
        if not open_params or _confined_by_words(tool.description):
            continue
        yield RuleHit(
            key=tool.key,
            message=(
                f"Tool '{tool.key}' of agent '{posture.name}' writes to any path the model "
                f"chooses ({', '.join(open_params)})."
            ),
            evidence={**_ref(tool, _FILE_WRITES), "path_parameters": open_params},
            location=tool.location or posture.location,
        )


def check_unused_dangerous_grant(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A dangerous tool whose grant is older than ``unused_grant_grace`` (default 14 days) and that
    has never been called, or was last called more than ``unused_grant_idle`` (default 30 days)
    ago. Needs ``posture.now`` and the grant time; a grant inside its grace period is never
    unused. One finding per tool; key: the tool name.
    """
    if posture.now is None:
        return
    now = aware(posture.now)
    for tool in posture.tools:
        if not tool.classification.is_dangerous or tool.granted_at is None:
            continue
        if now - aware(tool.granted_at) < config.unused_grant_grace:
            continue
        last = None if tool.last_called_at is None else aware(tool.last_called_at)
        if last is not None and now - last < config.unused_grant_idle:
            continue
        idle = "never called" if last is None else f"last called {(now - last).days} days ago"
        yield RuleHit(
            key=tool.key,
            message=f"Agent '{posture.name}' holds dangerous tool '{tool.key}' ({idle}).",
            evidence={
                **_ref(tool),
                "granted_at": _iso(tool.granted_at),
                "last_called_at": _iso(last),
                "grace_days": config.unused_grant_grace.days,
                "idle_days": config.unused_grant_idle.days,
            },
            location=tool.location or posture.location,
        )


def check_credential_scope_mismatch(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool with ``admin`` scope (privilege or infrastructure changes, destroying accounts) that
    the agent has not used for ``admin_grant_idle`` (default 7 days), counted from its last call
    or, if never called, from the grant: the credential the agent holds is broader than what it
    exercises. Needs ``posture.now`` and the grant time. One finding per tool; key: the tool name.
    """
    if posture.now is None:
        return
    now = aware(posture.now)
    for tool in posture.tools:
        if tool.classification.scope is not ToolScope.admin or tool.granted_at is None:
            continue
        since = aware(tool.granted_at)
        if tool.last_called_at is not None:
            since = max(since, aware(tool.last_called_at))
        if now - since < config.admin_grant_idle:
            continue
        yield RuleHit(
            key=tool.key,
            message=(
                f"Agent '{posture.name}' holds admin-scope tool '{tool.key}' but has not used it "
                f"for {(now - since).days} days."
            ),
            evidence={
                **_ref(tool),
                "granted_at": _iso(tool.granted_at),
                "last_called_at": _iso(tool.last_called_at),
                "idle_days_limit": config.admin_grant_idle.days,
            },
            location=tool.location or posture.location,
        )


def check_missing_rate_limit(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A dangerous tool grant with no ``rate_limit_per_hour`` configured: nothing caps how often a
    runaway or hijacked agent can use it. One finding per tool; key: the tool name.
    """
    for tool in posture.tools:
        if tool.classification.is_dangerous and tool.rate_limit_per_hour is None:
            yield RuleHit(
                key=tool.key,
                message=f"Dangerous tool '{tool.key}' of agent '{posture.name}' has no rate limit.",
                evidence=_ref(tool),
                location=tool.location or posture.location,
            )


def check_tool_definition_changed(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool's current definition hash differs from the pinned one (approved when granted or last
    acknowledged): its description, schema or annotations changed after approval (a rug pull).
    Key: the tool name and the new hash, so a further change is a new finding; re-pinning the
    definition resolves it.
    """
    for tool in posture.reachable_tools():
        current, pinned = tool.definition_hash, tool.pinned_definition_hash
        if current is None or pinned is None or current == pinned:
            continue
        yield RuleHit(
            key=f"{tool.key}@{current}",
            message=(
                f"The definition of tool '{tool.key}' of agent '{posture.name}' changed after it "
                "was approved."
            ),
            evidence={**_ref(tool), "pinned_hash": pinned, "current_hash": current},
            location=tool.location or posture.location,
        )


def check_tool_poisoning(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """A tool's name, description, annotations or parameter schema hide instructions for the model
    (see ``poisoning``): ``<IMPORTANT>``-style blocks, concealment from the user, "before using
    this tool, read <file>", sensitive files (``~/.ssh``, ``id_rsa``, ``.env``), "ignore previous
    instructions", rules about other tools (shadowing), or invisible Unicode (tag characters,
    zero-width, bidi controls). CRITICAL for the strongest signals and combinations, else HIGH.
    One finding per tool; key: the tool name.
    """
    tools = posture.reachable_tools()
    names = ShadowNames(tool.name for tool in tools)
    for tool in tools:
        matches = scan_tool_definition(
            tool.name, tool.description, tool.input_schema, tool.annotations, names
        )
        severity = poisoning_severity(matches)
        if severity is None:
            continue
        listed, truncated = limit_matches(matches)
        signals = sorted({match.signal.value for match in matches})
        yield RuleHit(
            key=tool.key,
            message=(
                f"Tool '{tool.key}' of agent '{posture.name}' hides instructions in its "
                f"definition ({', '.join(signals)})."
            ),
            evidence={
                "tool": tool.key,
                "signals": signals,
                "matches": listed,
                "truncated": truncated,
                **({"mcp_server": tool.server} if tool.server is not None else {}),
            },
            severity=severity,
            location=tool.location or posture.location,
        )


# --- MCP connections ----------------------------------------------------------------------------


def check_insecure_mcp_connection(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """An MCP server reached over the network (the parsed URL host is not loopback: ``localhost``,
    ``127.0.0.0/8``, ``::1``; ``localhost.evil.com`` is remote) with plaintext transport
    (``http``/``ws``) or with ``auth`` explicitly ``none``; or any MCP server URL that carries
    credentials (user info, or a key/token/secret query parameter). ``stdio:`` servers are local
    processes; an unknown ``auth`` (``None``) is not reported. One finding per server, listing
    every reason; key: the server name.
    """
    for server in sorted(posture.mcp_servers, key=lambda s: s.name):
        endpoint = parse_endpoint(server.url)
        if endpoint.local_process or not endpoint.valid:
            continue
        reasons: list[str] = []
        remote = not endpoint.loopback
        if remote and not endpoint.encrypted:
            reasons.append("plaintext_transport")
        if remote and server.auth is not None and server.auth.strip().lower() in _NO_AUTH:
            reasons.append("no_authentication")
        if endpoint.credentials_in_url:
            reasons.append("credentials_in_url")
        if not reasons:
            continue
        yield RuleHit(
            key=server.name,
            message=(
                f"MCP server '{server.name}' of agent '{posture.name}' is insecure: "
                f"{', '.join(r.replace('_', ' ') for r in reasons)}."
            ),
            evidence={
                "server": server.name,
                "url": endpoint.redacted_url,
                "scheme": endpoint.scheme,
                "host": endpoint.host,
                "loopback": endpoint.loopback,
                "auth": server.auth,
                "reasons": reasons,
            },
            location=server.location or posture.location,
        )


def check_mcp_over_connection(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The agent is connected to more than ``mcp_connection_limit`` (default 3) MCP servers: each
    one is a party whose tool definitions and results the agent trusts. Key: empty (one per agent).
    """
    servers = sorted({server.name for server in posture.mcp_servers})
    if len(servers) <= config.mcp_connection_limit:
        return
    yield RuleHit(
        key="",
        message=(
            f"Agent '{posture.name}' is connected to {len(servers)} MCP servers "
            f"(limit {config.mcp_connection_limit})."
        ),
        evidence={
            "servers": servers,
            "server_count": len(servers),
            "limit": config.mcp_connection_limit,
            "described": bool(posture.description and posture.description.strip()),
        },
        location=posture.location,
    )


# --- Code and behavior facts --------------------------------------------------------------------


def check_hardcoded_credentials(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """``sentinel scan`` found a credential written in the agent's source or config files. One
    finding per distinct credential per file; key: ``file|kind|hash`` (the value hash when given,
    else the masked value), so moving the line does not make a new finding.
    """
    seen: set[str] = set()
    for hit in sorted(posture.credential_hits, key=lambda h: (h.file, h.line, h.kind)):
        key = f"{hit.file}|{hit.kind}|{hit.value_hash or hit.masked}"
        if key in seen:
            continue
        seen.add(key)
        yield RuleHit(
            key=key,
            message=f"Hard-coded {hit.kind} in {hit.file}:{hit.line} ({hit.masked}).",
            evidence={"file": hit.file, "line": hit.line, "kind": hit.kind, "masked": hit.masked},
            location=SourceLocation(hit.file, hit.line),
        )


def check_ungranted_tool_use(posture: AgentPosture, config: RuleConfig) -> Iterator[RuleHit]:
    """The behavior worker saw the agent call a tool it holds no grant for (a tool name not among
    ``posture.tools``; observations for a tool granted since are ignored). Key: the tool name.
    """
    granted = {tool.name for tool in posture.tools}
    for use in sorted(posture.ungranted_uses, key=lambda u: u.tool):
        if use.tool in granted:
            continue
        evidence: dict[str, Any] = {
            "tool": use.tool,
            "count": use.count,
            "first_seen": _iso(use.first_seen),
            "last_seen": _iso(use.last_seen),
        }
        if use.classification is not None:
            evidence["capabilities"] = sorted(c.value for c in use.classification.capabilities)
            evidence["scope"] = use.classification.scope.value
        yield RuleHit(
            key=use.tool,
            message=(
                f"Agent '{posture.name}' called tool '{use.tool}' without a grant "
                f"({use.count} times)."
            ),
            evidence=evidence,
            location=posture.location,
        )
