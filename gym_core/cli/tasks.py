"""``rgym tasks``: list, show, validate and verify tasks."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gym_core.cli import importers as importers_cli
from gym_core.cli.consoles import make_console
from gym_core.cli.options import BackendOption, WeakIsolationOption
from gym_core.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, ConfigError, TaskNotFoundError, TaskSpecError
from gym_core.tasks.discovery import discover, find_task
from gym_core.tasks.loader import Task, display_path, load_task
from gym_core.tasks.spec import TASK_ID_PATTERN

app = typer.Typer(help="List, show, validate, verify and import tasks.", no_args_is_help=True)
app.add_typer(importers_cli.app, name="import")
console = make_console()
err_console = make_console(stderr=True)


def _score(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"


@app.command("list")
def list_tasks(
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table, or md: the README's task catalogue (paper, area, metric, baseline -> reference, the "
            "tuner's measured pass@5 and pass^5 from each task's measured.json).",
        ),
    ] = "table",
) -> None:
    """Every task found along RGYM_TASKS_PATH (default ./tasks), then the shipped tasks; the first folder
    that holds an id wins. `--format md` prints the README's task catalogue."""
    if fmt not in ("table", "md"):
        raise ConfigError(f"unknown format {fmt!r}", hint="use table or md")
    found = discover()
    if fmt == "md":
        from gym_core.tasks.catalogue import render_catalogue

        typer.echo(render_catalogue(found.tasks.values()), nl=False)
        for folder, error in found.broken.items():
            err_console.print(
                f"skipped {display_path(folder)}: {len(error.problems)} problem(s)",
                markup=False,
                soft_wrap=True,
            )
        return
    rows = []
    for task in sorted(found.tasks.values(), key=lambda t: t.id):
        spec = task.spec
        arrow = "↓" if spec.metric.direction == "minimize" else "↑"
        rows.append(
            (
                spec.id,
                str(spec.version),
                f"{spec.paper.venue} {spec.paper.year}",
                f"{spec.metric.name} {arrow}",
                _score(spec.baseline.score),
                _score(spec.reference.score if spec.reference else None),
                found.source(task),
            )
        )
    if not rows:
        err_console.print(
            f"no tasks found; searched {found.describe_searched()}. Put task folders in ./tasks or set "
            "RGYM_TASKS_PATH (folders separated by ':'); docs/tasks.md shows how to write one.",
            soft_wrap=True,
            markup=False,
        )
    else:
        table = Table(title="rgym tasks (gym id: rgym/<id>-v<version>)", title_justify="left")
        table.add_column("id", style="bold cyan", no_wrap=True)
        table.add_column("version", justify="right", no_wrap=True)
        table.add_column("paper", overflow="fold")
        table.add_column("metric", overflow="fold")
        table.add_column("baseline", justify="right", no_wrap=True)
        table.add_column("reference", justify="right", no_wrap=True)
        table.add_column("from", no_wrap=True)  # a folder to find the task in: never cut
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for task_id, hidden in sorted(found.shadowed.items()):
        err_console.print(
            f"{task_id}: {display_path(found.tasks[task_id].root)} hides "
            + ", ".join(display_path(h) for h in hidden),
            style="dim",
            markup=False,
        )
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
    if spec.reference is not None:
        table.add_row("reference", _score(spec.reference.score))
        table.add_row("success", f"normalized score ≥ {spec.success.normalized_at_least}")
    else:
        word = "above" if spec.metric.direction.value == "maximize" else "below"
        table.add_row("reference", "none (scores are raw)")
        table.add_row("success", f"final score {word} the baseline's {_score(spec.baseline.score)}")
    budget = spec.budget
    table.add_row(
        "budget",
        f"{budget.wall_time_s:g}s wall, {budget.step_limit} steps, {budget.eval_limit} evals, "
        f"{budget.cpus:g} cpu, {budget.memory_mb} MiB, {budget.disk_mb} MiB disk, network {budget.network.value}",
    )
    table.add_row("grader", f"`{spec.grader.command}` on {', '.join(spec.grader.submission)}")
    if spec.grader.self_reported:
        table.add_row("grading", "[yellow]self-reported: not tamper-proof[/] (scores what the agent wrote)")
    if spec.blocked_urls:
        how = (
            "refused by the sandbox's filtering proxy (Docker; over HTTPS, their whole host)"
            if spec.budget.network.value == "egress"
            else "moot while the network is none"
        )
        table.add_row("blocked", f"{len(spec.blocked_urls)} URL pattern(s) the agent must not reach: {how}")
    if spec.knobs:
        table.add_row("knobs", ", ".join(f"{k}∈{v}" for k, v in spec.knobs.items()))
    if spec.description_variants:
        table.add_row("variants", ", ".join(sorted(spec.description_variants)))
    table.add_row("folder", display_path(task.root))
    table.add_row("checksum", task.checksum[:16])
    console.print(table)
    console.rule("README.md (what the agent reads)")
    from rich.markdown import Markdown  # markdown-it is slow to import: only `tasks show` needs it

    console.print(Markdown(task.readme))


