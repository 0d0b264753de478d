"""What ``rgym compare SUITE_RUN_A SUITE_RUN_B...`` shows, independent of its format: suite runs compared
task by task.

Each suite run expands to its per-task runs, paired by task id. Every task the first suite run (A) shares
with another gets the comparison of ``rgym compare RUN_A RUN_B`` (:func:`build_comparison`: paired by seed,
with tested differences and power notes). A task that cannot be compared is listed as unpaired with the
reason, never dropped: a suite run that has no run of it (another suite, or a suite run cut short), or a
run of another task version, or of a changed task folder unless ``allow_changed_task``.

A changed version or checksum refuses only that task, not the whole comparison: the other tasks still say
whether B is better than A.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gym_core.errors import ConfigError
from gym_core.report.comparison import ComparisonReport, build_comparison, labels_for
from gym_core.scoring.compare import DETECT, RunComparison, comparability_problem
from gym_core.scoring.run_data import RunData

if TYPE_CHECKING:
    from gym_core.report.suite import SuiteRunData
    from gym_core.store.records import SuiteRunPublic


@dataclass(frozen=True)
class ComparedSuiteRun:
    """A suite run in a suite comparison, with its per-task runs by task id."""

    suite_run: SuiteRunPublic
    label: str
    """``A``, ``B``...: how tables name the suite run, and its runs in every task's comparison."""
    runs: dict[str, RunData]

    @property
    def title(self) -> str:
        """``agent on suite tiny``: what tells the suite runs apart."""
        return f"{self.suite_run.agent} on suite {self.suite_run.suite}"


@dataclass(frozen=True)
class TaskComparison:
    """One task: the runs of the suite runs that have a comparable run of it, each against A's."""

    task_id: str
    report: ComparisonReport


@dataclass(frozen=True)
class UnpairedTask:
    """A task left out of the comparison between suite run A and one other suite run, and why."""

    task_id: str
    label: str
    """The other suite run (``B``...) of the pair that is not compared on this task."""
    reason: str
    run_ids: tuple[str, ...]
    """The runs of this task that exist in A and that suite run (zero or one each)."""


@dataclass(frozen=True)
class SummaryRow:
    """The headline of one task in one pair: B against A on the success rate."""

    task_id: str
    report: ComparisonReport
    comparison: RunComparison

    @property
    def verdict(self) -> str:
        return self.comparison.headline.verdict


@dataclass(frozen=True)
class SuiteComparison:
    """Suite runs side by side; every suite run after the first is compared with the first (A), task by
    task."""

    suite_runs: tuple[ComparedSuiteRun, ...]
    tasks: tuple[TaskComparison, ...]
    """The tasks compared, in the suites' order."""
    unpaired: tuple[UnpairedTask, ...]
    detect: float
    order: tuple[str, ...]
    """Every task any of the suite runs has, A's first, in its suite's order."""
    warnings: tuple[str, ...] = ()

    @property
    def reference(self) -> ComparedSuiteRun:
        return self.suite_runs[0]

    def suite_run(self, label: str) -> ComparedSuiteRun:
        return next(s for s in self.suite_runs if s.label == label)

    def summary(self, label: str) -> list[SummaryRow]:
        """Suite run ``label`` against A, one row per task they were compared on."""
        runs = self.suite_run(label).runs
        rows = []
        for task in self.tasks:
            run = runs.get(task.task_id)
            rows += [
                SummaryRow(task.task_id, task.report, c)
                for c in task.report.comparisons
                if run is not None and c.b_run_id == run.run_id
            ]
        return rows

    def unpaired_of(self, label: str) -> list[UnpairedTask]:
        return [u for u in self.unpaired if u.label == label]

    def rows(self, label: str) -> list[SummaryRow | UnpairedTask]:
        """Suite run ``label`` against A, task by task in :attr:`order`: compared or unpaired."""
        by_task: dict[str, SummaryRow | UnpairedTask] = {r.task_id: r for r in self.summary(label)}
        by_task.update({u.task_id: u for u in self.unpaired_of(label)})
        return [by_task[t] for t in self.order if t in by_task]

    def counts(self, label: str) -> dict[str, int]:
        """How many tasks suite run ``label`` is better, worse... on than A, and how many are unpaired."""
        out = {"better": 0, "worse": 0, "no detectable difference": 0, "not estimable": 0}
        for row in self.summary(label):
            out[row.verdict] += 1
        out["not compared"] = len(self.unpaired_of(label))
        return out

    @property
    def worse(self) -> list[SummaryRow]:
        """Every (task, suite run) on which a suite run is detectably worse than A."""
        return [row for s in self.suite_runs[1:] for row in self.summary(s.label) if row.verdict == "worse"]


