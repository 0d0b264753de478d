"""Chaos on real Docker: the environment fails under a known-good agent, which must keep pass^k = 1.0.

A container killed from outside mid-episode, exec and grader-start failures injected with ``RGYM_FAULTS``
(see gym_core/faults.py), and a SQLite store locked by another connection while a run writes: for good (the run
stops with a clear error), or briefly (the run waits it out: nothing retried, nothing excluded). The agent
writes the right answer to tiny-mean (normalized score 1.0) and submits; at its second step it lets the
test's fault in, on its first try only (a marker file), so the fault lands mid-episode without a sleep.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import textwrap
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gym_core import faults
from gym_core.errors import StoreError
from gym_core.outcomes import ErrorKind, Origin
from gym_core.report import render_report
from gym_core.report.store_loader import load_run_data, load_run_rows
from gym_core.runner.runner import RunConfig, Runner
from gym_core.scoring.metrics import compute_metrics
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store
from gym_core.store.engine import BUSY_TIMEOUT_S

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"

AGENT = textwrap.dedent(
    """
    import os
    import subprocess
    import sys

    import docker

    from rgym_agents.base import BaseAgent

    LOCKER = (
        "import sqlite3, sys, time\\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\\n"
        "db.execute('BEGIN IMMEDIATE')\\n"
        "print('locked', flush=True)\\n"
        "time.sleep(3600)\\n"
    )


    def chaos():
        what = os.environ["CHAOS"]
        if what == "docker-kill":
            client = docker.from_env()
            try:
                labels = [f"rgym.run={os.environ['CHAOS_RUN']}", "rgym.role=agent"]
                (container,) = client.containers.list(filters={"label": labels})
                container.kill()
            finally:
                client.close()
        elif what == "lock-store":
            # another process takes the store's write lock and keeps it until the test kills it
            locker = subprocess.Popen(
                [sys.executable, "-c", LOCKER, os.environ["CHAOS_DB"]], stdout=subprocess.PIPE, text=True
            )
            assert locker.stdout is not None and locker.stdout.readline() == "locked\\n"
            with open(os.environ["CHAOS_LOCKER"], "w") as fh:
                fh.write(str(locker.pid))
        elif what == "lock-briefly":
            import rgym_chaos_hooks  # the test's own (agent isolation "thread"): it takes the lock

            rgym_chaos_hooks.take_lock()


    class Chaos(BaseAgent):
        name = "chaos"

        def reset(self, task, *, seed=None):
            super().reset(task, seed=seed)
            self.steps = 0

        def act(self, observation):
            self.steps += 1
            if self.steps == 1:
                return {"tool": "bash", "command": "echo 10.0 > answer.txt"}
            if self.steps == 2:
                try:
                    fd = os.open(os.environ["CHAOS_MARK"], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    pass
                else:
                    os.close(fd)
                    chaos()
                return {"tool": "bash", "command": "cat answer.txt"}
            return {"tool": "submit"}
    """
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceStore]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    monkeypatch.setenv("CHAOS_MARK", str(tmp_path / "chaos-done"))
    monkeypatch.setenv("CHAOS_DB", str(tmp_path / "traces.db"))
    monkeypatch.setenv("CHAOS_LOCKER", str(tmp_path / "locker.pid"))
    monkeypatch.setenv("CHAOS", "none")
    monkeypatch.delenv("RGYM_FAULTS", raising=False)
    get_settings.cache_clear()
    faults.reset()
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()
    faults.reset()
    get_settings.cache_clear()


def _agent(tmp_path: Path) -> str:
    module = tmp_path / "chaos_agent.py"
    module.write_text(AGENT)
    return f"module:{module}:Chaos"


def _run(store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> str:
    runner = Runner(store, console=Console(quiet=True), show_progress=False)
    # thread: the chaos agent is the test's own trusted harness, reaching the engine and the store on purpose
    config = RunConfig(
        task="tiny-mean", agent=_agent(tmp_path), seed=0, backend="docker", agent_isolation="thread", **kw
    )
    run_id = runner.start(config)
    monkeypatch.setenv("CHAOS_RUN", run_id)
    runner.execute(run_id)
    return run_id


def _no_containers_left(docker_client: Any, run_id: str) -> None:
    assert docker_client.containers.list(all=True, filters={"label": f"rgym.run={run_id}"}) == []


@pytest.mark.docker
@pytest.mark.slow
def test_a_container_killed_from_outside_is_retried_and_excluded(
    docker_client: Any, store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS", "docker-kill")
    run_id = _run(store, tmp_path, monkeypatch, runs=1)
    assert store.get_run(run_id).status == "completed"
    first, retry = sorted(store.list_episodes(run_id), key=lambda e: e.started_at)
    assert (first.index, retry.index) == (0, 0)
    assert first.status == "crashed" and first.origin == Origin.ENVIRONMENT
    assert first.error_kind == ErrorKind.SANDBOX_LOST and "stopped from outside" in (first.error or "")
    assert retry.status == "submitted" and retry.origin == Origin.AGENT
    assert retry.final_normalized == pytest.approx(1.0)
    metrics = compute_metrics(load_run_data(store, run_id))
    assert metrics.n == 1 and metrics.pass_hat_k == 1.0
    h = metrics.harness
    assert (h.tries, h.environment_failures, h.retries, h.excluded) == (2, 1, 1, 0)
    assert h.by_kind == {ErrorKind.SANDBOX_LOST.value: 1}
    _no_containers_left(docker_client, run_id)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("docker-kill", ErrorKind.SANDBOX_LOST),
        ("exec_refused", ErrorKind.ENGINE_ERROR),
        ("grader_start", ErrorKind.GRADER_SANDBOX),
    ],
)
def test_without_retries_each_fault_is_an_environment_failure_excluded_and_flagged(
    docker_client: Any,
    store: TraceStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    kind: ErrorKind,
) -> None:
    """``--retries 0``: the attempt the fault ended stands as the environment's, excluded from n (so from
    pass@k and pass^k), flagged in the report and in ``rgym runs``; never counted as the agent's failure."""
    if fault == "docker-kill":
        monkeypatch.setenv("CHAOS", "docker-kill")
    else:
        monkeypatch.setenv("RGYM_FAULTS", f"{fault}=1")
        get_settings.cache_clear()
    run_id = _run(store, tmp_path, monkeypatch, runs=1, retries=0)
    assert store.get_run(run_id).status == "completed"
    (episode,) = store.list_episodes(run_id)
    assert episode.status == "crashed" and episode.origin == Origin.ENVIRONMENT and episode.error_kind == kind
    data = load_run_data(store, run_id)
    metrics = compute_metrics(data)
    assert metrics.n == 0 and metrics.n_excluded == 1  # not counted as the agent's failure
    assert sum(metrics.failure_kinds.values()) == 0  # the agent's failures: none
    h = metrics.harness
    assert (h.tries, h.environment_failures, h.retries, h.excluded) == (1, 1, 0, 1)
    assert h.by_kind == {kind.value: 1}
    for fmt in ("table", "md", "html"):
        assert "1 attempt(s) excluded" in " ".join(render_report([data], fmt).split())
    assert json.loads(render_report([data], "json"))["runs"][0]["counts"]["n_excluded"] == 1
    (row,) = load_run_rows(store, [store.get_run(run_id)])
    assert (row.health, row.status_text) == ("bad", "completed (all 1 excluded)")
    _no_containers_left(docker_client, run_id)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(("fault", "tries"), [("exec_refused", 1), ("grader_start", 1), ("exec_refused", 3)])
