"""The report as GitHub-flavoured Markdown, for pull requests and papers' appendices."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest

from gym_core.report import formatting as fmt
from gym_core.report.entries import ReportEntry
from gym_core.scoring.metrics import CAPABILITY_METRICS, RELIABILITY_METRICS


def _esc(text: str) -> str:
    # A pipe would end the table cell and a newline the row.
    return text.replace("|", "\\|").replace("\n", "<br>")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_esc(c) for c in cells) + " |"


def _summary(entries: Sequence[ReportEntry]) -> list[str]:
    header = ["task", "agent", "run", "perturbation", "n/K", "c", "pass@K", "pass^K", "flicker", "mean"]
    lines = [_row(header), "|" + "---|" * len(header)]
    for e in entries:
        m = e.metrics
        lines.append(
            _row(
                [
                    e.run.task_id,
                    e.run.agent,
                    f"`{e.run.run_id}`",
                    fmt.perturbation_text(e),
                    f"{m.n}/{m.k}",
                    str(m.c),
                    fmt.number("pass_at_k", m.pass_at_k),
                    fmt.number("pass_hat_k", m.pass_hat_k),
                    f"**{fmt.number('flicker', m.flicker)}**",
                    fmt.number("mean", m.mean),
                ]
            )
        )
    return lines


def _section(entry: ReportEntry) -> list[str]:
    run, m = entry.run, entry.metrics
    title = f"## {run.task_id} · {run.agent} · {fmt.perturbation_text(entry)}"
    lines = [title, ""]
    meta = f"Run `{run.run_id}`, task v{run.task_version} (checksum `{run.task_checksum[:12]}`)"
    if entry.clean_run is not None:
        meta += f", compared with clean run `{entry.clean_run.run_id}`"
    lines += [
        meta + ".",
        "",
        f"{fmt.scale_text(run)}. {fmt.counts_text(m)}.",
        "",
        _row(["capability: can it appear?", "value", "reliability: does it persist?", "value"]),
        "|---|---|---|---|",
    ]
    for cap, rel in zip_longest(CAPABILITY_METRICS, RELIABILITY_METRICS):
        lines.append(
            _row(
                [
                    fmt.metric_label(cap, m.k) if cap else "",
                    fmt.cell(entry, cap) if cap else "",
                    fmt.metric_label(rel, m.k) if rel else "",
                    fmt.cell(entry, rel) if rel else "",
                ]
            )
        )
    lines += ["", f"> **{fmt.flicker_sentence(m)}**"]
    comparison = fmt.comparison_text(entry, "flicker")
    if comparison is not None:
        lines.append(f"> Beside the clean run: {comparison}.")
    lines += ["", f"Failures (the agent's): {fmt.failures_text(m)}.", ""]
    lines += [f"Harness reliability: {fmt.harness_text(m)}.", ""]
    flag = fmt.exclusion_flag(m)
    if flag is not None:
        lines += [f"> ⚠ **{flag}.**", ""]
    return lines


def render_markdown(entries: Sequence[ReportEntry]) -> str:
    """The whole report as one Markdown document."""
    lines = ["# rgym report", "", *_summary(entries), "", f"_{fmt.FLICKER_MEANING}_", ""]
    for entry in entries:
        lines += _section(entry)
    return "\n".join(lines).rstrip("\n") + "\n"
