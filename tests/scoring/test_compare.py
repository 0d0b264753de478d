"""The statistics of ``rgym compare``: bootstrap CIs, permutation p-values, verdicts and power notes.

Exact p-values are checked against an independent brute force over every relabelling; the power formulas
against the power they promise; the rest by the symmetries a comparison must have.
"""

from __future__ import annotations

import itertools
import math
import warnings
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_core.scoring.compare import (
    ALPHA,
    DETECT,
    METRICS_BY_NAME,
    Pairing,
    PowerNote,
    Sample,
    attempts_to_detect_mean,
    attempts_to_detect_rate,
    bootstrap_diff_ci,
    comparability_problem,
    compare_runs,
    pair_by_seed,
    permutation_p_value,
    statistic_of,
    verdict,
)
from gym_core.scoring.metrics import REGRESSION_MARGIN
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData

SUCCESS = METRICS_BY_NAME["success_rate"].statistic
MEAN = METRICS_BY_NAME["mean"].statistic


def attempt(
    seed: int | None, final: float | None, *, bar: float = 0.5, validated: float | None = None
) -> Attempt:
    evals = []
    if validated is not None:
        evals.append(EvalPoint(step_index=1, t_s=1.0, kind="validate", raw=None, normalized=validated))
    evals.append(EvalPoint(step_index=2, t_s=2.0, kind="submit", raw=None, normalized=final))
    return Attempt(
        episode_id=f"ep-{seed}-{final}",
        index=seed or 0,
        seed=seed,
        status="submitted",
        failure_kind=None if final is not None else "invalid_submission",
        final_raw=None,
        final_normalized=final,
        succeeded=final is not None and final >= bar,
        evaluations=tuple(evals),
        wall_time_s=10.0,
        wall_budget_s=100.0,
        steps=3,
    )


def run(
    run_id: str,
    finals: list[float | None],
    *,
    seeds: list[int | None] | None = None,
    k: int | None = None,
    checksum: str = "sha256:aa",
    version: int = 1,
    task: str = "tiny-mean",
) -> RunData:
    seeds = seeds if seeds is not None else list(range(len(finals)))
    return RunData(
        run_id=run_id,
        task_id=task,
        task_version=version,
        task_checksum=checksum,
        agent=run_id,
        metric_name="abs_error",
        direction="minimize",
        baseline_raw=5.0,
        reference_raw=0.0,
        success_threshold=0.5,
        k=k if k is not None else len(finals),
        perturbations={},
        attempts=tuple(attempt(s, f) for s, f in zip(seeds, finals, strict=True)),
    )


def sample(successes: list[int], finals: list[float] | None = None) -> Sample:
    finals = finals if finals is not None else [float(s) for s in successes]
    return Sample(
        np.asarray(successes, dtype=float),
        np.asarray(finals, dtype=float),
        np.zeros(len(successes)),
        np.zeros(len(successes)),
    )


def brute_force_p(a: list[float], b: list[float], *, paired: bool) -> float:
    """Two-sided permutation p-value of mean(b) - mean(a), by enumerating every relabelling in plain Python."""

    def diff(xs: list[float], ys: list[float]) -> float:
        return sum(ys) / len(ys) - sum(xs) / len(xs)

    observed = abs(diff(a, b))
    hits = total = 0
    if paired:
        for swaps in itertools.product((False, True), repeat=len(a)):
            xs = [y if s else x for x, y, s in zip(a, b, swaps, strict=True)]
            ys = [x if s else y for x, y, s in zip(a, b, swaps, strict=True)]
            total += 1
            hits += abs(diff(xs, ys)) >= observed - 1e-9
    else:
        pool = a + b
        for chosen in itertools.combinations(range(len(pool)), len(a)):
            rest = [i for i in range(len(pool)) if i not in chosen]
            total += 1
            hits += abs(diff([pool[i] for i in chosen], [pool[i] for i in rest])) >= observed - 1e-9
    return hits / total


