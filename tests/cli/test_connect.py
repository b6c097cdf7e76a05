"""``sentinel scan --connect``: live trust data from a real AgentSentinel server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agentsentinel.settings import Settings
from tests.cli.conftest import Engines, Invoke
from tests.conftest import _free_port, run_live_server


async def test_connect_adds_live_data_to_exactly_matching_agents(
    settings: Settings, engines: Engines, invoke: Invoke, agent_tree: Path
) -> None:
    with run_live_server(settings) as live:
        headers = {"X-API-Key": live.admin_key}
        async with httpx.AsyncClient(base_url=live.base_url, headers=headers, timeout=10) as c:
            created = await c.post("/api/v1/agents", json={"name": "support_bot"})
            assert created.status_code == 201
            near = await c.post("/api/v1/agents", json={"name": "support_bot_v2"})
            assert near.status_code == 201
        result = invoke(
            "scan", agent_tree, "--format", "json", "--connect", live.base_url,
            "--api-key", live.admin_key, "--fail-on", "none",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert live.admin_key not in result.stdout + result.stderr
        (agent,) = json.loads(result.stdout)["agents"]
        live_data = agent["details"]["agentsentinel"]
        assert live_data["id"] == created.json()["id"]
        assert live_data["status"] == created.json()["status"]
        assert "trust_score" in live_data and "behavior_score" in live_data

        refused = invoke(
            "scan", agent_tree, "--connect", live.base_url, "--api-key", "as_wrong_key_123456"
        )
        assert refused.exit_code == 3
        assert "refused" in refused.stderr
        assert "as_wrong_key_123456" not in refused.stderr + refused.stdout


def test_connect_unreachable_exits_3(engines: Engines, invoke: Invoke, agent_tree: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = invoke("scan", agent_tree, "--connect", url, "--api-key", "secret-key-value")
    assert result.exit_code == 3
    assert "cannot reach" in result.stderr
    assert "secret-key-value" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--connect", "ftp://example.org", "--api-key", "k"),
        ("--connect", "http://127.0.0.1:9"),  # no key
    ],
)
def test_connect_usage_errors_exit_2(
    engines: Engines, invoke: Invoke, agent_tree: Path, args: tuple[str, ...]
) -> None:
    assert invoke("scan", agent_tree, *args).exit_code == 2
    assert engines.scan_calls == []


def test_connect_key_from_env(
    engines: Engines, invoke: Invoke, agent_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSENTINEL_API_KEY", "from-env")
    url = f"http://127.0.0.1:{_free_port()}"
    result = invoke("scan", agent_tree, "--connect", url)
    assert result.exit_code == 3  # got past the missing-key check to the connection
