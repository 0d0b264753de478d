"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from gym_core.store import TraceStore

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="RGYM_STORE",
        help="Trace store URL (default: traces.db in the rgym data dir, as for gym.make and rgym serve).",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray cluster of --executor ray: HOST:PORT of its head node, or auto (default: RAY_ADDRESS, else "
        "a cluster running on this machine, else a new one-node cluster).",
    ),
]
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend", help="Sandbox backend: docker or local (default: docker when an engine answers)."
    ),
]


def is_default_store(store: TraceStore) -> bool:
    """True when ``store`` is the one every entry point uses when none is given."""
    from gym_core.settings import get_settings
    from gym_core.store.engine import parse_store_url

    default = parse_store_url(get_settings().default_store_url)
    if store.url.get_backend_name() == "sqlite" and store.url.database:
        return (
            default.database is not None
            and Path(store.url.database).resolve() == Path(default.database).resolve()
        )
    return False


def note_store(store: TraceStore, console: Console) -> None:
    """Say which store a command read or wrote, when it is not the default one (so its run ids are found
    again with the same ``--store``)."""
    if not is_default_store(store):
        console.print(f"store: {store.display_url}", markup=False, highlight=False, soft_wrap=True)


def suite_run_or_none(store: TraceStore, prefix: str) -> str | None:
    """The suite run id ``prefix`` names, or None when it names none (for commands that take run ids and
    say so, or handle suite runs too, when given a suite run's)."""
    from gym_core.errors import NotFoundError

    try:
        return store.resolve_suite_run_id(prefix)
    except NotFoundError:
        return None


def _allow_weak_isolation(value: bool) -> bool:
    if value:  # settings are read lazily, also by attempts in worker threads and processes
        from gym_core.settings import get_settings

        os.environ["RGYM_ALLOW_WEAK_ISOLATION"] = "1"
        get_settings.cache_clear()
    return value


WeakIsolationOption = Annotated[
    bool,
    typer.Option(
        "--allow-weak-isolation",
        envvar="RGYM_ALLOW_WEAK_ISOLATION",
        callback=_allow_weak_isolation,
        help="Let the local backend run without bubblewrap: the agent can then read and write whatever you "
        "can, and reach the network.",
    ),
]
