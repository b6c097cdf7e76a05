"""Fixtures for the ``sentinel scan`` / ``discover`` command tests: hand-built reports served by
stand-in engines (patched into ``sys.modules``), and a CliRunner wrapper."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentsentinel_cli.main import app
from agentsentinel_cli.report.model import (
    AgentReport,
    Finding,
    Location,
    Report,
    ScanError,
    ToolReport,
    finding_fingerprint,
)
from typer.testing import CliRunner

from agentsentinel.posture import Severity

AGENT_SOURCE = """\
from langchain_core.tools import tool


@tool
def run_shell(command: str) -> str:
    \"\"\"Run a shell command.\"\"\"
    import subprocess
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


OPENAI_API_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
"""


def finding(
    rule_id: str,
    severity: Severity,
    path: str | None,
    line: int | None,
    *,
    agent: str | None = "support_bot",
    key: str = "",
    evidence: dict[str, Any] | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=severity,
        title=f"{rule_id} title",
        message=f"{rule_id} | message <with> markup [b]x[/b]",
        remediation=f"Fix {rule_id}.",
        location=None if path is None else Location(path, line, 1 if line else None),
        agent=agent,
        tags=("ASI02",),
        evidence=evidence or {},
        fingerprint=finding_fingerprint(rule_id, agent, key, path),
    )


def scan_report(*, findings: tuple[Finding, ...] | None = None) -> Report:
    """A report like the scan engine's for the tree written by ``agent_tree``."""
    if findings is None:
        findings = (
            finding(
                "CODE_EXECUTION_GRANT",
                Severity.CRITICAL,
                "agent.py",
                5,
                key="run_shell",
                evidence={"tool": "run_shell"},
            ),
            finding("HARDCODED_CREDENTIALS", Severity.HIGH, "agent.py", 11, key="agent.py|openai"),
            finding("TOOL_SPRAWL", Severity.MEDIUM, "agent.py", None),
        )
    return Report(
        command="scan",
        targets=(".",),
        findings=findings,
        agents=(AgentReport("support_bot", "langchain", Location("agent.py", 1), ("run_shell",)),),
        tools=(
            ToolReport(
                name="run_shell",
                location=Location("agent.py", 5, 1),
                framework="langchain",
                scope="write",
                capabilities=("code_execution",),
                dangerous=True,
                confidence=1.0,
                agent="support_bot",
            ),
        ),
        errors=(ScanError("broken.py", "SyntaxError: invalid syntax (line 1)"),),
        stats={"files": 2},
    )


def discover_report() -> Report:
    return Report(
        command="discover",
        targets=("processes",),
        findings=(
            finding(
                "LLM_KEY_IN_ENV",
                Severity.CRITICAL,
                "pid 4242 (python agent.py)",
                None,
                agent=None,
                key="4242|OPENAI_API_KEY",
            ),
            finding(
                "OPEN_MCP_SERVER",
                Severity.HIGH,
                "http://127.0.0.1:8931/mcp",
                None,
                agent=None,
                key="127.0.0.1:8931",
            ),
            finding(
                "HARDCODED_CREDENTIALS",
                Severity.HIGH,
                "/home/user/.cursor/mcp.json",
                3,
                agent=None,
                key="mcp.json|github",
            ),
        ),
        agents=(
            AgentReport("python agent.py", "process", Location("pid 4242")),
            AgentReport("filesystem", "mcp_server", Location("http://127.0.0.1:8931/mcp")),
        ),
    )


@pytest.fixture
def agent_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".git").mkdir()  # stops the config lookup here
    (root / "agent.py").write_text(AGENT_SOURCE)
    return root


class Engines:
    """Stand-in engines returning a given report; records the calls they got."""

    def __init__(self) -> None:
        self.scan_result: Report | BaseException = scan_report()
        self.discover_result: Report | BaseException = discover_report()
        self.scan_calls: list[dict[str, Any]] = []
        self.discover_calls: list[Any] = []

    def scan(self, paths: Any, **kwargs: Any) -> Report:
        self.scan_calls.append({"paths": list(paths), **kwargs})
        if kwargs.get("progress"):
            kwargs["progress"](1, 1)
        if isinstance(self.scan_result, BaseException):
            raise self.scan_result
        return self.scan_result

    def discover(self, options: Any, *, progress: Any = None) -> Report:
        self.discover_calls.append(options)
        if isinstance(self.discover_result, BaseException):
            raise self.discover_result
        return self.discover_result


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engines]:
    # The real options module is imported first so it stays importable under the stand-ins.
    import agentsentinel_cli.discover.options as options_mod

    fake = Engines()
    scan_mod = types.ModuleType("agentsentinel_cli.scan")
    scan_mod.scan = fake.scan  # type: ignore[attr-defined]
    discover_mod = types.ModuleType("agentsentinel_cli.discover")
    discover_mod.discover = fake.discover  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agentsentinel_cli.scan", scan_mod)
    monkeypatch.setitem(sys.modules, "agentsentinel_cli.discover", discover_mod)
    monkeypatch.setitem(sys.modules, "agentsentinel_cli.discover.options", options_mod)
    monkeypatch.delenv("AGENTSENTINEL_API_KEY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield fake


Invoke = Callable[..., Any]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    monkeypatch.chdir(tmp_path)

    def run(*args: str, **kwargs: Any) -> Any:
        runner = CliRunner()
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run
