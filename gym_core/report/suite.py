"""``rgym report SUITE_RUN...``: one row per task (capability and reliability side by side), an aggregate row,
the harness's own reliability over the suite run, and, for two or more suite runs, MLGym's AUP (docs/metrics.md,
"Suites")."""

from __future__ import annotations

import base64
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gym_core import __version__
from gym_core.errors import ConfigError
from gym_core.report import formatting as fmt
from gym_core.report.layout import records
from gym_core.report.table import TEXT_WIDTH
from gym_core.scoring.metrics import HarnessReliability, RunMetrics, compute_metrics
from gym_core.scoring.profile import BASELINE, Profiles, TaskScores, performance_profiles
from gym_core.scoring.run_data import RunData
from gym_core.store.records import SuiteRunPublic

AGGREGATES = ("best_of_k", "pass_at_k", "pass_hat_k", "flicker")
"""The metrics the aggregate row averages over tasks."""


@dataclass(frozen=True)
class SuiteRunData:
    """A suite run as loaded from the store: its record and one RunData per task, in the suite's order."""

    suite_run: SuiteRunPublic
    runs: tuple[RunData, ...]


@dataclass(frozen=True)
class TaskRow:
    """One task of a suite run."""

    run: RunData
    metrics: RunMetrics

    @property
    def best_raw(self) -> float | None:
        """The best final (private) raw score over the attempts, in the metric's direction."""
        scores = [a.final_raw for a in self.run.attempts if a.final_raw is not None and not a.excluded]
        scores = [s for s in scores if math.isfinite(s)]
        if not scores:
            return None
        return min(scores) if self.run.direction == "minimize" else max(scores)


@dataclass(frozen=True)
class SuiteReport:
    """What the report says about one suite run."""

    suite_run: SuiteRunPublic
    rows: tuple[TaskRow, ...]
    missing: tuple[str, ...]
    """Tasks of the suite without a run (a suite run cut short before it recorded them)."""

    @property
    def label(self) -> str:
        return f"{self.suite_run.agent} · {self.suite_run.id}"  # whole: ids made together share a prefix

    def mean(self, name: str) -> float:
        """The mean of a metric over the suite's tasks; NaN when any task's value is NaN or a task is missing
        (a mean over some tasks would pass for a suite score)."""
        if self.missing or not self.rows:
            return math.nan
        values = [row.metrics.value(name) for row in self.rows]
        return math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)

    @property
    def harness(self) -> HarnessReliability:
        """rgym's own reliability during the suite run: its tasks' tries, environment failures (by kind),
        retries and exclusions, summed."""
        parts = [row.metrics.harness for row in self.rows]
        kinds: Counter[str] = Counter()
        for part in parts:
            kinds.update(part.by_kind)
        return HarnessReliability(
            tries=sum(h.tries for h in parts),
            environment_failures=sum(h.environment_failures for h in parts),
            retries=sum(h.retries for h in parts),
            excluded=sum(h.excluded for h in parts),
            by_kind=dict(sorted(kinds.items())),
        )

    def exclusion_flag(self) -> str | None:
        """A warning naming the tasks with excluded attempts, else None."""
        excluded = [(row.run.task_id, row.metrics.n_excluded) for row in self.rows if row.metrics.n_excluded]
        if not excluded:
            return None
        k = self.suite_run.k
        where = ", ".join(f"{task} ({n})" for task, n in excluded)
        return (
            f"{sum(n for _, n in excluded)} attempt(s) excluded on {where}: they failed from the environment "
            f"even after retries, so those tasks' pass@{k} and pass^{k} are over their other attempts"
        )

    def na_reason(self) -> str | None:
        """Why the aggregate row is n/a, when it is."""
        if self.missing:
            return f"no run for {', '.join(self.missing)}"
        short = [row.run.task_id for row in self.rows if row.metrics.n < row.metrics.k]
        if short:
            return f"fewer than K finished attempts on {', '.join(short)}"
        return None


def build_suite_reports(data: Sequence[SuiteRunData]) -> tuple[list[SuiteReport], Profiles | None]:
    """Score every suite run; with two or more, their performance profiles and AUP too.

    Raises:
        ConfigError: no suite runs, or one given twice.
    """
    if not data:
        raise ConfigError("no suite runs to report", hint="pass at least one SUITE_RUN id")
    ids = [d.suite_run.id for d in data]
    if len(set(ids)) != len(ids):
        raise ConfigError("a suite run is given twice", hint="pass each SUITE_RUN id once")
    reports = []
    for d in data:
        done = {run.task_id for run in d.runs}
        reports.append(
            SuiteReport(
                suite_run=d.suite_run,
                rows=tuple(TaskRow(run, compute_metrics(run)) for run in d.runs),
                missing=tuple(t for t in d.suite_run.tasks if t not in done),
            )
        )
    return reports, (suite_profiles(reports) if len(reports) >= 2 else None)


