"""``rgym tasks import``: tasks from MLGym and ResearchGym checkouts as rgym task folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gym_core.cli.consoles import make_console
from gym_core.cli.options import BackendOption
from gym_core.errors import EXIT_CHECK_FAILED, ConfigError, ImportSourceError
from gym_core.importers.common import ImportResult

app = typer.Typer(help="Import tasks from other benchmarks (MLGym, ResearchGym).", no_args_is_help=True)
console = make_console()
err_console = make_console(stderr=True)

SrcArgument = Annotated[Path, typer.Argument(help="A checkout of the source benchmark's repository.")]
TaskOption = Annotated[
    str | None, typer.Option("--task", help="The task to import (its name in the source).")
]
AllOption = Annotated[bool, typer.Option("--all", help="Import every task of the checkout; print a summary.")]
OutOption = Annotated[Path, typer.Option("--out", help="Where the task folders go (one per task).")]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace task folders that already exist.")]


def _one_of(task: str | None, every: bool) -> None:
    if (task is None) == (not every):
        raise ConfigError("give either --task NAME or --all", hint="e.g. --task titanic")


def _summary(results: list[ImportResult], source: str) -> None:
    table = Table(title=f"rgym tasks import {source}", title_justify="left")
    table.add_column("source task", overflow="fold")
    table.add_column("rgym task", overflow="fold")
    table.add_column("imported", no_wrap=True)
    table.add_column("runnable here", no_wrap=True)
    table.add_column("why not / notes", overflow="fold")
    for r in results:
        imported = "[green]yes[/]" if r.imported else "[red]no[/]"
        runnable = "-" if not r.imported else ("[green]yes[/]" if r.runnable else "[yellow]no[/]")
        why = r.error or r.why_not or ""
        if r.imported and r.runnable and r.baseline_unreproducible:
            runnable = "[yellow]yes[/]"
            why = f"runnable here, baseline not reproducible: {r.baseline_unreproducible}"
        why = "; ".join([why, *r.notes]) if why and r.notes else (why or "; ".join(r.notes))
        table.add_row(r.source, r.task_id or "-", imported, runnable, why)
    console.print(table)
    done = sum(r.imported for r in results)
    unreproducible = sum(bool(r.runnable and r.baseline_unreproducible) for r in results)
    console.print(
        f"{done} of {len(results)} imported, {sum(r.runnable for r in results)} runnable here"
        + (f" ({unreproducible} with a baseline that cannot be reproduced)" if unreproducible else "")
    )


def _run(
    names: list[str],
    importer: Callable[[str], ImportResult],
    source: str,
    *,
    every: bool,
    measure: bool,
    backend: str | None,
) -> None:
    results: list[ImportResult] = []
    for name in names:
        try:
            result = importer(name)
        except ImportSourceError as exc:
            if not every:
                raise
            results.append(ImportResult(source=name, error=str(exc)))
            continue
        if measure and result.runnable and result.baseline_unreproducible:
            result.notes.append("baseline not measured: nothing here reproduces it")
        elif measure and result.runnable and result.folder is not None:
            result = _measure(result, backend)
        results.append(result)
        if not every and result.folder is not None:
            console.print(f"[green]imported[/] {result.source} -> {result.folder} ({result.state()})")
            for note in result.notes:
                console.print(f"  {note}")
    if every:
        _summary(results, source)
        if not all(r.imported for r in results):
            raise typer.Exit(EXIT_CHECK_FAILED)


def _measure(result: ImportResult, backend: str | None) -> ImportResult:
    from gym_core.importers.measure import measure_baseline
    from gym_core.sandbox import default_backend

    assert result.folder is not None
    try:
        with console.status(f"measuring the baseline of {result.task_id}..."):
            m = measure_baseline(result.folder, backend or default_backend())
    except ImportSourceError as exc:
        result.runnable = False
        result.why_not = str(exc)
        return result
    result.notes.append(
        f"baseline measured: private {m.private:.6g}, public {m.public:.6g} (published {m.published:.6g}, "
        f"{m.relative_gap:.2%} apart)"
    )
    return result


@app.command("mlgym")
def mlgym(
    src: SrcArgument,
    task: TaskOption = None,
    every: AllOption = False,
    out: OutOption = Path("tasks"),
    metric: Annotated[
        str | None, typer.Option("--metric", help="Which of MLGym's baseline_scores keys is the metric.")
    ] = None,
    direction: Annotated[
        str | None,
        typer.Option("--direction", help="maximize or minimize (default: from the metric's name)."),
    ] = None,
    ground_truth: Annotated[
        Path | None,
        typer.Option("--ground-truth", help="Use this CSV as the task's hidden ground truth (with --task)."),
    ] = None,
    measure: Annotated[
        bool,
        typer.Option(
            "--measure/--no-measure", help="Measure the baseline on both splits here (needs Docker)."
        ),
    ] = False,
    force: ForceOption = False,
    backend: BackendOption = None,
) -> None:
    """Convert MLGym tasks (configs/tasks/NAME.yaml and data/) into rgym task folders."""
    from gym_core.importers import mlgym as importer

    _one_of(task, every)
    if direction not in (None, "maximize", "minimize"):
        raise ConfigError(f"--direction must be maximize or minimize, got {direction!r}")
    if not src.is_dir():
        raise ImportSourceError(f"{src}: no such folder (give a checkout of facebookresearch/MLGym)")
    if every and ground_truth is not None:
        raise ConfigError("--ground-truth names one task's labels: use it with --task, not --all")
    names = importer.task_names(src) if every else [str(task)]
    _run(
        names,
        lambda name: importer.import_task(
            src, name, out, metric=metric, direction=direction, ground_truth=ground_truth, force=force
        ),
        "mlgym",
        every=every,
        measure=measure,
        backend=backend,
    )


@app.command("researchgym")
def researchgym(
    src: SrcArgument,
    task: TaskOption = None,
    every: AllOption = False,
    out: OutOption = Path("tasks"),
    submission: Annotated[
        list[str] | None,
        typer.Option("--submission", help="A log file the grader reads (repeat; default logs/results.json)."),
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="maximize or minimize (default: from the table).")
    ] = None,
    force: ForceOption = False,
) -> None:
    """Convert ResearchGym task folders (task_description.md, grading/, ...) into rgym task folders."""
    from gym_core.importers import researchgym as importer

    _one_of(task, every)
    if direction not in (None, "maximize", "minimize"):
        raise ConfigError(f"--direction must be maximize or minimize, got {direction!r}")
    if not src.is_dir():
        raise ImportSourceError(f"{src}: no such folder (give a ResearchGym checkout or task folder)")
    names = [p.name for p in importer.task_folders(src)] if every else [str(task)]
    root = src / "tasks" / "test" if every and (src / "tasks" / "test").is_dir() else src
    _run(
        names,
        lambda name: importer.import_task(
            root, name, out, submission=submission, direction=direction, force=force
        ),
        "researchgym",
        every=every,
        measure=False,
        backend=None,
    )
