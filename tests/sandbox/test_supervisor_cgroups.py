"""The Docker sandbox's cgroup readers on cgroup v1 and v2 trees: the same figures, the same readings.

Two pieces read the container's own cgroup: the supervisor (usage reports, sweeps) and the exec channel
(each command's CPU time, memory peak and OOM kills). This machine's engine runs on cgroup v1, and most
hosts are v2 only, so their v2 branches are tested here on fake trees built in ``tmp_path``: the
supervisor's readers (``CGROUP_READERS``) run on a v1 and a v2 tree holding the same figures and must report
the same :class:`Reading` values. As root, the whole supervisor script and the exec channel also run on such
trees, in pid, mount (and ipc) namespaces of the test's own where the tree is bound at /sys/fs/cgroup.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from gym_core.sandbox.docker_supervisor import CGROUP_READERS, SUPERVISOR_SCRIPT, Reading, Supervisor
from gym_core.sandbox.exec_channel import CHANNEL_SCRIPT, ExecChannel, PipeTransport
from tests.sandbox.conftest import as_root

MIB = 1024 * 1024


@dataclass(frozen=True)
class Figures:
    """What the kernel would say about one container's cgroup at one moment."""

    cpu_ns: int
    now: int
    peak: int
    oom_kills: int
    pids: int = 3


@dataclass(frozen=True)
class Kernel:
    """Which files the kernel offers (older kernels lack some)."""

    peak: bool = True
    """v2 ``memory.peak`` (kernel >= 5.19)."""
    oom_kill: bool = True
    """The ``oom_kill`` counter (v1 ``memory.oom_control`` and v2 ``memory.events``, kernel >= 4.13)."""
    memory: bool = True
    """The memory controller is there (v2: enabled for the container's group)."""


def tree(version: int, f: Figures, kernel: Kernel = Kernel()) -> dict[str, str]:
    """The files of a container's cgroup, as seen at /sys/fs/cgroup inside it, holding ``f``."""
    if version == 2:
        files = {
            "cgroup.controllers": "cpuset cpu io memory pids\n" if kernel.memory else "cpuset cpu io pids\n",
            "cgroup.procs": "".join(f"{p}\n" for p in range(1, f.pids + 1)),
            "cpu.stat": (
                f"usage_usec {f.cpu_ns // 1000}\nuser_usec {f.cpu_ns // 3000}\n"
                f"system_usec {f.cpu_ns // 1500}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"
            ),
            "pids.current": f"{f.pids}\n",
            "pids.max": "64\n",
        }
        if kernel.memory:
            files["memory.current"] = f"{f.now}\n"
            files["memory.max"] = f"{256 * MIB}\n"
            files["memory.events"] = (
                f"low 0\nhigh 0\nmax {7 * f.oom_kills + 2}\noom {f.oom_kills + 4}\n"
                + (f"oom_kill {f.oom_kills}\n" if kernel.oom_kill else "")
                + "oom_group_kill 0\n"
            )
            if kernel.peak:
                files["memory.peak"] = f"{f.peak}\n"
        return files
    files = {
        "cpuacct/cpuacct.usage": f"{f.cpu_ns}\n",
        "cpuacct/cpuacct.stat": "user 10\nsystem 5\n",
        "cpu/cpu.cfs_quota_us": "50000\n",
        "pids/pids.current": f"{f.pids}\n",
        "pids/cgroup.procs": "".join(f"{p}\n" for p in range(1, f.pids + 1)),
        # a hybrid host also has a v2 hierarchy, under unified/: still a v1 container
        "unified/cgroup.controllers": "",
        "systemd/cgroup.procs": "1\n",
    }
    if kernel.memory:
        files["memory/memory.usage_in_bytes"] = f"{f.now}\n"
        files["memory/memory.max_usage_in_bytes"] = f"{f.peak}\n"
        files["memory/memory.limit_in_bytes"] = f"{256 * MIB}\n"
        files["memory/memory.oom_control"] = f"oom_kill_disable 0\nunder_oom {int(f.oom_kills > 0)}\n" + (
            f"oom_kill {f.oom_kills}\n" if kernel.oom_kill else ""
        )
    return files


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def shell_writes(root: Path, files: dict[str, str]) -> str:
    """Shell commands that give the tree ``files`` (what the kernel would change between two reads)."""
    return "".join(f"printf %s {shlex.quote(t)} > {shlex.quote(str(root / r))}\n" for r, t in files.items())