@app.command("validate")
def validate(
    targets: Annotated[
        list[str], typer.Argument(help="Task ids, task folders or task.yaml files.", metavar="ID_OR_PATH...")
    ],
) -> None:
    """Check tasks, given by id or by folder; print one line per problem and exit 2 when any is invalid."""
    bad = 0
    for target in targets:
        try:
            task = _load_for_validate(target)
        except TaskSpecError as exc:
            bad += 1
            for problem in exc.problems:
                err_console.print(str(problem), soft_wrap=True, markup=False)
            continue
        except TaskNotFoundError as exc:
            bad += 1
            err_console.print(str(exc), soft_wrap=True, markup=False)
            continue
        console.print(f"[green]ok[/] {display_path(task.root)} ({task.spec.gym_id})")
        _warn_todos(task.root)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


def _warn_todos(root: Path) -> None:
    """A valid task may still hold TODO(rgym) markers left by `rgym tasks new`: warn, one line each."""
    from gym_core.tasks.scaffold import TODO_MARKER, find_todos

    todos = find_todos(root)
    if not todos:
        return
    err_console.print(
        f"[yellow]warning:[/] {display_path(root)} still has {len(todos)} {TODO_MARKER} marker(s):",
        soft_wrap=True,
    )
    for todo in todos:
        err_console.print(f"  {todo.describe()}", markup=False, soft_wrap=True, highlight=False)


@app.command("new")
def new(
    task_id: Annotated[str, typer.Argument(help="The new task's id: lowercase letters, digits and hyphens.")],
    template: Annotated[
        str, typer.Option("--from", help="Template: files (the agent submits files) or code (a program).")
    ] = "files",
    dest: Annotated[
        Path, typer.Option("--dir", help="Where task folders live; the task goes to DIR/ID.")
    ] = Path("tasks"),
    title: Annotated[
        str | None, typer.Option("--title", help="One-line title (default: from the id).")
    ] = None,
) -> None:
    """Scaffold a complete task folder that validates, and list every TODO(rgym) left to write.

    The folder has task.yaml (public/private split scores), README.md, workspace/, eval/ (a grader that
    follows the protocol, with hidden data), reference/, environment/, exploits/, maintainer/ and
    MAINTAINERS.md; docs/tasks.md explains each part.
    """
    from gym_core.tasks.scaffold import TEMPLATES, TODO_MARKER, scaffold_task

    task, todos = scaffold_task(task_id, dest, template=template, title=title)
    root = display_path(task.root)
    console.print(
        f"[green]created[/] {root} ({task.spec.gym_id}) from the [bold]{template}[/] template: "
        f"{TEMPLATES[template]}",
        soft_wrap=True,
    )
    console.print(f"{len(todos)} {TODO_MARKER} marker(s) to replace:", soft_wrap=True)
    for todo in todos:
        console.print(f"  {todo.describe()}", markup=False, soft_wrap=True, highlight=False)
    console.print(
        f"next: edit the files above, then `rgym tasks validate {root}` (warns while markers are left) and "
        f"`rgym tasks verify {root}` (the five checks; it prints the measured scores to paste).",
        soft_wrap=True,
        markup=False,
    )


def _load_for_validate(target: str) -> Task:
    """A path when one exists there (or it looks like one), else a task id along the search path."""
    path = Path(target)
    looks_like_path = os.sep in target or target.startswith(".") or target.endswith(".yaml")
    if path.exists() or looks_like_path or not re.fullmatch(TASK_ID_PATTERN, target):
        return load_task(path)
    return find_task(target)


@app.command("verify")
def verify(
    task_id: Annotated[str, typer.Argument(help="Task id or task folder.")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many times to reproduce the baseline.")] = 1,
    backend: BackendOption = None,
    allow_weak_isolation: WeakIsolationOption = False,
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="Record the exploit runs in this trace store (default: a temporary one)."
        ),
    ] = None,
    measure: Annotated[
        bool,
        typer.Option(
            "--measure",
            help="After the checks pass, run the tuner agent 5 times and write its pass@5 and pass^5 to "
            "the task's measured.json (the README's task catalogue reads it).",
        ),
    ] = False,
    parallel: Annotated[
        int, typer.Option("--parallel", "-j", min=1, help="Tuner attempts at a time with --measure.")
    ] = 1,
) -> None:
    """Check a task end to end: the five checks of docs/tasks.md (exit 1 when any fails)."""
    from gym_core.verify import measure_tuner, verify_task

    task = find_task(task_id)
    report = verify_task(task, backend=backend, runs=runs, console=console, store=store)
    if not report.ok:
        if measure:
            err_console.print("not measured: the checks must pass first")
        raise typer.Exit(EXIT_CHECK_FAILED)
    if measure:
        from gym_core.tasks.measured import MEASURE_K, write_measured

        console.print(f"measuring: {MEASURE_K} attempts of the tuner agent on {task.id}...")
        measured = measure_tuner(task, backend=backend, parallel=parallel, store=store)
        path = write_measured(task, measured)
        t = measured.tuner
        console.print(
            f"wrote {display_path(path)}: tuner pass@{t.k} {_opt(t.pass_at_k)}, pass^{t.k} {_opt(t.pass_hat_k)} "
            f"({t.c} of {t.n} attempts succeeded, {t.wall_time_s:.0f} s); commit it with the task",
            soft_wrap=True,
            markup=False,
        )


def _opt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
