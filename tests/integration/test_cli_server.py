"""The `sentinel` server commands as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from agentsentinel_cli.main import app
from typer.testing import CliRunner

from tests.conftest import _free_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSENTINEL_")}
    env.update({"AGENTSENTINEL_DATA_DIR": str(tmp_path / "data"), **extra})
    return env


def test_serve_prints_key_and_login_url_then_drains_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from agentsentinel_cli.main import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        key = None
        deadline = time.monotonic() + 60
        login = None
        assert proc.stdout is not None
        while time.monotonic() < deadline and (key is None or login is None):
            line = proc.stdout.readline()
            if not line:
                break
            if line.strip().startswith("as_adm_"):
                key = line.strip()
            if "login?token=" in line:
                login = line.strip()
        assert key and login, "serve did not print the admin key and login URL"
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/agents", headers={"X-API-Key": key})
        assert r.status_code == 200
        token = login.split("token=")[1]
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/session", json={"token": token})
        assert r.status_code == 200 and r.json()["scope"] == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    # uvicorn re-raises SIGTERM after a complete graceful shutdown.
    assert proc.returncode in (0, -signal.SIGTERM), err[-2000:]
    assert "Application shutdown complete" in err
    assert key not in err  # the key goes to the terminal once, never into logs


def test_serve_with_key_file_keeps_key_off_the_terminal(tmp_path: Path) -> None:
    port = _free_port()
    key_file = tmp_path / "admin.key"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from agentsentinel_cli.main import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=_env(tmp_path, AGENTSENTINEL_BOOTSTRAP_KEY_FILE=str(key_file)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        key = key_file.read_text()
        assert (
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/keys", headers={"X-API-Key": key}
            ).status_code
            == 200
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert key not in out and key not in err
    assert str(key_file) in err


def test_keys_commands(tmp_path: Path, monkeypatch: object) -> None:
    runner = CliRunner()
    env = {"AGENTSENTINEL_DATA_DIR": str(tmp_path / "d")}
    created = runner.invoke(
        app, ["keys", "create", "--name", "ci", "--scope", "readonly", "--format", "json"], env=env
    )
    assert created.exit_code == 0, created.output
    import json

    key = json.loads(created.stdout)
    assert key["key"].startswith("as_ro_") and key["scope"] == "readonly"
    listed = runner.invoke(app, ["keys", "list", "--format", "json"], env=env)
    assert [k["id"] for k in json.loads(listed.stdout)] == [key["id"]]
    assert "as_ro_" + key["key"][6:] not in listed.stdout  # never the key itself
    revoked = runner.invoke(app, ["keys", "revoke", key["id"]], env=env)
    assert revoked.exit_code == 0
    listed = json.loads(runner.invoke(app, ["keys", "list", "--format", "json"], env=env).stdout)
    assert listed[0]["is_active"] is False
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "agent"], env=env)
    assert bad.exit_code == 2 and "--agent-id" in bad.output


def test_api_refuses_to_start_without_redis_or_with_default_secret(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["api"], env={"AGENTSENTINEL_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "AGENTSENTINEL_REDIS_URL" in r.output
    r = runner.invoke(
        app,
        ["worker"],
        env={"AGENTSENTINEL_MODE": "production", "AGENTSENTINEL_SECRET_KEY": "change-me"},
    )
    assert r.exit_code == 2 and "SECRET_KEY" in r.output


async def test_login_page_exchanges_one_time_token(server: object) -> None:
    from agentsentinel.auth.bootstrap import create_login_token
    from tests.conftest import Server

    assert isinstance(server, Server)
    token = await create_login_token(server.runtime.sessions, server.runtime.secret)
    page = await server.client.get(f"/login?token={token}")
    assert page.status_code == 200 and token in page.text  # GET does not consume it
    r = await server.client.post(
        "/login",
        content=f"token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 303 and "agentsentinel_session" in r.headers["set-cookie"]
    assert (await server.client.get("/api/v1/session")).json()["scope"] == "admin"
    server.client.cookies.clear()
    r = await server.client.post(
        "/login",
        content=f"token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 401
