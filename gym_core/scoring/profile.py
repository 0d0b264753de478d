"""Performance profiles and their area (AUP), as MLGym compares agents across tasks (docs/metrics.md).

Dolan and Moré's performance profiles, with MLGym's (Nathani et al., 2025) conventions for research tasks:

* The *methods* are the compared suite runs plus the tasks' baseline. On each task every method has one raw
  score: a suite run's best final (private split) score over its attempts, the baseline's ``baseline.score``.
* A score is *feasible* when it exists, is not negative, and is not worse than the baseline. On task ``p``
  the performance ratio of a feasible method is ``r = score / best`` (minimize) or ``best / score``
  (maximize), where ``best`` is the best feasible score, so the best method has ``r = 1``. An infeasible
  method gets ``(1 + epsilon)`` times the task's worst feasible ratio, with ``epsilon = 0.05``.
* The profile of a method is ``rho(tau)``: the share of tasks with ``log10(r) <= tau``, for ``tau`` from 0 to
  ``tau_max``: the largest ``log10(ceil((1 + epsilon) * worst ratio))`` over tasks, rounded up to one
  decimal.
* AUP is the area under ``rho`` on ``[0, tau_max]``. Here it is computed exactly, as
  ``mean over tasks of (tau_max - log10 r)``; MLGym sums the step function on a 500-point grid, which reads
  up to ``tau_max / 499`` lower. The highest possible AUP is ``tau_max`` (best on every task).

Ratios need positive scores: a task where the best feasible score is 0 (a perfect score on a metric that is
minimized) or where the baseline is negative cannot be profiled, and is left out with the reason.
AUP compares the methods reported together; it means nothing for one run alone, and it changes when a
method is added (``tau_max`` and the best score per task depend on every method).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

EPSILON = 0.05
"""MLGym's margin that puts an infeasible method just past the worst feasible one."""

BASELINE = "baseline"
"""The method name of the tasks' baselines."""


@dataclass(frozen=True)
class TaskScores:
    """The raw scores of every method on one task."""

    task_id: str
    direction: str
    """``maximize`` or ``minimize``."""
    baseline: float
    scores: Mapping[str, float | None]
    """Method -> its raw score; None (or missing) when it has no valid one."""


@dataclass(frozen=True)
class Profiles:
    """Performance ratios, profiles and AUP of several methods over the same tasks."""

    methods: tuple[str, ...]
    """The compared methods, then ``baseline``."""
    ratios: dict[str, dict[str, float]]
    """Task -> method -> performance ratio (>= 1; 1 is the best on that task)."""
    tau_max: float
    aup: dict[str, float]
    """Method -> area under its performance profile on [0, tau_max]."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Task -> why it could not be profiled."""

    def profile(self, method: str, tau: float) -> float:
        """rho(tau): the share of profiled tasks where ``method`` is within a factor 10**tau of the best."""
        if not self.ratios:
            return math.nan
        hits = sum(1 for ratios in self.ratios.values() if math.log10(ratios[method]) <= tau)
        return hits / len(self.ratios)


def _feasible(score: float | None, baseline: float, direction: str) -> bool:
    if score is None or not math.isfinite(score) or score < 0:
        return False
    return score <= baseline if direction == "minimize" else score >= baseline


def task_ratios(
    task: TaskScores, methods: Sequence[str], epsilon: float = EPSILON
) -> tuple[dict[str, float], float]:
    """The performance ratio of every method (and the baseline) on one task, and the task's worst ratio.

    Raises:
        ValueError: the ratios are undefined on this task (the reason is the message).
    """
    scores: dict[str, float | None] = {m: task.scores.get(m) for m in methods}
    scores[BASELINE] = task.baseline
    if task.baseline < 0 or not math.isfinite(task.baseline):
        raise ValueError(f"its baseline score {task.baseline:g} is negative; ratios need positive scores")
    feasible = {
        m: s for m, s in scores.items() if s is not None and _feasible(s, task.baseline, task.direction)
    }
    if task.direction == "minimize":
        best = min(feasible.values())
        if best <= 0:
            raise ValueError("the best score is 0 on a minimized metric; ratios to it are undefined")
        ratios = {m: s / best for m, s in feasible.items()}
    else:
        best = max(feasible.values())
        if best <= 0:
            raise ValueError("the best score is 0 on a maximized metric; ratios to it are undefined")
        ratios = {m: (best / s if s > 0 else math.inf) for m, s in feasible.items()}
        ratios = {m: r for m, r in ratios.items() if math.isfinite(r)}
    worst = max(ratios.values())
    for method in scores:
        ratios.setdefault(method, worst * (1 + epsilon))
    return ratios, worst


def _ceil_one_decimal(value: float) -> float:
    return math.ceil(round(value * 10, 9)) / 10


def performance_profiles(
    tasks: Sequence[TaskScores], methods: Sequence[str], epsilon: float = EPSILON
) -> Profiles:
    """Ratios, ``tau_max`` and AUP of ``methods`` (plus the baseline) over ``tasks``."""
    if BASELINE in methods:
        raise ValueError(f"{BASELINE!r} is reserved for the tasks' baselines")
    ratios: dict[str, dict[str, float]] = {}
    skipped: dict[str, str] = {}
    suitable: list[float] = []
    for task in tasks:
        try:
            task_ratio, worst = task_ratios(task, methods, epsilon)
        except ValueError as exc:
            skipped[task.task_id] = str(exc)
            continue
        ratios[task.task_id] = task_ratio
        suitable.append(math.ceil(round(worst * (1 + epsilon), 12)))
    everyone = (*methods, BASELINE)
    if not ratios:
        return Profiles(everyone, {}, math.nan, {m: math.nan for m in everyone}, skipped)
    tau_max = _ceil_one_decimal(math.log10(max(suitable)))
    aup = {
        m: sum(max(0.0, tau_max - math.log10(r[m])) for r in ratios.values()) / len(ratios) for m in everyone
    }
    return Profiles(everyone, ratios, tau_max, aup, skipped)
