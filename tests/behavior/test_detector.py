"""Detector contracts: bounds, monotonicity, determinism, state round-trip, quarantine, peers."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentsentinel.behavior import (
    AgentProfile,
    BehaviorEvent,
    Detector,
    DetectorConfig,
    ScoreResult,
    StateVersionError,
)
from tests.behavior._fleet import T0, call, h, history, profile, trained, workday

AGENTS = ("a1", "a2", "a3", "a4")


@st.composite
def event_streams(draw: st.DrawFn, max_size: int = 60) -> list[BehaviorEvent]:
    """Arbitrary (but valid) event streams: a few agents and tools, gaps, late events, errors."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    t = T0
    events = []
    for _ in range(n):
        step = draw(st.sampled_from([0.0, 0.5, 3.0, 60.0, 1800.0, 86_400.0, -600.0]))
        t = t + timedelta(seconds=step)
        agent = draw(st.sampled_from(["a1", "a2", "x9"]))
        tool = draw(st.sampled_from(["read_ticket", "search_kb", "send_email", "odd_tool"]))
        error = draw(st.booleans())
        events.append(
            BehaviorEvent(
                agent_id=agent,
                tool_name=tool,
                occurred_at=t,
                session_id=draw(st.sampled_from([None, "s1", "s2"])),
                input_hash=draw(st.sampled_from([None, h(1), h(2)])),
                output_hash=draw(st.sampled_from([None, h(3), h(4)])),
                duration_ms=draw(st.one_of(st.none(), st.integers(0, 86_400_000))),
                status="error" if error else "ok",
                error_type=draw(st.sampled_from([None, "timeout"])) if error else None,
                input_bytes=draw(st.one_of(st.none(), st.integers(0, 10**9))),
                output_bytes=draw(st.one_of(st.none(), st.integers(0, 10**9))),
                target_hash=draw(st.sampled_from([None, h("t1"), h("t2")])),
                tool_definition_hash=draw(st.sampled_from([None, h("d1"), h("d2")])),
                metrics=draw(
                    st.dictionaries(
                        st.sampled_from(["amount", "rows"]),
                        st.floats(-1e12, 1e12, allow_nan=False),
                        max_size=2,
                    )
                ),
            )
        )
    return events


def _payload(blob: bytes) -> bytes:
    import zlib

    return zlib.decompress(blob[6:])


def _new_detector() -> Detector:
    detector = Detector()
    detector.upsert_profile(profile("a1"))
    detector.upsert_profile(profile("a2", tools=["read_ticket", "search_kb"]))
    return detector


def _same(a: ScoreResult, b: ScoreResult) -> bool:
    return (
        a.anomaly_score == b.anomaly_score
        and a.raw_p == b.raw_p
        and a.quarantined == b.quarantined
        and dict(a.signals) == dict(b.signals)
        and a.reasons == b.reasons
    )


@given(event_streams())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_scores_are_probabilities(events: list[BehaviorEvent]) -> None:
    detector = _new_detector()
    for event in events:
        result = detector.process(event)
        assert 0.0 <= result.anomaly_score <= 1.0
        assert 0.0 < result.raw_p <= 1.0
        assert all(0.0 < p <= 1.0 for p in result.signals.values())


@given(event_streams(), st.integers(min_value=0, max_value=60))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_state_round_trip_gives_identical_scores(events: list[BehaviorEvent], cut: int) -> None:
    cut = min(cut, len(events))
    original = _new_detector()
    for event in events[:cut]:
        original.process(event)
    restored = Detector()
    restored.upsert_profile(profile("a1"))
    restored.upsert_profile(profile("a2", tools=["read_ticket", "search_kb"]))
    restored.import_shared_state(original.export_shared_state())
    for agent_id in {e.agent_id for e in events[:cut]}:
        restored.import_agent_state(agent_id, original.export_agent_state(agent_id))
    for event in events[cut:]:
        assert _same(original.process(event), restored.process(event))


def test_replaying_the_same_history_gives_the_same_scores() -> None:
    events = history(AGENTS, days=10, seed=4)
    runs = []
    for _ in range(2):
        detector = Detector()
        for agent_id in AGENTS:
            detector.upsert_profile(profile(agent_id))
        runs.append([detector.process(e) for e in events])
    assert all(_same(a, b) for a, b in zip(*runs, strict=True))


def test_score_is_a_pure_what_if() -> None:
    detector, end = trained(AGENTS, days=5)
    before = (detector.export_agent_state("a1"), detector.export_shared_state())
    rng = random.Random(1)
    for tool in ("read_ticket", "drop_everything"):
        detector.score(call("a1", tool, workday(end), "w", rng))
    detector.score(call("nobody", "read_ticket", workday(end), "w", rng))
    assert (detector.export_agent_state("a1"), detector.export_shared_state()) == before


