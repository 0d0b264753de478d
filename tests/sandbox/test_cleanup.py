"""`rgym gc` after a runner is killed with SIGKILL leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from gym_core.sandbox.base import LABEL_RUN
from gym_core.sandbox.cgroups import CgroupV1
from gym_core.sandbox.cleanup import collect_garbage
from gym_core.sandbox.disk import is_mounted
from gym_core.sandbox.leases import Lease
from gym_core.settings import get_settings
from tests.sandbox.conftest import SandboxFactory, docker_containers_labelled

_RUNNER = """
import sys, time
from gym_core.sandbox import Limits, SandboxConfig, create_sandbox
sb = create_sandbox(sys.argv[1], SandboxConfig(limits=Limits(memory_mb=128, pids=32, disk_mb=16),
                                               labels={"rgym.run": sys.argv[2]}))
sb.start()
print("ready", flush=True)
sb.exec("sleep 600", timeout_s=600)
"""


def _start_and_kill_runner(backend: str, run_id: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, backend, run_id],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _leases() -> list[Lease]:
    root = get_settings().sandbox_dir
    found = [Lease.load(p) for p in root.iterdir()] if root.is_dir() else []
    return [lease for lease in found if lease is not None]


@pytest.mark.docker
def test_gc_after_kill_9_leaves_zero_labelled_containers(docker_client: object) -> None:
    run_id = f"test-gc-{uuid.uuid4().hex[:10]}"
    _start_and_kill_runner("docker", run_id)
    assert len(docker_containers_labelled(run_id)) == 1
    report = collect_garbage(only_labels={LABEL_RUN: run_id})
    assert len(report.containers) == 1
    assert docker_containers_labelled(run_id) == []
    assert _leases() == []


def test_gc_after_kill_9_frees_local_mounts_cgroups_and_scratch() -> None:
    run_id = f"test-gc-{uuid.uuid4().hex[:10]}"
    _start_and_kill_runner("local", run_id)
    (lease,) = _leases()
    mounts = [Path(m) for m in lease.mounts]
    report = collect_garbage(only_labels={LABEL_RUN: run_id})  # never touch other tests' containers
    assert report.problems == []
    assert report.scratch_dirs == [str(get_settings().sandbox_dir / f"local-{lease.sandbox_id}")]
    assert _leases() == []
    assert not any(is_mounted(m) for m in mounts)
    if lease.cgroup:
        assert not CgroupV1(lease.cgroup).path("memory").exists()


def test_gc_keeps_sandboxes_of_live_owners(make_sandbox: SandboxFactory, backend: str) -> None:
    sb = make_sandbox()
    run_id = sb.config.labels[LABEL_RUN]
    report = collect_garbage(only_labels={LABEL_RUN: run_id})
    assert report.kept_live >= 1 and report.removed == 0  # its container and its lease
    assert sb.exec("echo still here", timeout_s=20).stdout == "still here\n"


def test_gc_cli_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from gym_core.cli.main import main

    start = time.monotonic()
    assert main(["gc", "--dry-run"]) == 0
    assert time.monotonic() - start < 60
    assert capsys.readouterr().out.strip()


def test_gc_from_another_data_dir_spares_a_live_local_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `rgym gc` with another RGYM_DATA_DIR must not take the idle cgroup of a sandbox still in use."""
    from gym_core.sandbox import Limits, SandboxConfig, create_sandbox

    sb = create_sandbox("local", SandboxConfig(limits=Limits(memory_mb=128, pids=32, disk_mb=16)))
    sb.start()
    try:
        monkeypatch.setenv("RGYM_DATA_DIR", str(tmp_path / "elsewhere"))
        get_settings.cache_clear()
        collect_garbage()
        result = sb.exec("echo still here")
        assert result.ok and result.stdout.strip() == "still here"
    finally:
        sb.stop()


_SLOW_AGENT = """
from rgym_agents.base import BaseAgent

class Slow(BaseAgent):
    name = "slow"
    def act(self, observation):
        if observation["steps_left"] > 1:
            return {"tool": "bash", "command": "sleep 2; echo step"}
        return {"tool": "submit"}
"""


@pytest.mark.docker
@pytest.mark.slow
def test_kill_9_then_resume_leaves_no_container_without_gc(docker_client: object, tmp_path: Path) -> None:
    """`rgym resume` itself reaps the container the killed `rgym run` left (no `rgym gc`)."""
    from gym_core.store import open_store

    (tmp_path / "slow_agent.py").write_text(_SLOW_AGENT)
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
    env = {**os.environ, "RGYM_TASKS_PATH": str(fixtures), "RGYM_STORE": url}
    repo = Path(__file__).resolve().parents[2]
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_core.cli.main",
            "run",
            "tiny-mean",
            "--agent",
            f"module:{tmp_path / 'slow_agent.py'}:Slow",
            "--backend",
            "docker",
            "--no-progress",
            "--no-report",
            "--budget",
            "step_limit=6",
        ],
        env=env,
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = open_store(url)
    try:
        deadline = time.monotonic() + 120
        run_id = None
        while time.monotonic() < deadline:
            assert run.poll() is None, f"rgym run ended early: {run.communicate()[1][-2000:]}"
            runs = store.list_runs()
            if runs and any(store.count_steps(e.id) for e in store.list_episodes(runs[0].id)):
                run_id = runs[0].id
                break
            time.sleep(0.2)
        assert run_id is not None, "the run never recorded a step"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        assert len(docker_containers_labelled(run_id)) == 1  # the killed run's sandbox, still running
        done = subprocess.run(
            [sys.executable, "-m", "gym_core.cli.main", "resume", run_id, "--no-progress"],
            env=env,
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert docker_containers_labelled(run_id) == []
        assert _leases() == []
    finally:
        if run.poll() is None:
            run.kill()
        store.close()
