"""The report as one self-contained HTML file: inline CSS, plots as base64 PNG, no external asset at all."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from itertools import zip_longest

from gym_core import __version__
from gym_core.report import formatting as fmt
from gym_core.report import plots
from gym_core.report.entries import ReportEntry
from gym_core.scoring.metrics import CAPABILITY_METRICS, RELIABILITY_METRICS

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1150px;
       color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
.meta { color: #57606a; font-size: .92rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .93rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { font-variant-numeric: tabular-nums; }
th.cap { background: #ddf4ff; } th.rel { background: #fbefff; }
.cmp { color: #57606a; font-size: .85rem; }
.na { color: #8c959f; }
.flag { color: #b00020; font-weight: 600; }
.flicker { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .6rem .9rem; margin: 1rem 0;
           font-weight: 600; }
.plots { display: grid; grid-template-columns: 1fr; gap: 1rem; }
.plots figure { margin: 0; } .plots img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: .88rem; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def _value_cell(entry: ReportEntry, name: str) -> str:
    text = fmt.value_text(entry.metrics, name)
    css = "num na" if text.startswith(fmt.NA) else "num"
    html = escape(text)
    comparison = fmt.comparison_text(entry, name)
    if comparison is not None:
        html += f'<br><span class="cmp">{escape(comparison)}</span>'
    return f'<td class="{css}">{html}</td>'


def _summary(entries: Sequence[ReportEntry]) -> str:
    headers = ["task", "agent", "run", "perturbation", "n/K", "c", "pass@K", "pass^K", "flicker", "mean"]
    rows = []
    for e in entries:
        m = e.metrics
        cells = [
            e.run.task_id,
            e.run.agent,
            e.run.run_id,
            fmt.perturbation_text(e),
            f"{m.n}/{m.k}",
            str(m.c),
            fmt.number("pass_at_k", m.pass_at_k),
            fmt.number("pass_hat_k", m.pass_hat_k),
            fmt.number("flicker", m.flicker),
            fmt.number("mean", m.mean),
        ]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _section(entry: ReportEntry) -> str:
    run, m = entry.run, entry.metrics
    title = f"{run.task_id} · {run.agent} · {fmt.perturbation_text(entry)}"
    meta = f"run {run.run_id} · task v{run.task_version} · checksum {run.task_checksum[:12]}"
    if run.created_at:
        meta += f" · started {run.created_at}"
    if entry.clean_run is not None:
        meta += f" · compared with clean run {entry.clean_run.run_id}"
    scale = f"{fmt.scale_text(run, '≥')}. {fmt.counts_text(m)}."
    rows = []
    for cap, rel in zip_longest(CAPABILITY_METRICS, RELIABILITY_METRICS):
        left = (
            f"<th>{escape(fmt.metric_label(cap, m.k))}</th>{_value_cell(entry, cap)}"
            if cap
            else "<td></td><td></td>"
        )
        right = (
            f"<th>{escape(fmt.metric_label(rel, m.k))}</th>{_value_cell(entry, rel)}"
            if rel
            else "<td></td><td></td>"
        )
        rows.append(f"<tr>{left}{right}</tr>")
    table = (
        '<table><thead><tr><th class="cap" colspan="2">Capability: can the behaviour appear?</th>'
        '<th class="rel" colspan="2">Reliability: does it persist?</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    flicker = escape(fmt.flicker_sentence(m))
    comparison = fmt.comparison_text(entry, "flicker")
    if comparison is not None:
        flicker += f'<br><span class="cmp">beside the clean run: {escape(comparison)}</span>'
    clean_metrics = entry.clean_metrics
    figures = [
        (
            plots.score_over_time(run),
            "Score of each attempt over time, against the baseline (0) and reference (1)."
            if run.has_reference
            else "Raw score of each attempt over time, against the baseline (the task has no reference).",
        ),
        (
            plots.final_score_distribution(run, m, entry.clean_run),
            f"Distribution of the final {'normalized' if run.has_reference else 'raw'} scores, with the mean "
            "and its 95% bootstrap CI.",
        ),
        (
            plots.pass_curves(m, clean_metrics),
            "pass@k and pass^k for k = 1..K; the shaded gap is the flicker.",
        ),
    ]
    figure_html = "".join(
        f"<figure>{_img(png, caption)}<figcaption>{escape(caption)}</figcaption></figure>"
        for png, caption in figures
    )
    flag = fmt.exclusion_flag(m)
    flag_html = f'<p class="flag">⚠ {escape(flag)}.</p>' if flag else ""
    return (
        f"<section><h2>{escape(title)}</h2>"
        f'<p class="meta">{escape(meta)}</p><p>{escape(scale)}</p>{table}'
        f'<div class="flicker">{flicker}</div>'
        f"<p>Failures (the agent's): {escape(fmt.failures_text(m))}.</p>"
        f"<p>Harness reliability: {escape(fmt.harness_text(m))}.</p>{flag_html}"
        f'<div class="plots">{figure_html}</div></section>'
    )


def render_html(entries: Sequence[ReportEntry]) -> str:
    """The whole report as one HTML document that opens offline."""
    body = "".join(_section(e) for e in entries)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>rgym report</title><style>{_CSS}</style></head><body>"
        f'<h1>rgym report</h1><p class="meta">rgym {escape(__version__)} · {len(entries)} run(s)</p>'
        f"<p><em>{escape(fmt.FLICKER_MEANING)}</em> The flicker, pass@K - pass^K, is the gap between the two.</p>"
        f"{_summary(entries)}{body}</body></html>\n"
    )
