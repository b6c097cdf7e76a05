"""Combining sub-signal p-values and calibrating the result against recent fleet traffic.

**Combination.** Sub-signals are grouped into families (tool, transition, destination,
exfiltration, repeats, magnitude, rate, ramp, time of day, errors, definition drift); inside a
family the smallest p-value is Bonferroni-corrected. Across the ``L`` families that apply to the
event we compute

* a Fisher-type **truncated product** of the p-values below ``tau`` (exact null distribution,
  :func:`~agentsentinel.behavior.stats.truncated_product`) — many moderately unusual signals
  together are strong evidence;
* a Šidák-corrected **minimum** — one very strong signal is strong evidence on its own;

and take ``raw_p = min(1, 2 * min(p_fisher, p_min))`` (a Bonferroni over the two tests), so both
kinds of evidence count and the result is still a valid p-value under independence.

**Calibration.** ``anomaly_score`` is the share of recent fleet traffic that was *less* extreme:
a forward-decayed histogram (half-life ``calibration_half_life_days`` of event time) of
``s = -log10(raw_p)`` in bins of 0.02 decades, with a dedicated bin for ``raw_p = 1``. Score =
``P(S < s)``, interpolated within the bin, from prefix sums rebuilt every
``calibration_rebuild_every`` learned events (so a score costs O(1); the rebuild is O(bins)).
Above the 99th percentile ``u`` the histogram holds too few events for stable quantiles (the
0.9999 point would rest on a handful of events and drift from hour to hour), so the tail is a
peaks-over-threshold fit: ``P(S >= s) = P(S >= u) * exp(-(s - u) / b)`` with ``b`` the mean
excess of the statistic over ``u`` (an exponential tail of ``-log10 p`` is a Pareto tail of the
p-values, the usual extreme-value form).
With few events the empirical CDF is blended with the analytic null ``1 - raw_p`` (what a
valid p-value would give) weighted by ``calibration_prior_events``, so cold start is calibrated
too. The tail must describe the fleet rather than one misbehaving agent, so each agent adds at
most one event above ``u`` per ``calibration_tail_spacing_s`` (quarantined or not): a burst, a
storm or a day-long ramp cannot flood the top of the scale and make the next attack look
ordinary. Quarantined events below ``u`` (only possible at cold start) are not added.
"""

from __future__ import annotations

import math
from itertools import accumulate

from agentsentinel.behavior.decay import RENORMALISE_LOG2, ForwardDecay
from agentsentinel.behavior.stats import sidak, truncated_product

RESOLUTION = 0.02  # decades of p-value per bin
TAIL_FRACTION = 0.01  # the exponential tail fit starts at the 99th percentile
MIN_TAIL_EXCESS = 0.1  # decades
MAX_DECADES = 30.0
N_BINS = int(MAX_DECADES / RESOLUTION) + 1  # bin 0 holds raw_p == 1 exactly


def combine(groups: list[float], tau: float) -> float:
    """Fisher-type truncated product / min-p hybrid of the family p-values."""
    if not groups:
        return 1.0
    p_min = min(groups)
    if p_min >= 1.0:
        return 1.0
    p_m = sidak(p_min, len(groups))
    p_f = truncated_product(groups, tau) if p_min <= tau else 1.0
    p = 2.0 * (p_f if p_f < p_m else p_m)
    return p if p < 1.0 else 1.0


def statistic(raw_p: float) -> float:
    """``-log10(raw_p)``, capped at ``MAX_DECADES``."""
    if raw_p >= 1.0:
        return 0.0
    if raw_p <= 10.0**-MAX_DECADES:
        return MAX_DECADES
    return -math.log10(raw_p)