def test_injected_faults_are_the_environments(
    docker_client: Any,
    store: TraceStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    tries: int,
) -> None:
    """Each fault fails its first ``tries`` uses; with 2 retries, 1 failure is retried and 3 are excluded."""
    monkeypatch.setenv("RGYM_FAULTS", f"{fault}={tries}")
    get_settings.cache_clear()
    run_id = _run(store, tmp_path, monkeypatch, runs=1, retries=2)
    assert store.get_run(run_id).status == "completed"
    episodes = sorted(store.list_episodes(run_id), key=lambda e: e.started_at)
    kind = ErrorKind.ENGINE_ERROR if fault == "exec_refused" else ErrorKind.GRADER_SANDBOX
    failed = episodes[:tries]
    assert all(e.origin == Origin.ENVIRONMENT and e.error_kind == kind for e in failed)
    assert all("fault injected by RGYM_FAULTS" in (e.error or "") for e in failed)
    metrics = compute_metrics(load_run_data(store, run_id))
    if tries == 1:
        (retry,) = episodes[1:]
        assert retry.status == "submitted" and retry.final_normalized == pytest.approx(1.0)
        assert metrics.n == 1 and metrics.pass_hat_k == 1.0 and metrics.harness.excluded == 0
    else:
        assert len(episodes) == 3  # the first try and 2 retries, then it stands
        assert metrics.n == 0 and metrics.harness.excluded == 1
    assert metrics.harness.environment_failures == tries
    _no_containers_left(docker_client, run_id)


