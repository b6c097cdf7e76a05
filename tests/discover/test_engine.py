"""``discover()`` end to end: real servers, real processes, a fake docker CLI, config files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agentsentinel_cli.discover import DiscoverOptions, discover
from agentsentinel_cli.report.model import Report

from tests.discover import apps
from tests.discover.conftest import ServerThread

FAKE_OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2 + "XyZ9"


def test_subnet_sweep_reports_open_mcp_server_tools_and_findings(
    serve: Callable[[Any], ServerThread],
) -> None:
    mcp = serve(apps.streamable_app())
    openai = serve(apps.openai_app())
    web = serve(apps.not_found_app())
    phases: set[str] = set()
    report = discover(
        DiscoverOptions(
            processes=False,
            local_endpoints=False,
            subnet="127.0.0.0/24",
            ports=(mcp.port, openai.port, web.port),
            timeout_s=0.5,
        ),
        progress=lambda phase, done, total: phases.add(phase),
    )
    assert phases == {"connect", "probe"}
    kinds = {(a.kind, a.location.path) for a in report.agents}
    assert kinds == {
        ("mcp_server", f"127.0.0.1:{mcp.port}"),
        ("llm_api", f"127.0.0.1:{openai.port}"),
    }
    server = next(a for a in report.agents if a.kind == "mcp_server")
    assert server.details["status"] == "open"
    assert server.tools == ("read_file", "run_shell_command")
    shell = next(t for t in report.tools if t.name == "run_shell_command")
    assert shell.dangerous and "code_execution" in shell.capabilities
    rules = {f.rule_id for f in report.findings}
    assert "OPEN_MCP_SERVER" in rules
    # Loopback: the shared rule does not call it an insecure (remote) connection.
    assert "INSECURE_MCP_CONNECTION" not in rules
    assert report.stats["subnet"] == {"targets": 254 * 3, "open": 3}
    # Deterministic: a second run gives the same JSON (timing aside).
    again = discover(
        DiscoverOptions(
            processes=False,
            local_endpoints=False,
            subnet="127.0.0.0/24",
            ports=(mcp.port, openai.port, web.port),
        )
    )
    assert _stable(again) == _stable(report)


def _stable(report: Report) -> dict[str, Any]:
    data = report.to_dict()
    data["stats"].pop("duration_s")
    return data


def test_auth_required_mcp_server_lists_no_tools_and_raises_no_open_finding(
    serve: Callable[[Any], ServerThread],
) -> None:
    server = serve(apps.authed_streamable_app())
    report = discover(
        DiscoverOptions(
            processes=False, local_endpoints=False, subnet="127.0.0.1/32", ports=(server.port,)
        )
    )
    [agent] = report.agents
    assert agent.kind == "mcp_server" and agent.details["status"] == "auth_required"
    assert report.tools == () and report.findings == ()


def test_local_endpoints_map_listening_socket_to_its_process(
    serve: Callable[[Any], ServerThread],
) -> None:
    pytest.importorskip("psutil")
    server = serve(apps.sse_app())
    report = discover(DiscoverOptions(processes=True, local_endpoints=True))
    [agent] = [a for a in report.agents if a.location.path == f"127.0.0.1:{server.port}"]
    assert agent.kind == "mcp_server" and agent.details["transport"] == "sse"
    # The server runs in this test process, which discovery leaves out of the process list,
    # but the socket table still names it.
    assert agent.details["pid"] == os.getpid()


@pytest.fixture
def npx_filesystem_server(tmp_path: Path) -> Any:
    if shutil.which("npx") is None:
        pytest.skip("npx is not installed: cannot start @modelcontextprotocol/server-filesystem")
    env = {**os.environ, "OPENAI_API_KEY": FAKE_OPENAI_KEY}
    proc = subprocess.Popen(
        ["npx", "-y", "@modelcontextprotocol/server-filesystem", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    yield proc
    proc.kill()
    proc.communicate(timeout=10)


def test_npx_mcp_launcher_and_llm_key_in_environment_are_found(
    npx_filesystem_server: subprocess.Popen[bytes],
) -> None:
    pytest.importorskip("psutil")
    pid = npx_filesystem_server.pid
    report = None
    for _ in range(600):  # npx may download the package first
        report = discover(DiscoverOptions(processes=True, local_endpoints=False))
        if any(a.location.path == f"pid:{pid}" for a in report.agents):
            break
        if npx_filesystem_server.poll() is not None:
            pytest.fail(f"npx exited: {npx_filesystem_server.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.2)
    assert report is not None
    [launcher] = [a for a in report.agents if a.location.path == f"pid:{pid}"]
    assert launcher.kind == "mcp_launcher"
    assert launcher.details["mcp_server"] == "@modelcontextprotocol/server-filesystem"
    keys = [
        f
        for f in report.findings
        if f.rule_id == "LLM_KEY_IN_ENVIRONMENT"
        and f.location is not None
        and f.location.path == f"pid:{pid}"
    ]
    assert len(keys) == 1
    assert keys[0].severity.value == "CRITICAL"
    assert keys[0].evidence["variable"] == "OPENAI_API_KEY"
    assert keys[0].evidence["masked"].startswith("sk-p")
    assert FAKE_OPENAI_KEY not in json.dumps(report.to_dict())


def test_python_child_with_llm_key_is_a_critical_finding(tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    script = tmp_path / "agent.py"
    script.write_text("import sys\nfrom langgraph.graph import StateGraph\nsys.stdin.read()\n")
    env = {**os.environ, "OPENAI_API_KEY": FAKE_OPENAI_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", str(script)],
        stdin=subprocess.PIPE,
        env=env,
    )
    try:
        report = discover(DiscoverOptions(processes=True, local_endpoints=False))
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    [finding] = [
        f
        for f in report.findings
        if f.location is not None and f.location.path == f"pid:{proc.pid}"
    ]
    assert finding.rule_id == "LLM_KEY_IN_ENVIRONMENT"
    assert FAKE_OPENAI_KEY not in json.dumps(report.to_dict())


def test_docker_containers_from_a_fake_docker_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ps = {"ID": "abc123", "Image": "mcp/filesystem", "Names": "files"}
    inspect = [
        {
            "Id": "abc123def456",
            "Name": "/files",
            "Config": {
                "Image": "mcp/filesystem:latest",
                "Env": [f"ANTHROPIC_API_KEY=sk-ant-api03-{'x7Y' * 20}", "PATH=/usr/bin"],
                "Cmd": ["/data"],
            },
            "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9"}]}},
        }
    ]
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f"if [ \"$1\" = ps ]; then echo '{json.dumps(ps)}'; exit 0; fi\n"
        f"if [ \"$1\" = inspect ]; then cat <<'JSON'\n{json.dumps(inspect)}\nJSON\nexit 0; fi\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    report = discover(DiscoverOptions(processes=False, local_endpoints=False, docker=True))
    [container] = report.agents
    assert container.kind == "container" and container.details["mcp_image"] is True
    assert container.details["env_keys"] == ["ANTHROPIC_API_KEY", "PATH"]
    [finding] = report.findings
    assert finding.rule_id == "LLM_KEY_IN_ENVIRONMENT"
    assert finding.location is not None and finding.location.path == "container:files"
    assert "x7Yx7Y" not in json.dumps(report.to_dict())


def test_docker_absent_is_a_clear_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    report = discover(DiscoverOptions(processes=False, local_endpoints=False, docker=True))
    [error] = report.errors
    assert error.target == "docker" and "docker CLI not found" in error.message


def test_host_configs_are_reported_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / ".cursor" / "mcp.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-fs"]},
                    "remote": {"url": "http://mcp.example.com/mcp"},
                }
            },
            indent=2,
        )
    )
    (tmp_path / ".claude.json").write_text("{not json")
    report = discover(DiscoverOptions(processes=False, local_endpoints=False, configs=True))
    servers = {a.name: a for a in report.agents}
    assert servers["fs"].location.path == "~/.cursor/mcp.json"
    assert servers["fs"].location.line == 3
    assert servers["remote"].location.line == 10
    insecure = [f for f in report.findings if f.rule_id == "INSECURE_MCP_CONNECTION"]
    assert len(insecure) == 1 and insecure[0].evidence["server"] == "remote"
    [error] = report.errors
    assert error.target == "~/.claude.json" and "invalid JSON" in error.message
