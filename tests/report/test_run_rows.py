"""The JSON of a run's and a suite run's row (``rgym runs --json``, ``rgym runs --suites --json``): every field under
its documented name, NaN as null, and no timestamp or metrics as null."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

from gym_core.report.run_rows import RunRow, SuiteRunRow
from gym_core.scoring.metrics import compute_metrics
from tests.report.synthetic import synthetic_run


def test_a_suite_runs_json_names_every_field_and_writes_nan_as_null() -> None:
    row = SuiteRunRow(
        suite_run_id="01SUITE0000000000000000000",
        suite="core",
        agent="tuner",
        status="interrupted",
        created_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        k=3,
        tasks=4,
        runs=2,
        means={"best_of_k": 0.5, "pass_at_k": math.nan},
        na_reason="no run for few-label-digits",
        problem="the store lost a run",
    )
    assert row.json() == {
        "suite_run_id": "01SUITE0000000000000000000",
        "suite": "core",
        "agent": "tuner",
        "status": "interrupted",
        "health": "bad",  # a problem outweighs the interruption
        "created_at": "2026-12-01T09:30:00+00:00",
        "k": 3,
        "tasks": 4,
        "runs": 2,
        "mean_best_of_k": 0.5,
        "mean_pass_at_k": None,
        "na_reason": "no run for few-label-digits",
        "problem": "the store lost a run",
    }


def test_a_suite_run_without_a_timestamp_or_means_has_null_for_them() -> None:
    row = SuiteRunRow(
        suite_run_id="01SUITE1",
        suite="core",
        agent="tuner",
        status="running",
        created_at=None,
        k=3,
        tasks=2,
        runs=0,
    )
    assert row.json() == {
        "suite_run_id": "01SUITE1",
        "suite": "core",
        "agent": "tuner",
        "status": "running",
        "health": "pending",
        "created_at": None,
        "k": 3,
        "tasks": 2,
        "runs": 0,
        "na_reason": None,
        "problem": None,
    }


def test_a_runs_json_gives_its_counts_and_numbers_with_nan_as_null() -> None:
    """``rgym runs --json``: an interrupted run of 4 attempts, 3 finished and 1 of those crashed (pass@4 and
    pass^4 need 4 finished attempts, so they are null)."""
    run = synthetic_run("01RUN", k=4, finished=3, invalid=0, seed=1)
    crashed = replace(
        run.attempts[0], status="crashed", failure_kind="crashed", final_normalized=None, succeeded=False
    )
    metrics = compute_metrics(replace(run, attempts=(crashed, *run.attempts[1:])))
    row = RunRow(
        run_id="01RUN",
        task_id="calibration-temperature-scaling",
        task_version=2,
        task_checksum="sha256:abc",
        agent="tuner",
        status="interrupted",
        created_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        k=4,
        perturbations={"noise": "0.1"},
        metrics=metrics,
        suite_run_id="01SUITE",
    )
    assert row.json() == {
        "run_id": "01RUN",
        "task_id": "calibration-temperature-scaling",
        "task_version": 2,
        "task_checksum": "sha256:abc",
        "agent": "tuner",
        "status": "interrupted",
        "health": "warn",
        "status_text": "interrupted (1 of 3 crashed)",
        "created_at": "2026-12-01T09:30:00+00:00",
        "k": 4,
        "n": 3,
        "c": 2,
        "n_pending": 1,
        "n_crashed": 1,
        "n_excluded": 0,
        "pass_at_k": None,
        "pass_hat_k": None,
        "flicker": None,
        "mean": metrics.mean,
        "perturbations": {"noise": "0.1"},
        "problem": None,
        "suite_run_id": "01SUITE",
    }
    assert math.isfinite(metrics.mean)
    finished = replace(
        row, status="completed", metrics=compute_metrics(synthetic_run("01RUN", k=3, invalid=0))
    )
    scores = finished.json()
    assert (scores["pass_at_k"], scores["pass_hat_k"], scores["flicker"]) == (1.0, 1.0, 0.0)


def test_a_run_that_could_not_be_scored_has_null_numbers_and_its_problem() -> None:
    row = RunRow(
        run_id="01BAD",
        task_id="t",
        task_version=1,
        task_checksum="sha256:0",
        agent="tuner",
        status="completed",
        created_at=None,
        k=3,
        problem="task folder changed",
    )
    numbers = ("n", "c", "n_pending", "n_crashed", "n_excluded", "pass_at_k", "pass_hat_k", "flicker", "mean")
    assert row.json() == {
        "run_id": "01BAD",
        "task_id": "t",
        "task_version": 1,
        "task_checksum": "sha256:0",
        "agent": "tuner",
        "status": "completed",
        "health": "ok",
        "status_text": "completed",
        "created_at": None,
        "k": 3,
        **dict.fromkeys(numbers),
        "perturbations": {},
        "problem": "task folder changed",
        "suite_run_id": None,
    }