@given(st.integers(min_value=1_000, max_value=10**8), st.integers(min_value=1_000, max_value=10**8))
@settings(max_examples=40, deadline=None)
def test_magnitude_p_is_monotone_in_the_value(x: int, y: int) -> None:
    detector = _monotone_fixture()
    rng = random.Random(2)
    at = workday(T0 + timedelta(days=10))
    lo, hi = sorted((x, y))
    p_lo = detector.score(call("a1", "read_ticket", at, "m", rng, input_bytes=lo))
    p_hi = detector.score(call("a1", "read_ticket", at, "m", rng, input_bytes=hi))
    assert p_hi.signals["magnitude.input_bytes"] <= p_lo.signals["magnitude.input_bytes"] + 1e-12


_MONOTONE: list[Detector] = []


def _monotone_fixture() -> Detector:
    if not _MONOTONE:
        _MONOTONE.append(trained(AGENTS, days=10)[0])
    return _MONOTONE[0]


def test_more_calls_in_a_burst_never_look_less_anomalous() -> None:
    detector, end = trained(AGENTS, days=10)
    rng = random.Random(3)
    at = workday(end)
    previous = 1.0
    for i in range(120):
        at_i = at + timedelta(seconds=i / 2)
        result = detector.process(call("a1", "read_ticket", at_i, "b", rng))
        # (the floor 1/(n+1) drifts by parts per million as the clock ages the evidence)
        assert result.signals["rate.60s"] <= previous * (1 + 1e-6)
        previous = result.signals["rate.60s"]


def test_agent_state_is_bounded_with_fifty_tools() -> None:
    detector = Detector()
    tools = [f"tool_{i:02d}" for i in range(50)]
    detector.upsert_profile(profile("a1", tools=tools))
    rng = random.Random(4)
    at = T0
    for i in range(20_000):
        tool = tools[min(int(rng.paretovariate(0.8)) - 1, 49)]
        at += timedelta(seconds=rng.expovariate(1 / 90))
        detector.process(
            call(
                "a1",
                tool,
                at,
                f"s{i // 6}",
                rng,
                target_hash=h("t", tool, rng.randrange(40)),
                metrics={"amount": rng.random() * 100, "rows": rng.random() * 1e4},
            )
        )
    size = len(detector.export_agent_state("a1"))
    assert size <= 64 * 1024, size


def test_blobs_are_versioned_and_checked() -> None:
    detector, _ = trained(AGENTS, days=2)
    blob = detector.export_agent_state("a1")
    assert blob[:4] == b"ASBA"
    other = Detector()
    with pytest.raises(StateVersionError):
        other.import_agent_state("a1", blob[:4] + b"\x00\x63" + blob[6:])
    # Version 1 measured silence gaps in expected calls, version 2 in days of missed activity:
    # an old checkpoint must be refused rather than misread.
    assert blob[4:6] == b"\x00\x02"
    with pytest.raises(StateVersionError):
        other.import_agent_state("a1", blob[:4] + b"\x00\x01" + blob[6:])
    with pytest.raises(StateVersionError):
        other.import_agent_state("a1", detector.export_shared_state())
    with pytest.raises(ValueError):
        other.import_agent_state("a2", blob)
    with pytest.raises(StateVersionError):
        other.import_shared_state(b"ASBS\x00\x01not zlib")
    with pytest.raises(KeyError):
        detector.export_agent_state("unknown")


def test_an_attack_burst_does_not_normalise_itself() -> None:
    """Quarantined events are not learned: the second burst is as loud as the first.

    A four-agent, two-week fleet supports anomaly scores up to ~0.995 only, so the quarantine
    threshold is set at 0.99 here (the mechanism, not the default, is under test).
    """
    rng = random.Random(5)
    results = {}
    for name, threshold in (("quarantine", 0.99), ("no quarantine", 1.0)):
        config = DetectorConfig(quarantine_threshold=threshold)
        detector, end = trained(AGENTS, days=14, config=config)
        at = workday(end)
        for burst in range(2):
            start = at + timedelta(hours=2 * burst)
            last = None
            for i in range(200):
                last = detector.process(
                    call("a1", "delete_ticket", start + timedelta(seconds=i / 2), f"b{burst}", rng)
                )
            results[(name, burst)] = last
    guarded = results[("quarantine", 1)]
    naive = results[("no quarantine", 1)]
    assert guarded is not None and naive is not None
    assert guarded.quarantined
    assert guarded.signals["tool_rarity"] < 0.01
    # Without quarantine the attack's own calls teach the model that delete_ticket is normal.
    assert naive.signals["tool_rarity"] > 10 * guarded.signals["tool_rarity"]


