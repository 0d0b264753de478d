"""From the trace store to scoring's :class:`RunData`: the one place that knows both.

For ``method_consistency`` each successful attempt's final workspace (the snapshot taken at its last
evaluation) is diffed against the task's initial workspace. Only text files count: binary files,
files over :data:`MAX_DIFF_FILE_BYTES`, and the declared submission files (outputs, not method) are left
out, as are caches.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gym_core.errors import NotFoundError, RgymError
from gym_core.scoring.consistency import diff_workspaces
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData
from gym_core.store import TraceStore
from gym_core.store.records import EpisodePublic, RunPublic
from gym_core.tasks.checksum import IGNORED_NAMES
from gym_core.tasks.discovery import find_recorded_task
from gym_core.tasks.loader import Task

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


def _latest_per_index(episodes: list[EpisodePublic]) -> list[EpisodePublic]:
    """One episode per attempt index: the one that finished for good, else the latest try."""
    done = ("submitted", "truncated", "crashed")
    chosen: dict[int, EpisodePublic] = {}
    for episode in sorted(episodes, key=lambda e: e.started_at):
        current = chosen.get(episode.index)
        if current is None or episode.status in done or current.status not in done:
            chosen[episode.index] = episode
    return [chosen[i] for i in sorted(chosen)]


def scoring_constants(task: Task) -> dict[str, object]:
    """What a report needs from the task to score a run; stored with the run so reports stand alone."""
    spec = task.spec
    return {
        "metric_name": spec.metric.name,
        "direction": spec.metric.direction.value,
        "baseline_raw": spec.baseline.score,
        "reference_raw": spec.reference.score,
        "success_threshold": spec.success.normalized_at_least,
    }


def load_run_data(store: TraceStore, run_id: str, *, with_diffs: bool = True) -> RunData:
    """Everything the report needs about one run.

    Raises:
        NotFoundError: no such run.
    """
    run = store.get_run(store.resolve_run_id(run_id))
    task = _task_for(run)
    constants = dict(run.config.get("scoring") or (scoring_constants(task) if task is not None else {}))
    if not constants:
        raise NotFoundError(
            f"run {run.id}: its task {run.task_id} is not found and the run holds no scoring constants",
            hint="add the task's folder to RGYM_TASKS_PATH",
        )
    threshold = float(constants["success_threshold"])
    initial: dict[str, str] = {}
    skip: set[str] = set()
    if task is not None:
        skip = set(task.spec.grader.submission)
        initial = _text_files(task.workspace_dir, skip)
    wall_budget = float(run.budget.get("wall_time_s", 0.0))
    attempts = []
    for episode in _latest_per_index(store.list_episodes(run.id)):
        evaluations = store.list_evaluations(episode.id)
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
        final = episode.final_normalized
        succeeded = final is not None and final >= threshold
        diff = None
        snapshots = [e.snapshot for e in evaluations if e.snapshot and e.kind in ("submit", "auto")]
        if with_diffs and succeeded and snapshots and task is not None:
            with tempfile.TemporaryDirectory(prefix="rgym-diff-") as tmp:
                store.restore_snapshot(snapshots[-1], Path(tmp))
                diff = diff_workspaces(initial, _text_files(Path(tmp), skip))
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
            )
        )
    return RunData(
        run_id=run.id,
        task_id=run.task_id,
        task_version=run.task_version,
        task_checksum=run.task_checksum,
        agent=run.agent,
        metric_name=str(constants["metric_name"]),
        direction=str(constants["direction"]),
        baseline_raw=float(constants["baseline_raw"]),
        reference_raw=float(constants["reference_raw"]),
        success_threshold=threshold,
        k=run.k,
        perturbations={k: str(v) for k, v in run.perturbations.items()},
        attempts=tuple(attempts),
    )
