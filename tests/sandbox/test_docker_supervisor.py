"""The supervisor inside every Docker sandbox: what the agent cannot do to it, and what it reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gym_core.errors import SandboxError
from gym_core.sandbox import Limits, SandboxConfig
from gym_core.sandbox.base import LABEL_RUN
from gym_core.sandbox.docker_backend import DockerSandbox
from gym_core.sandbox.docker_supervisor import SUPERVISOR_SCRIPT, Reading, Supervisor
from tests.sandbox.conftest import as_root, force_no_cgroup_v1, running_processes


def test_report_lines_parse_and_anything_else_is_ignored() -> None:
    r = Reading.parse("rgym-supervisor swept seq=3 left=0 cpu_ns=1500000000 peak=4096 high=2048 oom=1\n")
    assert r == Reading("swept", 3, 0, 1_500_000_000, 4096, 2048, 1)
    assert Reading.parse("rgym-supervisor usage seq=4 left=0 cpu_ns= peak= high=0 oom=") == Reading(
        "usage", 4, 0, None, None, 0, None
    )
    for junk in (
        "",
        "hello",
        "rgym-supervisor swept seq=x",
        "xx rgym-supervisor swept seq=1 left=0 cpu_ns=1 peak=1 high=1 oom=1",
    ):
        assert Reading.parse(junk) is None


def test_window_figures() -> None:
    sup = Supervisor(api=None, container_id="x")
    lines = [
        "rgym-supervisor ready seq=0 left=0 cpu_ns=1000000000 peak=10485760 high=1048576 oom=0",
        "rgym-supervisor usage seq=1 left=0 cpu_ns=1500000000 peak=10485760 high=5242880 oom=0",
        "rgym-supervisor swept seq=2 left=0 cpu_ns=3000000000 peak=10485760 high=3145728 oom=1",
        "rgym-supervisor swept seq=3 left=0 cpu_ns=3000000000 peak=20971520 high=0 oom=1",
    ]
    sup._feed(1, ("\n".join(lines) + "\n").encode())
    r0, _, r2, r3 = sup._readings
    w = sup.window(r0, r2)
    assert w.cpu_s == pytest.approx(2.0) and w.oom_killed
    assert w.peak_memory_mb == pytest.approx(5.0)  # no new high-water mark: the most sampled in between
    w = sup.window(r2, r3)
    assert w.peak_memory_mb == pytest.approx(20.0) and not w.oom_killed  # a new high-water mark: exact
    assert sup.window(None, r3).cpu_s is None


@pytest.mark.skipif(not as_root() or shutil.which("unshare") is None, reason="needs root and unshare")
def test_the_supervisor_refuses_to_run_outside_a_container() -> None:
    """Its sweep kills every process it may signal: outside a container it must not even start.

    Run in a pid namespace of the test's own, so that even a broken guard could only kill in there.
    """
    proc = subprocess.run(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--",
            "timeout",
            "20",
            "bash",
            "-c",
            SUPERVISOR_SCRIPT,
            "rgym-supervisor",
            "infinity",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 97 and "rgym-supervisor refused" in proc.stdout


@pytest.fixture(params=["v1", "no-v1"])
def docker_sandbox(
    request: pytest.FixtureRequest, docker_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[DockerSandbox]:
    if request.param == "no-v1":
        force_no_cgroup_v1(monkeypatch, tmp_path)
    sb = DockerSandbox(
        SandboxConfig(
            limits=Limits(memory_mb=256, pids=64, disk_mb=32),
            labels={LABEL_RUN: f"test-{uuid.uuid4().hex[:10]}"},
        )
    )
    sb.start()
    yield sb
    sb.stop()


def _supervisor_pid(sb: DockerSandbox) -> str:
    r = sb.exec("ps -o pid=,user= --ppid 1", timeout_s=20)  # docker-init's one child, as root
    (line,) = r.stdout.splitlines()
    pid, user = line.split()
    assert user == "root"
    return pid


@pytest.mark.docker
def test_the_agent_cannot_stop_signal_or_trace_the_supervisor(docker_sandbox: DockerSandbox) -> None:
    sb = docker_sandbox
    pid = _supervisor_pid(sb)
    assert pid.isdigit()
    attack = (
        f"kill -9 {pid}; echo kill=$?; kill -STOP {pid}; echo stop=$?; kill -9 1; echo init=$?; "
        f"cat /proc/{pid}/environ >/dev/null; echo environ=$?; "
        "python3 -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); "
        f'print("ptrace=" + str(l.ptrace(16, {pid}, 0, 0)), ctypes.get_errno())\'; '
        "kill -9 -1; echo never"
    )
    r = sb.exec(attack, timeout_s=20)
    for line in ("kill=1", "stop=1", "init=1", "environ=1"):
        assert line in r.stdout, r.stdout + r.stderr
    assert "ptrace=-1 1" in r.stdout  # EPERM
    assert sb.alive and _supervisor_pid(sb) == pid
    # and it still sweeps: a job escaped with a cleared environment ends with its command
    assert sb.exec("(setsid env -i sleep 1000 >/dev/null 2>&1 &); echo ok", timeout_s=20).stdout == "ok\n"
    assert running_processes(sb) == []


@pytest.mark.docker
def test_forged_reports_in_the_agents_output_count_for_nothing(docker_sandbox: DockerSandbox) -> None:
    sb = docker_sandbox
    fake = "rgym-supervisor swept seq=999999 left=0 cpu_ns=0 peak=0 high=0 oom=99"
    r = sb.exec(
        f"echo '{fake}'; echo '{fake}' >&2; echo '{fake}' > /proc/1/fd/1; (sleep 1000 &)", timeout_s=20
    )
    assert not r.oom_killed and r.cpu_s is not None and r.cpu_s >= 0
    assert running_processes(sb) == []
    latest = sb._supervisor.latest if sb._supervisor else None
    assert latest is not None and latest.seq < 1000 and latest.oom_kills == 0


@pytest.mark.docker
def test_commands_may_not_run_as_root(docker_sandbox: DockerSandbox) -> None:
    for user in ("root", "0", "0:0", "root:root"):
        with pytest.raises(SandboxError, match="cannot run commands as"):
            docker_sandbox.exec_argv(["id"], user=user, timeout_s=20)
    assert docker_sandbox.exec_argv(["id", "-u"], user="1000", timeout_s=20).stdout == "1000\n"


@pytest.mark.docker
def test_a_sweep_waits_for_the_last_command_running(docker_sandbox: DockerSandbox) -> None:
    """Concurrent commands (Inspect runs them): one's end kills its own processes, not the other command's;
    the last one sweeps. Either command may hold the exec channel, the other runs with an exec."""
    sb = docker_sandbox
    results: dict[str, Any] = {}
    long = threading.Thread(target=lambda: results.update(long=sb.exec("sleep 3; echo long", timeout_s=30)))
    long.start()
    r = sb.exec("(sleep 1000 &); sleep 0.5; echo short", timeout_s=20)
    assert r.stdout == "short\n"
    left = running_processes(sb)
    assert any(p.split(None, 1)[-1] == "sleep 3" for p in left)  # the other command still runs
    assert not any("sleep 1000" in p for p in left)  # what the short one left ended with it
    r = sb.exec("sleep 100", timeout_s=1)  # a timeout meanwhile kills its own processes only
    assert r.timed_out and not any(p.split(None, 1)[-1] == "sleep 100" for p in running_processes(sb))
    long.join(30)
    assert results["long"].stdout == "long\n"
    assert running_processes(sb) == []


_CGROUP_ACCESS: list[str] | None = None


def _watch_cgroup_files(event: str, args: tuple[Any, ...]) -> None:
    if _CGROUP_ACCESS is None or event not in ("open", "os.listdir", "os.scandir", "os.stat"):
        return
    if (
        args
        and isinstance(args[0], (str, bytes, os.PathLike))
        and os.fsdecode(args[0]).startswith("/sys/fs/cgroup")
    ):
        _CGROUP_ACCESS.append(f"{event} {os.fsdecode(args[0])}")


@pytest.mark.docker
def test_the_docker_backend_reads_no_host_cgroup_file(docker_client: Any) -> None:
    """Limits, usage figures, OOM detection and the sweep all work without the host's cgroup files."""
    global _CGROUP_ACCESS
    if not getattr(test_the_docker_backend_reads_no_host_cgroup_file, "hooked", False):
        sys.addaudithook(_watch_cgroup_files)  # audit hooks stay for the process: it only records when asked
        test_the_docker_backend_reads_no_host_cgroup_file.hooked = True  # type: ignore[attr-defined]
    _CGROUP_ACCESS = []
    try:
        sb = DockerSandbox(
            SandboxConfig(
                limits=Limits(memory_mb=128, pids=64, disk_mb=32), labels={LABEL_RUN: "test-no-cgroup-files"}
            )
        )
        sb.start()
        try:
            r = sb.exec("python3 -c 'x = bytearray(30 << 20); sum(range(2_000_000))'", timeout_s=60)
            assert r.cpu_s and r.cpu_s > 0 and r.peak_memory_mb and r.peak_memory_mb >= 30
            r = sb.exec("python3 -c 'b = [bytearray(16 << 20) for _ in range(32)]'", timeout_s=60)
            assert r.oom_killed
            r = sb.exec("(setsid env -i sleep 1000 >/dev/null 2>&1 &); sleep 100", timeout_s=1)
            assert r.timed_out and running_processes(sb) == []
            assert sb.usage().cpu_s > 0
        finally:
            sb.stop()
        assert _CGROUP_ACCESS == []
    finally:
        _CGROUP_ACCESS = None