binary = st.lists(st.integers(0, 1), min_size=1, max_size=7)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_exact_paired_p_value_equals_brute_force(data: st.DataObject) -> None:
    a = data.draw(binary)
    b = data.draw(st.lists(st.integers(0, 1), min_size=len(a), max_size=len(a)))
    p = permutation_p_value(sample(a), sample(b), SUCCESS, 1, paired=True)
    assert p == pytest.approx(brute_force_p([float(x) for x in a], [float(x) for x in b], paired=True))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1, 2, allow_nan=False), min_size=1, max_size=5),
    st.lists(st.floats(-1, 2, allow_nan=False), min_size=1, max_size=5),
)
def test_exact_unpaired_p_value_of_the_mean_equals_brute_force(a: list[float], b: list[float]) -> None:
    sa = sample([1] * len(a), a)
    sb = sample([1] * len(b), b)
    p = permutation_p_value(sa, sb, MEAN, 1, paired=False)
    assert p == pytest.approx(brute_force_p(a, b, paired=False))


@pytest.mark.parametrize("n", [3, 5, 6, 8, 12])
def test_all_pairs_one_way_has_the_smallest_exact_p_value(n: int) -> None:
    p = permutation_p_value(sample([0] * n), sample([1] * n), SUCCESS, 1, paired=True)
    assert p == pytest.approx(2 / 2**n)


def test_monte_carlo_p_value_is_close_to_exact_and_never_zero() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0, 1.0, 14), rng.normal(0.6, 1.0, 14)
    sa, sb = sample([1] * 14, list(a)), sample([1] * 14, list(b))
    # 2^14 relabellings: more than the default draws, so this one is Monte Carlo.
    mc = permutation_p_value(sa, sb, MEAN, 1, paired=True)
    exact = permutation_p_value(sa, sb, MEAN, 1, paired=True, permutations=2**14)
    assert 0.001 < exact < 0.5
    assert mc != exact
    assert abs(mc - exact) < 4 * math.sqrt(exact * (1 - exact) / 10_000)
    extreme = permutation_p_value(
        sample([1] * 20, [0.0] * 20), sample([1] * 20, [1.0] * 20), MEAN, 1, paired=True
    )
    assert extreme == pytest.approx(1 / 10_001)


@settings(max_examples=40, deadline=None)
@given(binary, binary, st.booleans())
def test_swapping_the_runs_negates_the_difference_and_keeps_the_p_value(
    a: list[int], b: list[int], paired: bool
) -> None:
    if paired:
        b = (b * len(a))[: len(a)]
    sa, sb = sample(a), sample(b)
    ab = bootstrap_diff_ci(sa, sb, SUCCESS, 1, paired=paired, resamples=500)
    ba = bootstrap_diff_ci(sb, sa, SUCCESS, 1, paired=paired, resamples=500)
    if paired:  # the same resampled pairs, negated
        assert ba == pytest.approx((-ab[1], -ab[0]))
    assert permutation_p_value(sa, sb, SUCCESS, 1, paired=paired) == pytest.approx(
        permutation_p_value(sb, sa, SUCCESS, 1, paired=paired)
    )


@settings(max_examples=40, deadline=None)
@given(binary, binary, st.booleans())
def test_the_ci_of_a_success_rate_difference_is_ordered_and_in_range(
    a: list[int], b: list[int], paired: bool
) -> None:
    if paired:
        b = (b * len(a))[: len(a)]
    low, high = bootstrap_diff_ci(sample(a), sample(b), SUCCESS, 1, paired=paired, resamples=500)
    assert -1.0 <= low <= high <= 1.0


def test_identical_runs_have_p_one_and_a_zero_width_ci_when_paired() -> None:
    s = sample([1, 0, 1, 1, 0])
    assert permutation_p_value(s, s, SUCCESS, 1, paired=True) == 1.0
    assert bootstrap_diff_ci(s, s, SUCCESS, 1, paired=True, resamples=200) == (0.0, 0.0)


def test_a_metric_with_no_value_is_not_estimable() -> None:
    invalid = sample([0, 0, 0], [math.nan] * 3)
    valid = sample([1, 1, 1], [0.9, 0.8, 1.0])
    assert math.isnan(permutation_p_value(invalid, valid, MEAN, 1, paired=True))
    assert all(math.isnan(x) for x in bootstrap_diff_ci(invalid, valid, MEAN, 1, paired=True, resamples=100))
    assert verdict(math.nan, (math.nan, math.nan), math.nan, higher_is_better=True) == "not estimable"


