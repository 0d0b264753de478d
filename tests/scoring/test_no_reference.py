"""Metrics of a run whose task has no reference (``reference: null``): raw scores, best by direction."""

from __future__ import annotations

import math

import pytest

from gym_core.scoring.metrics import REGRESSION_MARGIN, compute_metrics
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData


def _attempt(
    index: int, final: float | None, validates: tuple[float, ...], baseline: float, maximize: bool
) -> Attempt:
    evals = tuple(
        EvalPoint(step_index=i, t_s=float(i + 1), kind="validate", raw=v, normalized=None)
        for i, v in enumerate(validates)
    )
    evals += (EvalPoint(step_index=99, t_s=50.0, kind="submit", raw=final, normalized=None),)
    beats = final is not None and (final > baseline if maximize else final < baseline)
    return Attempt(
        episode_id=f"e{index}",
        index=index,
        seed=index,
        status="submitted",
        failure_kind=None if final is not None else "invalid_submission",
        final_raw=final,
        final_normalized=None,
        succeeded=beats,
        evaluations=evals,
        wall_time_s=50.0,
        wall_budget_s=100.0,
        steps=3,
    )


def _run(direction: str, attempts: list[Attempt], baseline: float, public_baseline: float) -> RunData:
    return RunData(
        run_id="r",
        task_id="t",
        task_version=1,
        task_checksum="abc",
        agent="a",
        metric_name="m",
        direction=direction,
        baseline_raw=baseline,
        reference_raw=None,
        success_threshold=0.0,
        k=len(attempts),
        perturbations={},
        attempts=tuple(attempts),
        baseline_public_raw=public_baseline,
    )


def test_minimized_raw_scores_take_best_and_worst_by_direction() -> None:
    # rmse, baseline 10 (private) and 12 (public): lower is better.
    attempts = [
        _attempt(0, 8.0, (9.0, 11.5), 10.0, False),
        _attempt(1, 12.0, (13.0,), 10.0, False),
        _attempt(2, None, (), 10.0, False),
    ]
    m = compute_metrics(_run("minimize", attempts, 10.0, 12.0))
    assert (m.best_of_k, m.worst_of_k, m.best_attempt) == (8.0, 12.0, 9.0)
    assert m.mean == pytest.approx(10.0) and m.c == 1 and m.n_invalid == 1
    assert m.pass_at_k == 1.0 and m.pass_hat_k == 0.0
    # Gains over the split's own baseline: attempt 0 validated 12 - 9 = 3 and kept 10 - 8 = 2 (a drop of 1 >
    # 5% of 10), attempt 1 validated -1 and kept -2 (a drop of 1): both regressed.
    assert m.n_validated == 2 and m.regression_rate == 1.0


def test_maximized_raw_scores_and_the_regression_margin() -> None:
    margin = REGRESSION_MARGIN * 0.8
    attempts = [
        _attempt(0, 0.85, (0.80,), 0.8, True),  # public gain 0.80 - 0.78 = 0.02 <= private gain 0.05: kept
        _attempt(1, 0.80 - margin / 2, (0.78,), 0.8, True),  # drop of margin/2: within the margin
        _attempt(2, 0.70, (0.80,), 0.8, True),  # gain 0.02 -> -0.10: regressed
    ]
    m = compute_metrics(_run("maximize", attempts, 0.8, 0.78))
    assert (m.best_of_k, m.worst_of_k, m.best_attempt) == (0.85, 0.70, 0.80)
    assert m.regression_rate == pytest.approx(1 / 3)
    assert m.c == 1 and not math.isnan(m.std)


def test_the_regression_margin_of_raw_scores_scales_with_the_baseline() -> None:
    # rmse with baseline 100: the margin is 5% of 100 = 5.0. Validated 90 (gain 10), kept 94 (gain 6): a
    # drop of 4 is within it. Kept 96 (gain 4): a drop of 6 is a regression.
    attempts = [_attempt(0, 94.0, (90.0,), 100.0, False), _attempt(1, 96.0, (90.0,), 100.0, False)]
    m = compute_metrics(_run("minimize", attempts, 100.0, 100.0))
    assert m.n_validated == 2 and m.regression_rate == 0.5