def suite_profiles(reports: Sequence[SuiteReport]) -> Profiles:
    """AUP of the suite runs (each a method, keyed by its id) over every task any of them ran."""
    tasks: dict[str, TaskScores] = {}
    order: list[str] = []
    for report in reports:
        for row in report.rows:
            run = row.run
            if run.task_id not in tasks:
                order.append(run.task_id)
                tasks[run.task_id] = TaskScores(run.task_id, run.direction, run.baseline_raw, {})
            scores = dict(tasks[run.task_id].scores)
            scores[report.suite_run.id] = row.best_raw
            tasks[run.task_id] = TaskScores(run.task_id, run.direction, run.baseline_raw, scores)
    return performance_profiles([tasks[t] for t in order], [r.suite_run.id for r in reports])


# --- rendering ------------------------------------------------------------------------------------

_CAPABILITY = ("best_of_k", "pass_at_k")
_RELIABILITY = ("pass_hat_k", "worst_of_k", "mean")


def _headers(k: int) -> list[str]:
    return [
        "task",
        "run",
        "n/K",
        f"best of {k}",
        f"pass@{k}",
        f"pass^{k}",
        f"worst of {k}",
        "mean",
        "flicker",
    ]


def _task_cells(row: TaskRow) -> list[str]:
    m = row.metrics
    return [
        row.run.task_id,
        row.run.run_id,  # whole: it is what `rgym report`, `replay` and `compare` take
        f"{m.n}/{m.k}" + (f" ({m.n_excluded} excluded)" if m.n_excluded else ""),
        *(fmt.number(name, m.value(name)) for name in (*_CAPABILITY, *_RELIABILITY, "flicker")),
    ]


def _aggregate_cells(report: SuiteReport) -> list[str]:
    means = {name: fmt.number(name, report.mean(name)) for name in AGGREGATES}
    return [
        f"mean of {len(report.rows) + len(report.missing)} tasks",
        "",
        "",
        means["best_of_k"],
        means["pass_at_k"],
        means["pass_hat_k"],
        "",
        "",
        means["flicker"],
    ]


def _title(report: SuiteReport) -> str:
    s = report.suite_run
    return f"suite {s.suite} · {s.agent} · K = {s.k} · suite run {s.id} ({s.status})"


def _aup_rows(reports: Sequence[SuiteReport], profiles: Profiles) -> list[list[str]]:
    rows = [[r.label, f"{profiles.aup[r.suite_run.id]:.3f}"] for r in reports]
    rows.append([f"{BASELINE} (the tasks' baselines)", f"{profiles.aup[BASELINE]:.3f}"])
    return rows


def _aup_note(profiles: Profiles) -> str:
    note = (
        f"AUP: area under the performance profile on [0, {profiles.tau_max:g}] over {len(profiles.ratios)} "
        f"task(s), from each suite run's best final score per task (MLGym's measure; at most {profiles.tau_max:g}, "
        "higher is better; it compares the suite runs reported together)."
    )
    for task, why in profiles.skipped.items():
        note += f" {task} left out: {why}."
    return note


def _task_records(report: SuiteReport) -> RenderableType:
    """The per-task table as records (a narrow console): a head line per task, then ``label value`` pairs."""
    headers = _headers(report.suite_run.k)
    rows = [_task_cells(row) for row in report.rows]
    rows += [[task, "(no run)", *([fmt.NA] * 7)] for task in report.missing]
    rows.append(_aggregate_cells(report))
    pairs = [[(h, c) for h, c in zip(headers[1:], cells[1:], strict=True) if c] for cells in rows]
    return Group(
        Text(_title(report), style="italic"),
        records(pairs, heads=[cells[0] for cells in rows], styles=["bold"] * (len(rows) - 1) + ["bold cyan"]),
    )


_TASK_MIN_WIDTH = 5
"""The fewest columns a task's name may fold into: a table that leaves fewer gets records instead."""


def _table_fits(report: SuiteReport, width: int) -> bool:
    """True when the per-task table fits ``width`` with its run ids and numbers whole and room for the task's
    name (rich would squeeze the names out first, then cut the numbers)."""
    headers = _headers(report.suite_run.k)
    rows = [
        headers,
        *(_task_cells(row) for row in report.rows),
        *([task, "(no run)", *([fmt.NA] * 7)] for task in report.missing),
        _aggregate_cells(report),
    ]
    fixed = sum(max(cell_len(cells[i]) for cells in rows) for i in range(1, len(headers)))
    # a column has a space of padding on each side and a rule on its left; the table's right edge adds one
    return _TASK_MIN_WIDTH + fixed + 3 * len(headers) + 1 <= width


