"""The local backend: commands run on this machine, under bubblewrap when it is installed.

With bubblewrap each command runs in fresh user, pid, net, ipc and uts namespaces (``--unshare-all``),
``--die-with-parent`` and ``--new-session``, over a read-only view of the system (/usr, /etc and the Python
that runs rgym) with only the sandbox's own /workspace and /tmp writable; the task folders, the user's home
and everything else on the host are simply not there. Killing bwrap ends its pid namespace, so a timeout
kills the whole tree, escaped daemons included. Background jobs therefore end with their command (unlike
Docker, where they may outlive it).

When rgym runs as root, commands still run as ``nobody`` (uid 65534), inside a cgroup v1 group with the
memory, pids and cpu limits (so an OOM is a real, reported OOM kill), and /workspace plus /tmp live on a
loop-mounted disk of ``disk_mb``.

Without bubblewrap it falls back to a plain subprocess with rlimits (address space, processes, file size)
in its own session, and warns once that isolation is weak: the host filesystem stays visible (with the
user's permissions), the network is reachable, and /workspace is the scratch folder's real path.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import IO

from gym_core.errors import BackendUnavailableError, SandboxError
from gym_core.sandbox import shell_session as sh
from gym_core.sandbox.base import WORKSPACE, NetworkMode, SandboxConfig, Usage
from gym_core.sandbox.cgroups import CgroupV1
from gym_core.sandbox.command_sandbox import CommandSandbox, RawResult
from gym_core.sandbox.disk import disk_used_mb, loop_disk_supported, make_loop_disk, unmount
from gym_core.sandbox.leases import Lease, remove_tree
from gym_core.sandbox.output import CappedBuffer
from gym_core.sandbox.registry import sandbox
from gym_core.settings import get_settings

#: The unprivileged user commands run as when rgym itself runs as root.
NOBODY = 65534
_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


class WeakIsolationWarning(UserWarning):
    """Warned once when the local backend runs without bubblewrap."""


def _unshare_flags() -> list[str]:
    if os.geteuid() == 0:
        # as root no user namespace: bwrap sets up mounts with root's reach (a 0700 data dir is fine),
        # then setpriv drops to nobody with no capabilities at all before the command runs
        return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    return ["--unshare-all"]


def _setpriv() -> list[str]:
    """The argv prefix that drops root to nobody inside the sandbox (empty when we are not root)."""
    if os.geteuid() != 0:
        return []
    return [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


@lru_cache(maxsize=1)
def bubblewrap_usable() -> bool:
    """True when ``bwrap`` exists and can make its namespaces here (as the user commands will run as)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    argv = [bwrap, *_unshare_flags(), "--die-with-parent", "--ro-bind", "/", "/", *_setpriv(), "true"]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _drop_privileges_fn(
    cgroup: CgroupV1 | None, limits: list[tuple[int, int]], *, become_nobody: bool
) -> Callable[[], None]:
    """What the child does before exec: join the cgroup, set rlimits, and maybe become nobody."""

    def run() -> None:
        if cgroup is not None:
            cgroup.attach_self()
        for which, value in limits:
            resource.setrlimit(which, (value, value))
        if become_nobody and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    return run


