"""Loading a run from the trace store into scoring's :class:`RunData`: the one place that knows both.

For ``method_consistency`` each successful attempt's final workspace (the snapshot taken at its last
evaluation) is diffed against the task's initial workspace. Only text files count: binary files,
files over :data:`MAX_DIFF_FILE_BYTES`, and the declared submission files (outputs, not method) are left
out, as are caches. The attempt's bash commands say which workspace files it executed
(:func:`gym_core.scoring.method_code.executed_files`); scoring then counts only those of its changed code
files.

The value is cached per run in the trace store (:mod:`gym_core.report.consistency_cache`): the snapshots
are restored and diffed again only when the set of compared attempts, the task or the algorithm changes.
All evaluations of a run are read in one query.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gym_core.errors import ConfigError, NotFoundError, RgymError, StoreError
from gym_core.outcomes import EPISODE_DONE_STATUSES, EvaluationKind, Origin
from gym_core.report.consistency_cache import cache_key
from gym_core.report.run_rows import RunRow, SuiteRunRow
from gym_core.scoring.consistency import diff_workspaces
from gym_core.scoring.method_code import executed_files
from gym_core.scoring.metrics import compute_metrics, consistency_of
from gym_core.scoring.run_data import Attempt, EvalPoint, FailedTry, RunData
from gym_core.store import TraceStore
from gym_core.store.records import EpisodePublic, EvaluationPublic, RunPublic, SuiteRunPublic
from gym_core.tasks.checksum import IGNORED_NAMES
from gym_core.tasks.discovery import find_recorded_task
from gym_core.tasks.loader import Task

if TYPE_CHECKING:
    from gym_core.report.suite import SuiteRunData

MAX_DIFF_FILE_BYTES = 256 * 1024


def _text_files(root: Path, skip: set[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel in skip or any(part in IGNORED_NAMES for part in path.relative_to(root).parts):
            continue
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_DIFF_FILE_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            files[rel] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files


def _task_for(run: RunPublic) -> Task | None:
    try:
        return find_recorded_task(run.task_id, run.config.get("task_root"))
    except RgymError:
        return None  # the run stores its scoring constants; diffs are skipped without the task


def _latest_per_index(episodes: list[EpisodePublic]) -> list[tuple[EpisodePublic, list[EpisodePublic]]]:
    """Per attempt index: the try that counts (the latest that finished for good, else the latest), and the
    earlier tries that failed from the environment (retried)."""
    chosen: dict[int, EpisodePublic] = {}
    by_index: dict[int, list[EpisodePublic]] = {}
    for episode in sorted(episodes, key=lambda e: e.started_at):
        by_index.setdefault(episode.index, []).append(episode)
        current = chosen.get(episode.index)
        if (
            current is None
            or episode.status in EPISODE_DONE_STATUSES
            or current.status not in EPISODE_DONE_STATUSES
        ):
            chosen[episode.index] = episode
    out = []
    for index in sorted(chosen):
        final = chosen[index]
        retried = [e for e in by_index[index] if e.id != final.id and e.origin == Origin.ENVIRONMENT]
        out.append((final, retried))
    return out


def _bash_commands(store: TraceStore, episode_id: str) -> list[str]:
    """The shell commands an episode ran, in order (its ``bash`` actions)."""
    commands = []
    for step in store.list_steps(episode_id):
        action = step.action
        if (
            isinstance(action, dict)
            and action.get("tool") == "bash"
            and isinstance(action.get("command"), str)
        ):
            commands.append(action["command"])
    return commands


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def load_run_data(store: TraceStore, run_id: str, *, with_diffs: bool = True) -> RunData:
    """Everything the report needs about one run.

    Raises:
        NotFoundError: no such run.
    """
    run = store.get_run(store.resolve_run_id(run_id))
    return run_data_of(store, run, with_diffs=with_diffs)


def run_data_of(store: TraceStore, run: RunPublic, *, with_diffs: bool = True) -> RunData:
    """:func:`load_run_data` of a run record already read."""
    stored = run.config.get("scoring")
    # The task folder is only needed for workspace diffs, or for a run that holds no scoring constants.
    task = _task_for(run) if with_diffs or not stored else None
    constants = dict(stored or (task.spec.scoring_constants() if task is not None else {}))
    if not constants:
        raise NotFoundError(
            f"run {run.id}: its task {run.task_id} is not found and the run holds no scoring constants",
            hint="add the task's folder to RGYM_TASKS_PATH",
        )
    threshold = float(constants["success_threshold"])
    reference_raw = _optional_float(constants.get("reference_raw"))
    baseline_raw = float(constants["baseline_raw"])
    maximize = constants["direction"] == "maximize"
    initial: dict[str, str] = {}
    skip: set[str] = set()
    if task is not None:
        skip = set(task.spec.grader.submission)
        initial = _text_files(task.workspace_dir, skip)
    wall_budget = float(run.budget.get("wall_time_s", 0.0))
    chosen = _latest_per_index(store.list_episodes(run.id))
    evaluations_of = store.list_run_evaluations(run.id)

    def last_snapshot(episode: EpisodePublic) -> EvaluationPublic | None:
        snapshots = [
            e for e in evaluations_of.get(episode.id, []) if e.snapshot and e.kind != EvaluationKind.VALIDATE
        ]
        return snapshots[-1] if snapshots else None

    def succeeded_(episode: EpisodePublic) -> bool:
        if reference_raw is not None:
            final = episode.final_normalized
            return final is not None and final >= threshold
        # no reference: success is beating the baseline in the metric's direction
        raw = episode.final_raw
        return raw is not None and (raw > baseline_raw if maximize else raw < baseline_raw)

    # The attempts that get a workspace diff, and the key of the method consistency they give.
    key: str | None = None
    known: tuple[float, int] | None = None
    if with_diffs and task is not None:
        compared = [
            (e.id, e.status, e.origin or "", snap.snapshot or "", str(snap.snapshot_truncated))
            for e, _ in chosen
            if succeeded_(e) and (snap := last_snapshot(e)) is not None
        ]
        key = cache_key(task.checksum, compared)
        cached = store.get_run_consistency(run.id)
        if cached is not None and cached.key == key:
            known = (math.nan if cached.value is None else cached.value, cached.n_compared)
    attempts = []
    for episode, retried in chosen:
        evaluations = evaluations_of.get(episode.id, [])
        points = tuple(
            EvalPoint(
                step_index=e.step_index,
                t_s=max(0.0, (e.created_at - episode.started_at).total_seconds()),
                kind=e.kind,
                raw=e.raw_score,
                normalized=e.normalized_score,
            )
            for e in evaluations
        )
        succeeded = succeeded_(episode)
        diff = None
        executed: frozenset[str] | None = None
        final_snapshot = last_snapshot(episode)
        if with_diffs and known is None and succeeded and final_snapshot is not None and task is not None:
            last = final_snapshot.snapshot or ""
            # Files a truncated snapshot left out are unknown, not deleted: they do not count as changed.
            left_out = (
                {p for p, _ in store.snapshot_info(last).omitted}
                if final_snapshot.snapshot_truncated
                else set()
            )
            with tempfile.TemporaryDirectory(prefix="rgym-diff-") as tmp:
                store.restore_snapshot(last, Path(tmp))
                before = {p: text for p, text in initial.items() if p not in left_out}
                final_files = _text_files(Path(tmp), skip)
                diff = diff_workspaces(before, final_files)
                executed = executed_files(
                    _bash_commands(store, episode.id),
                    {**{p: t for p, t in initial.items() if p in left_out}, **final_files},
                )
        wall = episode.usage.get("wall_s") if isinstance(episode.usage.get("wall_s"), (int, float)) else None
        attempts.append(
            Attempt(
                episode_id=episode.id,
                index=episode.index,
                seed=episode.seed,
                status=episode.status,
                failure_kind=episode.failure_kind,
                final_raw=episode.final_raw,
                final_normalized=episode.final_normalized,
                succeeded=succeeded,
                evaluations=points,
                wall_time_s=float(wall if wall is not None else (episode.wall_time_s or 0.0)),
                wall_budget_s=wall_budget,
                steps=episode.n_steps,
                workspace_diff=diff,
                executed_files=executed,
                origin=episode.origin,
                error_kind=episode.error_kind,
                retried=tuple(
                    FailedTry(
                        e.error_kind or "unknown",
                        (e.error or "").strip().splitlines()[0][:200] if e.error else "",
                    )
                    for e in retried
                ),
            )
        )
    data = RunData(
        run_id=run.id,
        task_id=run.task_id,
        task_version=run.task_version,
        task_checksum=run.task_checksum,
        agent=run.agent,
        metric_name=str(constants["metric_name"]),
        direction=str(constants["direction"]),
        baseline_raw=baseline_raw,
        reference_raw=reference_raw,
        baseline_public_raw=_optional_float(constants.get("baseline_public_raw")),
        self_reported=bool(constants.get("self_reported", False)),
        success_threshold=threshold,
        k=run.k,
        perturbations={k: str(v) for k, v in run.perturbations.items()},
        attempts=tuple(attempts),
        created_at=run.created_at.isoformat(),
        known_consistency=known,
    )
    if key is not None and known is None:
        value, n_compared = consistency_of(data)
        # A read-only store: the report is still right, only the next one is not faster.
        with contextlib.suppress(StoreError):
            store.put_run_consistency(
                run.id, key=key, value=None if math.isnan(value) else value, n_compared=n_compared
            )
    return data


def load_suite_run_data(store: TraceStore, suite_run_id: str, *, with_diffs: bool = False) -> SuiteRunData:
    """A suite run and one RunData per task it ran, in the suite's order.

    Raises:
        NotFoundError: no such suite run.
    """
    from gym_core.report.suite import SuiteRunData

    suite_run = store.get_suite_run(store.resolve_suite_run_id(suite_run_id))
    runs = tuple(
        load_run_data(store, run.id, with_diffs=with_diffs) for run in store.suite_run_runs(suite_run.id)
    )
    return SuiteRunData(suite_run=suite_run, runs=runs)


def load_run_rows(store: TraceStore, runs: list[RunPublic]) -> list[RunRow]:
    """The one-line summary of each run, scored without workspace diffs (which only method consistency
    needs). A run that cannot be scored still gets its row, with the reason."""
    rows = []
    for run in runs:
        metrics, problem = None, None
        try:
            metrics = compute_metrics(run_data_of(store, run, with_diffs=False))
        except RgymError as exc:
            problem = str(exc).splitlines()[0]
        rows.append(
            RunRow(
                run_id=run.id,
                task_id=run.task_id,
                task_version=run.task_version,
                task_checksum=run.task_checksum,
                agent=run.agent,
                status=run.status,
                created_at=run.created_at,
                k=run.k,
                perturbations=dict(run.perturbations),
                metrics=metrics,
                problem=problem,
                suite_run_id=run.suite_run_id,
            )
        )
    return rows


def load_suite_run_rows(store: TraceStore, suite_runs: list[SuiteRunPublic]) -> list[SuiteRunRow]:
    """The one-line summary of each suite run: the aggregate row of its ``rgym report``. A suite run that
    cannot be scored still gets its row, with the reason."""
    from gym_core.report.suite import AGGREGATES, build_suite_reports

    rows = []
    for suite_run in suite_runs:
        runs = store.suite_run_runs(suite_run.id)
        means: dict[str, float] = {}
        na_reason, problem = None, None
        try:
            (report,), _ = build_suite_reports([load_suite_run_data(store, suite_run.id)])
            means = {name: report.mean(name) for name in AGGREGATES}
            na_reason = report.na_reason()
        except RgymError as exc:
            problem = str(exc).splitlines()[0]
        rows.append(
            SuiteRunRow(
                suite_run_id=suite_run.id,
                suite=suite_run.suite,
                agent=suite_run.agent,
                status=suite_run.status,
                created_at=suite_run.created_at,
                k=suite_run.k,
                tasks=len(suite_run.tasks),
                runs=len(runs),
                means=means,
                na_reason=na_reason,
                problem=problem,
            )
        )
    return rows


def load_history_runs(store: TraceStore, run_ids: list[str]) -> list[RunData]:
    """Every run of the given runs' agent on their task (the exact same ``--agent`` spec), for a history.

    Raises:
        ConfigError: the runs are of more than one (task, agent) pair, or none is given.
        NotFoundError: a run id is not in the store.
    """
    if not run_ids:
        raise ConfigError("--history needs a run id", hint="rgym compare RUN_ID --history")
    given = [store.get_run(store.resolve_run_id(run_id)) for run_id in run_ids]
    pairs = {(run.task_id, run.agent) for run in given}
    if len(pairs) > 1:
        raise ConfigError(
            "a history shows one agent on one task",
            hint="give one run, or runs of the same agent and task: "
            + "; ".join(f"{task} / {agent}" for task, agent in sorted(pairs)),
        )
    task_id, agent = next(iter(pairs))
    records = [r for r in store.list_runs(task_id=task_id, agent=agent) if r.agent == agent]
    return [run_data_of(store, record, with_diffs=False) for record in records]
