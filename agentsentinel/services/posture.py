"""The server's posture scanner: one agent's grants, MCP bindings and usage through the rules.

``scan_agent`` assembles an ``AgentPosture`` from the database, runs the rule registry
(``agentsentinel.posture.rules.evaluate``), applies suppressions, records every finding through
``services.findings.observe`` (stable fingerprints: a rescan refreshes the same rows) and
auto-resolves, with ``resolved_by = "scanner"``, the POSTURE findings of registry rules that no
longer hold. BEHAVIOR findings (``AGENT_SILENT``) are never touched. It ends with a trust
recompute so the score moves with the posture.

Key contracts:
- It runs inside the caller's transaction and only flushes. It takes the agent's row lock first
  (``FOR NO KEY UPDATE`` on Postgres), so two scans of one agent (an API change and the worker)
  serialise instead of racing on a new finding's unique fingerprint. Callers that change grants
  or bindings call ``lock_agent`` *before* touching them, which keeps the lock order agent, then
  grants (the worker's "last seen" update takes them in that order too).
- Pinned definitions (TOOL_DEFINITION_CHANGED): a grant's definition is approved when it is
  first registered. When it changes, the caller passes the previous hash as ``previous_hashes``;
  the finding then carries the approved hash as ``pinned_hash`` and later scans keep using it
  while the finding is not RESOLVED. An operator resolving the finding approves (re-pins) the
  current definition; a change back to the approved one resolves it automatically.
- Suppressions: a matching, unexpired row of ``suppressions`` (same rule; agent unset or this
  agent; tool unset or the finding's tool; ``path_glob`` unset or matching the finding's source
  file, which server findings never have) makes the finding SUPPRESSED until ``expires_at``; once
  the row expires or is deleted, the next scan reopens the finding.
- Never call it from a GET handler.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agentsentinel.behavior import BehaviorScore
from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, AgentEvent, Finding, McpConnection, Suppression, ToolGrant
from agentsentinel.posture import ToolOverride, classify_tool
from agentsentinel.posture.rules import (
    RULES,
    AgentPosture,
    McpServerPosture,
    PostureSource,
    RuleConfig,
    RuleFinding,
    ToolPosture,
    UngrantedUse,
    evaluate,
)
from agentsentinel.services import findings, scores
from agentsentinel.settings import Settings

FINDING_TYPE: Final = "POSTURE"
SCANNER: Final = "scanner"
#: ``status_by`` of a finding suppressed by a row of ``suppressions`` (followed by its id).
SUPPRESSION_ACTOR: Final = "suppression:"
#: Events older than this do not count as ungranted use (bounded query on the event index).
UNGRANTED_WINDOW: Final = timedelta(days=30)
#: At most this many distinct ungranted tools per agent are reported.
UNGRANTED_TOOLS_LIMIT: Final = 100
#: Past this many distinct tool names in an agent's events, ungranted use is found by one
#: aggregate over the window instead of per-name index probes.
_DISTINCT_TOOLS_CAP: Final = 2_000
_CANDIDATE_CHUNK: Final = 200
#: Rule ids the scanner owns: it resolves their findings when they no longer hold.
SERVER_RULE_IDS: Final = frozenset(r.id for r in RULES if PostureSource.server in r.sources)
_DEFINITION_RULE: Final = "TOOL_DEFINITION_CHANGED"
_UNRESOLVED: Final = ("OPEN", "ACKNOWLEDGED", "SUPPRESSED")


@dataclass
class ScanResult:
    """What one scan changed. ``opened`` are new findings, ``reopened`` came back."""

    agent_id: uuid.UUID
    findings: list[Finding] = field(default_factory=list)
    opened: list[uuid.UUID] = field(default_factory=list)
    reopened: list[uuid.UUID] = field(default_factory=list)
    resolved: list[uuid.UUID] = field(default_factory=list)
    suppressed: list[uuid.UUID] = field(default_factory=list)

    def newly_open(self, severity: str | None = None) -> list[Finding]:
        """Findings opened or reopened by this scan (of one severity, e.g. ``CRITICAL``)."""
        ids = {*self.opened, *self.reopened}
        return [
            f
            for f in self.findings
            if f.id in ids and f.status == "OPEN" and (severity is None or f.severity == severity)
        ]

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts and ids for the API."""
        by_severity: dict[str, int] = {}
        for f in self.findings:
            if f.status in ("OPEN", "ACKNOWLEDGED"):
                by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
        return {
            "agent_id": self.agent_id,
            "findings": len(self.findings),
            "open_by_severity": by_severity,
            "opened": self.opened,
            "reopened": self.reopened,
            "resolved": self.resolved,
            "suppressed": self.suppressed,
        }


