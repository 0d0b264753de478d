"""One unprivileged uid per local sandbox, when rgym runs as root.

A uid of its own gives a sandbox what a shared ``nobody`` cannot: ``RLIMIT_NPROC`` (which counts every
process of a uid) limits that sandbox alone, so one attempt holding its processes cannot starve another;
the sweep after each command kills every process of that uid and nothing else; an ACL entry can keep
that uid, and only it, out of a folder (:mod:`gym_core.sandbox.acl`); and no sandbox can signal, trace
or read the ``/proc`` files of another.

The uids come from a range of 65536 starting at ``Settings.sandbox_uid_base`` (2,000,000,000 by
default, far from login users, system users and container sub-uid ranges). A uid is claimed by creating
``/run/rgym/uids/<uid>`` exclusively (the file names its owner's pid and host), so processes with
different data dirs never share one; a claim whose owner died is taken back after its processes are
killed (:func:`reap_dead_claims`, called by ``reap_dead_leftovers``).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from gym_core.errors import ConfigError, SandboxError
from gym_core.sandbox.leases import pid_alive
from gym_core.settings import get_settings

POOL_SIZE = 65536
CLAIMS_DIR = Path("/run/rgym/uids")
#: The lowest base allowed: the pool then never holds root, a login or system user, or ``nobody`` (65534,
#: who runs submitted code in Docker graders, see :mod:`gym_core.sandbox.submission_runner`).
MIN_BASE = 65536
#: (uid_t)-1 means "no uid" to the kernel, and 65536 uids must fit below it.
MAX_BASE = 2**32 - 1 - POOL_SIZE


def uid_range() -> range:
    """Every uid sandboxes may get.

    Raises:
        ConfigError: ``RGYM_SANDBOX_UID_BASE`` puts the pool where it could hold a user that is not rgym's.
    """
    base = get_settings().sandbox_uid_base
    if not MIN_BASE <= base <= MAX_BASE:
        raise ConfigError(
            f"RGYM_SANDBOX_UID_BASE={base}: sandbox uids must lie between {MIN_BASE} and "
            f"{MAX_BASE + POOL_SIZE - 1}",
            hint=f"unset it (default 2000000000) or pick a base from {MIN_BASE} to {MAX_BASE}",
        )
    return range(base, base + POOL_SIZE)


def processes_of(uid: int) -> list[int]:
    """Live (not zombie) processes whose real, effective or saved uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                status = fh.read()
        except OSError:
            continue
        uids: list[str] = []
        state = ""
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uids = line.split()[1:4]
            elif line.startswith("State:"):
                state = line.split()[1]
        if str(uid) in uids and state != "Z":
            found.append(int(entry))
    return found


def kill_uid(uid: int, *, within_s: float = 5.0) -> list[int]:
    """SIGKILL every process of ``uid``; return those still alive after ``within_s`` (normally none).

    The kill is ``kill(-1, SIGKILL)`` run *as* ``uid``: the kernel signals every process that uid may
    signal, atomically against fork, so a fork bomb cannot outrun it.
    """
    if uid not in uid_range():
        raise SandboxError(f"refusing to kill processes of uid {uid}: not a sandbox uid")
    if os.geteuid() != 0:
        return processes_of(uid)  # only root may signal another uid
    deadline = time.monotonic() + within_s
    left = processes_of(uid)
    while left:
        _kill_all_as(uid)
        time.sleep(0.01)
        left = processes_of(uid)
        if time.monotonic() > deadline:
            break
    return left


def _kill_all_as(uid: int) -> None:
    killer = shutil.which("kill")
    argv = (
        [killer, "-KILL", "-1"] if killer else [sys.executable, "-I", "-S", "-c", "import os; os.kill(-1, 9)"]
    )
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            argv, user=uid, group=uid, extra_groups=[], capture_output=True, timeout=30, check=False, cwd="/"
        )


def claim_uid() -> int:
    """A uid of the pool that no live sandbox holds and no process runs as; needs root.

    Raises:
        SandboxError: every uid of the pool is taken.
    """
    CLAIMS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    pool = uid_range()
    start = random.randrange(POOL_SIZE)
    for i in range(POOL_SIZE):
        uid = pool[(start + i) % POOL_SIZE]
        claim = CLAIMS_DIR / str(uid)
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {socket.gethostname()}\n")
        if processes_of(uid):  # something still runs as it (a claim removed by hand): leave it alone
            continue
        return uid
    raise SandboxError(f"all {POOL_SIZE} sandbox uids are in use", hint="run `rgym gc`")


def release_uid(uid: int) -> None:
    """Kill what still runs as ``uid`` and give the uid back."""
    kill_uid(uid)
    with contextlib.suppress(OSError):
        (CLAIMS_DIR / str(uid)).unlink()


def _owner(claim: Path) -> tuple[int, str] | None:
    try:
        pid_text, host = claim.read_text().split()[:2]
        return int(pid_text), host
    except (OSError, ValueError):
        return None


def reap_dead_claims() -> list[int]:
    """Take back the uids of dead owners on this host (their processes are killed first)."""
    if os.geteuid() != 0 or not CLAIMS_DIR.is_dir():
        return []
    freed = []
    pool = uid_range()
    for claim in CLAIMS_DIR.iterdir():
        if not claim.name.isdigit() or int(claim.name) not in pool:
            continue
        owner = _owner(claim)
        if owner is not None and (owner[1] != socket.gethostname() or pid_alive(owner[0])):
            continue
        uid = int(claim.name)
        if not kill_uid(uid):
            with contextlib.suppress(OSError):
                claim.unlink()
            freed.append(uid)
    return freed