def _runs_by_task(data: SuiteRunData, label: str, warnings: list[str]) -> dict[str, RunData]:
    runs: dict[str, RunData] = {}
    for run in data.runs:  # in the suite's order, and by id (creation time) within a task
        if run.task_id in runs:
            warnings.append(
                f"suite run {label} has more than one run of {run.task_id}: the newest, {run.run_id}, is "
                f"compared (not {runs[run.task_id].run_id})"
            )
        runs[run.task_id] = run
    return runs


def _why_missing(side: ComparedSuiteRun, task_id: str) -> str:
    s = side.suite_run
    if task_id not in s.tasks:
        return f"{side.label} ran suite {s.suite}, which has no task {task_id}"
    if s.status != "completed":
        return f"suite run {side.label} is {s.status} and recorded no run of {task_id}"
    return f"suite run {side.label} recorded no run of {task_id}"


def _task_order(sides: Sequence[ComparedSuiteRun]) -> list[str]:
    order: list[str] = []
    for side in sides:
        for task_id in [*side.suite_run.tasks, *side.runs]:
            if task_id not in order:
                order.append(task_id)
    return order


def build_suite_comparison(
    data: Sequence[SuiteRunData], *, allow_changed_task: bool = False, detect: float = DETECT
) -> SuiteComparison:
    """Compare every suite run after the first with the first, task by task.

    Raises:
        ConfigError: fewer than two suite runs, one given twice, a bad ``detect``, or no task that any
            suite run can be compared with A on.
    """
    if len(data) < 2:
        raise ConfigError(
            "rgym compare needs at least two suite runs",
            hint="give SUITE_RUN_A SUITE_RUN_B...; `rgym runs --suites` lists them",
        )
    ids = [d.suite_run.id for d in data]
    for suite_run_id in ids:
        if ids.count(suite_run_id) > 1:
            raise ConfigError(f"suite run {suite_run_id} is given twice", hint="pass each SUITE_RUN id once")
    if not 0 < detect <= 1:
        raise ConfigError(f"--detect {detect:g} must be in (0, 1]", hint="e.g. --detect 0.1")
    warnings: list[str] = []
    sides = tuple(
        ComparedSuiteRun(d.suite_run, label, _runs_by_task(d, label, warnings))
        for d, label in zip(data, labels_for(len(data)), strict=True)
    )
    reference = sides[0]
    for side in sides[1:]:
        if side.suite_run.suite != reference.suite_run.suite:
            warnings.append(
                f"{side.label} ran suite {side.suite_run.suite} and A suite {reference.suite_run.suite}: "
                "only the tasks both ran are compared"
            )
    tasks: list[TaskComparison] = []
    unpaired: list[UnpairedTask] = []
    order = _task_order(sides)
    for task_id in order:
        a_run = reference.runs.get(task_id)
        compared: list[tuple[str, RunData]] = []
        for side in sides[1:]:
            b_run = side.runs.get(task_id)
            present = tuple(r.run_id for r in (a_run, b_run) if r is not None)
            if a_run is None and b_run is None:
                continue  # neither ran it: nothing to pair, nothing to hide
            if a_run is None:
                reason = f"{_why_missing(reference, task_id)} (every suite run is compared with A)"
            elif b_run is None:
                reason = _why_missing(side, task_id)
            else:
                refused = _refusal(a_run, b_run, allow_changed_task)
                if refused is None:
                    compared.append((side.label, b_run))
                    continue
                reason = refused
            unpaired.append(UnpairedTask(task_id, side.label, reason, present))
        if a_run is None or not compared:
            continue
        report = build_comparison(
            [a_run, *(run for _, run in compared)],
            allow_changed_task=allow_changed_task,
            detect=detect,
            labels=[reference.label, *(label for label, _ in compared)],
        )
        tasks.append(TaskComparison(task_id, report))
        warnings += [f"{task_id}: {w}" for w in report.warnings]
    if not tasks:
        reasons = "; ".join(f"{u.task_id}: {u.reason}" for u in unpaired[:3])
        raise ConfigError(
            "no task of these suite runs can be compared with suite run A's",
            hint=reasons + ("; ..." if len(unpaired) > 3 else ""),
        )
    return SuiteComparison(sides, tuple(tasks), tuple(unpaired), detect, tuple(order), tuple(warnings))


def _refusal(a: RunData, b: RunData, allow_changed_task: bool) -> str | None:
    """Why A's and B's runs of a task are not compared, or None (as :func:`build_comparison` decides)."""
    problem = comparability_problem(a, b)
    if problem is None:
        return None
    if a.task_version != b.task_version:
        return problem
    if allow_changed_task:
        return None  # compared, with build_comparison's warning
    return f"{problem} (--allow-changed-task compares it anyway, with a warning)"
