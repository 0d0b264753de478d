"""``rgym compare`` as a table, JSON, Markdown or self-contained HTML (with plots).

A comparison shows the runs side by side, then for each run after the first its verdict against the first,
every metric's difference with a 95% bootstrap CI and a permutation p-value, and the power notes. A history
shows each series of comparable runs in order, with the flicker over time.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from html import escape
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gym_core import __version__
from gym_core.errors import ConfigError
from gym_core.report import comparison_text as ct
from gym_core.report.comparison import ComparisonReport, History
from gym_core.report.layout import NARROW_BELOW, records
from gym_core.report.table import TEXT_WIDTH
from gym_core.scoring.compare import RunComparison

FORMATS = ("table", "json", "md", "html")
"""Every format of ``rgym compare``."""

COMPARE_SCHEMA = "rgym.compare/1"
HISTORY_SCHEMA = "rgym.history/1"

VERDICT_STYLE = {"better": "bold green", "worse": "bold red"}


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


# --- JSON ----------------------------------------------------------------------------------------------


def _comparison_json(report: ComparisonReport, comparison: RunComparison) -> dict[str, Any]:
    p = comparison.pairing
    return {
        "a": comparison.a_run_id,
        "b": comparison.b_run_id,
        "k": comparison.k,
        "pairing": {
            "paired": p.paired,
            "pairs": p.pairs,
            "n_a": p.n_a,
            "n_b": p.n_b,
            "unmatched_a": p.unmatched_a,
            "unmatched_b": p.unmatched_b,
        },
        "verdict": comparison.headline.verdict,
        "headline": ct.headline(report, comparison),
        "p_values": {"exact": comparison.exact_p, "relabellings": comparison.relabellings},
        "alpha": comparison.alpha,
        "metrics": [
            {
                "name": d.name,
                "label": ct.metric_label(d.name, comparison.k),
                "a": _num(d.a),
                "b": _num(d.b),
                "diff": _num(d.diff),
                "ci95": [_num(d.ci[0]), _num(d.ci[1])],
                "p_value": _num(d.p_value),
                "verdict": d.verdict,
                "verdict_text": ct.verdict_text(d, comparison),
                "higher_is_better": d.higher_is_better,
            }
            for d in comparison.metrics
        ],
        "power": [
            {
                "metric": n.metric,
                "delta": n.delta,
                "attempts_needed": n.needed,
                "attempts_have": n.have,
                "basis": n.basis,
                "text": ct.power_text(n, comparison),
            }
            for n in comparison.power
        ],
    }


def comparison_json(report: ComparisonReport) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (what ``--format json`` prints and the viewer reads)."""
    return {
        "schema": COMPARE_SCHEMA,
        "task_id": report.task_id,
        "task_version": report.task_version,
        "detect": report.detect,
        "warnings": list(report.warnings),
        "runs": [
            {
                "label": r.label,
                "run_id": r.run.run_id,
                "agent": r.run.agent,
                "title": r.title,
                "task_checksum": r.run.task_checksum,
                "perturbations": dict(r.run.perturbations),
                "created_at": r.run.created_at,
                "k": r.metrics.k,
                "n": r.metrics.n,
                "c": r.metrics.c,
                "n_excluded": r.metrics.n_excluded,
                "pass_at_k": _num(r.metrics.pass_at_k),
                "pass_hat_k": _num(r.metrics.pass_hat_k),
                "flicker": _num(r.metrics.flicker),
                "mean": _num(r.metrics.mean),
            }
            for r in report.runs
        ],
        "comparisons": [_comparison_json(report, c) for c in report.comparisons],
    }


def history_json(history: History) -> dict[str, Any]:
    """The history as a JSON-ready dict."""
    series = []
    for s in history.series:
        points = []
        for p in s.points:
            m = p.metrics
            previous = None
            if p.vs_previous is not None:
                h = p.vs_previous.headline
                previous = {
                    "run_id": p.vs_previous.a_run_id,
                    "verdict": h.verdict,
                    "text": ct.vs_previous_text(p),
                    "diff": _num(h.diff),
                    "ci95": [_num(h.ci[0]), _num(h.ci[1])],
                    "p_value": _num(h.p_value),
                }
            points.append(
                {
                    "run_id": p.run.run_id,
                    "created_at": p.run.created_at,
                    "k": m.k,
                    "n": m.n,
                    "c": m.c,
                    "n_excluded": m.n_excluded,
                    "pass_at_k": _num(m.pass_at_k),
                    "pass_hat_k": _num(m.pass_hat_k),
                    "flicker": _num(m.flicker),
                    "mean": _num(m.mean),
                    "vs_previous": previous,
                }
            )
        series.append(
            {
                "task_version": s.task_version,
                "task_checksum": s.task_checksum,
                "perturbations": s.perturbations,
                "reason": s.reason,
                "runs": points,
            }
        )
    return {"schema": HISTORY_SCHEMA, "task_id": history.task_id, "agent": history.agent, "series": series}


