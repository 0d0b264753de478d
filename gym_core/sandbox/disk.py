"""A size-limited scratch disk for a sandbox's /workspace (and, for the local backend, /tmp).

Choice: a loop-mounted ext4 image of ``disk_mb``. Filling it gives the agent a plain ENOSPC, exactly as a
real disk would, costs no memory (a tmpfs would count against the memory limit and turn "disk full" into
an OOM kill), and the host's disk is never at risk. It needs root (mount); without root the backends fall
back explicitly: Docker uses a size-limited tmpfs (documented to count against memory), the local backend
a plain folder with RLIMIT_FSIZE (per file only) and a warning.

The image and its mount point live under ``Settings.sandbox_dir/<id>/``; ``rgym gc`` unmounts what a dead
run left behind (``mount -o loop`` sets autoclear, so unmounting frees the loop device too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from gym_core.errors import SandboxError


def loop_disk_supported() -> bool:
    """True when we may make loop mounts here (root, with mkfs.ext4 and mount on PATH)."""
    return os.geteuid() == 0 and shutil.which("mkfs.ext4") is not None and shutil.which("mount") is not None


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if proc.returncode != 0:
        raise SandboxError(f"{' '.join(argv[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def make_loop_disk(image: Path, mountpoint: Path, size_mb: int) -> None:
    """Create an ext4 image of ``size_mb`` and mount it at ``mountpoint`` (emptied of lost+found)."""
    image.parent.mkdir(parents=True, exist_ok=True)
    mountpoint.mkdir(parents=True, exist_ok=True)
    with open(image, "wb") as fh:
        fh.truncate(max(8, size_mb) * 1024 * 1024)  # sparse: costs nothing until written
    # -m 0: no blocks reserved for root, the agent gets all of disk_mb
    _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1", str(image)])
    _run(["mount", "-o", "loop,nosuid,nodev", str(image), str(mountpoint)])
    with contextlib.suppress(OSError):
        (mountpoint / "lost+found").rmdir()


def is_mounted(path: Path) -> bool:
    """True when something is mounted exactly at ``path``."""
    target = str(path)
    try:
        with open("/proc/self/mounts") as fh:
            return any(line.split()[1] == target for line in fh if len(line.split()) > 1)
    except OSError:
        return False


def unmount(mountpoint: Path) -> bool:
    """Unmount (lazily when busy). Returns True when nothing is mounted there any more; never raises."""
    for argv in (["umount", str(mountpoint)], ["umount", "-l", str(mountpoint)]):
        if not is_mounted(mountpoint):
            return True
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(argv, capture_output=True, check=False, timeout=60)
    return not is_mounted(mountpoint)


def disk_used_mb(path: Path) -> float:
    """Space used on the filesystem holding ``path`` (the whole loop disk when it is one)."""
    try:
        st = os.statvfs(path)
    except OSError:
        return 0.0
    return (st.f_blocks - st.f_bfree) * st.f_frsize / (1024 * 1024)
