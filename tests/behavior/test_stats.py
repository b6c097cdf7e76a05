"""The small statistics on the hot path, checked against brute force and by properties."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsentinel.behavior.categorical import DecayedCounts, fleet_tail, level_tail
from agentsentinel.behavior.combine import Calibrator, combine
from agentsentinel.behavior.histogram import LogHistogram
from agentsentinel.behavior.signals.exfiltration import fisher_pair
from agentsentinel.behavior.signals.silence import gap_days, gap_position, gap_tail
from agentsentinel.behavior.stats import (
    betabinom_sf,
    clamp_p,
    conformal_floor,
    event_count_sf,
    negbin_sf,
    poisson_sf,
    sidak,
    truncated_product,
)

probabilities = st.floats(min_value=1e-12, max_value=1.0, allow_nan=False)


def _negbin_pmf(x: int, mean: float, var: float) -> float:
    r = mean * mean / (var - mean)
    p = r / (r + mean)
    return math.exp(
        math.lgamma(x + r)
        - math.lgamma(r)
        - math.lgamma(x + 1)
        + r * math.log(p)
        + x * math.log1p(-p)
    )


def test_conformal_floor() -> None:
    assert conformal_floor(0) == 1.0
    assert conformal_floor(99) == 0.01
    assert clamp_p(1e-9, 99) == 0.01
    assert clamp_p(0.5, 0) == 1.0


def test_poisson_and_negbin_tails_match_brute_force() -> None:
    for mean in (0.3, 2.0, 7.5):
        for k in (1, 3, 10):
            brute = 1.0 - sum(math.exp(-mean) * mean**j / math.factorial(j) for j in range(k))
            assert math.isclose(poisson_sf(k, mean), brute, rel_tol=1e-6, abs_tol=1e-12)
    for mean, var in ((0.5, 3.0), (4.0, 10.0), (1.0, 1.5)):
        for k in (1, 2, 5, 20):
            brute = 1.0 - sum(_negbin_pmf(j, mean, var) for j in range(k))
            got = negbin_sf(k, mean, var)
            # The geometric bound on the remainder may only over-estimate the tail.
            assert got >= brute - 1e-12
            assert math.isclose(got, brute, rel_tol=1e-3, abs_tol=1e-9)


def test_size_biased_count_is_heavier_than_the_bucket_count() -> None:
    # An event sits in a busier window than a random bucket: its tail is larger.
    for mean, var in ((0.01, 0.02), (3.0, 9.0)):
        for k in (2, 5, 10):
            assert event_count_sf(k, mean, var) >= negbin_sf(k, mean, var)
    assert event_count_sf(1, 0.1, 0.2) == 1.0


def test_betabinomial_tail_matches_brute_force() -> None:
    a, b, n = 1.5, 40.0, 12
    pmf = [
        math.comb(n, k)
        * math.exp(
            math.lgamma(k + a)
            + math.lgamma(n - k + b)
            - math.lgamma(n + a + b)
            - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
        )
        for k in range(n + 1)
    ]
    for x in (1, 3, 8, 12):
        assert math.isclose(betabinom_sf(x, n, a, b), sum(pmf[x:]), rel_tol=1e-9)


@given(st.lists(probabilities, min_size=1, max_size=10), st.integers(0, 9), probabilities)
def test_combination_is_monotone_in_every_p_value(
    ps: list[float], index: int, smaller: float
) -> None:
    i = index % len(ps)
    lowered = list(ps)
    lowered[i] = min(ps[i], smaller)
    assert combine(lowered, 0.01) <= combine(ps, 0.01) + 1e-12
    assert 0.0 < combine(ps, 0.01) <= 1.0


def test_combination_is_a_valid_p_value_under_the_null() -> None:
    rng = random.Random(3)
    n = 20_000
    hits = sum(combine([rng.random() for _ in range(8)], 0.01) <= 0.01 for _ in range(n))
    assert hits / n <= 0.012  # conservative (the hybrid Bonferroni costs a factor 2 at most)


def test_hybrid_takes_the_stronger_of_fisher_and_min_p() -> None:
    assert truncated_product([0.5, 0.9], 0.05) == 1.0
    # One strong signal: min-p is the sharper test, the product dilutes it.
    single = [1e-4, 1.0, 1.0, 1.0]
    assert combine(single, 0.05) == 2 * sidak(1e-4, 4)
    assert truncated_product(single, 0.05) > sidak(1e-4, 4)
    # Several moderate signals: the truncated product is the sharper test.
    several = [0.004, 0.005, 0.006, 1.0]
    assert truncated_product(several, 0.05) < sidak(0.004, 4)
    assert combine(several, 0.05) == 2 * truncated_product(several, 0.05)


@given(st.floats(min_value=0.0, max_value=60.0), st.floats(min_value=0.0, max_value=60.0))
@settings(max_examples=200)
def test_histogram_tail_is_monotone(x: float, y: float) -> None:
    rng = random.Random(1)
    hist = LogHistogram()
    for _ in range(300):
        hist.add(int(rng.lognormvariate(2.0, 0.3)), 1.0)
    lo, hi = sorted((x, y))
    assert hist.upper_tail(hi, 0.1, 0.5) <= hist.upper_tail(lo, 0.1, 0.5) + 1e-9


def test_histogram_extrapolates_beyond_the_largest_value() -> None:
    hist = LogHistogram()
    for b in (5, 5, 6, 6, 6, 7, 7, 8):
        hist.add(b, 1.0)
    inside = hist.upper_tail(8.5, 0.1, 0.5)
    beyond = hist.upper_tail(10.0, 0.1, 0.5)
    far = hist.upper_tail(20.0, 0.1, 0.5)
    assert inside > beyond > far > 0.0


def test_categorical_rarity_is_conservative_and_recursive() -> None:
    counts = DecayedCounts()
    for tool, n in (("a", 50.0), ("b", 30.0), ("c", 2.0)):
        counts.add(tool, n)
    q_g, p_g = fleet_tail(counts, "never", 1.0, 1.0)
    assert p_g >= q_g
    q, p = level_tail(counts, "c", 1.0, 0.5, 0.5, 5.0)
    assert p >= q
    _, p_rare = level_tail(counts, "never", 1.0, q_g, p_g, 5.0)
    assert p_rare < p
    counts.add("d", 1.0, cap=4)
    counts.add("e", 1.0, cap=4)  # evicts the smallest category
    assert len(counts) == 4


def test_calibration_maps_to_the_share_of_less_extreme_traffic() -> None:
    calibrator = Calibrator(7 * 86_400.0, 64, 1.0)
    rng = random.Random(2)
    t = 1.7e9
    for i in range(5000):
        calibrator.add(rng.random(), t + i)
    calibrator.rebuild()
    # Uniform p-values: a p of 0.01 is rarer than ~99 % of them.
    assert 0.985 < calibrator.score(0.01, t + 5000) < 0.995
    assert calibrator.score(1.0, t) == 0.0
    assert calibrator.score(1e-9, t + 5000) > calibrator.score(1e-6, t + 5000)


@given(probabilities, probabilities)
def test_fisher_pair_is_the_chi_square_4_tail(p1: float, p2: float) -> None:
    x = p1 * p2
    p = fisher_pair(p1, p2)
    assert p == fisher_pair(p2, p1)
    assert math.isclose(p, min(1.0, x * (1.0 - math.log(x))), rel_tol=1e-9, abs_tol=1e-300)
    # Stronger than the product's plain probability would claim, never above either input's own
    # Fisher penalty: the conjunction of two small p-values is stronger than the smaller alone.
    assert x <= p <= 1.0
    assert p <= fisher_pair(min(p1, p2), 1.0) + 1e-15


def test_fisher_pair_is_a_valid_p_value_under_independence() -> None:
    rng = random.Random(7)
    draws = [fisher_pair(rng.random(), rng.random()) for _ in range(40_000)]
    for alpha in (0.01, 0.05, 0.2):
        share = sum(p <= alpha for p in draws) / len(draws)
        assert abs(share - alpha) < 4.0 * math.sqrt(alpha * (1 - alpha) / len(draws))


@settings(max_examples=200)
@given(
    st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=10),
    st.floats(min_value=0.0, max_value=40.0),
    st.floats(min_value=0.0, max_value=10.0),
)
def test_gap_tail_is_a_survival_function(
    bins: list[float], lo: int, pos: float, step: float
) -> None:
    hist = LogHistogram()
    for i, w in enumerate(bins):
        if w > 0.0:
            hist.add(lo + i, w)
    upper = gap_tail(hist, pos, 0.1)
    further = gap_tail(hist, pos + step, 0.1)
    assert 0.0 <= further <= upper + 1e-9 * max(1.0, hist.total)
    assert upper <= hist.total + 1e-9 * max(1.0, hist.total)


def test_gap_tail_falls_exponentially_in_days_beyond_the_data() -> None:
    hist = LogHistogram()
    rng = random.Random(3)
    for _ in range(2_000):  # pauses of a working day: exponential, mean 2 % of a day
        hist.add(math.floor(gap_position(rng.expovariate(50.0))), 1.0)
    one, two, three = (gap_tail(hist, gap_position(d), 0.1) for d in (0.5, 1.0, 1.5))
    assert one < 1e-3 * hist.total
    # Equal steps in days multiply the tail by (about) the same factor: exponential, not Pareto.
    assert math.isclose(math.log(two / one), math.log(three / two), rel_tol=1e-6)
    assert gap_days(gap_position(0.37)) == pytest.approx(0.37)
