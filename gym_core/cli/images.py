"""CLI: ``rgym images build [ID...]``, the base image and task images, with progress."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from gym_core.errors import EXIT_CHECK_FAILED
from gym_core.images.base import prepare_base_image
from gym_core.images.docker_build import ImageResult
from gym_core.images.engine import docker_client
from gym_core.images.task_image import prepare_task_image
from gym_core.tasks.discovery import discover, find_task
from gym_core.tasks.loader import Task, display_path

app = typer.Typer(help="Build the base image and task images.", no_args_is_help=True)

#: Characters of the latest build output line shown beside the spinner.
STATUS_WIDTH = 70


@app.command("build")
def build(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Task ids or task folders (default: every task found).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Build even when up to date (the base image too without IDs).")
    ] = False,
    base_only: Annotated[
        bool, typer.Option("--base-only", help="Only make sure the base image exists.")
    ] = False,
) -> None:
    """Build the base image and the image of each task; images already up to date are kept."""
    console = Console(highlight=False)
    problems = 0
    # Resolve every id before touching the engine, so a typo fails at once with exit code 2.
    tasks: list[Task] = []
    if not base_only:
        if ids:
            tasks = [find_task(task_id) for task_id in ids]
        else:
            found = discover()
            tasks = list(found.tasks.values())
            for folder, error in found.broken.items():
                problems += 1
                first = str(error).splitlines()[0]
                console.print(f"[yellow]skipped[/] {escape(display_path(folder))}: {escape(first)}")
    client = docker_client()
    rebuild_base = rebuild and (base_only or not ids)

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[line]}"),
        console=console,
        transient=True,
    ) as progress:
        row = progress.add_task("images", total=1 + len(tasks), line="")

        def show(line: str) -> None:
            progress.update(row, line=escape(line.strip()[:STATUS_WIDTH]))

        def done(result: ImageResult, started: float) -> None:
            state = f"built in {time.monotonic() - started:.0f}s" if result.built else "up to date"
            progress.console.print(f"[green]✓[/] {escape(result.tag)}  {state}")
            progress.advance(row)

        started = time.monotonic()
        progress.update(row, description="base image")
        done(prepare_base_image(client, rebuild=rebuild_base, progress=show), started)
        for task in tasks:
            started = time.monotonic()
            progress.update(row, description=task.id, line="")
            done(prepare_task_image(task, client, rebuild=rebuild, progress=show), started)
    if problems:
        raise typer.Exit(EXIT_CHECK_FAILED)