def rule_config(settings: Settings | None) -> RuleConfig:
    """The rules' thresholds (the registry's documented defaults)."""
    return RuleConfig()


async def lock_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    """Take the agent's row lock for this transaction (no-op on SQLite, which serialises writes)."""
    stmt = (
        select(Agent).where(Agent.id == agent_id).with_for_update(key_share=True)
    )  # FOR NO KEY UPDATE
    return (await session.execute(stmt)).scalar_one_or_none()


def tool_override(
    tool_name: str, own: Mapping[str, Any] | None, settings: Settings | None
) -> ToolOverride | None:
    """The override that classifies a tool: a grant's own (API) first, then the deployment's."""
    configured = (settings.tool_overrides if settings is not None else {}).get(tool_name)
    chosen = own or configured
    return ToolOverride.from_dict(chosen) if chosen else None


def _tool_posture(grant: ToolGrant, pinned: str | None, settings: Settings | None) -> ToolPosture:
    # Reclassified on every scan (the classifier is deterministic and gives its evidence), so a
    # changed deployment override applies at the next scan.
    override = tool_override(grant.tool_name, grant.override, settings)
    classification = classify_tool(
        grant.tool_name, grant.description, grant.input_schema, grant.annotations, (), override
    )
    return ToolPosture(
        name=grant.tool_name,
        classification=classification,
        description=grant.description,
        input_schema=grant.input_schema,
        annotations=grant.annotations,
        rate_limit_per_hour=grant.rate_limit_per_hour,
        granted_at=grant.created_at,
        last_called_at=grant.last_called_at,
        definition_hash=grant.definition_hash,
        pinned_definition_hash=pinned,
    )


def _server_tool(server: str, raw: Mapping[str, Any]) -> ToolPosture | None:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        return None
    description = raw.get("description")
    schema = raw.get("inputSchema", raw.get("input_schema"))
    annotations = raw.get("annotations")
    return ToolPosture.classify(
        name,
        description if isinstance(description, str) else None,
        schema if isinstance(schema, dict) else None,
        annotations if isinstance(annotations, dict) else None,
        server=server,
    )


def _mcp_posture(conn: McpConnection) -> McpServerPosture:
    tools = [
        _server_tool(conn.server_name, raw) for raw in conn.tools or () if isinstance(raw, dict)
    ]
    return McpServerPosture(
        name=conn.server_name,
        url=conn.server_url,
        auth=conn.auth,
        tools=tuple(t for t in tools if t is not None),
    )


async def _tool_names(session: AsyncSession, agent_id: uuid.UUID) -> list[str] | None:
    """Every distinct tool name in the agent's events, in order; None past ``_DISTINCT_TOOLS_CAP``.

    A skip scan of the ``(agent_id, tool_name, ts)`` index: one index probe per distinct name,
    however many events the agent has (a GROUP BY would read every event of the window).
    """
    e = aliased(AgentEvent)
    first = (
        select(AgentEvent.tool_name)
        .where(AgentEvent.agent_id == agent_id)
        .order_by(AgentEvent.tool_name)
        .limit(1)
        .scalar_subquery()
    )
    names = select(first.label("name"), literal(1).label("n")).cte("names", recursive=True)
    following = (
        select(e.tool_name)
        .where(e.agent_id == agent_id, e.tool_name > names.c.name)
        .order_by(e.tool_name)
        .limit(1)
        .scalar_subquery()
    )
    names = names.union_all(
        select(following, names.c.n + 1).where(
            names.c.name.is_not(None), names.c.n <= _DISTINCT_TOOLS_CAP
        )
    )
    found = list(
        (await session.execute(select(names.c.name).where(names.c.name.is_not(None)))).scalars()
    )
    return None if len(found) > _DISTINCT_TOOLS_CAP else found


