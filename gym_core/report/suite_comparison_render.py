"""``rgym compare SUITE_RUN_A SUITE_RUN_B...`` as a table, JSON, Markdown or self-contained HTML.

On top, the suite runs and, for each suite run after the first, a summary against the first: one row per
task with the headline verdict on the success rate and its difference, and every task that could not be
compared with the reason. Below, each task's full comparison, as ``rgym compare RUN_A RUN_B`` prints it.
"""

from __future__ import annotations

import io
import json
import math
from html import escape
from typing import Any

from matplotlib.figure import Figure
from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gym_core.report import comparison_render as cr
from gym_core.report import comparison_text as ct
from gym_core.report.layout import NARROW_BELOW, records
from gym_core.report.suite_comparison import ComparedSuiteRun, SuiteComparison, SummaryRow, UnpairedTask
from gym_core.report.table import TEXT_WIDTH

SUITE_COMPARE_SCHEMA = "rgym.compare-suites/1"

SUITE_RUN_HEADERS = ("suite run", "suite run id", "suite", "agent", "K", "status", "tasks run")


def suite_run_cells(side: ComparedSuiteRun) -> list[str]:
    s = side.suite_run
    return [side.label, s.id, s.suite, s.agent, str(s.k), s.status, f"{len(side.runs)}/{len(s.tasks)}"]


def summary_headers(a: str, b: str) -> tuple[str, ...]:
    return ("task", f"{a} success", f"{b} success", f"Δ {b}-{a}", "95% CI", "p", "verdict")


def summary_cells(row: SummaryRow | UnpairedTask) -> list[str]:
    """A task's summary row: the success rates, their difference with its CI and p-value, and the verdict;
    for an unpaired task, ``not compared`` and the reason."""
    if isinstance(row, UnpairedTask):
        return [row.task_id, "-", "-", "-", "-", "-", f"not compared: {row.reason}"]
    h = row.comparison.headline
    return [
        row.task_id,
        ct.number(h.a),
        ct.number(h.b),
        ct.signed(h.diff),
        ct.ci_text(h.ci),
        ct.p_text(h.p_value),
        ct.verdict_text(h, row.comparison),
    ]


def _verdict(row: SummaryRow | UnpairedTask) -> str:
    return "not compared" if isinstance(row, UnpairedTask) else row.verdict


def counts_text(report: SuiteComparison, label: str) -> str:
    """``B (x on suite tiny) vs A (y on suite tiny), task by task: 1 better, 2 no detectable difference,
    1 not compared``."""
    counts = report.counts(label)
    told = ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "no task"
    b, a = report.suite_run(label), report.reference
    return f"{b.label} ({b.title}) vs {a.label} ({a.title}), task by task: {told}"


# --- JSON ----------------------------------------------------------------------------------------------


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _row_json(row: SummaryRow) -> dict[str, Any]:
    c, h = row.comparison, row.comparison.headline
    return {
        "task_id": row.task_id,
        "a_run_id": c.a_run_id,
        "b_run_id": c.b_run_id,
        "verdict": h.verdict,
        "verdict_text": ct.verdict_text(h, c),
        "headline": ct.headline(row.report, c),
        "success_rate": {
            "a": _num(h.a),
            "b": _num(h.b),
            "diff": _num(h.diff),
            "ci95": [_num(h.ci[0]), _num(h.ci[1])],
            "p_value": _num(h.p_value),
        },
    }


def suite_comparison_json(report: SuiteComparison) -> dict[str, Any]:
    """The suite comparison as a JSON-ready dict (what ``--format json`` prints)."""
    pairs = []
    for side in report.suite_runs[1:]:
        pairs.append(
            {
                "a": report.reference.label,
                "b": side.label,
                "counts": report.counts(side.label),
                "summary": [_row_json(r) for r in report.summary(side.label)],
                "unpaired": [
                    {"task_id": u.task_id, "reason": u.reason, "run_ids": list(u.run_ids)}
                    for u in report.unpaired_of(side.label)
                ],
            }
        )
    return {
        "schema": SUITE_COMPARE_SCHEMA,
        "detect": report.detect,
        "warnings": list(report.warnings),
        "suite_runs": [
            {
                "label": side.label,
                "suite_run_id": side.suite_run.id,
                "suite": side.suite_run.suite,
                "agent": side.suite_run.agent,
                "k": side.suite_run.k,
                "status": side.suite_run.status,
                "tasks": list(side.suite_run.tasks),
                "runs": {task: run.run_id for task, run in side.runs.items()},
            }
            for side in report.suite_runs
        ],
        "pairs": pairs,
        "tasks": [{"task_id": t.task_id, "comparison": cr.comparison_json(t.report)} for t in report.tasks],
    }


