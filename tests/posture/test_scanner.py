"""The server's posture scanner (services/posture.py) against a real database, both backends.

Time is driven through ``now``; the database and the API are real (the ``server`` fixture).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from agentsentinel.db.types import utcnow
from agentsentinel.models import Agent, Finding, Suppression
from agentsentinel.schemas.finding import FindingUpdate
from agentsentinel.services import findings, posture
from agentsentinel.trust.engine import FindingInput, TrustConfig, posture_score
from tests.conftest import Server

RUN_PYTHON = {
    "tool_name": "run_python",
    "description": "Executes arbitrary Python code and returns the output.",
    "rate_limit_per_hour": 10,
}


async def _agent_with(server: Server, *grants: dict[str, Any]) -> uuid.UUID:
    c, h = server.client, server.headers()
    agent = await c.post("/api/v1/agents", json={"name": "bot", "description": "x"}, headers=h)
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    for grant in grants:
        r = await c.post(f"/api/v1/agents/{agent_id}/grants", json=grant, headers=h)
        assert r.status_code in (200, 201), r.text
    return uuid.UUID(agent_id)


async def _scan(server: Server, agent_id: uuid.UUID, **kw: Any) -> posture.ScanResult:
    async with server.runtime.sessions() as session, session.begin():
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        return await posture.scan_agent(session, agent, **kw)


async def _findings(server: Server, agent_id: uuid.UUID, rule_id: str) -> list[Finding]:
    async with server.runtime.sessions() as session:
        rows = await session.execute(
            select(Finding).where(Finding.agent_id == agent_id, Finding.rule_id == rule_id)
        )
        return list(rows.scalars())


async def _one(server: Server, agent_id: uuid.UUID, rule_id: str) -> Finding:
    rows = await _findings(server, agent_id, rule_id)
    assert len(rows) == 1, [(f.rule_id, f.status) for f in rows]
    return rows[0]


async def _agent(server: Server, agent_id: uuid.UUID) -> Agent:
    async with server.runtime.sessions() as session:
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        return agent


async def test_rescans_refresh_the_same_rows(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON)
    first = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert first.finding_type == "POSTURE" and first.severity == "CRITICAL"
    assert first.remediation and "ASI05" in first.tags
    async with server.runtime.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(Finding))).scalar_one()
    later = utcnow() + timedelta(minutes=5)
    result = await _scan(server, agent_id, now=later)
    again = await _scan(server, agent_id, now=later + timedelta(minutes=5))
    assert result.opened == [] and again.opened == [] and again.resolved == []
    refreshed = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert refreshed.id == first.id
    assert refreshed.last_seen_at == later + timedelta(minutes=5)
    assert refreshed.first_seen_at == first.first_seen_at
    async with server.runtime.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Finding))).scalar_one() == (
            count
        )


async def test_acknowledged_stays_until_it_expires(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON)
    finding = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    until = utcnow() + timedelta(hours=1)
    async with server.runtime.sessions() as session, session.begin():
        row = await session.get(Finding, finding.id)
        assert row is not None
        await findings.update_status(
            session, row, FindingUpdate(status="ACKNOWLEDGED", until=until), "key:ops"
        )
    await _scan(server, agent_id, now=until - timedelta(minutes=1))
    assert (await _one(server, agent_id, "CODE_EXECUTION_GRANT")).status == "ACKNOWLEDGED"
    # Acknowledged findings still count in the posture score.
    assert (await _agent(server, agent_id)).posture_score == 60.0
    result = await _scan(server, agent_id, now=until + timedelta(minutes=1))
    reopened = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert reopened.id == finding.id and reopened.status == "OPEN"
    assert result.reopened == [finding.id]
    assert [(h["from"], h["to"]) for h in reopened.history] == [
        (None, "OPEN"),
        ("OPEN", "ACKNOWLEDGED"),
        ("ACKNOWLEDGED", "OPEN"),
    ]


async def test_operator_suppression_until_is_kept_then_reopens(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON)
    finding = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    until = utcnow() + timedelta(days=1)
    async with server.runtime.sessions() as session, session.begin():
        row = await session.get(Finding, finding.id)
        assert row is not None
        await findings.update_status(
            session,
            row,
            FindingUpdate(status="SUPPRESSED", reason="sandboxed", until=until),
            "key:ops",
        )
    await _scan(server, agent_id, now=until - timedelta(hours=1))
    kept = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert (kept.status, kept.status_by, kept.status_reason) == (
        "SUPPRESSED",
        "key:ops",
        "sandboxed",
    )
    assert (await _agent(server, agent_id)).posture_score == 100.0
    await _scan(server, agent_id, now=until + timedelta(hours=1))
    assert (await _one(server, agent_id, "CODE_EXECUTION_GRANT")).status == "OPEN"
    assert (await _agent(server, agent_id)).posture_score == 60.0


async def test_suppression_row_hides_the_finding_until_it_expires(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON, {"tool_name": "search_docs"})
    finding = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    now = utcnow()
    async with server.runtime.sessions() as session, session.begin():
        # A suppression for another tool does not apply; this one does.
        session.add_all(
            [
                Suppression(
                    rule_id="CODE_EXECUTION_GRANT", tool_name="search_docs", reason="other tool"
                ),
                Suppression(
                    rule_id="CODE_EXECUTION_GRANT",
                    agent_id=agent_id,
                    tool_name="run_python",
                    reason="runs in a sandbox",
                    created_by="key:ops",
                    expires_at=now + timedelta(hours=1),
                ),
            ]
        )
    result = await _scan(server, agent_id, now=now)
    hidden = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert result.suppressed == [finding.id]
    assert hidden.status == "SUPPRESSED" and hidden.status_reason == "runs in a sandbox"
    assert hidden.suppressed_until == now + timedelta(hours=1)
    assert hidden.history[-1]["to"] == "SUPPRESSED"
    assert hidden.history[-1]["by"].startswith("suppression:")
    agent = await _agent(server, agent_id)
    assert agent.posture_score == 100.0  # the suppressed CRITICAL costs nothing
    # A second scan inside the window changes nothing (no history entry per scan).
    await _scan(server, agent_id, now=now + timedelta(minutes=30))
    assert len((await _one(server, agent_id, "CODE_EXECUTION_GRANT")).history) == 2
    result = await _scan(server, agent_id, now=now + timedelta(hours=2))
    back = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert back.id == finding.id and back.status == "OPEN"
    assert result.reopened == [finding.id]
    assert (await _agent(server, agent_id)).posture_score == 60.0


async def test_deleting_a_suppression_row_reopens_on_the_next_scan(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON)
    async with server.runtime.sessions() as session, session.begin():
        row = Suppression(rule_id="CODE_EXECUTION_GRANT", reason="accepted risk")
        session.add(row)
    await _scan(server, agent_id)
    assert (await _one(server, agent_id, "CODE_EXECUTION_GRANT")).status == "SUPPRESSED"
    async with server.runtime.sessions() as session, session.begin():
        await session.delete(await session.get(Suppression, row.id))
    await _scan(server, agent_id)
    reopened = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert reopened.status == "OPEN" and reopened.history[-1]["from"] == "SUPPRESSED"


async def test_cleared_condition_resolves_and_recurrence_reopens(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON)
    finding = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    c, h = server.client, server.headers()
    grants = (await c.get(f"/api/v1/agents/{agent_id}", headers=h)).json()["grants"]
    assert (await c.delete(f"/api/v1/grants/{grants[0]['id']}", headers=h)).status_code == 204
    resolved = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert resolved.status == "RESOLVED" and resolved.resolved_by == "scanner"
    assert resolved.resolved_at is not None
    assert [(e["from"], e["to"]) for e in resolved.history][-1] == ("OPEN", "RESOLVED")
    r = await c.post(f"/api/v1/agents/{agent_id}/grants", json=RUN_PYTHON, headers=h)
    assert r.status_code == 201
    back = await _one(server, agent_id, "CODE_EXECUTION_GRANT")
    assert back.id == finding.id and back.status == "OPEN" and back.resolved_by is None
    assert [(e["from"], e["to"]) for e in back.history] == [
        (None, "OPEN"),
        ("OPEN", "RESOLVED"),
        ("RESOLVED", "OPEN"),
    ]


async def test_behavior_findings_are_left_alone(server: Server) -> None:
    agent_id = await _agent_with(server, RUN_PYTHON)
    async with server.runtime.sessions() as session, session.begin():
        await findings.observe(
            session,
            agent_id=agent_id,
            rule_id="AGENT_SILENT",
            finding_type="BEHAVIOR",
            severity="MEDIUM",
            message="silent",
            evidence={},
        )
    await _scan(server, agent_id)
    assert (await _one(server, agent_id, "AGENT_SILENT")).status == "OPEN"


async def test_definition_pin_survives_rescans_and_resolving_repins(server: Server) -> None:
    agent_id = await _agent_with(server, {"tool_name": "lookup", "description": "Looks up a city."})
    c, h = server.client, server.headers()
    changed = {"tool_name": "lookup", "description": "Looks up a city and its weather."}
    assert (
        await c.post(f"/api/v1/agents/{agent_id}/grants", json=changed, headers=h)
    ).status_code == 200
    finding = await _one(server, agent_id, "TOOL_DEFINITION_CHANGED")
    assert finding.status == "OPEN"
    await _scan(server, agent_id)  # no transient pin: the finding keeps the approved hash
    assert (await _one(server, agent_id, "TOOL_DEFINITION_CHANGED")).status == "OPEN"
    r = await c.patch(
        f"/api/v1/findings/{finding.id}", json={"status": "RESOLVED", "reason": "ok"}, headers=h
    )
    assert r.status_code == 200
    await _scan(server, agent_id)
    assert (await _one(server, agent_id, "TOOL_DEFINITION_CHANGED")).status == "RESOLVED"


async def test_posture_breakdown_matches_the_engine(server: Server) -> None:
    agent_id = await _agent_with(
        server,
        RUN_PYTHON,
        {**RUN_PYTHON, "tool_name": "run_shell", "description": "Runs a shell command."},
    )
    score = (
        await server.client.get(f"/api/v1/agents/{agent_id}/score", headers=server.headers())
    ).json()
    penalties = score["breakdown"]["posture"]["penalties"]
    params = score["breakdown"]["posture"]["parameters"]
    assert params["repeat_ratio"] == 0.5 and params["severity_penalty"]["CRITICAL"] == 40.0
    rows = [
        f for rule in ("CODE_EXECUTION_GRANT",) for f in await _findings(server, agent_id, rule)
    ]
    assert {p["finding_id"] for p in penalties} >= {str(f.id) for f in rows}
    assert sorted(p["penalty"] for p in penalties if p["rule_id"] == "CODE_EXECUTION_GRANT") == [
        20.0,
        40.0,
    ]
    async with server.runtime.sessions() as session:
        counted = (
            await session.execute(select(Finding).where(Finding.agent_id == agent_id))
        ).scalars()
        expected = posture_score(
            [FindingInput(f.rule_id, f.severity, f.status, str(f.id)) for f in counted],
            TrustConfig(),
        )
    assert score["posture_score"] == expected.score
    assert 100.0 - sum(p["penalty"] for p in penalties) == expected.score
    history = (
        await server.client.get(
            f"/api/v1/agents/{agent_id}/score/history", headers=server.headers()
        )
    ).json()
    assert history[0]["breakdown"]["posture"]["penalties"] == penalties


async def _add_events(server: Server, agent_id: uuid.UUID, calls: list[tuple[str, Any]]) -> None:
    from agentsentinel.models import AgentEvent

    async with server.runtime.sessions() as session, session.begin():
        for n, (tool, ts) in enumerate(calls):
            digest = f"{n:064x}"
            session.add(
                AgentEvent(
                    id=uuid.uuid4(),
                    agent_id=agent_id,
                    tool_name=tool,
                    ts=ts,
                    received_at=ts,
                    input_hash=digest,
                    output_hash=digest,
                )
            )


async def test_ungranted_uses_read_only_ungranted_names_in_the_window(
    server: Server, monkeypatch: Any
) -> None:
    """The skip scan over distinct names and the one-pass aggregate give the same answer."""
    now = utcnow()
    agent_id = await _agent_with(server, {"tool_name": "search"})
    old = now - posture.UNGRANTED_WINDOW - timedelta(hours=1)
    calls: list[tuple[str, Any]] = [("search", now - timedelta(minutes=m)) for m in range(30)]
    calls += [("a_rogue", now - timedelta(hours=2)), ("a_rogue", now - timedelta(hours=1))]
    calls += [("a_long_ago", old), ("z_last", now - timedelta(days=3))]
    # More candidate names than one chunk, and more than the report keeps.
    calls += [
        (f"m_tool_{i:03d}", now - timedelta(days=1)) for i in range(posture._CANDIDATE_CHUNK + 5)
    ]
    await _add_events(server, agent_id, calls)

    async def uses() -> list[tuple[str, int]]:
        async with server.runtime.sessions() as session:
            found = await posture._ungranted_uses(session, agent_id, {"search"}, now, None)
            return [(u.tool, u.count) for u in found]

    skip_scan = await uses()
    monkeypatch.setattr(posture, "_DISTINCT_TOOLS_CAP", 3)  # forces the one-pass aggregate
    assert await uses() == skip_scan
    assert skip_scan[0] == ("a_rogue", 2)
    assert len(skip_scan) == posture.UNGRANTED_TOOLS_LIMIT
    assert skip_scan[1:] == [
        (f"m_tool_{i:03d}", 1) for i in range(posture.UNGRANTED_TOOLS_LIMIT - 1)
    ]
    names = {tool for tool, _ in skip_scan}
    assert "search" not in names and "a_long_ago" not in names
