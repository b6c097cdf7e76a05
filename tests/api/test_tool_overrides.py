"""Deployment-wide classification overrides (``AGENTSENTINEL_TOOL_OVERRIDES``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from agentsentinel.settings import Settings
from tests.conftest import Server

OVERRIDES = {"summarize": {"capabilities": ["code_execution"]}}


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[Server]:
    from agentsentinel.api.app import create_app

    configured = Settings(**{**settings.model_dump(), "tool_overrides": OVERRIDES})
    app = create_app(configured, migrate=False)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Server(app, runtime, client, runtime.bootstrap.key)


async def test_configured_override_classifies_the_grant_and_the_api_override_wins(
    server: Server,
) -> None:
    c, h = server.client, server.headers()
    agent = (await c.post("/api/v1/agents", json={"name": "ov"}, headers=h)).json()["id"]
    r = await c.post(f"/api/v1/agents/{agent}/grants", json={"tool_name": "summarize"}, headers=h)
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["capabilities"] == ["code_execution"] and grant["is_dangerous"] is True
    findings = (await c.get(f"/api/v1/agents/{agent}/findings", headers=h)).json()
    assert "CODE_EXECUTION_GRANT" in {f["rule_id"] for f in findings}

    # The grant's own override (API) beats the deployment's; without either, the classifier.
    r = await c.post(
        f"/api/v1/agents/{agent}/grants",
        json={"tool_name": "summarize", "override": {"capabilities": []}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["capabilities"] == [] and r.json()["is_dangerous"] is False
    r = await c.post(f"/api/v1/agents/{agent}/grants", json={"tool_name": "lookup"}, headers=h)
    assert r.json()["is_dangerous"] is False


def test_a_bad_override_stops_the_start_up() -> None:
    with pytest.raises(ValidationError, match="tool_overrides"):
        Settings(tool_overrides={"x": {"capabilities": ["teleport"]}})