# --- table ---------------------------------------------------------------------------------------------


def _suite_runs_table(report: SuiteComparison, narrow: bool) -> RenderableType:
    rows = [suite_run_cells(side) for side in report.suite_runs]
    if narrow:
        return records(
            [list(zip(SUITE_RUN_HEADERS[2:], cells[2:], strict=True)) for cells in rows],
            heads=[f"{cells[0]}  {cells[1]}" for cells in rows],
        )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for header in SUITE_RUN_HEADERS:
        if header in ("suite", "agent"):
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right" if header == "K" else "left", no_wrap=True)
    for cells in rows:
        table.add_row(*cells)
    return table


def _summary_panel(report: SuiteComparison, side: ComparedSuiteRun, narrow: bool) -> Panel:
    a, b = report.reference.label, side.label
    headers = summary_headers(a, b)
    rows = report.rows(b)
    styles = [cr.VERDICT_STYLE.get(_verdict(r), "bold") for r in rows]
    table: RenderableType
    if narrow:
        table = records(
            [list(zip(headers[1:], summary_cells(r)[1:], strict=True)) for r in rows],
            heads=[r.task_id for r in rows],
            styles=styles,
        )
    else:
        grid = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for header in headers:
            if header in ("task", "verdict"):
                grid.add_column(header, overflow="fold")
            else:
                grid.add_column(header, justify="right", no_wrap=True)
        for row, style in zip(rows, styles, strict=True):
            cells = summary_cells(row)
            grid.add_row(*cells[:-1], Text(cells[-1], style=style if style != "bold" else ""))
        table = grid
    return Panel(
        Group(Text(counts_text(report, b), style="bold"), table),
        title=f"{b} vs {a}, task by task",
        title_align="left",
    )


def suite_comparison_renderables(report: SuiteComparison, width: int = TEXT_WIDTH) -> list[RenderableType]:
    """Everything the table form prints, in order (records below :data:`NARROW_BELOW` columns)."""
    narrow = width < NARROW_BELOW
    ref = report.reference
    out: list[RenderableType] = [
        Text(f"rgym compare · suite runs · each against {ref.label} ({ref.title})", style="bold"),
        _suite_runs_table(report, narrow),
    ]
    out += [Text(f"warning: {w}", style="bold yellow") for w in report.warnings]
    out += [_summary_panel(report, side, narrow) for side in report.suite_runs[1:]]
    for task in report.tasks:
        out += [Text(""), *cr.comparison_renderables(task.report, width)]
    return out


def print_suite_comparison(report: SuiteComparison, console: Console) -> None:
    """Print a suite comparison in colour on a terminal at its width, else at :data:`TEXT_WIDTH`."""
    console = cr.wide_unless_terminal(console)
    for item in suite_comparison_renderables(report, console.width):
        console.print(item)


# --- Markdown ------------------------------------------------------------------------------------------


