"""An ungranted risky tool is a policy violation: quarantined and an alarm at any fleet size."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agentsentinel.behavior import AgentProfile, BehaviorEvent, Detector, DetectorConfig

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GRANTS = {"search_docs": frozenset({"reads_private_data"}), "summarize": frozenset()}
CAPS = {"drop_table": frozenset({"destructive"}), "format_date": frozenset()}


def _small_fleet() -> Detector:
    """One agent, a few hundred events: too little traffic to calibrate to the 0.999 level."""
    detector = Detector(
        replace(DetectorConfig(), capability_lookup=lambda t: CAPS.get(t, frozenset()))
    )
    detector.upsert_profile(AgentProfile("a", granted_tools=GRANTS))
    for n in range(300):
        detector.process(
            BehaviorEvent(
                "a",
                "search_docs" if n % 2 else "summarize",
                T0 + timedelta(minutes=5 * n),
                session_id=f"s{n // 6}",
                duration_ms=200 + n % 50,
            )
        )
    return detector


def _call(detector: Detector, tool: str, minutes: int) -> BehaviorEvent:
    return BehaviorEvent("a", tool, T0 + timedelta(minutes=minutes), session_id="late")


def test_ungranted_destructive_call_is_quarantined_and_alarmed() -> None:
    detector = _small_fleet()
    before = detector.behavior_score("a", T0 + timedelta(days=2)).score
    result = detector.process(_call(detector, "drop_table", 1600))
    assert result.quarantined
    assert any(r.signal == "ungranted_tool" for r in result.reasons)
    after = detector.behavior_score("a", T0 + timedelta(days=2))
    assert after.score < before and after.alarms[0].tool_name == "drop_table"
    # Not learned: the tool is not part of the agent's baseline, and stays as ungranted.
    tools = {t["tool"] for t in detector.agent_baseline_summary("a")["tools"]}
    assert "drop_table" not in tools
    again = detector.score(_call(detector, "drop_table", 1601))
    assert again.signals["ungranted_tool"] == pytest.approx(
        result.signals["ungranted_tool"], rel=1e-3
    )


def test_ungranted_harmless_tool_is_not_a_policy_violation() -> None:
    detector = _small_fleet()
    result = detector.process(_call(detector, "format_date", 1600))
    assert "ungranted_tool" in result.signals  # still reported as a signal
    assert not result.quarantined
    assert detector.behavior_score("a", T0 + timedelta(days=2)).alarms == ()
