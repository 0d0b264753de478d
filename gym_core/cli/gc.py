"""CLI: ``rgym gc`` removes what crashed runs left behind (containers, mounts, cgroups, scratch)."""

from __future__ import annotations

from typing import Annotated

import typer

from gym_core.cli.options import StoreOption


def register(app: typer.Typer) -> None:
    """Mount this module's commands on the root app."""
    app.command(name="gc")(gc)


def gc(
    all_: Annotated[
        bool, typer.Option("--all", help="Remove every rgym sandbox, including those of runs still alive.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    store: StoreOption = None,
) -> None:
    """Remove leftover containers/processes of dead runs, and mark their episodes interrupted."""
    from gym_core.sandbox.cleanup import collect_garbage
    from gym_core.store import open_store

    report = collect_garbage(everything=all_, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for kind, items in (
        ("container", report.containers),
        ("mount", report.mounts),
        ("cgroup", report.cgroups),
        ("sandbox uid", report.uids),
        ("network", report.networks),
        ("scratch folder", report.scratch_dirs),
    ):
        for item in items:
            typer.echo(f"{verb} {kind} {item}")
    for problem in report.problems:
        typer.echo(f"warning: {problem}", err=True)
    if not dry_run:
        # Opening the store marks the episodes and runs of dead owners interrupted (resumable).
        with open_store(store, recover=False) as trace_store:
            marked = trace_store.mark_interrupted()
        if marked:
            typer.echo(
                f"marked {marked} episode(s) of dead runs interrupted; `rgym resume RUN_ID` finishes them"
            )
    typer.echo(
        f"{verb} {report.removed} item(s); kept {report.kept_live} belonging to live runs"
        if report.removed or report.kept_live
        else "nothing to clean"
    )
