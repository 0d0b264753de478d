"""``rgym run``, ``rgym report`` and ``rgym resume``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gym_core.cli.consoles import make_console
from gym_core.cli.options import BackendOption, StoreOption
from gym_core.errors import ConfigError

console = make_console()
err_console = make_console(stderr=True)


def _open(store: str | None):  # type: ignore[no-untyped-def]
    from gym_core.store import open_store

    return open_store(store)


def run(
    task_id: Annotated[str, typer.Argument(help="Task id or task folder.")],
    agent: Annotated[
        str,
        typer.Option(
            "--agent",
            help="noop | baseline | tuner[:N] | script:FILE.jsonl | llm:MODEL | module:pkg.mod:Class",
        ),
    ],
    runs: Annotated[int, typer.Option("--runs", "-k", help="Attempts (k).")] = 1,
    parallel: Annotated[int, typer.Option("--parallel", "-j", help="Attempts at a time.")] = 1,
    executor: Annotated[str, typer.Option("--executor", help="local (threads) or ray.")] = "local",
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
    seed: Annotated[int | None, typer.Option("--seed", help="Base seed; attempt i uses seed+i.")] = None,
    backend: BackendOption = None,
    store: StoreOption = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Print the report at the end.")] = True,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show live progress bars.")
    ] = True,
) -> None:
    """Run an agent k times on a task, record everything, and print the capability/reliability report."""
    from gym_core.report import print_report
    from gym_core.reporting import load_run_data
    from gym_core.runner.runner import RunConfig, Runner, parse_assignments

    config = RunConfig(
        task=task_id,
        agent=agent,
        runs=runs,
        parallel=parallel,
        executor=executor,
        backend=backend,
        budget=_budget_values(parse_assignments(budget or [], "--budget")),
        perturb=parse_assignments(perturb or [], "--perturb"),
        seed=seed,
    )
    with _open(store) as trace_store:
        runner = Runner(trace_store, console=err_console, show_progress=progress)
        run_id = runner.start(config)
        err_console.print(f"run [bold]{run_id}[/] started: {config.runs} attempt(s) of {agent} on {task_id}")
        try:
            runner.execute(run_id)
        except KeyboardInterrupt:
            err_console.print(f"[yellow]run {run_id} interrupted; finish it with[/] rgym resume {run_id}")
            typer.echo(run_id)
            raise typer.Exit(130) from None
        if report:
            print_report([load_run_data(trace_store, run_id)], err_console)
        typer.echo(run_id)


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
    """Capability and reliability of runs, side by side (SPEC.md section 6)."""
    from gym_core.report import FORMATS, print_report, render_report
    from gym_core.reporting import load_run_data

    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    with _open(store) as trace_store:
        data = [load_run_data(trace_store, run_id) for run_id in run_ids]
    if out is None and fmt == "table":
        print_report(data, console)
        return
    text = render_report(data, fmt)
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    err_console.print(f"wrote {out}")


def resume(
    run_id: Annotated[str, typer.Argument(help="Run id (or unique prefix).")],
    store: StoreOption = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Finish the attempts an interrupted run did not."""
    from gym_core.report import print_report
    from gym_core.reporting import load_run_data
    from gym_core.runner.runner import Runner

    with _open(store) as trace_store:
        full_id = trace_store.resolve_run_id(run_id)
        runner = Runner(trace_store, console=err_console, show_progress=progress)
        try:
            runner.resume(full_id)
        except KeyboardInterrupt:
            err_console.print(
                f"[yellow]run {full_id} interrupted again; resume it with[/] rgym resume {full_id}"
            )
            raise typer.Exit(130) from None
        print_report([load_run_data(trace_store, full_id)], err_console)
        typer.echo(full_id)


def register(app: typer.Typer) -> None:
    """Mount ``run``, ``report`` and ``resume`` on the root app."""
    app.command("run")(run)
    app.command("report")(report)
    app.command("resume")(resume)
