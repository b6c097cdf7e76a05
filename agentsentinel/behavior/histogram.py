"""Log-binned, forward-decayed histograms with a heavy-tail upper-tail probability.

Magnitudes (durations, byte counts, amounts) are heavy-tailed, so they are binned on
``L = log2(1 + |x|)`` in bins of ``width`` octaves, stored densely between the lowest and highest
bin ever filled (a bounded range of at most ``MAX_BINS`` bins).

Upper-tail mass ``S(x)`` (decayed observations at least as large as ``x``):

* **Empirical inside the observed range**: the mass of the bins above ``x``'s bin plus the part of
  its own bin above ``x`` (uniform in log space within a bin).
* **Pareto-type tail in log space at the top**: the top region starts at bin edge ``u`` holding the
  upper ``tail_mass`` fraction of the data (but never more than the top ``TAIL_BINS`` bins). Beyond
  ``u`` the log-magnitude is modelled as exponential, ``S(L) = T * exp(-(L - u) / e)``, i.e. a
  Pareto tail on ``x``, with ``T`` the mass above ``u`` and ``e`` its mean excess over ``u``. The
  tail is ``max(empirical, Pareto)``: it extrapolates beyond the largest value seen (where the
  empirical tail is 0) and smooths the ragged top of the data, and it is continuous at ``u``.
* **Far tail**: the slope is the flatter of the mean excesses over ``u`` and over the edge holding
  the top fifth of that mass, so a series that is log-normal in bulk with a rare Pareto
  component (payload sizes) is judged by its heavy component, not by its bulk.
* **Spread floor**: ``e >= spread_floor`` octaves, so a perfectly steady series (zero spread,
  the reference product's sigma = 0 blind spot) is neither blind nor a hair-trigger: twice the
  usual value is mildly unusual, a hundred times is extreme.

The p-value is conformal: ``(S + 1) / (N + 1)`` with ``N`` the decayed count.
"""

from __future__ import annotations

import math

MAX_BINS = 72
TAIL_BINS = 6
FAR_TAIL = 0.2  # the far tail: the top fifth of the tail region


