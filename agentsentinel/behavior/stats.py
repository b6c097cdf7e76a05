"""Small, dependency-free statistics used on the hot path (stdlib ``math`` only).

Every function here is pure and cheap: the detector calls them per event, so they avoid numpy
(whose per-call overhead is larger than these scalar computations) and bound their loops.

Conventions: a *p-value* is the probability, under the learned model of normal behaviour, of an
observation at least as extreme as the one seen. ``conformal_floor(n)`` is the smallest p-value
that ``n`` observations can support (a rank test over ``n`` exchangeable past observations plus
the new one cannot give less than ``1/(n+1)``); every sub-signal clamps to it, so a model with
little evidence cannot produce a small p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_TAIL_TERMS = 24  # exact terms summed before the remainder is bounded geometrically


def conformal_floor(n: float) -> float:
    """Smallest p-value supported by ``n`` (possibly decayed, fractional) observations."""
    return 1.0 / (n + 1.0) if n > 0.0 else 1.0


def clamp_p(p: float, n: float) -> float:
    """Clamp ``p`` into ``[1/(n+1), 1]``."""
    floor = 1.0 / (n + 1.0) if n > 0.0 else 1.0
    if p < floor:
        return floor
    return 1.0 if p > 1.0 else p


def poisson_sf(k: int, mean: float) -> float:
    """``P(X >= k)`` for ``X ~ Poisson(mean)``."""
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    log_term = -mean + k * math.log(mean) - math.lgamma(k + 1.0)
    term = math.exp(log_term)
    if term == 0.0:
        return 0.0
    total = term
    x = k
    for _ in range(_TAIL_TERMS):
        ratio = mean / (x + 1.0)
        term *= ratio
        total += term
        x += 1
        if ratio < 1.0 and term < total * 1e-12:
            return min(1.0, total)
    ratio = mean / (x + 1.0)
    if ratio < 1.0:
        total += term * ratio / (1.0 - ratio)
    else:  # the tail is still growing: the sum is not small, fall back to a safe bound
        return 1.0
    return min(1.0, total)


def negbin_sf(k: int, mean: float, var: float) -> float:
    """``P(X >= k)`` for a Gamma-Poisson (negative binomial) with the given mean and variance.

    ``var <= mean`` degrades to Poisson. The tail is summed exactly for a few dozen terms and the
    remainder is bounded by a geometric series (the term ratio of the negative binomial converges
    monotonically to ``1 - p``), so the result is never smaller than the true tail.
    """
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if var <= mean * (1.0 + 1e-9):
        return poisson_sf(k, mean)
    r = mean * mean / (var - mean)
    p = r / (r + mean)
    q = 1.0 - p
    log_term = (
        math.lgamma(k + r)
        - math.lgamma(r)
        - math.lgamma(k + 1.0)
        + r * math.log(p)
        + k * math.log(q)
    )
    term = math.exp(log_term)
    if term == 0.0:
        return 0.0
    total = term
    x = k
    ratio = q
    for _ in range(_TAIL_TERMS):
        ratio = (x + r) / (x + 1.0) * q
        term *= ratio
        total += term
        x += 1
        if term < total * 1e-12:
            return min(1.0, total)
    bound = max(ratio, q)
    if bound >= 1.0:
        return 1.0
    total += term * bound / (1.0 - bound)
    return min(1.0, total)


def event_count_sf(k: int, mean: float, var: float) -> float:
    """``P(K >= k)`` for the count ``K`` of the window an *event* falls in (size-biased NB).

    Bucket counts ``J`` follow a negative binomial ``NB(r, p)`` (Poisson when ``var <= mean``).
    Seen from a random event rather than a random bucket, a bucket with ``j`` events is ``j`` times
    more likely, so ``P(K = j) = j * P(J = j) / E[J]``; for the negative binomial this is exactly
    ``1 + NB(r + 1, p)`` (for Poisson, ``1 + Poisson(mean)``). Scoring events against the bucket
    distribution itself would flag the second call of every ordinary session.
    """
    if k <= 1:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if var <= mean * (1.0 + 1e-9):
        return poisson_sf(k - 1, mean)
    r = mean * mean / (var - mean)
    p = r / (r + mean)
    r1 = r + 1.0
    mean1 = r1 * (1.0 - p) / p
    return negbin_sf(k - 1, mean1, mean1 / p)


def betabinom_sf(x: int, n: int, a: float, b: float) -> float:
    """``P(X >= x)`` for ``X ~ BetaBinomial(n, a, b)`` (exact; ``n`` is small here)."""
    if x <= 0:
        return 1.0
    if x > n:
        return 0.0
    log_pmf = (
        math.lgamma(n + 1.0)
        - math.lgamma(x + 1.0)
        - math.lgamma(n - x + 1.0)
        + math.lgamma(x + a)
        + math.lgamma(n - x + b)
        - math.lgamma(n + a + b)
        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )
    term = math.exp(log_pmf)
    total = term
    for k in range(x, n):
        term *= (n - k) * (k + a) / ((k + 1.0) * (n - k - 1.0 + b))
        total += term
    return min(1.0, total)


def sidak(p_min: float, k: int) -> float:
    """Šidák correction of the smallest of ``k`` p-values: ``1 - (1 - p_min)^k``."""
    if p_min >= 1.0 or k <= 1:
        return min(1.0, p_min)
    return -math.expm1(k * math.log1p(-p_min))


def truncated_product(ps: Sequence[float], tau: float) -> float:
    """Truncated-product (Zaykin et al. 2002) combination of ``len(ps)`` independent p-values.

    The statistic is ``W = prod(p_i for p_i <= tau)``; its exact null distribution is

        P(W <= w) = sum_{k=1..L} C(L,k) (1-tau)^(L-k) A_k,
        A_k = w * sum_{s<k} (k ln tau - ln w)^s / s!   if w <= tau^k   else   tau^k.

    It is Fisher's method restricted to the p-values that carry evidence, so a single strong
    signal is not diluted by the many signals that are uninformative for this event.
    """
    L = len(ps)
    log_w = 0.0
    hits = 0
    for p in ps:
        if p <= tau:
            log_w += math.log(max(p, 1e-300))
            hits += 1
    if hits == 0:
        return 1.0
    log_tau = math.log(tau)
    w = math.exp(log_w)
    total = 0.0
    binom = 1.0
    for k in range(1, L + 1):
        binom = binom * (L - k + 1) / k
        weight = binom * (1.0 - tau) ** (L - k)
        if log_w <= k * log_tau:
            z = k * log_tau - log_w
            term = 1.0
            acc = 1.0
            for s in range(1, k):
                term *= z / s
                acc += term
            a_k = w * acc
        else:
            a_k = math.exp(k * log_tau)
        total += weight * a_k
    return min(1.0, max(total, 0.0))


def chi2_sf_even(x: float, dof: int) -> float:
    """Survival function of a chi-square with an even number of degrees of freedom."""
    half = x / 2.0
    term = 1.0
    acc = 1.0
    for j in range(1, dof // 2):
        term *= half / j
        acc += term
    return min(1.0, math.exp(-half) * acc)
