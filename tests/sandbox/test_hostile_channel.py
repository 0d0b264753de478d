"""Hostile probes of the exec channel that found holes, fixed since.

The channel decides whether a command left anything behind by listing ``/proc`` for processes owned by the
agent's uid, skipping zombies (``alive_others`` in gym_core/sandbox/exec_channel.py): it reads the state in
``/proc/<pid>/stat``, which is the thread-group leader's. A process whose main thread ends alone
(``syscall(SYS_exit)``, not ``exit_group``) while another thread keeps running shows ``Z`` there, so the
channel does not count it, reports the command ``clean`` and the backend skips every sweep
(``_end_on_channel`` returns early on ``clean``): the background process outlives its step, runs between
steps unaccounted, and is still there for the next commands, against docs/api.md ("background jobs still
end with their command").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import SandboxFactory

HIDE_AND_WAIT = (
    "import ctypes, threading, time\n"
    "threading.Thread(target=time.sleep, args=(600,)).start()\n"
    "ctypes.CDLL(None).syscall(60, 0)  # SYS_exit on x86_64: the main thread alone ends, the leader shows Z\n"
)


def test_a_background_process_behind_a_zombie_leader_ends_with_its_command(
    make_sandbox: SandboxFactory,
) -> None:
    sb: Any = make_sandbox()
    if getattr(sb, "isolation", None) is not None and sb.isolation.value != "bubblewrap":
        pytest.skip("the local backend's channel needs bubblewrap")
    assert sb.channel_pid is not None
    sb.write_file("hide.py", HIDE_AND_WAIT)
    # the command ends once the process's leader shows Z (its other thread runs on)
    r = sb.exec(
        "setsid python3 hide.py </dev/null >/dev/null 2>&1 & p=$!; "
        "until grep -q ') Z' /proc/$p/stat; do :; done; echo $p",
        timeout_s=20,
    )
    pid = int(r.stdout)
    # the next step: is any thread of that process still alive (not a zombie)?
    nxt = sb.exec(f"cat /proc/{pid}/task/*/stat 2>/dev/null | cut -d' ' -f3 | sort -u", timeout_s=20)
    assert "S" not in nxt.stdout.split() and "R" not in nxt.stdout.split(), (
        f"process {pid} outlived its step: thread states {nxt.stdout.split()}"
    )
