"""Behavior score: top-heavy, decayed, never a mean, recovers, not frozen by silence."""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise

from agentsentinel.behavior.behavior_score import penalty, severity
from tests.behavior._fleet import call, history, profile, trained, workday

AGENTS = ("a1", "a2", "a3", "a4")


def test_a_clean_agent_scores_high_and_an_unknown_agent_is_insufficient_evidence() -> None:
    detector, end = trained(AGENTS, days=14)
    clean = detector.behavior_score("a1", end)
    assert clean.score >= 95.0
    assert not clean.insufficient_evidence
    unknown = detector.behavior_score("nobody", end)
    assert unknown.score == 100.0
    assert unknown.insufficient_evidence


def test_top_heavy_aggregate_is_not_diluted_by_benign_volume() -> None:
    detector, end = trained(AGENTS, days=14)
    rng = random.Random(1)
    at = workday(end, 3.0)
    for i in range(3):  # three night sessions calling a tool nobody uses
        detector.process(call("a1", "delete_ticket", at + timedelta(minutes=10 * i), f"x{i}", rng))
    after_attack = detector.behavior_score("a1", at + timedelta(hours=1))
    # A thousand ordinary calls later the alarms still dominate (a mean would be ~100).
    for event in history(["a1"], days=3, seed=2, start=workday(end, 0.0)):
        detector.process(event)
    diluted = detector.behavior_score("a1", at + timedelta(hours=1))
    assert after_attack.score < 90.0
    assert abs(diluted.score - after_attack.score) < 5.0
    assert after_attack.alarms and after_attack.alarms[0].tool_name == "delete_ticket"


def test_score_recovers_smoothly_when_alarms_stop() -> None:
    detector, end = trained(AGENTS, days=14)
    rng = random.Random(3)
    at = workday(end, 3.0)
    detector.process(call("a1", "delete_ticket", at, "x", rng))
    scores = [detector.behavior_score("a1", at + timedelta(days=d)).score for d in range(0, 15)]
    assert scores[0] < 95.0
    assert all(b >= a for a, b in pairwise(scores))
    assert max(b - a for a, b in pairwise(scores)) < 10.0
    assert scores[-1] > 99.0


def test_penalty_is_top_heavy_and_bounded() -> None:
    assert penalty([1.0]) == 1.0
    assert penalty([1.0, 1.0]) < 2.0
    assert penalty([1.0] * 10_000) < 2.62  # bounded by zeta(1.5)
    assert penalty([0.9, 0.1]) > penalty([0.5, 0.5])
    assert severity(0.99, 0.999, 0.99999) == 0.0
    assert severity(0.99999, 0.999, 0.99999) == 1.0
    assert 0.0 < severity(0.9999, 0.999, 0.99999) < 1.0


def test_new_agent_profile_without_events_is_not_penalised() -> None:
    detector, end = trained(AGENTS, days=3)
    detector.upsert_profile(profile("fresh"))
    assert detector.behavior_score("fresh", end).score == 100.0
