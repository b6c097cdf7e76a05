"""ROC-AUC, thresholds at a target false-positive rate, and summaries (numpy only)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties averaged (like ``scipy.stats.rankdata``)."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=float)
    boundaries = np.flatnonzero(np.diff(sorted_vals)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(values)]))
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def roc_auc(positives: ArrayLike, negatives: ArrayLike) -> float:
    """Mann-Whitney ROC-AUC (ties count one half)."""
    pos = np.asarray(positives, dtype=float)
    neg = np.asarray(negatives, dtype=float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = average_ranks(np.concatenate((pos, neg)))
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def threshold_at_fpr(negatives: ArrayLike, fpr: float) -> float:
    """Smallest threshold ``v`` with ``mean(negatives >= v) <= fpr`` (``inf`` if none)."""
    neg = np.sort(np.asarray(negatives, dtype=float))
    n = len(neg)
    candidates = np.unique(neg)
    for v in candidates:
        flagged = n - np.searchsorted(neg, v, side="left")
        if flagged / n <= fpr:
            return float(v)
    return math.inf


def rate(values: ArrayLike, threshold: float) -> float:
    """Share of ``values`` at or above ``threshold``."""
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0:
        return float("nan")
    return float(np.mean(arr >= threshold))


def mean_sd(values: Sequence[float], digits: int = 3, pct: bool = False) -> str:
    """``mean ± sd`` over seeds (``n/a`` when empty)."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return "n/a"
    mean = float(np.mean(vals))
    sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    if pct:
        return f"{100 * mean:.1f} ± {100 * sd:.1f} %"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"
