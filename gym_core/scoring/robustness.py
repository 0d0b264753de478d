"""Robustness (docs/metrics.md): a perturbed run beside the same agent's clean run on the same task."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gym_core.scoring.metrics import SCALAR_METRICS, RunMetrics
from gym_core.scoring.run_data import RunData


def find_clean_counterpart(run: RunData, candidates: Sequence[RunData]) -> RunData | None:
    """The clean run to compare a perturbed run with, or None.

    The counterpart is the first clean run among ``candidates`` with the same task id, task version and
    agent; a run with the same task checksum is preferred, since only then did both runs see the same
    task. A clean run has no counterpart.
    """
    if not run.perturbed:
        return None
    matches = [
        other
        for other in candidates
        if not other.perturbed
        and other.run_id != run.run_id
        and other.task_id == run.task_id
        and other.task_version == run.task_version
        and other.agent == run.agent
    ]
    same_checksum = [m for m in matches if m.task_checksum == run.task_checksum]
    best = same_checksum or matches
    return best[0] if best else None


def metric_deltas(perturbed: RunMetrics, clean: RunMetrics) -> dict[str, float]:
    """perturbed - clean for every scalar metric; NaN when either side is NaN."""
    deltas: dict[str, float] = {}
    for name in SCALAR_METRICS:
        a, b = perturbed.value(name), clean.value(name)
        deltas[name] = math.nan if math.isnan(a) or math.isnan(b) else a - b
    return deltas
