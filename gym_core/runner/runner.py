"""Runs of k attempts: start, execute in parallel, interrupt cleanly, resume (SPEC.md section 4).

A run is recorded before its first attempt starts, with everything needed to finish it later:
the task (id, version, checksum and folder), the agent spec, the budgets, the perturbations, and a base
seed; attempt ``i`` uses seed ``seed + i``. Ctrl-C stops every attempt between steps, releases the
sandboxes, and marks the run ``interrupted``; ``rgym resume`` runs the attempts that did not finish.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console

from agents.loader import agent_factory
from gym_core.env.perturbations import Perturbations
from gym_core.env.research_env import ResearchEnv
from gym_core.errors import ConfigError, RunError
from gym_core.reporting import scoring_constants
from gym_core.runner.attempt import AttemptResult, StepProgress, run_attempt
from gym_core.runner.progress import RunProgress
from gym_core.store import TraceStore
from gym_core.tasks.discovery import find_recorded_task, find_task
from gym_core.tasks.loader import Task

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; stored with it so ``resume`` can finish it."""

    task: str
    """Task id (or folder) as given."""
    agent: str
    """Agent spec, e.g. ``tuner`` or ``llm:gpt-4o-mini``."""
    runs: int = 1
    parallel: int = 1
    executor: str = "local"
    backend: str | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    """Overrides of the task's budget."""
    perturb: dict[str, str] = field(default_factory=dict)
    seed: int | None = None

    def validate(self) -> None:
        """Refuse values that cannot work, with one clear line each."""
        if self.runs < 1:
            raise ConfigError(f"--runs must be at least 1, got {self.runs}")
        if self.parallel < 1:
            raise ConfigError(f"--parallel must be at least 1, got {self.parallel}")
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"unknown executor {self.executor!r}", hint=f"use one of {', '.join(EXECUTORS)}"
            )
        if self.executor == "ray":
            # Accepted by the CLI contract, but not built yet: say so rather than run locally in disguise.
            raise ConfigError(
                "the ray executor is not available in this version", hint="use --executor local"
            )


def parse_assignments(values: list[str], option: str) -> dict[str, str]:
    """``["wall_time_s=60", "cpus=2"]`` -> ``{"wall_time_s": "60", "cpus": "2"}``."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {item!r} must look like KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


class Runner:
    """Starts, executes and resumes runs against one trace store."""

    def __init__(
        self, store: TraceStore, *, console: Console | None = None, show_progress: bool = True
    ) -> None:
        self.store = store
        self.console = console or Console(stderr=True)
        self.show_progress = show_progress
        self._stop = threading.Event()

    # --- starting ----------------------------------------------------------------------------------

    def start(self, config: RunConfig) -> str:
        """Record a new run and return its id (nothing runs yet)."""
        config.validate()
        task = find_task(config.task)
        factory = agent_factory(config.agent)  # fails now, not in every attempt
        del factory
        perturbations = Perturbations.parse(config.perturb)
        probe = ResearchEnv(
            task, backend=config.backend, budget=config.budget, perturb=perturbations, record=False
        )
        seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31 - 1000)
        stored = {
            **asdict(config),
            "seed": seed,
            "task_root": str(task.root),
            "scoring": scoring_constants(task),
        }
        return self.store.create_run(
            task_id=task.id,
            task_version=task.spec.version,
            task_checksum=task.checksum,
            agent=config.agent,
            config=stored,
            backend=probe.backend,
            budget=probe.budget.model_dump(mode="json"),
            perturbations=perturbations.as_dict(),
            k=config.runs,
            seed=seed,
        )

    # --- executing ---------------------------------------------------------------------------------

    def execute(self, run_id: str) -> list[AttemptResult]:
        """Run every attempt of ``run_id`` that has not finished, ``parallel`` at a time.

        Raises:
            KeyboardInterrupt: after the attempts in flight were stopped and the run marked interrupted.
        """
        run = self.store.get_run(run_id)
        config = run.config
        task = self._task_of(run_id)
        pending = self.store.pending_attempts(run_id)
        if not pending:
            self.store.finish_run(run_id, status="completed")
            return []
        factory = agent_factory(config["agent"])
        parallel = max(1, min(int(config.get("parallel", 1)), len(pending)))
        seed = int(run.seed or 0)
        results: list[AttemptResult] = []
        progress = RunProgress(
            attempts=pending, wall_budget_s=float(run.budget["wall_time_s"]), console=self.console
        )
        on_step: Callable[[StepProgress], None] | None = progress.update if self.show_progress else None

        def attempt(index: int) -> AttemptResult:
            if self._stop.is_set():
                return AttemptResult(index, None, "interrupted", None)
            env = ResearchEnv(
                task,
                backend=run.backend,
                store=self.store,
                budget=run.budget,
                perturb=run.perturbations,
                run_id=run_id,
                agent=run.agent,
            )
            try:
                if self.show_progress:
                    progress.started(index)
                return run_attempt(
                    env, factory(), index=index, seed=seed + index, stop=self._stop, on_step=on_step
                )
            except KeyboardInterrupt:
                return AttemptResult(index, env.episode_id, "interrupted", None)
            finally:
                env.close()

        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="rgym-attempt")
        futures: list[Future[AttemptResult]] = []
        interrupted = False
        try:
            with progress if self.show_progress else _Null():
                futures = [pool.submit(attempt, i) for i in pending]
                try:
                    for future in futures:
                        while True:
                            done, _ = wait([future], timeout=0.5)
                            if done:
                                break
                        results.append(future.result())
                except KeyboardInterrupt:
                    interrupted = True
                    self._stop.set()
                    self.console.print(
                        "[yellow]interrupted: stopping attempts between steps, releasing sandboxes...[/]"
                    )
                    wait(futures)
                    results = [f.result() for f in futures if f.done() and not f.exception()]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if interrupted or any(r.status == "interrupted" for r in results):
            self.store.finish_run(run_id, status="interrupted")
            raise KeyboardInterrupt
        self.store.finish_run(run_id, status="completed")
        return results

    def _task_of(self, run_id: str) -> Task:
        """The run's task, refusing one whose folder changed since the run started."""
        run = self.store.get_run(run_id)
        task = find_recorded_task(run.task_id, run.config.get("task_root"))
        if task.checksum != run.task_checksum:
            raise RunError(
                f"task {task.id} changed since run {run_id} started (checksum {task.checksum[:12]} != "
                f"{run.task_checksum[:12]})",
                hint="start a new run; scores of different task versions are not comparable",
            )
        return task

    def resume(self, run_id: str) -> list[AttemptResult]:
        """Finish the attempts an interrupted run did not."""
        self.store.mark_interrupted()
        pending = self.store.pending_attempts(run_id)
        if not pending:
            self.console.print(f"run {run_id}: every attempt has finished; nothing to resume")
            self.store.finish_run(run_id, status="completed")
            return []
        self.console.print(f"run {run_id}: resuming attempt(s) {', '.join(map(str, pending))}")
        return self.execute(run_id)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None
