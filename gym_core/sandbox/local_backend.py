"""The local backend: commands run on this machine, each in fresh namespaces, as an unprivileged user.

How a command is isolated depends on what this machine allows (:class:`Isolation`):

- **bubblewrap** (``bwrap`` works here): fresh pid, net, ipc and uts namespaces (plus a user namespace
  when rgym is not root), ``--die-with-parent`` and ``--new-session``, over a read-only view of only what
  a command needs (/usr, a short list of /etc files, the Python that runs rgym) with the sandbox's own
  /workspace and /tmp writable. Task folders, the trace store, the data dir and the user's home are simply
  not there. Killing bwrap ends its pid namespace, so a timeout kills the whole tree.
- **namespaces** (rgym is root, bubblewrap is missing): ``unshare`` gives each command fresh pid, net,
  ipc, uts and mount namespaces; in that mount namespace a small script builds the very view bubblewrap
  would (:meth:`LocalSandbox._view`) on a tmpfs and chroots into it, and the command drops to the
  sandbox's uid with ``setpriv``.
- **weak** (neither, and ``--allow-weak-isolation`` given): a plain subprocess with rlimits in its own
  session, on the host's filesystem (/workspace is the scratch folder's real path, ``$RGYM_WS``). As a
  normal user the agent runs as you and can read and write whatever you can, and reach the network.
  Without the opt-in the backend refuses to start.

When rgym runs as root every sandbox gets its own unprivileged uid (:mod:`gym_core.sandbox.uids`), so its
limits are its own, the sweep after each command kills every process of that uid (background jobs end
with their command), and no sandbox can see into another. Limits come from a cgroup v1 group when the
host has one (memory, pids and cpu, with real OOM kills) and ``RGYM_CGROUP_V1`` is not off; otherwise from
rlimits: memory per process (RLIMIT_AS, so an allocation fails rather than being OOM-killed), processes
per sandbox (RLIMIT_NPROC of its own uid, or of its own user namespace), no CPU rate limit. CPU time and
peak memory then come from the command's rusage. /workspace and /tmp live on a loop-mounted disk of
``disk_mb`` when rgym is root. ``network: egress`` needs the Docker backend.

Under bubblewrap, commands go through the sandbox's exec channel (:mod:`gym_core.sandbox.exec_channel`):
one bubblewrap started with the sandbox runs the channel as the sandbox's user, reached over a pair of
pipes; each command is a fresh process tree inside its namespaces, and the sweep after the last running
command (``kill(-1)`` inside its pid namespace) ends background jobs. When the channel is down (killed by
the agent, or another command runs) a command gets a bubblewrap of its own, as described above, and the
next command starts a new channel.

Code submissions (``SandboxConfig.submission_runner``) need bubblewrap: ``RGYM_SUBMISSION_RUNNER`` is a
nested ``bwrap`` (:func:`gym_core.sandbox.submission_runner.nested_bwrap_prefix`) that shows the program
the sandbox's read-only system view, the mounts marked ``shared_with_runner`` and a fresh /tmp, nothing
else, in namespaces of its own (so such a sandbox's commands may make user namespaces). The namespaces
and weak modes refuse them: there the grader's commands hold no privilege left to start a program apart
from /eval.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import IO

from gym_core.errors import BackendUnavailableError, ChannelBrokenError, SandboxError
from gym_core.sandbox import shell_session as sh
from gym_core.sandbox.base import WORKSPACE, RawResult, SandboxConfig, SandboxRole, Usage
from gym_core.sandbox.cgroups import CgroupV1
from gym_core.sandbox.command_sandbox import CommandSandbox
from gym_core.sandbox.disk import disk_used_mb, loop_disk_supported, make_loop_disk, unmount
from gym_core.sandbox.exec_channel import (
    CHANNEL_SCRIPT,
    MAX_STDIN_BYTES,
    ChannelReply,
    ExecChannel,
    PipeTransport,
    channel_result,
    run_or_lose,
)
from gym_core.sandbox.lasting_spawn import popen_lasting
from gym_core.sandbox.leases import Lease, remove_tree
from gym_core.sandbox.output import CappedBuffer
from gym_core.sandbox.registry import sandbox
from gym_core.sandbox.submission_runner import first_working, nested_bwrap_prefix
from gym_core.sandbox.uids import claim_uid, kill_uid, processes_of, release_uid
from gym_core.settings import get_settings
from gym_core.tasks.spec import Network

#: The uid the availability probes drop to (any unprivileged uid works).
NOBODY = 65534
_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
#: What of /etc a sandboxed command sees under bubblewrap: the loader, names, TLS roots, locale and
#: Python's own config; never the rest (pip.conf, gitconfig, environment, docker, ssh...).
ETC_ENTRIES = (
    "alternatives",
    "bash.bashrc",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "fonts",
    "gai.conf",
    "host.conf",
    "hostname",
    "hosts",
    "inputrc",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "locale.alias",
    "localtime",
    "magic",
    "magic.mime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "profile",
    "protocols",
    "python3",
    f"python3.{sys.version_info.minor}",
    "services",
    "shells",
    "ssl",
    "terminfo",
    "timezone",
)
#: Where the namespaces mode keeps a sandbox's files: outside the data dir, which it hides.
_NAMESPACES_SCRATCH = Path("/var/tmp")

#: Runs as root in the command's fresh mount namespace (namespaces mode): builds the sandbox's view of the
#: filesystem (the same one bubblewrap builds, see ``LocalSandbox._view``) on a tmpfs, then stays as the
#: namespace's pid 1 (reaping orphans, as bubblewrap's init does) while a child chroots into the view and
#: execs the command (which drops to the sandbox's uid with setpriv).
#: argv: the view as JSON, the new root, the working directory, "--", the command.
_ROOT_SCRIPT = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
RDONLY, NOSUID, NODEV, NOEXEC, REMOUNT, BIND, REC = 1, 2, 4, 8, 32, 4096, 16384
def mount(src, dst, fstype, flags, data=None):
    if libc.mount(src.encode(), dst.encode(), fstype and fstype.encode(), flags, data and data.encode()) != 0:
        err = ctypes.get_errno()
        sys.exit(f"rgym: cannot mount {src} on {dst}: {os.strerror(err)}")
def parent_of(path):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
os.umask(0o022)
view, new, cwd, argv = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5:]
mount("rgym-root", new, "tmpfs", NOSUID | NODEV, "mode=0755")
for kind, src, dst in view:
    target = new + dst
    if kind == "dir":
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif kind == "symlink":
        parent_of(target)
        os.symlink(src, target)
    elif kind in ("ro", "rw"):
        if os.path.isdir(src):
            os.makedirs(target, mode=0o755, exist_ok=True)
        else:
            parent_of(target)
            open(target, "a").close()
        mount(src, target, None, BIND | REC)
        if kind == "ro":
            mount("none", target, None, REMOUNT | BIND | RDONLY | NOSUID | NODEV)
    elif kind == "proc":
        os.makedirs(target, mode=0o755, exist_ok=True)
        mount("proc", target, "proc", NOSUID | NODEV | NOEXEC)
    elif kind == "tmpfs":  # an empty folder (src: its mode), e.g. covering a secret in a bound one
        os.makedirs(target, mode=0o755, exist_ok=True)
        mount("rgym-tmpfs", target, "tmpfs", NOSUID | NODEV, "mode=" + src)
    elif kind == "dev":
        os.makedirs(target, mode=0o755, exist_ok=True)
        mount("rgym-dev", target, "tmpfs", NOSUID | NOEXEC, "mode=0755")
        for name in ("null", "zero", "full", "random", "urandom", "tty"):
            open(f"{target}/{name}", "a").close()
            mount(f"/dev/{name}", f"{target}/{name}", None, BIND)
        os.mkdir(f"{target}/shm", 0o1777)
        os.chmod(f"{target}/shm", 0o1777)
        for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                           ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(link, f"{target}/{name}")
child = os.fork()
if child == 0:
    os.chroot(new)
    os.chdir(cwd)
    os.execvp(argv[0], argv)
# pid 1 of the command's namespace, like bubblewrap's init: reap every orphan, end with the command
while True:
    pid, status = os.wait()
    if pid == child:
        code = os.waitstatus_to_exitcode(status)
        sys.exit(128 - code if code < 0 else code)
"""


