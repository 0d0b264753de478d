"""``rgym run --executor ray``: the attempts of a run as Ray tasks on a cluster (README, "Scale out on Ray").

The driver (the ``rgym run`` process) records the run as usual, then submits one Ray task per attempt, at
most ``--parallel`` at a time. Each task reserves its budget's CPUs, memory and GPUs on the node it lands
on, opens the run's trace store there, and runs the attempt exactly as the local executor does (sandbox on
that node's Docker engine, agent in that task's worker process, environment failures retried). So:

* **The store is shared.** Every node writes to the run's store: PostgreSQL for a cluster of several
  machines; SQLite only when every node of the cluster is this machine (a SQLite file cannot be shared
  between machines; rgym refuses it otherwise, and a worker never creates a store file of its own).
* **The task folder is not shipped.** Every node reads it at the path the run recorded (a shared file
  system, or the same checkout on every machine); the worker checks the folder's checksum against the
  run's, so a node with another version of the task is refused, never silently scored.
* **Progress** comes from the store: the driver polls the episodes of its runs, so the bars advance step
  by step and every finished attempt counts, whichever node ran it.
* **Ctrl-C** cancels the Ray tasks: a running one gets a KeyboardInterrupt, records its episode
  ``interrupted`` and stops its sandbox; the driver waits for that (bounded), then kills what is left.
  ``rgym resume`` runs the unfinished attempts again.
* **A node or worker that dies** takes only its attempts with it: Ray does not retry them (``max_retries``
  is 0), the driver records their episodes ``interrupted``, the other attempts go on, and the run ends
  ``interrupted`` for ``rgym resume``. The dead worker's containers are reaped by the next attempt that
  starts on its node, or by ``rgym gc`` there.

Ray is an optional dependency (``pip install 'rgym[ray]'``); this module imports it only when used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gym_core.errors import BackendUnavailableError, ClusterError, ConfigError, RgymError
from gym_core.outcomes import EpisodeStatus, RunStatus
from gym_core.recorder import Recorder
from gym_core.runner.attempt import AttemptResult, StepProgress
from gym_core.runner.progress import RunProgress
from gym_core.tasks.spec import Budget

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import URL

    from gym_core.runner.runner import Runner, _Plan
    from gym_core.store import TraceStore

__all__ = [
    "INSTALL_HINT",
    "RayExecution",
    "check_cluster",
    "connect",
    "execute_on_ray",
    "require_ray",
    "task_resources",
]

INSTALL_HINT = "install it with: pip install 'rgym[ray]'"
MIB = 1024 * 1024
#: Seconds to wait for the head node's port to answer before connecting.
CONNECT_TIMEOUT_S = 5.0
#: Seconds between two looks at the cluster and the store while attempts run.
POLL_S = 0.5
#: Seconds the driver waits, after Ctrl-C, for cancelled attempts to record themselves and stop their
#: sandboxes before it kills their workers.
CANCEL_GRACE_S = 60.0
#: Seconds to wait for a node's cancelled worker to go once killed.
KILL_GRACE_S = 15.0


def require_ray() -> ModuleType:
    """The ``ray`` module, or a one-line error saying how to install it.

    Raises:
        ConfigError: ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs the ray package, which is not installed", hint=INSTALL_HINT
        ) from None
    return ray


def connect(address: str | None) -> ModuleType:
    """Connect this process to the Ray cluster at ``address`` (once per process) and return ``ray``.

    Args:
        address: ``HOST:PORT`` of the head node, ``auto`` for the cluster started on this machine, or
            None for ``RAY_ADDRESS``, else whatever Ray does by default (a cluster running on this
            machine, or a new one-node cluster for this process).

    Raises:
        ConfigError: ray is not installed.
        ClusterError: no Ray cluster answers at ``address``.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    given = address or os.environ.get("RAY_ADDRESS")
    where = given or "a new local Ray instance"
    hint = "start one with `ray start --head`, then pass --ray-address HOST:PORT or set RAY_ADDRESS"
    refused = _unreachable(given) if given else None
    if refused is not None:  # Ray itself would retry for a minute or more before it gives up
        raise ClusterError(f"cannot connect to the Ray cluster at {where}: {refused}", hint=hint)
    try:
        ray.init(
            address=address or None,
            logging_level=logging.WARNING,
            log_to_driver=False,  # what workers print is in the cluster's logs; the store has the rest
            include_dashboard=False,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ClusterError(f"cannot connect to the Ray cluster at {where}: {first}", hint=hint) from None
    return ray


def _unreachable(address: str) -> str | None:
    """Why nothing answers at a ``HOST:PORT`` address (None when something does, or it is another form)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return None  # auto, ray://..., or a form Ray resolves itself
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def task_resources(budget: Budget) -> dict[str, float]:
    """What a Ray task running one attempt reserves: the budget's CPUs, memory (bytes) and GPUs."""
    return {
        "num_cpus": float(budget.cpus),
        "memory": float(budget.memory_mb * MIB),
        "num_gpus": float(budget.gpus),
    }


