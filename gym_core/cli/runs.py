"""``rgym run``, ``rgym report`` and ``rgym resume``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gym_core.cli.consoles import make_console
from gym_core.cli.options import (
    BackendOption,
    RayAddressOption,
    StoreOption,
    WeakIsolationOption,
    note_store,
)
from gym_core.errors import ConfigError, NotFoundError
from gym_core.outcomes import RunStatus

if TYPE_CHECKING:
    from gym_core.recorder import RunConfig
    from gym_core.scoring.run_data import RunData
    from gym_core.store import TraceStore

console = make_console()
err_console = make_console(stderr=True)


def _open(store: str | None):  # type: ignore[no-untyped-def]
    from gym_core.store import open_store

    return open_store(store)


def run(
    agent: Annotated[
        str,
        typer.Option(
            "--agent",
            help="noop | baseline | tuner[:N] | script:FILE.jsonl | llm:MODEL | module:pkg.mod:Class",
        ),
    ],
    task_id: Annotated[
        str | None, typer.Argument(help="Task id or task folder (or give --suite instead).")
    ] = None,
    runs: Annotated[int, typer.Option("--runs", "-k", help="Attempts (k).")] = 1,
    parallel: Annotated[int, typer.Option("--parallel", "-j", help="Attempts at a time.")] = 1,
    executor: Annotated[
        str, typer.Option("--executor", help="local (threads) or ray (Ray tasks on a cluster; README).")
    ] = "local",
    ray_address: RayAddressOption = None,
    budget: Annotated[
        list[str] | None, typer.Option("--budget", help="Budget override KEY=VAL, repeatable.")
    ] = None,
    perturb: Annotated[
        list[str] | None,
        typer.Option(
            "--perturb",
            help="Perturbation KEY=VAL, repeatable: prompt, tool_failure_rate, budget_scale, context_padding.",
        ),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="Run every task of a suite (tasks/suites/NAME.yaml, or a suite file) as one suite run; "
            "--parallel then spans tasks.",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Base seed; attempt i uses seed+i.")] = None,
    retries: Annotated[
        int,
        typer.Option(
            "--retries",
            min=0,
            help="Tries again, with the same seed, an attempt that failed from the environment (not the agent).",
        ),
    ] = 2,
    agent_isolation: Annotated[
        str | None,
        typer.Option(
            "--agent-isolation",
            help="process: each attempt's agent runs in a sandboxed child process of its own uid, away from the "
            "grader and the task folder (default for module: agents); thread: inside rgym's process (default "
            "for the built-in agents). See docs/agents.md.",
        ),
    ] = None,
    warm: Annotated[
        int,
        typer.Option(
            "--warm",
            min=0,
            help="Sandboxes to keep started ahead for the next attempts (each is fresh, used by one attempt).",
        ),
    ] = 0,
    backend: BackendOption = None,
    store: StoreOption = None,
    allow_weak_isolation: WeakIsolationOption = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Print the report at the end.")] = True,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show live progress bars.")
    ] = True,
) -> None:
    """Run an agent k times on a task (or on every task of a suite), record everything, and print the
    capability/reliability report."""
    from gym_core.report import print_report
    from gym_core.report.store_loader import load_run_data
    from gym_core.runner.runner import RunConfig, Runner, parse_assignments

    if (task_id is None) == (suite is None):
        raise ConfigError(
            "give a task or --suite, not both" if suite else "give a task to run, or --suite NAME",
            hint="e.g. rgym run tiny-task --agent baseline, or rgym run --suite core --agent tuner --runs 3",
        )
    config = RunConfig(
        task=task_id or "",
        agent=agent,
        runs=runs,
        parallel=parallel,
        executor=executor,
        ray_address=ray_address,
        backend=backend,
        budget=_budget_values(parse_assignments(budget or [], "--budget")),
        perturb=parse_assignments(perturb or [], "--perturb"),
        seed=seed,
        retries=retries,
        agent_isolation=agent_isolation,
        warm=warm,
    )
    if suite is not None:
        _run_suite(suite, config, store=store, progress=progress, report=report)
        return
    with _open(store) as trace_store:
        runner = Runner(trace_store, console=err_console, show_progress=progress)
        run_id = runner.start(config)
        err_console.print(f"run [bold]{run_id}[/] started: {config.runs} attempt(s) of {agent} on {task_id}")
        try:
            runner.execute(run_id)
        except KeyboardInterrupt:
            err_console.print(f"[yellow]run {run_id} interrupted; finish it with[/] rgym resume {run_id}")
            note_store(trace_store, err_console)
            typer.echo(run_id)
            raise typer.Exit(130) from None
        if report:
            print_report([load_run_data(trace_store, run_id)], err_console)
        note_store(trace_store, err_console)
        typer.echo(run_id)


def _run_suite(name: str, config: RunConfig, *, store: str | None, progress: bool, report: bool) -> None:
    """``rgym run --suite``: one run per task, grouped as a suite run; prints the suite run's id."""
    from gym_core.report.store_loader import load_suite_run_data
    from gym_core.report.suite import build_suite_reports, print_suite_report
    from gym_core.runner.runner import Runner
    from gym_core.tasks.suites import find_suite

    suite = find_suite(name)
    with _open(store) as trace_store:
        runner = Runner(trace_store, console=err_console, show_progress=progress)
        suite_run_id, run_ids = runner.start_suite(suite, config)
        err_console.print(
            f"suite run [bold]{suite_run_id}[/] started: {config.runs} attempt(s) of {config.agent} on each of "
            f"{len(run_ids)} task(s) of suite {suite.name}, {config.parallel} at a time",
            soft_wrap=True,
        )
        try:
            runner.execute_runs(run_ids, parallel=config.parallel)
        except KeyboardInterrupt:
            runner.recorder.finish_suite_run(suite_run_id, RunStatus.INTERRUPTED)
            err_console.print(
                f"[yellow]suite run {suite_run_id} interrupted; finish it with[/] rgym resume {suite_run_id}"
            )
            typer.echo(suite_run_id)
            raise typer.Exit(130) from None
        runner.recorder.finish_suite_run(suite_run_id, RunStatus.COMPLETED)
        if report:
            reports, profiles = build_suite_reports([load_suite_run_data(trace_store, suite_run_id)])
            print_suite_report(reports, profiles, err_console)
        typer.echo(suite_run_id)


