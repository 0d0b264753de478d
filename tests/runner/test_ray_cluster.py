"""`--executor ray` on a real two-node Ray cluster: attempts to completion, a killed node, `rgym resume`.

The cluster is a head node and a second node started with ``ray start --address`` on this machine, each with
one CPU, a small object store and a temp dir of its own. Each attempt reserves its budget (``cpus=1``), so a
node runs one attempt at a time and two attempts at once must be on different nodes. The store is
PostgreSQL, as on a cluster of several machines.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from gym_core.store import TraceStore, open_store

ray = pytest.importorskip("ray")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"
RAY = str(Path(sys.executable).with_name("ray"))

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow, pytest.mark.longest_first]

SLOW_AGENT = textwrap.dedent(
    """
    from rgym_agents.base import BaseAgent

    class Slow(BaseAgent):
        name = "slow"
        def act(self, observation):
            if observation["steps_left"] > 1:
                return {"tool": "bash", "command": "sleep 1; echo 9.5 > answer.txt"}
            return {"tool": "submit"}
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(what: str, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")


@dataclass
class Cluster:
    address: str
    head_dir: Path
    node_dir: Path
    env: dict[str, str]

    def processes(self, temp_dir: Path | None = None) -> list[psutil.Process]:
        """The processes of this cluster (of one node's temp dir), with every descendant of theirs."""
        dirs = [str(d) for d in ([temp_dir] if temp_dir else [self.head_dir, self.node_dir])]
        roots: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if any(d in cmdline for d in dirs):
                roots[proc.pid] = proc
        found = dict(roots)
        for proc in roots.values():
            try:
                for child in proc.children(recursive=True):
                    found[child.pid] = child
            except psutil.NoSuchProcess:
                continue
        return list(found.values())


def _ray_start(cluster: Cluster, temp_dir: Path, args: list[str]) -> None:
    """`ray start` one node; it returns once the node has registered with the head.

    Ray gives a node 30 s to register, which a loaded machine can miss: the node's leftovers are then
    stopped and it is started once more.
    """
    for tries_left in (1, 0):
        done = subprocess.run(
            [RAY, "start", "--temp-dir", str(temp_dir), *args],
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode == 0:
            return
        _kill(cluster.processes(temp_dir))
        if not tries_left or "timed out during startup" not in done.stderr:
            pytest.fail(f"ray start failed: {done.stdout}{done.stderr}")


def _kill(procs: list[psutil.Process]) -> None:
    """SIGTERM, then SIGKILL what is left after a grace period."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=15)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=15)


def _stop(cluster: Cluster) -> None:
    """Stop this test's cluster only (`ray stop` would stop every Ray cluster of the machine)."""
    _kill(cluster.processes())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A two-node Ray cluster on this machine, stopped (every process of it gone) at the end."""
    # short temp dirs: Ray puts unix sockets under them, and a socket path has at most 107 bytes
    head_dir = Path(tempfile.mkdtemp(prefix="rgh", dir="/tmp"))
    node_dir = Path(tempfile.mkdtemp(prefix="rgn", dir="/tmp"))
    data_dir = tmp_path_factory.mktemp("ray-node-data")
    env = {
        **os.environ,
        "RGYM_DATA_DIR": str(data_dir),  # the workers' sandbox scratch, apart from everyone else's
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_memory_monitor_refresh_ms": "0",  # the machine is shared: never kill workers for its memory use
    }
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    common = ["--num-cpus", "1", "--object-store-memory", str(80 * 1024 * 1024), "--disable-usage-stats"]
    cluster = Cluster(f"127.0.0.1:{port}", head_dir, node_dir, env)
    try:
        _ray_start(
            cluster,
            head_dir,
            [
                "--head",
                "--node-ip-address",
                "127.0.0.1",
                "--port",
                str(port),
                "--include-dashboard",
                "false",
                "--dashboard-agent-listen-port",
                str(_free_port()),
                *common,
            ],
        )
        _ray_start(
            cluster,
            node_dir,
            [
                "--address",
                cluster.address,
                "--node-ip-address",
                "127.0.0.1",
                "--dashboard-agent-listen-port",
                str(_free_port()),
                *common,
            ],
        )
        yield cluster
    finally:
        _stop(cluster)
        try:
            _wait_for("the cluster's processes to end", lambda: not cluster.processes(), 60)
        finally:
            shutil.rmtree(head_dir, ignore_errors=True)
            shutil.rmtree(node_dir, ignore_errors=True)


def _env(cluster: Cluster, store_url: str) -> dict[str, str]:
    return {**cluster.env, "RGYM_TASKS_PATH": str(FIXTURES), "RGYM_STORE": store_url}


def _run_args(cluster: Cluster, agent: str, runs: int, *extra: str) -> list[str]:
    return [
        "run",
        "tiny-mean",
        "--agent",
        agent,
        "--runs",
        str(runs),
        "--parallel",
        "2",
        "--executor",
        "ray",
        "--ray-address",
        cluster.address,
        "--backend",
        "docker",
        "--budget",
        "cpus=1",  # one attempt per node at a time: two at once are on two nodes
        *extra,
    ]


def _labelled(docker_client: Any, run_id: str) -> list[Any]:
    return list(docker_client.containers.list(all=True, filters={"label": f"rgym.run={run_id}"}))


def _assert_steps_complete(store: TraceStore, run_id: str) -> None:
    for episode in store.list_episodes(run_id):
        indices = [s.index for s in store.list_steps(episode.id)]
        assert indices == list(range(episode.n_steps)), episode.id  # nothing lost or duplicated


def test_k_attempts_run_to_completion_on_two_nodes(
    cluster: Cluster, postgres_url: str, docker_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "slow_agent.py").write_text(SLOW_AGENT)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gym_core.cli.main",
            *_run_args(cluster, f"module:{tmp_path / 'slow_agent.py'}:Slow", 4, "--budget", "step_limit=3"),
        ],
        env=_env(cluster, postgres_url),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    with open_store(postgres_url) as store:
        run = store.get_run(run_id)
        assert run.status == "completed"
        episodes = store.list_episodes(run_id)
        assert sorted(e.index for e in episodes) == [0, 1, 2, 3]
        assert all(e.status == "submitted" and e.n_steps == 3 for e in episodes), episodes
        assert len({e.seed for e in episodes}) == 4
        _assert_steps_complete(store, run_id)
        # each node holds one attempt at a time (cpus=1 on one-CPU nodes): overlapping attempts ran on two nodes
        spans = sorted((e.started_at, e.finished_at) for e in episodes)
        assert any(b[0] < a[1] for a, b in itertools.pairwise(spans)), spans
    assert _labelled(docker_client, run_id) == []
    assert "all attempts" in done.stderr  # the progress display ran


def _rgym(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_and_a_killed_node_leave_attempts_interrupted_and_resume_completes_them(
    cluster: Cluster, postgres_url: str, docker_client: Any, tmp_path: Path
) -> None:
    """Ctrl-C cancels the Ray tasks; resumed, a node dies mid-run; resumed again, the run completes."""
    (tmp_path / "slow_agent.py").write_text(SLOW_AGENT)
    env = _env(cluster, postgres_url)
    agent = f"module:{tmp_path / 'slow_agent.py'}:Slow"
    proc = _rgym(env, *_run_args(cluster, agent, 2, "--budget", "step_limit=8"), "--no-progress")
    store = open_store(postgres_url)
    procs = [proc]
    try:

        def both_stepping() -> bool:
            runs = store.list_runs()
            episodes = store.list_episodes(runs[0].id) if runs else []
            return len([e for e in episodes if e.status == "running" and e.n_steps >= 1]) == 2

        # Ctrl-C: every attempt in flight is cancelled, recorded interrupted, its sandbox stopped
        _wait_for("two attempts to record a step", both_stepping, 300)
        run_id = store.list_runs()[0].id
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 130, err
        assert f"rgym resume {run_id}" in err
        assert store.get_run(run_id).status == "interrupted"
        assert sorted((e.index, e.status) for e in store.list_episodes(run_id)) == [
            (0, "interrupted"),
            (1, "interrupted"),
        ]
        assert _labelled(docker_client, run_id) == []
        assert store.pending_attempts(run_id) == [0, 1]

        # resumed on the cluster the run recorded; the second node dies mid-run
        proc = _rgym(env, "resume", run_id, "--no-progress")
        procs.append(proc)
        _wait_for("two resumed attempts to record a step", both_stepping, 300)
        node_procs = cluster.processes(cluster.node_dir)
        node_pids = {p.pid for p in node_procs}
        on_node = [e for e in store.list_episodes(run_id) if e.owner_pid in node_pids]
        assert len(on_node) == 1, (node_pids, store.list_episodes(run_id))
        for p in node_procs:  # the second node dies at once: raylet, its workers, its agents
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 130, err
        assert f"rgym resume {run_id}" in err
        assert store.get_run(run_id).status == "interrupted"
        killed = store.get_episode(on_node[0].id)
        assert killed.status == "interrupted"
        assert store.pending_attempts(run_id) == [killed.index]

        # resumed again, on the head node left: the run completes
        proc = _rgym(env, "resume", run_id, "--no-progress", "--ray-address", cluster.address)
        procs.append(proc)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert store.get_run(run_id).status == "completed"
        assert store.pending_attempts(run_id) == []
        episodes = store.list_episodes(run_id)
        assert sorted(e.index for e in episodes if e.status == "submitted") == [0, 1]
        assert store.get_episode(killed.id).status == "interrupted"  # kept as evidence
        _assert_steps_complete(store, run_id)
        assert _labelled(docker_client, run_id) == []  # the dead worker's sandbox was reaped
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        store.close()