class Calibrator:
    """Decayed histogram of recent combined statistics (see module docstring)."""

    __slots__ = (
        "bins",
        "decay",
        "pending",
        "prefix",
        "prefix_total",
        "prior",
        "rebuild_every",
        "tail_excess",
        "tail_mass",
        "tail_start",
    )

    def __init__(self, half_life_s: float, rebuild_every: int, prior_events: float) -> None:
        self.decay = ForwardDecay(half_life_s)
        self.bins = [0.0] * N_BINS
        self.prefix = [0.0] * (N_BINS + 1)
        self.prefix_total = 0.0
        self.pending = 0
        self.rebuild_every = rebuild_every
        self.prior = prior_events
        self.tail_start = math.inf  # u: the statistic above which the fitted tail is used
        self.tail_mass = 0.0  # P(S >= u)
        self.tail_excess = 1.0  # b: mean excess over u

    @staticmethod
    def _bin(s: float) -> tuple[int, float]:
        if s <= 0.0:
            return 0, 0.0
        pos = s / RESOLUTION
        j = int(pos)
        if j >= N_BINS - 1:
            return N_BINS - 1, 1.0
        return j + 1, pos - j

    def score(self, raw_p: float, now: float) -> float:
        """``P(S < s)`` over recent traffic, blended with ``1 - raw_p`` while data is scarce."""
        if raw_p >= 1.0:
            return 0.0
        s = statistic(raw_p)
        j, frac = self._bin(s)
        prior_score = 1.0 - raw_p
        total = self.prefix_total
        if total <= 0.0:
            return prior_score
        if s >= self.tail_start:
            emp = 1.0 - self.tail_mass * math.exp(-(s - self.tail_start) / self.tail_excess)
        else:
            below = self.prefix[j] + (self.prefix[j + 1] - self.prefix[j]) * frac
            emp = below / total
        n = total * self.decay.scale(now)
        w = self.prior
        return (n * emp + w * prior_score) / (n + w)

    def add(self, raw_p: float, t: float) -> None:
        """Add a learned event's statistic."""
        j, _ = self._bin(statistic(raw_p))
        self.bins[j] += self.decay.weight(t)
        self.pending += 1
        if self.pending >= self.rebuild_every:
            self.rebuild()

    def rebuild(self) -> None:
        """Recompute the prefix sums and the tail fit used by :meth:`score`."""
        self.pending = 0
        self.prefix = prefix = [0.0, *accumulate(self.bins)]
        total = self.prefix_total = prefix[-1]
        self.tail_start = math.inf
        if total <= 0.0:
            return
        # u: the lower edge of the first bin (from the top) reaching 1 % of the mass.
        need = TAIL_FRACTION * total
        j = N_BINS - 1
        while j > 1 and total - prefix[j] < need:
            j -= 1
        mass = total - prefix[j]
        if j <= 1 or mass <= 0.0:
            return
        u = (j - 1) * RESOLUTION
        excess = 0.0
        bins = self.bins
        for k in range(j, N_BINS):
            if bins[k]:
                excess += bins[k] * ((k - 0.5) * RESOLUTION - u)
        self.tail_start = u
        self.tail_mass = mass / total
        self.tail_excess = max(excess / mass, MIN_TAIL_EXCESS)

    def maybe_renormalise(self, t: float) -> None:
        """Keep forward weights bounded (rescales the histogram and its prefix sums)."""
        decay = self.decay  # decay.needs_renormalising(t), inlined: this runs for every event
        landmark = decay.landmark
        if landmark is not None and (t - landmark) / decay.half_life_s > RENORMALISE_LOG2:
            f = decay.renormalise(t)
            self.bins = [v * f for v in self.bins]
            self.prefix = [v * f for v in self.prefix]
            self.prefix_total *= f  # the tail fit is a ratio: unchanged

    def to_json(self) -> list[object]:
        """Compact form: sparse bins, prefix sums are rebuilt identically on load."""
        nz = [[i, v] for i, v in enumerate(self.bins) if v != 0.0]
        pnz = [[i, v] for i, v in enumerate(self.prefix) if v != 0.0]
        tail = [
            None if math.isinf(self.tail_start) else self.tail_start,
            self.tail_mass,
            self.tail_excess,
        ]
        return [self.decay.landmark, nz, pnz, self.prefix_total, self.pending, tail]

    def load(self, data: object) -> None:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 6 or not isinstance(data[5], list):
            raise ValueError("malformed calibration state")
        landmark, nz, pnz, total, pending, tail = data
        self.tail_start = math.inf if tail[0] is None else float(tail[0])
        self.tail_mass = float(tail[1])
        self.tail_excess = float(tail[2])
        self.decay.landmark = None if landmark is None else float(landmark)
        self.bins = [0.0] * N_BINS
        for i, v in nz:
            self.bins[int(i)] = float(v)
        self.prefix = [0.0] * (N_BINS + 1)
        for i, v in pnz:
            self.prefix[int(i)] = float(v)
        self.prefix_total = float(total)
        self.pending = int(pending)