@pytest.mark.docker
@pytest.mark.slow
def test_a_locked_store_is_a_clear_error_and_loses_nothing(
    docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the SQLite write lock from the agent's second step on: the run stops with a
    clear error; what was recorded stays, and once the lock is gone the run resumes and completes."""
    from gym_core.store import engine, trace_store

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 1.0)  # wait 1 s for the lock, not 30
    monkeypatch.setattr(trace_store, "BUSY_TIMEOUT_S", 1.0)
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    monkeypatch.setenv("CHAOS_MARK", str(tmp_path / "chaos-done"))
    monkeypatch.setenv("CHAOS_DB", str(tmp_path / "locked.db"))
    monkeypatch.setenv("CHAOS_LOCKER", str(tmp_path / "locker.pid"))
    monkeypatch.setenv("CHAOS", "lock-store")
    get_settings.cache_clear()
    store = open_store(f"sqlite:///{tmp_path / 'locked.db'}")
    locker_pid: int | None = None
    try:
        with pytest.raises(StoreError) as info:
            _run(store, tmp_path, monkeypatch, runs=1)
        locker_pid = int((tmp_path / "locker.pid").read_text())
        message = str(info.value)
        assert "\n" not in message and "locked.db" in message and "database is locked" in message
    finally:
        if locker_pid is None and (tmp_path / "locker.pid").exists():
            locker_pid = int((tmp_path / "locker.pid").read_text())
        if locker_pid is not None:
            os.kill(locker_pid, 9)
    (run,) = store.list_runs()
    (first,) = store.list_episodes(run.id)
    steps = store.list_steps(first.id)
    assert [s.index for s in steps] == [0] and steps[0].action["command"] == "echo 10.0 > answer.txt"
    _no_containers_left(docker_client, run.id)
    runner = Runner(store, console=Console(quiet=True), show_progress=False)
    runner.execute(run.id)  # resume: the lock is gone
    assert store.get_run(run.id).status == "completed"
    assert [s.index for s in store.list_steps(first.id)] == [0]  # nothing recorded was lost
    metrics = compute_metrics(load_run_data(store, run.id))
    assert metrics.n == 1 and metrics.pass_hat_k == 1.0
    store.close()


class BriefLock:
    """Another connection takes the store's write lock (a write transaction) when the agent asks, at its second
    step, and gives it back from its own thread as soon as one of the run's writes waits for it.

    No sleep orders anything: the run's connections trace their statements, and the first ``BEGIN IMMEDIATE``
    (a write) that starts while the lock is held sets ``writer_waits``, which the locker's thread waits for
    before it commits. The wait is bounded by half the store's busy timeout, so the lock is always shorter
    than what the store waits out.
    """

    def __init__(self, db: Path) -> None:
        self.db = db
        self.held = threading.Event()
        self.writer_waits = threading.Event()
        self.released = threading.Event()
        self.thread: threading.Thread | None = None

    def take(self) -> None:
        """Take the lock (from the agent's step); returns once it is held."""
        self.thread = threading.Thread(target=self._hold, daemon=True, name="brief-lock")
        self.thread.start()
        assert self.held.wait(BUSY_TIMEOUT_S), "the locker could not take the store's write lock"

    def _hold(self) -> None:
        db = sqlite3.connect(self.db, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("BEGIN IMMEDIATE")
            self.held.set()
            self.writer_waits.wait(BUSY_TIMEOUT_S / 2)
            db.execute("COMMIT")
        finally:
            db.close()
            self.released.set()

    def trace(self, statement: str) -> None:
        """The run's connections' trace callback: called as each statement starts."""
        if statement == "BEGIN IMMEDIATE" and self.held.is_set() and not self.released.is_set():
            self.writer_waits.set()


@pytest.mark.docker
@pytest.mark.slow
def test_a_briefly_locked_store_is_waited_out_without_a_retry(
    docker_client: Any, store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock lasts less than the store's busy timeout: the write that met it waits, the attempt is recorded
    whole, and nothing is retried, excluded or blamed on anyone."""
    from sqlalchemy import event

    lock = BriefLock(tmp_path / "traces.db")
    hooks = types.ModuleType("rgym_chaos_hooks")
    hooks.take_lock = lock.take  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rgym_chaos_hooks", hooks)

    def trace_writes(conn: Any) -> None:
        conn.connection.driver_connection.set_trace_callback(lock.trace)

    engine = store._engine
    event.listen(engine, "begin", trace_writes, insert=True)
    monkeypatch.setenv("CHAOS", "lock-briefly")
    try:
        run_id = _run(store, tmp_path, monkeypatch, runs=1, retries=2)
    finally:
        event.remove(engine, "begin", trace_writes)
    assert lock.thread is not None
    lock.thread.join(BUSY_TIMEOUT_S)
    assert lock.writer_waits.is_set() and lock.released.is_set()  # a write of the run met the lock
    assert store.get_run(run_id).status == "completed"
    (episode,) = store.list_episodes(run_id)  # no retry
    assert episode.status == "submitted" and episode.origin == Origin.AGENT and episode.error_kind is None
    assert episode.final_normalized == pytest.approx(1.0)
    steps = store.list_steps(episode.id)
    assert [s.action.get("tool") for s in steps] == ["bash", "bash", "submit"]  # all recorded, in order
    metrics = compute_metrics(load_run_data(store, run_id))
    assert metrics.n == 1 and metrics.pass_hat_k == 1.0
    h = metrics.harness
    assert (h.tries, h.environment_failures, h.retries, h.excluded) == (1, 0, 0, 0)
    _no_containers_left(docker_client, run_id)