def test_pass_at_k_is_nan_below_k_attempts() -> None:
    assert math.isnan(statistic_of("pass_at_k", sample([1, 0]), 3))
    assert statistic_of("pass_at_k", sample([1, 0, 0]), 2) == pytest.approx(1 - 1 / 3)
    assert statistic_of("pass_hat_k", sample([1, 1, 0]), 2) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("diff", "ci", "p", "higher", "expected"),
    [
        (0.5, (0.2, 0.8), 0.01, True, "better"),
        (0.5, (0.2, 0.8), 0.01, False, "worse"),
        (-0.5, (-0.8, -0.2), 0.01, False, "better"),
        (-0.5, (-0.8, -0.2), 0.01, True, "worse"),
        (0.5, (-0.1, 0.8), 0.01, True, "no detectable difference"),  # the CI disagrees with the test
        (0.5, (0.2, 0.8), 0.05, True, "no detectable difference"),  # p must be below alpha
    ],
)
def test_verdict(diff: float, ci: tuple[float, float], p: float, higher: bool, expected: str) -> None:
    assert verdict(diff, ci, p, higher_is_better=higher) == expected


def _rate_power(p1: float, p2: float, n: int, alpha: float = 0.05) -> float:
    z = NormalDist()
    pbar = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return z.cdf(
        (abs(p2 - p1) * math.sqrt(n) - z.inv_cdf(1 - alpha / 2) * math.sqrt(2 * pbar * (1 - pbar))) / spread
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.05, 0.5))
def test_attempts_for_a_rate_reach_the_promised_power_and_no_fewer_would(rate: float, delta: float) -> None:
    n = attempts_to_detect_rate(rate, delta)
    assert n is not None
    p2 = rate + delta if rate + delta <= 1 else rate - delta
    assert _rate_power(rate, p2, n) >= 0.8 - 1e-9
    if n > 2:
        assert _rate_power(rate, p2, n - 1) < 0.8


def test_attempts_for_a_rate_matches_the_textbook_value() -> None:
    # 0.5 against 0.6, two-sided 5%, 80% power: 385 per group without continuity correction (Fleiss).
    assert attempts_to_detect_rate(0.5, 0.1) in (385, 386, 387, 388)
    assert attempts_to_detect_rate(0.5, 0.0) is None


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 2.0), st.floats(0.01, 1.0), st.booleans())
def test_attempts_for_a_mean_reach_the_promised_power(sd: float, delta: float, paired: bool) -> None:
    n = attempts_to_detect_mean(sd, delta, paired=paired)
    assert n is not None
    z = NormalDist()
    factor = 1.0 if paired else 2.0

    def power(m: int) -> float:
        return z.cdf(delta * math.sqrt(m / factor) / sd - z.inv_cdf(0.975))

    assert power(n) >= 0.8 - 1e-9
    if n > 2:
        assert power(n - 1) < 0.8
    assert attempts_to_detect_mean(0.0, delta, paired=paired) is None


def test_pairing_by_seed() -> None:
    a = [attempt(s, 1.0) for s in (0, 1, 2, 3)]
    b = [attempt(s, 0.0) for s in (2, 3, 4, 0)]
    pairs = pair_by_seed(a, b)
    assert pairs is not None
    assert [(x.seed, y.seed) for x, y in pairs] == [(0, 0), (2, 2), (3, 3)]
    assert pair_by_seed(a, [attempt(9, 0.0), attempt(0, 0.0)]) is None  # one match is not a pairing
    assert pair_by_seed(a, [attempt(0, 0.0), attempt(0, 1.0), attempt(1, 0.0)]) is None  # ambiguous
    assert pair_by_seed([attempt(None, 1.0)] * 3, [attempt(None, 1.0)] * 3) is None


def test_compare_runs_pairs_and_decides() -> None:
    base = run("A", [0.0] * 6)
    better = run("B", [1.0] * 6)
    result = compare_runs(base, better)
    assert result.pairing.paired and result.pairing.pairs == 6
    assert result.exact_p and result.relabellings == 64
    head = result.headline
    assert (head.a, head.b, head.diff) == (0.0, 1.0, 1.0)
    assert head.p_value == pytest.approx(2 / 64)
    assert head.verdict == "better"
    # Five pairs cannot reach p < 0.05: the same outcome is not detectable.
    five = compare_runs(run("A", [0.0] * 5), run("B", [1.0] * 5))
    assert five.headline.p_value == pytest.approx(2 / 32)
    assert five.headline.verdict == "no detectable difference"
    assert compare_runs(better, base).headline.verdict == "worse"