def suite_comparison_markdown(report: SuiteComparison) -> str:
    ref = report.reference
    lines = [
        "# rgym compare: suite runs",
        "",
        f"Each suite run against {ref.label} ({ref.title}), task by task.",
        "",
        *cr.md_table(SUITE_RUN_HEADERS, [suite_run_cells(s) for s in report.suite_runs]),
    ]
    if report.warnings:
        lines += ["", *(f"> **Warning:** {w}" for w in report.warnings)]
    for side in report.suite_runs[1:]:
        lines += [
            "",
            f"## {side.label} vs {ref.label}, task by task",
            "",
            f"**{counts_text(report, side.label)}**",
            "",
            *cr.md_table(
                summary_headers(ref.label, side.label), [summary_cells(r) for r in report.rows(side.label)]
            ),
        ]
    for task in report.tasks:
        lines += ["", cr.comparison_markdown(task.report, level=2).rstrip("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


# --- HTML ----------------------------------------------------------------------------------------------


def summary_forest(report: SuiteComparison, label: str) -> bytes:
    """Suite run ``label`` against A: each task's difference in success rate with its 95% CI, against 0;
    unpaired tasks are named, without a point."""
    from gym_core.report import plots

    rows = report.rows(label)
    fig = Figure(figsize=(plots.FIGSIZE[0], 0.45 * len(rows) + 1.4))
    ax = fig.add_subplot()
    colours = {"better": plots.REFERENCE_COLOUR, "worse": plots.INVALID_COLOUR}
    ys = list(range(len(rows)))[::-1]
    for y, row in zip(ys, rows, strict=True):
        if isinstance(row, UnpairedTask):
            ax.text(0, y, "not compared", ha="center", va="center", color="#57606a", backgroundcolor="white")
            continue
        h = row.comparison.headline
        colour = colours.get(h.verdict, plots.BASELINE_COLOUR)
        if not math.isnan(h.ci[0]):
            ax.plot([h.ci[0], h.ci[1]], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
        if not math.isnan(h.diff):
            ax.plot([h.diff], [y], marker="o", color=colour, markersize=7)
    ax.axvline(0.0, color="black", linewidth=1)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(ys, [r.task_id.replace("$", r"\$") for r in rows])
    a = report.reference.label
    ax.set_xlabel(f"difference in success rate {label} - {a} (95% bootstrap CI)")
    ax.set_title(f"Suite run {label} against {a}, task by task; green better, red worse")
    ax.grid(alpha=0.3, axis="x")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=plots.DPI, bbox_inches="tight")
    return buffer.getvalue()


def suite_comparison_html(report: SuiteComparison) -> str:
    ref = report.reference
    parts = [
        f"<p>Each suite run against {escape(ref.label)} ({escape(ref.title)}), task by task.</p>",
        cr.html_table(SUITE_RUN_HEADERS, [suite_run_cells(s) for s in report.suite_runs]),
    ]
    parts += [f'<p class="warning">{escape(w)}</p>' for w in report.warnings]
    for side in report.suite_runs[1:]:
        rows = report.rows(side.label)
        caption = (
            f"Difference in success rate {side.label} - {ref.label} of each task with its 95% bootstrap CI; "
            "right of 0 is a rise."
        )
        parts += [
            f"<section><h2>{escape(side.label)} vs {escape(ref.label)}, task by task</h2>",
            f'<p class="headline">{escape(counts_text(report, side.label))}</p>',
            cr.html_table(
                summary_headers(ref.label, side.label),
                [summary_cells(r) for r in rows],
                [_verdict(r).replace(" ", "-") for r in rows],
            ),
            f"<figure>{cr.img_tag(summary_forest(report, side.label), caption)}"
            f"<figcaption>{escape(caption)}</figcaption></figure></section>",
        ]
    for task in report.tasks:
        r = task.report
        parts.append(
            f"<section><h2>{escape(r.task_id)} v{r.task_version}</h2>"
            f"{cr.comparison_html_body(r, level=3)}</section>"
        )
    return cr.html_page("rgym compare: suite runs", "".join(parts))


# --- entry point ---------------------------------------------------------------------------------------


def render_suite_comparison(report: SuiteComparison, fmt: str) -> str:
    """A suite comparison in one of :data:`~gym_core.report.comparison_render.FORMATS` (``table`` is plain
    text, no colour codes).

    Raises:
        ConfigError: an unknown format.
    """
    cr.check_format(fmt)
    if fmt == "json":
        return json.dumps(suite_comparison_json(report), indent=2, allow_nan=False) + "\n"
    if fmt == "md":
        return suite_comparison_markdown(report)
    if fmt == "html":
        return suite_comparison_html(report)
    return cr.plain_text(suite_comparison_renderables(report))
