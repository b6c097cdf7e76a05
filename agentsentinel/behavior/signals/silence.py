"""Silence: an agent that stops reporting inside its usual active window (periodic check).

**Expected calls over a gap.** The hourly profile learned by :mod:`rate` gives the expected number
of calls in any interval: ``Λ(t1, t2)`` is the sum of the slot means (hour of day x
weekday/weekend, so it is time-of-week aware: nights and the agent's free weekend hours add almost
nothing) over the interval, O(1) per hour with a closed form for whole weeks. A gap is measured in
**days of missed activity**, ``d = Λ / D`` with ``D`` the expected calls of the agent's active day
(the busier day type): a night is a few hundredths, a day off is about 1, whatever the agent's
pace — so the fleet's gaps are comparable with the agent's own and can serve as its prior (in raw
``Λ`` a busy agent's single day off would look like a quiet agent's two).

**Two kinds of gaps.** Every learned event adds ``d`` of the gap since the agent's previous event to
one of two log-binned histograms, by where the gap started:

* **mid-activity** — at the gap's start the agent usually works at full pace for a while: the
  expected calls over the next two hours *from that instant* are at least 60 % of two peak hours.
  Such gaps are the pauses between sessions of an ongoing working day;
* **day-scale** — every other gap: the end of a working day, a night, a weekend, days off.

**Tails.** Both tails are the empirical distribution inside the observed range and, above the
edge ``u`` holding the top ``tail_mass`` of the gaps, ``S(d) = T exp(-(d - u) / m)`` with ``T`` the
mass above ``u`` and ``m`` its mean excess over ``u`` (at least 1 % of a day); the larger of the
two. Exponential in ``d``, not a power law, because of how long gaps arise: inside a working day,
sessions start roughly as a Poisson process, and the chance of a pause covering ``Λ`` expected calls
is the void probability of the process, ``exp(-Λ / calls per session)``; across days, every further
day of missed activity needs one more day off, so the chance falls geometrically with the number of
missed days. The days off, weekends and early finishes the fleet has actually seen stay in the
empirical part (in units of days every agent's day off is about 1, so the fleet's history covers
them for a young agent too); only gaps longer than any of those are extrapolated. A mid-day stop
is recognised within hours, a stop at the end of a day once the next working day is missed.

**The open gap.** The periodic check computes ``Λ`` and ``d`` of the gap from the agent's last event
to ``now`` and its tail probability among past gaps of the same kind — the agent's own, with the
fleet's gaps as a prior of weight ``k = min(N_fleet, silence_fleet_strength)`` — floored at
``1/(n+1)``, ``n`` the number of past gaps of that kind in the fleet. A gap that started
mid-activity is judged by the mid-activity law only while it stays inside the active period it
started in. Once it has run through one of the agent's quiet hours (an hour whose usual volume is
below 20 % of the peak hour), the benign explanation "the day ended early" applies, and the gap is
also compared with day-scale gaps: its p-value is the larger of the two. So an early finish
followed by the night is a moderate night-time gap, not an alert, while an agent that stopped at
noon and misses the next working day is judged by how rarely a day-scale gap is that long.

An alert needs ``Λ >= silence_min_expected`` and ``p <= silence_max_p``. Agents without a
profile (too few hours of history) are never reported. The check is O(agents x hours of the open
gap, capped by the weekly closed form).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agentsentinel.behavior.histogram import LogHistogram
from agentsentinel.behavior.signals.rate import (
    HOUR_S,
    MONDAY_OFFSET,
    WEEK_HOURS,
    WEEK_SLOTS,
    hour_slot,
)

GAP_BIN_OCTAVES = 0.5
#: Histogram positions are ``log2(1 + GAP_SCALE * d) / GAP_BIN_OCTAVES`` (resolution ~1 % of a day).
GAP_SCALE = 100.0
MID_ACTIVITY_S = 2 * HOUR_S
MID_ACTIVITY_SHARE = 0.6
QUIET_SHARE = 0.2
MIN_EXCESS_DAYS = 0.01  # days


def expected_between(means: Sequence[float], t1: float, t2: float) -> float:
    """Expected calls in ``(t1, t2]`` from the mean hourly count of each slot."""
    if t2 <= t1:
        return 0.0
    h1 = math.floor(t1 / HOUR_S)
    h2 = math.floor(t2 / HOUR_S)
    slots = WEEK_SLOTS  # hour_slot(h), inlined: this runs for every learned event
    if h1 == h2:
        return means[slots[(h1 + MONDAY_OFFSET) % WEEK_HOURS]] * (t2 - t1) / HOUR_S
    total = means[slots[(h1 + MONDAY_OFFSET) % WEEK_HOURS]] * ((h1 + 1) * HOUR_S - t1) / HOUR_S
    total += means[slots[(h2 + MONDAY_OFFSET) % WEEK_HOURS]] * (t2 - h2 * HOUR_S) / HOUR_S
    start = h1 + 1
    full = h2 - start
    if full >= WEEK_HOURS:
        weeks = full // WEEK_HOURS
        week_total = 5.0 * sum(means[:24]) + 2.0 * sum(means[24:])
        total += weeks * week_total
        start += weeks * WEEK_HOURS
    for k in range(start + MONDAY_OFFSET, h2 + MONDAY_OFFSET):
        total += means[slots[k % WEEK_HOURS]]
    return total


def mid_activity(means: Sequence[float], peak: float, t: float) -> bool:
    """Whether the agent usually works at full pace right after ``t`` (time-of-week aware).

    True when the expected count over the next ``MID_ACTIVITY_S`` from ``t`` itself (not from the
    start of its clock hour) is at least ``MID_ACTIVITY_SHARE`` of that many peak hours.
    """
    if peak <= 0.0:
        return False
    window = MID_ACTIVITY_S / HOUR_S
    return expected_between(means, t, t + MID_ACTIVITY_S) >= MID_ACTIVITY_SHARE * window * peak


def crossed_quiet(means: Sequence[float], peak: float, t1: float, t2: float) -> bool:
    """Whether ``(t1, t2]`` covers a whole clock hour that is usually quiet for the agent."""
    h1 = math.floor(t1 / HOUR_S) + 1
    h2 = math.floor(t2 / HOUR_S)
    if h2 - h1 >= WEEK_HOURS:
        return True
    quiet = QUIET_SHARE * peak
    return any(means[hour_slot(h)] < quiet for h in range(h1, h2))


def gap_position(days: float) -> float:
    """Histogram position of a gap of ``days`` days of missed activity."""
    return math.log2(1.0 + GAP_SCALE * days) / GAP_BIN_OCTAVES


def gap_days(pos: float) -> float:
    """Inverse of :func:`gap_position`."""
    return (math.exp2(pos * GAP_BIN_OCTAVES) - 1.0) / GAP_SCALE


def gap_tail(hist: LogHistogram, pos: float, tail_mass: float) -> float:
    """Mass of past gaps at or above position ``pos``, exponential in ``d`` at the top.

    Empirical inside the observed range; above the edge ``u`` holding the top ``tail_mass`` of the
    gaps, ``T exp(-(d - u) / m)`` with ``T`` the mass above ``u`` and ``m`` its mean excess over
    ``u`` (bin centres in log space), at least ``MIN_EXCESS_DAYS``. The larger of the two.
    """
    bins = hist.bins
    if not bins:
        return 0.0
    lo = hist.lo
    n = len(bins)
    b = math.floor(pos)
    if b < lo:
        return hist.total
    if b < lo + n:
        i = b - lo
        emp = sum(bins[i + 1 :]) + bins[i] * (1.0 - (pos - b))
    else:
        emp = 0.0
    need = tail_mass * hist.total
    mass = 0.0
    j = n - 1
    while j > 0 and mass + bins[j] < need:
        mass += bins[j]
        j -= 1
    mass += bins[j]
    u = gap_days(lo + j)
    d = gap_days(pos)
    if mass <= 0.0 or d <= u:
        return emp
    excess = 0.0
    for k in range(j, n):
        if bins[k]:
            excess += bins[k] * (gap_days(lo + k + 0.5) - u)
    mean_excess = excess / mass
    if mean_excess < MIN_EXCESS_DAYS:
        mean_excess = MIN_EXCESS_DAYS
    fit = mass * math.exp(-(d - u) / mean_excess)
    return fit if fit > emp else emp


def gap_p_value(
    own: LogHistogram,
    own_scale: float,
    fleet: LogHistogram,
    fleet_scale: float,
    days: float,
    tail_mass: float,
    fleet_strength: float,
) -> float:
    """p-value of an open gap among past gaps of one kind (agent, backed by the fleet)."""
    pos = gap_position(days)
    n_a = own.total * own_scale
    n_f = fleet.total * fleet_scale
    k = min(n_f, fleet_strength)
    if n_a + k <= 0.0:
        return 1.0
    mass = gap_tail(own, pos, tail_mass) * own_scale if n_a > 0.0 else 0.0
    if k > 0.0:
        mass += k * gap_tail(fleet, pos, tail_mass) / fleet.total
    p = mass / (n_a + k)
    floor = 1.0 / (max(n_a, n_f) + 1.0)
    return min(1.0, max(p, floor))
