"""The suite report's table keeps run ids and numbers whole when piped (120 columns) or narrow (80): only the
task's name folds."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from gym_core.report import formatting as fmt
from gym_core.report.suite import SuiteRunData, build_suite_reports, print_suite_report
from gym_core.scoring.metrics import compute_metrics
from tests.report.synthetic import synthetic_run, synthetic_suite_run

RUN_IDS = ("01M8T8FMYAHKQ2V7RZ0C4X9D1E", "01M8T8FMYDYQ5W3NPB8T6H2KJF")
"""Two ids made in the same millisecond: their first twelve characters do not tell them apart."""


def _suite() -> SuiteRunData:
    runs = (
        synthetic_run(RUN_IDS[0], k=3, invalid=0, task_id="a-rather-long-task-name-for-a-narrow-terminal"),
        synthetic_run(RUN_IDS[1], k=3, invalid=0, seed=1, task_id="bandit-bernoulli-regret"),
    )
    return synthetic_suite_run("01SUITE0000000000000000000", runs)


def _printed(width: int, terminal: bool) -> tuple[SuiteRunData, str]:
    data = _suite()
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    print_suite_report(*build_suite_reports([data]), console)
    return data, out.getvalue()


def _numbers(run: Any) -> list[tuple[str, str]]:
    m = compute_metrics(run)
    return [
        (label, fmt.number(name, m.value(name)))
        for label, name in (("best of 3", "best_of_k"), ("pass@3", "pass_at_k"), ("pass^3", "pass_hat_k"))
    ] + [("mean", fmt.number("mean", m.mean))]


def test_piped_the_table_keeps_each_run_id_and_its_numbers_on_one_line() -> None:
    data, text = _printed(80, terminal=False)  # a pipe gets the fixed text width, 120
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 120
    for run in data.runs:
        (line,) = [line for line in text.splitlines() if run.run_id in line]  # whole, on one line
        assert all(value in line for _label, value in _numbers(run)), line


def test_a_narrow_terminal_gets_records_with_whole_ids_and_labelled_numbers() -> None:
    data, text = _printed(80, terminal=True)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    for run in data.runs:
        assert f"run {run.run_id}" in flat
        for label, value in _numbers(run):
            assert f"{label} {value}" in flat, (label, value)
    assert "mean of 2 tasks" in flat