@dataclass(frozen=True)
class Node:
    """What the checks need to know of one alive node of the cluster."""

    address: str
    resources: Mapping[str, float]


def alive_nodes(ray: ModuleType) -> list[Node]:
    """The alive nodes of the connected cluster."""
    return [
        Node(str(n.get("NodeManagerAddress", "")), dict(n.get("Resources") or {}))
        for n in ray.nodes()
        if n.get("Alive")
    ]


def sqlite_problem(backend_name: str, nodes: Sequence[Node], local_address: str) -> str | None:
    """Why a SQLite store cannot serve this cluster (None when it can, or the store is not SQLite).

    A SQLite store is a file on one machine: it can serve a cluster only when every node is that machine
    (several nodes started on one machine are fine). Across machines, use PostgreSQL.
    """
    if backend_name != "sqlite":
        return None
    others = sorted({n.address for n in nodes if n.address != local_address})
    if not others:
        return None
    return (
        f"the trace store is a SQLite file on this machine ({local_address}), but the Ray cluster has "
        f"{len(nodes)} node(s), some on other machines ({', '.join(others)}): they cannot write to it"
    )


def fit_problem(resources: Mapping[str, float], nodes: Sequence[Node]) -> str | None:
    """Why no node can ever run an attempt that reserves ``resources`` (None when one can)."""
    wanted = {
        "CPU": resources.get("num_cpus", 0.0),
        "memory": resources.get("memory", 0.0),
        "GPU": resources.get("num_gpus", 0.0),
    }
    for node in nodes:
        if all(node.resources.get(name, 0.0) >= amount for name, amount in wanted.items() if amount > 0):
            return None
    largest = {
        name: max((n.resources.get(name, 0.0) for n in nodes), default=0.0)
        for name in wanted
        if wanted[name] > 0
    }

    def show(name: str, amount: float) -> str:
        return f"{amount / MIB:.0f} MiB memory" if name == "memory" else f"{amount:g} {name}"

    need = ", ".join(show(k, v) for k, v in wanted.items() if v > 0)
    have = ", ".join(show(k, v) for k, v in largest.items())
    return f"no node of the Ray cluster can hold one attempt ({need}); the largest offer {have}"


def check_cluster(ray: ModuleType, store_url: URL, budget: Budget) -> None:
    """Refuse a cluster that cannot run the run: a SQLite store across machines, or no node big enough.

    Raises:
        ClusterError: with what is wrong and how to fix it.
    """
    nodes = alive_nodes(ray)
    problem = sqlite_problem(store_url.get_backend_name(), nodes, ray.util.get_node_ip_address())
    if problem is not None:
        raise ClusterError(
            problem, hint="use a PostgreSQL store all nodes reach: --store postgresql+psycopg://USER@HOST/DB"
        )
    problem = fit_problem(task_resources(budget), nodes)
    if problem is not None:
        raise ClusterError(
            problem, hint="lower the budget (--budget cpus=1 memory_mb=2048) or add a larger node"
        )


# --- on the worker --------------------------------------------------------------------------------