async def _ungranted_uses(
    session: AsyncSession,
    agent_id: uuid.UUID,
    granted: set[str],
    now: datetime,
    settings: Settings | None,
) -> tuple[UngrantedUse, ...]:
    """Tools the agent called in the last ``UNGRANTED_WINDOW`` without a grant (first 100 by name).

    Only the ungranted names' events are read: the names come from a skip scan of the event
    index, so the cost does not grow with the agent's (granted) traffic.
    """
    aggregate = select(
        AgentEvent.tool_name, func.count(), func.min(AgentEvent.ts), func.max(AgentEvent.ts)
    ).where(AgentEvent.agent_id == agent_id, AgentEvent.ts >= now - UNGRANTED_WINDOW)
    names = await _tool_names(session, agent_id)
    rows: list[Any] = []
    if names is None:  # very many distinct names: one pass over the window instead
        stmt = aggregate.group_by(AgentEvent.tool_name)
        if granted:
            stmt = stmt.where(AgentEvent.tool_name.not_in(granted))
        stmt = stmt.order_by(AgentEvent.tool_name).limit(UNGRANTED_TOOLS_LIMIT)
        rows = list(await session.execute(stmt))
    else:
        candidates = [name for name in names if name not in granted]
        for start in range(0, len(candidates), _CANDIDATE_CHUNK):
            chunk = candidates[start : start + _CANDIDATE_CHUNK]
            stmt = (
                aggregate.where(AgentEvent.tool_name.in_(chunk))
                .group_by(AgentEvent.tool_name)
                .order_by(AgentEvent.tool_name)
            )
            rows.extend(await session.execute(stmt))
            if len(rows) >= UNGRANTED_TOOLS_LIMIT:
                break
        rows = rows[:UNGRANTED_TOOLS_LIMIT]
    return tuple(
        UngrantedUse(
            tool=tool,
            count=int(count),
            first_seen=first,
            last_seen=last,
            classification=classify_tool(tool, override=tool_override(tool, None, settings)),
        )
        for tool, count, first, last in rows
    )


def _pins(existing: Iterable[Finding], previous_hashes: Mapping[str, str | None]) -> dict[str, str]:
    """Approved definition hash per granted tool (see the module docstring)."""
    pins: dict[str, str] = {}
    for f in sorted(existing, key=lambda f: f.first_seen_at):
        if f.rule_id != _DEFINITION_RULE or f.status not in _UNRESOLVED:
            continue
        tool, pinned = f.evidence.get("tool"), f.evidence.get("pinned_hash")
        if isinstance(tool, str) and isinstance(pinned, str):
            pins.setdefault(tool, pinned)
    for tool, previous in previous_hashes.items():
        if previous is not None:
            pins.setdefault(tool, previous)
    return pins


def _finding_tools(rf: RuleFinding) -> set[str]:
    """Tool names a finding is about, for suppressions scoped to a tool."""
    tools = {part.split("@", 1)[0] for part in rf.key.split(",") if part}
    tool = rf.evidence.get("tool")
    if isinstance(tool, str):
        tools.add(tool)
    return tools | {t.split("/", 1)[1] for t in tools if "/" in t}


def matching_suppression(
    rf: RuleFinding, suppressions: Sequence[Suppression], now: datetime
) -> Suppression | None:
    """The first unexpired suppression that covers this finding, if any."""
    for s in suppressions:
        if s.rule_id != rf.rule_id or (s.expires_at is not None and s.expires_at <= now):
            continue
        if s.tool_name is not None and s.tool_name not in _finding_tools(rf):
            continue
        if s.path_glob is not None and (
            rf.location is None or not fnmatch.fnmatchcase(rf.location.file, s.path_glob)
        ):
            continue
        return s
    return None


def _suppress(finding: Finding, s: Suppression, now: datetime) -> bool:
    """Put the finding under the suppression; False when it already is."""
    by = f"{SUPPRESSION_ACTOR}{s.id}"
    if (
        finding.status == "SUPPRESSED"
        and finding.status_by == by
        and finding.suppressed_until == s.expires_at
    ):
        return False
    finding.history = [
        *finding.history,
        {
            "at": now.isoformat(),
            "from": finding.status,
            "to": "SUPPRESSED",
            "by": by,
            "reason": s.reason,
            "until": s.expires_at.isoformat() if s.expires_at else None,
        },
    ]
    finding.status, finding.status_by, finding.status_reason = "SUPPRESSED", by, s.reason
    finding.suppressed_until = s.expires_at
    finding.resolved_at = finding.resolved_by = None
    finding.updated_at = now
    return True


def _lift(finding: Finding, now: datetime) -> None:
    """Reopen a finding whose suppression row is gone or expired."""
    finding.history = [
        *finding.history,
        {
            "at": now.isoformat(),
            "from": finding.status,
            "to": "OPEN",
            "by": SCANNER,
            "reason": "suppression no longer applies",
        },
    ]
    finding.status, finding.status_by = "OPEN", SCANNER
    finding.status_reason = "suppression no longer applies"
    finding.suppressed_until = None
    finding.updated_at = now


def _resolve(finding: Finding, now: datetime) -> None:
    reason = "condition no longer holds"
    finding.history = [
        *finding.history,
        {
            "at": now.isoformat(),
            "from": finding.status,
            "to": "RESOLVED",
            "by": SCANNER,
            "reason": reason,
        },
    ]
    finding.status, finding.status_by, finding.status_reason = "RESOLVED", SCANNER, reason
    finding.resolved_at, finding.resolved_by = now, SCANNER
    finding.suppressed_until = None
    finding.updated_at = now