def test_compare_runs_without_matching_seeds_is_unpaired() -> None:
    a = run("A", [0.0, 0.0, 1.0, 0.0], seeds=[10, 11, 12, 13])
    b = run("B", [1.0, 1.0, 1.0], seeds=[20, 21, 22])
    result = compare_runs(a, b)
    assert not result.pairing.paired
    assert (result.pairing.n_a, result.pairing.n_b) == (4, 3)
    assert result.relabellings == math.comb(7, 4)
    assert result.headline.p_value == pytest.approx(
        brute_force_p([0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0], paired=False)
    )


def test_unmatched_seeds_are_left_out_and_counted() -> None:
    a = run("A", [0.0, 0.0, 0.0, 0.0], seeds=[0, 1, 2, 3])
    b = run("B", [1.0, 1.0, 1.0], seeds=[1, 2, 3])
    result = compare_runs(a, b)
    assert result.pairing.paired
    assert (result.pairing.pairs, result.pairing.unmatched_a, result.pairing.unmatched_b) == (3, 1, 0)


def test_comparability() -> None:
    a = run("A", [0.0])
    assert comparability_problem(a, run("B", [0.0])) is None
    assert "task" in (comparability_problem(a, run("B", [0.0], task="other")) or "")
    assert "v2" in (comparability_problem(a, run("B", [0.0], version=2)) or "")
    assert "changed" in (comparability_problem(a, run("B", [0.0], checksum="sha256:bb")) or "")


# --- numbers worked out by hand (each kills a mutant of compare.py that the tests above let through) ---


def test_sample_of_reads_success_final_validation_and_regression_by_hand() -> None:
    fell_exactly_the_margin = 0.8 - REGRESSION_MARGIN
    attempts = [
        attempt(0, 0.9, validated=0.7),  # success, kept its best
        attempt(1, 0.2, validated=0.8),  # fell 0.6 below its best validation: a regression
        attempt(2, None, validated=0.6),  # validated, then no valid submission: a regression
        attempt(3, 0.4),  # never validated: its submit grading is not a validation
        attempt(4, fell_exactly_the_margin, validated=0.8),  # fell by the margin, not more: no regression
        attempt(5, 0.8, validated=0.8),  # kept its best exactly
    ]
    s = Sample.of(attempts)
    assert s.size == 6
    assert s.success.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    assert s.final.tolist()[:2] == [0.9, 0.2]
    assert math.isnan(s.final[2])
    assert s.final.tolist()[3:] == [0.4, fell_exactly_the_margin, 0.8]
    assert s.validated.tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert s.regressed.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert statistic_of("regression_rate", s, 2) == pytest.approx(2 / 5)


def test_each_metric_of_a_sample_by_hand() -> None:
    s = Sample(
        success=np.asarray([1.0, 0.0, 0.0, 1.0]),
        final=np.asarray([0.9, np.nan, 0.2, 0.5]),
        validated=np.asarray([1.0, 1.0, 0.0, 1.0]),
        regressed=np.asarray([0.0, 1.0, 0.0, 0.0]),
    )
    # n = 4, c = 2, k = 2: pass@2 = 1 - C(2,2)/C(4,2) = 5/6, pass^2 = C(2,2)/C(4,2) = 1/6.
    expected = {
        "success_rate": 0.5,
        "pass_at_k": 5 / 6,
        "pass_hat_k": 1 / 6,
        "flicker": 4 / 6,
        "mean": (0.9 + 0.2 + 0.5) / 3,
        "best_of_k": 0.9,
        "worst_of_k": 0.2,
        "regression_rate": 1 / 3,
    }
    assert {name: statistic_of(name, s, 2) for name in expected} == pytest.approx(expected)
    # k = n: still estimable (pass@4 with 2 successes is 1, pass^4 is 0).
    assert statistic_of("pass_at_k", s, 4) == 1.0
    assert statistic_of("pass_hat_k", s, 4) == 0.0
    assert statistic_of("best_of_k", s, 4) == 0.9
    assert statistic_of("worst_of_k", s, 4) == 0.2


