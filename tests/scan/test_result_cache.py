"""The assembled result in the cache pack: an unchanged tree and config is answered from it, any
change of a file or of the config falls back to assembly, and it renders like a fresh result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from agentsentinel_cli.report import ReportFormat, render
from agentsentinel_cli.report.model import (
    AgentReport,
    Finding,
    Location,
    Report,
    ScanError,
    ToolReport,
)
from agentsentinel_cli.scan import scan
from agentsentinel_cli.scan.cache import ScanResult, decode_result, encode_result, result_key

from agentsentinel.posture import RuleConfig, Severity, ToolOverride

FILES = {
    "app/__init__.py": "",
    "app/tools.py": """
        from langchain_core.tools import tool

        @tool
        def run_shell(command: str) -> str:
            \"\"\"Run a shell command on the host.\"\"\"
            import subprocess
            return subprocess.run(command, shell=True, capture_output=True, text=True).stdout

        @tool
        def read_page(url: str) -> str:
            \"\"\"Fetch a web page.\"\"\"
            import requests
            return requests.get(url).text
    """,
    "app/agent.py": """
        from langchain.agents import create_react_agent
        from app.tools import read_page, run_shell

        agent = create_react_agent(llm, [run_shell, read_page])
    """,
    "app/broken.py": "def oops(:\n",
}


def _write(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _shown(report: Report) -> dict[str, Any]:
    data = report.to_dict()
    data["stats"].pop("seconds")
    data["stats"].pop("cache_hits")
    data["stats"].pop("jobs")
    return data


class _Counter:
    """Counts the calls of the engine's assembly (``resolve.assemble``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import agentsentinel_cli.scan.resolve as resolve

        self.calls = 0
        real = resolve.assemble

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(resolve, "assemble", counted)


def test_unchanged_tree_is_answered_from_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _write(tmp_path / "src")
    cache = tmp_path / "cache"
    cold = scan([root], cache_dir=cache, jobs=1)
    pack = next(cache.iterdir())
    written = pack.stat().st_mtime_ns

    def never(*args: object) -> None:
        raise AssertionError("an unchanged tree was extracted or assembled again")

    monkeypatch.setattr("agentsentinel_cli.scan.extract.extract_file", never)
    monkeypatch.setattr("agentsentinel_cli.scan.resolve.assemble", never)
    warm = scan([root], cache_dir=cache, jobs=1)
    assert _shown(warm) == _shown(cold)
    assert warm.stats["cache_hits"] == warm.stats["files_scanned"] == 4
    assert [e.target for e in warm.errors] == ["app/broken.py"]
    assert render(warm, ReportFormat.JSON) != ""
    assert pack.stat().st_mtime_ns == written  # nothing rewritten


def test_a_changed_file_falls_back_to_assembly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _write(tmp_path / "src")
    cache = tmp_path / "cache"
    scan([root], cache_dir=cache, jobs=1)
    (root / "app/agent.py").write_text("from app.tools import run_shell\n")
    expected = _shown(scan([root], cache_dir=None, jobs=1))
    counter = _Counter(monkeypatch)
    changed = scan([root], cache_dir=cache, jobs=1)
    assert counter.calls == 1
    assert changed.stats["cache_hits"] == 3
    assert _shown(changed) == expected
    again = scan([root], cache_dir=cache, jobs=1)
    assert counter.calls == 1  # the new result was stored: no assembly this time
    assert _shown(again) == _shown(changed)


