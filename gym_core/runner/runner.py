"""Runs of k attempts: start, execute in parallel, interrupt cleanly, resume (README.md and docs/agents.md).

A run is recorded before its first attempt starts, with everything needed to finish it later:
the task (id, version, checksum and folder), the agent spec, the budgets, the perturbations, and a base
seed; attempt ``i`` uses seed ``seed + i``. Ctrl-C stops every attempt between steps, releases the
sandboxes, and marks the run ``interrupted``; ``rgym resume`` runs the attempts that did not finish.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from rich.console import Console

from gym_core.env.budget import resolve_budget
from gym_core.env.perturbations import Perturbations
from gym_core.env.research_env import ResearchEnv
from gym_core.errors import BackendUnavailableError, ConfigError, RunError
from gym_core.outcomes import EpisodeStatus, Origin, RunSource, RunStatus
from gym_core.recorder import Recorder, RunConfig
from gym_core.runner.agent_process import isolated_factory, resolve_isolation
from gym_core.runner.attempt import AttemptResult, StepProgress, run_attempt
from gym_core.runner.progress import RunProgress
from gym_core.sandbox.base import LABEL_RUN, SandboxConfig
from gym_core.sandbox.cleanup import reap_dead_leftovers
from gym_core.sandbox.warm_pool import WarmPool
from gym_core.store import TraceStore
from gym_core.store.records import RunPublic
from gym_core.tasks.discovery import find_recorded_task, find_task
from gym_core.tasks.loader import Task
from gym_core.tasks.spec import Budget
from gym_core.tasks.suites import Suite
from rgym_agents.base import Agent, BaseAgent, TaskInfo
from rgym_agents.loader import AgentFactory

__all__ = ["RunConfig", "Runner", "parse_assignments"]


def agent_label(factory: AgentFactory, spec: str) -> str:
    """The name a run is shown under: a user agent's own ``name`` (else its spec); a built-in's spec
    (``tuner:4``, ``llm:gpt-4o``), which says more than its name."""
    if not spec.strip().lower().startswith("module:"):
        return spec.strip()
    agent = factory()
    try:
        name = getattr(agent, "name", None)
    finally:
        with contextlib.suppress(Exception):
            agent.close()
    return name if isinstance(name, str) and name.strip() and name != BaseAgent.name else spec


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
        self,
        store: TraceStore,
        *,
        console: Console | None = None,
        show_progress: bool = True,
        ray_address: str | None = None,
    ) -> None:
        """
        Args:
            ray_address: the Ray cluster for runs of the ray executor, instead of the one each run recorded
                (``rgym resume --ray-address``).
        """
        self.store = store
        self.recorder = Recorder(store)
        """Every run record this runner writes goes through it."""
        self.console = console or Console(stderr=True)
        self.show_progress = show_progress
        self.ray_address = ray_address
        self._stop = threading.Event()
        self._warm_pool: WarmPool | None = None

    # --- starting ----------------------------------------------------------------------------------

    def start(self, config: RunConfig) -> str:
        """Record a new run and return its id (nothing runs yet).

        Everything is checked before the run is recorded: the config, the task, the agent spec, the
        perturbations (an unknown prompt variant too), the budget and the backend.
        """
        return self._record(self._prepare(config))

    def start_suite(self, suite: Suite, config: RunConfig) -> tuple[str, list[str]]:
        """Record a suite run and one run per task of ``suite`` (``config.task`` is ignored).

        Every task's run is checked before anything is recorded, so a bad budget key or prompt variant for
        one task leaves no half-made suite run behind. Every task gets the same base seed.

        Returns:
            The suite run's id and its runs' ids, in the suite's task order.
        """
        seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31 - 1000)
        prepared = [
            self._prepare(dataclasses.replace(config, task=str(task.root), seed=seed)) for task in suite.tasks
        ]
        shared = dataclasses.asdict(dataclasses.replace(config, task="", seed=seed, suite_run=None))
        shared.update(source=config.source.value, suite_file=str(suite.path))
        shared.pop("task")
        suite_run_id = self.recorder.create_suite_run(
            suite=suite.name,
            tasks=[task.id for task in suite.tasks],
            agent=prepared[0].label,
            config=shared,
            k=config.runs,
        )
        assert suite_run_id is not None  # a runner always records
        run_ids = [
            self._record(dataclasses.replace(p, config=dataclasses.replace(p.config, suite_run=suite_run_id)))
            for p in prepared
        ]
        return suite_run_id, run_ids

    def _prepare(self, config: RunConfig) -> _Prepared:
        config.validate()
        if config.executor == "ray":
            from gym_core.runner.ray_executor import require_ray

            require_ray()  # before anything else: without ray, one line saying how to install it
        task = find_task(config.task)
        isolation = resolve_isolation(config.agent_isolation, config.agent)
        config = dataclasses.replace(config, agent_isolation=isolation.value)  # resume keeps it
        # a bad spec fails now, not per attempt (a user's agent is imported in its own process)
        label = agent_label(isolated_factory(config.agent, isolation, task_roots=(task.root,)), config.agent)
        perturbations = Perturbations.parse(config.perturb)
        if perturbations.prompt is not None:
            task.description(perturbations.prompt)
        budget = resolve_budget(task.spec.budget, config.budget, perturbations, task_id=task.id)
        from gym_core.sandbox import default_backend
        from gym_core.sandbox.registry import sandbox_class

        backend = config.backend or default_backend()
        sandbox_class(backend)
        if config.executor == "ray":
            from gym_core.runner.ray_executor import check_cluster, connect

            check_cluster(connect(self.ray_address or config.ray_address), self.store.url, budget)
        seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31 - 1000)
        return _Prepared(config, task, label, perturbations, budget, backend, seed)

    def _record(self, p: _Prepared) -> str:
        run_id = self.recorder.create_run(
            p.config,
            p.task,
            backend=p.backend,
            budget=p.budget,
            perturbations=p.perturbations,
            seed=p.seed,
            label=p.label,
        )
        assert run_id is not None
        return run_id

    # --- executing ---------------------------------------------------------------------------------

    def execute(self, run_id: str) -> list[AttemptResult]:
        """Run every attempt of ``run_id`` that has not finished, the run's ``parallel`` at a time.

        Raises:
            KeyboardInterrupt: after the attempts in flight were stopped and the run marked interrupted.
        """
        return self.execute_runs([run_id])[run_id]

    def execute_runs(
        self, run_ids: list[str], *, parallel: int | None = None
    ) -> dict[str, list[AttemptResult]]:
        """Run the unfinished attempts of several runs (a suite run's) in one pool of ``parallel`` workers.

        Attempts are interleaved across runs, so ``parallel`` spans tasks: with 4 workers and 3 tasks, the
        first attempt of every task starts at once. Each run is finished (completed) when its attempts are.

        Args:
            parallel: workers for all runs together (default: the first run's ``--parallel``).

        Raises:
            KeyboardInterrupt: after the attempts in flight were stopped and every unfinished run marked
                interrupted.
            BackendUnavailableError: the backend cannot work on this machine (the runs are marked
                interrupted, for `rgym resume`).
        """
        reap_dead_leftovers()  # containers and processes of runs killed with kill -9 on this host
        plans = [self._plan(run_id) for run_id in run_ids]
        results: dict[str, list[AttemptResult]] = {run_id: [] for run_id in run_ids}
        active = []
        for plan in plans:
            if plan.pending:
                active.append(plan)
            else:
                self.recorder.finish_run(plan.run_id, RunStatus.COMPLETED)
        if not active:
            return results
        items: list[tuple[_Plan, int]] = []
        for position in range(max(len(p.pending) for p in active)):
            items.extend((p, p.pending[position]) for p in active if position < len(p.pending))
        workers = parallel if parallel is not None else active[0].config.parallel
        workers = max(1, min(workers, len(items)))
        single = len(run_ids) == 1
        progress = RunProgress(console=self.console)
        for plan, index in items:
            label = f"attempt {index}" if single else f"{plan.task.id} #{index}"
            progress.add((plan.run_id, index), label, float(plan.budget.wall_time_s))

        if active[0].config.executor == "ray":
            from gym_core.runner.ray_executor import execute_on_ray

            interrupted = execute_on_ray(self, active, items, workers, progress, results)
            return self._finish_runs(active, results, interrupted)
        warm = active[0].config.warm  # sandboxes started ahead on this host (local executor)
        self._warm_pool = WarmPool(warm) if warm > 0 else None
        if self._warm_pool is not None:
            for plan, index in items:  # in the order the workers take them
                key = (plan.run_id, index)
                self._warm_pool.schedule(key, self._backend_of(plan), self._sandbox_config_of(plan))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rgym-attempt")
        futures: list[tuple[str, Future[AttemptResult]]] = []
        interrupted = False
        try:
            with progress if self.show_progress else _Null():
                futures = [
                    (plan.run_id, pool.submit(self._attempt, plan, index, progress)) for plan, index in items
                ]
                try:
                    for run_id, future in futures:
                        while True:
                            done, _ = wait([future], timeout=0.5)
                            if done:
                                break
                        results[run_id].append(future.result())
                except BackendUnavailableError:
                    # this machine cannot run the backend at all: stop, and keep the runs for `rgym resume`
                    self._stop.set()
                    wait([f for _, f in futures])
                    for plan in active:
                        self.recorder.finish_run(plan.run_id, RunStatus.INTERRUPTED)
                    raise
                except KeyboardInterrupt:
                    interrupted = True
                    self._stop.set()
                    self.console.print(
                        "[yellow]interrupted: stopping attempts between steps, releasing sandboxes...[/]"
                    )
                    wait([f for _, f in futures])
                    results = {run_id: [] for run_id in run_ids}
                    for run_id, f in futures:
                        if f.done() and not f.exception():
                            results[run_id].append(f.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if self._warm_pool is not None:  # run end, Ctrl-C or a crash: no warm sandbox outlives the run
                self._warm_pool.close()
                self._warm_pool = None
        return self._finish_runs(active, results, interrupted)

    def _finish_runs(
        self, active: list[_Plan], results: dict[str, list[AttemptResult]], interrupted: bool
    ) -> dict[str, list[AttemptResult]]:
        """Record each run completed, or interrupted when an attempt of it did not finish."""
        stopped = False
        for plan in active:
            got = results[plan.run_id]
            if interrupted and len(got) < len(plan.pending):
                broken = True
            else:
                broken = any(r.status is EpisodeStatus.INTERRUPTED for r in got)
            stopped |= broken
            self.recorder.finish_run(plan.run_id, RunStatus.INTERRUPTED if broken else RunStatus.COMPLETED)
        if interrupted or stopped:
            raise KeyboardInterrupt
        return results

    @staticmethod
    def _backend_of(plan: _Plan) -> str:
        from gym_core.sandbox import default_backend

        return plan.run.backend or default_backend()

    def _sandbox_config_of(self, plan: _Plan) -> Callable[[], SandboxConfig]:
        """What an attempt of ``plan`` starts its sandbox with (as ResearchEnv does), for the warm pool."""

        def make() -> SandboxConfig:
            from gym_core.env.agent_sandbox import agent_sandbox_config
            from gym_core.images import image_for

            image = image_for(plan.task, self._backend_of(plan))
            return agent_sandbox_config(plan.task, plan.budget, image=image, labels={LABEL_RUN: plan.run_id})

        return make

    def run_attempt(self, run_id: str, index: int) -> AttemptResult:
        """Run attempt ``index`` of the recorded run ``run_id`` in this process, retrying environment
        failures as the run says; what an executor's worker on another node calls (``--executor ray``)."""
        plan = self._plan(run_id)
        return self._attempt(plan, index, RunProgress(console=self.console))

    def _plan(self, run_id: str) -> _Plan:
        run = self.store.get_run(run_id)
        config = self._config_of(run_id)
        task = self._task_of(run_id)
        return _Plan(
            run_id=run_id,
            run=run,
            config=config,
            task=task,
            pending=self.store.pending_attempts(run_id, retries=config.retries),
            factory=isolated_factory(
                config.agent,
                resolve_isolation(config.agent_isolation, config.agent),
                stop=self._stop,
                task_roots=(task.root,),
            ),
            budget=Budget.model_validate(run.budget),  # resolved when the run started: never scaled twice
            seed=int(run.seed or 0),
            retries=self._retry_state(run_id),
        )

    def _one_try(self, plan: _Plan, index: int, retry_of: str | None, progress: RunProgress) -> AttemptResult:
        run = plan.run
        env = ResearchEnv(
            plan.task,
            backend=run.backend,
            store=self.store,
            budget=plan.budget,
            perturb=run.perturbations,
            run_id=plan.run_id,
            agent=run.agent,
            warm_pool=self._warm_pool,
        )
        key = (plan.run_id, index)
        on_step: Callable[[StepProgress], None] | None = (
            (lambda event: progress.update(event, key)) if self.show_progress else None
        )
        try:
            try:
                agent: Agent = plan.factory()
            except Exception as exc:  # the agent cannot even be built: its attempt fails, recorded
                agent = _Unbuilt(exc)
            return run_attempt(
                env,
                agent,
                index=index,
                seed=plan.seed + index,
                stop=self._stop,
                on_step=on_step,
                retry_of=retry_of,
            )
        except KeyboardInterrupt:
            # The harness's own stop (Ctrl-C, SIGTERM): the attempt stays pending, for `rgym resume`. Closing
            # the env without this would end it as the agent's (truncated, graded, counted).
            env.interrupt("the run was stopped (Ctrl-C or SIGTERM)")
            return AttemptResult(index, env.episode_id, EpisodeStatus.INTERRUPTED, None)
        except BaseException:
            env.interrupt("the runner failed")
            raise
        finally:
            env.close()

    def _attempt(self, plan: _Plan, index: int, progress: RunProgress) -> AttemptResult:
        # An environment failure is tried again with the same seed, as a new episode linked to the one it
        # replaces; after config.retries tries it stands, and reports exclude and flag it.
        tried, retry_of = plan.retries.get(index, (0, None))
        key = (plan.run_id, index)
        while True:
            if self._stop.is_set():
                return AttemptResult(index, None, EpisodeStatus.INTERRUPTED, None)
            if self.show_progress:
                progress.started(key)
            result = self._one_try(plan, index, retry_of, progress)
            if result.origin is not Origin.ENVIRONMENT or tried >= plan.config.retries or self._stop.is_set():
                return result
            tried += 1
            retry_of = result.episode_id
            if self.show_progress:
                progress.retrying(key, tried, result.error or "environment failure")

    def _retry_state(self, run_id: str) -> dict[int, tuple[int, str | None]]:
        """Per attempt index: environment failures so far, and the latest try when it is one (for resume)."""
        state: dict[int, tuple[int, str | None]] = {}
        for episode in sorted(self.store.list_episodes(run_id), key=lambda e: e.started_at):
            failures, _last = state.get(episode.index, (0, None))
            if episode.origin == Origin.ENVIRONMENT:
                state[episode.index] = (failures + 1, episode.id)
            else:
                state[episode.index] = (failures, None)
        return state

    def _config_of(self, run_id: str) -> RunConfig:
        """The run's config; refuses runs that rgym cannot drive itself (made through the Python API)."""
        config = RunConfig.from_record(self.store.get_run(run_id).config)
        if config.source is not RunSource.CLI:
            raise RunError(
                f"run {run_id} was recorded through the Python API (gym.make or ResearchEnv), so rgym does not "
                "know the agent that drove it",
                hint="finish its attempts with your own code, or start a new run with `rgym run`",
            )
        return config

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
        self.recorder.mark_abandoned()
        pending = self.store.pending_attempts(run_id, retries=self._config_of(run_id).retries)
        if not pending:
            self.console.print(f"run {run_id}: every attempt has finished; nothing to resume")
            self.recorder.finish_run(run_id, RunStatus.COMPLETED)
            return []
        self._config_of(run_id)
        self.console.print(f"run {run_id}: resuming attempt(s) {', '.join(map(str, pending))}")
        return self.execute(run_id)


@dataclass(frozen=True)
class _Prepared:
    """A checked run, ready to be recorded."""

    config: RunConfig
    task: Task
    label: str
    perturbations: Perturbations
    budget: Budget
    backend: str
    seed: int


@dataclass
class _Plan:
    """What executing one run needs, read once from the store."""

    run_id: str
    run: RunPublic
    config: RunConfig
    task: Task
    pending: list[int]
    factory: AgentFactory
    budget: Budget
    seed: int
    retries: dict[int, tuple[int, str | None]]


class _Unbuilt(BaseAgent):
    """Stands in for an agent whose construction raised: its reset() raises that, so the attempt is recorded
    crashed like any other, as the agent's failure, or as the environment's when its process could not start
    (:class:`~gym_core.errors.AgentHostError`, retried)."""

    name = "unbuilt"

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        raise self.error


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None