def _notes(report: SuiteReport, out: list[RenderableType]) -> None:
    """What follows a suite run's table: why an aggregate is n/a, the harness's reliability, exclusions."""
    reason = report.na_reason()
    if reason is not None and any(math.isnan(report.mean(n)) for n in AGGREGATES):
        out.append(Text(f"aggregate n/a: {reason}", style="yellow"))
    out.append(Text(f"harness reliability: {fmt.harness_reliability_text(report.harness)}"))
    flag = report.exclusion_flag()
    if flag is not None:
        out.append(Text(f"⚠ {flag}", style="bold red"))


def _renderables(
    reports: Sequence[SuiteReport], profiles: Profiles | None, width: int = TEXT_WIDTH
) -> list[RenderableType]:
    out: list[RenderableType] = []
    for report in reports:
        if not _table_fits(report, width):
            out.append(_task_records(report))
            _notes(report, out)
            continue
        k = report.suite_run.k
        table = Table(title=_title(report), title_justify="left")
        for i, header in enumerate(_headers(k)):
            style = "cyan" if header in (f"best of {k}", f"pass@{k}") else None
            style = "magenta" if header in (f"pass^{k}", f"worst of {k}", "mean") else style
            # the task's name folds when the table is narrow; the run id and the numbers never do
            table.add_column(
                header,
                justify="left" if i < 2 else "right",
                no_wrap=i != 0,
                overflow="fold" if i == 0 else "ellipsis",
                style=style,
            )
        for row in report.rows:
            table.add_row(*_task_cells(row))
        for task in report.missing:
            table.add_row(task, "(no run)", *([fmt.NA] * 7))
        table.add_section()
        table.add_row(*_aggregate_cells(report), style="bold")
        out.append(table)
        _notes(report, out)
    out.append(
        Text(
            "capability: best of K, pass@K (can it appear?) · reliability: pass^K, worst of K, mean (does it "
            "persist?) · flicker = pass@K - pass^K. Scores are normalized: baseline 0, reference 1.",
            style="dim",
        )
    )
    if profiles is not None:
        aup = Table(title="AUP across suite runs", title_justify="left")
        aup.add_column("suite run", overflow="fold")  # wraps: the id whole, and the AUP column kept
        aup.add_column("AUP", justify="right")
        for cells in _aup_rows(reports, profiles):
            aup.add_row(*cells)
        out.append(aup)
        out.append(Text(_aup_note(profiles), style="dim"))
    return out


def print_suite_report(reports: Sequence[SuiteReport], profiles: Profiles | None, console: Console) -> None:
    """Print the suite report as tables on ``console``."""
    if not console.is_terminal and console.width < TEXT_WIDTH:
        console = Console(file=console.file, width=TEXT_WIDTH, no_color=console.no_color, highlight=False)
    for item in _renderables(reports, profiles, console.width):
        console.print(item)


def _render_table(reports: Sequence[SuiteReport], profiles: Profiles | None) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=TEXT_WIDTH, force_terminal=False, no_color=True, color_system=None)
    for item in _renderables(reports, profiles):
        console.print(item)
    return buffer.getvalue()


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _render_md(reports: Sequence[SuiteReport], profiles: Profiles | None) -> str:
    lines = ["# rgym suite report", ""]
    for report in reports:
        k = report.suite_run.k
        lines += [f"## {_title(report)}", "", _md_row(_headers(k)), "|" + "---|" * len(_headers(k))]
        lines += [_md_row(_task_cells(row)) for row in report.rows]
        lines += [_md_row([task, "(no run)", *([fmt.NA] * 7)]) for task in report.missing]
        lines.append(_md_row([f"**{c}**" if c else "" for c in _aggregate_cells(report)]))
        reason = report.na_reason()
        if reason is not None and any(math.isnan(report.mean(n)) for n in AGGREGATES):
            lines += ["", f"Aggregate n/a: {reason}."]
        lines += ["", f"Harness reliability: {fmt.harness_reliability_text(report.harness)}."]
        flag = report.exclusion_flag()
        if flag is not None:
            lines += ["", f"⚠ {flag}."]
        lines.append("")
    if profiles is not None:
        lines += ["## AUP across suite runs", "", "| suite run | AUP |", "|---|---|"]
        lines += [_md_row(cells) for cells in _aup_rows(reports, profiles)]
        lines += ["", _aup_note(profiles), ""]
    return "\n".join(lines)


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _harness_json(h: HarnessReliability) -> dict[str, Any]:
    return {
        "tries": h.tries,
        "environment_failures": h.environment_failures,
        "error_rate": _num(h.error_rate),
        "retries": h.retries,
        "excluded": h.excluded,
        "by_kind": dict(h.by_kind),
    }


