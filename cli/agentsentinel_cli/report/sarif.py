"""SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it.

- ``tool.driver.rules`` is every posture rule of ``rule_catalog()`` (registry order) followed by
  any other rule id the report uses (discover rules), sorted; ``ruleIndex`` points into it.
- Levels: CRITICAL/HIGH -> error, MEDIUM -> warning, LOW/INFO -> note; ``security-severity``
  carries the finer grading GitHub shows.
- A finding in a file gets a ``physicalLocation`` relative to ``%SRCROOT%`` (absolute paths, e.g.
  host MCP configs found by discover, get a ``file://`` URI); a finding about a process or an
  address gets a ``logicalLocation``.
- ``partialFingerprints["agentsentinel/v1"]`` is ``Finding.fingerprint``.
- Files that could not be processed are ``toolExecutionNotifications`` of the one invocation.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import quote

from agentsentinel.posture import Severity, rule_catalog
from agentsentinel_cli.report.model import Finding, Location, Report

SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME: Final = "AgentSentinel"
FINGERPRINT_KEY: Final = "agentsentinel/v1"

LEVELS: Final[dict[Severity, str]] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps security-severity to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9), low (< 4).
SECURITY_SEVERITY: Final[dict[Severity, str]] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentsentinel-cli")
    except PackageNotFoundError:
        import agentsentinel

        return str(agentsentinel.__version__)


def _rule_name(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("_") if part)


def _rule_descriptor(
    rule_id: str,
    severity: Severity,
    title: str,
    description: str,
    remediation: str,
    tags: list[str],
    owasp: list[dict[str, Any]],
) -> dict[str, Any]:
    refs = "".join(
        f"\n- {o.get('id')}: {o.get('title')} ({o.get('list')} {o.get('version')})" for o in owasp
    )
    markdown = f"**{title}**\n\n{description}\n\n**Remediation:** {remediation}"
    if refs:
        markdown += f"\n\n**OWASP:**{refs}"
    return {
        "id": rule_id,
        "name": _rule_name(rule_id),
        "shortDescription": {"text": title or rule_id},
        "fullDescription": {"text": _one_paragraph(description) or title or rule_id},
        "help": {"text": remediation or title or rule_id, "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {
            "tags": ["security", *tags],
            "security-severity": SECURITY_SEVERITY[severity],
        },
    }


def _one_paragraph(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).replace("``", "`").strip()


def _rules(report: Report) -> list[dict[str, Any]]:
    rules = [
        _rule_descriptor(
            r["id"],
            Severity(r["severity"]),
            r["title"],
            r["description"],
            r["remediation"],
            list(r["tags"]),
            list(r.get("owasp", [])),
        )
        for r in rule_catalog()
    ]
    known = {r["id"] for r in rules}
    extra: dict[str, Finding] = {}
    for f in report.findings:
        if f.rule_id not in known:
            # The most severe occurrence stands for the rule's default level.
            seen = extra.get(f.rule_id)
            if seen is None or f.severity.rank > seen.severity.rank:
                extra[f.rule_id] = f
    for rule_id in sorted(extra):
        f = extra[rule_id]
        rules.append(
            _rule_descriptor(
                rule_id, f.severity, f.title, f.title, f.remediation, sorted(f.tags), []
            )
        )
    return rules


def _artifact(path: str) -> dict[str, Any]:
    if path.startswith("/"):
        return {"uri": PurePosixPath(path).as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": "%SRCROOT%"}


def _is_file(report: Report, loc: Location) -> bool:
    # Scan locations are files; discover ones are files only when they point at a line.
    return report.command == "scan" or loc.line is not None


def _location(report: Report, loc: Location) -> dict[str, Any]:
    if not _is_file(report, loc):
        return {"logicalLocations": [{"name": loc.path, "kind": "resource"}]}
    physical: dict[str, Any] = {"artifactLocation": _artifact(loc.path)}
    if loc.line is not None and loc.line >= 1:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.column is not None and loc.column >= 1:
            region["startColumn"] = loc.column
        physical["region"] = region
    return {"physicalLocation": physical}


def _result(report: Report, f: Finding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": f.message or f.title or f.rule_id},
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"severity": f.severity.value},
    }
    if f.location is not None:
        result["locations"] = [_location(report, f.location)]
    if f.agent:
        result["properties"]["agent"] = f.agent
    if f.tags:
        result["properties"]["tags"] = list(f.tags)
    return result


def to_sarif(report: Report) -> dict[str, Any]:
    """The SARIF log as a dict (one run)."""
    ordered = report.sorted()
    rules = _rules(ordered)
    index = {r["id"]: i for i, r in enumerate(rules)}
    notifications = [
        {"level": "error", "message": {"text": f"{e.target}: {e.message}"}} for e in ordered.errors
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": _tool_version(),
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": not ordered.errors,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": [_result(ordered, f, index[f.rule_id]) for f in ordered.findings],
        "properties": {"command": ordered.command, "suppressed": ordered.suppressed},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report) -> str:
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"
