"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from typing import Annotated

import typer

StoreOption = Annotated[
    str | None,
    typer.Option("--store", envvar="RGYM_STORE", help="Trace store URL (default: SQLite in the data dir)."),
]
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend", help="Sandbox backend: docker or local (default: docker when an engine answers)."
    ),
]