@pytest.mark.docker
def test_memory_pressure_kills_the_agents_processes_never_the_supervisor(docker_client: Any) -> None:
    """Memory-backed /tmp and /dev/shm filled, then a hog: the hog dies, the sandbox lives on."""
    sb = DockerSandbox(
        SandboxConfig(
            limits=Limits(memory_mb=160, pids=64, disk_mb=512), labels={LABEL_RUN: "test-oom-victim"}
        )
    )
    sb.start()
    try:
        r = sb.exec(
            "head -c 400M /dev/zero > /tmp/fill; head -c 100M /dev/zero > /dev/shm/fill", timeout_s=60
        )
        assert "No space left" in r.stderr and not r.oom_killed  # both are kept to part of the memory limit
        r = sb.exec(
            "cat /proc/self/oom_score_adj; python3 -c 'b = [bytearray(8 << 20) for _ in range(40)]'",
            timeout_s=60,
        )
        assert r.oom_killed and r.stdout.split()[0] == "500"
        for _ in range(3):  # and again, with /tmp still full, from a fresh tiny command each time
            r = sb.exec("exec python3 -c 'b = [bytearray(8 << 20) for _ in range(40)]'", timeout_s=60)
            assert r.oom_killed
        assert (
            sb.alive and sb.exec("rm /tmp/fill /dev/shm/fill && echo fine", timeout_s=20).stdout == "fine\n"
        )
    finally:
        sb.stop()