class LogHistogram:
    """Dense forward-decayed counts over log2 bins ``[lo, lo + len(bins))``."""

    __slots__ = ("bins", "lo", "total")

    def __init__(self) -> None:
        self.lo = 0
        self.bins: list[float] = []
        self.total = 0.0

    def add(self, b: int, weight: float) -> None:
        """Add ``weight`` to bin ``b``."""
        bins = self.bins
        i = b - self.lo
        if 0 <= i < len(bins):
            bins[i] += weight
            self.total += weight
            return
        if not bins:
            self.lo = b
            bins.append(weight)
            self.total = weight
            return
        lo = self.lo
        if b < lo:
            if lo + len(bins) - b > MAX_BINS:
                b = lo + len(bins) - MAX_BINS
            if b < lo:
                bins[0:0] = [0.0] * (lo - b)
                self.lo = lo = b
        elif b >= lo + len(bins):
            if b - lo + 1 > MAX_BINS:
                b = lo + MAX_BINS - 1
            if b >= lo + len(bins):
                bins.extend([0.0] * (b - lo + 1 - len(bins)))
        bins[b - lo] += weight
        self.total += weight

    def upper_tail(self, pos: float, tail_mass: float, spread_floor_bins: float) -> float:
        """Stored mass at or above position ``pos`` (``L / width``), heavy-tail model at the top."""
        bins = self.bins
        if not bins:
            return 0.0
        lo = self.lo
        n = len(bins)
        hi = lo + n - 1
        b = math.floor(pos)
        if b < lo:
            return self.total
        if b <= hi:
            i = b - lo
            emp = sum(bins[i + 1 :]) + bins[i] * (1.0 - (pos - b))
        else:
            emp = 0.0
        if b < hi - (TAIL_BINS - 1):
            return emp
        # Top region: from the highest bin edge holding >= tail_mass of the data (<= TAIL_BINS).
        need = tail_mass * self.total
        mass = 0.0
        u = hi
        u_far = -1
        j = n - 1
        stop = max(0, n - TAIL_BINS)
        while j >= stop:
            mass += bins[j]
            u = lo + j
            if u_far < 0 and mass >= need * FAR_TAIL:
                u_far = j
            if mass >= need:
                break
            j -= 1
        if pos < u or mass <= 0.0:
            return emp
        excess = 0.0
        for k in range(u - lo, n):
            excess += bins[k] * (lo + k + 0.5 - u)
        mean_excess = excess / mass
        if 0 <= u_far < n - 1:
            # The far tail decides how surprising the largest values are: a mostly log-normal
            # series with a Pareto component needs the flatter of the two slopes.
            far_mass = 0.0
            far_excess = 0.0
            for k in range(u_far, n):
                far_mass += bins[k]
                far_excess += bins[k] * (k + 0.5 - u_far)
            if far_mass > 0.0 and far_excess / far_mass > mean_excess:
                mean_excess = far_excess / far_mass
        if mean_excess < spread_floor_bins:
            mean_excess = spread_floor_bins
        pareto = mass * math.exp(-(pos - u) / mean_excess)
        return pareto if pareto > emp else emp

    def quantile(self, q: float) -> float:
        """Approximate quantile position (in bins) of the stored distribution."""
        bins = self.bins
        if not bins or self.total <= 0.0:
            return float("nan")
        target = q * self.total
        acc = 0.0
        for i, c in enumerate(bins):
            if acc + c >= target and c > 0.0:
                return self.lo + i + (target - acc) / c
            acc += c
        return float(self.lo + len(bins))

    def rescale(self, factor: float) -> None:
        """Multiply every count by ``factor``."""
        self.bins = [c * factor for c in self.bins]
        self.total *= factor

    def to_json(self) -> list[object]:
        """``[lo, bins, total]``."""
        return [self.lo, self.bins, self.total]

    @classmethod
    def from_json(cls, data: object) -> LogHistogram:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 3 or not isinstance(data[1], list):
            raise ValueError("malformed histogram")
        out = cls()
        out.lo = int(data[0])
        out.bins = [float(v) for v in data[1]]
        out.total = float(data[2])
        return out


class LinearHistory:
    """Forward-decayed histogram of a non-negative statistic in fixed-width bins (last bin open).

    Used for conformal ranks of a statistic among its past values: ``tail(x)`` is the stored mass
    at or above ``x`` (uniform within a bin).
    """

    __slots__ = ("bins", "total", "width")

    def __init__(self, width: float, n_bins: int) -> None:
        self.width = width
        self.bins = [0.0] * n_bins
        self.total = 0.0

    def tail(self, x: float) -> float:
        """Stored mass of values ``>= x``."""
        if x <= 0.0:
            return self.total
        pos = x / self.width
        j = int(pos)
        bins = self.bins
        if j >= len(bins):
            return 0.0
        return sum(bins[j + 1 :]) + bins[j] * (1.0 - (pos - j))

    def upper_edge(self, fraction: float) -> float:
        """Lowest bin edge above which at most ``fraction`` of the mass lies (inf when empty)."""
        if self.total <= 0.0:
            return math.inf
        need = fraction * self.total
        mass = 0.0
        bins = self.bins
        for j in range(len(bins) - 1, -1, -1):
            if mass + bins[j] > need:
                return (j + 1) * self.width
            mass += bins[j]
        return 0.0

    def add(self, x: float, w: float) -> None:
        """Add one value with weight ``w``."""
        j = int(x / self.width) if x > 0.0 else 0
        last = len(self.bins) - 1
        self.bins[j if j < last else last] += w
        self.total += w

    def rescale(self, f: float) -> None:
        """Multiply by ``f``."""
        self.bins = [v * f for v in self.bins]
        self.total *= f

    def to_json(self) -> list[object]:
        """``[bins, total]`` (sparse when mostly empty)."""
        return [self.bins, self.total]

    def load(self, data: object) -> None:
        """Restore from :meth:`to_json` output."""
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not isinstance(data[0], list)
            or len(data[0]) != len(self.bins)
        ):
            raise ValueError("malformed history")
        self.bins = [float(v) for v in data[0]]
        self.total = float(data[1])