async def scan_agent(
    session: AsyncSession,
    agent: Agent,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
    previous_hashes: Mapping[str, str | None] | None = None,
    behavior: BehaviorScore | None = None,
) -> ScanResult:
    """Evaluate the agent's posture, update its POSTURE findings, and recompute its trust score.

    ``previous_hashes`` maps a grant whose definition this transaction changed to the hash it had.
    """
    now = now or utcnow()
    await lock_agent(session, agent.id)
    grants = list(
        (
            await session.execute(
                select(ToolGrant)
                .where(ToolGrant.agent_id == agent.id)
                .order_by(ToolGrant.tool_name)
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    conns = list(
        (
            await session.execute(
                select(McpConnection)
                .where(McpConnection.agent_id == agent.id)
                .order_by(McpConnection.server_name)
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    existing = list(
        (
            await session.execute(
                select(Finding).where(
                    Finding.agent_id == agent.id, Finding.rule_id.in_(SERVER_RULE_IDS)
                )
            )
        ).scalars()
    )
    before = {f.fingerprint: f.status for f in existing}
    pins = _pins(existing, previous_hashes or {})
    posture = AgentPosture(
        name=agent.name,
        agent_type=agent.agent_type,
        description=agent.description,
        owner_team=agent.owner_team,
        tools=tuple(_tool_posture(g, pins.get(g.tool_name), settings) for g in grants),
        mcp_servers=tuple(_mcp_posture(c) for c in conns),
        ungranted_uses=await _ungranted_uses(
            session, agent.id, {g.tool_name for g in grants}, now, settings
        ),
        now=now,
        source=PostureSource.server,
    )
    found = evaluate(posture, rule_config(settings))
    suppressions = list(
        (
            await session.execute(
                select(Suppression)
                .where(
                    Suppression.rule_id.in_({rf.rule_id for rf in found} or {""}),
                    or_(Suppression.agent_id.is_(None), Suppression.agent_id == agent.id),
                    or_(Suppression.expires_at.is_(None), Suppression.expires_at > now),
                )
                .order_by(Suppression.created_at, Suppression.id)
            )
        ).scalars()
    )
    result = ScanResult(agent.id)
    seen: set[str] = set()
    for rf in found:
        finding = await findings.observe(
            session,
            agent_id=agent.id,
            rule_id=rf.rule_id,
            finding_type=FINDING_TYPE,
            severity=rf.severity.value,
            message=rf.message,
            evidence=dict(rf.evidence),
            remediation=rf.remediation,
            tags=list(rf.tags),
            key=rf.key,
            by=SCANNER,
            now=now,
        )
        finding.tags, finding.remediation = list(rf.tags), rf.remediation
        seen.add(finding.fingerprint)
        suppression = matching_suppression(rf, suppressions, now)
        if suppression is not None:
            if _suppress(finding, suppression, now):
                result.suppressed.append(finding.id)
        elif finding.status == "SUPPRESSED" and (finding.status_by or "").startswith(
            SUPPRESSION_ACTOR
        ):
            _lift(finding, now)
        previous = before.get(finding.fingerprint)
        if previous is None:
            result.opened.append(finding.id)
        elif previous != "OPEN" and finding.status == "OPEN":
            result.reopened.append(finding.id)
        result.findings.append(finding)
    stale = [
        f
        for f in existing
        if f.fingerprint not in seen and before[f.fingerprint] in ("OPEN", "ACKNOWLEDGED")
    ]
    for rule_id in sorted({f.rule_id for f in stale}):
        await findings.clear(session, {agent.id}, rule_id, keep=seen, by=SCANNER, now=now)
    for f in existing:
        # Hidden by a suppression row and gone: resolved like any other (an operator's own
        # suppression is left as the operator set it).
        if (
            f.fingerprint not in seen
            and f.status == "SUPPRESSED"
            and (f.status_by or "").startswith(SUPPRESSION_ACTOR)
        ):
            _resolve(f, now)
            stale.append(f)
    result.resolved = [f.id for f in stale]
    await session.flush()
    await scores.recompute(session, agent, behavior=behavior, settings=settings, now=now)
    return result


async def scan_agents(
    session: AsyncSession,
    agent_ids: Iterable[uuid.UUID],
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> list[ScanResult]:
    """Scan several agents in this transaction (e.g. those a suppression covers)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return []
    agents = (
        await session.execute(select(Agent).where(Agent.id.in_(ids)).order_by(Agent.id))
    ).scalars()
    return [await scan_agent(session, a, settings=settings, now=now) for a in list(agents)]
