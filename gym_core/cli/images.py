"""CLI: placeholder, filled in by its issue."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build the base image and task images.", no_args_is_help=True)