def _attempt_on_node(store_url: str, run_id: str, index: int) -> AttemptResult:
    """The body of one Ray task: run attempt ``index`` of ``run_id`` on this node, into the shared store."""
    from rich.console import Console

    from gym_core.runner.runner import Runner
    from gym_core.store import TraceStore
    from gym_core.store.engine import parse_store_url

    url = parse_store_url(store_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # never write to a fresh SQLite file of this node's own: the run's store is elsewhere
        raise ClusterError(f"node {socket.gethostname()} cannot see the SQLite trace store {url.database}")
    store = TraceStore(store_url, recover=False)
    try:
        with open(os.devnull, "w") as devnull:
            runner = Runner(store, console=Console(file=devnull), show_progress=False)
            return runner.run_attempt(run_id, index)
    finally:
        store.close()


# --- on the driver --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One attempt to run: its run, task, budget and index."""

    run_id: str
    task_id: str
    budget: Budget
    index: int

    @property
    def key(self) -> tuple[str, int]:
        """Its progress bar's key."""
        return (self.run_id, self.index)


class RayExecution:
    """Runs attempts of recorded runs as Ray tasks and reports them as the local executor does."""

    def __init__(
        self,
        store: TraceStore,
        *,
        address: str | None,
        console: Console,
        progress: RunProgress | None,
    ) -> None:
        self.store = store
        self.recorder = Recorder(store)
        self.address = address
        self.console = console
        self.progress = progress
        self._ray: ModuleType | None = None
        self._episode_of: dict[tuple[str, int], str] = {}

    def run(self, items: Sequence[Item], *, parallel: int) -> tuple[dict[str, list[AttemptResult]], bool]:
        """Run ``items``, at most ``parallel`` at a time.

        Returns:
            The attempts that ended, per run, and whether Ctrl-C cut the execution short.

        Raises:
            BackendUnavailableError: a node cannot run the sandbox backend (no attempt of it can start).
            ClusterError: the cluster cannot run the attempts (a node lacks the task folder or the store).
        """
        ray = connect(self.address)
        self._ray = ray
        for budget in {item.budget.model_dump_json(): item.budget for item in items}.values():
            check_cluster(ray, self.store.url, budget)
        # a fresh worker process per attempt: an agent thread abandoned past its budget dies with it
        remote = ray.remote(max_calls=1)(_attempt_on_node)
        waiting = list(items)
        in_flight: dict[Any, Item] = {}
        results: dict[str, list[AttemptResult]] = {item.run_id: [] for item in items}
        try:
            while waiting or in_flight:
                while waiting and len(in_flight) < parallel:
                    item = waiting.pop(0)
                    ref = remote.options(
                        **task_resources(item.budget),
                        max_retries=0,  # a lost worker leaves its attempt interrupted, for `rgym resume`
                        retry_exceptions=False,
                        name=f"rgym {item.task_id} #{item.index}",
                    ).remote(self._store_url(), item.run_id, item.index)
                    in_flight[ref] = item
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_S)
                for ref in done:
                    item = in_flight.pop(ref)
                    results[item.run_id].append(self._collect(ref, item, list(in_flight.items())))
                self._show_progress([*in_flight.values()])
        except KeyboardInterrupt:
            self.console.print("[yellow]interrupted: cancelling the Ray tasks, releasing sandboxes...[/]")
            for item, result in self._cancel(in_flight):
                results[item.run_id].append(result)
            return results, True
        return results, False

    def _store_url(self) -> str:
        return self.store.url.render_as_string(hide_password=False)

    def _collect(self, ref: Any, item: Item, others: list[tuple[Any, Item]]) -> AttemptResult:
        """The result of a finished task; a lost worker makes the attempt interrupted."""
        ray = self._require()
        try:
            result: AttemptResult = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            if isinstance(cause, (BackendUnavailableError, RgymError)):
                self._stop_all(others)
                if isinstance(cause, BackendUnavailableError):
                    raise BackendUnavailableError(
                        f"{cause.message} (on a node of the Ray cluster)", hint=cause.hint
                    ) from None
                raise ClusterError(
                    f"a node of the Ray cluster cannot run {item.task_id} #{item.index}: {cause}",
                    hint="every node needs rgym, the task folder at the same path, and the store (README)",
                ) from None
            raise
        except (ray.exceptions.RayError, ray.exceptions.TaskCancelledError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return self._lost(item, f"the Ray worker running it was lost: {type(exc).__name__}: {reason}")
        self._finish_bar(item, result)
        return result

    def _lost(self, item: Item, reason: str) -> AttemptResult:
        """Record the attempt's running episode ``interrupted`` (its worker cannot any more)."""
        episode_id = self.recorder.interrupt_lost_attempt(item.run_id, item.index, reason)
        self.console.print(
            f"[yellow]{item.task_id} attempt {item.index}: {reason}; recorded interrupted (rgym resume runs it)[/]",
            soft_wrap=True,
        )
        result = AttemptResult(item.index, episode_id, EpisodeStatus.INTERRUPTED, None, reason)
        self._finish_bar(item, result)
        return result

    def _cancel(self, in_flight: dict[Any, Item]) -> list[tuple[Item, AttemptResult]]:
        """Cancel the tasks in flight, wait (bounded) until they recorded themselves, kill what is left."""
        ray = self._require()
        for ref in in_flight:
            ray.cancel(ref, force=False, recursive=True)  # KeyboardInterrupt inside the task
        out: list[tuple[Item, AttemptResult]] = []
        deadline = time.monotonic() + CANCEL_GRACE_S
        pending = dict(in_flight)
        # Wait for the tasks themselves, not only for their episodes: a task may still be stopping a sandbox
        # it created before its episode began, and Ray kills a driver's workers when the driver exits.
        self._wait_out(pending, out, deadline)
        for ref in pending:
            ray.cancel(ref, force=True)  # it did not stop in time: kill its worker
        self._wait_out(pending, out, time.monotonic() + KILL_GRACE_S)
        for item in pending.values():
            out.append((item, self._interrupted(item)))
        return out

    def _wait_out(
        self, pending: dict[Any, Item], out: list[tuple[Item, AttemptResult]], deadline: float
    ) -> None:
        """Move the tasks of ``pending`` that end before ``deadline`` to ``out``."""
        ray = self._require()
        while pending and time.monotonic() < deadline:
            done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=POLL_S)
            for ref in done:
                item = pending.pop(ref)
                out.append((item, self._cancelled(ref, item)))

    def _cancelled(self, ref: Any, item: Item) -> AttemptResult:
        """The result of a task that ended after Ctrl-C: its own when it finished, else interrupted."""
        ray = self._require()
        try:
            result: AttemptResult = ray.get(ref, timeout=0)
        except Exception:
            return self._interrupted(item)
        self._finish_bar(item, result)
        return result

    def _interrupted(self, item: Item) -> AttemptResult:
        running = [
            e
            for e in self.store.list_episodes(item.run_id)
            if e.index == item.index and e.status == EpisodeStatus.RUNNING
        ]
        if running:
            return self._lost(item, "cancelled by Ctrl-C")
        episodes = [e for e in self.store.list_episodes(item.run_id) if e.index == item.index]
        latest = max(episodes, key=lambda e: e.started_at) if episodes else None
        return AttemptResult(item.index, latest.id if latest else None, EpisodeStatus.INTERRUPTED, None)

    def _stop_all(self, in_flight: list[tuple[Any, Item]]) -> None:
        """Stop every other attempt: a node cannot run the run's attempts at all."""
        self._cancel(dict(in_flight))

    # --- progress -----------------------------------------------------------------------------------

    def _show_progress(self, items: Sequence[Item]) -> None:
        """Advance the bars of the attempts in flight from what their episodes recorded so far."""
        if self.progress is None or not items:
            return
        by_run: dict[str, set[int]] = {}
        for item in items:
            by_run.setdefault(item.run_id, set()).add(item.index)
        now = datetime.now(UTC)
        for run_id, indices in by_run.items():
            for episode in self.store.list_episodes(run_id):
                if episode.index not in indices or episode.status != EpisodeStatus.RUNNING:
                    continue
                key = (run_id, episode.index)
                if self._episode_of.get(key) != episode.id:
                    if key in self._episode_of:
                        self.progress.retrying(key, 1, "environment failure")
                    self._episode_of[key] = episode.id
                    self.progress.started(key)
                started = (
                    episode.started_at
                    if episode.started_at.tzinfo
                    else episode.started_at.replace(tzinfo=UTC)
                )
                self.progress.update(
                    StepProgress(
                        episode.index,
                        episode.n_steps,
                        max(0.0, (now - started).total_seconds()),
                        episode.best_normalized,
                    ),
                    key,
                )

    def _finish_bar(self, item: Item, result: AttemptResult) -> None:
        if self.progress is None:
            return
        steps, elapsed, best = 0, 0.0, result.final_normalized
        if result.episode_id is not None:
            episode = self.store.get_episode(result.episode_id)
            steps, best = episode.n_steps, episode.best_normalized
            elapsed = episode.wall_time_s or 0.0
        self.progress.started(item.key)
        self.progress.update(
            StepProgress(item.index, steps, elapsed, best, done=True, status=result.status), item.key
        )

    def _require(self) -> ModuleType:
        assert self._ray is not None
        return self._ray


def execute_on_ray(
    runner: Runner,
    active: Sequence[_Plan],
    items: Sequence[tuple[_Plan, int]],
    parallel: int,
    progress: RunProgress,
    results: dict[str, list[AttemptResult]],
) -> bool:
    """The runner's seam: run ``items`` of the ``active`` runs as Ray tasks, adding what ended to ``results``.

    Returns:
        True when Ctrl-C cut the execution short.

    Raises:
        BackendUnavailableError, ClusterError: the cluster cannot run the attempts; the runs are recorded
            interrupted, for ``rgym resume`` once it is fixed.
    """
    execution = RayExecution(
        runner.store,
        address=runner.ray_address or active[0].config.ray_address,
        console=runner.console,
        progress=progress if runner.show_progress else None,
    )
    try:
        with progress if runner.show_progress else contextlib.nullcontext():
            got, interrupted = execution.run(
                [Item(plan.run_id, plan.task.id, plan.budget, index) for plan, index in items],
                parallel=parallel,
            )
    except (BackendUnavailableError, ClusterError):
        for plan in active:
            runner.recorder.finish_run(plan.run_id, RunStatus.INTERRUPTED)
        raise
    for run_id, attempts in got.items():
        results[run_id].extend(attempts)
    return interrupted