#: Runs a command and writes its rusage (CPU seconds, max RSS in KiB) to fd $1: bubblewrap's own init
#: reaps the sandboxed processes and bubblewrap exits without reaping that init, so without a cgroup the
#: command's rusage never reaches rgym otherwise. The fd is closed to the command itself.
_RUSAGE_WRAPPER = r"""
import os, sys
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        os.write(2, f"{sys.argv[2]}: cannot execute: {exc.strerror}\n".encode())
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
while True:
    try:
        _, status, ru = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
os.write(fd, f"{ru.ru_utime + ru.ru_stime} {ru.ru_maxrss}\n".encode())
code = os.waitstatus_to_exitcode(status)
os._exit(128 - code if code < 0 else code)
"""


class Isolation(StrEnum):
    """How the local backend isolates commands here (see the module docstring)."""

    BUBBLEWRAP = "bubblewrap"
    NAMESPACES = "namespaces"
    WEAK = "weak"


class WeakIsolationWarning(UserWarning):
    """Warned when the local backend runs without bubblewrap or namespaces (``--allow-weak-isolation``)."""


def _unshare_flags(*, nested_userns: bool = False) -> list[str]:
    if os.geteuid() == 0:
        # as root no user namespace: bwrap sets up mounts with root's reach (a 0700 data dir is fine),
        # then setpriv drops to the sandbox's uid with no capabilities at all before the command runs
        return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    # no user namespaces inside the sandbox's own (less kernel to attack), where bwrap can forbid them,
    # unless the sandbox nests one for submitted code
    if not nested_userns and _bwrap_can("--disable-userns"):
        return ["--unshare-all", "--unshare-user", "--disable-userns"]
    return ["--unshare-all"]


@lru_cache(maxsize=8)
def _bwrap_can(option: str) -> bool:
    try:
        usage = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return option in usage


def _setpriv(uid: int | None) -> list[str]:
    """The argv prefix that drops root to ``uid`` (empty when not root)."""
    if uid is None:
        return []
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _unshare_argv() -> list[str]:
    return ["unshare", "--net", "--ipc", "--uts", "--pid", "--kill-child", "--mount-proc", "--"]


def _probe(argv: list[str]) -> bool:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


