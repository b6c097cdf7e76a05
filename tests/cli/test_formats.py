"""Each writer renders a hand-built report; json and sarif are deterministic; SARIF validates
against the SARIF 2.1.0 JSON schema (``sarif-schema-2.1.0.json``, the rtm.5 schema as bundled in
the npm package ``@microsoft/jest-sarif``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from agentsentinel_cli.report import ReportFormat, render
from agentsentinel_cli.report.model import SCHEMA_VERSION, Report
from agentsentinel_cli.report.sarif import to_sarif

from agentsentinel.posture import rule_catalog
from tests.cli.conftest import discover_report, scan_report

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())


def _validate(sarif: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)


def _shuffled(report: Report) -> Report:
    return replace(
        report,
        findings=tuple(reversed(report.findings)),
        agents=tuple(reversed(report.agents)),
    )


@pytest.mark.parametrize("fmt", list(ReportFormat))
@pytest.mark.parametrize("make", [scan_report, discover_report])
def test_output_is_deterministic_and_order_independent(fmt: ReportFormat, make: Any) -> None:
    report = make()
    assert render(report, fmt) == render(report, fmt) == render(_shuffled(report), fmt)


def test_json_has_schema_version_and_sorted_findings() -> None:
    data = json.loads(render(scan_report(), ReportFormat.JSON))
    assert data["schema_version"] == SCHEMA_VERSION
    assert [f["severity"] for f in data["findings"]] == ["CRITICAL", "HIGH", "MEDIUM"]
    assert data["findings"][0]["location"] == {"path": "agent.py", "line": 5, "column": 1}
    assert data["summary"]["errors"] == 1


def test_scan_sarif_validates_and_carries_rules_levels_locations() -> None:
    sarif = to_sarif(scan_report())
    _validate(sarif)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "AgentSentinel" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules[: len(rule_catalog())]] == [r["id"] for r in rule_catalog()]
    trifecta = rules[0]
    assert trifecta["defaultConfiguration"]["level"] == "error"
    assert trifecta["properties"]["security-severity"] == "9.5"
    assert "ASI01" in trifecta["properties"]["tags"]
    assert trifecta["help"]["text"] and "Remediation" in trifecta["help"]["markdown"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("CODE_EXECUTION_GRANT", "error"),
        ("HARDCODED_CREDENTIALS", "error"),
        ("TOOL_SPRAWL", "warning"),
    ]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert len(r["partialFingerprints"]["agentsentinel/v1"]) == 32
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"] == {"uri": "agent.py", "uriBaseId": "%SRCROOT%"}
    assert first["region"] == {"startLine": 5, "startColumn": 1}
    assert "region" not in results[2]["locations"][0]["physicalLocation"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"].startswith("broken.py")


def test_schema_rejects_a_bad_log() -> None:
    sarif = to_sarif(scan_report())
    sarif["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        _validate(sarif)


def test_discover_sarif_validates_with_logical_locations_and_extra_rules() -> None:
    sarif = to_sarif(discover_report())
    _validate(sarif)
    run = sarif["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules[-2:] == ["LLM_KEY_IN_ENV", "OPEN_MCP_SERVER"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    key = by_rule["LLM_KEY_IN_ENV"]
    assert key["locations"] == [
        {"logicalLocations": [{"name": "pid 4242 (python agent.py)", "kind": "resource"}]}
    ]
    assert key["level"] == "error"
    config = by_rule["HARDCODED_CREDENTIALS"]["locations"][0]["physicalLocation"]
    assert config["artifactLocation"] == {"uri": "file:///home/user/.cursor/mcp.json"}


def test_sarif_quotes_uris() -> None:
    report = scan_report()
    f = replace(report.findings[0], location=replace(report.findings[0].location, path="a b/c#.py"))  # type: ignore[arg-type]
    sarif = to_sarif(replace(report, findings=(f,)))
    _validate(sarif)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "a%20b/c%23.py"


def test_table_plain_text_lists_findings_agents_errors() -> None:
    text = render(scan_report(), ReportFormat.TABLE)
    assert "\x1b[" not in text
    assert "CODE_EXECUTION_GRANT" in text and "agent.py:5:1" in text
    assert "[b]x[/b]" in text  # messages are shown literally, never as markup
    assert "support_bot" in text and "broken.py" in text
    assert "3 findings (1 critical, 1 high, 1 medium, 0 low, 0 info)" in text


def test_markdown_escapes_table_cells() -> None:
    md = render(scan_report(), ReportFormat.MARKDOWN)
    assert md.startswith("## AgentSentinel scan\n")
    assert "**3 findings** (1 critical, 1 high, 1 medium)." in md
    row = next(line for line in md.splitlines() if "CODE_EXECUTION_GRANT" in line and "|" in line)
    assert row.count(" | ") == 4  # the pipe inside the message is escaped
    assert "\\|" in row and "&lt;with>" in row
    assert "- `broken.py`: SyntaxError" in md


def test_markdown_without_findings() -> None:
    md = render(replace(scan_report(), findings=()), ReportFormat.MARKDOWN)
    assert "**No findings.**" in md and "| Severity |" not in md
