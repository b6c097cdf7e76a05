"""A faithful re-implementation of the reference product's anomaly rules, for comparison.

Five fixed levels per event, per (agent, tool):

* 0.9 on the first call ever of the tool by the agent (a count over the agent's whole history);
* 0.7 while no baseline exists yet;
* 0.8 when the calls in the current clock hour exceed ``mean + 3 sigma``, 0.5 above
  ``mean + 2 sigma``, else 0 — where the baseline is the mean and (population) standard
  deviation of calls per *active* clock hour (hours with at least one call) of the (agent,
  tool) over the last 7 days, recomputed every 5 minutes. With sigma = 0 nothing is flagged
  (the comparison needs sd > 0, as in the reference code: a steady agent is never flagged).

Its behavior score is ``100 * (1 - mean of the agent's event scores over the last 24 h)``.
Everything runs on event time, like our detector, so both see the same stream.
"""

from __future__ import annotations

import math
from collections import deque

HOUR = 3600
WINDOW_S = 7 * 24 * HOUR
RECOMPUTE_S = 300


class ReferenceRules:
    """Streaming implementation; feed events in time order."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        # Live sums over the active hours of the last 7 days, per (agent, tool).
        self.hours: dict[tuple[str, str], dict[int, int]] = {}
        self.order: dict[tuple[str, str], deque[int]] = {}
        self.s1: dict[tuple[str, str], int] = {}
        self.s2: dict[tuple[str, str], int] = {}
        self.baseline: dict[tuple[str, str], tuple[float, float]] = {}
        self.next_recompute: float | None = None
        self.recent: dict[str, deque[tuple[float, float]]] = {}
        self.last_score: dict[str, float] = {}

    def _recompute(self, now: float) -> None:
        oldest = math.floor((now - WINDOW_S) / HOUR)
        baseline: dict[tuple[str, str], tuple[float, float]] = {}
        for key, order in self.order.items():
            counts = self.hours[key]
            while order and order[0] < oldest:
                hour = order.popleft()
                c = counts.pop(hour)
                self.s1[key] -= c
                self.s2[key] -= c * c
            n = len(order)
            if n:
                mean = self.s1[key] / n
                var = max(self.s2[key] / n - mean * mean, 0.0)
                baseline[key] = (mean, math.sqrt(var))
        self.baseline = baseline

    def score(self, agent_id: str, tool: str, t: float) -> float:
        """Score one event (and record it)."""
        if self.next_recompute is None:
            self.next_recompute = (math.floor(t / RECOMPUTE_S) + 1) * RECOMPUTE_S
        while t >= self.next_recompute:
            self._recompute(self.next_recompute)
            self.next_recompute += RECOMPUTE_S
        key = (agent_id, tool)
        hour = math.floor(t / HOUR)
        counts = self.hours.setdefault(key, {})
        order = self.order.setdefault(key, deque())
        c = counts.get(hour, 0)
        if c == 0:
            order.append(hour)
        counts[hour] = c + 1
        self.s1[key] = self.s1.get(key, 0) + 1
        self.s2[key] = self.s2.get(key, 0) + 2 * c + 1
        if key not in self.seen:
            self.seen.add(key)
            value = 0.9
        elif key not in self.baseline:
            value = 0.7
        else:
            mean, std = self.baseline[key]
            current = c + 1
            if std > 0 and current > mean + 3 * std:
                value = 0.8
            elif std > 0 and current > mean + 2 * std:
                value = 0.5
            else:
                value = 0.0
        recent = self.recent.setdefault(agent_id, deque())
        recent.append((t, value))
        while recent[0][0] < t - 24 * HOUR:
            recent.popleft()
        self.last_score[agent_id] = 100.0 * (1.0 - sum(v for _, v in recent) / len(recent))
        return value

    def behavior_score(self, agent_id: str) -> float:
        """The stored score: recomputed on each event, so a silent agent's score is frozen."""
        return self.last_score.get(agent_id, 100.0)
