"""pass@k, pass^k and the bootstrap CI against hand-computed values and their defining properties."""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gym_core.scoring.estimators import (
    bootstrap_ci,
    mean,
    median,
    pass_at_k,
    pass_curves,
    pass_hat_k,
    sample_std,
)

TOL = 1e-12


@pytest.mark.parametrize(
    ("n", "c", "k", "at", "hat"),
    [
        (5, 2, 2, 1 - 3 / 10, 1 / 10),  # 1 - C(3,2)/C(5,2), C(2,2)/C(5,2)
        (10, 5, 3, 1 - 10 / 120, 10 / 120),  # C(5,3) = 10, C(10,3) = 120
        (10, 3, 1, 0.3, 0.3),
        (4, 0, 2, 0.0, 0.0),
        (4, 4, 3, 1.0, 1.0),
        (6, 3, 4, 1.0, 0.0),  # every 4-subset of 6 holds a success; none is all successes
        (3, 3, 3, 1.0, 1.0),
    ],
)
def test_hand_computed_values(n: int, c: int, k: int, at: float, hat: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(at, abs=TOL)
    assert pass_hat_k(n, c, k) == pytest.approx(hat, abs=TOL)


def test_large_n_matches_exact_binomials() -> None:
    n, c, k = 2000, 1000, 100
    exact_at = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
    exact_hat = Fraction(math.comb(c, k), math.comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(exact_at), rel=1e-9)
    assert pass_hat_k(n, c, k) == pytest.approx(float(exact_hat), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (2, 1, 3), (4, 4, 5)])
def test_nan_when_fewer_attempts_than_k(n: int, c: int, k: int) -> None:
    assert math.isnan(pass_at_k(n, c, k))
    assert math.isnan(pass_hat_k(n, c, k))


@pytest.mark.parametrize(
    ("n", "c", "k", "message"),
    [
        (3, 4, 1, "need 0 <= c <= n, got n=3, c=4"),
        (3, -1, 1, "need 0 <= c <= n, got n=3, c=-1"),
        (3, 1, 0, "k must be >= 1, got 0"),
        (-1, 0, 1, "need 0 <= c <= n, got n=-1, c=0"),
    ],
)
def test_impossible_counts_are_refused(n: int, c: int, k: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        pass_at_k(n, c, k)
    with pytest.raises(ValueError, match=re.escape(message)):
        pass_hat_k(n, c, k)


counts = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))
)