def _budget_values(raw: dict[str, str]) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {}
    for key, value in raw.items():
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def report(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids (or unique prefixes).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | md | html")] = "table",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Capability and reliability of each run, side by side (docs/metrics.md).

    Given suite run ids: one row per task with an aggregate row, and MLGym's AUP for two or more suite
    runs. A report puts runs next to each other; `rgym compare` tests whether they differ.
    """
    from gym_core.report import FORMATS, print_report, render_report
    from gym_core.report.store_loader import load_run_data

    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    with _open(store) as trace_store:
        suite_runs = _suite_run_ids(trace_store, run_ids)
        if suite_runs is not None:
            from gym_core.report.store_loader import load_suite_run_data
            from gym_core.report.suite import build_suite_reports, print_suite_report, render_suite_report

            suite_data = [load_suite_run_data(trace_store, s) for s in suite_runs]
            if out is None and fmt == "table":
                print_suite_report(*build_suite_reports(suite_data), console)
                if len(suite_runs) >= 2:
                    err_console.print(
                        "to test whether these suite runs differ, task by task (CI, p-value, verdict): "
                        f"rgym compare {' '.join(suite_runs)}",
                        style="dim",
                        soft_wrap=True,
                    )
                return
            _emit(render_suite_report(suite_data, fmt), out)
            return
        data = [load_run_data(trace_store, run_id) for run_id in run_ids]
        note_store(trace_store, err_console)
    if out is None and fmt == "table":
        print_report(data, console)
        _suggest_compare(data)
        return
    _emit(render_report(data, fmt), out)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    err_console.print(f"wrote {out}")


def _suite_run_ids(trace_store: TraceStore, ids: list[str]) -> list[str] | None:
    """The suite run ids when every id given names a suite run; None when every one names a run.

    Raises:
        ConfigError: suite runs and runs mixed.
    """
    resolved: list[str] = []
    for given in ids:
        try:
            suite_run = trace_store.resolve_suite_run_id(given)
        except NotFoundError:
            continue
        try:
            trace_store.resolve_run_id(given)
        except NotFoundError:
            resolved.append(suite_run)
            continue
        # ids start with their creation time, and a suite run and its runs are made together
        raise ConfigError(f"{given!r} starts both a suite run id and a run id", hint="give more characters")
    if not resolved:
        return None
    if len(resolved) != len(ids):
        raise ConfigError(
            "give either suite run ids or run ids, not both",
            hint="`rgym report SUITE_RUN...` reports suites; `rgym report RUN...` reports runs",
        )
    return resolved


def _suggest_compare(data: list[RunData]) -> None:
    """A report stacks runs; when two clean runs of one task are given, point to the command that tests them."""
    clean = [d for d in data if not d.perturbed]
    by_task: dict[tuple[str, int], list[str]] = {}
    for d in clean:
        by_task.setdefault((d.task_id, d.task_version), []).append(d.run_id)
    for ids in by_task.values():
        if len(ids) >= 2:
            err_console.print(
                f"to test whether these runs differ (CI, p-value, verdict): rgym compare {' '.join(ids)}",
                style="dim",
                soft_wrap=True,
            )


def resume(
    run_id: Annotated[str, typer.Argument(help="Run id (or unique prefix).")],
    store: StoreOption = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    allow_weak_isolation: WeakIsolationOption = False,
    ray_address: RayAddressOption = None,
) -> None:
    """Finish the attempts an interrupted run did not (a run of --executor ray on the cluster it recorded,
    or on --ray-address)."""
    from gym_core.report import print_report
    from gym_core.report.store_loader import load_run_data
    from gym_core.runner.runner import Runner

    with _open(store) as trace_store:
        suite_runs = _suite_run_ids(trace_store, [run_id])
        if suite_runs is not None:
            _resume_suite(trace_store, suite_runs[0], progress=progress, ray_address=ray_address)
            return
        full_id = trace_store.resolve_run_id(run_id)
        runner = Runner(trace_store, console=err_console, show_progress=progress, ray_address=ray_address)
        try:
            runner.resume(full_id)
        except KeyboardInterrupt:
            err_console.print(
                f"[yellow]run {full_id} interrupted again; resume it with[/] rgym resume {full_id}"
            )
            raise typer.Exit(130) from None
        print_report([load_run_data(trace_store, full_id)], err_console)
        note_store(trace_store, err_console)
        typer.echo(full_id)


def _resume_suite(
    trace_store: TraceStore, suite_run_id: str, *, progress: bool, ray_address: str | None
) -> None:
    """Finish the attempts an interrupted suite run did not, across all its tasks."""
    from gym_core.report.store_loader import load_suite_run_data
    from gym_core.report.suite import build_suite_reports, print_suite_report
    from gym_core.runner.runner import Runner

    runner = Runner(trace_store, console=err_console, show_progress=progress, ray_address=ray_address)
    runner.recorder.mark_abandoned()
    run_ids = [run.id for run in trace_store.suite_run_runs(suite_run_id)]
    parallel = int(trace_store.get_suite_run(suite_run_id).config.get("parallel", 1))
    try:
        runner.execute_runs(run_ids, parallel=parallel)
    except KeyboardInterrupt:
        runner.recorder.finish_suite_run(suite_run_id, RunStatus.INTERRUPTED)
        err_console.print(
            f"[yellow]suite run {suite_run_id} interrupted again; resume it with[/] rgym resume {suite_run_id}"
        )
        raise typer.Exit(130) from None
    runner.recorder.finish_suite_run(suite_run_id, RunStatus.COMPLETED)
    print_suite_report(*build_suite_reports([load_suite_run_data(trace_store, suite_run_id)]), err_console)
    typer.echo(suite_run_id)


def register(app: typer.Typer) -> None:
    """Mount ``run``, ``report`` and ``resume`` on the root app."""
    app.command("run")(run)
    app.command("report")(report)
    app.command("resume")(resume)
