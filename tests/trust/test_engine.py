"""The trust engine's formulas and bands, against hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentsentinel.trust.engine import (
    FindingInput,
    PostureResult,
    TrustConfig,
    band_with_hysteresis,
    blend,
    posture_score,
    recency,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CFG = TrustConfig()


def _findings(*specs: tuple[str, str]) -> list[FindingInput]:
    return [FindingInput(f"RULE_{i}", sev, status) for i, (sev, status) in enumerate(specs)]


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ((), 100.0),
        ((("HIGH", "OPEN"),), 80.0),
        # Five HIGH: 20 + 10 + 5 + 2.5 + 1.25 = 38.75 — worse than one, not zero.
        (tuple(("HIGH", "OPEN") for _ in range(5)), 61.25),
        # Three CRITICAL: 40 + 20 + 10.
        (tuple(("CRITICAL", "OPEN") for _ in range(3)), 30.0),
        # Acknowledged counts; suppressed and resolved do not.
        ((("MEDIUM", "ACKNOWLEDGED"), ("HIGH", "SUPPRESSED"), ("HIGH", "RESOLVED")), 92.0),
        # Severities are independent series: 40 + 20 + 8 + 3 + 1.5.
        (
            (
                ("CRITICAL", "OPEN"),
                ("HIGH", "OPEN"),
                ("MEDIUM", "OPEN"),
                ("LOW", "OPEN"),
                ("LOW", "OPEN"),
            ),
            27.5,
        ),
        # Ten CRITICAL: a geometric series, 40 · (1 - 0.5^10) / (1 - 0.5).
        (tuple(("CRITICAL", "OPEN") for _ in range(10)), 100.0 - 80.0 * (1 - 0.5**10)),
    ],
)
def test_posture_score_diminishing_penalties(
    specs: tuple[tuple[str, str], ...], expected: float
) -> None:
    assert posture_score(_findings(*specs), CFG).score == pytest.approx(expected)


def test_posture_score_clamps_at_zero() -> None:
    harsh = TrustConfig(severity_penalty={"CRITICAL": 90.0}, repeat_ratio=0.9)
    findings = _findings(*(("CRITICAL", "OPEN") for _ in range(4)))
    assert posture_score(findings, harsh).score == 0.0


@pytest.mark.parametrize(
    ("idle_h", "expected"),
    [(None, 0.0), (0.0, 100.0), (1.0, 100.0), (12.5, 50.0), (24.0, 0.0), (48.0, 0.0)],
)
def test_recency_is_freshness_of_evidence(idle_h: float | None, expected: float) -> None:
    last = None if idle_h is None else NOW - timedelta(hours=idle_h)
    assert recency(last, NOW, CFG) == pytest.approx(expected)


def _blend(
    posture: float,
    behavior: float,
    idle_h: float | None,
    previous: str | None = None,
    insufficient: bool = False,
) -> object:
    return blend(
        posture=PostureResult(posture, ()),
        behavior=behavior,
        behavior_alarms=[],
        behavior_insufficient=insufficient,
        last_event_at=None if idle_h is None else NOW - timedelta(hours=idle_h),
        previous_status=previous,
        now=NOW,
        config=CFG,
    )


def test_blend_matches_the_documented_formula() -> None:
    r = _blend(80.0, 90.0, 0.5)
    assert r.trust == pytest.approx(0.45 * 80 + 0.45 * 90 + 0.10 * 100)  # 86.5
    assert r.status == "TRUSTED" and r.recency_bonus == pytest.approx(10.0)
    r = _blend(70.0, 40.0, 12.5)
    assert r.trust == pytest.approx(0.45 * 70 + 0.45 * 40 + 0.10 * 50)  # 54.5
    assert r.status == "ALERT"
    r = _blend(20.0, 30.0, 30.0)
    assert r.trust == pytest.approx(22.5) and r.status == "CRITICAL"


def test_weights_are_normalised() -> None:
    cfg = TrustConfig(weight_posture=1.0, weight_behavior=1.0, weight_recency=0.0)
    assert cfg.weights == {"posture": 0.5, "behavior": 0.5, "recency": 0.0}
    with pytest.raises(ValueError):
        TrustConfig(weight_posture=0, weight_behavior=0, weight_recency=0)
    with pytest.raises(ValueError):
        TrustConfig(repeat_ratio=1.0)


def test_insufficient_evidence_is_watch_whatever_the_number() -> None:
    never = _blend(100.0, 100.0, None)
    assert never.insufficient_evidence and never.status == "WATCH"
    assert never.trust == pytest.approx(90.0)
    young = _blend(100.0, 100.0, 0.1, insufficient=True)
    assert young.status == "WATCH" and young.insufficient_evidence


@pytest.mark.parametrize(
    ("previous", "score", "expected"),
    [
        ("WATCH", 81.0, "WATCH"),  # inside the 2-point margin above 80
        ("WATCH", 82.5, "TRUSTED"),
        ("WATCH", 58.5, "WATCH"),
        ("WATCH", 57.9, "ALERT"),
        ("TRUSTED", 78.5, "TRUSTED"),
        ("TRUSTED", 77.9, "WATCH"),
        ("CRITICAL", 41.0, "CRITICAL"),
        ("CRITICAL", 42.1, "ALERT"),
        ("ALERT", 30.0, "CRITICAL"),  # a big move crosses at once
        (None, 81.0, "TRUSTED"),  # no history: plain bands
    ],
)
def test_band_hysteresis(previous: str | None, score: float, expected: str) -> None:
    assert band_with_hysteresis(score, previous, 2.0) == expected


def test_a_score_wobbling_on_a_boundary_does_not_flap() -> None:
    status = "WATCH"
    changes = 0
    for score in (79.0, 80.5, 79.5, 81.0, 79.2, 81.5, 80.1):
        new = band_with_hysteresis(score, status, 2.0)
        changes += new != status
        status = new
    assert changes == 0
    assert band_with_hysteresis(0.0, status, 0.0) == "CRITICAL"


def test_reasons_name_what_moved_the_score() -> None:
    findings = [
        FindingInput("LETHAL_TRIFECTA", "CRITICAL", "OPEN", "f1", "private data + web + email"),
        FindingInput("MISSING_RATE_LIMIT", "LOW", "OPEN", "f2", "no rate limit"),
    ]
    r = blend(
        posture=posture_score(findings, CFG),
        behavior=70.0,
        behavior_alarms=[{"event_id": "e1", "detail": "ungranted tool", "anomaly_score": 0.999}],
        behavior_insufficient=False,
        last_event_at=NOW - timedelta(hours=6),
        previous_status="WATCH",
        now=NOW,
        config=CFG,
    )
    assert [x["source"] for x in r.reasons] == ["posture", "posture", "behavior", "recency"]
    assert r.reasons[0]["rule_id"] == "LETHAL_TRIFECTA"
    assert r.reasons[0]["impact"] == pytest.approx(0.45 * 40)
    assert r.breakdown["posture"]["score"] == pytest.approx(57.0)
    assert r.breakdown["behavior"]["alarms"][0]["event_id"] == "e1"
