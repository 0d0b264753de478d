"""The hardening issue's hostile sequences, played by the agent through ``env.step()`` on a real
ResearchEnv (tests/fixtures/tasks/tiny-mean), on both backends and in both cgroup modes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.sandbox.base import LABEL_PID
from gym_core.sandbox.leases import Lease
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store
from tests.sandbox.conftest import as_root, has_cgroup_limits, running_processes

pytestmark = pytest.mark.cgroups
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "tiny-mean"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


@pytest.fixture
def env_of(backend: str, store: TraceStore) -> Iterator[Any]:
    made: list[ResearchEnv] = []

    def make(**kw: Any) -> ResearchEnv:
        env = ResearchEnv(FIXTURE, backend=backend, store=store, **kw)
        made.append(env)
        env.reset(seed=0)
        return env

    yield make
    for env in made:
        env.close()


def bash(env: ResearchEnv, command: str, timeout_s: float | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"tool": "bash", "command": command}
    if timeout_s is not None:
        action["timeout_s"] = timeout_s
    obs: dict[str, Any] = env.step(action)[0]
    return obs


# --- 1. background jobs end with their command; usage figures and OOM kills are real ---------------


def test_an_escaped_loop_does_not_survive_its_step(env_of: Any) -> None:
    env = env_of()
    obs = bash(env, "(setsid env -i sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 &); echo launched")
    assert obs["output"].strip() == "launched"
    assert env._sandbox is not None and running_processes(env._sandbox) == []
    obs = bash(env, "env -i sleep 1000 & sleep 100", timeout_s=1)  # and past a command timeout
    assert "timed out" in obs["output"]
    assert running_processes(env._sandbox) == []
    obs = bash(env, "pgrep -c -x sleep; pgrep -c -x sh; true")  # what the agent itself can see
    assert obs["output"].split() == ["0", "0"]


def test_steps_record_cpu_time_and_peak_memory(env_of: Any, store: TraceStore) -> None:
    env = env_of()
    bash(env, "python3 -c 'x = bytearray(60 << 20); sum(range(5_000_000))'")
    assert env.episode_id is not None
    (step,) = store.list_steps(env.episode_id)
    assert step.usage["cpu_s"] is not None and step.usage["cpu_s"] > 0.05
    assert step.usage["peak_memory_mb"] is not None and step.usage["peak_memory_mb"] >= 60


@pytest.mark.slow
def test_an_oom_kill_is_reported(env_of: Any, store: TraceStore) -> None:
    env = env_of()
    obs = bash(env, "python3 -c 'b = [bytearray(16 << 20) for _ in range(64)]'")  # budget: 256 MB
    assert env._sandbox is not None and env.episode_id is not None
    (step,) = store.list_steps(env.episode_id)
    if has_cgroup_limits(env._sandbox):
        assert "out of memory" in obs["output"] and step.flags["oom_killed"]
    else:  # rlimits only: the allocation fails in the process (documented)
        assert "MemoryError" in obs["output"] and not step.flags["oom_killed"]
    assert bash(env, "echo fine")["output"].strip() == "fine"


# --- 2. the local agent cannot read or change the task, the store or rgym's environment ------------


def test_the_agent_cannot_read_or_poison_the_task_or_the_store(
    backend: str, env_of: Any, store: TraceStore
) -> None:
    if backend != "local":
        pytest.skip("host paths are not even in the container's filesystem")
    env = env_of()
    db = Path(str(store.url.database))
    grade = FIXTURE / "eval" / "grade.py"
    before = grade.read_bytes()
    obs = bash(
        env,
        f"cat {FIXTURE}/eval/private.txt; cat {FIXTURE}/reference/*; ls {FIXTURE}; "
        f"echo 'print(1)' >> {grade}; wc -c < {db}; echo junk > {db}; "
        f"cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c RGYM_DATA_DIR; "
        f"ls {get_settings().data_dir}; echo done",
    )
    out = obs["output"].split("[stderr]")[0]
    assert out.split()[-1] == "done"
    assert "private.txt" not in out and "grade.py" not in out and "traces.db" not in out
    assert out.split()[-2] == "0"  # no process environment of rgym's is readable
    assert out.split()[0] == "0" or len(out.split()) == 2  # the store reads as empty, or is not there
    assert grade.read_bytes() == before
    assert store.list_steps(str(env.episode_id))  # the store was not overwritten


# --- 3. parallel attempts cannot starve each other --------------------------------------------------

_FILL = """
import os, time
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
except OSError:
    pass
open("full", "w").close()
time.sleep(20)
"""


def test_one_attempt_holding_its_pids_does_not_starve_another(backend: str, env_of: Any) -> None:
    if backend != "local":
        pytest.skip("docker's pids limit is per container")
    a, b = env_of(), env_of()
    a.step({"tool": "write_file", "path": "fill.py", "content": _FILL})
    holder = threading.Thread(target=bash, args=(a, "python3 fill.py", 20))
    holder.start()
    try:
        full = a._sandbox.host_workspace / "full"
        deadline = time.monotonic() + 60
        while not full.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert full.exists()
        assert bash(b, "echo 9 > answer.txt && echo ok")["output"].strip() == "ok"
        obs = b.step({"tool": "validate"})[0]
        assert obs["score"] is not None, obs["output"]
    finally:
        holder.join(60)


# --- 5. nothing left behind by a run killed with kill -9 -------------------------------------------

_HOLDER = """
import sys
from gym_core.env.research_env import ResearchEnv
env = ResearchEnv(sys.argv[1], backend=sys.argv[2], store=sys.argv[3])
env.reset(seed=0)
env.step({"tool": "bash", "command": "echo 1 > answer.txt"})
print("ready", flush=True)
sys.stdin.read()
"""


def test_reset_reaps_what_a_killed_process_left(backend: str, env_of: Any, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(FIXTURE), backend, f"sqlite:///{tmp_path / 'dead.db'}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    sandboxes = get_settings().sandbox_dir
    leases = [Lease.load(p) for p in sandboxes.iterdir()]
    (dead,) = [lease for lease in leases if lease is not None and lease.pid == proc.pid]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    env_of()  # a new episode: its reset reaps the dead process's leftovers first
    assert not (sandboxes / f"{dead.backend}-{dead.sandbox_id}").exists()
    if backend == "docker":
        import docker

        client = docker.from_env()
        try:
            assert client.containers.list(all=True, filters={"label": f"{LABEL_PID}={proc.pid}"}) == []
        finally:
            client.close()
    elif as_root():
        from gym_core.sandbox.uids import CLAIMS_DIR, processes_of

        assert dead.uid is not None and processes_of(dead.uid) == []
        assert not (CLAIMS_DIR / str(dead.uid)).exists()
