"""The local backend's cgroup v1 groups (made when rgym runs as root): limits, usage, peaks, OOM kills.

The local backend makes ``<controller>/rgym/<owner pid>-<id>`` with the memory, pids and cpu limits, and
reads ``cpuacct.usage`` for CPU time, ``memory.max_usage_in_bytes`` for the peak (reset before each
command, so a command's peak is its own) and the ``oom_kill`` counter of ``memory.oom_control`` to tell
an OOM kill from any other SIGKILL. Everything here is best effort: on a host without cgroup v1 files, or
with ``RGYM_CGROUP_V1=off`` (the forced no-v1 mode CI runs), no group is made and the backend falls
back to rlimits (see :mod:`gym_core.sandbox.local_backend`). The Docker backend reads no host cgroup
file at all (:mod:`gym_core.sandbox.docker_supervisor`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")


def v1_usable() -> bool:
    """True when the host has cgroup v1 controllers and rgym may use them (``RGYM_CGROUP_V1`` not off)."""
    from gym_core.settings import get_settings

    return get_settings().cgroup_v1 and (CGROUP_ROOT / "memory" / "memory.limit_in_bytes").exists()


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class CgroupV1:
    """One group, named relative to each controller's mount (e.g. ``docker/<id>``)."""

    name: str

    def path(self, controller: str) -> Path:
        """The group's folder under ``controller``."""
        return CGROUP_ROOT / controller / self.name

    @property
    def available(self) -> bool:
        """True when the memory controller of this group can be read."""
        return self.path("memory").is_dir()

    def cpu_seconds(self) -> float | None:
        """CPU time used by the group so far."""
        ns = _read_int(self.path("cpuacct") / "cpuacct.usage")
        return None if ns is None else ns / 1e9

    def peak_memory_mb(self) -> float | None:
        """Peak memory since the last :meth:`reset_peak`."""
        b = _read_int(self.path("memory") / "memory.max_usage_in_bytes")
        return None if b is None else b / (1024 * 1024)

    def reset_peak(self) -> None:
        """Start a new peak measurement (needs write access; silently skipped without)."""
        with contextlib.suppress(OSError):
            (self.path("memory") / "memory.max_usage_in_bytes").write_text("0")

    def oom_kills(self) -> int | None:
        """How many processes the kernel OOM-killed in this group (kernel >= 4.13)."""
        try:
            text = (self.path("memory") / "memory.oom_control").read_text()
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return None

    def pids(self) -> list[int]:
        """Every process in the group (from the pids controller, else memory)."""
        for controller in ("pids", "memory"):
            try:
                text = (self.path(controller) / "cgroup.procs").read_text()
            except OSError:
                continue
            return [int(x) for x in text.split()]
        return []

    # --- groups we own (local backend) ------------------------------------------------------------

    def create(self, *, memory_mb: int, pids: int, cpus: float) -> bool:
        """Make the group with its limits. Returns False (and makes nothing) when we may not."""
        if not v1_usable():
            return False
        try:
            for controller in CONTROLLERS:
                self.path(controller).mkdir(parents=True, exist_ok=True)
            mem = self.path("memory")
            limit = str(memory_mb * 1024 * 1024)
            (mem / "memory.limit_in_bytes").write_text(limit)
            with contextlib.suppress(OSError):  # absent when the kernel has no swap accounting
                (mem / "memory.memsw.limit_in_bytes").write_text(limit)
            with contextlib.suppress(OSError):
                (mem / "memory.swappiness").write_text("0")
            (self.path("pids") / "pids.max").write_text(str(pids))
            period = 100_000
            (self.path("cpu") / "cpu.cfs_period_us").write_text(str(period))
            (self.path("cpu") / "cpu.cfs_quota_us").write_text(str(max(1000, int(cpus * period))))
        except OSError:
            self.destroy()
            return False
        return True

    def attach_self(self) -> None:
        """Move the calling process into the group (called in the child before exec)."""
        pid = str(os.getpid())
        for controller in CONTROLLERS:
            (self.path(controller) / "cgroup.procs").write_text(pid)

    def freeze(self, frozen: bool) -> bool:
        """Freeze (or thaw) every process, so a fork bomb cannot outrun a kill loop."""
        try:
            (self.path("freezer") / "freezer.state").write_text("FROZEN" if frozen else "THAWED")
        except OSError:
            return False
        return True

    def kill_all(self) -> None:
        """SIGKILL everything in the group: freeze, kill, thaw (the kill lands on thaw)."""
        frozen = self.freeze(True)
        for _ in range(50):
            victims = self.pids()
            if not victims:
                break
            for pid in victims:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if frozen:
                self.freeze(False)
                frozen = self.freeze(True)
        self.freeze(False)
        deadline = time.monotonic() + 5.0
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.02)

    def destroy(self) -> None:
        """Kill what is left and remove the group's folders."""
        self.kill_all()
        for controller in CONTROLLERS:
            with contextlib.suppress(OSError):
                self.path(controller).rmdir()
