"""A suite report has the harness's own reliability, as every run report does: in every format, summed over the
suite run's tasks, with the exclusions flagged."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gym_core.report.suite import SuiteRunData, render_suite_report
from gym_core.scoring.run_data import FailedTry, RunData
from tests.report.synthetic import synthetic_run, synthetic_suite_run

# 12 tries: task-a's 4 attempts and 1 retry, task-b's 4 attempts and 3 retries; 5 environment failures.
HARNESS_LINE = (
    "12 tries, 5 environment failure(s) (42%): engine error 3, grader sandbox 1, sandbox lost 1; "
    "4 retried, 1 excluded"
)


def _suite() -> SuiteRunData:
    a = synthetic_run("run-a", k=4, invalid=0, task_id="task-a")
    a = replace(
        a, attempts=(replace(a.attempts[0], retried=(FailedTry("sandbox_lost", "killed"),)), *a.attempts[1:])
    )
    b = synthetic_run("run-b", k=4, invalid=0, seed=1, task_id="task-b")
    excluded = replace(
        b.attempts[1],
        status="crashed",
        failure_kind="crashed",
        final_normalized=None,
        succeeded=False,
        origin="environment",
        error_kind="engine_error",
        retried=(FailedTry("engine_error", "refused"), FailedTry("engine_error", "refused")),
    )
    retried = replace(b.attempts[2], retried=(FailedTry("grader_sandbox", "did not start"),))
    b = replace(b, attempts=(b.attempts[0], excluded, retried, b.attempts[3]))
    runs: tuple[RunData, ...] = (a, b)
    return synthetic_suite_run("01SUITE0000000000000000000", runs, suite="tiny", k=4)


@pytest.mark.parametrize("fmt", ["table", "md", "html"])
def test_every_text_format_has_the_harness_section_and_the_flag(fmt: str) -> None:
    text = " ".join(render_suite_report([_suite()], fmt).split())  # the table wraps long lines
    assert f"arness reliability: {HARNESS_LINE}" in text
    assert "1 attempt(s) excluded on task-b (1): they failed from the environment even after retries" in text


def test_json_has_the_harness_of_the_suite_run_and_of_each_task() -> None:
    (suite,) = json.loads(render_suite_report([_suite()], "json"))["suite_runs"]
    assert suite["harness"] == {
        "tries": 12,
        "environment_failures": 5,
        "error_rate": pytest.approx(5 / 12),
        "retries": 4,
        "excluded": 1,
        "by_kind": {"engine_error": 3, "grader_sandbox": 1, "sandbox_lost": 1},
    }
    a, b = suite["tasks"]
    assert (a["harness"]["tries"], a["harness"]["retries"], a["n_excluded"]) == (5, 1, 0)
    assert (b["harness"]["environment_failures"], b["harness"]["excluded"], b["n_excluded"]) == (4, 1, 1)
    assert suite["exclusion_flag"].startswith("1 attempt(s) excluded on task-b (1)")


def test_a_suite_run_without_environment_failures_says_so_and_flags_nothing() -> None:
    record = _suite().suite_run
    clean = SuiteRunData(
        suite_run=record,
        runs=(
            synthetic_run("run-a", k=3, invalid=0, task_id="task-a"),
            synthetic_run("run-b", k=3, invalid=0, task_id="task-b"),
        ),
    )
    text = " ".join(render_suite_report([clean], "md").split())
    assert "Harness reliability: 6 tries, 0 environment failure(s) (0%); 0 retried, 0 excluded." in text
    assert "excluded on" not in text
    assert json.loads(render_suite_report([clean], "json"))["suite_runs"][0]["exclusion_flag"] is None
