"""From one run's attempts to every metric of docs/metrics.md.

Conventions (each one is explained for users in ``docs/metrics.md``):

* ``n`` counts finished attempts (submitted, truncated or crashed); interrupted and running ones are
  pending and left out. ``c`` counts the finished attempts that succeeded. ``K`` is the ``k`` requested.
* Every metric "of k" (best_of_k, pass_at_k, pass_hat_k, worst_of_k, flicker) is NaN when ``n < K``.
* An invalid or missing submission has no score: it is a failure for pass@k and pass^k, it is left out of
  best_of_k, worst_of_k, mean and std, and it is counted in ``n_invalid`` that reports show beside them.
* Score metrics (best_of_k, best_attempt, mean, std, worst_of_k) are normalized scores; for a task without a
  reference (``reference: null``) they are raw scores, "best" and "worst" following the metric's direction.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from gym_core.outcomes import EvaluationKind
from gym_core.scoring import estimators
from gym_core.scoring.consistency import method_consistency, method_shingle_sets
from gym_core.scoring.run_data import FAILURE_KINDS, Attempt, RunData

REGRESSION_MARGIN = 0.05
"""An attempt regressed when its final normalized score is below its own best validated one by more. On a
task without a reference (raw scores) the margin is this share of the baseline's magnitude, and scores are
compared as gains over their own split's baseline."""

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
class HarnessReliability:
    """How reliable rgym and the machine were during a run: environment failures are not the agent's."""

    tries: int
    """Episodes run in all (attempts plus retries)."""
    environment_failures: int
    """Tries that failed from the environment (retried or excluded)."""
    retries: int
    """Tries that were retries of an environment failure."""
    excluded: int
    """Attempts whose last try still failed from the environment: left out of n, pass@k and pass^k."""
    by_kind: dict[str, int]
    """Environment failures by kind (gym_core.outcomes.ErrorKind values)."""

    @property
    def error_rate(self) -> float:
        """Share of tries that failed from the environment (NaN with no tries)."""
        return self.environment_failures / self.tries if self.tries else math.nan


@dataclass(frozen=True)
class RunMetrics:
    """Every metric of one run (docs/metrics.md). NaN marks a metric that cannot be estimated; ``na_reasons`` says
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
    n_excluded: int
    """Attempts that failed from the environment even after their retries; not counted in n (flagged)."""
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
    """Successful attempts with a known workspace diff that changed code: the ones method_consistency
    compares."""
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
    harness: HarnessReliability = field(default_factory=lambda: HarnessReliability(0, 0, 0, 0, {}))
    """The harness's own reliability during the run."""

    def value(self, name: str) -> float:
        """A scalar metric by name (one of :data:`SCALAR_METRICS`)."""
        if name not in SCALAR_METRICS:
            raise KeyError(name)
        result: float = getattr(self, name)
        return result


def _validate_scores(run: RunData, attempt: Attempt) -> list[float]:
    scores = (
        run.score(e.raw, e.normalized) for e in attempt.evaluations if e.kind == EvaluationKind.VALIDATE
    )
    return [s for s in scores if s is not None and math.isfinite(s)]


def _final_score(run: RunData, attempt: Attempt) -> float | None:
    score = run.score(attempt.final_raw, attempt.final_normalized)
    return score if score is not None and math.isfinite(score) else None


def _best(run: RunData, values: list[float]) -> float:
    return max(values) if run.higher_is_better else min(values)


def _worst(run: RunData, values: list[float]) -> float:
    return min(values) if run.higher_is_better else max(values)


def _best_validated_gain(run: RunData, attempt: Attempt) -> float | None:
    scores = _validate_scores(run, attempt)
    return max(run.gain(s, public=True) for s in scores) if scores else None


def _regressed(run: RunData, attempt: Attempt, best_validated_gain: float) -> bool:
    # An invalid final submission after a valid validate call is the worst regression there is.
    final = _final_score(run, attempt)
    if final is None:
        return True
    margin = REGRESSION_MARGIN if run.has_reference else REGRESSION_MARGIN * abs(run.baseline_raw)
    return run.gain(final, public=False) < best_validated_gain - margin


