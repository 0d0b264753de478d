"""The submission runner: how a sandbox starts submitted code apart from its own private mounts.

A sandbox started with ``SandboxConfig.submission_runner`` (a grader of code submissions) gives its
commands ``RGYM_SUBMISSION_RUNNER``: a command prefix that starts a program as another identity, which
cannot read the sandbox's private mounts (every mount not ``shared_with_runner``: /eval), cannot read the
grader's files, memory, environment or descriptors, cannot signal or trace the grader, has no capabilities,
cannot gain privileges and has no network. It reads the shared mounts (/submission) and writes its own /tmp.

This module holds what the backends build it from:

- **docker** (:func:`docker_prefix`): the grader runs as root in the container with only
  :data:`DOCKER_CAPS`; private mounts are bound from :func:`private_copy` (top folder mode 0700, which only
  root may enter) and the grader's $TMPDIR is :data:`PRIVATE_TMP` (mode 0700). The prefix ``setpriv``-s down
  to :func:`runner_uid` with no groups, no capabilities (bounding set cleared) and ``no_new_privs``, resets
  the environment, and gives the program the highest OOM score (the kernel kills it, not the grader) and a
  lower CPU priority (it cannot starve the grader).
- **local with bubblewrap** (:func:`nested_bwrap_prefix`): a nested ``bwrap`` in fresh user, pid, mount,
  net, ipc and uts namespaces showing the outer sandbox's read-only system view and the shared mounts, with
  a fresh /tmp and nothing else. The program is the init of its pid namespace (no bwrap helper to inspect)
  and bwrap starts with an empty environment, so no /proc entry holds the grader's.

A backend that cannot build a runner refuses to start such a sandbox; the grader then also checks the
runner (:mod:`gym_core.grading.code_submission`) before running anything submitted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from gym_core.errors import SandboxError

#: Who submitted code runs as in a Docker grader (``nobody``), unless rgym runs as that uid on the host:
#: the host user owns the private copies of /eval, so the runner must never share its uid.
RUNNER_UID = 65534
#: The grader's own scratch folder in a Docker runner sandbox (its $TMPDIR and $HOME): root only, 0700.
PRIVATE_TMP = "/run/rgym-private"
#: Capabilities of root in a Docker runner sandbox: SETUID, SETGID and SETPCAP to drop to the runner uid
#: (and clear its bounding set), KILL to stop it, DAC_READ_SEARCH to read private copies whoever owns them.
DOCKER_CAPS = ("SETUID", "SETGID", "SETPCAP", "KILL", "DAC_READ_SEARCH")
#: The environment submitted code starts with in Docker: the base image's PATH (the task's venv first).
DOCKER_RUNNER_ENV = (
    "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "VIRTUAL_ENV=/opt/venv",
    "HOME=/tmp",
    "TMPDIR=/tmp",
    "LANG=C.UTF-8",
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONUNBUFFERED=1",
)
#: Highest OOM score, so on memory exhaustion the kernel kills the submitted program before the grader,
#: and a lower CPU priority, so a program that spins many threads cannot starve the grader of its share.
#: Neither can be undone without capabilities.
_CHOOM = ("choom", "-n", "1000", "--", "nice", "-n", "10")


def runner_uid() -> int:
    """The uid submitted code runs as in Docker: :data:`RUNNER_UID`, never the host user's."""
    return RUNNER_UID if os.geteuid() != RUNNER_UID else RUNNER_UID - 1


def docker_prefix(uid: int) -> tuple[str, ...]:
    """``setpriv`` down to ``uid`` with nothing left, a fresh environment, the highest OOM score."""
    return (
        *_CHOOM,
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        "env", "-i", *DOCKER_RUNNER_ENV,
    )  # fmt: skip


def private_copy(source: Path, dest: Path) -> Path:
    """A copy of ``source`` at ``dest`` that only its owner (and root) may enter: a folder of mode 0700.

    A copy, never hard links: scratch clean-up may chmod what it deletes, and must never reach the task's
    own files. Symlinks stay symlinks, as in a bind of the source. A single file is made 0600.
    """
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True)
        os.chmod(dest, 0o700)
    else:
        shutil.copyfile(source, dest)
        os.chmod(dest, 0o600)
    return dest


