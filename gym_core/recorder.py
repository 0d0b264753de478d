"""The one owner of run and episode records: creates runs and episodes, records steps and evaluations.

``rgym run`` (the runner) and the Python API (``gym.make``, :class:`~gym_core.env.ResearchEnv`) both create
runs here, from a :class:`RunConfig`, so every run in the trace store has the same config shape whatever made
it. An environment records its episodes through an :class:`EpisodeRecorder`; with recording off
(``record=False``) the same calls do nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gym_core.errors import ConfigError
from gym_core.outcomes import (
    EpisodeStatus,
    ErrorKind,
    EvaluationKind,
    FailureKind,
    Origin,
    RunSource,
    RunStatus,
)
from gym_core.settings import get_settings
from gym_core.store.quota import MIB, ArtifactQuota
from gym_core.tasks.spec import Budget, Split

if TYPE_CHECKING:
    from gym_core.env.perturbations import Perturbations
    from gym_core.store import TraceStore
    from gym_core.tasks.loader import Task

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. Stored with it (``runs.config``), so ``rgym resume`` can finish it."""

    task: str
    """Task id (or folder) as given."""
    agent: str
    """Agent spec for ``rgym run`` (e.g. ``tuner``, ``llm:gpt-4o-mini``); the agent's name for the Python API."""
    runs: int = 1
    """Attempts requested (K)."""
    parallel: int = 1
    """Attempts at a time (with the ray executor: at most this many Ray tasks in flight)."""
    executor: str = "local"
    """``local`` (threads of this process) or ``ray`` (Ray tasks on a cluster)."""
    ray_address: str | None = None
    """The Ray cluster of the ray executor (``--ray-address``); None: ``RAY_ADDRESS``, else Ray's default."""
    backend: str | None = None
    """As asked for; the run records the backend actually used."""
    budget: dict[str, Any] = field(default_factory=dict)
    """Overrides of the task's budget (the resolved budget is recorded beside it)."""
    perturb: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    """Base seed: attempt ``i`` uses ``seed + i``."""
    retries: int = 2
    """Tries of an attempt that failed from the environment, again with the same seed (``--retries``)."""
    warm: int = 0
    """Sandboxes started ahead for the next attempts (``--warm``), each used by one attempt only."""
    source: RunSource = RunSource.CLI
    suite_run: str | None = None
    """The suite run this run is part of (``rgym run --suite``), if any."""
    agent_isolation: str | None = None
    """``process`` or ``thread`` (``--agent-isolation``); None: the agent's default (process for ``module:``)."""

    def validate(self) -> None:
        """Refuse values that cannot work, with one clear line each."""
        if self.runs < 1:
            raise ConfigError(f"--runs must be at least 1, got {self.runs}")
        if self.parallel < 1:
            raise ConfigError(f"--parallel must be at least 1, got {self.parallel}")
        if self.retries < 0:
            raise ConfigError(f"--retries must be at least 0, got {self.retries}")
        if self.warm < 0:
            raise ConfigError(f"--warm must be at least 0, got {self.warm}")
        if self.warm and self.executor != "local":
            raise ConfigError(
                "--warm starts sandboxes on this host: it works with --executor local only",
                hint="drop --warm, or use --executor local",
            )
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"unknown executor {self.executor!r}", hint=f"use one of {', '.join(EXECUTORS)}"
            )
        if self.ray_address is not None and self.executor != "ray":
            raise ConfigError(
                "--ray-address needs --executor ray", hint="add --executor ray, or drop --ray-address"
            )

    def to_record(self, task: Task, *, seed: int | None) -> dict[str, Any]:
        """The ``runs.config`` JSON: this config, the task's folder and its scoring constants."""
        data = dataclasses.asdict(self)
        data.update(
            source=self.source.value,
            seed=seed,
            task_root=str(task.root),
            scoring=task.spec.scoring_constants(),
        )
        return data

    @classmethod
    def from_record(cls, config: Mapping[str, Any]) -> RunConfig:
        """The config of a recorded run (unknown keys, e.g. ``scoring``, are left out).

        Runs recorded by earlier versions through the Python API say ``source: gymnasium`` and name
        neither task nor agent: they read as Python API runs.

        Raises:
            ConfigError: the record names a source this version does not know.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in config.items() if k in names}
        raw_source = values.get("source", RunSource.CLI.value)
        source = _LEGACY_SOURCES.get(raw_source, raw_source)
        try:
            values["source"] = RunSource(source)
        except ValueError:
            known = ", ".join(repr(s.value) for s in RunSource)
            raise ConfigError(
                f"the run's recorded config has source {raw_source!r}, which this version of rgym does not know",
                hint=f"known sources: {known}; the run may come from a newer rgym",
            ) from None
        if values["source"] is RunSource.PYTHON_API:
            values.setdefault("task", str(config.get("task_root", "")))
            values.setdefault("agent", "")
        return cls(**values)


_LEGACY_SOURCES = {"gymnasium": RunSource.PYTHON_API.value}
"""Sources written by earlier versions, and what they are now."""


class Recorder:
    """Creates runs and episodes in a trace store (or nowhere, when ``store`` is None)."""

    def __init__(self, store: TraceStore | None) -> None:
        self.store = store

    @property
    def enabled(self) -> bool:
        """True when records are written."""
        return self.store is not None

    def create_run(
        self,
        config: RunConfig,
        task: Task,
        *,
        backend: str,
        budget: Budget,
        perturbations: Perturbations,
        seed: int | None,
        label: str | None = None,
    ) -> str | None:
        """Record a new run (status running) and return its id; None when recording is off.

        Args:
            label: the agent's name, shown for the run (default: the agent spec of ``config``).
        """
        if self.store is None:
            return None
        return self.store.create_run(
            task_id=task.id,
            task_version=task.spec.version,
            task_checksum=task.checksum,
            agent=label or config.agent,
            config=config.to_record(task, seed=seed),
            backend=backend,
            budget=budget.model_dump(mode="json"),
            perturbations=perturbations.as_dict(),
            k=config.runs,
            seed=seed,
            suite_run_id=config.suite_run,
        )

    def finish_run(self, run_id: str | None, status: RunStatus, *, k: int | None = None) -> None:
        """Set a run's final status (and, for Python API runs, the number of attempts it made)."""
        if self.store is not None and run_id is not None:
            self.store.finish_run(run_id, status=status, k=k)

    def create_suite_run(
        self, *, suite: str, tasks: Sequence[str], agent: str, config: Mapping[str, Any], k: int
    ) -> str | None:
        """Record a new suite run (its runs are created with ``config.suite_run`` set to its id)."""
        if self.store is None:
            return None
        return self.store.create_suite_run(suite=suite, tasks=list(tasks), agent=agent, config=config, k=k)

    def finish_suite_run(self, suite_run_id: str | None, status: RunStatus) -> None:
        """Set a suite run's final status."""
        if self.store is not None and suite_run_id is not None:
            self.store.finish_suite_run(suite_run_id, status=status)

    def mark_abandoned(self) -> int:
        """Record the running runs and episodes whose owner process on this host is gone as interrupted
        (a kill -9, a lost machine), so ``rgym resume`` finds them; how many episodes it marked."""
        return self.store.mark_interrupted() if self.store is not None else 0

    def interrupt_lost_attempt(self, run_id: str, index: int, reason: str) -> str | None:
        """Record attempt ``index`` of ``run_id`` interrupted, when its worker is lost while it runs (the
        attempt then resumes). Returns the id of the episode it ended, or None when none was running."""
        if self.store is None:
            return None
        ended = None
        for episode in self.store.list_episodes(run_id):
            if episode.index == index and episode.status == EpisodeStatus.RUNNING:
                ended = episode.id
                self.store.finish_episode(
                    episode.id,
                    status=EpisodeStatus.INTERRUPTED,
                    final_raw=None,
                    final_normalized=None,
                    error=reason,
                )
        return ended

    def start_episode(
        self, run_id: str | None, *, index: int, seed: int | None, retry_of: str | None = None
    ) -> EpisodeRecorder:
        """Record a new attempt of ``run_id`` (a retry of ``retry_of``, if given) and return its recorder."""
        if self.store is None or run_id is None:
            return EpisodeRecorder(None, None)
        episode_id = self.store.start_episode(run_id, index=index, seed=seed, retry_of=retry_of)
        quota = ArtifactQuota(int(get_settings().episode_artifact_quota_mb * MIB))
        return EpisodeRecorder(self.store, episode_id, quota=quota)


