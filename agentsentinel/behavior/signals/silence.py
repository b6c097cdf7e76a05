"""Silence: an agent that stops reporting inside its usual active window (periodic check).

The hourly profile learned by :mod:`rate` gives the expected number of calls in any interval:
``Λ(t1, t2)`` is the sum of the slot means (hour of day x weekday/weekend) over the interval,
O(1) per hour with a closed form for whole weeks. Every learned event adds ``Λ`` of the gap since
the agent's previous event to a log-binned histogram of *past gaps* (nights and weekends have a
small ``Λ``; a day off has a large one). Gaps are kept in two histograms by where they started:
in the middle of the agent's usual activity (the gap's hour and the next usually hold at least
60 % of the agent's peak two-hour volume) or not. A day off starts after the last call of
the previous working day, as activity winds down; an agent that goes quiet in the middle of its
working day starts a mid-activity gap, and those are normally short — so a mid-day stop is
recognised within hours instead of being compared with days off. The periodic check
computes ``Λ`` of the open gap (from the agent's last event to ``now``) and its tail probability
among past gaps of the same kind — the agent's own, with the fleet's gaps as a prior of weight
``k = min(N_fleet, 100)`` (``Λ`` is already in units of each agent's own activity, so the fleet's
gaps are comparable) — with the heavy-tail extrapolation of
:class:`~agentsentinel.behavior.histogram.LogHistogram` beyond the longest gap seen (days off make
the tail of past gaps heavy; a thinner tail would turn every day off into an alert). The p-value
is floored at ``1/(n+1)``, ``n`` the number of past gaps of that kind in the fleet. An alert needs
``Λ >= silence_min_expected`` and ``p <= silence_max_p``. Agents that never had a profile (too few
hours of history) are never reported. The check is O(agents x hours of the open gap, capped by the
weekly closed form).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agentsentinel.behavior.histogram import LogHistogram
from agentsentinel.behavior.signals.rate import HOUR_S, hour_slot

GAP_BIN_OCTAVES = 0.5
_WEEK_HOURS = 168


def expected_between(means: Sequence[float], t1: float, t2: float) -> float:
    """Expected calls in ``(t1, t2]`` from the mean hourly count of each slot."""
    if t2 <= t1:
        return 0.0
    h1 = math.floor(t1 / HOUR_S)
    h2 = math.floor(t2 / HOUR_S)
    if h1 == h2:
        return means[hour_slot(h1)] * (t2 - t1) / HOUR_S
    total = means[hour_slot(h1)] * ((h1 + 1) * HOUR_S - t1) / HOUR_S
    total += means[hour_slot(h2)] * (t2 - h2 * HOUR_S) / HOUR_S
    start = h1 + 1
    full = h2 - start
    if full >= _WEEK_HOURS:
        weeks = full // _WEEK_HOURS
        week_total = 5.0 * sum(means[:24]) + 2.0 * sum(means[24:])
        total += weeks * week_total
        start += weeks * _WEEK_HOURS
    for h in range(start, h2):
        total += means[hour_slot(h)]
    return total


def in_core_hours(core: Sequence[bool], t: float) -> bool:
    """Whether ``t`` falls in the agent's core hours (see :class:`rate.HourProfile`)."""
    return core[hour_slot(math.floor(t / HOUR_S))]


def gap_position(expected: float) -> float:
    """Histogram position of a gap with ``expected`` calls."""
    return math.log2(1.0 + expected) / GAP_BIN_OCTAVES


def gap_p_value(
    own: LogHistogram,
    own_scale: float,
    fleet: LogHistogram,
    fleet_scale: float,
    expected: float,
    tail_mass: float,
    fleet_strength: float,
) -> float:
    """p-value of an open gap among past gaps of the same kind (agent, backed by the fleet)."""
    pos = gap_position(expected)
    n_a = own.total * own_scale
    n_f = fleet.total * fleet_scale
    k = min(n_f, fleet_strength)
    if n_a + k <= 0.0:
        return 1.0
    mass = own.upper_tail(pos, tail_mass, 1.0) * own_scale if n_a > 0.0 else 0.0
    if k > 0.0:
        mass += k * fleet.upper_tail(pos, tail_mass, 1.0) / fleet.total
    p = mass / (n_a + k)
    floor = 1.0 / (max(n_a, n_f) + 1.0)
    return min(1.0, max(p, floor))
