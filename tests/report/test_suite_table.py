"""The suite report's table keeps run ids and numbers whole when piped (120 columns) or narrow (80): only the
task's name folds."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

import pytest
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


def _excluded_suite() -> SuiteRunData:
    """The suite of :func:`_suite` whose first task lost an attempt to the environment: its n/K cell reads
    ``2/3 (1 excluded)``, which widens the table."""
    data = _suite()
    first, *rest = data.runs
    lost = replace(
        first.attempts[0], status="crashed", origin="environment", final_normalized=None, succeeded=False
    )
    runs = (replace(first, attempts=(lost, *first.attempts[1:])), *rest)
    return replace(data, runs=runs)


@pytest.mark.parametrize("data", [_suite(), _excluded_suite()], ids=["plain", "excluded"])
def test_at_every_width_each_task_is_named_and_no_number_is_cut(data: SuiteRunData) -> None:
    """Where the table's run ids and numbers leave fewer than 5 columns for the task's name, rich would squeeze
    the name out (then cut the numbers): the report gives records there instead."""
    reports, profiles = build_suite_reports([data])
    for width in range(96, 126):
        out = io.StringIO()
        print_suite_report(
            reports, profiles, Console(file=out, width=width, force_terminal=True, color_system=None)
        )
        text = out.getvalue()
        assert max(len(line.rstrip()) for line in text.splitlines()) <= width
        for run in data.runs:
            assert run.task_id[:5] in text, (width, run.task_id)
            (line,) = [line for line in text.splitlines() if run.run_id in line]
            assert all(
                value in line or f"{label} {value}" in " ".join(text.split())
                for label, value in _numbers(run)
            )
        assert "…" not in text, width


def test_the_table_is_drawn_from_the_width_that_leaves_5_columns_for_the_task() -> None:
    def first_line_of_a_task(width: int) -> str:
        _, text = _printed(width, terminal=True)
        return next(line for line in text.splitlines() if line.lstrip("│ ").startswith("bandi"))

    assert first_line_of_a_task(104) == "bandit-bernoulli-regret"  # a record's head line
    assert first_line_of_a_task(105).startswith(f"│ bandi │ {RUN_IDS[1]} │")


def test_a_narrow_terminal_shows_each_suite_run_whole_in_the_aup_table_with_its_aup() -> None:
    """A long agent name wraps onto its own line rather than cutting the id, whose end is what tells ids made
    together apart, or pushing the AUP column off the table; narrower than the id, the id folds."""
    agent = "claude-sonnet-4-5-20250929-with-tools"
    data = [synthetic_suite_run(RUN_IDS[i], _suite().runs, agent=agent) for i in range(2)]
    reports, profiles = build_suite_reports(data)
    assert profiles is not None

    def aup_table(width: int) -> list[str]:
        out = io.StringIO()
        print_suite_report(
            reports, profiles, Console(file=out, width=width, force_terminal=True, color_system=None)
        )
        return out.getvalue().split("AUP across suite runs")[1].splitlines()

    aup = aup_table(70)
    for suite_run_id in RUN_IDS:
        (i,) = [i for i, line in enumerate(aup) if suite_run_id in line]
        assert aup[i - 1].startswith(f"│ {agent} ·")
        assert aup[i - 1].endswith(f"│ {profiles.aup[suite_run_id]:.3f} │")
    first_column = "".join(
        line.split("│")[1].replace(" ", "") for line in aup_table(24) if line.startswith("│")
    )
    assert all(f"{agent}·{suite_run_id}" in first_column for suite_run_id in RUN_IDS), first_column


def _colour_codes(text: str) -> list[str]:
    """The SGR parameters of ``text`` that set a foreground or background colour."""
    params = [p for seq in re.findall(r"\x1b\[([0-9;]*)m", text) for p in seq.split(";")]
    return [p for p in params if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107)]


def test_a_narrow_piped_console_is_widened_to_120_and_keeps_its_no_colour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FORCE_COLOR makes the widened console a terminal; it still prints no colour when the caller's console
    was asked for none (NO_COLOR is not set, so only the caller's choice can say so)."""
    for name in ("NO_COLOR", "TTY_COMPATIBLE", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    out = io.StringIO()
    print_suite_report(
        *build_suite_reports([_suite()]), Console(file=out, width=80, force_terminal=False, no_color=True)
    )
    text = out.getvalue()
    assert "\x1b[" in text and _colour_codes(text) == []  # styled (bold, italic) but not coloured
    assert max(len(line) for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()) == 120


def test_a_piped_console_already_120_wide_is_printed_on_as_given() -> None:
    console = Console(file=io.StringIO(), width=120, force_terminal=False, record=True)
    print_suite_report(*build_suite_reports([_suite()]), console)
    assert "suite run 01SUITE0000000000000000000 (completed)" in console.export_text()


def test_a_suite_run_without_any_run_yet_gets_a_table_from_the_width_its_no_run_cells_fit() -> None:
    """With no run id to make room for, the table needs only the width of ``(no run)`` and the n/a cells."""
    data = synthetic_suite_run(
        "01SUITEEMPTY", (), tasks=["calibration-temperature-scaling", "bandit-bernoulli-regret"]
    )
    reports, profiles = build_suite_reports([data])

    def first_line_of_a_task(width: int) -> str:
        out = io.StringIO()
        print_suite_report(
            reports, profiles, Console(file=out, width=width, force_terminal=True, color_system=None)
        )
        return next(line for line in out.getvalue().splitlines() if line.lstrip("│ ").startswith("calib"))

    assert first_line_of_a_task(85) == "calibration-temperature-scaling"  # a record's head line
    assert (
        first_line_of_a_task(86)
        == "│ calib │ (no run) │ n/a │       n/a │    n/a │    n/a │        n/a │  n/a │     n/a │"
    )