# bwrap options by how many arguments they take (bubblewrap 0.4 to 0.8)
_BWRAP_FLAGS = frozenset(
    [
        "--unshare-user",
        "--unshare-user-try",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup",
        "--unshare-cgroup-try",
        "--unshare-all",
        "--share-net",
        "--clearenv",
        "--new-session",
        "--die-with-parent",
        "--as-pid-1",
        "--disable-userns",
        "--assert-userns-disabled",
    ]
)
_BWRAP_ONE = frozenset(
    [
        "--args",
        "--userns",
        "--userns2",
        "--pidns",
        "--uid",
        "--gid",
        "--hostname",
        "--chdir",
        "--unsetenv",
        "--lock-file",
        "--sync-fd",
        "--remount-ro",
        "--exec-label",
        "--file-label",
        "--proc",
        "--dev",
        "--tmpfs",
        "--mqueue",
        "--dir",
        "--seccomp",
        "--add-seccomp-fd",
        "--block-fd",
        "--userns-block-fd",
        "--info-fd",
        "--json-status-fd",
        "--cap-add",
        "--cap-drop",
        "--perms",
        "--size",
        "--argv0",
    ]
)
_BWRAP_TWO = frozenset(
    [
        "--setenv",
        "--bind",
        "--bind-try",
        "--dev-bind",
        "--dev-bind-try",
        "--ro-bind",
        "--ro-bind-try",
        "--file",
        "--bind-data",
        "--ro-bind-data",
        "--symlink",
        "--chmod",
        "--bind-fd",
        "--ro-bind-fd",
    ]
)
#: Options that make something visible at DEST read-only (a bind, or data bwrap wrote there).
_BWRAP_VISIBLE = frozenset(
    ["--ro-bind", "--ro-bind-try", "--file", "--ro-bind-data", "--bind-data", "--ro-bind-fd", "--bind-fd"]
)


def nested_bwrap_prefix(
    outer: Iterable[str],
    *,
    hidden: Iterable[str],
    shared: Iterable[str],
    env: dict[str, str],
    proc: bool,
    bwrap: str = "bwrap",
) -> list[str]:
    """The runner for a bubblewrap sandbox: a bwrap to run inside it, from the outer sandbox's own argv.

    Keeps the outer sandbox's read-only system view (its read-only binds and files, re-bound from where the
    outer sandbox shows them, its symlinks and folders), drops every writable bind, everything at or under
    ``hidden`` (the private mounts, /workspace, /tmp), and adds the ``shared`` mounts read-only, a fresh
    /tmp, /dev, and /proc when ``proc`` (a kernel may refuse a new /proc in a nested namespace).

    Raises:
        SandboxError: the outer argv has an option this does not know (never guess what it exposes).
    """
    hidden_paths = [h.rstrip("/") or "/" for h in hidden]

    def is_hidden(dest: str) -> bool:
        return any(dest == h or dest.startswith(h + "/") for h in hidden_paths)

    view: list[str] = []
    args = list(outer)
    perms: list[str] = []
    i = 0
    while i < len(args) and args[i] != "--":
        opt = args[i]
        if opt in _BWRAP_FLAGS:
            i += 1
            continue
        if opt in _BWRAP_ONE:
            if opt == "--perms":
                perms = [opt, args[i + 1]]
            elif opt == "--dir" and not is_hidden(args[i + 1]):
                view += [*perms, opt, args[i + 1]]
                perms = []
            else:
                perms = []
            i += 2
            continue
        if opt in _BWRAP_TWO:
            dest = args[i + 2]
            if opt in _BWRAP_VISIBLE and not is_hidden(dest):
                try_ = "-try" if opt.endswith("-try") else ""
                view += [f"--ro-bind{try_}", dest, dest]
            elif opt == "--symlink" and not is_hidden(dest):
                view += [opt, args[i + 1], dest]
            perms = []
            i += 3
            continue
        if i == 0 and not opt.startswith("--"):
            i += 1  # the bwrap executable itself
            continue
        raise SandboxError(f"cannot derive a submission runner from the sandbox's bwrap option {opt!r}")
    out = ["env", "-i", bwrap, "--unshare-all", "--as-pid-1", "--die-with-parent", "--new-session"]
    out += ["--clearenv", *view, "--dev", "/dev"]
    out += ["--proc", "/proc"] if proc else []
    out += ["--tmpfs", "/tmp"]
    for target in shared:
        out += ["--ro-bind", target, target]
    for key, value in env.items():
        out += ["--setenv", key, value]
    return [*_CHOOM, *out, "--"] if shutil.which("choom") else ["nice", "-n", "10", *out, "--"]


def first_working(
    candidates: Iterable[list[str]], starts: Callable[[list[str]], str | None]
) -> tuple[tuple[str, ...] | None, str]:
    """The first prefix that ``starts`` (returns None for a prefix that runs ``true``), or why none did."""
    problem = "no candidate"
    for prefix in candidates:
        why = starts(prefix)
        if why is None:
            return tuple(prefix), ""
        problem = why
    return None, problem
