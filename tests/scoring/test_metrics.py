"""compute_metrics and the robustness pairing on small runs whose every metric is computed by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gym_core.scoring.estimators import bootstrap_ci
from gym_core.scoring.metrics import REGRESSION_MARGIN, SCALAR_METRICS, compute_metrics
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
    # Each n/a says why; reports print these reasons verbatim.
    assert m.na_reasons == {
        "best_of_k": "no valid final score",
        "worst_of_k": "no valid final score",
        "best_attempt": "no valid validate call",
        "mean": "no valid final score",
        "mean_ci": "fewer than 2 valid final scores",
        "std": "fewer than 2 valid final scores",
        "regression_rate": "no attempt validated",
        "method_consistency": "fewer than 2 successful attempts whose known workspace diff changed code",
    }
    assert m.failure_kinds["no_submission"] == 1


def test_single_valid_score_has_no_spread() -> None:
    m = compute_metrics(run([attempt(0, 0.3)]))
    assert m.mean == 0.3
    assert math.isnan(m.std) and all(math.isnan(v) for v in m.mean_ci)
    assert "mean_ci" in m.na_reasons
    # Its submit call is not a validate call: nothing to regress from.
    assert m.n_validated == 0 and math.isnan(m.regression_rate)


def test_unknown_failure_kinds_are_kept() -> None:
    m = compute_metrics(run([attempt(0, None, failure_kind="grader_error")]))
    assert m.failure_kinds["grader_error"] == 1


def test_success_follows_the_attempt_flag() -> None:
    # The threshold lives in the task; the store already decided success per attempt.
    m = compute_metrics(run([attempt(0, 0.3, threshold=0.5), attempt(1, 0.6, threshold=0.5)]))
    assert m.c == 1


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="run r1: k must be >= 1, got 0"):
        compute_metrics(run([attempt(0, 0.3)], k=0))


def test_value_rejects_unknown_names(five: RunData) -> None:
    with pytest.raises(KeyError, match="'n'"):
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


# --- environment failures: retried, then excluded, never the agent's ---------------------------------


def test_retried_environment_failures_are_counted_in_the_harness_not_against_the_agent() -> None:
    from gym_core.scoring.run_data import FailedTry

    retried = replace(attempt(1, 0.9), retried=(FailedTry("sandbox_lost", "killed from outside"),))
    m = compute_metrics(run([attempt(0, 0.8), retried, attempt(2, 0.7)], k=3))
    assert (m.n, m.c, m.n_excluded) == (3, 3, 0)
    assert m.pass_hat_k == 1.0 and m.failure_kinds["crashed"] == 0
    h = m.harness
    assert (h.tries, h.environment_failures, h.retries, h.excluded) == (4, 1, 1, 0)
    assert h.by_kind == {"sandbox_lost": 1} and h.error_rate == pytest.approx(0.25)


def test_an_attempt_still_failing_from_the_environment_is_excluded_and_flagged() -> None:
    from gym_core.report.formatting import counts_text, exclusion_flag, harness_text
    from gym_core.scoring.run_data import FailedTry

    excluded = replace(
        attempt(2, None, status="crashed", failure_kind="crashed"),
        origin="environment",
        error_kind="engine_error",
        retried=(FailedTry("engine_error", "exec refused"),),
    )
    agent_crash = replace(attempt(3, None, status="crashed", failure_kind="crashed"), origin="agent")
    m = compute_metrics(run([attempt(0, 0.8), attempt(1, 0.9), excluded, agent_crash], k=3))
    assert (m.n, m.c, m.n_excluded, m.n_pending) == (3, 2, 1, 0)
    assert m.failure_kinds["crashed"] == 1  # the agent's own crash only
    assert m.pass_hat_k == 0.0  # over the three that count: 0 and 1 succeed, 3 crashed
    assert (m.harness.environment_failures, m.harness.retries, m.harness.excluded) == (2, 1, 1)
    assert m.harness.by_kind == {"engine_error": 2}
    assert "1 excluded (environment failures, not the agent's)" in counts_text(m)
    assert harness_text(m) == "5 tries, 2 environment failure(s) (40%): engine error 2; 1 retried, 1 excluded"
    flag = exclusion_flag(m)
    assert flag is not None and "pass@3 and pass^3 are over the other 3" in flag


def test_exclusions_that_leave_n_below_k_make_the_k_metrics_nan_with_the_reason() -> None:
    excluded = replace(attempt(1, None, status="crashed"), origin="environment", error_kind="sandbox_lost")
    m = compute_metrics(run([attempt(0, 0.8), excluded], k=2))
    assert m.n == 1 and math.isnan(m.pass_hat_k)
    assert m.na_reasons["pass_hat_k"] == "n < k: 1 of 2 finished (1 excluded as environment failures)"


OTHER_METHOD = {"m.py": ("", "iso = IsotonicRegression().fit(scores, labels)\n")}


def test_method_consistency_compares_only_the_successful_attempts() -> None:
    # Two successes wrote the same code; two failures wrote something else, and one of them even matches
    # nothing. Only the successes count: consistency 1.0 over 2, not the mean over all 4 attempts (1/3).
    m = compute_metrics(
        run(
            [
                attempt(0, 0.8, diff=SAME_METHOD),
                attempt(1, -0.3, diff=OTHER_METHOD),
                attempt(2, 0.4, diff=SAME_METHOD),
                attempt(3, None, diff=OTHER_METHOD, failure_kind="invalid_submission"),
            ]
        )
    )
    assert m.c == 2
    assert (m.method_consistency, m.n_compared) == (1.0, 2)


def test_method_consistency_skips_successes_without_a_known_diff() -> None:
    m = compute_metrics(
        run([attempt(0, 0.8, diff=SAME_METHOD), attempt(1, 0.9), attempt(2, 0.7, diff=OTHER_METHOD)])
    )
    assert (m.method_consistency, m.n_compared) == (0.0, 2)


def test_method_consistency_needs_two_successes() -> None:
    m = compute_metrics(run([attempt(0, 0.8, diff=SAME_METHOD), attempt(1, -0.5, diff=SAME_METHOD)]))
    assert math.isnan(m.method_consistency) and m.n_compared == 1
    assert m.na_reasons["method_consistency"] == (
        "fewer than 2 successful attempts whose known workspace diff changed code"
    )


def test_metrics_name_their_run() -> None:
    m = compute_metrics(run([attempt(0, 0.3)], run_id="r9", task_id="task-x", agent="agent-y"))
    assert (m.run_id, m.task_id, m.agent) == ("r9", "task-x", "agent-y")


def test_flicker_is_capability_minus_reliability() -> None:
    # n = 4, c = 2, K = 2: pass@2 = 1 - C(2,2)/C(4,2) = 5/6, pass^2 = C(2,2)/C(4,2) = 1/6.
    m = compute_metrics(run([attempt(0, 0.5), attempt(1, 0.2), attempt(2, -0.1), attempt(3, -0.3)], k=2))
    assert (m.pass_at_k, m.pass_hat_k) == pytest.approx((5 / 6, 1 / 6))
    assert m.flicker == pytest.approx(4 / 6)


def test_a_drop_of_exactly_the_margin_is_not_a_regression() -> None:
    best = 0.8
    m = compute_metrics(
        run(
            [
                attempt(0, best - REGRESSION_MARGIN, validates=(best,)),
                attempt(1, best - REGRESSION_MARGIN - 0.001, validates=(best,)),
            ]
        )
    )
    assert m.n_validated == 2 and m.regression_rate == 0.5


def test_budget_used_skips_attempts_without_a_wall_budget() -> None:
    no_budget = replace(attempt(0, 0.5, wall=30.0), wall_budget_s=0.0)
    short_budget = replace(attempt(1, 0.5, wall=0.25), wall_budget_s=0.5)
    m = compute_metrics(run([no_budget, short_budget]))
    assert m.budget_used == 0.5
    none = compute_metrics(run([no_budget]))
    assert math.isnan(none.budget_used)
    assert none.na_reasons["budget_used"] == "no finished attempt with a wall budget"


def test_a_non_finite_final_score_counts_as_no_score() -> None:
    m = compute_metrics(
        run([attempt(0, 0.8), attempt(1, float("inf")), attempt(2, float("nan")), attempt(3, 0.4)])
    )
    assert m.best_of_k == 0.8 and m.worst_of_k == 0.4
    assert m.mean == pytest.approx(0.6)


def test_consistency_compares_only_the_code_each_attempt_ran() -> None:
    """Both successes ran m.py, the same method; each also left a scratch script it never ran, and a third
    ran nothing it changed. Only what ran is the method, and the third has nothing to compare."""
    ran_the_method = frozenset({"m.py"})
    first = replace(
        attempt(0, 0.8, diff={**SAME_METHOD, "scratch.py": ("", "import os\nos.listdir('.')\n")}),
        executed_files=ran_the_method,
    )
    second = replace(
        attempt(1, 0.7, diff={**SAME_METHOD, "try.py": ("", "x = [i * i for i in range(9)]\nprint(x)\n")}),
        executed_files=ran_the_method,
    )
    third = replace(
        attempt(2, 0.6, diff={"notes.py": ("", "plan = 'tune the learning rate'\n")}),
        executed_files=frozenset({"other.py"}),
    )
    m = compute_metrics(run([first, second, third]))
    assert m.method_consistency == 1.0 and m.n_compared == 2


def test_an_excluded_attempt_without_an_error_kind_is_counted_as_unknown() -> None:
    lost = replace(attempt(1, None, status="crashed", failure_kind="crashed"), origin="environment")
    m = compute_metrics(run([attempt(0, 0.8), lost], k=1))
    assert m.n_excluded == 1 and m.harness.by_kind == {"unknown": 1}