@pytest.mark.parametrize(
    "config",
    [
        {"rule_config": RuleConfig(disabled_rules=frozenset({"CODE_EXECUTION_GRANT"}))},
        {"rule_config": RuleConfig(tool_sprawl_limit=1)},
        {"overrides": {"read_page": ToolOverride(capabilities=frozenset())}},
    ],
)
def test_a_changed_config_falls_back_to_assembly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]
) -> None:
    root = _write(tmp_path / "src")
    cache = tmp_path / "cache"
    default = scan([root], cache_dir=cache, jobs=1)
    expected = _shown(scan([root], cache_dir=None, jobs=1, **config))
    counter = _Counter(monkeypatch)
    configured = scan([root], cache_dir=cache, jobs=1, **config)
    assert counter.calls == 1
    assert configured.stats["cache_hits"] == 4  # the per-file facts are still reused
    assert _shown(configured) == expected
    assert _shown(configured) != _shown(default)
    back = scan([root], cache_dir=cache, jobs=1)
    assert counter.calls == 2
    assert _shown(back) == _shown(default)


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "{not json\n" + text.partition("\n")[2],
        lambda text: text.replace('"findings":[[', '"findings":[[1,', 1),
        lambda text: text.replace('"version":2', '"version":1', 1),
        lambda text: text.partition("\n")[0],  # no entries
        lambda text: "",
    ],
)
def test_a_damaged_pack_is_a_miss(tmp_path: Path, damage: Any) -> None:
    root = _write(tmp_path / "src")
    cache = tmp_path / "cache"
    cold = scan([root], cache_dir=cache, jobs=1)
    pack = next(cache.iterdir())
    pack.write_text(damage(pack.read_text()))
    assert _shown(scan([root], cache_dir=cache, jobs=1)) == _shown(cold)
    assert _shown(scan([root], cache_dir=cache, jobs=1)) == _shown(cold)


def test_the_result_renders_like_the_fresh_one() -> None:
    evidence = {
        "tuple": ("a", ("b", 1)),
        "set": {"x"},
        "floats": [0.1, 2.0, float("nan")],
        7: None,
        "nested": {"k": [True, False, {"d": 1.5}]},
        "severity": Severity.HIGH,
        "path": Path("/x/y"),
    }
    result = ScanResult(
        findings=(
            Finding(
                rule_id="R",
                severity=Severity.HIGH,
                message="m\u00e9",
                location=Location("a.py", 3, 1),
                fingerprint="f",
                title="t",
                remediation="r",
                agent=None,
                tags=("ASI01", "MCP02"),
                evidence=evidence,
            ),
            Finding("S", Severity.LOW, "n", None, "g", title="t", tags=()),
        ),
        agents=(
            AgentReport("a", "langchain", Location("a.py", 1, 1), ("x",), {"implicit": False}),
        ),
        tools=(
            ToolReport(
                "x", Location("a.py", 2, 5), "python", "write", ("a", "b"), True, 0.6666, "d"
            ),
        ),
        errors=(ScanError("b.py", "Python syntax error"),),
        python_files=2,
    )
    again = decode_result(json.loads(encode_result(result)))
    assert again.python_files == 2
    for fmt in ReportFormat:
        if fmt is ReportFormat.TABLE:
            continue
        fresh, cached = (
            Report(
                command="scan",
                targets=("t",),
                findings=r.findings,
                agents=r.agents,
                tools=r.tools,
                errors=r.errors,
            )
            for r in (result, again)
        )
        assert render(cached, fmt) == render(fresh, fmt)


def test_result_key_is_the_same_in_every_process() -> None:
    code = (
        "from agentsentinel.posture import RuleConfig, ToolOverride\n"
        "from agentsentinel_cli.scan.cache import result_key\n"
        "config = [{'b': ToolOverride(capabilities=frozenset({'code_execution', "
        "'writes_external', 'reads_private_data'})), 'a': ToolOverride(scope='read')}, "
        "RuleConfig(disabled_rules=frozenset({'X', 'Y', 'Z', 'W'}))]\n"
        "print(result_key('v', ['k1', 'k2'], config))\n"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1
    base = result_key("v", ["k1", "k2"], [{}, RuleConfig()])
    assert base != result_key("v", ["k2", "k1"], [{}, RuleConfig()])
    assert base != result_key("w", ["k1", "k2"], [{}, RuleConfig()])
    assert base != result_key("v", ["k1", "k2"], [{}, RuleConfig(mcp_connection_limit=4)])


def test_code_stamp_follows_the_posture_code() -> None:
    """An edited classifier or rule module never serves results cached by the previous code."""
    import os

    from agentsentinel_cli.scan.engine import _code_stamp

    import agentsentinel.posture.classifier as classifier

    before = _code_stamp()
    st = os.stat(classifier.__file__)
    try:
        os.utime(classifier.__file__, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert _code_stamp() != before
    finally:
        os.utime(classifier.__file__, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _code_stamp() == before
