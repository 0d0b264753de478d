"""The local backend's cgroup code (gym_core/sandbox/cgroups.py) on fake cgroup v1 and v2 trees.

cgroups.py has no v2 branch: on a host with cgroup v2 only, the local backend makes no group and limits
commands with rlimits (README, "Security model"). CI's forced no-v1 mode points the cgroup root at an empty
folder with ``RGYM_CGROUP_V1=off``; a real v2 host differs on both counts (the setting is on, and the root
holds v2 files), so these tests build that host in ``tmp_path``: rgym must see no v1 there, write nothing
into the v2 hierarchy (a folder made there is a new cgroup), and still bound and measure commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.sandbox import Limits, SandboxConfig, cgroups
from gym_core.sandbox.base import LABEL_RUN
from gym_core.sandbox.cgroups import CgroupV1, v1_usable
from gym_core.settings import get_settings
from tests.sandbox.conftest import as_root

MIB = 1024 * 1024
#: What /sys/fs/cgroup holds on a cgroup v2 host (the root group's files, and one child group).
V2_ROOT = {
    "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
    "cgroup.subtree_control": "cpuset cpu io memory pids\n",
    "cgroup.procs": "1\n",
    "cgroup.max.depth": "max\n",
    "cpu.stat": "usage_usec 123456789\nuser_usec 100000000\nsystem_usec 23456789\n",
    "memory.stat": "anon 1000\nfile 2000\n",
    "memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "system.slice/cgroup.controllers": "cpu io memory pids\n",
    "system.slice/memory.current": f"{512 * MIB}\n",
    "system.slice/memory.max": "max\n",
    "system.slice/pids.max": "max\n",
}
#: One v1 group: what CgroupV1("rgym/1-x") reads, as a cgroup v1 host holds it.
V1_GROUP = {
    "memory/memory.limit_in_bytes": "9223372036854771712\n",
    "memory/rgym/1-x/memory.max_usage_in_bytes": f"{48 * MIB}\n",
    "memory/rgym/1-x/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    "memory/rgym/1-x/cgroup.procs": "",
    "cpuacct/rgym/1-x/cpuacct.usage": "2500000000\n",
    "pids/rgym/1-x/cgroup.procs": "101\n102\n",
}
#: Forks sleeping children (their output closed) until fork fails; prints how many it made.
FORK_UNTIL_REFUSED = """
import os, time
n = 0
try:
    while n < 200:
        if os.fork() == 0:
            os.closerange(0, 3)
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    pass
print(n)
"""


def build(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def listing(root: Path) -> dict[str, str]:
    """Every folder and file under ``root`` with its content: what a test compares before and after."""
    return {
        str(p.relative_to(root)): (p.read_text() if p.is_file() else "<dir>") for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A cgroup root of the test's own; RGYM_CGROUP_V1 as a user leaves it (unset: on)."""
    root = tmp_path / "sys-fs-cgroup"
    root.mkdir()
    monkeypatch.delenv("RGYM_CGROUP_V1", raising=False)
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", root)
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def test_a_v2_host_has_no_v1_and_gets_nothing_written_into_its_hierarchy(host: Path) -> None:
    build(host, V2_ROOT)
    before = listing(host)
    assert get_settings().cgroup_v1  # the setting is on, as on any user's host
    assert not v1_usable()
    group = CgroupV1("rgym/1-x")
    assert not group.create(memory_mb=256, pids=64, cpus=1.0)
    assert not group.available
    assert (group.cpu_seconds(), group.peak_memory_mb(), group.oom_kills(), group.pids()) == (
        None,
        None,
        None,
        [],
    )
    group.reset_peak()
    group.destroy()
    assert listing(host) == before  # not a folder made: on a real v2 host, one would be a new cgroup


def test_a_v1_host_is_used_unless_the_setting_is_off(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(host, V1_GROUP)
    assert v1_usable()
    monkeypatch.setenv("RGYM_CGROUP_V1", "off")
    get_settings.cache_clear()
    assert not v1_usable()
    before = listing(host)
    assert not CgroupV1("rgym/2-y").create(memory_mb=256, pids=64, cpus=1.0)
    assert listing(host) == before


def test_v1_readers(host: Path) -> None:
    build(host, V1_GROUP)
    group = CgroupV1("rgym/1-x")
    assert group.available
    assert group.cpu_seconds() == pytest.approx(2.5)
    assert group.peak_memory_mb() == pytest.approx(48.0)
    assert group.oom_kills() == 2
    assert group.pids() == [101, 102]
    (host / "memory/rgym/1-x/memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    assert group.oom_kills() is None  # a kernel before 4.13 has no counter: unknown, not 0


@pytest.mark.skipif(not as_root(), reason="only root gets cgroups (and its own uid) on the local backend")
def test_a_local_sandbox_on_a_v2_host_is_bounded_and_measured_by_rlimits(host: Path, tmp_path: Path) -> None:
    """The README's table, v2-only column: memory per process, processes per sandbox, figures from rusage."""
    from gym_core.sandbox.local_backend import LocalSandbox
    from gym_core.sandbox.uids import processes_of

    build(host, V2_ROOT)
    before = listing(host)
    sb = LocalSandbox(
        SandboxConfig(limits=Limits(memory_mb=128, pids=32, disk_mb=32), labels={LABEL_RUN: "test-v2-host"})
    )
    sb.start()
    uid = sb.uid
    try:
        assert sb._cgroup is None
        r = sb.exec("python3 -c 'x = bytearray(40 << 20); sum(range(3_000_000))'", timeout_s=60)
        assert r.exit_code == 0, r.stderr
        assert r.cpu_s is not None and r.cpu_s > 0
        assert r.peak_memory_mb is not None and r.peak_memory_mb >= 40
        r = sb.exec("python3 -c 'b = bytearray(200 << 20)'", timeout_s=60)
        assert "MemoryError" in r.stderr and not r.oom_killed  # RLIMIT_AS: the allocation fails
        r = sb.exec(f"python3 -c '{FORK_UNTIL_REFUSED}'", timeout_s=60)
        assert 0 < int(r.stdout) < 32, r.stdout + r.stderr  # RLIMIT_NPROC of the sandbox's own uid
        r = sb.exec("(setsid env -i sleep 1000 >/dev/null 2>&1 &); echo ok", timeout_s=30)
        assert r.stdout == "ok\n" and sb.leftover_processes() == []  # its uid is swept, no cgroup needed
    finally:
        sb.stop()
    assert uid is not None and processes_of(uid) == []
    assert listing(host) == before
