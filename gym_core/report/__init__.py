"""``rgym report``: capability and reliability of runs, side by side, as a table, JSON, Markdown or HTML."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console

from gym_core.errors import ConfigError
from gym_core.report.entries import ReportEntry, build_entries
from gym_core.report.html import render_html
from gym_core.report.json_format import render_json
from gym_core.report.markdown import render_markdown
from gym_core.report.table import print_table, render_table
from gym_core.scoring.run_data import RunData

_RENDERERS: dict[str, Callable[[Sequence[ReportEntry]], str]] = {
    "table": render_table,
    "json": render_json,
    "md": render_markdown,
    "html": render_html,
}

FORMATS = tuple(_RENDERERS)
"""Every report format, as accepted by ``--format``."""


def render_report(runs: Sequence[RunData], fmt: str) -> str:
    """Render the report of ``runs`` in one format.

    Args:
        runs: the runs to report; a perturbed run is compared with the clean run of the same task and
            agent among them.
        fmt: ``table`` (plain text, no colour codes), ``json``, ``md`` or ``html``.

    Raises:
        ConfigError: for an unknown format, no runs, or a run given twice.
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ConfigError(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return renderer(build_entries(runs))


def print_report(runs: Sequence[RunData], console: Console) -> None:
    """Print the table report on ``console``, in colour when it is a terminal."""
    print_table(build_entries(runs), console)


__all__ = ["FORMATS", "ReportEntry", "build_entries", "print_report", "render_report"]