def test_metrics_of_several_draws_are_taken_row_by_row() -> None:
    s = Sample(
        success=np.asarray([1.0, 0.0, 1.0]),
        final=np.asarray([0.9, np.nan, 0.3]),
        validated=np.asarray([1.0, 0.0, 1.0]),
        regressed=np.asarray([1.0, 0.0, 0.0]),
    )
    draws = s.take(np.asarray([[0, 0], [1, 1], [0, 1], [1, 2]], dtype=np.intp))
    best = METRICS_BY_NAME["best_of_k"].statistic(draws, 2)
    assert best[[0, 2, 3]].tolist() == [0.9, 0.9, 0.3]
    assert math.isnan(best[1])  # no valid score in the draw
    worst = METRICS_BY_NAME["worst_of_k"].statistic(draws, 2)
    assert worst[[0, 2, 3]].tolist() == [0.9, 0.9, 0.3]
    regression = METRICS_BY_NAME["regression_rate"].statistic(draws, 2)
    # Draw by draw: 2 of 2 validated attempts regressed; none validated; 1 of 1; 0 of 1.
    assert regression[[0, 2, 3]].tolist() == [1.0, 1.0, 0.0]
    assert math.isnan(regression[1])
    # Below k attempts per draw, every draw of pass@k, pass^k, flicker, best and worst is NaN.
    for name in ("pass_at_k", "pass_hat_k", "flicker", "best_of_k", "worst_of_k"):
        values = METRICS_BY_NAME[name].statistic(draws, 3)
        assert values.shape == (4,)
        assert np.isnan(values).all(), name


def test_best_and_worst_with_no_valid_score_are_nan() -> None:
    s = sample([0, 0], [math.nan, math.nan])
    assert math.isnan(statistic_of("best_of_k", s, 2))
    assert math.isnan(statistic_of("worst_of_k", s, 2))


def test_pairs_are_in_seed_order_whatever_the_order_of_the_attempts() -> None:
    a = [attempt(s, 1.0) for s in (2, 1, 0)]
    b = [attempt(s, 0.0) for s in (0, 2, 1)]
    pairs = pair_by_seed(a, b)
    assert pairs is not None
    assert [(x.seed, y.seed) for x, y in pairs] == [(0, 0), (1, 1), (2, 2)]
    two = pair_by_seed(a, [attempt(1, 0.0), attempt(2, 0.0)])
    assert two is not None and len(two) == 2  # two matching seeds are enough
    # A seed repeated in A makes the pairing ambiguous too.
    assert pair_by_seed([attempt(0, 1.0), attempt(0, 0.0), attempt(1, 1.0)], b) is None


def test_compare_runs_reports_its_pairing_and_its_inputs() -> None:
    paired = compare_runs(run("A", [0.0] * 4, seeds=[0, 1, 2, 3], k=3), run("B", [1.0] * 3, seeds=[1, 2, 3]))
    assert paired.pairing == Pairing(True, 3, 3, 3, 1, 0)
    assert (paired.a_run_id, paired.b_run_id, paired.k, paired.alpha) == ("A", "B", 3, ALPHA)
    unpaired = compare_runs(run("A", [0.0, 1.0, 0.0, 0.0], seeds=[10, 11, 12, 13]), run("B", [1.0] * 3))
    assert unpaired.pairing == Pairing(False, 0, 4, 3, 0, 0)
    assert unpaired.k == 3
    assert [m.name for m in unpaired.metrics] == [m.name for m in METRICS_BY_NAME.values()]
    assert [m.higher_is_better for m in unpaired.metrics] == [
        m.higher_is_better for m in METRICS_BY_NAME.values()
    ]
    assert [note.metric for note in unpaired.power] == ["success_rate", "mean"]


def test_compare_runs_uses_the_given_seed_draws_and_alpha() -> None:
    # Irregular scores, so that the bootstrap quantiles of the mean depend on the draws.
    a = run("A", [0.013, 0.271, 0.533, 0.142, 0.087, 0.719], seeds=[0, 1, 2, 3, 4, 5])
    b = run("B", [0.611, 0.934, 0.452, 0.998, 0.826, 0.377], seeds=[10, 11, 12, 13, 14, 15])
    result = compare_runs(a, b, resamples=500, permutations=50, seed=7)
    assert not result.exact_p and result.relabellings == 50  # C(12, 6) = 924 relabellings > 50
    sample_a, sample_b = Sample.of(list(a.attempts)), Sample.of(list(b.attempts))
    for m in result.metrics:
        statistic = METRICS_BY_NAME[m.name].statistic
        ci = bootstrap_diff_ci(sample_a, sample_b, statistic, 6, paired=False, resamples=500, seed=7)
        p = permutation_p_value(sample_a, sample_b, statistic, 6, paired=False, permutations=50, seed=7)
        assert m.ci == pytest.approx(ci, nan_ok=True), m.name
        assert m.p_value == pytest.approx(p, nan_ok=True), m.name
    # Printed twice, a comparison never changes.
    assert repr(compare_runs(a, b, resamples=500, permutations=50, seed=7)) == repr(result)
    # Five pairs all one way: p = 2/32, "better" at alpha 0.1 but not at 0.05.
    five_a, five_b = run("A", [0.0] * 5), run("B", [1.0] * 5)
    assert compare_runs(five_a, five_b, alpha=0.1).headline.verdict == "better"
    assert compare_runs(five_a, five_b).headline.verdict == "no detectable difference"


