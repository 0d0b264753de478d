"""From one run's attempts to every metric of SPEC.md section 6.

Conventions (each one is explained for users in ``docs/metrics.md``):

* ``n`` counts finished attempts (submitted, truncated or crashed); interrupted and running ones are
  pending and left out. ``c`` counts the finished attempts that succeeded. ``K`` is the ``k`` requested.
* Every metric "of k" (best_of_k, pass_at_k, pass_hat_k, worst_of_k, flicker) is NaN when ``n < K``.
* An invalid or missing submission has no score: it is a failure for pass@k and pass^k, it is left out of
  best_of_k, worst_of_k, mean and std, and it is counted in ``n_invalid`` that reports show beside them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from gym_core.scoring import estimators
from gym_core.scoring.consistency import method_consistency
from gym_core.scoring.run_data import FAILURE_KINDS, Attempt, RunData

REGRESSION_MARGIN = 0.05
"""An attempt regressed when its final normalized score is below its own best validated one by more."""

CAPABILITY_METRICS = ("best_of_k", "pass_at_k", "best_attempt")
"""Scalar capability metrics, in report order: can the behaviour appear at all?"""

RELIABILITY_METRICS = (
    "pass_hat_k",
    "mean",
    "std",
    "worst_of_k",
    "regression_rate",
    "method_consistency",
    "budget_used",
)
"""Scalar reliability metrics, in report order: does the behaviour persist across attempts?"""

SCALAR_METRICS = (*CAPABILITY_METRICS, *RELIABILITY_METRICS, "flicker")
"""Every scalar metric; robustness deltas are taken for each of them."""


@dataclass(frozen=True)
class RunMetrics:
    """Every section 6 metric of one run. NaN marks a metric that cannot be estimated; ``na_reasons`` says
    why."""

    run_id: str
    task_id: str
    agent: str
    k: int
    """K, the attempts requested."""
    n: int
    """Finished attempts."""
    c: int
    """Successful attempts among the finished ones."""
    n_valid: int
    """Finished attempts with a valid final score."""
    n_invalid: int
    """Finished attempts without one (invalid, missing or crashed before any grading)."""
    n_pending: int
    """Attempts still running or interrupted; not counted in n."""
    best_of_k: float
    pass_at_k: float
    best_attempt: float
    pass_hat_k: float
    mean: float
    mean_ci: tuple[float, float]
    std: float
    worst_of_k: float
    regression_rate: float
    n_validated: int
    """Finished attempts with at least one valid validate call: the denominator of regression_rate."""
    method_consistency: float
    n_compared: int
    """Successful attempts with a known workspace diff: the ones method_consistency compares."""
    failure_kinds: dict[str, int]
    budget_used: float
    flicker: float
    """pass_at_k - pass_hat_k at k = K: how often the behaviour shows up without persisting."""
    pass_at_k_curve: tuple[float, ...]
    """pass@k for k = 1..max(K, n)."""
    pass_hat_k_curve: tuple[float, ...]
    """pass^k for k = 1..max(K, n)."""
    na_reasons: dict[str, str] = field(default_factory=dict)
    """metric name -> why it is NaN, for every NaN metric."""

    def value(self, name: str) -> float:
        """A scalar metric by name (one of :data:`SCALAR_METRICS`)."""
        if name not in SCALAR_METRICS:
            raise KeyError(name)
        result: float = getattr(self, name)
        return result


def _best_validated(attempt: Attempt) -> float | None:
    scores = [e.normalized for e in attempt.evaluations if e.kind == "validate" and e.normalized is not None]
    return max(scores) if scores else None


def _regressed(attempt: Attempt, best_validated: float) -> bool:
    # An invalid final submission after a valid validate call is the worst regression there is.
    final = attempt.final_normalized
    return final is None or final < best_validated - REGRESSION_MARGIN


def compute_metrics(run: RunData) -> RunMetrics:
    """Compute every metric of SPEC.md section 6 for one run.

    Args:
        run: the run's attempts and scoring constants.

    Returns:
        The metrics; a metric that cannot be estimated is NaN with its reason in ``na_reasons``.
    """
    if run.k < 1:
        raise ValueError(f"run {run.run_id}: k must be >= 1, got {run.k}")
    finished = [a for a in run.attempts if a.finished]
    n, big_k = len(finished), run.k
    c = sum(1 for a in finished if a.succeeded)
    finals = [a.final_normalized for a in finished if a.final_normalized is not None]
    reasons: dict[str, str] = {}
    too_few = n < big_k

    def note(name: str, value: float, reason: str) -> float:
        if math.isnan(value):
            reasons[name] = reason
        return value

    k_reason = f"n < k: {n} of {big_k} finished"
    best_of_k = math.nan if too_few or not finals else max(finals)
    worst_of_k = math.nan if too_few or not finals else min(finals)
    note("best_of_k", best_of_k, k_reason if too_few else "no valid final score")
    note("worst_of_k", worst_of_k, k_reason if too_few else "no valid final score")
    pass_at = note("pass_at_k", estimators.pass_at_k(n, c, big_k), k_reason)
    pass_hat = note("pass_hat_k", estimators.pass_hat_k(n, c, big_k), k_reason)
    note("flicker", pass_at - pass_hat, k_reason)

    validate_scores = [
        e.normalized
        for a in finished
        for e in a.evaluations
        if e.kind == "validate" and e.normalized is not None
    ]
    best_attempt = note(
        "best_attempt", max(validate_scores) if validate_scores else math.nan, "no valid validate call"
    )

    mean = note("mean", estimators.mean(finals), "no valid final score")
    mean_ci = estimators.bootstrap_ci(finals)
    note("mean_ci", mean_ci[0], "fewer than 2 valid final scores")
    std = note("std", estimators.sample_std(finals), "fewer than 2 valid final scores")

    validated = [(a, b) for a in finished if (b := _best_validated(a)) is not None]
    regressions = sum(1 for a, b in validated if _regressed(a, b))
    regression_rate = note(
        "regression_rate", regressions / len(validated) if validated else math.nan, "no attempt validated"
    )

    diffs = [a.workspace_diff for a in finished if a.succeeded and a.workspace_diff is not None]
    consistency = note(
        "method_consistency",
        method_consistency(diffs),
        "fewer than 2 successful attempts with a known workspace diff",
    )

    counts = Counter(a.failure_kind for a in finished if a.failure_kind)
    failure_kinds = {kind: counts.get(kind, 0) for kind in FAILURE_KINDS}
    # Kinds the store may add later are kept rather than silently dropped.
    failure_kinds.update({kind: v for kind, v in counts.items() if kind not in failure_kinds})

    shares = [a.wall_time_s / a.wall_budget_s for a in finished if a.wall_budget_s > 0]
    budget_used = note("budget_used", estimators.median(shares), "no finished attempt with a wall budget")

    at_curve, hat_curve = estimators.pass_curves(n, c, max(big_k, n))
    return RunMetrics(
        run_id=run.run_id,
        task_id=run.task_id,
        agent=run.agent,
        k=big_k,
        n=n,
        c=c,
        n_valid=len(finals),
        n_invalid=n - len(finals),
        n_pending=len(run.attempts) - n,
        best_of_k=best_of_k,
        pass_at_k=pass_at,
        best_attempt=best_attempt,
        pass_hat_k=pass_hat,
        mean=mean,
        mean_ci=mean_ci,
        std=std,
        worst_of_k=worst_of_k,
        regression_rate=regression_rate,
        n_validated=len(validated),
        method_consistency=consistency,
        n_compared=len(diffs),
        failure_kinds=failure_kinds,
        budget_used=budget_used,
        flicker=pass_at - pass_hat,
        pass_at_k_curve=at_curve,
        pass_hat_k_curve=hat_curve,
        na_reasons=reasons,
    )
