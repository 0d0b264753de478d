"""Who owns a running run or episode, and whether that owner is still alive.

An owner is (pid, hostname, process start time). The start time makes a recycled pid look like the
stranger it is: a new process with the old pid started later.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import lru_cache

import psutil

# psutil derives start times from boot time + clock ticks; equal processes agree far closer than this.
_START_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class Owner:
    """The identity of a process that writes to the store."""

    pid: int
    host: str
    started: float


@lru_cache(maxsize=1)
def _hostname() -> str:
    return socket.gethostname()


def current_owner() -> Owner:
    """The calling process (looked up per call: a forked child is a new owner)."""
    pid = os.getpid()
    return Owner(pid=pid, host=_hostname(), started=psutil.Process(pid).create_time())


def is_alive(owner: Owner) -> bool | None:
    """Whether the owner process still runs: True/False on this host, None (unknown) on another host."""
    if owner.host != _hostname():
        return None
    try:
        proc = psutil.Process(owner.pid)
        if abs(proc.create_time() - owner.started) > _START_TOLERANCE_S:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.AccessDenied:
        return True  # it exists; never call a live process dead
    except (psutil.NoSuchProcess, ProcessLookupError):
        return False
