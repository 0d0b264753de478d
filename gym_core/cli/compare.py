"""``rgym compare``: runs of one task side by side, each against the first, with tested differences; suite
runs the same way, task by task; or, with ``--history``, every run of an agent on a task in order."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gym_core.cli.consoles import make_console
from gym_core.cli.options import StoreOption, note_store, suite_run_or_none
from gym_core.errors import EXIT_CHECK_FAILED, ConfigError, NotFoundError
from gym_core.scoring.compare import DETECT

if TYPE_CHECKING:
    from gym_core.report.suite import SuiteRunData
    from gym_core.store import TraceStore

console = make_console()
err_console = make_console(stderr=True)


def compare(
    run_ids: Annotated[
        list[str],
        typer.Argument(
            help="Run ids (or unique prefixes) of one task, or suite run ids; each after the first is compared "
            "with it."
        ),
    ],
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Every run of the given run's agent on its task, oldest first, in series of comparable runs "
            "(runs only, not suite runs).",
        ),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | md | html")] = "table",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    detect: Annotated[
        float,
        typer.Option(
            "--detect",
            help="The difference the power note plans for, in success rate and normalized mean score.",
        ),
    ] = DETECT,
    allow_changed_task: Annotated[
        bool,
        typer.Option(
            "--allow-changed-task",
            help="Compare runs of one task version whose task folder changed (another checksum); flagged.",
        ),
    ] = False,
    fail_if_worse: Annotated[
        bool,
        typer.Option(
            "--fail-if-worse",
            help="Exit 1 when a run's success rate is detectably worse than the first's (for suite runs: on "
            "any task).",
        ),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Is run B better than run A? Tested differences, verdicts and power notes (docs/metrics.md).

    Each run after the first is compared with the first, metric by metric: the difference with a 95%
    bootstrap CI, a permutation p-value, and a verdict (better, worse, or no detectable difference at n =
    ...). Attempts are paired by seed where the seeds match.

    Given suite run ids, their runs are paired by task: a summary row per task (its verdict and the
    difference in success rate), the tasks that cannot be compared with the reason, then each task's
    comparison.
    """
    from gym_core.report.comparison import build_comparison, build_history
    from gym_core.report.comparison_render import (
        FORMATS,
        print_comparison,
        print_history,
        render_comparison,
        render_history,
    )
    from gym_core.report.store_loader import load_history_runs, load_run_data, load_suite_run_data
    from gym_core.store import open_store

    if fmt not in FORMATS:
        raise ConfigError(f"unknown compare format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    with open_store(store) as trace_store:
        suite_runs = suite_run_ids(trace_store, run_ids)
        if suite_runs is not None:
            if history:
                raise ConfigError(
                    f"--history follows one agent on one task; {run_ids[0]} is a suite run",
                    hint=f"pick one of its runs (rgym runs --suite-run {suite_runs[0]}), then "
                    "rgym compare RUN_ID --history",
                )
            suite_data = [load_suite_run_data(trace_store, s, with_diffs=False) for s in suite_runs]
            note_store(trace_store, err_console)
            _compare_suites(suite_data, fmt, out, detect, allow_changed_task, fail_if_worse)
            return
        if history:
            runs = load_history_runs(trace_store, run_ids)
        else:
            runs = [load_run_data(trace_store, run_id, with_diffs=False) for run_id in run_ids]
        note_store(trace_store, err_console)
    if history:
        built = build_history(runs, detect=detect)
        if out is None and fmt == "table":
            print_history(built, console)
        else:
            _emit(render_history(built, fmt), out)
        return
    report = build_comparison(runs, allow_changed_task=allow_changed_task, detect=detect)
    if out is None and fmt == "table":
        print_comparison(report, console)
    else:
        _emit(render_comparison(report, fmt), out)
    if fail_if_worse and any(c.headline.verdict == "worse" for c in report.comparisons):
        raise typer.Exit(EXIT_CHECK_FAILED)


def _compare_suites(
    data: list[SuiteRunData],
    fmt: str,
    out: Path | None,
    detect: float,
    allow_changed_task: bool,
    fail_if_worse: bool,
) -> None:
    from gym_core.report.suite_comparison import build_suite_comparison
    from gym_core.report.suite_comparison_render import print_suite_comparison, render_suite_comparison

    report = build_suite_comparison(data, allow_changed_task=allow_changed_task, detect=detect)
    if out is None and fmt == "table":
        print_suite_comparison(report, console)
    else:
        _emit(render_suite_comparison(report, fmt), out)
    if fail_if_worse and report.worse:
        raise typer.Exit(EXIT_CHECK_FAILED)


def suite_run_ids(trace_store: TraceStore, ids: list[str]) -> list[str] | None:
    """The suite run ids when every id given names a suite run; None when every one names a run.

    Raises:
        ConfigError: suite runs and runs mixed, or a prefix of both a suite run id and a run id.
        NotFoundError: an id names neither.
    """
    suite_runs: list[str] = []
    plain: list[str] = []
    for given in ids:
        suite_run = suite_run_or_none(trace_store, given)
        try:
            trace_store.resolve_run_id(given)
        except NotFoundError:
            if suite_run is None:
                raise
            suite_runs.append(suite_run)
            continue
        if suite_run is not None:  # ids start with their creation time: a suite run and its runs share it
            raise ConfigError(
                f"{given!r} starts both a suite run id and a run id", hint="give more characters"
            )
        plain.append(given)
    if not suite_runs:
        return None
    if plain:
        raise ConfigError(
            f"give either run ids or suite run ids, not both: {plain[0]} is a run, {suite_runs[0]} a suite run",
            hint=f"rgym compare SUITE_RUN_A SUITE_RUN_B compares suite runs task by task; to compare {plain[0]} "
            f"with a run of the suite run, find that run with rgym runs --suite-run {suite_runs[0]}",
        )
    return suite_runs


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    err_console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Mount ``compare`` on the root app."""
    app.command("compare")(compare)
