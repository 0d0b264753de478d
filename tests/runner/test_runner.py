"""Runs of k attempts on real sandboxes: parallel attempts, broken agents, interrupt and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gym_core.errors import AgentError, ConfigError
from gym_core.report.store_loader import load_run_data
from gym_core.runner.attempt import AgentHung, call_with_deadline
from gym_core.runner.runner import RunConfig, Runner, parse_assignments
from gym_core.scoring.metrics import compute_metrics
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceStore]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


def _runner(store: TraceStore) -> Runner:
    return Runner(store, console=Console(file=open(os.devnull, "w")), show_progress=False)


@pytest.mark.docker
@pytest.mark.slow
def test_tuner_run_in_parallel_records_every_attempt(docker_client: Any, store: TraceStore) -> None:
    runner = _runner(store)
    run_id = runner.start(
        RunConfig(task="tiny-mean", agent="tuner", runs=3, parallel=2, seed=7, backend="docker")
    )
    results = runner.execute(run_id)
    assert sorted(r.index for r in results) == [0, 1, 2]
    assert all(r.status == "submitted" for r in results)
    run = store.get_run(run_id)
    assert run.status == "completed" and run.seed == 7
    episodes = store.list_episodes(run_id)
    assert sorted(e.seed for e in episodes) == [7, 8, 9]
    for episode in episodes:
        steps = store.list_steps(episode.id)
        assert [s.index for s in steps] == list(range(episode.n_steps))
    data = load_run_data(store, run_id)
    metrics = compute_metrics(data)
    finals = sorted(a.final_normalized for a in data.attempts if a.final_normalized is not None)
    assert metrics.n == 3 and metrics.best_of_k == pytest.approx(max(finals))
    assert metrics.c == sum(1 for f in finals if f >= 0.5)


BROKEN = textwrap.dedent(
    """
    import time
    from rgym_agents.base import BaseAgent

    def deep_helper():
        raise RuntimeError("the agent's own bug")

    class Raises(BaseAgent):
        name = "bug-raiser/2"
        def act(self, observation):
            deep_helper()

    class Hangs(BaseAgent):
        name = "sleeper-agent (hangs)"
        def act(self, observation):
            time.sleep(3600)

    class Garbage(BaseAgent):
        name = "returns-an-object"
        def act(self, observation):
            return object()

    class ReturnsNone(BaseAgent):
        name = "forgot-return"
        def act(self, observation):
            {"tool": "submit"}

    class Tolerated(BaseAgent):
        name = "tolerant-of-42"
        tolerant_actions = True
        def act(self, observation):
            return 42
    """
)

#: Each class's ``name`` in BROKEN: none is its class name, lowercased or not, nor part of its spec.
BROKEN_NAMES = {
    "Raises": "bug-raiser/2",
    "Hangs": "sleeper-agent (hangs)",
    "Garbage": "returns-an-object",
    "ReturnsNone": "forgot-return",
    "Tolerated": "tolerant-of-42",
}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("cls", "status", "failure", "needle"),
    [
        ("Raises", "crashed", "crashed", "agent.act() raised RuntimeError: the agent's own bug"),
        ("Hangs", "truncated", "timed_out", None),
        ("Garbage", "crashed", "crashed", "agent.act() returned <object object at"),
        (
            "ReturnsNone",
            "crashed",
            "crashed",
            "agent.act() returned None, a NoneType (a missing return statement?)",
        ),
        ("Tolerated", "truncated", "no_submission", None),
    ],
)
def test_broken_agent_ends_only_its_attempt(
    docker_client: Any,
    store: TraceStore,
    tmp_path: Path,
    cls: str,
    status: str,
    failure: str,
    needle: str | None,
) -> None:
    from gym_core.runner.attempt import ACT_GRACE_S

    module = tmp_path / "broken_agents.py"
    module.write_text(BROKEN)
    runner = _runner(store)
    budget = {"wall_time_s": 4, "step_limit": 3}
    run_id = runner.start(
        RunConfig(
            task="tiny-mean", agent=f"module:{module}:{cls}", runs=1, seed=0, backend="docker", budget=budget
        )
    )
    results = runner.execute(run_id)
    assert results[0].status == status
    episode = store.list_episodes(run_id)[0]
    assert episode.status == status and episode.failure_kind == failure
    run = store.get_run(run_id)
    assert run.status == "completed"
    assert run.agent == BROKEN_NAMES[cls]  # the class's `name` labels the run, not its spec or class
    if needle is not None:
        assert episode.error is not None and episode.error.startswith(needle)
    steps = store.list_steps(episode.id)
    if cls == "Raises":
        text = episode.error or ""
        own, plumbing = text.index("The agent's frames"), text.index("rgym's frames")
        assert (
            own < plumbing and text.index("deep_helper") < plumbing and "broken_agents.py" in text[:plumbing]
        )
    if cls == "Hangs":
        # It ends when the budget does (plus the grace), as a budget end: recorded, auto-submitted.
        assert [s.flags.get("agent_hung") for s in steps] == [True]
        assert [e.kind for e in store.list_evaluations(episode.id)] == ["auto"]
        wall = episode.usage["wall_s"]
        assert budget["wall_time_s"] <= wall < budget["wall_time_s"] + ACT_GRACE_S + 15
    if cls == "Tolerated":
        assert steps and all(s.flags.get("error") == "malformed_action" for s in steps)
    labelled = docker_client.containers.list(all=True, filters={"label": f"rgym.run={run_id}"})
    assert labelled == []


def test_bad_run_configs_are_clear_errors(store: TraceStore) -> None:
    runner = _runner(store)
    with pytest.raises(ConfigError, match="--runs must be at least 1"):
        runner.start(RunConfig(task="tiny-mean", agent="noop", runs=0))
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        runner.start(RunConfig(task="tiny-mean", agent="noop", ray_address="127.0.0.1:1"))
    with pytest.raises(AgentError, match="unknown agent"):
        runner.start(RunConfig(task="tiny-mean", agent="nope", backend="local"))
    with pytest.raises(ConfigError, match="unknown perturbation"):
        runner.start(RunConfig(task="tiny-mean", agent="noop", backend="local", perturb={"pormpt": "x"}))
    with pytest.raises(ConfigError, match="must look like KEY=VALUE"):
        parse_assignments(["wall_time_s"], "--budget")
    assert store.list_runs() == []


def test_call_with_deadline_reports_hang_and_errors() -> None:
    with pytest.raises(AgentHung):
        call_with_deadline(lambda: time.sleep(5), 0.2, "agent.act()")
    with pytest.raises(AgentError, match="ZeroDivisionError"):
        call_with_deadline(lambda: 1 / 0, 5, "agent.act()")
    assert call_with_deadline(lambda: 42, 5, "agent.act()") == 42


SLOW_AGENT = textwrap.dedent(
    """
    from rgym_agents.base import BaseAgent

    class Slow(BaseAgent):
        name = "slow"
        def act(self, observation):
            if observation["steps_left"] > 1:
                return {"tool": "bash", "command": "sleep 2; echo step"}
            return {"tool": "submit"}
    """
)


def _start_slow_run(
    tmp_path: Path, store_url: str, *, seed: int, step_limit: int
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`rgym run` of the slow agent in a real process (2 attempts on docker); returns it and its env."""
    (tmp_path / "slow_agent.py").write_text(SLOW_AGENT)
    env = {**os.environ, "RGYM_TASKS_PATH": str(FIXTURES), "RGYM_STORE": store_url}
    cmd = [
        sys.executable,
        "-m",
        "gym_core.cli.main",
        "run",
        "tiny-mean",
        "--agent",
        f"module:{tmp_path / 'slow_agent.py'}:Slow",
        "--runs",
        "2",
        "--seed",
        str(seed),
        "--backend",
        "docker",
        "--no-progress",
        "--budget",
        f"step_limit={step_limit}",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, env


def _wait_for_steps(store: TraceStore, count: int) -> None:
    """Poll (bounded) until the run has ``count`` durable steps."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = store.list_runs()
        if runs and sum(store.count_steps(e.id) for e in store.list_episodes(runs[0].id)) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"the run never recorded {count} step(s)")


def _resume(run_id: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "resume", run_id, "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _assert_steps_contiguous(store: TraceStore, run_id: str) -> None:
    for episode in store.list_episodes(run_id):
        indices = [s.index for s in store.list_steps(episode.id)]
        assert indices == list(range(len(indices)))  # nothing lost or duplicated


@pytest.mark.docker
@pytest.mark.slow
def test_sigint_interrupts_then_resume_finishes(docker_client: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    proc, env = _start_slow_run(tmp_path, url, seed=3, step_limit=6)
    store = open_store(url)
    try:
        _wait_for_steps(store, 1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        run_id = store.list_runs()[0].id
        assert "rgym resume" in err
        assert store.get_run(run_id).status == "interrupted"
        assert docker_client.containers.list(all=True, filters={"label": f"rgym.run={run_id}"}) == []
        assert store.pending_attempts(run_id)
        _resume(run_id, env)
        assert store.get_run(run_id).status == "completed"
        assert store.pending_attempts(run_id) == []
        finished = [e for e in store.list_episodes(run_id) if e.status == "submitted"]
        assert sorted(e.index for e in finished) == [0, 1]
        _assert_steps_contiguous(store, run_id)
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()


@pytest.mark.docker
@pytest.mark.slow
def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(
    docker_client: Any, tmp_path: Path, any_store_url: str
) -> None:
    """The issue's "done when": a run killed mid-way is resumed to completion, on SQLite and PostgreSQL."""
    proc, env = _start_slow_run(tmp_path, any_store_url, seed=1, step_limit=5)
    store = open_store(any_store_url)
    try:
        _wait_for_steps(store, 2)
        proc.kill()
        proc.wait(timeout=30)
        run_id = store.list_runs()[0].id
        before = {e.id: [s.index for s in store.list_steps(e.id)] for e in store.list_episodes(run_id)}
        _resume(run_id, env)
        assert store.get_run(run_id).status == "completed"
        episodes = store.list_episodes(run_id)
        assert sorted(e.index for e in episodes if e.status == "submitted") == [0, 1]
        assert any(e.status == "interrupted" for e in episodes)  # the killed attempt, kept as evidence
        _assert_steps_contiguous(store, run_id)
        for episode_id, indices in before.items():  # every step recorded before the kill is still there
            assert [s.index for s in store.list_steps(episode_id)][: len(indices)] == indices
        gc = subprocess.run(
            [sys.executable, "-m", "gym_core.cli.main", "gc"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert gc.returncode == 0, gc.stderr
        assert docker_client.containers.list(all=True, filters={"label": f"rgym.run={run_id}"}) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
