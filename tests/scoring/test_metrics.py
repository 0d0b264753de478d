"""compute_metrics and the robustness pairing on small runs whose every metric is computed by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gym_core.scoring.estimators import bootstrap_ci
from gym_core.scoring.metrics import SCALAR_METRICS, compute_metrics
from gym_core.scoring.robustness import find_clean_counterpart, metric_deltas
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData

SAME_METHOD = {"m.py": ("", "T = fit_temperature(logits)\n")}


def attempt(
    index: int,
    final: float | None,
    *,
    validates: tuple[float | None, ...] = (),
    status: str = "submitted",
    failure_kind: str | None = None,
    wall: float = 50.0,
    diff: dict[str, tuple[str, str]] | None = None,
    threshold: float = 0.0,
) -> Attempt:
    evals = tuple(
        EvalPoint(step_index=i, t_s=10.0 * (i + 1), kind="validate", raw=None, normalized=v)
        for i, v in enumerate(validates)
    )
    evals += (EvalPoint(step_index=99, t_s=wall, kind="submit", raw=None, normalized=final),)
    return Attempt(
        episode_id=f"e{index}",
        index=index,
        seed=index,
        status=status,
        failure_kind=failure_kind,
        final_raw=None,
        final_normalized=final,
        succeeded=final is not None and final >= threshold,
        evaluations=evals,
        wall_time_s=wall,
        wall_budget_s=100.0,
        steps=5,
        workspace_diff=diff,
    )


def run(attempts: list[Attempt], *, k: int | None = None, run_id: str = "r1", **changes: object) -> RunData:
    base = RunData(
        run_id=run_id,
        task_id="t",
        task_version=1,
        task_checksum="abc",
        agent="a",
        metric_name="acc",
        direction="maximize",
        baseline_raw=0.5,
        reference_raw=0.9,
        success_threshold=0.0,
        k=len(attempts) if k is None else k,
        perturbations={},
        attempts=tuple(attempts),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def five() -> RunData:
    """5 finished attempts: finals 0.8, 0.2, -0.4, invalid, crashed; 2 successes."""
    return run(
        [
            attempt(0, 0.8, validates=(0.5, 0.8), wall=40, diff=SAME_METHOD),
            attempt(1, 0.2, validates=(0.9,), wall=60, diff=SAME_METHOD),
            attempt(2, -0.4, validates=(-0.38,), wall=100, failure_kind="timed_out", status="truncated"),
            attempt(3, None, validates=(None,), wall=20, failure_kind="invalid_submission"),
            attempt(4, None, wall=10, failure_kind="crashed", status="crashed"),
        ]
    )


def test_counts(five: RunData) -> None:
    m = compute_metrics(five)
    assert (m.n, m.c, m.k, m.n_valid, m.n_invalid, m.n_pending) == (5, 2, 5, 3, 2, 0)


def test_capability(five: RunData) -> None:
    m = compute_metrics(five)
    assert m.best_of_k == 0.8
    assert m.pass_at_k == 1.0  # n - c = 3 < k = 5
    assert m.best_attempt == 0.9  # a validate call, not a final score


def test_reliability(five: RunData) -> None:
    m = compute_metrics(five)
    finals = [0.8, 0.2, -0.4]
    assert m.pass_hat_k == 0.0
    assert m.mean == pytest.approx(0.2)
    assert m.mean_ci == bootstrap_ci(finals)
    assert m.mean_ci[0] <= m.mean <= m.mean_ci[1]
    assert m.std == pytest.approx(0.6)
    assert m.worst_of_k == -0.4
    # Validated: 0 (0.8 vs 0.8: no), 1 (0.2 vs 0.9: yes), 2 (-0.4 vs -0.38: within 0.05, no). Attempt 3's
    # validate was invalid, so it has no best validated score and is not in the denominator.
    assert m.n_validated == 3
    assert m.regression_rate == pytest.approx(1 / 3)
    assert m.method_consistency == 1.0 and m.n_compared == 2
    assert m.failure_kinds == {
        "crashed": 1,
        "timed_out": 1,
        "oom": 0,
        "invalid_submission": 1,
        "no_submission": 0,
    }
    assert m.budget_used == 0.4  # median of 0.4, 0.6, 1.0, 0.2, 0.1
    assert m.flicker == 1.0
    assert m.na_reasons == {}


def test_curves_and_flicker(five: RunData) -> None:
    m = compute_metrics(five)
    assert len(m.pass_at_k_curve) == 5
    assert m.pass_at_k_curve[0] == pytest.approx(0.4) and m.pass_hat_k_curve[0] == pytest.approx(0.4)
    assert m.pass_at_k_curve[1] == pytest.approx(0.7) and m.pass_hat_k_curve[1] == pytest.approx(0.1)


def test_invalid_final_after_a_valid_validate_is_a_regression() -> None:
    m = compute_metrics(run([attempt(0, None, validates=(0.5,)), attempt(1, 0.5, validates=(0.5,))]))
    assert m.regression_rate == 0.5


def test_fewer_finished_than_k_is_nan_with_a_reason() -> None:
    attempts = [
        attempt(0, 0.5),
        attempt(1, 0.7),
        attempt(2, None, status="interrupted"),
        attempt(3, None, status="running"),
    ]
    m = compute_metrics(run(attempts, k=4))
    assert (m.n, m.n_pending) == (2, 2)
    for name in ("best_of_k", "pass_at_k", "pass_hat_k", "worst_of_k", "flicker"):
        assert math.isnan(m.value(name)), name
        assert m.na_reasons[name] == "n < k: 2 of 4 finished"
    # Metrics that are not "of k" still describe the attempts that finished.
    assert m.mean == pytest.approx(0.6)
    assert m.pass_at_k_curve[:2] == pytest.approx((1.0, 1.0))
    assert all(math.isnan(v) for v in m.pass_at_k_curve[2:])


def test_no_valid_scores_at_all() -> None:
    m = compute_metrics(run([attempt(0, None, failure_kind="no_submission"), attempt(1, None)]))
    assert m.pass_at_k == 0.0 and m.pass_hat_k == 0.0 and m.flicker == 0.0
    for name in (
        "best_of_k",
        "worst_of_k",
        "mean",
        "std",
        "best_attempt",
        "regression_rate",
        "method_consistency",
    ):
        assert math.isnan(m.value(name)), name
        assert name in m.na_reasons
    assert m.failure_kinds["no_submission"] == 1


def test_single_valid_score_has_no_spread() -> None:
    m = compute_metrics(run([attempt(0, 0.3)]))
    assert m.mean == 0.3
    assert math.isnan(m.std) and all(math.isnan(v) for v in m.mean_ci)
    assert "mean_ci" in m.na_reasons


def test_unknown_failure_kinds_are_kept() -> None:
    m = compute_metrics(run([attempt(0, None, failure_kind="grader_error")]))
    assert m.failure_kinds["grader_error"] == 1


def test_success_follows_the_attempt_flag() -> None:
    # The threshold lives in the task; the store already decided success per attempt.
    m = compute_metrics(run([attempt(0, 0.3, threshold=0.5), attempt(1, 0.6, threshold=0.5)]))
    assert m.c == 1


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError):
        compute_metrics(run([attempt(0, 0.3)], k=0))


def test_value_rejects_unknown_names(five: RunData) -> None:
    with pytest.raises(KeyError):
        compute_metrics(five).value("n")


def test_clean_counterpart_matches_task_version_and_agent(five: RunData) -> None:
    perturbed = replace(five, run_id="p", perturbations={"description": "terse"})
    other_agent = replace(five, run_id="x", agent="b")
    other_version = replace(five, run_id="v", task_version=2)
    other_checksum = replace(five, run_id="c1", task_checksum="zzz")
    same = replace(five, run_id="c2")
    assert find_clean_counterpart(perturbed, [perturbed, other_agent, other_version]) is None
    assert find_clean_counterpart(perturbed, [other_checksum, same]) is same
    assert find_clean_counterpart(perturbed, [other_checksum]) is other_checksum
    assert find_clean_counterpart(same, [five]) is None  # a clean run is not compared


def test_deltas_are_perturbed_minus_clean(five: RunData) -> None:
    clean = compute_metrics(five)
    worse = compute_metrics(
        replace(five, run_id="p", perturbations={"d": "x"}, attempts=five.attempts[:3], k=3)
    )
    deltas = metric_deltas(worse, clean)
    assert set(deltas) == set(SCALAR_METRICS)
    assert deltas["mean"] == pytest.approx(worse.mean - clean.mean)
    assert deltas["pass_hat_k"] == pytest.approx(worse.pass_hat_k - clean.pass_hat_k)
    short = compute_metrics(replace(five, run_id="s", k=9))
    assert math.isnan(metric_deltas(short, clean)["pass_at_k"])