# --- table ---------------------------------------------------------------------------------------------


def _runs_table(report: ComparisonReport, narrow: bool) -> RenderableType:
    if narrow:
        rows = [ct.run_line_cells(r) for r in report.runs]
        return records(
            [list(zip(ct.RUN_LINE_HEADERS[3:], cells[3:], strict=True)) for cells in rows],
            heads=[f"{cells[0]}  {cells[2]}  {cells[1]}" for cells in rows],
        )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for header in ct.RUN_LINE_HEADERS:
        numeric = header in ("n/K", "c", "pass@K", "pass^K", "flicker", "mean")
        if header == "agent":
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for run in report.runs:
        table.add_row(*ct.run_line_cells(run))
    return table


def _comparison_panel(report: ComparisonReport, comparison: RunComparison, narrow: bool) -> Panel:
    h = comparison.headline
    a, b = report.run(comparison.a_run_id), report.run(comparison.b_run_id)
    headers = ct.metric_headers(a.label, b.label)
    table = _metric_table(comparison, headers) if not narrow else _metric_records(comparison, headers)
    parts: list[RenderableType] = [
        Text(ct.headline(report, comparison), style=VERDICT_STYLE.get(h.verdict, "bold")),
        Text(
            f"{ct.pairing_text(comparison, a.label, b.label)}; k = {comparison.k}; p-values "
            f"{ct.p_method(comparison)} over {comparison.relabellings} relabellings",
            style="dim",
        ),
        table,
    ]
    parts += [Text("power: " + ct.power_text(note, comparison)) for note in comparison.power]
    return Panel(Group(*parts), title=f"{b.label} vs {a.label}", title_align="left")


def _metric_records(comparison: RunComparison, headers: tuple[str, ...]) -> RenderableType:
    rows = [ct.metric_cells(d, comparison) for d in comparison.metrics]
    return records(
        [list(zip(headers[1:], cells[1:], strict=True)) for cells in rows],
        heads=[cells[0] for cells in rows],
        styles=[VERDICT_STYLE.get(d.verdict, "bold") for d in comparison.metrics],
    )


