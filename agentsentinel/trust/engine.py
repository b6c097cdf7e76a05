"""The trust score: posture, behavior and freshness of evidence blended into one number.

Pure functions (no I/O); the worker and the API feed them what they know and store the result.

Posture score
    ``100 - Σ_severity Σ_i base[severity] · ratio^i`` over the agent's open and acknowledged
    findings of that severity, the i-th (0-based, in any order) costing ``ratio`` times the
    previous one; clamped to [0, 100]. With the defaults (CRITICAL 40, HIGH 20, MEDIUM 8, LOW 3,
    INFO 0, ratio 0.5) one HIGH costs 20, five HIGH cost 38.75, so "one" and "five" differ but
    five HIGH do not floor the score; one CRITICAL costs 40, three cost 70. Suppressed and
    resolved findings cost nothing.

Recency (freshness of evidence)
    100 while the agent's last event is at most ``fresh_for_s`` old, then falling linearly to 0
    at ``silent_after_s``; 0 for an agent that never reported. It saturates, so spamming cheap
    events cannot buy more than 100.

Trust
    ``w_p · posture + w_b · behavior + w_r · recency`` (weights normalised to sum 1), clamped to
    [0, 100]. The compatibility field ``recency_bonus`` is ``w_r · recency``.

Status bands with hysteresis
    TRUSTED ≥ 80, WATCH ≥ 60, ALERT ≥ 40, else CRITICAL. An agent leaves its current band only
    when the score passes the boundary by more than ``hysteresis`` points (an agent at WATCH
    becomes TRUSTED at > 82 and ALERT below 58), so a score wobbling on a boundary does not flap.
    An agent with insufficient evidence (no events, or fewer than the behavior engine needs to
    judge) is WATCH, flagged ``insufficient_evidence``, whatever its number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BANDS: tuple[tuple[str, float], ...] = (
    ("TRUSTED", 80.0),
    ("WATCH", 60.0),
    ("ALERT", 40.0),
    ("CRITICAL", float("-inf")),
)
_RANK = {name: i for i, (name, _) in enumerate(BANDS)}
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
COUNTED_STATUSES = frozenset({"OPEN", "ACKNOWLEDGED"})


@dataclass(frozen=True)
class TrustConfig:
    """Weights, penalties and thresholds (every value documented in the module docstring)."""

    weight_posture: float = 0.45
    weight_behavior: float = 0.45
    weight_recency: float = 0.10
    severity_penalty: Mapping[str, float] = field(
        default_factory=lambda: {"CRITICAL": 40.0, "HIGH": 20.0, "MEDIUM": 8.0, "LOW": 3.0}
    )
    repeat_ratio: float = 0.5
    hysteresis: float = 2.0
    fresh_for_s: float = 3600.0
    silent_after_s: float = 86_400.0

    def __post_init__(self) -> None:
        weights = (self.weight_posture, self.weight_behavior, self.weight_recency)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("trust weights must be non-negative and not all zero")
        if not 0.0 <= self.repeat_ratio < 1.0:
            raise ValueError("repeat_ratio must be in [0, 1)")
        if self.hysteresis < 0 or self.silent_after_s <= self.fresh_for_s:
            raise ValueError("hysteresis must be >= 0 and silent_after_s > fresh_for_s")

    @property
    def weights(self) -> dict[str, float]:
        total = self.weight_posture + self.weight_behavior + self.weight_recency
        return {
            "posture": self.weight_posture / total,
            "behavior": self.weight_behavior / total,
            "recency": self.weight_recency / total,
        }


@dataclass(frozen=True)
class FindingInput:
    """What the posture score needs to know about one finding."""

    rule_id: str
    severity: str
    status: str
    finding_id: str | None = None
    message: str = ""


@dataclass(frozen=True)
class PostureResult:
    score: float
    penalties: tuple[dict[str, Any], ...]  # per counted finding: rule, severity, penalty


def posture_score(findings: Iterable[FindingInput], config: TrustConfig) -> PostureResult:
    """100 minus diminishing per-severity penalties of open and acknowledged findings."""
    by_severity: dict[str, list[FindingInput]] = {}
    for finding in findings:
        if finding.status in COUNTED_STATUSES:
            by_severity.setdefault(finding.severity, []).append(finding)
    penalties: list[dict[str, Any]] = []
    total = 0.0
    for severity in SEVERITIES:
        base = config.severity_penalty.get(severity, 0.0)
        ranked = sorted(
            by_severity.get(severity, []), key=lambda f: (f.rule_id, f.finding_id or "")
        )
        for i, finding in enumerate(ranked):
            cost = base * config.repeat_ratio**i
            total += cost
            penalties.append(
                {
                    "finding_id": finding.finding_id,
                    "rule_id": finding.rule_id,
                    "severity": severity,
                    "penalty": round(cost, 4),
                    "message": finding.message,
                }
            )
    return PostureResult(max(0.0, 100.0 - total), tuple(penalties))


def recency(last_event_at: datetime | None, now: datetime, config: TrustConfig) -> float:
    """Freshness of evidence, 0-100 (see module docstring)."""
    if last_event_at is None:
        return 0.0
    idle = (now - last_event_at).total_seconds()
    if idle <= config.fresh_for_s:
        return 100.0
    if idle >= config.silent_after_s:
        return 0.0
    return 100.0 * (
        1.0 - (idle - config.fresh_for_s) / (config.silent_after_s - config.fresh_for_s)
    )


def band(score: float) -> str:
    """The band of a score, without hysteresis."""
    for name, floor in BANDS:
        if score >= floor:
            return name
    return BANDS[-1][0]  # pragma: no cover - the last floor is -inf


def band_with_hysteresis(score: float, previous: str | None, hysteresis: float) -> str:
    """The band, leaving ``previous`` only when the score passes its boundary by ``hysteresis``."""
    raw = band(score)
    if previous not in _RANK or raw == previous:
        return raw
    rank = _RANK[previous]
    floor = BANDS[rank][1]
    ceiling = BANDS[rank - 1][1] if rank > 0 else float("inf")
    if floor - hysteresis <= score < ceiling + hysteresis:
        return previous  # inside the band widened by the hysteresis margin: stay
    return raw


@dataclass(frozen=True)
class TrustResult:
    trust: float
    status: str
    posture: float
    behavior: float
    recency: float
    recency_bonus: float
    insufficient_evidence: bool
    breakdown: dict[str, Any]
    reasons: list[dict[str, Any]]


def blend(
    *,
    posture: PostureResult,
    behavior: float,
    behavior_alarms: Iterable[Mapping[str, Any]],
    behavior_insufficient: bool,
    last_event_at: datetime | None,
    previous_status: str | None,
    now: datetime,
    config: TrustConfig,
    max_reasons: int = 5,
) -> TrustResult:
    """The trust score, its status and the reasons that moved it."""
    weights = config.weights
    fresh = recency(last_event_at, now, config)
    trust = (
        weights["posture"] * posture.score
        + weights["behavior"] * behavior
        + weights["recency"] * fresh
    )
    trust = max(0.0, min(100.0, trust))
    insufficient = last_event_at is None or behavior_insufficient
    if insufficient:
        status = "WATCH"
    else:
        previous = None if previous_status not in _RANK else previous_status
        status = band_with_hysteresis(trust, previous, config.hysteresis)
    alarms = list(behavior_alarms)
    reasons: list[dict[str, Any]] = []
    for p in sorted(posture.penalties, key=lambda p: -float(p["penalty"])):
        reasons.append(
            {
                "source": "posture",
                "rule_id": p["rule_id"],
                "severity": p["severity"],
                "finding_id": p["finding_id"],
                "impact": round(weights["posture"] * float(p["penalty"]), 2),
                "detail": p["message"],
            }
        )
    for alarm in alarms:
        reasons.append(
            {
                "source": "behavior",
                "event_id": alarm.get("event_id"),
                "session_id": alarm.get("session_id"),
                "tool_name": alarm.get("tool_name"),
                "at": alarm.get("occurred_at"),
                "anomaly_score": alarm.get("anomaly_score"),
                "detail": alarm.get("detail", ""),
            }
        )
    if fresh < 100.0:
        reasons.append(
            {
                "source": "recency",
                "impact": round(weights["recency"] * (100.0 - fresh), 2),
                "detail": "no events yet"
                if last_event_at is None
                else f"last event {(now - last_event_at).total_seconds() / 3600:.1f} h ago",
            }
        )
    breakdown = {
        "weights": weights,
        "posture": {"score": posture.score, "penalties": list(posture.penalties)},
        "behavior": {"score": behavior, "alarms": alarms},
        "recency": {
            "score": fresh,
            "last_event_at": last_event_at.isoformat() if last_event_at else None,
        },
        "insufficient_evidence": insufficient,
        "hysteresis": config.hysteresis,
    }
    return TrustResult(
        trust=trust,
        status=status,
        posture=posture.score,
        behavior=behavior,
        recency=fresh,
        recency_bonus=weights["recency"] * fresh,
        insufficient_evidence=insufficient,
        breakdown=breakdown,
        reasons=reasons[:max_reasons],
    )
