"""pass@k, pass^k and the bootstrap CI against hand-computed values and their defining properties."""

from __future__ import annotations

import math
from fractions import Fraction

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


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, -1, 1), (3, 1, 0), (-1, 0, 1)])
def test_impossible_counts_are_refused(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)
    with pytest.raises(ValueError):
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
