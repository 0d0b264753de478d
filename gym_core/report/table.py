"""The report as rich tables: capability and reliability side by side for each (task, agent)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import zip_longest

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gym_core.report import formatting as fmt
from gym_core.report.entries import ReportEntry
from gym_core.scoring.metrics import CAPABILITY_METRICS, RELIABILITY_METRICS

TEXT_WIDTH = 120
"""Width of the plain-text table, so the output does not depend on the terminal it is piped from."""


def summary_table(entries: Sequence[ReportEntry]) -> Table:
    """One line per run: the headline numbers, so several runs compare at a glance."""
    table = Table(title="rgym report", title_justify="left", show_lines=False)
    for header in ("task", "agent", "run"):
        table.add_column(header, no_wrap=True)
    table.add_column("perturbation", overflow="fold")
    for header in ("n/K", "c", "pass@K", "pass^K", "flicker", "mean"):
        table.add_column(header, justify="right", no_wrap=True)
    for e in entries:
        m = e.metrics
        table.add_row(
            e.run.task_id,
            e.run.agent,
            e.run.run_id[:12] + "…",  # the full id heads the run's panel below
            fmt.perturbation_text(e),
            f"{m.n}/{m.k}",
            str(m.c),
            fmt.number("pass_at_k", m.pass_at_k),
            fmt.number("pass_hat_k", m.pass_hat_k),
            Text(fmt.number("flicker", m.flicker), style="bold yellow"),
            fmt.number("mean", m.mean),
        )
    return table


def run_panel(entry: ReportEntry) -> Panel:
    """One run in detail: the two metric families side by side, the flicker line and the failures."""
    m, run = entry.metrics, entry.run
    table = Table(expand=True, show_edge=False)
    table.add_column("capability: can it appear?", style="cyan", no_wrap=True)
    table.add_column("", overflow="fold")
    table.add_column("reliability: does it persist?", style="magenta", no_wrap=True)
    table.add_column("", overflow="fold")
    for cap, rel in zip_longest(CAPABILITY_METRICS, RELIABILITY_METRICS):
        table.add_row(
            fmt.metric_label(cap, m.k) if cap else "",
            fmt.cell(entry, cap) if cap else "",
            fmt.metric_label(rel, m.k) if rel else "",
            fmt.cell(entry, rel) if rel else "",
        )
    lines: list[RenderableType] = [
        Text(
            f"{run.metric_name} ({run.direction}); baseline {run.baseline_raw:g} = 0, "
            f"reference {run.reference_raw:g} = 1, success at normalized >= {run.success_threshold:g}"
        ),
        Text(fmt.counts_text(m)),
        table,
        Text(fmt.flicker_sentence(m), style="bold yellow"),
    ]
    comparison = fmt.comparison_text(entry, "flicker")
    if comparison is not None:
        lines.append(Text(f"flicker beside the clean run: {comparison}", style="yellow"))
    lines.append(Text(f"failures: {fmt.failures_text(m)}"))
    title = f"{run.task_id} · {run.agent} · run {run.run_id} · {fmt.perturbation_text(entry)}"
    if entry.clean_run is not None:
        title += f" (vs clean run {entry.clean_run.run_id})"
    return Panel(Group(*lines), title=title, title_align="left")


def renderables(entries: Sequence[ReportEntry]) -> list[RenderableType]:
    """Everything the table format prints, in order."""
    return [summary_table(entries), *(run_panel(e) for e in entries), Text(fmt.FLICKER_MEANING, style="dim")]


def render_table(entries: Sequence[ReportEntry]) -> str:
    """The report as plain text (no colour codes), at a fixed width."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=TEXT_WIDTH, force_terminal=False, no_color=True, color_system=None)
    for item in renderables(entries):
        console.print(item)
    return buffer.getvalue()


def print_table(entries: Sequence[ReportEntry], console: Console) -> None:
    """Print the report on a console, in colour when the console supports it.

    A terminal gets its own width; anything else (a pipe, a CI log) gets the fixed text width, because
    rich would otherwise assume 80 columns and fold the numbers.
    """
    if not console.is_terminal and console.width < TEXT_WIDTH:
        console = Console(file=console.file, width=TEXT_WIDTH, no_color=console.no_color, highlight=False)
    for item in renderables(entries):
        console.print(item)
