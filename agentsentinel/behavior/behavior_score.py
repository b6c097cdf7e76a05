"""Behavior score: a decayed, top-heavy aggregate of an agent's anomalous sessions.

Never the mean of event scores (benign volume would dilute real alarms). Each session (or
session-less event) whose best anomaly score reaches ``alarm_threshold`` is an *alarm* with a
severity in ``[0, 1]`` growing with ``-log10(1 - score)`` between the threshold and
``alarm_saturation`` (0.999 → 0, 0.9999 → ½, 0.99999 → 1 by default). At time ``now`` its
contribution is ``severity * 2^(-(now - t) / behavior_half_life)``; contributions are sorted in
decreasing order and summed with weights ``1 / i^1.5``, so the worst alarm counts fully, the next
ones less and less (the series is bounded by ζ(1.5) ≈ 2.61: no amount of repetition turns one
kind of event into an unbounded penalty, and a few real alarms dominate any benign volume):

    penalty = sum_i c_(i) / i^1.5,        score = 100 * exp(-behavior_penalty_rate * penalty).

The score recovers smoothly as alarms age (it is computed for the ``now`` the caller passes, so
a silent agent's score is not frozen: its evidence ages out, and the silence itself is reported
separately). The ledger keeps the ``max_alarms`` alarms with the highest decayed severity, ordered
by a forward-decay key, so it is bounded and per-alarm work is O(max_alarms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class Alarm:
    """One alarm in the ledger."""

    key: str
    t: float
    score: float
    severity: float
    tool: str
    session_id: str | None
    event_id: str | None
    signals: tuple[str, ...]
    detail: str

    def to_json(self) -> list[object]:
        """Compact list form."""
        return [
            self.key,
            self.t,
            self.score,
            self.severity,
            self.tool,
            self.session_id,
            self.event_id,
            list(self.signals),
            self.detail,
        ]

    @classmethod
    def from_json(cls, data: object) -> Alarm:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 9 or not isinstance(data[7], list):
            raise ValueError("malformed alarm")
        return cls(
            key=str(data[0]),
            t=float(data[1]),
            score=float(data[2]),
            severity=float(data[3]),
            tool=str(data[4]),
            session_id=None if data[5] is None else str(data[5]),
            event_id=None if data[6] is None else str(data[6]),
            signals=tuple(str(s) for s in data[7]),
            detail=str(data[8]),
        )


def severity(score: float, threshold: float, saturation: float) -> float:
    """Severity in ``[0, 1]`` of an anomaly score (log-odds-like scale)."""
    if score < threshold:
        return 0.0
    if score >= saturation:
        return 1.0
    lo = -math.log10(1.0 - threshold)
    hi = -math.log10(1.0 - saturation)
    return (-math.log10(1.0 - score) - lo) / (hi - lo)


class AlarmLedger:
    """Bounded set of an agent's strongest recent alarms, one per session."""

    __slots__ = ("alarms",)

    def __init__(self) -> None:
        self.alarms: list[Alarm] = []

    def record(self, alarm: Alarm, half_life_s: float, cap: int) -> None:
        """Add an alarm, keeping one per session (the most severe) and the top ``cap``."""
        alarms = self.alarms
        for i, existing in enumerate(alarms):
            if existing.key == alarm.key:
                if _key(alarm, half_life_s) > _key(existing, half_life_s):
                    alarms[i] = alarm
                return
        alarms.append(alarm)
        if len(alarms) > cap:
            alarms.sort(key=lambda a: (-_key(a, half_life_s), a.t, a.key))
            del alarms[cap:]

    def contributions(self, now: float, half_life_s: float) -> list[tuple[float, Alarm]]:
        """Decayed contributions at ``now``, largest first."""
        out = []
        for alarm in self.alarms:
            age = now - alarm.t
            decay = math.exp2(-age / half_life_s) if age > 0.0 else 1.0
            out.append((alarm.severity * decay, alarm))
        out.sort(key=lambda ca: (-ca[0], -ca[1].t, ca[1].key))
        return out

    def to_json(self) -> list[object]:
        """List of alarms."""
        return [a.to_json() for a in self.alarms]

    @classmethod
    def from_json(cls, data: object) -> AlarmLedger:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list):
            raise ValueError("malformed alarm ledger")
        out = cls()
        out.alarms = [Alarm.from_json(a) for a in data]
        return out


def _key(alarm: Alarm, half_life_s: float) -> float:
    """Forward-decay ordering key: log2(severity) + t / half_life (larger = heavier now)."""
    return math.log2(max(alarm.severity, 1e-12)) + alarm.t / half_life_s


def penalty(contributions: list[float]) -> float:
    """Top-heavy sum ``sum_i c_(i) / i^1.5`` of contributions sorted in decreasing order."""
    return sum(c / math.pow(i, 1.5) for i, c in enumerate(contributions, start=1))