@sandbox("local")
class LocalSandbox(CommandSandbox):
    """Commands on this machine, under bubblewrap when present (see the module docstring)."""

    name = "local"

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.sandbox_id = uuid.uuid4().hex[:12]
        self._scratch = get_settings().sandbox_dir / f"local-{self.sandbox_id}"
        self._root: Path | None = None
        self._loop = False
        self._bwrap = False
        self._cgroup: CgroupV1 | None = None
        self._started_at: float | None = None
        self._peak_mb = 0.0
        self._cpu_s = 0.0
        self._commands = 0
        self._children: set[subprocess.Popen[bytes]] = set()

    # --- layout ------------------------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        """True when commands run under bubblewrap."""
        return self._bwrap

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
        """/workspace under bubblewrap; the scratch folder's real path without it."""
        return WORKSPACE if self._bwrap or self._root is None else str(self.host_workspace)

    @property
    def state_file(self) -> str:
        """The session state file, as commands see it."""
        if self._bwrap or self._root is None:
            return sh.STATE_FILE
        return str(self.host_tmp / ".rgym" / "session.sh")

    @property
    def _run_uid(self) -> int:
        return NOBODY if os.geteuid() == 0 else os.geteuid()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Make the scratch disk, copy the workspace in, and set up the cgroup."""
        if self._started_at is not None:
            return
        cfg, lim = self.config, self.config.limits
        if cfg.workspace_src is not None and not cfg.workspace_src.is_dir():
            raise SandboxError(f"{cfg.workspace_src}: workspace folder does not exist")
        self._bwrap = bubblewrap_usable()
        if not self._bwrap:
            if cfg.mounts:
                raise BackendUnavailableError(
                    "the local backend needs bubblewrap to mount " + ", ".join(m.target for m in cfg.mounts),
                    hint="apt-get install bubblewrap, or use --backend docker",
                )
            warnings.warn(
                "bubblewrap (bwrap) is not usable here: the local sandbox is a plain subprocess with rlimits; "
                "isolation is weak (host files and network are reachable). Install bubblewrap or use docker.",
                WeakIsolationWarning,
                stacklevel=2,
            )
        if not self._bwrap and os.geteuid() == 0 and not _others_can_traverse(self._scratch.parent):
            raise BackendUnavailableError(
                f"without bubblewrap, commands run as nobody, who cannot reach {self._scratch.parent}",
                hint="install bubblewrap, or set RGYM_DATA_DIR to a folder others may traverse (chmod o+x)",
            )
        lease = Lease(sandbox_id=self.sandbox_id, backend=self.name)
        lease.save(self._scratch)
        try:
            root = self._scratch / "disk"
            if loop_disk_supported():
                lease.mounts.append(str(root))
                lease.save(self._scratch)
                make_loop_disk(self._scratch / "disk.img", root, lim.disk_mb)
                self._loop = True
            root.mkdir(parents=True, exist_ok=True)
            self._root = root
            self.host_workspace.mkdir()
            self.host_tmp.mkdir()
            if cfg.workspace_src is not None:
                shutil.copytree(cfg.workspace_src, self.host_workspace, symlinks=True, dirs_exist_ok=True)
            if os.geteuid() == 0:
                for top in (self.host_workspace, self.host_tmp):
                    for dirpath, dirnames, filenames in os.walk(top):
                        os.lchown(dirpath, NOBODY, NOBODY)
                        for n in filenames + dirnames:
                            os.lchown(os.path.join(dirpath, n), NOBODY, NOBODY)
                # nobody must reach the disk root to use it when not bubblewrapped
                os.chmod(root, 0o755)
            if os.geteuid() == 0:
                # The owner's pid in the name lets `rgym gc` from any data dir tell a live group from a leftover.
                cg = CgroupV1(f"rgym/{os.getpid()}-{self.sandbox_id}")
                if cg.create(memory_mb=lim.memory_mb, pids=lim.pids, cpus=lim.cpus):
                    self._cgroup = cg
                    lease.cgroup = cg.name
                    lease.save(self._scratch)
        except BaseException:
            self.stop()
            raise
        self._started_at = time.monotonic()

    def stop(self) -> None:
        """Kill every command still running, remove the cgroup, unmount and delete scratch space."""
        for proc in list(self._children):
            _kill_group(proc)
        self._children.clear()
        if self._cgroup is not None:
            self._cgroup.destroy()
            self._cgroup = None
        if self._loop and self._root is not None:
            if not unmount(self._root):
                return  # never delete files under a live mount; the lease lets `rgym gc` retry
            self._loop = False
        if self._scratch.exists():
            remove_tree(self._scratch)
        self._root = None
        self._started_at = None

    @property
    def alive(self) -> bool:
        """True from start() until stop() or the end of the wall time."""
        if self._started_at is None:
            return False
        wall = self.config.limits.wall_time_s
        return wall is None or time.monotonic() - self._started_at < wall

    def usage(self) -> Usage:
        """CPU seconds and peak memory (from the cgroup when there is one), and disk used."""
        disk = 0.0
        if self._root is not None:
            disk = disk_used_mb(self._root) if self._loop else _du_mb(self._root)
        return Usage(cpu_s=self._cpu_s, peak_memory_mb=self._peak_mb, disk_mb=disk, commands=self._commands)

    # --- commands ----------------------------------------------------------------------------------

    def _bwrap_argv(self, argv: list[str], cwd: str, env: dict[str, str]) -> list[str]:
        out = ["bwrap", *_unshare_flags(), "--die-with-parent", "--new-session", "--clearenv"]
        if self.config.limits.network == NetworkMode.EGRESS:
            out = [a for a in out if a != "--unshare-net"]
            out.append("--share-net")
        for top in ("/usr", "/etc", "/opt"):
            if os.path.isdir(top):
                out += ["--ro-bind", top, top]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                out += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                out += ["--ro-bind", top, top]
        out += ["--proc", "/proc", "--dev", "/dev"]
        out += ["--bind", str(self.host_workspace), WORKSPACE, "--bind", str(self.host_tmp), "/tmp"]
        # The Python that runs rgym (often a venv outside /usr), so agents have its packages. Bound after
        # /tmp, because a later mount hides an earlier one: a checkout under /tmp must stay visible.
        made: set[str] = set()
        for prefix in sorted({sys.prefix, sys.base_prefix}):
            if prefix.startswith(("/usr", "/opt")):
                continue
            # traversable parents (bwrap would make them 0700 root, e.g. /root for a pyenv python)
            for parent in reversed(Path(prefix).parents[:-1]):
                if str(parent) not in made and str(parent) not in ("/tmp", WORKSPACE):
                    made.add(str(parent))
                    out += ["--perms", "0755", "--dir", str(parent)]
            out += ["--ro-bind", prefix, prefix]
        for m in self.config.mounts:
            if not m.source.exists():
                raise SandboxError(f"{m.source}: mount source does not exist")
            out += ["--ro-bind" if m.read_only else "--bind", str(m.source.resolve()), m.target]
        for key, value in env.items():
            out += ["--setenv", key, value]
        out += ["--chdir", cwd, "--", *_setpriv(), *argv]
        return out

    def _env(self, env: dict[str, str], marker: str) -> dict[str, str]:
        bindir = os.path.join(sys.prefix, "bin")
        home = "/tmp" if self._bwrap else str(self.host_tmp)
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
            # no cgroup: rlimits are all we have (per process, and NPROC counts the whole uid)
            limits += [
                (resource.RLIMIT_AS, lim.memory_mb * 1024 * 1024),
                (resource.RLIMIT_NPROC, lim.pids),
            ]
        return limits

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
        if user not in (None, "", str(self._run_uid)) and not (user == "nobody" and self._run_uid == NOBODY):
            raise SandboxError(
                f"the local backend runs every command as one unprivileged user; cannot run as {user!r}"
            )
        if self._started_at is not None and self.config.limits.wall_time_s is not None:
            left = self.config.limits.wall_time_s - (time.monotonic() - self._started_at)
            timeout_s = left if timeout_s is None else min(timeout_s, left)
        marker = uuid.uuid4().hex
        full_env = self._env(env, marker)
        cg = self._cgroup
        if self._bwrap:
            cmd = self._bwrap_argv(argv, cwd, full_env)
            popen_env = {"PATH": _PATH}
            popen_cwd = "/"
        else:
            cmd, popen_env, popen_cwd = argv, full_env, cwd
        oom_before = cg.oom_kills() if cg else None
        cpu_before = cg.cpu_seconds() if cg else None
        if cg:
            cg.reset_peak()
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=popen_cwd,
                env=popen_env,
                start_new_session=True,
                preexec_fn=_drop_privileges_fn(cg, self._rlimits(), become_nobody=not self._bwrap),
            )
        except FileNotFoundError:
            return RawResult(127, b"", f"{argv[0]}: command not found\n".encode(), 0.0)
        except PermissionError as exc:
            return RawResult(126, b"", f"{argv[0]}: {exc.strerror}: permission denied\n".encode(), 0.0)
        self._children.add(proc)
        try:
            result = self._wait(proc, stdin, timeout_s, cap, started, marker)
        finally:
            self._children.discard(proc)
        oom = False
        cpu = peak = None
        if cg:
            oom_after = cg.oom_kills()
            oom = oom_before is not None and oom_after is not None and oom_after > oom_before
            cpu_after = cg.cpu_seconds()
            if cpu_before is not None and cpu_after is not None:
                cpu = max(0.0, cpu_after - cpu_before)
                self._cpu_s += cpu
            peak = cg.peak_memory_mb()
            if peak is not None:
                self._peak_mb = max(self._peak_mb, peak)
        self._commands += 1
        code, out, err, timed_out = result
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
        marker: str,
    ) -> tuple[int | None, CappedBuffer, CappedBuffer, bool]:
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
        timed_out = False
        try:
            proc.wait(
                timeout=None if timeout_s is None else max(0.0, timeout_s - (time.monotonic() - started))
            )
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        # a command's processes end with it: its group, then anything carrying its marker (under
        # bubblewrap the pid namespace is already going down; this waits until it is gone)
        _kill_group(proc)
        _kill_marked(marker, self._run_uid, self._cgroup)
        # output may keep flowing from background jobs that hold the pipes; give it a moment, no more
        for r in readers:
            r.join(0.5)
        stop.set()
        for r in readers:
            r.join(1.0)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        code = None if timed_out else proc.returncode
        if code is not None and code < 0:
            code = 128 - code  # a signal, reported the way a shell does
        return code, out, err, timed_out


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


def _kill_marked(marker: str, uid: int, cgroup: CgroupV1 | None) -> None:
    """SIGKILL processes carrying the command's marker until none is left (5 s at most).

    Candidates are the sandbox's cgroup members when there is one, else every process of ``uid``.
    """
    needle = f"RGYM_EXEC_ID={marker}".encode()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if cgroup is not None:
            candidates = [str(p) for p in cgroup.pids()]
        else:
            candidates = [e for e in os.listdir("/proc") if e.isdigit()]
        found = False
        for entry in candidates:
            try:
                if cgroup is None and os.stat(f"/proc/{entry}").st_uid != uid:
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


def _others_can_traverse(folder: Path) -> bool:
    """True when a user other than the owner may walk down to ``folder`` (o+x on it and every parent)."""
    folder.mkdir(parents=True, exist_ok=True)
    resolved = folder.resolve()
    return all(part.stat().st_mode & 0o001 for part in [resolved, *resolved.parents])


def _du_mb(root: Path) -> float:
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for n in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, n)).st_size
    return total / (1024 * 1024)
