"""The suite report's rules that a reader relies on: when AUP is given, why an aggregate is n/a, what every
name a warning lists is, and the one-line errors of bad input."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gym_core.errors import ConfigError
from gym_core.report import render_report
from gym_core.report.suite import SuiteRunData, build_suite_reports, render_suite_report
from gym_core.scoring.run_data import RunData
from tests.report.synthetic import synthetic_run, synthetic_suite_run

TASKS = ("calibration-temperature-scaling", "bandit-bernoulli-regret", "few-label-digits")


def _suite(
    n: int, *, tasks: tuple[str, ...] = TASKS, runs: tuple[RunData, ...] | None = None
) -> SuiteRunData:
    if runs is None:
        runs = tuple(
            synthetic_run(f"01SUITE{n}RUN{i}", k=3, invalid=0, seed=n * 10 + i, task_id=t)
            for i, t in enumerate(tasks)
        )
    return synthetic_suite_run(f"01SUITE{n}", runs, tasks=list(tasks), agent=f"agent-{n}")


def test_aup_needs_two_suite_runs_and_is_given_for_two() -> None:
    _, alone = build_suite_reports([_suite(0)])
    assert alone is None
    _, two = build_suite_reports([_suite(0), _suite(1)])
    assert two is not None and set(two.aup) == {"01SUITE0", "01SUITE1", "baseline"}
    assert "AUP across suite runs" in render_suite_report([_suite(0), _suite(1)], "md")
    assert "AUP" not in render_suite_report([_suite(0)], "md")


def test_every_task_without_a_run_is_named() -> None:
    short = _suite(0, runs=_suite(0).runs[:1])  # the last two tasks never ran
    (report,), _ = build_suite_reports([short])
    assert report.missing == TASKS[1:]
    assert report.na_reason() == f"no run for {TASKS[1]}, {TASKS[2]}"
    assert math.isnan(report.mean("pass_hat_k"))


def test_every_task_short_of_k_is_named() -> None:
    runs = tuple(
        synthetic_run(f"01SHORT{i}", k=3, finished=2 if i < 2 else None, invalid=0, seed=i, task_id=t)
        for i, t in enumerate(TASKS)
    )
    (report,), _ = build_suite_reports([_suite(0, runs=runs)])
    assert report.missing == ()
    assert report.na_reason() == f"fewer than K finished attempts on {TASKS[0]}, {TASKS[1]}"
    assert f"aggregate n/a: fewer than K finished attempts on {TASKS[0]}, {TASKS[1]}" in render_suite_report(
        [_suite(0, runs=runs)], "table"
    )


def test_every_task_with_excluded_attempts_is_named_with_its_count() -> None:
    def excluded(run: RunData, count: int) -> RunData:
        lost = tuple(
            replace(a, status="crashed", origin="environment", final_normalized=None, succeeded=False)
            for a in run.attempts[:count]
        )
        return replace(run, attempts=(*lost, *run.attempts[count:]))

    runs = _suite(0).runs
    flagged = _suite(0, runs=(excluded(runs[0], 1), excluded(runs[1], 2), runs[2]))
    (report,), _ = build_suite_reports([flagged])
    flag = report.exclusion_flag()
    assert flag is not None
    assert flag.startswith(f"3 attempt(s) excluded on {TASKS[0]} (1), {TASKS[1]} (2): ")


@pytest.mark.parametrize(
    ("data", "message", "hint"),
    [
        ([], "no suite runs to report", "pass at least one SUITE_RUN id"),
        ([_suite(0), _suite(0)], "a suite run is given twice", "pass each SUITE_RUN id once"),
    ],
)
def test_bad_input_is_one_error_with_its_fix(data: list[SuiteRunData], message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_suite_reports(data)
    assert (caught.value.message, caught.value.hint) == (message, hint)


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        render_suite_report([_suite(0)], "pdf")
    assert caught.value.message == "unknown report format 'pdf'"
    assert caught.value.hint == "use one of: table, json, md, html"


def test_a_pipe_in_an_agent_name_does_not_break_the_run_reports_markdown_table() -> None:
    run = replace(synthetic_run("01PIPE", k=3, invalid=0), agent="tuner|v2")
    lines = render_report([run], "md").splitlines()
    (row,) = [line for line in lines if line.startswith("| ") and "01PIPE" in line]
    assert "tuner\\|v2" in row  # escaped, so the row keeps its cells
    header = next(line for line in lines if line.startswith("| ") and "agent" in line)
    assert row.replace("\\|", "").count("|") == header.count("|")


def test_a_pipe_in_an_agent_name_does_not_break_the_aup_rows_of_the_markdown() -> None:
    data = [
        synthetic_suite_run(f"01PIPE{n}", _suite(n).runs, tasks=list(TASKS), agent=f"tuner|v{n}")
        for n in range(2)
    ]
    lines = render_suite_report(data, "md").splitlines()
    rows = [line for line in lines if line.startswith("| tuner")]
    assert [row.split(" | ")[0] for row in rows] == ["| tuner\\|v0 · 01PIPE0", "| tuner\\|v1 · 01PIPE1"]
    assert all(row.replace("\\|", "").count("|") == 3 for row in rows), rows  # two cells each


def test_an_aggregate_n_a_without_a_missing_or_short_task_states_no_made_up_reason() -> None:
    """Every attempt of the first task submitted an invalid workspace: its best of K, hence the suite's, is n/a
    although every task ran K times (na_reason() is None)."""
    runs = (
        synthetic_run("01NOFINAL0", k=3, invalid=3, task_id=TASKS[0]),
        synthetic_run("01NOFINAL1", k=3, invalid=0, seed=4, task_id=TASKS[1]),
    )
    data = [synthetic_suite_run("01SUITE9", runs)]
    (report,), _ = build_suite_reports(data)
    assert report.na_reason() is None and math.isnan(report.mean("best_of_k"))
    md = render_suite_report(data, "md")
    assert "| **mean of 2 tasks** |  |  | **n/a** | **0.500** | **0.000** |  |  | **0.500** |" in md
    for fmt_name in ("table", "md", "html"):
        text = render_suite_report(data, fmt_name)
        assert "n/a: None" not in text, fmt_name


def test_each_task_without_a_run_is_a_row_of_its_own_in_html_and_markdown() -> None:
    data = [_suite(0, runs=_suite(0).runs[:1])]  # the last two tasks never ran
    na = "<td>n/a</td>" * 7
    assert (
        f"<tr><td>{TASKS[1]}</td><td>(no run)</td>{na}</tr><tr><td>{TASKS[2]}</td><td>(no run)</td>{na}</tr>"
        in render_suite_report(data, "html")
    )
    lines = render_suite_report(data, "md").splitlines()
    assert [line for line in lines if "(no run)" in line] == [
        f"| {task} | (no run) | n/a | n/a | n/a | n/a | n/a | n/a | n/a |" for task in TASKS[1:]
    ]


def test_the_aup_note_names_each_task_left_out_after_saying_what_aup_is() -> None:
    runs = _suite(0).runs
    negative = (replace(runs[0], baseline_raw=-0.5), *runs[1:])
    data = [_suite(0, runs=negative), _suite(1, runs=negative)]
    (note,) = [line for line in render_suite_report(data, "md").splitlines() if line.startswith("AUP:")]
    assert note.startswith("AUP: area under the performance profile on [0, ")
    assert note.endswith(
        f"it compares the suite runs reported together). {TASKS[0]} left out: its baseline score -0.5 is negative; "
        "ratios need positive scores."
    )
