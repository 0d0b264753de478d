"""Warm sandboxes (``rgym run --warm N``, ``ResearchEnv(warm=N)``): started ahead, each for one attempt only,
and none left behind at the run's end, on Ctrl-C, or when the pool closes with starts in flight."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gym_core.env.research_env import ResearchEnv
from gym_core.runner.runner import RunConfig, Runner
from gym_core.sandbox.base import LABEL_RUN, SandboxConfig
from gym_core.sandbox.warm_pool import LABEL_WARM, WarmPool
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RGYM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    return tmp_path / "data"


@pytest.fixture
def store(tmp_path: Path, data_dir: Path) -> Iterator[TraceStore]:
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


def _sandboxes_on_disk() -> list[str]:
    folder = get_settings().sandbox_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_each_warm_sandbox_serves_one_attempt_and_close_stops_the_rest(data_dir: Path) -> None:
    run = f"test-{uuid.uuid4().hex[:8]}"
    pool = WarmPool(2)
    for index in range(4):
        pool.schedule((run, index), "local", lambda: SandboxConfig(labels={LABEL_RUN: run}))
    first = pool.take((run, 0))
    assert first is not None and first.alive
    assert first.config.labels[LABEL_WARM] == "0"
    assert pool.take((run, 0)) is None  # handed out once, never again
    first.exec("touch /workspace/used", timeout_s=20)
    second = pool.take((run, 1))
    assert second is not None and second is not first
    assert second.exec("ls /workspace", timeout_s=20).stdout == ""  # fresh: nothing of the first attempt
    assert pool.take(("another-run", 0)) is None  # never prepared: the attempt starts a cold one
    assert pool.started <= 4
    pool.close()  # attempts 2 and 3 never came: their sandboxes (started or starting) go
    assert pool.take((run, 2)) is None
    first.stop()
    second.stop()
    assert _sandboxes_on_disk() == []


def test_env_with_warm_resets_into_fresh_sandboxes(store: TraceStore) -> None:
    env = ResearchEnv("tiny-mean", backend="local", store=store, warm=1)
    try:
        env.reset(seed=0)
        pool = env._sandboxes.pool
        assert pool is not None
        env.step({"tool": "bash", "command": "touch marker"})
        env.reset(seed=1)  # the sandbox started ahead for this episode
        obs, *_ = env.step({"tool": "bash", "command": "ls marker"})
        assert obs["exit_code"] != 0
        assert pool.started >= 2
    finally:
        env.close()
    assert _sandboxes_on_disk() == []


def test_a_negative_warm_is_a_clear_error(store: TraceStore) -> None:
    from gym_core.errors import ConfigError

    with pytest.raises(ConfigError, match="warm must be at least 0"):
        ResearchEnv("tiny-mean", backend="local", store=store, warm=-1)
    with pytest.raises(ConfigError, match="--warm must be at least 0"):
        RunConfig(task="tiny-mean", agent="noop", warm=-1).validate()


def _runner(store: TraceStore) -> Runner:
    return Runner(store, console=Console(file=open(os.devnull, "w")), show_progress=False)


def _containers(client: Any, run_id: str) -> list[str]:
    return [c.id for c in client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})]


@pytest.mark.docker
@pytest.mark.slow
def test_run_with_warm_sandboxes_leaves_nothing_behind(docker_client: Any, store: TraceStore) -> None:
    runner = _runner(store)
    run_id = runner.start(
        RunConfig(task="tiny-mean", agent="baseline", runs=3, parallel=1, seed=5, backend="docker", warm=2)
    )
    results = runner.execute(run_id)
    assert sorted(r.index for r in results) == [0, 1, 2]
    assert all(r.status == "submitted" for r in results)
    assert _containers(docker_client, run_id) == []
    assert _sandboxes_on_disk() == []


BLOCKING_AGENT = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    from rgym_agents.base import BaseAgent

    class Blocker(BaseAgent):
        name = "blocker"
        def act(self, observation):
            folder = Path(os.environ["WARM_TEST_DIR"])
            (folder / "acting").touch()
            deadline = time.monotonic() + 120
            while not (folder / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            return {"tool": "submit"}
    """
)


@pytest.mark.docker
@pytest.mark.slow
def test_interrupting_a_run_stops_the_warm_sandboxes_not_taken(
    docker_client: Any, store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while attempt 0 runs: the sandboxes started ahead for attempts 1 and 2 are never taken."""
    import threading
    import time

    agent = tmp_path / "blocking_agent.py"
    agent.write_text(BLOCKING_AGENT)
    monkeypatch.setenv("WARM_TEST_DIR", str(tmp_path))
    runner = _runner(store)
    run_id = runner.start(
        RunConfig(
            task="tiny-mean",
            agent=f"module:{agent}:Blocker",
            runs=4,
            parallel=1,
            backend="docker",
            warm=2,
            agent_isolation="thread",  # the agent signals through the host's tmp_path
        )
    )
    raised: list[BaseException] = []

    def execute() -> None:
        try:
            runner.execute(run_id)
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()
    deadline = time.monotonic() + 180
    while not (tmp_path / "acting").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # polling a file the agent writes, bounded: not a sleep as synchronisation
    assert (tmp_path / "acting").exists()
    assert runner._warm_pool is not None
    runner._stop.set()  # what Ctrl-C does in execute_runs
    (tmp_path / "go").touch()
    worker.join(300)
    assert raised and isinstance(raised[0], KeyboardInterrupt)
    assert _containers(docker_client, run_id) == []
    assert _sandboxes_on_disk() == []