def test_paired_differences_are_resampled_by_pair() -> None:
    a = run("A", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    b = run("B", [0.1, 0.3, 0.5, 0.7, 0.9, 1.1])
    mean = next(m for m in compare_runs(a, b, resamples=200).metrics if m.name == "mean")
    # Every pair differs by 0.1, so every paired resample does too.
    assert mean.ci == pytest.approx((0.1, 0.1))
    # 2**6 = 64 relabellings: enumerated when the draws allow exactly that many.
    exact = compare_runs(a, b, resamples=200, permutations=64)
    assert exact.exact_p and exact.relabellings == 64


def test_power_notes_paired_by_hand() -> None:
    a = run("A", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, None])
    b = run("B", [0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 0.5])
    rate, mean = compare_runs(a, b, detect=0.05, alpha=0.1, resamples=100, permutations=100).power
    # A succeeds on 3 of 7 (scores >= 0.5).
    assert rate == PowerNote(
        "success_rate",
        0.05,
        attempts_to_detect_rate(3 / 7, 0.05, alpha=0.1),
        7,
        "A's success rate 0.43, two proportions",
    )
    assert rate.needed != attempts_to_detect_rate(3 / 7, 0.05)
    # The 7th pair has no valid score in A: the differences are 0.1 five times and 0.0 once,
    # whose sd is sqrt(1/600) = 0.0408.
    sd = math.sqrt(1 / 600)
    assert mean == PowerNote(
        "mean",
        0.05,
        attempts_to_detect_mean(sd, 0.05, paired=True, alpha=0.1),
        7,
        "the sd of the paired differences 0.041",
    )
    assert mean.needed != attempts_to_detect_mean(sd, 0.05, paired=False, alpha=0.1)
    assert mean.needed != attempts_to_detect_mean(sd, 0.05, paired=True)


def test_power_notes_unpaired_by_hand() -> None:
    a = run("A", [0.0, 1.0, 0.0, 0.0], seeds=[10, 11, 12, 13])
    b = run("B", [1.0, 1.0, None], seeds=[20, 21, 22])
    rate, mean = compare_runs(a, b, resamples=100).power
    assert (rate.have, rate.basis) == (3, "A's success rate 0.25, two proportions")
    # The pooled valid finals 0, 1, 0, 0, 1, 1 have sd sqrt(0.3) = 0.548.
    assert mean == PowerNote(
        "mean",
        DETECT,
        attempts_to_detect_mean(math.sqrt(0.3), DETECT, paired=False),
        3,
        "the sd of the final scores 0.548",
    )


def test_power_notes_without_attempts_or_spread() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning about an empty side reaches the user
        empty = compare_runs(run("A", [], k=2), run("B", [0.5, 0.5, 0.5]), resamples=100)
    assert all(math.isnan(m.a) for m in empty.metrics)
    assert (empty.power[0].needed, empty.power[0].basis) == (None, "no attempts")
    assert (empty.power[1].needed, empty.power[1].basis) == (
        None,
        "no spread of the final scores observed yet",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        no_b = compare_runs(run("A", [0.5, 0.5, 0.5]), run("B", [], k=2), resamples=100)
    assert all(math.isnan(m.b) for m in no_b.metrics)
    flat = compare_runs(run("A", [0.5] * 3), run("B", [0.5] * 3), resamples=100)
    assert flat.power[1] == PowerNote("mean", DETECT, None, 3, "no spread of the final scores observed yet")


def test_comparability_messages() -> None:
    a = run("A", [0.0], checksum="sha256:" + "a" * 64)
    assert comparability_problem(a, run("B", [0.0], version=2, checksum=a.task_checksum)) == (
        "run B used tiny-mean v2, run A v1: scores of two task versions are not comparable"
    )
    assert comparability_problem(a, run("B", [0.0], checksum="sha256:" + "b" * 64)) == (
        "run B used tiny-mean v1 with checksum sha256:bbbbb, run A with sha256:aaaaa: "
        "the task folder changed between them"
    )
