"""Decayed categorical counts with a rarity p-value under hierarchical Dirichlet smoothing.

A level (agent, peer group, fleet) holds forward-decayed counts ``c_t`` per category and their total
``N``. Its posterior predictive for category ``x`` given a prior ``pi`` from the level above, with
prior strength ``a`` (pseudo-observations), is the Dirichlet-multinomial

    q(x) = (c_x + a * pi(x)) / (N + a).

The *rarity p-value* of ``x`` is the predictive mass of every category at most as probable as
``x``: ``p(x) = sum_{t: q(t) <= q(x)} q(t)``. Computing it exactly needs every category's prior, so
we use a cheap, conservative form that keeps the mass of seen categories exact and charges the
whole prior tail of ``x`` from the level above:

    p(x) = (sum_{t: c_t <= c_x + a*pi(x)} c_t  +  a * p_above(x)) / (N + a),

which is always ``>= q(x)`` and recursive: ``p_above`` is the same quantity one level up. The top
(fleet) level is a Dirichlet process with a small concentration ``g0`` for never-seen categories.
The sum over the categories with small counts is a prefix sum of a sorted list kept in step with
the dict (one bisect and one C-level ``sum`` per query; one remove/insert per update), so a query
costs O(log k) plus a C loop, independent of Python-level iteration over categories.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable


class DecayedCounts:
    """Forward-decayed counts per category, with a sorted copy of the values."""

    __slots__ = ("_sorted", "counts", "total")

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}
        self.total = 0.0
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self.counts)

    def get(self, key: str) -> float:
        """Stored count of ``key`` (0 when unseen)."""
        return self.counts.get(key, 0.0)

    def add(self, key: str, weight: float, cap: int = 0) -> None:
        """Add ``weight`` to ``key``; with ``cap`` > 0 the smallest category is evicted past it."""
        old = self.counts.get(key)
        srt = self._sorted
        if old is None:
            new = weight
            if cap and len(srt) >= cap:
                self._evict_smallest()
        else:
            del srt[bisect_left(srt, old)]
            new = old + weight
        self.counts[key] = new
        insort(srt, new)
        self.total += weight

    def _evict_smallest(self) -> None:
        smallest = self._sorted[0]
        for key, value in self.counts.items():
            if value == smallest:
                del self.counts[key]
                break
        del self._sorted[0]
        self.total -= smallest

    def mass_le(self, threshold: float) -> float:
        """Sum of the counts that are ``<= threshold``."""
        srt = self._sorted
        idx = bisect_right(srt, threshold)
        if idx == 0:
            return 0.0
        if idx == len(srt):
            return self.total
        return sum(srt[:idx])

    def rescale(self, factor: float) -> None:
        """Multiply every count by ``factor`` (forward-decay renormalisation)."""
        counts = self.counts
        for key in counts:
            counts[key] *= factor
        self._sorted = sorted(counts.values())
        self.total = sum(self._sorted)

    def top(self, n: int) -> list[tuple[str, float]]:
        """The ``n`` largest categories, largest first."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def to_json(self) -> list[object]:
        """Compact JSON form: ``[keys, values, total]`` (insertion order kept)."""
        return [list(self.counts), list(self.counts.values()), self.total]

    @classmethod
    def from_json(cls, data: object) -> DecayedCounts:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 3:
            raise ValueError("malformed categorical counts")
        keys, values, total = data
        out = cls()
        out.counts = {
            str(k): _num(v) for k, v in zip(_as_list(keys), _as_list(values), strict=True)
        }
        out._sorted = sorted(out.counts.values())
        out.total = _num(total)
        return out


def _num(value: object) -> float:
    if not isinstance(value, (int, float)):
        raise ValueError("expected a number")
    return float(value)


def _as_list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return value


def level_tail(
    counts: DecayedCounts,
    key: str,
    scale: float,
    prior_q: float,
    prior_p: float,
    strength: float,
) -> tuple[float, float]:
    """Predictive probability and rarity p-value of ``key`` at one level (see module docstring).

    ``scale`` converts stored counts to decayed counts; ``strength`` is the prior weight ``a`` in
    decayed (real) observations; ``prior_q`` / ``prior_p`` are the level above's predictive
    probability and rarity p-value of ``key``.
    """
    total = counts.total
    if total <= 0.0 or scale <= 0.0:
        return prior_q, prior_p
    a = strength / scale  # prior weight in stored units
    c = counts.counts.get(key, 0.0)
    denom = total + a
    threshold = c + a * prior_q
    q = threshold / denom
    # counts.mass_le(threshold), inlined (this runs several times per event)
    srt = counts._sorted
    idx = bisect_right(srt, threshold)
    below = (total if idx == len(srt) else sum(srt[:idx])) if idx else 0.0
    p = (below + a * prior_p) / denom
    return q, (p if p < 1.0 else 1.0)


def fleet_tail(
    counts: DecayedCounts, key: str, concentration: float, scale: float
) -> tuple[float, float]:
    """Top-level (Dirichlet process) predictive probability and rarity p-value of ``key``."""
    total = counts.total
    if total <= 0.0 or scale <= 0.0:
        return 1.0, 1.0
    g = concentration / scale
    c = counts.counts.get(key, 0.0)
    denom = total + g
    q = (c + g) / denom
    srt = counts._sorted  # counts.mass_le(c + g), inlined
    idx = bisect_right(srt, c + g)
    below = (total if idx == len(srt) else sum(srt[:idx])) if idx else 0.0
    p = (below + g) / denom
    return q, (p if p < 1.0 else 1.0)


def ordered_keys(items: Iterable[str]) -> list[str]:
    """Deterministic order for keys that came from a set (hash order varies per process)."""
    return sorted(items)
