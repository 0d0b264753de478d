"""``rgym tasks``: list, show, validate and verify tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

from gym_core.cli.consoles import make_console
from gym_core.cli.options import BackendOption
from gym_core.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, TaskSpecError
from gym_core.tasks.discovery import discover, find_task
from gym_core.tasks.loader import display_path, load_task

app = typer.Typer(help="List, show, validate and verify tasks.", no_args_is_help=True)
console = make_console()
err_console = make_console(stderr=True)


def _score(value: float) -> str:
    return f"{value:.4g}"


@app.command("list")
def list_tasks() -> None:
    """Every task found along RGYM_TASKS_PATH."""
    found = discover()
    table = Table(title="rgym tasks (gym id: rgym/<id>-v<version>)", title_justify="left")
    table.add_column("id", style="bold cyan", no_wrap=True)
    table.add_column("version", justify="right")
    table.add_column("paper")
    table.add_column("metric")
    table.add_column("baseline", justify="right")
    table.add_column("reference", justify="right")
    for task in sorted(found.tasks.values(), key=lambda t: t.id):
        spec = task.spec
        arrow = "↓" if spec.metric.direction == "minimize" else "↑"
        table.add_row(
            spec.id,
            str(spec.version),
            f"{spec.paper.venue} {spec.paper.year}",
            f"{spec.metric.name} {arrow}",
            _score(spec.baseline.score),
            _score(spec.reference.score),
        )
    console.print(table)
    for folder, error in found.broken.items():
        err_console.print(
            f"[yellow]skipped {display_path(folder)}:[/] {len(error.problems)} problem(s); "
            f"run `rgym tasks validate {display_path(folder)}`"
        )


@app.command("show")
def show(task_id: Annotated[str, typer.Argument(help="Task id or task folder.")]) -> None:
    """A task's spec and the README the agent reads."""
    task = find_task(task_id)
    spec = task.spec
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", f"{spec.id} (v{spec.version}) → {spec.gym_id}")
    table.add_row("title", spec.title)
    table.add_row(
        "paper",
        f"{spec.paper.title}, {spec.paper.venue} {spec.paper.year}"
        + (f" {spec.paper.url}" if spec.paper.url else ""),
    )
    table.add_row("metric", f"{spec.metric.name} ({spec.metric.direction.value})")
    table.add_row("baseline", f"{_score(spec.baseline.score)}  via `{spec.baseline.command}`")
    table.add_row("reference", _score(spec.reference.score))
    table.add_row("success", f"normalized score ≥ {spec.success.normalized_at_least}")
    budget = spec.budget
    table.add_row(
        "budget",
        f"{budget.wall_time_s:g}s wall, {budget.step_limit} steps, {budget.eval_limit} evals, "
        f"{budget.cpus:g} cpu, {budget.memory_mb} MiB, {budget.disk_mb} MiB disk, network {budget.network.value}",
    )
    table.add_row("grader", f"`{spec.grader.command}` on {', '.join(spec.grader.submission)}")
    if spec.knobs:
        table.add_row("knobs", ", ".join(f"{k}∈{v}" for k, v in spec.knobs.items()))
    if spec.description_variants:
        table.add_row("variants", ", ".join(sorted(spec.description_variants)))
    table.add_row("folder", display_path(task.root))
    table.add_row("checksum", task.checksum[:16])
    console.print(table)
    console.rule("README.md (what the agent reads)")
    console.print(Markdown(task.readme))


@app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Task folders or task.yaml files.")],
) -> None:
    """Check task folders; print one line per problem and exit 2 when any is invalid."""
    bad = 0
    for path in paths:
        try:
            task = load_task(path)
        except TaskSpecError as exc:
            bad += 1
            for problem in exc.problems:
                err_console.print(str(problem), soft_wrap=True, markup=False)
            continue
        console.print(f"[green]ok[/] {display_path(task.root)} ({task.spec.gym_id})")
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("verify")
def verify(
    task_id: Annotated[str, typer.Argument(help="Task id or task folder.")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many times to reproduce the baseline.")] = 1,
    backend: BackendOption = None,
) -> None:
    """Check a task end to end: baseline reproduces, reference beats it, eval/ is hidden, grader rejects junk."""
    from gym_core.verify import verify_task

    task = find_task(task_id)
    report = verify_task(task, backend=backend, runs=runs, console=console)
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)
