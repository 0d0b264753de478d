"""The statistics of ``rgym compare`` on samples small enough to work out by hand.

Each test pins a number a user reads (a CI end, a p-value, an error message) whose value follows from
enumerating the few possible resamples or relabellings of a tiny sample.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gym_core.scoring.compare import (
    METRICS_BY_NAME,
    Sample,
    attempts_to_detect_mean,
    attempts_to_detect_rate,
    bootstrap_diff_ci,
    permutation_p_value,
    verdict,
)

SUCCESS = METRICS_BY_NAME["success_rate"].statistic
MEAN = METRICS_BY_NAME["mean"].statistic


def outcomes(successes: list[int]) -> Sample:
    """Attempts whose success and final score are both 0 or 1."""
    values = np.asarray(successes, dtype=float)
    return Sample(values, values.copy(), np.zeros(len(successes)), np.zeros(len(successes)))


def test_bootstrap_ci_spans_the_resampled_differences_by_hand() -> None:
    # Paired, two pairs with differences 0 and 1: a resample of the pairs has mean difference 0, 0.5 or 1
    # with probabilities 1/4, 1/2, 1/4. Each end holds 25% of the draws, more than the 5% tails, so the 90%
    # interval is (0, 1), not the single observed difference 0.5.
    assert bootstrap_diff_ci(outcomes([0, 0]), outcomes([0, 1]), SUCCESS, 1, paired=True, confidence=0.9) == (
        0.0,
        1.0,
    )
    # Unpaired, each run succeeds once in two: each run's resampled rate is 0 (1/4), 0.5 (1/2) or 1 (1/4),
    # so the difference is -1 with probability 1/16 (6.25%, more than the 2.5% tail) and +1 likewise.
    # Were either run left as it is instead of resampled, the difference could not pass +-0.5.
    assert bootstrap_diff_ci(outcomes([0, 1]), outcomes([0, 1]), SUCCESS, 1, paired=False) == (-1.0, 1.0)


def test_bootstrap_ci_cuts_half_the_missing_confidence_from_each_tail() -> None:
    # Paired, seven pairs of which three differ by 1 and four by 0: a resample has j pairs differing by 1
    # out of 7 with j ~ Binomial(7, 3/7). Below: P(j = 0) = (4/7)^7 = 2.0% and P(j <= 1) = 12.4%, so the
    # 2.5% quantile is 1/7. Above: P(j = 7) = 0.3% and P(j >= 6) = 2.7%, so the 97.5% quantile is 6/7.
    # (Tails of 5% each would give 5/7 on top; tails of 1.7% would give 0 below.)
    low, high = bootstrap_diff_ci(outcomes([0] * 7), outcomes([0, 0, 0, 0, 1, 1, 1]), SUCCESS, 1, paired=True)
    assert (low * 7, high * 7) == pytest.approx((1.0, 6.0))


def test_p_value_is_exact_when_the_draws_allow_exactly_every_relabelling() -> None:
    # Three pairs all one way: of the 2^3 = 8 swaps of pairs, only "none" and "all" reach |diff| = 1, so
    # p = 2/8 exactly. With 8 draws allowed all 8 swaps are enumerated (a Monte Carlo estimate would be
    # (1 + hits) / 9, never 1/4).
    p = permutation_p_value(outcomes([0, 0, 0]), outcomes([1, 1, 1]), SUCCESS, 1, paired=True, permutations=8)
    assert p == 2 / 8
    # Unpaired, two failures against two successes: of the C(4, 2) = 6 ways to split the pool, only the
    # observed split and its mirror reach |diff| = 1, so p = 2/6 exactly (never (1 + hits) / 7).
    p = permutation_p_value(outcomes([0, 0]), outcomes([1, 1]), SUCCESS, 1, paired=False, permutations=6)
    assert p == pytest.approx(1 / 3)


def test_monte_carlo_relabellings_split_the_pooled_attempts() -> None:
    # One success among 7 + 7 attempts: however the 14 attempts are split into two groups of 7, the
    # success lands on one side and |diff| = 1/7, as observed. So every random split is a hit and
    # p = (1 + 100) / (1 + 100) = 1 (C(14, 7) = 3432 splits > 100 draws: Monte Carlo). A draw that is not a
    # split of the pool (an attempt twice, or on both sides) could give |diff| = 0 or 2/7.
    one = [1, 0, 0, 0, 0, 0, 0]
    assert (
        permutation_p_value(outcomes(one), outcomes([0] * 7), SUCCESS, 1, paired=False, permutations=100)
        == 1.0
    )


def test_monte_carlo_p_value_counts_the_observed_labelling_once() -> None:
    # Ten failures against ten successes: only the observed split and its mirror reach |diff| = 1, and
    # 50 random splits of C(20, 10) = 184756 almost surely (odds 50 * 2/184756) miss both, as they do for
    # the fixed seed. The estimate is then (1 + 0) / (1 + 50), never 0.
    a, b = outcomes([0] * 10), outcomes([1] * 10)
    assert permutation_p_value(a, b, SUCCESS, 1, paired=False, permutations=50) == 1 / 51
    # A single draw is still an estimate: (1 + 0) / (1 + 1).
    assert permutation_p_value(a, b, SUCCESS, 1, paired=False, permutations=1) == 1 / 2


def test_a_tie_with_the_observed_difference_is_within_one_billionth_of_it() -> None:
    # Paired, two pairs with score differences d0 and d1: the four swaps give |diff| = (d0 + d1)/2 twice
    # and |d0 - d1|/2 twice, so p = 1 when the second counts as a tie and 1/2 when it does not. It is a tie
    # when it is within 1e-9 * max(1, |observed|) of the observed difference.
    def p(d0: float, d1: float) -> float:
        zero = Sample(np.ones(2), np.zeros(2), np.zeros(2), np.zeros(2))
        scores = Sample(np.ones(2), np.asarray([d0, d1]), np.zeros(2), np.zeros(2))
        return permutation_p_value(zero, scores, MEAN, 1, paired=True)

    assert p(1.0, 0.5e-9) == 1.0  # observed 0.5: 0.5e-9 apart, a tie
    assert p(1.0, 1.5e-9) == 0.5  # 1.5e-9 apart: more than 1e-9, not a tie
    assert p(20.0, 5e-9) == 1.0  # observed 10: 5e-9 apart, within 1e-9 * 10
    assert p(20.0, 2e-8) == 0.5  # 2e-8 apart, more than 1e-8


@pytest.mark.parametrize("ci", [(math.nan, 0.8), (0.2, math.nan)])
def test_verdict_with_either_end_of_the_ci_nan_is_not_estimable(ci: tuple[float, float]) -> None:
    assert verdict(0.5, ci, 0.01, higher_is_better=True) == "not estimable"


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_bootstrap_ci_rejects_a_confidence_outside_zero_one(confidence: float) -> None:
    with pytest.raises(ValueError) as raised:
        bootstrap_diff_ci(outcomes([0, 1]), outcomes([1, 1]), SUCCESS, 1, paired=False, confidence=confidence)
    assert str(raised.value) == f"confidence must be in (0, 1), got {confidence}"


def test_paired_statistics_reject_samples_of_different_sizes() -> None:
    three, two = outcomes([0, 1, 1]), outcomes([1, 1])
    message = "paired samples need the same size, got 3 and 2"
    with pytest.raises(ValueError) as raised:
        bootstrap_diff_ci(three, two, SUCCESS, 1, paired=True)
    assert str(raised.value) == message
    with pytest.raises(ValueError) as raised:
        permutation_p_value(three, two, SUCCESS, 1, paired=True)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("ci", "expected"),
    [
        ((0.0, 0.8), "no detectable difference"),  # touching 0 is not excluding it
        ((-0.8, 0.0), "no detectable difference"),
        ((0.01, 0.8), "better"),
        ((-0.8, -0.01), "worse"),
    ],
)
def test_a_verdict_needs_a_ci_that_excludes_zero_strictly(ci: tuple[float, float], expected: str) -> None:
    diff = 0.4 if ci[0] >= 0 else -0.4
    assert verdict(diff, ci, 0.01, higher_is_better=True) == expected


def test_attempts_for_a_rate_at_the_edges_by_hand() -> None:
    # 0 against 1 (z = 1.96 and 0.84): n = (1.96 * sqrt(2 * 0.5 * 0.5) + 0.84 * 0)^2 = 1.92, so 2.
    assert attempts_to_detect_rate(0.0, 1.0) == 2
    assert attempts_to_detect_rate(1.0, 1.0) == 2  # 1 against 0: the other rate may be exactly 0
    # 0.6 against 0 (0.6 + 0.6 passes 1): (1.96 * sqrt(2 * 0.3 * 0.7) + 0.84 * sqrt(0.24))^2 / 0.36 = 7.86.
    assert attempts_to_detect_rate(0.6, 0.6) == 8
    # A rate outside [0, 1] is read as the nearest possible one.
    assert attempts_to_detect_rate(1.2, 0.1) == attempts_to_detect_rate(1.0, 0.1) == 74
    assert attempts_to_detect_rate(-0.3, 0.1) == attempts_to_detect_rate(0.0, 0.1) == 74
    # A difference of more than 1 cannot be told from anything; neither can no difference.
    assert attempts_to_detect_rate(0.5, 1.5) is None
    assert attempts_to_detect_rate(0.0, 1.01) is None
    assert attempts_to_detect_rate(math.nan, 0.1) is None


def test_attempts_for_a_mean_difference_of_zero_or_less_are_not_planned() -> None:
    for delta in (0.0, -0.1):
        assert attempts_to_detect_mean(0.5, delta, paired=True) is None
        assert attempts_to_detect_mean(0.5, delta, paired=False) is None
