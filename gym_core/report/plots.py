"""The three plots of the HTML report, drawn with matplotlib's Agg renderer and returned as PNG bytes.

The object API (``Figure``) is used instead of pyplot: no global figure state, no GUI backend, safe to
call from a server thread.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gym_core.outcomes import EvaluationKind
from gym_core.scoring.metrics import RunMetrics
from gym_core.scoring.run_data import RunData

if TYPE_CHECKING:
    from gym_core.report.comparison import HistoryPoint
    from gym_core.scoring.compare import RunComparison

FIGSIZE = (7.5, 4.2)
DPI = 110
BASELINE_COLOUR = "#555555"
REFERENCE_COLOUR = "#1a7f37"
THRESHOLD_COLOUR = "#d97706"
INVALID_COLOUR = "#cf222e"
MAX_LEGEND_ATTEMPTS = 10


def _plain(text: str) -> str:
    """Text from a task file, with ``$`` escaped so matplotlib never parses it as mathtext."""
    return text.replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _score_lines(ax: Axes, run: RunData, *, vertical: bool) -> None:
    """Baseline (0), reference (1) and, when it differs from 0, the success threshold.

    A task without a reference has raw scores: only its baseline is drawn, at its raw value.
    """
    line = ax.axvline if vertical else ax.axhline
    if not run.has_reference:
        line(
            run.baseline_raw,
            color=BASELINE_COLOUR,
            linestyle="-",
            linewidth=1.2,
            label=f"baseline ({run.baseline_raw:g}); no reference",
        )
        return
    line(
        0.0, color=BASELINE_COLOUR, linestyle="-", linewidth=1.2, label=f"baseline = 0 ({run.baseline_raw:g})"
    )
    line(
        1.0,
        color=REFERENCE_COLOUR,
        linestyle="-",
        linewidth=1.2,
        label=f"reference = 1 ({run.reference_raw:g})",
    )
    if run.success_threshold not in (0.0, 1.0):
        line(
            run.success_threshold,
            color=THRESHOLD_COLOUR,
            linestyle="--",
            linewidth=1.2,
            label=f"success >= {run.success_threshold:g}",
        )


def _score_limits(run: RunData, values: list[float]) -> tuple[float, float]:
    marks = [0.0, 1.0, run.success_threshold] if run.has_reference else [run.baseline_raw]
    low = min([*marks, *values])
    high = max([*marks, *values])
    pad = 0.08 * (high - low) or 0.05 * max(abs(high), 1.0)
    return low - pad, high + pad


def _axis_label(run: RunData, final: bool = False) -> str:
    scale = "normalized score" if run.has_reference else "raw score"
    return f"{'final ' if final else ''}{scale} ({_plain(run.metric_name)})"


def _finals(run: RunData) -> list[float]:
    return [
        s
        for a in run.attempts
        if a.finished and (s := run.score(a.final_raw, a.final_normalized)) is not None
    ]


def score_over_time(run: RunData) -> bytes:
    """Normalized (or, without a reference, raw) score of every grader call of every attempt, against time since the episode's reset."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    points = [e for a in run.attempts for e in a.evaluations]
    valid = [s for e in points if (s := run.score(e.raw, e.normalized)) is not None]
    t_max = max((e.t_s for e in points), default=0.0)
    scale, unit = (60.0, "min") if t_max >= 180 else (1.0, "s")
    low, high = _score_limits(run, valid)
    colours = [f"C{i % 10}" for i in range(len(run.attempts))]
    invalid_labelled = False
    for attempt, colour in zip(run.attempts, colours, strict=True):
        evals = sorted(attempt.evaluations, key=lambda e: e.t_s)
        good = [(e, s) for e in evals if (s := run.score(e.raw, e.normalized)) is not None]
        mark = "✓" if attempt.succeeded else "✗"
        label = f"attempt {attempt.index} {mark}" if len(run.attempts) <= MAX_LEGEND_ATTEMPTS else None
        if good:
            ax.plot(
                [e.t_s / scale for e, _ in good],
                [score for _, score in good],
                color=colour,
                marker="o",
                markersize=4,
                linewidth=1.4,
                alpha=0.85,
                label=label,
            )
            finals = [(e, score) for e, score in good if e.kind != EvaluationKind.VALIDATE]
            ax.scatter(
                [e.t_s / scale for e, _ in finals],
                [score for _, score in finals],
                color=colour,
                marker="*",
                s=160,
                edgecolors="black",
                linewidths=0.6,
                zorder=5,
            )
        bad = [e for e in evals if run.score(e.raw, e.normalized) is None]
        if bad:
            ax.scatter(
                [e.t_s / scale for e in bad],
                [low + 0.03 * (high - low)] * len(bad),
                color=INVALID_COLOUR,
                marker="x",
                s=50,
                zorder=5,
                label=None if invalid_labelled else "invalid submission",
            )
            invalid_labelled = True
    _score_lines(ax, run, vertical=False)
    if not points:
        ax.text(0.5, 0.5, "no grader calls recorded", transform=ax.transAxes, ha="center", va="center")
    ax.set_ylim(low, high)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"time since reset ({unit})")
    ax.set_ylabel(_axis_label(run))
    ax.set_title("Score of each attempt over time (o validate, ★ final submission)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def final_score_distribution(run: RunData, metrics: RunMetrics, clean: RunData | None = None) -> bytes:
    """Histogram of the attempts' final normalized scores, with the mean and its 95% CI."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    finals = _finals(run)
    clean_finals = _finals(clean) if clean else []
    low, high = _score_limits(run, [*finals, *clean_finals])
    bins = [float(b) for b in np.linspace(low, high, 21)]
    if finals:
        ax.hist(finals, bins=bins, color="C0", alpha=0.75, edgecolor="white", label="final scores (this run)")
    if clean_finals:
        ax.hist(clean_finals, bins=bins, histtype="step", color="black", linewidth=1.5, label="clean run")
    if not math.isnan(metrics.mean):
        ax.axvline(metrics.mean, color="C3", linewidth=2, label=f"mean = {metrics.mean:.3f}")
        lo, hi = metrics.mean_ci
        if not math.isnan(lo):
            ax.axvspan(lo, hi, color="C3", alpha=0.15, label=f"95% CI [{lo:.3f}, {hi:.3f}]")
    _score_lines(ax, run, vertical=True)
    if not finals:
        ax.text(0.5, 0.5, "no valid final score", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(low, high)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.12)  # headroom so the tallest bar does not touch the frame
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_axis_label(run, final=True))
    ax.set_ylabel("attempts")
    ax.set_title(
        f"Final scores: {metrics.n_valid} valid of {metrics.n} finished, {metrics.n_invalid} invalid (not shown)"
    )
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def pass_curves(metrics: RunMetrics, clean: RunMetrics | None = None) -> bytes:
    """pass@k and pass^k for k = 1..K; the shaded gap between them is the flicker."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    ks = np.arange(1, len(metrics.pass_at_k_curve) + 1)
    at = np.array(metrics.pass_at_k_curve, dtype=float)
    hat = np.array(metrics.pass_hat_k_curve, dtype=float)
    ax.plot(ks, at, color="C0", marker="o", linewidth=2, label="pass@k (capability: at least one of k)")
    ax.plot(ks, hat, color="C1", marker="s", linewidth=2, label="pass^k (reliability: all k)")
    defined = ~np.isnan(at) & ~np.isnan(hat)
    ax.fill_between(ks, hat, at, where=defined, color="gold", alpha=0.35, label="flicker = pass@k - pass^k")
    if clean is not None:
        cks = np.arange(1, len(clean.pass_at_k_curve) + 1)
        ax.plot(cks, clean.pass_at_k_curve, color="C0", linestyle="--", alpha=0.7, label="pass@k, clean run")
        ax.plot(cks, clean.pass_hat_k_curve, color="C1", linestyle="--", alpha=0.7, label="pass^k, clean run")
    ax.axvline(metrics.k, color="grey", linestyle=":", label=f"K = {metrics.k} requested")
    if metrics.n < metrics.k:
        ax.axvspan(metrics.n + 0.5, metrics.k + 0.5, color="#eaeef2", alpha=0.8)
        ax.text(
            (metrics.n + metrics.k + 1) / 2,
            0.5,
            f"n/a: k > n\n(only {metrics.n} of {metrics.k}\nattempts finished)",
            ha="center",
            va="center",
            color="#57606a",
        )
    if not defined.any():
        ax.text(0.5, 0.5, "n/a: no finished attempt", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(0.5, max(len(ks), metrics.k) + 0.5)
    ax.set_ylim(-0.03, 1.03)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("k (attempts drawn)")
    ax.set_ylabel("probability")
    ax.set_title(f"pass@k and pass^k (n = {metrics.n} finished, c = {metrics.c} succeeded)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def suite_flicker_chart(series: list[tuple[str, list[tuple[str, RunMetrics]]]]) -> bytes:
    """Per task, one bar per suite run from pass^K (reliability) up to pass@K (capability): the flicker.

    Args:
        series: (suite run label, [(task id, metrics)]) for each suite run, tasks in the suite's order.
    """
    tasks: list[str] = []
    for _, rows in series:
        tasks.extend(t for t, _ in rows if t not in tasks)
    fig = Figure(figsize=(max(7.5, 1.1 * len(tasks) + 3), 4.4))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    for s, (label, rows) in enumerate(series):
        by_task = dict(rows)
        xs, lows, heights, flickers = [], [], [], []
        for i, task in enumerate(tasks):
            m = by_task.get(task)
            if m is None or math.isnan(m.pass_at_k) or math.isnan(m.pass_hat_k):
                ax.text(i - 0.4 + width * (s + 0.5), 0.02, "n/a", ha="center", fontsize=7, color="#57606a")
                continue
            xs.append(i - 0.4 + width * (s + 0.5))
            lows.append(m.pass_hat_k)
            heights.append(max(m.pass_at_k - m.pass_hat_k, 0.004))  # a zero flicker still shows as a line
            flickers.append(m.flicker)
        ax.bar(
            xs, heights, width=width * 0.9, bottom=lows, color=f"C{s % 10}", alpha=0.55, label=_plain(label)
        )
        ax.scatter(xs, lows, marker="s", color=f"C{s % 10}", zorder=3, s=18)
        ax.scatter([x for x in xs], [lo + h for lo, h in zip(lows, heights, strict=True)], marker="o",
                   color=f"C{s % 10}", zorder=3, s=18)  # fmt: skip
        for x, lo, h, f in zip(xs, lows, heights, flickers, strict=True):
            ax.text(x, lo + h + 0.02, f"{f:.2f}", ha="center", fontsize=7)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([_plain(t) for t in tasks], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(-0.03, 1.1)
    ax.set_ylabel("probability (square: pass^K, circle: pass@K)")
    ax.set_title("Flicker per task: the bar spans pass^K to pass@K, its height is the flicker")
    ax.grid(alpha=0.3, axis="y")
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def difference_forest(comparison: RunComparison, label: Callable[[str, int], str]) -> bytes:
    """Each compared metric's difference B - A as a point with its 95% bootstrap CI, against 0."""
    diffs = list(comparison.metrics)
    fig = Figure(figsize=(FIGSIZE[0], 0.45 * len(diffs) + 1.4))
    ax = fig.add_subplot()
    ys = np.arange(len(diffs))[::-1]
    colours = {"better": REFERENCE_COLOUR, "worse": INVALID_COLOUR}
    for y, d in zip(ys, diffs, strict=True):
        colour = colours.get(d.verdict, BASELINE_COLOUR)
        if not math.isnan(d.ci[0]):
            ax.plot([d.ci[0], d.ci[1]], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
        if not math.isnan(d.diff):
            ax.plot([d.diff], [y], marker="o", color=colour, markersize=7)
        else:
            ax.text(0, y, "n/a", ha="center", va="center", color="#57606a")
    ax.axvline(0.0, color="black", linewidth=1)
    ax.set_yticks(ys, [_plain(label(d.name, comparison.k)) for d in diffs])
    ax.set_xlabel("difference B - A (95% bootstrap CI)")
    ax.set_title(f"Run B against run A ({comparison.pairing.n_text}); green better, red worse")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def history_trend(points: Sequence[HistoryPoint]) -> bytes:
    """pass@K, pass^K and the flicker between them over the runs of a series, oldest first."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    xs = np.arange(1, len(points) + 1)
    at = np.array([p.metrics.pass_at_k for p in points], dtype=float)
    hat = np.array([p.metrics.pass_hat_k for p in points], dtype=float)
    ax.plot(xs, at, color="C0", marker="o", linewidth=2, label="pass@K (capability)")
    ax.plot(xs, hat, color="C1", marker="s", linewidth=2, label="pass^K (reliability)")
    defined = ~np.isnan(at) & ~np.isnan(hat)
    ax.fill_between(xs, hat, at, where=defined, color="gold", alpha=0.35, label="flicker = pass@K - pass^K")
    for x, point in zip(xs, points, strict=True):
        if point.vs_previous is not None and point.vs_previous.headline.verdict in ("better", "worse"):
            worse = point.vs_previous.headline.verdict == "worse"
            ax.annotate(
                "worse" if worse else "better",
                (x, at[x - 1] if not math.isnan(at[x - 1]) else 0.5),
                textcoords="offset points",
                xytext=(0, 10),
                ha="center",
                color=INVALID_COLOUR if worse else REFERENCE_COLOUR,
                fontsize=8,
            )
    ax.set_xlim(0.5, len(points) + 0.5)
    ax.set_ylim(-0.03, 1.1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("run (oldest first)")
    ax.set_ylabel("probability")
    ax.set_title("pass@K and pass^K over time; the shaded gap is the flicker")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)