def _render_json(reports: Sequence[SuiteReport], profiles: Profiles | None) -> str:
    out: dict[str, Any] = {"rgym_version": __version__, "suite_runs": []}
    for report in reports:
        s = report.suite_run
        out["suite_runs"].append(
            {
                "id": s.id,
                "suite": s.suite,
                "agent": s.agent,
                "k": s.k,
                "status": s.status,
                "tasks": [
                    {
                        "task_id": row.run.task_id,
                        "run_id": row.run.run_id,
                        "n": row.metrics.n,
                        "n_excluded": row.metrics.n_excluded,
                        "best_raw": row.best_raw,
                        **{
                            name: _num(row.metrics.value(name))
                            for name in (*_CAPABILITY, *_RELIABILITY, "flicker")
                        },
                        "harness": _harness_json(row.metrics.harness),
                    }
                    for row in report.rows
                ],
                "missing": list(report.missing),
                "aggregate": {f"mean_{name}": _num(report.mean(name)) for name in AGGREGATES},
                "harness": _harness_json(report.harness),
                "exclusion_flag": report.exclusion_flag(),
            }
        )
    if profiles is not None:
        out["aup"] = {
            "tau_max": profiles.tau_max,
            "values": {m: _num(v) for m, v in profiles.aup.items()},
            "ratios": profiles.ratios,
            "skipped": profiles.skipped,
        }
    return json.dumps(out, indent=2) + "\n"


def _render_html(reports: Sequence[SuiteReport], profiles: Profiles | None) -> str:
    from gym_core.report.html import _CSS
    from gym_core.report.plots import suite_flicker_chart

    parts = []
    for report in reports:
        k = report.suite_run.k
        head = "".join(f"<th>{escape(h)}</th>" for h in _headers(k))
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in _task_cells(row)) + "</tr>"
            for row in report.rows
        )
        body += "".join(
            f"<tr><td>{escape(t)}</td><td>(no run)</td>" + "<td>n/a</td>" * 7 + "</tr>"
            for t in report.missing
        )
        body += "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in _aggregate_cells(report)) + "</tr>"
        parts.append(
            f"<h2>{escape(_title(report))}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
        reason = report.na_reason()
        if reason is not None and any(math.isnan(report.mean(n)) for n in AGGREGATES):
            parts.append(f'<p class="flag">Aggregate n/a: {escape(reason)}.</p>')
        parts.append(f"<p>Harness reliability: {escape(fmt.harness_reliability_text(report.harness))}.</p>")
        flag = report.exclusion_flag()
        if flag is not None:
            parts.append(f'<p class="flag">⚠ {escape(flag)}.</p>')
    if profiles is not None:
        rows = "".join(
            f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in _aup_rows(reports, profiles)
        )
        parts.append(
            f"<h2>AUP across suite runs</h2><table><thead><tr><th>suite run</th><th>AUP</th></tr></thead>"
            f'<tbody>{rows}</tbody></table><p class="meta">{escape(_aup_note(profiles))}</p>'
        )
    png = suite_flicker_chart(
        [(r.label, [(row.run.task_id, row.metrics) for row in r.rows]) for r in reports]
    )
    caption = "Per task: pass^K (reliability) to pass@K (capability); the bar between them is the flicker."
    parts.append(
        f'<h2>Flicker per task</h2><div class="plots"><figure><img src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}" alt="{escape(caption)}"><figcaption>{escape(caption)}'
        "</figcaption></figure></div>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>rgym suite report</title><style>{_CSS}</style></head><body>"
        f'<h1>rgym suite report</h1><p class="meta">rgym {escape(__version__)} · {len(reports)} suite run(s)</p>'
        f"<p><em>{escape(fmt.FLICKER_MEANING)}</em></p>{''.join(parts)}</body></html>\n"
    )


_SUITE_RENDERERS = {"table": _render_table, "json": _render_json, "md": _render_md, "html": _render_html}


def render_suite_report(data: Sequence[SuiteRunData], fmt_name: str) -> str:
    """The suite report in one format (table, json, md or html).

    Raises:
        ConfigError: an unknown format, no suite runs, or one given twice.
    """
    renderer = _SUITE_RENDERERS.get(fmt_name)
    if renderer is None:
        raise ConfigError(
            f"unknown report format {fmt_name!r}", hint=f"use one of: {', '.join(_SUITE_RENDERERS)}"
        )
    reports, profiles = build_suite_reports(data)
    return renderer(reports, profiles)
