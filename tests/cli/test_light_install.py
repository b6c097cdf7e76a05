"""``pip install ./cli`` into a fresh venv gives working ``sentinel scan`` / ``discover`` without
any server dependency, and server commands say how to get the server."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER_MODULES = ("fastapi", "sqlalchemy", "asyncpg", "redis", "numpy", "pydantic")

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # pip uses the machine's index configuration (pip.conf / PIP_* variables) as it is.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900
    )


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("light") / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    py = target / "bin" / "python"
    done = _run(py, "-m", "pip", "install", "--quiet", REPO / "cli")
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def test_no_server_dependency_is_installed(light_venv: Path) -> None:
    py = light_venv / "bin" / "python"
    for module in SERVER_MODULES:
        probe = _run(py, "-c", f"import {module}")
        assert probe.returncode != 0, f"{module} is importable in the light install"
        assert "ModuleNotFoundError" in probe.stderr
    assert _run(py, "-c", "import agentsentinel.posture, agentsentinel_cli").returncode == 0


def test_scan_runs_from_the_light_install(light_venv: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "agent.py").write_text(
        "from langchain_core.tools import tool\n\n\n@tool\ndef delete_user(user_id: str) -> str:\n"
        '    """Delete a user account."""\n    return user_id\n'
    )
    sentinel = light_venv / "bin" / "sentinel"
    scan = _run(sentinel, "scan", corpus, "--format", "json", "--no-cache", "--fail-on", "none")
    assert scan.returncode == 0, scan.stderr
    report = json.loads(scan.stdout)
    assert report["command"] == "scan" and report["schema_version"]


def test_discover_runs_from_the_light_install(light_venv: Path) -> None:
    sentinel = light_venv / "bin" / "sentinel"
    found = _run(
        sentinel, "discover", "--no-processes", "--no-local", "--format", "json",
        "--fail-on", "none",
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["command"] == "discover"


def test_server_commands_ask_for_the_server_extra(light_venv: Path) -> None:
    serve = _run(light_venv / "bin" / "sentinel", "serve")
    assert serve.returncode == 2
    assert "agentsentinel[server]" in serve.stderr
    assert "Traceback" not in serve.stderr