def _metric_table(comparison: RunComparison, headers: tuple[str, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for header in headers:
        if header in ("metric", "verdict"):
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for diff in comparison.metrics:
        cells = ct.metric_cells(diff, comparison)
        table.add_row(*cells[:-1], Text(cells[-1], style=VERDICT_STYLE.get(diff.verdict, "")))
    return table


def comparison_renderables(report: ComparisonReport, width: int = TEXT_WIDTH) -> list[RenderableType]:
    """Everything the table form of a comparison prints, in order (records below :data:`NARROW_BELOW`)."""
    narrow = width < NARROW_BELOW
    out: list[RenderableType] = [
        Text(
            f"rgym compare · {report.task_id} v{report.task_version} · each run against "
            f"{report.reference.label} ({report.reference.title})",
            style="bold",
        ),
        _runs_table(report, narrow),
    ]
    out += [Text(f"warning: {w}", style="bold yellow") for w in report.warnings]
    out += [_comparison_panel(report, c, narrow) for c in report.comparisons]
    return out


def history_renderables(history: History, width: int = TEXT_WIDTH) -> list[RenderableType]:
    """Everything the table form of a history prints, in order (records below :data:`NARROW_BELOW`)."""
    out: list[RenderableType] = [
        Text(
            f"rgym compare --history · {history.task_id} · agent {history.agent} · {history.n_runs} run(s)",
            style="bold",
        )
    ]
    index = 0
    for s in history.series:
        cells = []
        for point in s.points:
            index += 1
            cells.append(ct.history_cells(index, point))
        grid = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for header in ct.HISTORY_HEADERS:
            if header.startswith("vs previous"):
                grid.add_column(header, overflow="fold")
            else:
                numeric = header not in ("run id", "created")
                grid.add_column(header, justify="right" if numeric else "left", no_wrap=True)
        for row in cells:
            grid.add_row(*row)
        table: RenderableType = grid
        # Long run ids can make the table too wide for its panel (4 columns of border and padding) even
        # from NARROW_BELOW on; rich would then cut ids and numbers, so records are printed instead.
        if width < NARROW_BELOW or _min_width(grid, width) > width - 4:
            table = records(
                [list(zip(ct.HISTORY_HEADERS[2:], row[2:], strict=True)) for row in cells],
                heads=[f"{row[0]}. {row[1]}" for row in cells],
            )
        pert = ", ".join(f"{k}={v}" for k, v in sorted(s.perturbations.items()))
        title = f"task v{s.task_version} · checksum {s.task_checksum[:12]}" + (f" · {pert}" if pert else "")
        parts: list[RenderableType] = []
        if s.reason:
            parts.append(Text(f"a separate series: {s.reason}", style="yellow"))
        parts += [table, Text(f"flicker over time: {ct.flicker_trend(s.points)}")]
        out.append(Panel(Group(*parts), title=title, title_align="left"))
    return out


def _min_width(table: Table, width: int) -> int:
    """The fewest columns ``table`` needs on a console ``width`` wide without cutting a cell."""
    console = Console(file=io.StringIO(), width=width)
    return Measurement.get(console, console.options, table).minimum


def plain_text(renderables: Sequence[RenderableType]) -> str:
    """Renderables as plain text at :data:`TEXT_WIDTH`, without colour codes."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=TEXT_WIDTH, force_terminal=False, no_color=True, color_system=None)
    for item in renderables:
        console.print(item)
    return buffer.getvalue()


def wide_unless_terminal(console: Console) -> Console:
    """``console``, or one :data:`TEXT_WIDTH` wide when it is not a terminal (a pipe, a CI log)."""
    if not console.is_terminal and console.width < TEXT_WIDTH:
        return Console(file=console.file, width=TEXT_WIDTH, no_color=console.no_color, highlight=False)
    return console


def print_comparison(report: ComparisonReport, console: Console) -> None:
    """Print a comparison in colour on a terminal at its width, else at :data:`TEXT_WIDTH`."""
    console = wide_unless_terminal(console)
    for item in comparison_renderables(report, console.width):
        console.print(item)


def print_history(history: History, console: Console) -> None:
    """Print a history in colour on a terminal at its width, else at :data:`TEXT_WIDTH`."""
    console = wide_unless_terminal(console)
    for item in history_renderables(history, console.width):
        console.print(item)


# --- Markdown ------------------------------------------------------------------------------------------


def md_row(cells: Sequence[str]) -> str:
    """A Markdown table row; pipes in cells are escaped, line breaks become ``<br>``."""
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", "<br>") for c in cells) + " |"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table, one line per row."""
    return [md_row(headers), "|" + "---|" * len(headers), *(md_row(r) for r in rows)]


def comparison_markdown(report: ComparisonReport, *, level: int = 1) -> str:
    """The comparison as Markdown; its title is a heading of ``level`` (2 inside a suite comparison)."""
    h = "#" * level
    lines = [
        f"{h} rgym compare: {report.task_id} v{report.task_version}",
        "",
        f"Each run against {report.reference.label} ({report.reference.title}).",
        "",
        *md_table(ct.RUN_LINE_HEADERS, [ct.run_line_cells(r) for r in report.runs]),
        "",
    ]
    lines += [f"> **Warning:** {w}" for w in report.warnings]
    for c in report.comparisons:
        a, b = report.run(c.a_run_id), report.run(c.b_run_id)
        lines += [
            "",
            f"{h}# {b.label} vs {a.label}",
            "",
            f"**{ct.headline(report, c)}**",
            "",
            f"{ct.pairing_text(c, a.label, b.label)}; k = {c.k}; p-values {ct.p_method(c)} over "
            f"{c.relabellings} relabellings.",
            "",
            *md_table(ct.metric_headers(a.label, b.label), [ct.metric_cells(d, c) for d in c.metrics]),
            "",
            *(f"- Power: {ct.power_text(n, c)}" for n in c.power),
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def history_markdown(history: History) -> str:
    lines = [f"# rgym history: {history.task_id}, agent {history.agent}", ""]
    index = 0
    for s in history.series:
        pert = ", ".join(f"{k}={v}" for k, v in sorted(s.perturbations.items()))
        lines += [
            f"## Task v{s.task_version}, checksum `{s.task_checksum[:12]}`" + (f", {pert}" if pert else "")
        ]
        lines.append("")
        if s.reason:
            lines += [f"> A separate series: {s.reason}", ""]
        rows = []
        for point in s.points:
            index += 1
            rows.append(ct.history_cells(index, point))
        lines += [
            *md_table(ct.HISTORY_HEADERS, rows),
            "",
            f"Flicker over time: {ct.flicker_trend(s.points)}",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


# --- HTML ----------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1150px;
       color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
.meta { color: #57606a; font-size: .92rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .93rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.headline { padding: .6rem .9rem; margin: 1rem 0; font-weight: 600; border-left: 4px solid #8c959f;
            background: #f6f8fa; }
.headline.better { border-color: #1a7f37; background: #dafbe1; }
.headline.worse { border-color: #cf222e; background: #ffebe9; }
.warning { padding: .6rem .9rem; background: #fff8c5; border-left: 4px solid #d4a72c; }
td.better { color: #1a7f37; font-weight: 600; } td.worse { color: #cf222e; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: .88rem; }
"""


def img_tag(png: bytes, alt: str) -> str:
    """A PNG inlined as a data: URL, so the page needs no other file."""
    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{escape(alt)}">'


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    """An escaped HTML table; ``classes[i]`` styles row i's last cell (its verdict)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = classes[i] if i < len(classes) else ""
        cells = "".join(
            f'<td class="{escape(cls)}">{escape(c)}</td>'
            if j == len(row) - 1 and cls
            else f"<td>{escape(c)}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_page(title: str, body: str) -> str:
    """A self-contained page of compare's style around ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">rgym {escape(__version__)}</p>{body}</body></html>\n'
    )


def comparison_html(report: ComparisonReport) -> str:
    return html_page(f"rgym compare: {report.task_id} v{report.task_version}", comparison_html_body(report))


def comparison_html_body(report: ComparisonReport, *, level: int = 2) -> str:
    """The comparison's HTML without its page; each pair's heading is ``h{level}``."""
    from gym_core.report import plots

    parts = [
        f"<p>Each run against {escape(report.reference.label)} ({escape(report.reference.title)}).</p>",
        html_table(ct.RUN_LINE_HEADERS, [ct.run_line_cells(r) for r in report.runs]),
    ]
    parts += [f'<p class="warning">{escape(w)}</p>' for w in report.warnings]
    for c in report.comparisons:
        a, b = report.run(c.a_run_id), report.run(c.b_run_id)
        rows = [ct.metric_cells(d, c) for d in c.metrics]
        caption = f"Difference {b.label} - {a.label} of each metric with its 95% bootstrap CI; right of 0 is a rise."
        parts += [
            f"<section><h{level}>{escape(b.label)} vs {escape(a.label)}</h{level}>",
            f'<p class="headline {escape(c.headline.verdict)}">{escape(ct.headline(report, c))}</p>',
            f'<p class="meta">{escape(ct.pairing_text(c, a.label, b.label))}; k = {c.k}; p-values '
            f"{escape(ct.p_method(c))} over {c.relabellings} relabellings.</p>",
            html_table(ct.metric_headers(a.label, b.label), rows, [d.verdict for d in c.metrics]),
            "".join(f"<p>Power: {escape(ct.power_text(n, c))}</p>" for n in c.power),
            f"<figure>{img_tag(plots.difference_forest(c, ct.metric_label), caption)}"
            f"<figcaption>{escape(caption)}</figcaption></figure></section>",
        ]
    return "".join(parts)


def history_html(history: History) -> str:
    from gym_core.report import plots

    parts = []
    index = 0
    for s in history.series:
        pert = ", ".join(f"{k}={v}" for k, v in sorted(s.perturbations.items()))
        parts.append(
            f"<section><h2>task v{s.task_version} · checksum {escape(s.task_checksum[:12])}"
            + (f" · {escape(pert)}" if pert else "")
            + "</h2>"
        )
        if s.reason:
            parts.append(f'<p class="warning">A separate series: {escape(s.reason)}</p>')
        rows = []
        for point in s.points:
            index += 1
            rows.append(ct.history_cells(index, point))
        caption = "pass@K, pass^K and the flicker between them, run by run (oldest first)."
        parts += [
            html_table(ct.HISTORY_HEADERS, rows),
            f"<p>Flicker over time: {escape(ct.flicker_trend(s.points))}</p>",
            f"<figure>{img_tag(plots.history_trend(s.points), caption)}<figcaption>{escape(caption)}</figcaption>"
            "</figure></section>",
        ]
    return html_page(f"rgym history: {history.task_id}, agent {history.agent}", "".join(parts))


# --- entry points ----------------------------------------------------------------------------------------


def check_format(fmt: str) -> None:
    """Raise ConfigError for a format not in :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown compare format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")


def render_comparison(report: ComparisonReport, fmt: str) -> str:
    """A comparison in one of :data:`FORMATS` (``table`` is plain text, no colour codes).

    Raises:
        ConfigError: an unknown format.
    """
    check_format(fmt)
    if fmt == "json":
        return json.dumps(comparison_json(report), indent=2, allow_nan=False) + "\n"
    if fmt == "md":
        return comparison_markdown(report)
    if fmt == "html":
        return comparison_html(report)
    return plain_text(comparison_renderables(report))


def render_history(history: History, fmt: str) -> str:
    """A history in one of :data:`FORMATS`.

    Raises:
        ConfigError: an unknown format.
    """
    check_format(fmt)
    if fmt == "json":
        return json.dumps(history_json(history), indent=2, allow_nan=False) + "\n"
    if fmt == "md":
        return history_markdown(history)
    if fmt == "html":
        return history_html(history)
    return plain_text(history_renderables(history))