class EpisodeRecorder:
    """Writes one episode's steps, evaluations and end; every call is durable when it returns.

    Everything the agent controls that it writes as artifacts (``write_file`` content, validate snapshots)
    counts against the episode's :class:`ArtifactQuota`.
    """

    def __init__(
        self, store: TraceStore | None, episode_id: str | None, *, quota: ArtifactQuota | None = None
    ) -> None:
        self.store = store
        self.episode_id = episode_id
        self.quota = quota if quota is not None else ArtifactQuota.unlimited()

    @property
    def enabled(self) -> bool:
        """True when records are written."""
        return self.store is not None and self.episode_id is not None

    def step(
        self,
        *,
        index: int,
        action: Mapping[str, Any] | str,
        observation: Mapping[str, Any],
        exit_code: int | None,
        started_at: datetime,
        duration_s: float,
        agent_time_s: float | None,
        flags: Mapping[str, Any],
        usage: Mapping[str, Any],
    ) -> None:
        """Record one step."""
        if self.store is None or self.episode_id is None:
            return
        self.store.record_step(
            self.episode_id,
            index=index,
            action=action,
            observation=observation,
            exit_code=exit_code,
            started_at=started_at,
            duration_s=duration_s,
            agent_time_s=agent_time_s,
            flags=flags,
            usage=usage,
            quota=self.quota,
        )

    def snapshot(
        self,
        workspace: Path,
        *,
        omitted: Sequence[tuple[str, str]] = (),
        truncated: bool = False,
        charge_quota: bool = False,
    ) -> str | None:
        """Store a snapshot of a host copy of the workspace; its digest, or None when not recording.

        Args:
            omitted: (path, reason) of what the copy left out, kept in the snapshot's header.
            truncated: files were left out for lack of room; the snapshot is marked truncated.
            charge_quota: count the bytes it adds to the store against the episode's artifact quota.
        """
        if self.store is None:
            return None
        stored = self.store.store_snapshot(workspace, omitted=omitted, truncated=truncated)
        if charge_quota:
            self.quota.charge(stored.stored_bytes)
        return stored.digest

    def evaluation(
        self,
        *,
        step_index: int,
        kind: EvaluationKind,
        split: Split,
        raw_score: float | None,
        normalized_score: float | None,
        valid: bool,
        grader_output: str,
        snapshot: str | None,
    ) -> None:
        """Record one grading (with everything the grader printed, for evaluators)."""
        if self.store is None or self.episode_id is None:
            return
        self.store.record_evaluation(
            self.episode_id,
            step_index=step_index,
            kind=kind,
            split=split,
            raw_score=raw_score,
            normalized_score=normalized_score,
            valid=valid,
            grader_output=grader_output,
            snapshot=snapshot,
        )

    def finish(
        self,
        *,
        status: EpisodeStatus,
        final_raw: float | None,
        final_normalized: float | None,
        best_raw: float | None,
        best_normalized: float | None,
        failure_kind: FailureKind | None,
        error: str | None,
        usage: Mapping[str, Any],
        origin: Origin | None = None,
        error_kind: ErrorKind | None = None,
    ) -> None:
        """Record how the episode ended, and whose doing it was."""
        if self.store is None or self.episode_id is None:
            return
        self.store.finish_episode(
            self.episode_id,
            status=status,
            final_raw=final_raw,
            final_normalized=final_normalized,
            best_raw=best_raw,
            best_normalized=best_normalized,
            failure_kind=failure_kind,
            error=error,
            usage=usage,
            origin=origin,
            error_kind=error_kind,
        )