@given(counts)
def test_both_in_unit_interval_and_hat_below_at(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    at, hat = pass_at_k(n, c, k), pass_hat_k(n, c, k)
    assert 0.0 <= hat <= 1.0
    assert 0.0 <= at <= 1.0
    assert hat <= at + TOL


@given(counts)
def test_monotone_in_c(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    if c == n:
        return
    assert pass_at_k(n, c + 1, k) >= pass_at_k(n, c, k) - TOL
    assert pass_hat_k(n, c + 1, k) >= pass_hat_k(n, c, k) - TOL


@given(counts)
def test_monotone_in_k(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    if k == n:
        return
    assert pass_at_k(n, c, k + 1) >= pass_at_k(n, c, k) - TOL
    assert pass_hat_k(n, c, k + 1) <= pass_hat_k(n, c, k) + TOL


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_k_equals_one_is_the_success_rate(nc: tuple[int, int]) -> None:
    n, c = nc
    assert pass_at_k(n, c, 1) == pytest.approx(c / n, abs=TOL)
    assert pass_hat_k(n, c, 1) == pytest.approx(c / n, abs=TOL)


@given(counts)
def test_nan_exactly_beyond_n(nck: tuple[int, int, int]) -> None:
    n, c, _ = nck
    assert math.isnan(pass_at_k(n, c, n + 1))
    assert math.isnan(pass_hat_k(n, c, n + 1))
    assert not math.isnan(pass_at_k(n, c, n))


def test_curves_cover_one_to_k_max_with_nan_past_n() -> None:
    at, hat = pass_curves(3, 1, 5)
    assert len(at) == len(hat) == 5
    assert at[0] == pytest.approx(1 / 3) and hat[0] == pytest.approx(1 / 3)
    assert at[2] == 1.0 and hat[2] == 0.0
    assert all(math.isnan(v) for v in (*at[3:], *hat[3:]))


def test_summary_statistics() -> None:
    assert mean([1.0, 2.0, 6.0]) == 3.0
    assert math.isnan(mean([]))
    assert sample_std([1.0, 3.0]) == pytest.approx(math.sqrt(2.0))
    assert math.isnan(sample_std([1.0]))
    assert median([0.1, 0.9, 0.5]) == 0.5
    assert math.isnan(median([]))


def test_bootstrap_is_reproducible_and_seed_dependent() -> None:
    values = [0.1, 0.4, -0.2, 0.9, 0.3, 0.35, 0.0]
    assert bootstrap_ci(values) == bootstrap_ci(values)
    assert bootstrap_ci(values, seed=1) != bootstrap_ci(values, seed=0)


def test_bootstrap_of_a_constant_is_a_point() -> None:
    assert bootstrap_ci([0.5] * 6) == (0.5, 0.5)


def test_bootstrap_needs_two_values() -> None:
    assert all(math.isnan(v) for v in bootstrap_ci([0.3]))
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_bootstrap_narrows_with_more_data() -> None:
    small = [0.0, 1.0] * 3
    large = [0.0, 1.0] * 60
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert hi_l - lo_l < hi_s - lo_s
    # Normal approximation for 120 fair coin flips: 1.96 * 0.5 / sqrt(120) ~ 0.089 each side.
    assert lo_l == pytest.approx(0.5 - 0.089, abs=0.02)
    assert hi_l == pytest.approx(0.5 + 0.089, abs=0.02)


@given(st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=2, max_size=25))
def test_bootstrap_ci_contains_the_mean(values: list[float]) -> None:
    low, high = bootstrap_ci(values, resamples=2_000)
    m = mean(values)
    assert low - 1e-9 <= m <= high + 1e-9


# --- the percentile bootstrap of docs/metrics.md, checked against what it promises ----------------------

ONE_IN_TWENTY = [0.0] * 19 + [1.0]
"""A sample whose bootstrap distribution is known exactly: a resample's mean is X/20, X ~ Binomial(20, 1/20).

P(X = 0) = 0.358, P(X <= 1) = 0.736, P(X <= 2) = 0.9245, P(X <= 3) = 0.984. So the 2.5% and 10% quantiles
of the resampled means are 0, the 90% quantile is 2/20 and the 97.5% quantile is 3/20."""


@pytest.mark.parametrize(("confidence", "expected"), [(0.95, (0.0, 0.15)), (0.80, (0.0, 0.10))])
def test_percentile_interval_is_the_quantiles_of_the_resampled_means(
    confidence: float, expected: tuple[float, float]
) -> None:
    # A normal approximation (mean +- z * se) would reach below 0, the smallest value there is, and be
    # symmetric; ignoring ``confidence`` would give the same interval at both levels.
    assert bootstrap_ci(ONE_IN_TWENTY, confidence=confidence) == pytest.approx(expected, abs=1e-12)


@given(st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=2, max_size=30))
def test_percentile_interval_never_leaves_the_range_of_the_sample(values: list[float]) -> None:
    low, high = bootstrap_ci(values, resamples=500)
    assert min(values) - 1e-9 <= low <= high <= max(values) + 1e-9


def test_percentile_interval_follows_the_skew_of_the_sample() -> None:
    # Right-skewed scores (4 successes in 40): the resampled means pile up near 0 with a long right tail,
    # so the interval reaches further above the mean (0.1) than below it: about [0.025, 0.2]. A normal
    # approximation is symmetric; the "basic" bootstrap (2 * mean - quantiles) leans the other way.
    sample = [0.0] * 36 + [1.0] * 4
    low, high = bootstrap_ci(sample)
    assert high - 0.1 > 1.2 * (0.1 - low)


def test_confidence_sets_the_width() -> None:
    # n = 200 near-normal scores: the resampled means are close to normal, so the widths scale like the
    # normal quantiles: z(0.90) / z(0.975) = 1.2816 / 1.9600 = 0.654 and z(0.995) / z(0.975) = 1.314.
    sample = np.random.default_rng(7).normal(size=200).tolist()
    width = {c: hi - lo for c in (0.5, 0.8, 0.95, 0.99) for lo, hi in [bootstrap_ci(sample, confidence=c)]}
    assert width[0.5] < width[0.8] < width[0.95] < width[0.99]
    assert width[0.8] / width[0.95] == pytest.approx(1.2816 / 1.9600, abs=0.04)
    assert width[0.99] / width[0.95] == pytest.approx(2.5758 / 1.9600, abs=0.06)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_confidence_outside_the_open_unit_interval_is_refused(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence must be in"):
        bootstrap_ci([0.1, 0.2, 0.3], confidence=confidence)


COVERAGE_DRAWS = 1000
"""Simulated runs per confidence level: enough that the observed coverage is within about 1.5 points
(two standard errors) of the true one."""


@pytest.mark.slow
@pytest.mark.parametrize(("confidence", "band"), [(0.95, (0.92, 0.97)), (0.80, (0.75, 0.85))])
def test_interval_covers_the_true_mean_at_its_confidence_level(
    confidence: float, band: tuple[float, float]
) -> None:
    # 1000 runs of n = 40 attempts with scores drawn from Uniform(0, 1), whose true mean is 0.5. The
    # percentile bootstrap under-covers a little at small n (about 94% for a 95% interval here): the band
    # allows that, and fails both an interval that ignores ``confidence`` and one that is much too narrow.
    rng = np.random.default_rng(2024)
    hits = 0
    for draw in range(COVERAGE_DRAWS):
        sample = rng.uniform(0.0, 1.0, size=40).tolist()
        low, high = bootstrap_ci(sample, confidence=confidence, resamples=2_000, seed=draw)
        hits += low <= 0.5 <= high
    assert band[0] <= hits / COVERAGE_DRAWS <= band[1]


def test_resampling_in_chunks_gives_the_one_shot_interval() -> None:
    # 500 scores: the resamples are drawn in 3 chunks (at most 2e6 draws each). Drawing them in chunks must
    # give exactly the interval of one 10,000 x 500 draw from the same seeded generator.
    sample = np.random.default_rng(1).normal(size=500)
    one_shot = sample[np.random.default_rng(0).integers(0, 500, size=(10_000, 500))].mean(axis=1)
    expected = np.quantile(one_shot, [0.025, 0.975])
    assert bootstrap_ci(sample.tolist()) == pytest.approx(tuple(expected), abs=1e-12)


def test_median_of_nothing_is_nan_without_a_numpy_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(median([]))
        assert math.isnan(mean([]))
        assert math.isnan(sample_std([0.5]))


@pytest.mark.parametrize("resamples", [1, 2, 5])
def test_every_resample_counts(resamples: int) -> None:
    # Few resamples: each one moves the interval, so none may be skipped or left unset.
    sample = np.array([0.1, 0.4, -0.2, 0.9, 0.3])
    means = sample[np.random.default_rng(0).integers(0, 5, size=(resamples, 5))].mean(axis=1)
    expected = tuple(np.quantile(means, [0.025, 0.975]))
    assert bootstrap_ci(sample.tolist(), resamples=resamples) == pytest.approx(expected, abs=1e-12)