def test_a_persistent_new_task_is_eventually_learned() -> None:
    detector, end = trained(AGENTS, days=14, config=DetectorConfig(quarantine_threshold=0.99))
    rng = random.Random(6)
    first = last = None
    for day in range(3):
        for n in range(8):
            at = workday(end + timedelta(days=day), 9 + n)
            last = detector.process(call("a1", "delete_ticket", at, f"t{day}-{n}", rng))
            first = first or last
    assert first is not None and last is not None
    assert first.quarantined
    assert not last.quarantined
    assert last.signals["tool_rarity"] > 10 * first.signals["tool_rarity"]


def test_brand_new_agent_doing_what_its_peers_do_is_not_anomalous() -> None:
    detector, end = trained(AGENTS, days=14)
    detector.upsert_profile(profile("newbie"))
    rng = random.Random(7)
    worst = 0.0
    for event in history(["newbie"], days=3, seed=8, start=end):
        worst = max(worst, detector.process(event).anomaly_score)
    assert worst < 0.99
    nobody = detector.score(
        call("newbie", "exfiltrate_all", workday(end + timedelta(days=3)), "x", rng)
    )
    assert nobody.anomaly_score > 0.95
    assert nobody.signals["tool_rarity"] < 0.01


def test_late_events_are_scored_and_never_move_the_clock_back() -> None:
    detector, end = trained(AGENTS, days=7)
    rng = random.Random(9)
    at = workday(end)
    detector.process(call("a1", "read_ticket", at, "now", rng))
    clock = detector.behavior_score("a1", at).last_event_at
    late = detector.process(call("a1", "read_ticket", at - timedelta(hours=5), "late", rng))
    assert 0.0 <= late.anomaly_score <= 1.0
    assert "rate.10s" not in late.signals  # a late event is not rate-scored
    assert detector.behavior_score("a1", at).last_event_at == clock


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError):
        BehaviorEvent(agent_id="a", tool_name="t", occurred_at=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        BehaviorEvent(agent_id="a", tool_name="t", occurred_at=T0, status="weird")


def test_reasons_explain_the_top_signals() -> None:
    detector, end = trained(AGENTS, days=14)
    result = detector.score(call("a1", "delete_ticket", workday(end, 3.0), "n", random.Random(1)))
    signals = [reason.signal for reason in result.reasons]
    assert "tool_rarity" in signals
    assert all(reason.p_value <= 0.05 for reason in result.reasons)
    rarity = next(r for r in result.reasons if r.signal == "tool_rarity")
    assert "delete_ticket" in rarity.detail
    json.dumps(result.to_dict())


def test_baseline_summary_is_json() -> None:
    detector, _ = trained(AGENTS, days=7)
    summary = detector.agent_baseline_summary("a1")
    text = json.dumps(summary)
    assert summary["maturity"]["mature"] is True
    assert {t["tool"] for t in summary["tools"]} >= {"read_ticket", "search_kb"}
    assert "duration_ms" in summary["tools"][0]
    assert summary["transitions"]
    assert len(summary["time_of_day"]["weekday_utc"]) == 24
    assert "unknown" not in text
    empty = detector.agent_baseline_summary("nobody")
    assert empty["maturity"]["mature"] is False
    json.dumps(empty)


def test_profiles_define_peer_groups_and_grants() -> None:
    detector = Detector()
    detector.upsert_profile(profile("a1"))
    detector.upsert_profile(AgentProfile(agent_id="b1", agent_type="coding_agent"))
    a1 = detector.agent_baseline_summary("a1")["peer_group"]
    b1 = detector.agent_baseline_summary("b1")["peer_group"]
    assert a1 != b1
    detector.forget_agent("a1")
    assert detector.agent_baseline_summary("a1")["maturity"]["events_seen"] == 0


def test_forward_decay_renormalises_without_changing_scores_meaningfully() -> None:
    """Weights are rescaled every 24 half-lives; scores stay probabilities and comparable."""
    config = DetectorConfig(half_life_days=1.0)
    detector = Detector(config)
    for agent_id in AGENTS:
        detector.upsert_profile(profile(agent_id))
    events = history(AGENTS, days=40, seed=11)
    landmarks = set()
    for event in events:
        result = detector.process(event)
        assert 0.0 <= result.anomaly_score <= 1.0
        if event.agent_id == "a1":
            landmarks.add(json.loads(_payload(detector.export_agent_state("a1")))["lm"])
    assert len(landmarks) >= 2  # the landmark moved: a renormalisation happened
    blob = detector.export_agent_state("a1")
    copy = Detector(config)
    copy.upsert_profile(profile("a1"))
    copy.import_shared_state(detector.export_shared_state())
    copy.import_agent_state("a1", blob)
    probe = call("a1", "read_ticket", workday(T0 + timedelta(days=41)), "p", random.Random(1))
    assert _same(detector.score(probe), copy.score(probe))
