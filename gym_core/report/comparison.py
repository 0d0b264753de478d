"""What ``rgym compare`` shows, independent of its format: runs of one task side by side, each against the
first, and the regression history of an agent on a task.

The statistics are :mod:`gym_core.scoring.compare`; this module decides which runs may be compared and
groups them. Runs of different tasks or task versions are refused; runs of one version whose task folder
changed (another checksum) are refused unless the caller allows it, and then every format says so. In a
history, such runs become separate series, each with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gym_core.errors import ConfigError
from gym_core.scoring.compare import DETECT, RunComparison, comparability_problem, compare_runs
from gym_core.scoring.metrics import RunMetrics, compute_metrics
from gym_core.scoring.run_data import RunData


@dataclass(frozen=True)
class ComparedRun:
    """A run in a comparison, with its own metrics."""

    run: RunData
    metrics: RunMetrics
    label: str
    """``A``, ``B``, ``C``...: how tables name the run."""

    @property
    def title(self) -> str:
        """``agent`` plus the perturbations, if any: what tells the runs apart."""
        if not self.run.perturbations:
            return self.run.agent
        pert = ", ".join(f"{k}={v}" for k, v in sorted(self.run.perturbations.items()))
        return f"{self.run.agent} [{pert}]"


@dataclass(frozen=True)
class ComparisonReport:
    """Runs of one task; every run after the first is compared with the first (A)."""

    task_id: str
    task_version: int
    runs: tuple[ComparedRun, ...]
    comparisons: tuple[RunComparison, ...]
    """One per run after the first, in order: B against A, C against A..."""
    detect: float
    """The difference the power notes plan for."""
    warnings: tuple[str, ...] = ()

    @property
    def reference(self) -> ComparedRun:
        return self.runs[0]

    def run(self, run_id: str) -> ComparedRun:
        return next(r for r in self.runs if r.run.run_id == run_id)


def labels_for(count: int) -> list[str]:
    """``A``, ``B``, ... ``Z``, then ``R27``...: how a comparison names its runs (or suite runs)."""
    return [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(count)]


def build_comparison(
    runs: Sequence[RunData],
    *,
    allow_changed_task: bool = False,
    detect: float = DETECT,
    labels: Sequence[str] | None = None,
) -> ComparisonReport:
    """Compare every run after the first with the first.

    Args:
        labels: how tables name each run; ``A``, ``B``, ``C``... by default (a suite comparison passes its
            suite runs' labels, so a task that one suite run lacks does not rename the others).

    Raises:
        ConfigError: fewer than two runs, a run given twice, runs of different tasks or task versions, or
            (unless ``allow_changed_task``) runs of one version whose task checksum differs.
    """
    if len(runs) < 2:
        raise ConfigError(
            "rgym compare needs at least two runs",
            hint="give RUN_A RUN_B..., or one run with --history for every run of its agent on its task",
        )
    seen: set[str] = set()
    for run in runs:
        if run.run_id in seen:
            raise ConfigError(f"run {run.run_id} is given twice", hint="pass each RUN_ID once")
        seen.add(run.run_id)
    if not 0 < detect <= 1:
        raise ConfigError(f"--detect {detect:g} must be in (0, 1]", hint="e.g. --detect 0.1")
    first = runs[0]
    warnings: list[str] = []
    for other in runs[1:]:
        problem = comparability_problem(first, other)
        if problem is None:
            continue
        changed_only = first.task_id == other.task_id and first.task_version == other.task_version
        if not changed_only:
            raise ConfigError(
                f"cannot compare: {problem}",
                hint="compare runs of one task version; `rgym compare RUN --history` shows each version "
                "as its own series",
            )
        if not allow_changed_task:
            raise ConfigError(
                f"cannot compare: {problem}",
                hint="re-run both on the same task folder, or pass --allow-changed-task to compare them "
                "anyway with a warning",
            )
        warnings.append(f"compared although the task changed: {problem}")
    for run in runs:
        excluded = compute_metrics(run).n_excluded
        if excluded:
            warnings.append(f"run {run.run_id}: {excluded} attempt(s) excluded as environment failures")
    if labels is None:
        labels = labels_for(len(runs))
    elif len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    compared = tuple(
        ComparedRun(run, compute_metrics(run), label) for run, label in zip(runs, labels, strict=True)
    )
    comparisons = tuple(compare_runs(first, other, detect=detect) for other in runs[1:])
    return ComparisonReport(
        task_id=first.task_id,
        task_version=first.task_version,
        runs=compared,
        comparisons=comparisons,
        detect=detect,
        warnings=tuple(warnings),
    )


# --- history -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryPoint:
    """One run in a regression history, and how it compares with the run before it in its series."""

    run: RunData
    metrics: RunMetrics
    vs_previous: RunComparison | None = None
    """None for the first run of a series."""


@dataclass(frozen=True)
class Series:
    """Runs of one task version and checksum (and perturbation), oldest first."""

    task_version: int
    task_checksum: str
    perturbations: dict[str, str]
    points: tuple[HistoryPoint, ...]
    reason: str | None = None
    """Why this series is apart from the one before it; None for the first."""


@dataclass(frozen=True)
class History:
    """Every run of one agent on one task, in order, grouped into comparable series."""

    task_id: str
    agent: str
    series: tuple[Series, ...] = field(default_factory=tuple)

    @property
    def n_runs(self) -> int:
        return sum(len(s.points) for s in self.series)


def _series_key(run: RunData) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    return run.task_version, run.task_checksum, tuple(sorted(run.perturbations.items()))


def _why_apart(previous: RunData, run: RunData) -> str:
    if previous.task_version != run.task_version:
        return f"task v{run.task_version} (was v{previous.task_version}): scores of two versions are not comparable"
    if previous.task_checksum != run.task_checksum:
        return (
            f"task folder changed: checksum {run.task_checksum[:12]} (was {previous.task_checksum[:12]}); "
            "scores are not comparable across the change"
        )
    pert = ", ".join(f"{k}={v}" for k, v in sorted(run.perturbations.items())) or "none"
    return f"perturbations {pert}: a perturbed run is compared with clean runs by `rgym report`, not here"


def build_history(runs: Sequence[RunData], *, detect: float = DETECT) -> History:
    """Group one agent's runs on one task into series of comparable runs, oldest first.

    A new series starts whenever the task version, its checksum or the perturbations differ from every
    series so far; runs return to an earlier series when they match it again (say, after a revert). Each
    run is compared with the run before it in its series.

    Raises:
        ConfigError: no runs, or runs of different tasks or agents.
    """
    if not runs:
        raise ConfigError("no runs for a history")
    tasks = {r.task_id for r in runs}
    agents = {r.agent for r in runs}
    if len(tasks) > 1 or len(agents) > 1:
        raise ConfigError(
            "a history is of one agent on one task",
            hint=f"got tasks {', '.join(sorted(tasks))} and agents {', '.join(sorted(agents))}",
        )
    ordered = sorted(runs, key=lambda r: (r.created_at or "", r.run_id))
    groups: dict[tuple[int, str, tuple[tuple[str, str], ...]], list[RunData]] = {}
    reasons: dict[tuple[int, str, tuple[tuple[str, str], ...]], str | None] = {}
    previous: RunData | None = None
    for run in ordered:
        key = _series_key(run)
        if key not in groups:
            reasons[key] = None if previous is None else _why_apart(previous, run)
            groups[key] = []
        groups[key].append(run)
        previous = run
    series = []
    for key, members in groups.items():
        points = []
        for i, run in enumerate(members):
            before = compare_runs(members[i - 1], run, detect=detect) if i else None
            points.append(HistoryPoint(run, compute_metrics(run), before))
        version, checksum, pert = key
        series.append(Series(version, checksum, dict(pert), tuple(points), reasons[key]))
    return History(task_id=ordered[0].task_id, agent=ordered[0].agent, series=tuple(series))