@lru_cache(maxsize=1)
def bubblewrap_usable() -> bool:
    """True when ``bwrap`` exists and can make its namespaces here (as the user commands will run as)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    uid = NOBODY if os.geteuid() == 0 else None
    return _probe(
        [bwrap, *_unshare_flags(), "--die-with-parent", "--ro-bind", "/", "/", *_setpriv(uid), "true"]
    )


@lru_cache(maxsize=1)
def namespaces_usable() -> bool:
    """True when rgym is root and ``unshare`` can make the namespaces of the namespaces mode here."""
    if os.geteuid() != 0 or not (
        shutil.which("unshare") and shutil.which("setpriv") and shutil.which("mount")
    ):
        return False
    return _probe([*_unshare_argv(), *_setpriv(NOBODY), "true"])


def choose_isolation() -> Isolation:
    """The strongest isolation this machine allows (weak only with ``--allow-weak-isolation``).

    Raises:
        BackendUnavailableError: nothing but weak isolation is possible, and it was not allowed.
    """
    if bubblewrap_usable():
        return Isolation.BUBBLEWRAP
    if namespaces_usable():
        return Isolation.NAMESPACES
    if not get_settings().allow_weak_isolation:
        risk = (
            "runs as you and can read and write whatever you can, and reach the network"
            if os.geteuid() != 0
            else "cannot get namespaces here either: it would read whatever is world-readable (task folders "
            "included) and reach the network"
        )
        raise BackendUnavailableError(
            f"the local backend needs bubblewrap (bwrap) to isolate the agent; without it the agent {risk}",
            hint="install bubblewrap (apt-get install bubblewrap) or use --backend docker; to run anyway, "
            "pass --allow-weak-isolation (RGYM_ALLOW_WEAK_ISOLATION=1)",
        )
    return Isolation.WEAK


_PR_SET_NO_NEW_PRIVS = 38


def _preexec(
    cgroup: CgroupV1 | None, limits: list[tuple[int, int]], uid: int | None, *, no_new_privs: bool
) -> Callable[[], None]:
    """What the child does before exec: join the cgroup, set rlimits, maybe become ``uid``, no new privileges."""
    libc = ctypes.CDLL(None, use_errno=True) if no_new_privs else None

    def run() -> None:
        if cgroup is not None:
            cgroup.attach_self()
        for which, value in limits:
            resource.setrlimit(which, (value, value))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if libc is not None and libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")

    return run


@sandbox("local")
class LocalSandbox(CommandSandbox):
    """Commands on this machine, in fresh namespaces, as an unprivileged user (see the module docstring)."""

    name = "local"

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.sandbox_id = uuid.uuid4().hex[:12]
        self._scratch = get_settings().sandbox_dir / f"local-{self.sandbox_id}"
        self._root: Path | None = None
        self._loop = False
        self.isolation: Isolation | None = None
        self._uid: int | None = None
        self._dirs: list[Path] = []  # folders of this sandbox outside its scratch folder
        self._cgroup: CgroupV1 | None = None
        self._started_at: float | None = None
        self._peak_mb = 0.0
        self._cpu_s = 0.0
        self._commands = 0
        self._children: set[subprocess.Popen[bytes]] = set()
        # commands in flight, and whether a sweep runs: a sweep kills everything, so commands wait for it
        self._gate = threading.Condition()
        self._running = 0
        self._sweeping = False
        self._runner: tuple[str, ...] | None = None
        self._channel: ExecChannel | None = None
        self._channel_busy = False
        self._channel_failures = 0
        self._channels_opened = 0
        self._channel_host_pids: frozenset[int] = frozenset()

    # --- layout ------------------------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        """True when commands see their own view of the filesystem (bubblewrap or namespaces)."""
        return self.isolation in (Isolation.BUBBLEWRAP, Isolation.NAMESPACES)

    @property
    def uid(self) -> int | None:
        """The sandbox's own uid when rgym runs as root (None otherwise: commands run as you)."""
        return self._uid

    @property
    def host_workspace(self) -> Path:
        """The workspace folder on the host."""
        assert self._root is not None, "sandbox not started"
        return self._root / "workspace"

    @property
    def host_tmp(self) -> Path:
        """The sandbox's /tmp on the host."""
        assert self._root is not None, "sandbox not started"
        return self._root / "tmp"

    @property
    def workspace_root(self) -> str:
        """/workspace when isolated; the scratch folder's real path otherwise (weak isolation)."""
        return WORKSPACE if self.isolated or self._root is None else str(self.host_workspace)

    @property
    def state_file(self) -> str:
        """The session state file, as commands see it."""
        if self.isolated or self._root is None:
            return sh.STATE_FILE
        return str(self.host_tmp / ".rgym" / "session.sh")

    @property
    def runner_prefix(self) -> tuple[str, ...] | None:
        """A nested bubblewrap that shows only the system and the shared mounts (module docstring)."""
        return self._runner

    @property
    def _run_uid(self) -> int:
        return self._uid if self._uid is not None else os.geteuid()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Choose the isolation, make the scratch disk, copy the workspace in, and set up limits."""
        if self._started_at is not None:
            return
        cfg, lim = self.config, self.config.limits
        if cfg.workspace_src is not None and not cfg.workspace_src.is_dir():
            raise SandboxError(f"{cfg.workspace_src}: workspace folder does not exist")
        if lim.network == Network.EGRESS:
            raise BackendUnavailableError(
                "network: egress needs the docker backend: the local backend cannot let a sandbox reach the "
                "outside without also reaching this host and its local network",
                hint="use --backend docker",
            )
        if cfg.submission_runner and not bubblewrap_usable():
            # the namespaces and weak modes leave the grader's commands no privilege to start a program
            # apart from /eval and from the grader itself: refuse rather than run submitted code unsafely
            raise BackendUnavailableError(
                "the local backend cannot keep submitted code away from /eval without bubblewrap (its "
                "namespaces and weak modes refuse code submissions)",
                hint="apt-get install bubblewrap, or use --backend docker",
            )
        isolation = choose_isolation()
        if isolation == Isolation.WEAK and cfg.mounts:
            raise BackendUnavailableError(
                "the local backend needs bubblewrap to mount " + ", ".join(m.target for m in cfg.mounts),
                hint="apt-get install bubblewrap, or use --backend docker",
            )
        if isolation == Isolation.WEAK:
            who = (
                "as you: it can read and write whatever you can"
                if os.geteuid() != 0
                else ("as its own uid, but it can read whatever is world-readable here")
            )
            warnings.warn(
                f"isolation is weak: bubblewrap is not usable here, so the agent runs {who} (task folders, "
                "the trace store) and can reach the network. Install bubblewrap or use --backend docker.",
                WeakIsolationWarning,
                stacklevel=2,
            )
        self.isolation = isolation
        lease = Lease(sandbox_id=self.sandbox_id, backend=self.name)
        lease.save(self._scratch)
        try:
            if os.geteuid() == 0:
                self._uid = claim_uid()
                lease.uid = self._uid
                lease.save(self._scratch)
            base = self._scratch
            if isolation == Isolation.WEAK and self._uid is not None:
                # the sandbox's uid sees the host's own paths: keep its files out of the (closed) data dir
                base = Path(tempfile.mkdtemp(prefix=f"rgym-local-{self.sandbox_id}-", dir=_scratch_parent()))
                os.chmod(base, 0o711)
                self._dirs.append(base)
                lease.dirs.append(str(base))
                lease.save(self._scratch)
            root = base / "disk"
            if loop_disk_supported():
                lease.mounts.append(str(root))
                lease.save(self._scratch)
                make_loop_disk(base / "disk.img", root, lim.disk_mb)
                self._loop = True
            root.mkdir(parents=True, exist_ok=True)
            self._root = root
            self.host_workspace.mkdir()
            self.host_tmp.mkdir()
            if cfg.workspace_src is not None:
                shutil.copytree(cfg.workspace_src, self.host_workspace, symlinks=True, dirs_exist_ok=True)
            if self._uid is not None:
                for top in (self.host_workspace, self.host_tmp):
                    for dirpath, dirnames, filenames in os.walk(top):
                        os.lchown(dirpath, self._uid, self._uid)
                        for n in filenames + dirnames:
                            os.lchown(os.path.join(dirpath, n), self._uid, self._uid)
                os.chown(root, self._uid, self._uid)
                os.chmod(root, 0o700)  # no other sandbox's uid may look in
                self._write_identity_files(base)
            if isolation == Isolation.NAMESPACES:
                (base / "root").mkdir(mode=0o700)  # where each command's view is mounted, privately
            if self._uid is not None:
                # The owner's pid in the name lets `rgym gc` from any data dir tell a live group from a leftover.
                cg = CgroupV1(f"rgym/{os.getpid()}-{self.sandbox_id}")
                if cg.create(memory_mb=lim.memory_mb, pids=lim.pids, cpus=lim.cpus):
                    self._cgroup = cg
                    lease.cgroup = cg.name
                    lease.save(self._scratch)
            if cfg.submission_runner:
                self._runner = self._nested_runner()
            self._started_at = time.monotonic()
            if self._channel_wanted:
                self._open_channel()
        except BaseException:
            self.stop()
            raise

    def _write_identity_files(self, base: Path) -> None:
        """passwd and group files naming the sandbox's uid (``whoami``, ``getpwuid`` and pip need one)."""
        assert self._uid is not None
        for name, line in (
            ("passwd", f"rgym:x:{self._uid}:{self._uid}:rgym sandbox:/tmp:/bin/sh\n"),
            ("group", f"rgym:x:{self._uid}:\n"),
        ):
            try:
                text = Path("/etc", name).read_text()
            except OSError:
                text = ""
            if text and not text.endswith("\n"):
                text += "\n"
            target = base / f"etc-{name}"
            target.write_text(text + line)
            target.chmod(0o644)

    def stop(self) -> None:
        """Kill every command still running, free the uid and cgroup, unmount and delete scratch space."""
        self._drop_channel()
        for proc in list(self._children):
            _kill_group(proc)
        self._children.clear()
        if self._uid is not None:
            kill_uid(self._uid)
        if self._cgroup is not None:
            self._cgroup.destroy()
            self._cgroup = None
        if self._loop and self._root is not None:
            if not unmount(self._root):
                return  # never delete files under a live mount; the lease lets `rgym gc` retry
            self._loop = False
        for folder in self._dirs:
            remove_tree(folder)
        self._dirs.clear()
        if self._scratch.exists():
            remove_tree(self._scratch)
        if self._uid is not None:
            release_uid(self._uid)
            self._uid = None
        self._root = None
        self._started_at = None
        self._runner = None

    @property
    def alive(self) -> bool:
        """True from start() until stop() or the end of the wall time."""
        if self._started_at is None:
            return False
        wall = self.config.limits.wall_time_s
        return wall is None or time.monotonic() - self._started_at < wall

    def usage(self) -> Usage:
        """CPU seconds and peak memory (from the cgroup when there is one, else rusage), and disk used."""
        disk = 0.0
        if self._root is not None:
            disk = disk_used_mb(self._root) if self._loop else _du_mb(self._root)
        return Usage(cpu_s=self._cpu_s, peak_memory_mb=self._peak_mb, disk_mb=disk, commands=self._commands)

    def leftover_processes(self) -> list[int]:
        """Processes of this sandbox still alive on the host (its uid's, or its cgroup's), but its channel."""
        found = (
            processes_of(self._uid) if self._uid is not None else self._cgroup.pids() if self._cgroup else []
        )
        return [p for p in found if p not in self.channel_host_pids]

    # --- commands ----------------------------------------------------------------------------------

    def _view(self) -> list[tuple[str, str, str]]:
        """What an isolated command's filesystem holds, in mount order: (kind, source, target).

        Kinds: ``dir`` (an empty folder, 0755), ``symlink``, ``ro`` and ``rw`` binds, ``proc``, ``dev``.
        Bubblewrap and the namespaces mode both build exactly this.
        """
        view: list[tuple[str, str, str]] = []
        if os.path.isdir("/usr"):
            view.append(("ro", "/usr", "/usr"))
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                view.append(("symlink", os.readlink(top), top))
            elif os.path.isdir(top):
                view.append(("ro", top, top))
        view.append(("dir", "", "/etc"))  # made by root otherwise 0700: unreadable to the agent
        for entry in ETC_ENTRIES:
            src = Path("/etc", entry)
            if src.is_dir() or src.is_file():
                view.append(("ro", str(src), str(src)))
        identity = self._root.parent if self._root is not None and self._uid is not None else None
        for name in ("passwd", "group"):
            src = identity / f"etc-{name}" if identity is not None else Path("/etc", name)
            if src.exists():
                view.append(("ro", str(src), f"/etc/{name}"))
        view += [("proc", "", "/proc"), ("dev", "", "/dev")]
        view += [("rw", str(self.host_workspace), WORKSPACE), ("rw", str(self.host_tmp), "/tmp")]
        # The Python that runs rgym (often a venv outside /usr), so agents have its packages. Bound after
        # /tmp, because a later mount hides an earlier one: a checkout under /tmp must stay visible.
        made: set[str] = set()
        for prefix in sorted({sys.prefix, sys.base_prefix}):
            if prefix == "/usr" or prefix.startswith("/usr/"):
                continue
            # traversable parents (bwrap would make them 0700 root, e.g. /root for a pyenv python)
            for parent in reversed(Path(prefix).parents[:-1]):
                if str(parent) not in made and str(parent) not in ("/tmp", WORKSPACE):
                    made.add(str(parent))
                    view.append(("dir", "", str(parent)))
            view.append(("ro", prefix, prefix))
        for m in self.config.mounts:
            if not m.source.exists():
                raise SandboxError(f"{m.source}: mount source does not exist")
            view.append(("ro" if m.read_only else "rw", str(m.source.resolve()), m.target))
        return view

    def _bwrap_argv(self, argv: list[str], cwd: str, env: dict[str, str]) -> list[str]:
        # a grader of code submissions nests a bubblewrap (the submission runner), which needs user namespaces
        nested = self.config.submission_runner
        out = [
            "bwrap",
            *_unshare_flags(nested_userns=nested),
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ]
        for kind, src, target in self._view():
            if kind == "dir":
                out += ["--perms", "0755", "--dir", target]
            elif kind == "symlink":
                out += ["--symlink", src, target]
            elif kind in ("ro", "rw"):
                out += ["--ro-bind" if kind == "ro" else "--bind", src, target]
            else:
                out += [f"--{kind}", target]
        for key, value in env.items():
            out += ["--setenv", key, value]
        out += ["--chdir", cwd, "--", *_setpriv(self._uid), *self._nproc_prefix(), *argv]
        return out

    def _namespaces_argv(self, argv: list[str], cwd: str) -> list[str]:
        assert self._root is not None and self._uid is not None
        new_root = self._root.parent / "root"
        view = json.dumps(self._view())
        return [
            *_unshare_argv(),
            sys.executable,
            "-I",
            "-S",
            "-c",
            _ROOT_SCRIPT,
            view,
            str(new_root),
            cwd,
            "--",
            *_setpriv(self._uid),
            *argv,
        ]

    def _nproc_prefix(self) -> list[str]:
        """In a user namespace, RLIMIT_NPROC is set inside it, so it counts that sandbox's processes only."""
        if self._cgroup is not None or self._uid is not None or not self.isolated:
            return []
        return ["prlimit", f"--nproc={self.config.limits.pids}", "--"]

    def _nested_runner(self) -> tuple[str, ...]:
        """The runner prefix, checked to start here, with its own /proc where the kernel allows one."""
        cfg = self.config
        env = {
            "PATH": f"{os.path.join(sys.prefix, 'bin')}:{_PATH}",
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        outer = self._bwrap_argv(["true"], "/", {})
        private = [m.target for m in cfg.mounts if not m.shared_with_runner]
        shared = [m.target for m in cfg.mounts if m.shared_with_runner]
        candidates = [
            nested_bwrap_prefix(
                outer,
                hidden=[*private, *shared, WORKSPACE, "/tmp"],
                shared=shared,
                env=env,
                proc=proc,
                bwrap=shutil.which("bwrap") or "bwrap",
            )
            for proc in (True, False)
        ]

        def starts(prefix: list[str]) -> str | None:
            raw = self._run_raw(
                [*prefix, "true"], stdin=None, user=None, cwd="/", env={}, timeout_s=30, cap=4096
            )
            lines = raw.stderr.decode(errors="replace").strip().splitlines()
            return None if raw.exit_code == 0 else (lines[-1] if lines else f"exit code {raw.exit_code}")

        prefix, problem = first_working(candidates, starts)
        if prefix is None:
            raise BackendUnavailableError(
                f"bubblewrap cannot start a nested sandbox for submitted code here: {problem}",
                hint="allow unprivileged user namespaces (sysctl user.max_user_namespaces), or use --backend docker",
            )
        return prefix

    def _env(self, env: dict[str, str], marker: str) -> dict[str, str]:
        bindir = os.path.join(sys.prefix, "bin")
        home = "/tmp" if self.isolated else str(self.host_tmp)
        return {
            "PATH": f"{bindir}:{_PATH}",
            "HOME": home,
            "LANG": "C.UTF-8",
            "TMPDIR": home,
            **env,
            "RGYM_EXEC_ID": marker,
            "RGYM_WS": self.workspace_root,
        }

    def _rlimits(self) -> list[tuple[int, int]]:
        lim = self.config.limits
        limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, lim.disk_mb * 1024 * 1024)]
        if self._cgroup is None:
            limits.append((resource.RLIMIT_AS, lim.memory_mb * 1024 * 1024))
            if self._uid is not None:
                # the sandbox's own uid: the count is this sandbox's processes (root itself is exempt)
                limits.append((resource.RLIMIT_NPROC, lim.pids))
            elif not self.isolated:
                # weak, as you: RLIMIT_NPROC counts all your processes, so allow those already running
                limits.append((resource.RLIMIT_NPROC, lim.pids + len(processes_of(os.geteuid()))))
        return limits

    def _begin_command(self) -> None:
        with self._gate:
            self._gate.wait_for(lambda: not self._sweeping)
            self._running += 1

    def _end_command(self, marker: str) -> None:
        """Count a command out; the last one running sweeps the sandbox's uid (or the marked processes)."""
        with self._gate:
            self._running -= 1
            if self._running:
                return
            self._sweeping = True
        try:
            if self._uid is not None:
                if processes_of(self._uid):
                    self._drop_channel()  # kill_uid ends it too; the next command opens a new one
                    kill_uid(self._uid)
            else:
                _kill_marked(marker, os.geteuid())
        finally:
            with self._gate:
                self._sweeping = False
                self._gate.notify_all()

    # --- the exec channel ----------------------------------------------------------------------------

    @property
    def _channel_wanted(self) -> bool:
        """Bubblewrap sandboxes without a submission runner use a channel (module docstring)."""
        return (
            self.isolation == Isolation.BUBBLEWRAP
            and self.config.role in (SandboxRole.AGENT, SandboxRole.INSPECT)
            and not self.config.submission_runner
            and get_settings().exec_channel
            and self._channel_failures < 3
        )

    @property
    def channels_opened(self) -> int:
        """How many exec channels this sandbox has opened (a new one after each break)."""
        return self._channels_opened

    @property
    def channel_pid(self) -> int | None:
        """The pid of the open channel inside its pid namespace (None while it is down)."""
        channel = self._channel
        return None if channel is None or channel.broken else int(channel.hello.get("pid", 0)) or None

    @property
    def channel_host_pids(self) -> frozenset[int]:
        """The open channel's processes on the host: its bubblewrap, the namespace's init and the channel."""
        return self._channel_host_pids if self.channel_pid is not None else frozenset()

    def _open_channel(self) -> None:
        """Start a bubblewrap running the channel as the sandbox's user (with none of the agent's processes
        alive: they could otherwise reach it before it is non-dumpable)."""
        env = self._env({}, "")
        env.pop("RGYM_EXEC_ID", None)
        argv = self._bwrap_argv([sys.executable, "-I", "-S", "-c", CHANNEL_SCRIPT], WORKSPACE, env)
        try:
            # forked from a lasting thread: --die-with-parent ties it to the thread that forks it
            proc = popen_lasting(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd="/",
                env={"PATH": _PATH},
                start_new_session=True,
                preexec_fn=_preexec(self._cgroup, self._rlimits(), None, no_new_privs=False),
            )
        except OSError:
            self._channel_failures += 1
            return
        channel = ExecChannel(PipeTransport(proc))
        try:
            channel.open()
        except ChannelBrokenError:
            channel.close()
            self._channel_failures += 1
            return
        self._channel = channel
        self._channels_opened += 1
        self._channel_failures = 0
        self._channel_host_pids = frozenset(_process_chain(proc.pid, 3))

    def _drop_channel(self) -> None:
        self._channel_host_pids = frozenset()
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def _claim_channel(self) -> bool:
        """Take the channel for one command when no other command runs (counted in, as ``_begin_command``)."""
        with self._gate:
            self._gate.wait_for(lambda: not self._sweeping)
            if self._channel_busy or self._running:
                return False
            self._channel_busy = True
            self._running += 1
        if self._channel is None or self._channel.broken:
            self._drop_channel()
            self._open_channel()  # the last command ended with a sweep: nothing of the agent's is left
            if self._channel is None:
                with self._gate:
                    self._channel_busy = False
                    self._running -= 1
                    self._gate.notify_all()
                return False
        return True

    def _end_on_channel(self, *, sweep_by_channel: bool, clean: bool = False) -> None:
        """Count a channel command out; the last one running sweeps (by the channel when it can), unless the
        channel saw none of the sandbox's processes left (``clean``)."""
        with self._gate:
            self._running -= 1
            self._channel_busy = False
            last = self._running == 0
            if last:
                self._sweeping = True
            else:
                self._gate.notify_all()
        if not last:
            return
        try:
            channel = self._channel
            if sweep_by_channel and channel is not None and not channel.broken:
                if clean:
                    return
                try:
                    left, _ = channel.sweep()
                    if left == 0:
                        return
                except ChannelBrokenError:
                    pass
            # the channel's pid namespace ends with it: its processes go too
            self._drop_channel()
            if self._uid is not None and processes_of(self._uid):
                kill_uid(self._uid)
        finally:
            with self._gate:
                self._sweeping = False
                self._gate.notify_all()

    def _run_on_channel(
        self,
        argv: list[str],
        *,
        stdin: bytes | None,
        cwd: str,
        env: dict[str, str],
        timeout_s: float | None,
        cap: int,
    ) -> RawResult:
        channel = self._channel
        assert channel is not None
        cg = self._cgroup
        oom_before = cg.oom_kills() if cg else None
        cpu_before = cg.cpu_seconds() if cg else None
        if cg:
            cg.reset_peak()
        started = time.monotonic()
        reply: ChannelReply | None = None
        try:
            reply = run_or_lose(
                channel,
                argv,
                env=env,
                inherit_env=False,
                cwd=cwd,
                timeout_s=timeout_s,
                cap=cap,
                stdin=stdin,
                marker=env["RGYM_EXEC_ID"],
            )
        finally:
            self._end_on_channel(sweep_by_channel=reply is not None, clean=reply is not None and reply.clean)
        oom, cpu, peak = False, None, None
        if cg:
            oom_after, cpu_after = cg.oom_kills(), cg.cpu_seconds()
            oom = oom_before is not None and oom_after is not None and oom_after > oom_before
            if cpu_before is not None and cpu_after is not None:
                cpu = max(0.0, cpu_after - cpu_before)
            peak = cg.peak_memory_mb()
        elif reply is not None and reply.rusage is not None:
            cpu, peak = reply.rusage[0], reply.rusage[1] / 1024
        if cpu is not None:
            self._cpu_s += cpu
        if peak is not None:
            self._peak_mb = max(self._peak_mb, peak)
        self._commands += 1
        return channel_result(channel, reply, started=started, oom_killed=oom, cpu_s=cpu, peak_memory_mb=peak)

    def _run_raw(
        self,
        argv: list[str],
        *,
        stdin: bytes | None,
        user: str | None,
        cwd: str,
        env: dict[str, str],
        timeout_s: float | None,
        cap: int,
    ) -> RawResult:
        if user not in (None, "", str(self._run_uid)):
            raise SandboxError(
                f"the local backend runs every command as the sandbox's one unprivileged user; cannot run as {user!r}"
            )
        if self._started_at is not None and self.config.limits.wall_time_s is not None:
            left = self.config.limits.wall_time_s - (time.monotonic() - self._started_at)
            timeout_s = left if timeout_s is None else min(timeout_s, left)
        marker = uuid.uuid4().hex
        full_env = self._env(env, marker)
        if (
            self._channel_wanted
            and (stdin is None or len(stdin) <= MAX_STDIN_BYTES)
            and self._claim_channel()
        ):
            return self._run_on_channel(
                argv, stdin=stdin, cwd=cwd, env=full_env, timeout_s=timeout_s, cap=cap
            )
        cg = self._cgroup
        become: int | None = None
        usage_pipe: tuple[int, int] | None = None
        reported: tuple[float | None, float | None] = (None, None)
        if self.isolation == Isolation.BUBBLEWRAP:
            inner = argv
            if cg is None:
                usage_pipe = os.pipe()
                inner = [sys.executable, "-I", "-S", "-c", _RUSAGE_WRAPPER, str(usage_pipe[1]), *argv]
            cmd = self._bwrap_argv(inner, cwd, full_env)
            popen_env, popen_cwd = {"PATH": _PATH}, "/"
        elif self.isolation == Isolation.NAMESPACES:
            cmd, popen_env, popen_cwd = self._namespaces_argv(argv, cwd), full_env, "/"
        else:
            cmd, popen_env, popen_cwd, become = argv, full_env, cwd, self._uid
        oom_before = cg.oom_kills() if cg else None
        cpu_before = cg.cpu_seconds() if cg else None
        if cg:
            cg.reset_peak()
        self._begin_command()
        started = time.monotonic()
        try:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=popen_cwd,
                    env=popen_env,
                    start_new_session=True,
                    pass_fds=(usage_pipe[1],) if usage_pipe else (),
                    preexec_fn=_preexec(
                        cg, self._rlimits(), become, no_new_privs=self.isolation == Isolation.WEAK
                    ),
                )
            except FileNotFoundError:
                return RawResult(127, b"", f"{argv[0]}: command not found\n".encode(), 0.0)
            except PermissionError as exc:
                return RawResult(126, b"", f"{argv[0]}: cannot execute: {exc.strerror}\n".encode(), 0.0)
            finally:
                if usage_pipe:
                    os.close(usage_pipe[1])
            self._children.add(proc)
            try:
                code, out, err, timed_out, rusage = self._wait(proc, stdin, timeout_s, cap, started)
            finally:
                self._children.discard(proc)
            if usage_pipe:
                rusage = None
                reported = _read_report(usage_pipe[0])
        finally:
            if usage_pipe:
                os.close(usage_pipe[0])
            # a command's processes end with it: its group, then (when it was the last one running)
            # every process of the sandbox's uid, or those carrying its marker
            self._end_command(marker)
        oom = False
        cpu: float | None = None
        peak: float | None = None
        if cg:
            oom_after = cg.oom_kills()
            oom = oom_before is not None and oom_after is not None and oom_after > oom_before
            cpu_after = cg.cpu_seconds()
            if cpu_before is not None and cpu_after is not None:
                cpu = max(0.0, cpu_after - cpu_before)
            peak = cg.peak_memory_mb()
        elif usage_pipe is not None:
            cpu, peak = reported
        elif rusage is not None:
            cpu = rusage.ru_utime + rusage.ru_stime
            peak = rusage.ru_maxrss / 1024  # KiB on Linux
        if cpu is not None:
            self._cpu_s += cpu
        if peak is not None:
            self._peak_mb = max(self._peak_mb, peak)
        self._commands += 1
        return RawResult(
            exit_code=code,
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            duration_s=time.monotonic() - started,
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            timed_out=timed_out,
            oom_killed=oom,
            cpu_s=cpu,
            peak_memory_mb=peak,
        )

    def _wait(
        self,
        proc: subprocess.Popen[bytes],
        stdin: bytes | None,
        timeout_s: float | None,
        cap: int,
        started: float,
    ) -> tuple[int | None, CappedBuffer, CappedBuffer, bool, resource.struct_rusage | None]:
        out, err = CappedBuffer(cap), CappedBuffer(cap)
        stop = threading.Event()
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            threading.Thread(target=_drain, args=(proc.stdout, out, stop), daemon=True),
            threading.Thread(target=_drain, args=(proc.stderr, err, stop), daemon=True),
        ]
        for r in readers:
            r.start()
        if stdin is not None and proc.stdin is not None:
            threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
        deadline = None if timeout_s is None else started + max(0.0, timeout_s)
        status, rusage = _wait4(proc, deadline)
        timed_out = status is None
        if timed_out:
            _kill_group(proc)
            status, rusage = _wait4(proc, None)
        _kill_group(proc)
        # output may keep flowing from background jobs that hold the pipes; give it a moment, no more
        for r in readers:
            r.join(0.5)
        stop.set()
        for r in readers:
            r.join(1.0)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        code = None if timed_out or status is None else os.waitstatus_to_exitcode(status)
        if code is not None and code < 0:
            code = 128 - code  # a signal, reported the way a shell does
        return code, out, err, timed_out, rusage


