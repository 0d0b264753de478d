"""What a report shows, independent of its format: one entry per run, paired with its clean counterpart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gym_core.errors import ConfigError
from gym_core.scoring.metrics import RunMetrics, compute_metrics
from gym_core.scoring.robustness import find_clean_counterpart, metric_deltas
from gym_core.scoring.run_data import RunData


@dataclass(frozen=True)
class ReportEntry:
    """One run in a report, with the clean run it is compared with when it was perturbed."""

    run: RunData
    metrics: RunMetrics
    clean_run: RunData | None = None
    clean_metrics: RunMetrics | None = None
    deltas: dict[str, float] | None = None
    """perturbed - clean per scalar metric, when there is a clean counterpart."""

    @property
    def group(self) -> tuple[str, str]:
        """The (task, agent) pair that reports group by."""
        return self.run.task_id, self.run.agent


def build_entries(runs: Sequence[RunData]) -> list[ReportEntry]:
    """Score every run and pair each perturbed run with the clean run of the same task and agent.

    Entries are grouped by (task, agent) in order of first appearance, clean runs before perturbed ones, so
    a reader sees the reference point before the comparison.

    Raises:
        ConfigError: when there are no runs, or a run id appears twice.
    """
    if not runs:
        raise ConfigError("no runs to report", hint="pass at least one RUN_ID")
    seen: set[str] = set()
    for run in runs:
        if run.run_id in seen:
            raise ConfigError(f"run {run.run_id} is given twice", hint="pass each RUN_ID once")
        seen.add(run.run_id)
    metrics = {run.run_id: compute_metrics(run) for run in runs}
    order: dict[tuple[str, str], int] = {}
    for run in runs:
        order.setdefault((run.task_id, run.agent), len(order))
    ranked = sorted(
        enumerate(runs),
        key=lambda item: (order[(item[1].task_id, item[1].agent)], item[1].perturbed, item[0]),
    )
    entries: list[ReportEntry] = []
    for _, run in ranked:
        clean = find_clean_counterpart(run, runs)
        clean_metrics = metrics[clean.run_id] if clean else None
        entries.append(
            ReportEntry(
                run=run,
                metrics=metrics[run.run_id],
                clean_run=clean,
                clean_metrics=clean_metrics,
                deltas=metric_deltas(metrics[run.run_id], clean_metrics) if clean_metrics else None,
            )
        )
    return entries
