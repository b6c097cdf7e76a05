"""``sentinel scan`` / ``sentinel discover``: exit codes, output routing, filters, config."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from agentsentinel.posture import Severity
from tests.cli.conftest import Engines, Invoke, finding, scan_report

FORMATS = ["table", "json", "sarif", "markdown"]


# --- exit codes, identical for every format ---------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_1_when_a_finding_is_at_or_above_fail_on(
    engines: Engines, invoke: Invoke, agent_tree: Path, fmt: str
) -> None:
    result = invoke("scan", agent_tree, "--format", fmt)
    assert result.exit_code == 1, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_0_when_nothing_reaches_fail_on(
    engines: Engines, invoke: Invoke, agent_tree: Path, fmt: str
) -> None:
    engines.scan_result = scan_report(
        findings=(finding("TOOL_SPRAWL", Severity.MEDIUM, "agent.py", None),)
    )
    assert invoke("scan", agent_tree, "--format", fmt).exit_code == 0
    assert invoke("scan", agent_tree, "--format", fmt, "--fail-on", "high").exit_code == 0
    assert invoke("scan", agent_tree, "--format", fmt, "--fail-on", "MEDIUM").exit_code == 1
    assert invoke("scan", agent_tree, "--format", fmt, "--fail-on", "none").exit_code == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_discover_exit_codes_match_scan(engines: Engines, invoke: Invoke, fmt: str) -> None:
    base = ("discover", "--no-processes", "--no-local", "--format", fmt)
    assert invoke(*base).exit_code == 1
    assert invoke(*base, "--fail-on", "none").exit_code == 0
    assert invoke(*base, "--subnet", "not-a-cidr").exit_code == 2
    engines.discover_result = RuntimeError("socket exploded")
    result = invoke(*base)
    assert result.exit_code == 3
    assert "socket exploded" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_usage_errors_exit_2(engines: Engines, invoke: Invoke, agent_tree: Path, fmt: str) -> None:
    assert invoke("scan", agent_tree, "--format", fmt, "--fail-on", "severe").exit_code == 2
    missing = invoke("scan", agent_tree / "nope", "--format", fmt)
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    assert invoke("scan", agent_tree, "--format", fmt, "--bogus").exit_code == 2
    assert invoke("discover", "--format", fmt, "--ports", "80,x").exit_code == 2
    assert invoke("discover", "--format", fmt, "--timeout", "0").exit_code == 2
    assert engines.scan_calls == [] and engines.discover_calls == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_engine_crash_exits_3_without_traceback(
    engines: Engines, invoke: Invoke, agent_tree: Path, fmt: str
) -> None:
    engines.scan_result = RuntimeError("parser blew up")
    result = invoke("scan", agent_tree, "--format", fmt)
    assert result.exit_code == 3
    assert "parser blew up" in result.stderr
    assert result.stdout == ""


def test_bad_format_is_a_usage_error(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    assert invoke("scan", agent_tree, "--format", "xml").exit_code == 2


# --- output routing ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_keeps_stdout_empty(
    engines: Engines, invoke: Invoke, agent_tree: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out" / f"report.{fmt}"
    result = invoke("scan", agent_tree, "--format", fmt, "--output", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    text = out.read_text()
    assert "CODE_EXECUTION_GRANT" in text
    assert "\x1b[" not in text
    if fmt in ("json", "sarif"):
        json.loads(text)


def test_json_stdout_is_only_the_report(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    result = invoke("scan", agent_tree, "--format", "json")
    data = json.loads(result.stdout)  # warnings (the broken file) went to stderr
    assert data["schema_version"] == "1.0"
    assert "broken.py" in result.stderr


def test_engine_gets_root_config_and_cache(
    engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    (agent_tree / ".agentsentinel.toml").write_text(
        'exclude = ["vendor/**"]\ntool-sprawl-limit = 30\n'
        '[overrides.run_shell]\ncapabilities = ["reads_private_data"]\n'
    )
    invoke("scan", agent_tree, "--exclude", "tests/**", "--jobs", "2")
    invoke("scan", agent_tree, "--no-cache")
    first, second = engines.scan_calls
    assert first["root"] == agent_tree.resolve()
    assert first["exclude"] == ("vendor/**", "tests/**")
    assert first["jobs"] == 2
    assert first["rule_config"].tool_sprawl_limit == 30
    assert first["overrides"]["run_shell"].capabilities is not None
    assert first["cache_dir"] is not None
    assert second["cache_dir"] is None


def test_discover_options_from_flags(engines: Engines, invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(
        "discover",
        "--no-processes",
        "--no-local",
        "--subnet",
        "127.0.0.0/30",
        "--ports",
        "8000-8002,11434",
        "--timeout",
        "0.2",
        "--concurrency",
        "8",
        "--path",
        tmp_path,
        "--docker",
        "--configs",
        "--fail-on",
        "none",
    )
    assert result.exit_code == 0, result.stderr
    (options,) = engines.discover_calls
    assert options.processes is False and options.local_endpoints is False
    assert options.subnet == "127.0.0.0/30"
    assert options.ports == (8000, 8001, 8002, 11434)
    assert options.timeout_s == 0.2 and options.concurrency == 8
    assert options.paths == (tmp_path,)
    assert options.docker and options.configs


# --- filters ----------------------------------------------------------------------------------


def _rules(result: object) -> list[str]:
    return [f["rule_id"] for f in json.loads(result.stdout)["findings"]]  # type: ignore[attr-defined]


def test_inline_ignore_with_reason_applies(
    engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    source = (agent_tree / "agent.py").read_text().splitlines()
    source[3] = "@tool  # sentinel: ignore[CODE_EXECUTION_GRANT] sandboxed in a container"
    source[10] += "  # sentinel: ignore[HARDCODED_CREDENTIALS] test fixture key"
    (agent_tree / "agent.py").write_text("\n".join(source) + "\n")
    result = invoke("scan", agent_tree, "--format", "json")
    assert _rules(result) == ["TOOL_SPRAWL"]
    assert json.loads(result.stdout)["summary"]["suppressed"] == 2
    assert result.exit_code == 0


def test_inline_ignore_without_reason_does_not_apply(
    engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    source = (agent_tree / "agent.py").read_text().splitlines()
    source[10] += "  # sentinel: ignore[HARDCODED_CREDENTIALS]"
    source[4] = source[4] + "  # sentinel: ignore[TOOL_POISONING] other rule"
    (agent_tree / "agent.py").write_text("\n".join(source) + "\n")
    result = invoke("scan", agent_tree, "--format", "json")
    assert "HARDCODED_CREDENTIALS" in _rules(result)
    assert "CODE_EXECUTION_GRANT" in _rules(result)  # an ignore for another rule
    assert "has no reason" in result.stderr


def test_inline_ignore_in_js_and_yaml(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    (agent_tree / "tools.ts").write_text(
        "// sentinel: ignore[CODE_EXECUTION_GRANT] reviewed\nexport const t = 1;\n"
    )
    (agent_tree / "c.yaml").write_text("key: x  # sentinel: ignore[HARDCODED_CREDENTIALS] fake\n")
    engines.scan_result = scan_report(
        findings=(
            finding("CODE_EXECUTION_GRANT", Severity.CRITICAL, "tools.ts", 2),
            finding("HARDCODED_CREDENTIALS", Severity.HIGH, "c.yaml", 1),
        )
    )
    result = invoke("scan", agent_tree, "--format", "json")
    assert _rules(result) == []
    assert result.exit_code == 0


def _write_suppressions(root: Path, expires: date) -> None:
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.agentsentinel]\nfail-on = 'high'\n\n"
        "[[tool.agentsentinel.suppressions]]\n"
        "rule = 'CODE_EXECUTION_GRANT'\ntool = 'run_shell'\n"
        f"reason = 'runs in a sandbox'\nexpires = {expires.isoformat()}\n\n"
        "[[tool.agentsentinel.suppressions]]\n"
        "rule = 'HARDCODED_CREDENTIALS'\npath = '*.py'\nreason = 'fixtures'\n"
    )


def test_config_suppressions_apply(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    _write_suppressions(agent_tree, date.today() + timedelta(days=30))
    result = invoke("scan", agent_tree, "--format", "json")
    assert _rules(result) == ["TOOL_SPRAWL"]
    assert json.loads(result.stdout)["summary"]["suppressed"] == 2
    assert result.exit_code == 0  # MEDIUM is below the config's fail-on = high


def test_expired_suppression_stops_applying_and_warns(
    engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    _write_suppressions(agent_tree, date.today() - timedelta(days=1))
    result = invoke("scan", agent_tree, "--format", "json")
    assert _rules(result) == ["CODE_EXECUTION_GRANT", "TOOL_SPRAWL"]
    assert "expired" in result.stderr
    assert result.exit_code == 1


def test_fail_on_flag_beats_config(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    _write_suppressions(agent_tree, date.today() + timedelta(days=30))
    assert invoke("scan", agent_tree, "--fail-on", "medium").exit_code == 1


def test_baseline_reports_only_new_findings(
    engines: Engines, invoke: Invoke, agent_tree: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    engines.scan_result = scan_report(
        findings=(
            finding("CODE_EXECUTION_GRANT", Severity.CRITICAL, "agent.py", 5, key="run_shell"),
        )
    )
    assert invoke("scan", agent_tree, "--format", "json", "--output", baseline).exit_code == 1
    # The old finding moved lines; a new one appeared.
    engines.scan_result = scan_report(
        findings=(
            finding("CODE_EXECUTION_GRANT", Severity.CRITICAL, "agent.py", 9, key="run_shell"),
            finding("LETHAL_TRIFECTA", Severity.CRITICAL, "agent.py", 2, key="a,b,c"),
        )
    )
    result = invoke("scan", agent_tree, "--format", "json", "--baseline", baseline)
    assert _rules(result) == ["LETHAL_TRIFECTA"]
    assert json.loads(result.stdout)["summary"]["suppressed"] == 1


def test_bad_baseline_is_a_usage_error(
    engines: Engines, invoke: Invoke, agent_tree: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2]")
    assert invoke("scan", agent_tree, "--baseline", bad).exit_code == 2
    assert invoke("scan", agent_tree, "--baseline", tmp_path / "none.json").exit_code == 2


# --- config -----------------------------------------------------------------------------------


def test_config_bad_key_exits_2_naming_key_and_file(
    engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    (agent_tree / "pyproject.toml").write_text("[tool.agentsentinel]\nfail_on = 'HIGH'\n")
    result = invoke("scan", agent_tree)
    assert result.exit_code == 2
    assert "tool.agentsentinel.fail_on" in result.stderr
    assert "pyproject.toml" in result.stderr
    assert engines.scan_calls == []


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("fail-on = 'SEVERE'", "fail-on"),
        ("exclude = 'vendor'", "exclude"),
        ("tool-sprawl-limit = -1", "tool-sprawl-limit"),
        ("[overrides.x]\nscope = 'superuser'", "overrides.x"),
        ("[[suppressions]]\nrule = 'TOOL_SPRAWL'", "suppressions[0].reason"),
        ("[[suppressions]]\nrule = 'X'\nreason = 'r'\nexpires = 'soon'", "suppressions[0].expires"),
        ("[[suppressions]]\nrule = 'X'\nreason = 'r'\nowner = 'me'", "suppressions[0].owner"),
        ("fail-on = ", "invalid TOML"),
    ],
)
def test_dotfile_config_errors(
    engines: Engines, invoke: Invoke, agent_tree: Path, body: str, key: str
) -> None:
    (agent_tree / ".agentsentinel.toml").write_text(body + "\n")
    result = invoke("scan", agent_tree)
    assert result.exit_code == 2
    assert key in result.stderr
    assert ".agentsentinel.toml" in result.stderr


def test_config_found_from_a_subdirectory_and_explicit(
    engines: Engines, invoke: Invoke, agent_tree: Path, tmp_path: Path
) -> None:
    sub = agent_tree / "pkg"
    sub.mkdir()
    (agent_tree / ".agentsentinel.toml").write_text("fail-on = 'none'\n")
    assert invoke("scan", sub).exit_code == 0
    other = tmp_path / "strict.toml"
    other.write_text("fail-on = 'INFO'\n")
    engines.scan_result = scan_report(
        findings=(finding("TOOL_SPRAWL", Severity.INFO, "agent.py", None),)
    )
    assert invoke("scan", sub, "--config", other).exit_code == 1
    assert invoke("scan", sub, "--config", tmp_path / "missing.toml").exit_code == 2


def test_config_lookup_stops_at_the_repo_root(
    engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    # A config above the repository (.git) does not apply to it.
    (agent_tree.parent / ".agentsentinel.toml").write_text("fail-on = 'none'\n")
    assert invoke("scan", agent_tree).exit_code == 1


def test_disabled_rules_hide_findings(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    (agent_tree / ".agentsentinel.toml").write_text(
        "disabled-rules = ['CODE_EXECUTION_GRANT', 'HARDCODED_CREDENTIALS']\n"
    )
    result = invoke("scan", agent_tree, "--format", "json")
    assert _rules(result) == ["TOOL_SPRAWL"]
    assert engines.scan_calls[0]["rule_config"].disabled_rules == {
        "CODE_EXECUTION_GRANT",
        "HARDCODED_CREDENTIALS",
    }