def _wait4(
    proc: subprocess.Popen[bytes], deadline: float | None
) -> tuple[int | None, resource.struct_rusage | None]:
    """Reap ``proc`` with its rusage (which includes every descendant it reaped); (None, None) at the deadline."""
    delay = 0.0005
    while True:
        try:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG if deadline is not None else 0)
        except ChildProcessError:  # reaped elsewhere (never by rgym): no status, no rusage
            return 0, None
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage
        if deadline is not None and time.monotonic() >= deadline:
            return None, None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _read_report(fd: int) -> tuple[float | None, float | None]:
    """The rusage line the wrapper wrote (nothing when the command was killed before it could)."""
    os.set_blocking(fd, False)
    try:
        fields = os.read(fd, 256).split()
        return float(fields[0]), float(fields[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None, None


def _process_chain(pid: int, depth: int) -> list[int]:
    """``pid`` and its first child, that child's first child... ``depth`` processes at most (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    chain = [pid]
    while len(chain) < depth and children.get(chain[-1]):
        chain.append(min(children[chain[-1]]))
    return chain


def _scratch_parent() -> str:
    return str(_NAMESPACES_SCRATCH) if _NAMESPACES_SCRATCH.is_dir() else tempfile.gettempdir()


def _drain(stream: IO[bytes], buf: CappedBuffer, stop: threading.Event) -> None:
    fd = stream.fileno()
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 0.1)
        except (OSError, ValueError):
            return
        if not ready:
            if stop.is_set():
                return
            continue
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            return
        if not chunk:
            return
        buf.feed(chunk)


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        view = memoryview(data)
        for i in range(0, len(view), 1 << 20):
            stream.write(view[i : i + (1 << 20)])
        stream.close()
    except (OSError, ValueError):
        return


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


def _kill_marked(marker: str, uid: int) -> None:
    """SIGKILL processes of ``uid`` carrying the command's marker until none is left (5 s at most)."""
    needle = f"RGYM_EXEC_ID={marker}".encode()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
                with open(f"/proc/{entry}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        os.kill(int(entry), signal.SIGKILL)
                        found = True
            except (OSError, IndexError):
                continue
        if not found:
            return
        time.sleep(0.01)


def _du_mb(root: Path) -> float:
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for n in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, n)).st_size
    return total / (1024 * 1024)
