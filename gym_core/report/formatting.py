"""Labels, number formats and sentences shared by the text formats (table, Markdown, HTML)."""

from __future__ import annotations

import math

from gym_core.report.entries import ReportEntry
from gym_core.scoring.metrics import HarnessReliability, RunMetrics
from gym_core.scoring.run_data import RunData

NA = "n/a"

_PERCENT_METRICS = frozenset({"regression_rate", "budget_used"})

FLICKER_MEANING = (
    "A benchmark score shows a behaviour CAN appear once; deployment needs it to PERSIST across attempts."
)


def scale_text(run: RunData, ge: str = ">=") -> str:
    """What the scores of a run mean: normalized (baseline 0, reference 1), or raw for a task without one."""
    head = f"{run.metric_name} ({run.direction}): baseline {run.baseline_raw:g}"
    if run.self_reported:
        head = f"self-reported grading: not tamper-proof. {head}"
    if run.reference_raw is None:
        return (
            f"{head}; no reference: scores are raw {run.metric_name}, success = beating the baseline "
            f"({'above' if run.direction == 'maximize' else 'below'} {run.baseline_raw:g})"
        )
    return f"{head} = 0, reference {run.reference_raw:g} = 1; success at normalized {ge} {run.success_threshold:g}"


def metric_label(name: str, k: int) -> str:
    """The label of a metric in a report, with K filled in (``pass@5``, ``worst of 5``)."""
    labels = {
        "best_of_k": f"best of {k} (final, private)",
        "pass_at_k": f"pass@{k}",
        "best_attempt": "best validate (public)",
        "pass_hat_k": f"pass^{k}",
        "mean": "mean [95% CI]",
        "std": "std",
        "worst_of_k": f"worst of {k} (final, private)",
        "regression_rate": "regression rate",
        "method_consistency": "method consistency",
        "budget_used": "budget used (median)",
        "flicker": f"flicker (pass@{k} - pass^{k})",
    }
    return labels.get(name, name)


def number(name: str, value: float) -> str:
    """A metric value without context: NaN becomes ``n/a``."""
    if math.isnan(value):
        return NA
    if name in _PERCENT_METRICS:
        return f"{value:.0%}"
    return f"{value:.3f}"


def signed(name: str, value: float) -> str:
    """A delta with an explicit sign; NaN becomes ``n/a``."""
    if math.isnan(value):
        return NA
    if name in _PERCENT_METRICS:
        return f"{value * 100:+.0f} pts"
    return f"{value:+.3f}"


def value_text(metrics: RunMetrics, name: str) -> str:
    """A metric value with what a reader needs to trust it: the n/a reason, the CI, the counts behind it."""
    value = metrics.value(name)
    if math.isnan(value):
        reason = metrics.na_reasons.get(name)
        return f"{NA} ({reason})" if reason else NA
    text = number(name, value)
    if name == "mean":
        low, high = metrics.mean_ci
        ci = f"[{low:.3f}, {high:.3f}]" if not math.isnan(low) else "[CI n/a]"
        text = f"{text} {ci} over {metrics.n_valid}/{metrics.n} valid"
    elif name == "worst_of_k" and metrics.n_invalid:
        text = f"{text} (+{metrics.n_invalid} invalid)"
    elif name == "regression_rate":
        text = f"{text} of {metrics.n_validated} validated"
    elif name == "method_consistency":
        text = f"{text} over {metrics.n_compared} successes"
    return text


def comparison_text(entry: ReportEntry, name: str) -> str | None:
    """``clean 0.700, Δ -0.200`` for a perturbed run with a clean counterpart, else None."""
    if entry.clean_metrics is None or entry.deltas is None:
        return None
    clean = number(name, entry.clean_metrics.value(name))
    return f"clean {clean}, Δ {signed(name, entry.deltas[name])}"


def cell(entry: ReportEntry, name: str, sep: str = "\n") -> str:
    """A report cell: the value, and for a perturbed run the clean value and the delta after ``sep``."""
    text = value_text(entry.metrics, name)
    comparison = comparison_text(entry, name)
    return text if comparison is None else f"{text}{sep}{comparison}"


def flicker_sentence(metrics: RunMetrics) -> str:
    """The flicker line: the gap between capability and reliability, in words."""
    k = metrics.k
    if math.isnan(metrics.flicker):
        return f"flicker: {NA} ({metrics.na_reasons.get('flicker', 'not estimable')})"
    at, hat = metrics.pass_at_k, metrics.pass_hat_k
    return (
        f"flicker = pass@{k} - pass^{k} = {at:.3f} - {hat:.3f} = {metrics.flicker:.3f}: "
        f"in a draw of {k} attempts, at least one succeeds with probability {at:.0%}, "
        f"all {k} succeed with probability {hat:.0%}."
    )


def failures_text(metrics: RunMetrics) -> str:
    """Failure kinds as ``crashed 1 · timed out 0 · ...``."""
    return " · ".join(f"{kind.replace('_', ' ')} {count}" for kind, count in metrics.failure_kinds.items())


def counts_text(metrics: RunMetrics) -> str:
    """``n = 5 of K = 5 finished, c = 2 succeeded`` plus pending and excluded attempts if any."""
    text = f"n = {metrics.n} of K = {metrics.k} finished, c = {metrics.c} succeeded"
    if metrics.n_pending:
        text += f", {metrics.n_pending} pending (interrupted or running)"
    if metrics.n_excluded:
        text += f", {metrics.n_excluded} excluded (environment failures, not the agent's)"
    return text


def harness_text(metrics: RunMetrics) -> str:
    """The harness's own reliability in one line: tries, environment failures by kind, retries, exclusions."""
    return harness_reliability_text(metrics.harness)


def harness_reliability_text(h: HarnessReliability) -> str:
    """:func:`harness_text` of any span of tries (one run's, or a suite run's over its tasks)."""
    rate = "n/a" if math.isnan(h.error_rate) else f"{h.error_rate:.0%}"
    kinds = ", ".join(f"{kind.replace('_', ' ')} {count}" for kind, count in sorted(h.by_kind.items()))
    return (
        f"{h.tries} tries, {h.environment_failures} environment failure(s) ({rate})"
        + (f": {kinds}" if kinds else "")
        + f"; {h.retries} retried, {h.excluded} excluded"
    )


def exclusion_flag(metrics: RunMetrics) -> str | None:
    """A warning for a run with excluded attempts, else None."""
    if not metrics.n_excluded:
        return None
    return (
        f"{metrics.n_excluded} attempt(s) excluded: they failed from the environment even after retries, so "
        f"pass@{metrics.k} and pass^{metrics.k} are over the other {metrics.n}"
    )


def perturbation_text(entry: ReportEntry) -> str:
    """``clean`` or the perturbations as ``key=value, ...``."""
    if not entry.run.perturbations:
        return "clean"
    return ", ".join(f"{k}={v}" for k, v in sorted(entry.run.perturbations.items()))
