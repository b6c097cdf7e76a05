"""The commands over the real scan and discover engines: SARIF validates, output is stable."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from agentsentinel_cli.main import app
from typer.testing import CliRunner

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())


def _invoke(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_real_scan_sarif_validates_and_is_stable(agent_tree: Path, tmp_path: Path) -> None:
    (agent_tree / "broken.py").write_text("def (:\n")
    out1, out2 = tmp_path / "1.sarif", tmp_path / "2.sarif"
    first = _invoke("scan", agent_tree, "-f", "sarif", "-o", out1, "--no-cache")
    second = _invoke("scan", agent_tree, "-f", "sarif", "-o", out2, "--no-cache")
    assert first.exit_code == second.exit_code  # type: ignore[attr-defined]
    assert first.exit_code in (0, 1), first.stderr  # type: ignore[attr-defined]
    assert out1.read_bytes() == out2.read_bytes()
    sarif = json.loads(out1.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "HARDCODED_CREDENTIALS" in rules
    for result in sarif["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/")


def test_real_discover_sarif_validates(tmp_path: Path) -> None:
    out = tmp_path / "d.sarif"
    result = _invoke("discover", "--no-processes", "--no-local", "-f", "sarif", "-o", out)
    assert result.exit_code in (0, 1), result.stderr  # type: ignore[attr-defined]
    jsonschema.Draft4Validator(SCHEMA).validate(json.loads(out.read_text()))
