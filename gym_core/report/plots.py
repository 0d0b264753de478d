"""The three plots of the HTML report, drawn with matplotlib's Agg renderer and returned as PNG bytes.

The object API (``Figure``) is used instead of pyplot: no global figure state, no GUI backend, safe to
call from a server thread.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gym_core.scoring.metrics import RunMetrics
from gym_core.scoring.run_data import RunData

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
    """Baseline (0), reference (1) and, when it differs from 0, the success threshold."""
    line = ax.axvline if vertical else ax.axhline
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


def _score_limits(values: list[float], threshold: float) -> tuple[float, float]:
    low = min([0.0, threshold, *values])
    high = max([1.0, threshold, *values])
    pad = 0.08 * (high - low)
    return low - pad, high + pad


def score_over_time(run: RunData) -> bytes:
    """Normalized score of every grader call of every attempt, against time since the episode's reset."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    points = [e for a in run.attempts for e in a.evaluations]
    valid = [e.normalized for e in points if e.normalized is not None]
    t_max = max((e.t_s for e in points), default=0.0)
    scale, unit = (60.0, "min") if t_max >= 180 else (1.0, "s")
    low, high = _score_limits(valid, run.success_threshold)
    colours = [f"C{i % 10}" for i in range(len(run.attempts))]
    invalid_labelled = False
    for attempt, colour in zip(run.attempts, colours, strict=True):
        evals = sorted(attempt.evaluations, key=lambda e: e.t_s)
        good = [(e, e.normalized) for e in evals if e.normalized is not None]
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
            finals = [(e, score) for e, score in good if e.kind in ("submit", "auto")]
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
        bad = [e for e in evals if e.normalized is None]
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
    ax.set_ylabel(f"normalized score ({_plain(run.metric_name)})")
    ax.set_title("Score of each attempt over time (o validate, ★ final submission)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def final_score_distribution(run: RunData, metrics: RunMetrics, clean: RunData | None = None) -> bytes:
    """Histogram of the attempts' final normalized scores, with the mean and its 95% CI."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    finals = [a.final_normalized for a in run.attempts if a.finished and a.final_normalized is not None]
    clean_finals = (
        [a.final_normalized for a in clean.attempts if a.finished and a.final_normalized is not None]
        if clean
        else []
    )
    low, high = _score_limits([*finals, *clean_finals], run.success_threshold)
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
    ax.set_xlabel(f"final normalized score ({_plain(run.metric_name)})")
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
