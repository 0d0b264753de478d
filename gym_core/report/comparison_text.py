"""Labels, numbers and sentences of ``rgym compare``, shared by its table, Markdown, HTML and JSON forms."""

from __future__ import annotations

import math

from gym_core.report.comparison import ComparedRun, ComparisonReport, HistoryPoint
from gym_core.scoring.compare import POWER, MetricDifference, PowerNote, RunComparison

NA = "n/a"


def metric_label(name: str, k: int) -> str:
    """The label of a compared metric, with k filled in."""
    return {
        "success_rate": "success rate (pass@1)",
        "pass_at_k": f"pass@{k}",
        "pass_hat_k": f"pass^{k}",
        "flicker": f"flicker (pass@{k} - pass^{k})",
        "mean": "mean",
        "best_of_k": f"best of {k} (final, private)",
        "worst_of_k": f"worst of {k} (final, private)",
        "regression_rate": "regression rate",
    }.get(name, name)


def number(value: float) -> str:
    return NA if math.isnan(value) else f"{value:.3f}"


def signed(value: float) -> str:
    return NA if math.isnan(value) else f"{value:+.3f}"


def ci_text(ci: tuple[float, float]) -> str:
    low, high = ci
    return NA if math.isnan(low) else f"[{low:+.3f}, {high:+.3f}]"


def p_text(p: float) -> str:
    if math.isnan(p):
        return NA
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def verdict_text(diff: MetricDifference, comparison: RunComparison) -> str:
    """``better``, ``worse``, ``no detectable difference at n = 6 pairs`` or ``not estimable``."""
    if diff.verdict == "no detectable difference":
        return f"no detectable difference at n = {comparison.pairing.n_text}"
    return diff.verdict


def pairing_text(comparison: RunComparison, a: str, b: str) -> str:
    """How the attempts of run ``a`` (the reference) and run ``b`` were matched, in words."""
    p = comparison.pairing
    if p.paired:
        left = []
        if p.unmatched_a:
            left.append(f"{p.unmatched_a} of {a}")
        if p.unmatched_b:
            left.append(f"{p.unmatched_b} of {b}")
        extra = f" ({' and '.join(left)} without a matching seed left out)" if left else ""
        return f"paired by seed: {p.pairs} pairs{extra}"
    return f"unpaired (seeds do not match): {p.n_a} vs {p.n_b} finished attempts"


def headline(report: ComparisonReport, comparison: RunComparison) -> str:
    """The one-line verdict of B against A, on the success rate."""
    a, b = report.run(comparison.a_run_id), report.run(comparison.b_run_id)
    h = comparison.headline
    return (
        f"{b.label} ({b.title}) vs {a.label} ({a.title}): {verdict_text(h, comparison)}: success rate "
        f"{number(h.a)} -> {number(h.b)}, Δ {signed(h.diff)}, 95% CI {ci_text(h.ci)}, p = {p_text(h.p_value)}"
    )


def power_text(note: PowerNote, comparison: RunComparison) -> str:
    """``a difference of 0.10 in success rate needs about 388 attempts per run (80% power, alpha = 0.05;
    you have 6)``."""
    what = "success rate" if note.metric == "success_rate" else "mean score"
    unit = "pairs" if comparison.pairing.paired and note.metric == "mean" else "attempts per run"
    if note.needed is None:
        return f"{what}: cannot plan a sample size yet ({note.basis})"
    return (
        f"a difference of {note.delta:.2f} in {what} needs about {note.needed} {unit} to detect "
        f"({POWER:.0%} power, alpha = {comparison.alpha:g}; from {note.basis}); you have {note.have}"
    )


def run_line_cells(run: ComparedRun) -> list[str]:
    """The cells of a run's line: label, agent, run id, n/K, c, pass@K, pass^K, flicker, mean."""
    m = run.metrics
    return [
        run.label,
        run.title,
        run.run.run_id,
        f"{m.n}/{m.k}",
        str(m.c),
        number(m.pass_at_k),
        number(m.pass_hat_k),
        number(m.flicker),
        number(m.mean),
    ]


RUN_LINE_HEADERS = ("run", "agent", "run id", "n/K", "c", "pass@K", "pass^K", "flicker", "mean")


def metric_headers(a: str, b: str) -> tuple[str, ...]:
    """The headers of a comparison's metric table, run ``b`` against the reference ``a`` (by their labels)."""
    return ("metric", a, b, f"Δ {b}-{a}", "95% CI", "p", "verdict")


def metric_cells(diff: MetricDifference, comparison: RunComparison) -> list[str]:
    """A metric's row; the verdict is short (the n it is stated at heads the table)."""
    return [
        metric_label(diff.name, comparison.k),
        number(diff.a),
        number(diff.b),
        signed(diff.diff),
        ci_text(diff.ci),
        p_text(diff.p_value),
        diff.verdict,
    ]


def p_method(comparison: RunComparison) -> str:
    return "exact" if comparison.exact_p else "Monte Carlo"


HISTORY_HEADERS = (
    "#",
    "run id",
    "created",
    "n/K",
    "c",
    "pass@K",
    "pass^K",
    "flicker",
    "mean",
    "vs previous",
)


def history_cells(index: int, point: HistoryPoint) -> list[str]:
    m, run = point.metrics, point.run
    return [
        str(index),
        run.run_id,
        (run.created_at or "")[:19].replace("T", " "),
        f"{m.n}/{m.k}",
        str(m.c),
        number(m.pass_at_k),
        number(m.pass_hat_k),
        number(m.flicker),
        number(m.mean),
        vs_previous_text(point),
    ]


def vs_previous_text(point: HistoryPoint) -> str:
    comparison = point.vs_previous
    if comparison is None:
        return "-"
    h = comparison.headline
    return f"{verdict_text(h, comparison)} (Δ {signed(h.diff)}, p = {p_text(h.p_value)})"


def flicker_trend(points: tuple[HistoryPoint, ...]) -> str:
    """``0.600 -> 0.400 -> 0.100``: the flicker of each run of a series, oldest first."""
    return " -> ".join(number(p.metrics.flicker) for p in points)
