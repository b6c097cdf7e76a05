"""The rule registry: every posture rule with its metadata, ``evaluate`` and ``rule_catalog``.

Key contracts:
- Rule ids, severities and tags are part of the API (stored on findings, served by
  ``GET /api/v1/rules``, used in SARIF and suppressions): never rename an id.
- ``evaluate`` is pure and deterministic: the same posture and config give the same findings in
  the same order (severity, then rule id, then key), and the same keys whatever the counts and
  timestamps. At most one finding per (rule id, key).
- A rule runs only for the posture sources it lists (``PostureSource``): rules that need runtime
  facts (usage, rate limits, observed calls) run on the server only, and DANGEROUS_GRANTS runs on
  code only (on the server, CODE_EXECUTION_GRANT, SECRETS_ACCESS_GRANT, UNUSED_DANGEROUS_GRANT and
  MISSING_RATE_LIMIT cover dangerous grants with better information).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from agentsentinel.posture.rules import checks
from agentsentinel.posture.rules import owasp as o
from agentsentinel.posture.rules.model import (
    AgentPosture,
    PostureSource,
    RuleConfig,
    RuleFinding,
    RuleHit,
    Severity,
)

Check = Callable[[AgentPosture, RuleConfig], Iterable[RuleHit]]

_BOTH: Final = frozenset({PostureSource.server, PostureSource.code})
_SERVER: Final = frozenset({PostureSource.server})
_CODE: Final = frozenset({PostureSource.code})


@dataclass(frozen=True, slots=True)
class PostureRule:
    """One posture rule: what it is, how bad, how to fix it, and its check."""

    id: str
    severity: Severity
    title: str
    remediation: str
    tags: tuple[str, ...]
    check: Check
    sources: frozenset[PostureSource] = _BOTH
    # Other severities the rule may report (TOOL_POISONING: CRITICAL for the strongest signals).
    other_severities: tuple[Severity, ...] = ()

    @property
    def description(self) -> str:
        """The precise condition: the check's docstring."""
        return inspect.cleandoc(self.check.__doc__ or "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata for the rule catalog."""
        severities = sorted({self.severity, *self.other_severities}, key=lambda s: -s.rank)
        return {
            "id": self.id,
            "severity": self.severity.value,
            "severities": [s.value for s in severities],
            "title": self.title,
            "description": self.description,
            "remediation": self.remediation,
            "tags": list(self.tags),
            "owasp": [o.tag_reference(tag) for tag in self.tags],
            "sources": sorted(source.value for source in self.sources),
        }


RULES: Final[tuple[PostureRule, ...]] = (
    PostureRule(
        id="LETHAL_TRIFECTA",
        severity=Severity.CRITICAL,
        title="Private data, untrusted content and external communication in one agent",
        remediation=(
            "Remove one leg: drop the untrusted-content source, the private-data access or the "
            "external channel, or split them across agents that cannot pass data to each other."
        ),
        tags=(o.ASI01, o.ASI02, o.MCP06, o.MCP10),
        check=checks.check_lethal_trifecta,
    ),
    PostureRule(
        id="EXFILTRATION_PATH",
        severity=Severity.CRITICAL,
        title="Private data can leave the organisation",
        remediation=(
            "Separate reading private data from sending data out (different agents), or restrict "
            "the external tool to fixed, approved recipients."
        ),
        tags=(o.ASI02, o.MCP10),
        check=checks.check_exfiltration_path,
    ),
    PostureRule(
        id="CODE_EXECUTION_GRANT",
        severity=Severity.CRITICAL,
        title="Agent can execute arbitrary code",
        remediation=(
            "Remove the tool, or run it in an isolated sandbox with no credentials or network "
            "access and require human approval per call."
        ),
        tags=(o.ASI05, o.MCP05),
        check=checks.check_code_execution_grant,
    ),
    PostureRule(
        id="HARDCODED_CREDENTIALS",
        severity=Severity.CRITICAL,
        title="Credential hard-coded in agent source",
        remediation=(
            "Revoke and rotate the credential now, remove it from the code and its history, and "
            "load it from a secret manager or the environment at runtime."
        ),
        tags=(o.ASI03, o.MCP01),
        check=checks.check_hardcoded_credentials,
        sources=_CODE,
    ),
    PostureRule(
        id="TOOL_POISONING",
        severity=Severity.HIGH,
        other_severities=(Severity.CRITICAL,),
        title="Hidden instructions in a tool definition",
        remediation=(
            "Do not use the tool until its definition is reviewed; remove hidden instructions "
            "and invisible characters at the source, and pin the reviewed definition."
        ),
        tags=(o.ASI01, o.ASI04, o.MCP03),
        check=checks.check_tool_poisoning,
    ),
    PostureRule(
        id="TOOL_DEFINITION_CHANGED",
        severity=Severity.HIGH,
        title="Tool definition changed after approval",
        remediation=(
            "Review the new definition (description, schema, annotations); re-pin it if it is "
            "legitimate, otherwise revoke the grant and disconnect the server."
        ),
        tags=(o.ASI04, o.MCP03, o.MCP04),
        check=checks.check_tool_definition_changed,
    ),
    PostureRule(
        id="UNGRANTED_TOOL_USE",
        severity=Severity.HIGH,
        title="Agent called a tool it holds no grant for",
        remediation=(
            "Find out why the agent reached the tool; grant it explicitly if intended, otherwise "
            "block it at the MCP shim or framework and investigate the agent."
        ),
        tags=(o.ASI02, o.ASI10, o.MCP02),
        check=checks.check_ungranted_tool_use,
        sources=_SERVER,
    ),
    PostureRule(
        id="SECRETS_ACCESS_GRANT",
        severity=Severity.HIGH,
        title="Agent can read or manage secrets",
        remediation=(
            "Give the agent short-lived, narrowly scoped credentials injected at call time "
            "instead of a tool that returns secrets."
        ),
        tags=(o.ASI03, o.MCP01),
        check=checks.check_secrets_access_grant,
    ),
    PostureRule(
        id="PROMPT_INJECTION_VECTOR",
        severity=Severity.HIGH,
        title="Untrusted content can drive actions",
        remediation=(
            "Require human approval for the acting tools when untrusted content is in context, "
            "or move the untrusted reads to an agent without write tools."
        ),
        tags=(o.ASI01, o.ASI06, o.MCP06),
        check=checks.check_prompt_injection_vector,
    ),
    PostureRule(
        id="LATERAL_MOVEMENT_PATH",
        severity=Severity.HIGH,
        title="Identity control combined with infrastructure or code execution",
        remediation=(
            "Split identity and credential management from infrastructure and code-execution "
            "tools; no single agent should hold both."
        ),
        tags=(o.ASI03, o.ASI08, o.MCP02),
        check=checks.check_lateral_movement_path,
    ),
    PostureRule(
        id="UNBOUNDED_FILE_ACCESS",
        severity=Severity.HIGH,
        title="File writes at any path",
        remediation=(
            "Confine the tool to an allow-listed directory (and say so in its description), or "
            "constrain the path parameter with an enum or pattern."
        ),
        tags=(o.ASI02, o.MCP02),
        check=checks.check_unbounded_file_access,
    ),
    PostureRule(
        id="INSECURE_MCP_CONNECTION",
        severity=Severity.HIGH,
        title="Insecure MCP server connection",
        remediation=(
            "Use https (or stdio for local servers), require authentication (OAuth or a bearer "
            "token sent in a header), and never put credentials in the URL."
        ),
        tags=(o.ASI07, o.MCP01, o.MCP07),
        check=checks.check_insecure_mcp_connection,
    ),
    PostureRule(
        id="PRIVILEGE_EXCESS",
        severity=Severity.HIGH,
        title="Write access on an agent described as read-only",
        remediation=(
            "Remove the write tools, or correct the agent's description if its purpose has changed."
        ),
        tags=(o.ASI03, o.MCP02),
        check=checks.check_privilege_excess,
    ),
    PostureRule(
        id="UNUSED_DANGEROUS_GRANT",
        severity=Severity.HIGH,
        title="Dangerous grant not used",
        remediation="Revoke the grant; grant it again when the agent needs it.",
        tags=(o.ASI03, o.MCP02),
        check=checks.check_unused_dangerous_grant,
        sources=_SERVER,
    ),
    PostureRule(
        id="DANGEROUS_GRANTS",
        severity=Severity.HIGH,
        title="Dangerous tool attached to the agent",
        remediation=(
            "Confirm the agent needs the tool; add human approval, a rate limit or narrower "
            "arguments, or remove it."
        ),
        tags=(o.ASI02, o.MCP02),
        check=checks.check_dangerous_grants,
        sources=_CODE,
    ),
    PostureRule(
        id="CREDENTIAL_SCOPE_MISMATCH",
        severity=Severity.MEDIUM,
        title="Admin-scope grant the agent does not use",
        remediation=(
            "Replace the admin grant with a narrower one matching what the agent actually does, "
            "or revoke it."
        ),
        tags=(o.ASI03, o.MCP02),
        check=checks.check_credential_scope_mismatch,
        sources=_SERVER,
    ),
    PostureRule(
        id="TOOL_SPRAWL",
        severity=Severity.MEDIUM,
        title="Too many tools across too many capabilities",
        remediation=("Remove tools the agent does not need, or split it into narrower agents."),
        tags=(o.ASI02, o.MCP02),
        check=checks.check_tool_sprawl,
    ),
    PostureRule(
        id="MCP_OVER_CONNECTION",
        severity=Severity.MEDIUM,
        title="Too many MCP servers",
        remediation=(
            "Disconnect MCP servers the agent does not need; every server is a party whose "
            "tools and results the agent trusts."
        ),
        tags=(o.ASI04, o.MCP04),
        check=checks.check_mcp_over_connection,
    ),
    PostureRule(
        id="UNDESCRIBED_WRITE_AGENT",
        severity=Severity.MEDIUM,
        title="Agent with write access has no description",
        remediation=(
            "Describe what the agent is for, so that reviewers and rules can judge its grants."
        ),
        tags=(o.ASI10,),
        check=checks.check_undescribed_write_agent,
        sources=_CODE,
    ),
    PostureRule(
        id="MISSING_RATE_LIMIT",
        severity=Severity.LOW,
        title="Dangerous grant without a rate limit",
        remediation="Set rate_limit_per_hour on the grant to what the agent legitimately needs.",
        tags=(o.ASI02, o.ASI08),
        check=checks.check_missing_rate_limit,
        sources=_SERVER,
    ),
)

RULES_BY_ID: Final[Mapping[str, PostureRule]] = {rule.id: rule for rule in RULES}


def get_rule(rule_id: str) -> PostureRule:
    """The rule with this id; raises KeyError for an unknown id."""
    return RULES_BY_ID[rule_id]


def _finding(rule: PostureRule, hit: RuleHit) -> RuleFinding:
    return RuleFinding(
        rule_id=rule.id,
        severity=hit.severity or rule.severity,
        title=rule.title,
        message=hit.message,
        remediation=rule.remediation,
        evidence=dict(hit.evidence),
        tags=rule.tags,
        key=hit.key,
        location=hit.location,
    )


def evaluate(
    posture: AgentPosture,
    config: RuleConfig = RuleConfig(),
    rules: Iterable[PostureRule] = RULES,
) -> list[RuleFinding]:
    """Run every applicable rule on one agent; findings sorted by severity, rule id, key."""
    findings: dict[tuple[str, str], RuleFinding] = {}
    for rule in rules:
        if rule.id in config.disabled_rules or posture.source not in rule.sources:
            continue
        for hit in rule.check(posture, config):
            findings.setdefault((rule.id, hit.key), _finding(rule, hit))
    return sorted(findings.values(), key=lambda f: (-f.severity.rank, f.rule_id, f.key))


def rule_catalog() -> list[dict[str, Any]]:
    """JSON-ready metadata of every rule, in registry order, for ``GET /api/v1/rules``."""
    return [rule.to_dict() for rule in RULES]
