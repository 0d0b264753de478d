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
from gym_core.report.layout import NARROW_BELOW, records
from gym_core.scoring.metrics import CAPABILITY_METRICS, RELIABILITY_METRICS

TEXT_WIDTH = 120
"""Width of the plain-text table, so the output does not depend on the terminal it is piped from."""


def summary_table(entries: Sequence[ReportEntry]) -> Table:
    """One line per run: the headline numbers, so several runs compare at a glance."""
    table = Table(title="rgym report", title_justify="left", show_lines=False)
    # Free text folds onto more lines; the run id and the numbers never do, so a long agent name cannot
    # squeeze or cut them in a table that is piped (120 columns). Narrower consoles get records instead.
    table.add_column("task", overflow="fold")
    table.add_column("agent", overflow="fold")
    table.add_column("run", no_wrap=True)
    table.add_column("perturbation", overflow="fold")
    for header in ("n/K", "c", "pass@K", "pass^K", "flicker", "mean"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for e in entries:
        m = e.metrics
        table.add_row(
            e.run.task_id,
            e.run.agent,
            e.run.run_id,
            fmt.perturbation_text(e),
            f"{m.n}/{m.k}" + (f" ({m.n_excluded}✗)" if m.n_excluded else ""),
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
        Text(fmt.scale_text(run)),
        Text(fmt.counts_text(m)),
        table,
        Text(fmt.flicker_sentence(m), style="bold yellow"),
    ]
    comparison = fmt.comparison_text(entry, "flicker")
    if comparison is not None:
        lines.append(Text(f"flicker beside the clean run: {comparison}", style="yellow"))
    lines.append(Text(f"failures (the agent's): {fmt.failures_text(m)}"))
    lines.append(Text(f"harness reliability: {fmt.harness_text(m)}"))
    flag = fmt.exclusion_flag(m)
    if flag is not None:
        lines.append(Text(f"⚠ {flag}", style="bold red"))
    # The id comes first: a title too long for the panel is cut at its end, and a long agent name must not
    # cut the id away.
    title = f"run {run.run_id} · {run.task_id} · {run.agent} · {fmt.perturbation_text(entry)}"
    if entry.clean_run is not None:
        title += f" (vs clean run {entry.clean_run.run_id})"
    return Panel(Group(*lines), title=title, title_align="left")


def _summary_records(entries: Sequence[ReportEntry]) -> RenderableType:
    rows, heads = [], []
    for e in entries:
        m = e.metrics
        heads.append(f"run {e.run.run_id}")
        rows.append(
            [
                ("task", e.run.task_id),
                ("agent", e.run.agent),
                ("perturbation", fmt.perturbation_text(e)),
                ("n/K", f"{m.n}/{m.k}"),
                ("c", str(m.c)),
                ("pass@K", fmt.number("pass_at_k", m.pass_at_k)),
                ("pass^K", fmt.number("pass_hat_k", m.pass_hat_k)),
                ("flicker", fmt.number("flicker", m.flicker)),
                ("mean", fmt.number("mean", m.mean)),
            ]
        )
    return Group(Text("rgym report", style="italic"), records(rows, heads=heads))


def _panel_records(entry: ReportEntry) -> Panel:
    """A run's panel for a narrow console: the two families one above the other, one metric a line."""
    m, run = entry.metrics, entry.run
    lines: list[RenderableType] = [
        Text(f"run {run.run_id}", style="bold"),
        Text(fmt.perturbation_text(entry)),
        Text(fmt.counts_text(m)),
    ]
    for title, names, style in (
        ("capability: can it appear?", CAPABILITY_METRICS, "cyan"),
        ("reliability: does it persist?", RELIABILITY_METRICS, "magenta"),
    ):
        lines.append(Text(title, style=f"bold {style}"))
        lines.append(
            records([[(fmt.metric_label(name, m.k), fmt.cell(entry, name, sep=", "))] for name in names])
        )
    lines += [Text(fmt.flicker_sentence(m), style="bold yellow"), Text(f"failures: {fmt.failures_text(m)}")]
    return Panel(Group(*lines), title=f"{run.task_id} · {run.agent}", title_align="left")


def renderables(entries: Sequence[ReportEntry], width: int = TEXT_WIDTH) -> list[RenderableType]:
    """Everything the table format prints, in order; below :data:`NARROW_BELOW` columns as records."""
    if width < NARROW_BELOW:
        return [
            _summary_records(entries),
            *(_panel_records(e) for e in entries),
            Text(fmt.FLICKER_MEANING, style="dim"),
        ]
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

    A terminal gets its own width (records instead of tables when it is narrow); anything else (a pipe, a
    CI log) gets the fixed text width, because rich would otherwise assume 80 columns and fold the numbers.
    """
    if not console.is_terminal and console.width < TEXT_WIDTH:
        console = Console(file=console.file, width=TEXT_WIDTH, no_color=console.no_color, highlight=False)
    for item in renderables(entries, console.width):
        console.print(item)