#: One command's life: at the start, a peak of 40 MiB in the middle (caught by a sample), an OOM kill.
START = Figures(cpu_ns=1_500_000_000, now=3 * MIB, peak=8 * MIB, oom_kills=0)
MIDDLE = Figures(cpu_ns=2_250_000_000, now=40 * MIB, peak=40 * MIB, oom_kills=0, pids=9)
END = Figures(cpu_ns=3_000_000_000, now=5 * MIB, peak=40 * MIB, oom_kills=1, pids=1)
EXPECTED = [
    Reading("ready", 0, 0, 1_500_000_000, 8 * MIB, 3 * MIB, 0),
    Reading("swept", 1, 0, 3_000_000_000, 40 * MIB, 40 * MIB, 1),
    Reading("usage", 2, 0, 3_000_000_000, 40 * MIB, 5 * MIB, 1),
]


def run_readers(root: Path, version: int, kernel: Kernel = Kernel()) -> list[Reading]:
    """The readers of the shipped script on a fake tree at ``root``, through START, MIDDLE and END."""
    write_tree(root, tree(version, START, kernel))
    script = (
        "set -o posix\n"
        + CGROUP_READERS
        + 'cgroup_files "$1"\nreport ready 0\n'
        + shell_writes(root, tree(version, MIDDLE, kernel))
        + "sample\n"
        + shell_writes(root, tree(version, END, kernel))
        + "report swept 0\nreport usage 0\n"
    )
    proc = subprocess.run(
        ["bash", "-c", script, "rgym-readers", str(root)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    readings = [Reading.parse(line) for line in lines]
    assert None not in readings, lines
    return [r for r in readings if r is not None]


def windows(readings: list[Reading]) -> list[tuple[float | None, float | None, bool]]:
    """The host's figures for the command between each pair of readings."""
    sup = Supervisor(api=None, container_id="fake")
    sup._feed(1, "".join(f"{line_of(r)}\n" for r in readings).encode())
    out = []
    for a, b in itertools.pairwise(readings):
        w = sup.window(a, b)
        out.append((w.cpu_s, w.peak_memory_mb, w.oom_killed))
    return out


def line_of(r: Reading) -> str:
    def s(v: int | None) -> str:
        return "" if v is None else str(v)

    return (
        f"rgym-supervisor {r.kind} seq={r.seq} left={r.left} cpu_ns={s(r.cpu_ns)} peak={s(r.peak_bytes)} "
        f"high={s(r.high_bytes)} oom={s(r.oom_kills)}"
    )


def test_v1_and_v2_trees_give_the_same_readings(tmp_path: Path) -> None:
    v1 = run_readers(tmp_path / "v1", 1)
    v2 = run_readers(tmp_path / "v2", 2)
    assert v1 == EXPECTED
    assert v2 == EXPECTED  # usage_usec in ns, memory.peak, oom_kill (not oom, nor oom_group_kill)
    assert windows(v1) == windows(v2) == [(1.5, 40.0, True), (0.0, 5.0, False)]


def test_v2_without_memory_peak_falls_back_to_the_samples(tmp_path: Path) -> None:
    """Kernels before 5.19 have no memory.peak: the peak is empty, and the window takes the most sampled."""
    v2 = run_readers(tmp_path / "v2", 2, Kernel(peak=False))
    assert v2 == [replace(r, peak_bytes=None) for r in EXPECTED]
    v1 = run_readers(tmp_path / "v1", 1)
    assert windows(v2) == windows(v1) == [(1.5, 40.0, True), (0.0, 5.0, False)]


@pytest.mark.parametrize(
    "kernel",
    [Kernel(oom_kill=False), Kernel(memory=False)],
    ids=["no-oom_kill-counter", "no-memory-controller"],
)
def test_a_figure_the_kernel_does_not_offer_is_empty_on_both(tmp_path: Path, kernel: Kernel) -> None:
    v1 = run_readers(tmp_path / "v1", 1, kernel)
    v2 = run_readers(tmp_path / "v2", 2, kernel)
    assert v1 == v2
    assert [r.cpu_ns for r in v2] == [r.cpu_ns for r in EXPECTED]  # CPU time needs no memory controller
    assert all(r.oom_kills is None for r in v2)
    if not kernel.memory:
        assert all(r.peak_bytes is None and r.high_bytes == 0 for r in v2)
    assert not any(oom for _cpu, _peak, oom in windows(v2))  # no counter: never an OOM kill made up


def test_the_shipped_script_reads_the_containers_own_cgroup_with_these_readers() -> None:
    assert CGROUP_READERS in SUPERVISOR_SCRIPT
    body = SUPERVISOR_SCRIPT.split(CGROUP_READERS, 1)[1]
    assert body.lstrip().startswith("cgroup_files /sys/fs/cgroup\n")


# --- the whole script, as root, on fake trees bound at /sys/fs/cgroup ------------------------------

#: pid 1 of the test's namespaces: named like a container's init, so the script's guard lets it run.
_INIT = """#!/bin/bash
bash -c "$RGYM_TEST_SUPERVISOR" rgym-supervisor 120 &
wait
"""
#: Run by unshare in the new namespaces: a private /dev/shm (where the script makes its timer, so nothing
#: of it lands on the host), the fake tree at /sys/fs/cgroup.
_SETUP = 'set -e; mount -t tmpfs rgym-test /dev/shm; mount --bind "$1" /sys/fs/cgroup; exec "$2"'


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


class ScriptRun:
    """The supervisor script, started in a pid and mount namespace of the test's own."""

    def __init__(self, root: Path, init: Path) -> None:
        self.proc = subprocess.Popen(
            [
                *("unshare", "--pid", "--fork", "--mount", "--mount-proc", "--"),
                *("sh", "-c", _SETUP, "sh", str(root), str(init)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": os.environ["PATH"], "RGYM_TEST_SUPERVISOR": SUPERVISOR_SCRIPT},
        )
        self._pending = b""

    def line(self, timeout_s: float = 20.0) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            assert left > 0, f"no report line in {timeout_s}s: {self._pending!r}"
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                assert chunk, f"the script ended: {self._pending!r} {self.stderr()}"
                self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode()

    def stderr(self) -> str:
        return (
            "" if self.proc.poll() is None or self.proc.stderr is None else self.proc.stderr.read().decode()
        )

    def supervisor_pid(self) -> int:
        """The script's host pid: the child of the namespace's init, the child of unshare."""
        (init,) = _children(self.proc.pid)
        (script,) = _children(init)
        return script

    def signal(self, sig: signal.Signals) -> Reading:
        os.kill(self.supervisor_pid(), sig)
        reading = Reading.parse(self.line())
        assert reading is not None
        return reading

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ValueError, OSError):
                os.kill(self.supervisor_pid(), signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


StartScript = Callable[[Path], ScriptRun]


@pytest.fixture
def script_on(tmp_path: Path) -> Iterator[StartScript]:
    if not as_root() or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    init = tmp_path / "bin" / "tini"
    init.parent.mkdir()
    init.write_text(_INIT)
    init.chmod(0o755)
    runs: list[ScriptRun] = []

    def start(root: Path) -> ScriptRun:
        run = ScriptRun(root, init)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


#: The script samples every 0.1 s on its own, so after MIDDLE the memory in use stays at 40 MiB: each
#: report's ``high`` is then the same whenever a sample falls.
END_AT_40 = replace(END, now=40 * MIB)


def _play(run: ScriptRun, root: Path, version: int, kernel: Kernel) -> list[Reading]:
    ready = Reading.parse(run.line())
    assert ready is not None and ready.kind == "ready", ready
    write_tree(root, tree(version, MIDDLE, kernel))
    middle = run.signal(signal.SIGUSR2)  # a report samples too: the 40 MiB are seen
    write_tree(root, tree(version, END_AT_40, kernel))
    swept = run.signal(signal.SIGUSR1)
    usage = run.signal(signal.SIGUSR2)
    return [ready, middle, swept, usage]


@pytest.mark.parametrize("kernel", [Kernel(), Kernel(peak=False)], ids=["v2", "v2-without-memory.peak"])
def test_the_whole_script_reports_alike_on_v1_and_v2(
    tmp_path: Path, script_on: StartScript, kernel: Kernel
) -> None:
    results = {}
    for version in (1, 2):
        root = tmp_path / f"v{version}"
        write_tree(root, tree(version, START, kernel if version == 2 else Kernel()))
        run = script_on(root)
        results[version] = _play(run, root, version, kernel if version == 2 else Kernel())
        run.close()
        assert run.proc.returncode == 0, run.stderr()
    v1, v2 = results[1], results[2]
    assert [r.kind for r in v1] == ["ready", "usage", "swept", "usage"] and all(r.left == 0 for r in v1)
    assert v1[0] == EXPECTED[0] and v1[2].cpu_ns == 3_000_000_000 and v1[2].oom_kills == 1
    if kernel.peak:
        assert v2 == v1
    else:
        assert v2 == [replace(r, peak_bytes=None) for r in v1]
    assert windows(v2) == windows(v1)
    assert windows(v1) == [(0.75, 40.0, False), (0.75, 40.0, True), (0.0, 40.0, False)]


# --- the exec channel's readers (each command's figures on the Docker backend), on the same trees -------

#: pid 1 of the test's namespaces for the channel (the trailing exit keeps bash from exec'ing Python).
_CHANNEL_INIT = """#!/bin/bash
"$RGYM_TEST_PYTHON" -I -S -c "$RGYM_TEST_CHANNEL"
exit $?
"""


@pytest.fixture
def channel_on(tmp_path: Path) -> Iterator[Callable[[Path], ExecChannel]]:
    """The exec channel's script, started in pid, mount and ipc namespaces of the test's own (its sweeps and
    its removal of System V segments reach nothing outside), with a fake tree at /sys/fs/cgroup."""
    if not as_root() or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    init = tmp_path / "channel-bin" / "tini"
    init.parent.mkdir()
    init.write_text(_CHANNEL_INIT)
    init.chmod(0o755)
    channels: list[ExecChannel] = []

    def start(root: Path) -> ExecChannel:
        proc = subprocess.Popen(
            [
                *("unshare", "--pid", "--fork", "--mount", "--ipc", "--mount-proc", "--"),
                *("sh", "-c", _SETUP, "sh", str(root), str(init)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={
                "PATH": os.environ["PATH"],
                "RGYM_TEST_PYTHON": sys.executable,
                "RGYM_TEST_CHANNEL": CHANNEL_SCRIPT,
            },
        )
        channel = ExecChannel(PipeTransport(proc))
        channels.append(channel)
        channel.open(timeout_s=30)
        return channel

    yield start
    for channel in channels:
        channel.close()


@pytest.mark.parametrize("kernel", [Kernel(), Kernel(peak=False)], ids=["v2", "v2-without-memory.peak"])
def test_the_exec_channel_reads_alike_on_v1_and_v2(
    tmp_path: Path, channel_on: Callable[[Path], ExecChannel], kernel: Kernel
) -> None:
    """A command that moves the figures (as the kernel would while it runs): the same reply on both."""
    replies = {}
    for version in (1, 2):
        k = kernel if version == 2 else Kernel()
        root = tmp_path / f"v{version}"
        write_tree(root, tree(version, START, k))
        channel = channel_on(root)
        assert channel.hello["cgroup"] == version
        cgroup = Path("/sys/fs/cgroup")  # the fake tree, in the command's mount namespace
        command = shell_writes(cgroup, tree(version, MIDDLE, k)) + shell_writes(
            cgroup, tree(version, END_AT_40, k)
        )
        reply = channel.run(
            ["sh", "-c", command],
            env={"PATH": "/usr/bin:/bin"},
            inherit_env=False,
            cwd="/",
            timeout_s=30,
            cap=65536,
            stdin=None,
            marker="rgym-test",
        )
        assert reply.exit_code == 0, reply.stderr
        replies[version] = (reply.before, reply.after, reply.high)
        channel.close()
    before = {"cpu_ns": 1_500_000_000, "peak": 8 * MIB if kernel.peak else None, "oom": 0}
    after = {"cpu_ns": 3_000_000_000, "peak": 40 * MIB if kernel.peak else None, "oom": 1}
    assert replies[2] == (before, after, 40 * MIB)  # without memory.peak, the host takes the high (40 MiB)
    v1_before, v1_after, v1_high = replies[1]
    assert v1_before is not None and v1_after is not None
    assert (v1_before["cpu_ns"], v1_after["cpu_ns"], v1_before["oom"], v1_after["oom"], v1_high) == (
        1_500_000_000,
        3_000_000_000,
        0,
        1,
        40 * MIB,
    )
    if kernel.peak:
        assert replies[2] == replies[1]