def consistency_of(run: RunData) -> tuple[float, int]:
    """Method consistency of a run's successful finished attempts with a known workspace diff, and how many
    of them changed code and were compared (``run.known_consistency`` when the run already carries it)."""
    if run.known_consistency is not None:
        return run.known_consistency
    known = [
        a
        for a in run.attempts
        if a.finished and not a.excluded and a.succeeded and a.workspace_diff is not None
    ]
    diffs = [a.workspace_diff for a in known if a.workspace_diff is not None]
    executed = [a.executed_files for a in known]
    compared = method_shingle_sets(diffs, executed=executed)
    return method_consistency(diffs, executed=executed), len(compared)


def compute_metrics(run: RunData) -> RunMetrics:
    """Compute every metric of docs/metrics.md for one run.

    Args:
        run: the run's attempts and scoring constants.

    Returns:
        The metrics; a metric that cannot be estimated is NaN with its reason in ``na_reasons``.
    """
    if run.k < 1:
        raise ValueError(f"run {run.run_id}: k must be >= 1, got {run.k}")
    finished = [a for a in run.attempts if a.finished and not a.excluded]
    excluded = [a for a in run.attempts if a.excluded]
    n, big_k = len(finished), run.k
    c = sum(1 for a in finished if a.succeeded)
    finals = [s for a in finished if (s := _final_score(run, a)) is not None]
    reasons: dict[str, str] = {}
    too_few = n < big_k

    def note(name: str, value: float, reason: str) -> float:
        if math.isnan(value):
            reasons[name] = reason
        return value

    k_reason = f"n < k: {n} of {big_k} finished" + (
        f" ({len(excluded)} excluded as environment failures)" if excluded else ""
    )
    best_of_k = math.nan if too_few or not finals else _best(run, finals)
    worst_of_k = math.nan if too_few or not finals else _worst(run, finals)
    note("best_of_k", best_of_k, k_reason if too_few else "no valid final score")
    note("worst_of_k", worst_of_k, k_reason if too_few else "no valid final score")
    pass_at = note("pass_at_k", estimators.pass_at_k(n, c, big_k), k_reason)
    pass_hat = note("pass_hat_k", estimators.pass_hat_k(n, c, big_k), k_reason)
    note("flicker", pass_at - pass_hat, k_reason)

    validate_scores = [s for a in finished for s in _validate_scores(run, a)]
    best_attempt = note(
        "best_attempt", _best(run, validate_scores) if validate_scores else math.nan, "no valid validate call"
    )

    mean = note("mean", estimators.mean(finals), "no valid final score")
    mean_ci = estimators.bootstrap_ci(finals)
    note("mean_ci", mean_ci[0], "fewer than 2 valid final scores")
    std = note("std", estimators.sample_std(finals), "fewer than 2 valid final scores")

    validated = [(a, b) for a in finished if (b := _best_validated_gain(run, a)) is not None]
    regressions = sum(1 for a, b in validated if _regressed(run, a, b))
    regression_rate = note(
        "regression_rate", regressions / len(validated) if validated else math.nan, "no attempt validated"
    )

    consistency_value, n_compared = consistency_of(run)
    consistency = note(
        "method_consistency",
        consistency_value,
        "fewer than 2 successful attempts whose known workspace diff changed code",
    )

    counts = Counter(a.failure_kind for a in finished if a.failure_kind)
    failure_kinds = {kind: counts.get(kind, 0) for kind in FAILURE_KINDS}
    # Kinds the store may add later are kept rather than silently dropped.
    failure_kinds.update({kind: v for kind, v in counts.items() if kind not in failure_kinds})

    shares = [a.wall_time_s / a.wall_budget_s for a in finished if a.wall_budget_s > 0]
    budget_used = note("budget_used", estimators.median(shares), "no finished attempt with a wall budget")

    env_failures = [t.kind for a in run.attempts for t in a.retried] + [
        a.error_kind or "unknown" for a in excluded
    ]
    harness = HarnessReliability(
        tries=sum(a.tries for a in run.attempts if a.finished or a.retried),
        environment_failures=len(env_failures),
        retries=sum(len(a.retried) for a in run.attempts),
        excluded=len(excluded),
        by_kind=dict(Counter(env_failures)),
    )
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
        n_pending=len(run.attempts) - n - len(excluded),
        n_excluded=len(excluded),
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
        n_compared=n_compared,
        failure_kinds=failure_kinds,
        budget_used=budget_used,
        flicker=pass_at - pass_hat,
        pass_at_k_curve=at_curve,
        pass_hat_k_curve=hat_curve,
        na_reasons=reasons,
        harness=harness,
    )
