"""Scoring of runs: the capability and reliability metrics of docs/metrics.md."""

from __future__ import annotations

from gym_core.scoring.consistency import diff_similarity, diff_workspaces, method_consistency
from gym_core.scoring.estimators import bootstrap_ci, pass_at_k, pass_curves, pass_hat_k
from gym_core.scoring.metrics import (
    CAPABILITY_METRICS,
    RELIABILITY_METRICS,
    SCALAR_METRICS,
    RunMetrics,
    compute_metrics,
)
from gym_core.scoring.robustness import find_clean_counterpart, metric_deltas
from gym_core.scoring.run_data import FAILURE_KINDS, Attempt, EvalPoint, RunData

__all__ = [
    "CAPABILITY_METRICS",
    "FAILURE_KINDS",
    "RELIABILITY_METRICS",
    "SCALAR_METRICS",
    "Attempt",
    "EvalPoint",
    "RunData",
    "RunMetrics",
    "bootstrap_ci",
    "compute_metrics",
    "diff_similarity",
    "diff_workspaces",
    "find_clean_counterpart",
    "method_consistency",
    "metric_deltas",
    "pass_at_k",
    "pass_curves",
    "pass_hat_k",
]
