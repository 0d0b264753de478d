"""``rgym report``: capability and reliability of runs, side by side, as a table, JSON, Markdown or HTML."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gym_core.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from gym_core.report.entries import ReportEntry
    from gym_core.scoring.run_data import RunData

#: Format -> the module and function that render it. Each is imported when used: the HTML report's
#: plots need matplotlib, which the terminal table (and ``rgym episodes``, which uses this package's
#: layout helpers) should not pay for.
_RENDERERS: dict[str, tuple[str, str]] = {
    "table": ("gym_core.report.table", "render_table"),
    "json": ("gym_core.report.json_format", "render_json"),
    "md": ("gym_core.report.markdown", "render_markdown"),
    "html": ("gym_core.report.html", "render_html"),
}

FORMATS = tuple(_RENDERERS)
"""Every report format, as accepted by ``--format``."""


def _renderer(fmt: str) -> Callable[[Sequence[ReportEntry]], str] | None:
    where = _RENDERERS.get(fmt)
    if where is None:
        return None
    render: Callable[[Sequence[ReportEntry]], str] = getattr(importlib.import_module(where[0]), where[1])
    return render


def build_entries(runs: Sequence[RunData]) -> list[ReportEntry]:
    """See :func:`gym_core.report.entries.build_entries`."""
    from gym_core.report.entries import build_entries as build

    return build(runs)


def render_report(runs: Sequence[RunData], fmt: str) -> str:
    """Render the report of ``runs`` in one format.

    Args:
        runs: the runs to report; a perturbed run is compared with the clean run of the same task and
            agent among them.
        fmt: ``table`` (plain text, no colour codes), ``json``, ``md`` or ``html``.

    Raises:
        ConfigError: for an unknown format, no runs, or a run given twice.
    """
    renderer = _renderer(fmt)
    if renderer is None:
        raise ConfigError(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return renderer(build_entries(runs))


def print_report(runs: Sequence[RunData], console: Console) -> None:
    """Print the table report on ``console``, in colour when it is a terminal."""
    from gym_core.report.table import print_table

    print_table(build_entries(runs), console)


def __getattr__(name: str) -> object:
    if name == "ReportEntry":  # kept importable from here, loaded on first use
        from gym_core.report.entries import ReportEntry

        return ReportEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "ReportEntry", "build_entries", "print_report", "render_report"]
