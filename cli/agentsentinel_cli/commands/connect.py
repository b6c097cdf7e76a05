"""``sentinel scan --connect URL``: live trust data for agents registered on a server.

Agents match by exact name only (no fuzzy guessing). The API key goes in the ``X-API-Key``
header and is never printed; any connection, auth or protocol failure exits 3.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

from agentsentinel_cli._common import ExitCode, fail
from agentsentinel_cli.report.model import Report

PAGE_SIZE: Final = 500
MAX_PAGES: Final = 200
TIMEOUT_S: Final = 10.0
LIVE_FIELDS: Final = (
    "id",
    "status",
    "trust_score",
    "posture_score",
    "behavior_score",
    "last_scored_at",
)


def check_connect_args(url: str, api_key: str | None) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"--connect {url!r}: give the server's http(s) URL", ExitCode.USAGE)
    if not api_key:
        fail("--connect needs --api-key or AGENTSENTINEL_API_KEY", ExitCode.USAGE)


def _refuse(url: str, why: str) -> NoReturn:
    fail(f"--connect {url}: {why}", ExitCode.ERROR)


def fetch_agents(url: str, api_key: str) -> list[dict[str, Any]]:
    """Every agent the server lists (``GET /api/v1/agents``, paged by limit/offset)."""
    import httpx

    base = url.rstrip("/")
    agents: list[dict[str, Any]] = []
    try:
        with httpx.Client(
            base_url=base, headers={"X-API-Key": api_key}, timeout=TIMEOUT_S
        ) as client:
            for page in range(MAX_PAGES):
                resp = client.get(
                    "/api/v1/agents", params={"limit": PAGE_SIZE, "offset": page * PAGE_SIZE}
                )
                if resp.status_code in (401, 403):
                    _refuse(base, f"the API key was refused (HTTP {resp.status_code})")
                if resp.status_code != 200:
                    _refuse(base, f"GET /api/v1/agents answered HTTP {resp.status_code}")
                try:
                    batch = resp.json()
                except ValueError:
                    _refuse(base, "GET /api/v1/agents did not return JSON")
                if not isinstance(batch, list) or not all(isinstance(a, dict) for a in batch):
                    _refuse(base, "GET /api/v1/agents did not return a list of agents")
                agents.extend(batch)
                if len(batch) < PAGE_SIZE:
                    break
    except httpx.HTTPError as exc:
        _refuse(base, f"cannot reach the server ({type(exc).__name__})")
    return agents


def enrich(report: Report, url: str, api_key: str) -> Report:
    """Add ``details["agentsentinel"]`` (live fields) to agents registered under the same name."""
    by_name: dict[str, dict[str, Any]] = {}
    for agent in fetch_agents(url, api_key):
        name = agent.get("name")
        if isinstance(name, str) and name not in by_name:
            by_name[name] = agent
    agents = []
    matched = 0
    for a in report.agents:
        live = by_name.get(a.name)
        if live is None:
            agents.append(a)
            continue
        matched += 1
        extra = {k: live.get(k) for k in LIVE_FIELDS}
        agents.append(replace(a, details={**a.details, "agentsentinel": extra}))
    stats = {**report.stats, "connected_agents": matched}
    return replace(report, agents=tuple(agents), stats=stats)
