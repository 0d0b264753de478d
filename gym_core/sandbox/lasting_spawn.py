"""Start a process that must outlive the thread that asks for it.

A process started with a parent-death signal (bubblewrap's ``--die-with-parent``, ``prctl(PR_SET_PDEATHSIG)``)
is killed when the *thread* that forked it exits, not when the process does (prctl(2): "the parent" is the
creating thread). A sandbox's exec channel or an agent's process is often started from a short-lived
thread: Inspect runs each sandbox call on a worker thread of its event loop, a warm pool starts sandboxes
on background threads, AsyncVectorEnv and the grader's start-ahead do the same. Started there, the channel
died with the thread and took the next command's output with it.

:func:`popen_lasting` forks from one thread per process that lives as long as the process, so such a
child dies with rgym's process (as intended, even on ``kill -9``) and never with a passing thread.
"""

from __future__ import annotations

import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_lock = threading.Lock()
_spawner: ThreadPoolExecutor | None = None
_spawner_pid: int | None = None


def _the_spawner() -> ThreadPoolExecutor:
    global _spawner, _spawner_pid
    with _lock:
        if _spawner is None or _spawner_pid != os.getpid():  # a forked child has no copy of the thread
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rgym-spawner")
            _spawner_pid = os.getpid()
        return _spawner


def popen_lasting(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(*args, **kwargs)``, forked from the process's long-lived spawner thread.

    Exceptions (``OSError`` for a missing program, for example) are raised here, as Popen's own.
    """
    return _the_spawner().submit(subprocess.Popen, *args, **kwargs).result()
