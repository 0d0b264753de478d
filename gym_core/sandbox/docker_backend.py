"""The Docker backend: one hardened container per sandbox, commands run with ``docker exec``.

Hardening (SPEC.md section 2): the task image, ``network_mode=none`` unless the task asks for egress,
cpu/memory(+swap)/pids limits, a disk limit (:mod:`gym_core.sandbox.disk`), uid 1000, ``cap_drop=ALL``,
``no-new-privileges``, a read-only root filesystem with a writable /workspace and a tmpfs /tmp, docker-init
as PID 1 so orphans are reaped, and labels for `rgym gc`. The container's own main process is
``sleep <wall_time_s>``, so a sandbox whose owner vanished still stops by itself.

Commands use the low-level exec API over the raw hijacked socket: one thread drains the multiplexed stream
(keeping ``cap`` bytes a stream), one feeds stdin, and the caller waits with a deadline. On timeout the
container is frozen (``docker pause``), every process of that command is SIGKILLed from the host (found by
its ``RGYM_EXEC_ID`` marker, its session or its parentage), and the container is thawed. The same sweep
runs after every command, so background jobs end with the command that started them (as they do on the
local backend, where each command has its own pid namespace).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from gym_core.errors import SandboxError
from gym_core.images.engine import docker_client
from gym_core.sandbox.base import (
    WORKSPACE,
    NetworkMode,
    SandboxConfig,
    Usage,
)
from gym_core.sandbox.cgroups import CgroupV1
from gym_core.sandbox.command_sandbox import CommandSandbox, RawResult
from gym_core.sandbox.disk import disk_used_mb, loop_disk_supported, make_loop_disk, unmount
from gym_core.sandbox.labels import sandbox_labels
from gym_core.sandbox.leases import Lease, remove_tree
from gym_core.sandbox.output import CappedBuffer
from gym_core.sandbox.registry import sandbox
from gym_core.settings import get_settings

AGENT_UID = 1000
#: How long a command's output may keep flowing after its main process exited (background jobs that
#: hold the pipe open would otherwise keep the call waiting until the timeout).
_DRAIN_GRACE_S = 0.5


@sandbox("docker")
class DockerSandbox(CommandSandbox):
    """A hardened container per sandbox (see the module docstring)."""

    name = "docker"

    def __init__(self, config: SandboxConfig, *, client: Any | None = None) -> None:
        super().__init__(config)
        self.sandbox_id = uuid.uuid4().hex[:12]
        self._client = client
        self._container_id: str | None = None
        self._scratch = get_settings().sandbox_dir / f"docker-{self.sandbox_id}"
        self._disk_dir: Path | None = None
        self._cgroup: CgroupV1 | None = None
        self._peak_mb = 0.0
        self._commands = 0
        self._deadline: float | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def container_id(self) -> str | None:
        """The container's id once started."""
        return self._container_id

    @property
    def workspace_root(self) -> str:
        """Commands see the workspace at /workspace."""
        return WORKSPACE

    def start(self) -> None:
        """Create and start the container, with /workspace populated from ``config.workspace_src``."""
        if self._container_id is not None:
            return
        import docker.errors
        from docker.types import DeviceRequest
        from docker.types import Mount as DockerMount

        client = self._client or docker_client()
        self._client = client
        cfg, lim = self.config, self.config.limits
        try:
            client.images.get(cfg.image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxError(
                f"image {cfg.image} is not in the local Docker engine", hint="run `rgym images build`"
            ) from exc
        if cfg.workspace_src is not None and not cfg.workspace_src.is_dir():
            raise SandboxError(f"{cfg.workspace_src}: workspace folder does not exist")

        lease = Lease(sandbox_id=self.sandbox_id, backend=self.name)
        lease.save(self._scratch)
        mounts: list[Any] = []
        tmpfs = {"/tmp": f"rw,nosuid,nodev,size={lim.disk_mb}m,mode=1777"}
        try:
            if loop_disk_supported():
                disk = self._scratch / "disk"
                lease.mounts.append(str(disk))
                lease.save(self._scratch)
                make_loop_disk(self._scratch / "disk.img", disk, lim.disk_mb)
                self._disk_dir = disk
                ws = disk / "workspace"
                ws.mkdir()
                if cfg.workspace_src is not None:
                    shutil.copytree(cfg.workspace_src, ws, symlinks=True, dirs_exist_ok=True)
                _chown_tree(ws, AGENT_UID)
                mounts.append(DockerMount(WORKSPACE, str(ws), type="bind", read_only=False))
            else:
                # not root: a tmpfs, which counts against the memory limit (documented in disk.py)
                tmpfs[WORKSPACE] = (
                    f"rw,nosuid,nodev,size={lim.disk_mb}m,uid={AGENT_UID},gid={AGENT_UID},mode=755"
                )
            for m in cfg.mounts:
                if not m.source.exists():
                    raise SandboxError(f"{m.source}: mount source does not exist")
                mounts.append(
                    DockerMount(m.target, str(m.source.resolve()), type="bind", read_only=m.read_only)
                )
            labels = sandbox_labels(cfg)
            device_requests = (
                [DeviceRequest(count=lim.gpus, capabilities=[["gpu"]])] if lim.gpus > 0 else None
            )
            lifetime = str(int(lim.wall_time_s) + 1) if lim.wall_time_s else "infinity"
            container = client.containers.create(
                cfg.image,
                command=["sleep", lifetime],
                name=f"rgym-{cfg.role}-{self.sandbox_id}",
                user=f"{AGENT_UID}:{AGENT_UID}",
                working_dir=WORKSPACE,
                environment={"HOME": "/tmp", **cfg.env},
                labels=labels,
                network_mode="none" if lim.network == NetworkMode.NONE else "bridge",
                read_only=True,
                tmpfs=tmpfs,
                mounts=mounts,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=lim.pids,
                mem_limit=f"{lim.memory_mb}m",
                memswap_limit=f"{lim.memory_mb}m",
                nano_cpus=int(lim.cpus * 1e9),
                init=True,
                device_requests=device_requests,
                detach=True,
            )
            self._container_id = container.id
            lease.container_id = container.id
            lease.save(self._scratch)
            container.start()
            if lim.wall_time_s:
                self._deadline = time.monotonic() + lim.wall_time_s
            self._cgroup = CgroupV1(f"docker/{container.id}")
            if not self._cgroup.available:
                self._cgroup = None
            if self._disk_dir is None and cfg.workspace_src is not None:
                self._populate_via_tar(cfg.workspace_src)
        except docker.errors.APIError as exc:
            self.stop()
            raise SandboxError(f"docker could not start the sandbox: {exc.explanation or exc}") from exc
        except BaseException:
            self.stop()
            raise

    def _populate_via_tar(self, src: Path) -> None:
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(src, arcname=".")
        raw = self.exec_argv_raw(
            ["tar", "-x", "--no-same-owner", "-C", WORKSPACE, "-f", "-"], stdin=buf.getvalue(), timeout_s=600
        )
        if raw.exit_code != 0:
            raise SandboxError(
                f"could not populate /workspace: {raw.stderr.decode(errors='replace').strip()}"
            )

    def stop(self) -> None:
        """Remove the container (killing everything in it), unmount the disk, delete scratch space."""
        cid, self._container_id = self._container_id, None
        if cid is not None and self._client is not None:
            with contextlib.suppress(Exception):
                self._client.api.remove_container(cid, force=True, v=True)
        if self._disk_dir is not None:
            if not unmount(self._disk_dir):
                return  # never delete files under a live mount; the lease lets `rgym gc` retry
            self._disk_dir = None
        if self._scratch.exists():
            remove_tree(self._scratch)

    @property
    def alive(self) -> bool:
        """True while the container runs."""
        if self._container_id is None or self._client is None:
            return False
        try:
            state = self._client.api.inspect_container(self._container_id)["State"]
        except Exception:
            return False
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return False
        return bool(state.get("Running"))

    def usage(self) -> Usage:
        """CPU seconds and peak memory from the container's cgroup; disk from the loop disk."""
        cpu = self._cgroup.cpu_seconds() if self._cgroup else None
        peak = self._cgroup.peak_memory_mb() if self._cgroup else None
        disk = disk_used_mb(self._disk_dir) if self._disk_dir is not None else 0.0
        return Usage(
            cpu_s=cpu or 0.0,
            peak_memory_mb=max(self._peak_mb, peak or 0.0),
            disk_mb=disk,
            commands=self._commands,
        )

    # --- commands ----------------------------------------------------------------------------------

    def _require_alive(self) -> None:
        if self._container_id is None:
            raise SandboxError("the docker sandbox is not running", hint="start() it first")
        if not self.alive:
            raise SandboxError(
                "the docker sandbox has stopped (wall time over, or the container was removed)",
                hint="start a new sandbox",
            )

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
        assert self._client is not None and self._container_id is not None
        api = self._client.api
        if self._deadline is not None:
            left = max(0.0, self._deadline - time.monotonic())
            timeout_s = left if timeout_s is None else min(timeout_s, left)
        marker = uuid.uuid4().hex
        full_env = {"HOME": "/tmp", **env, "RGYM_EXEC_ID": marker, "RGYM_WS": WORKSPACE}
        cg = self._cgroup
        oom_before = cg.oom_kills() if cg else None
        cpu_before = cg.cpu_seconds() if cg else None
        if cg:
            cg.reset_peak()
        started = time.monotonic()
        import docker.errors

        try:
            exec_id = api.exec_create(
                self._container_id,
                argv,
                stdout=True,
                stderr=True,
                stdin=stdin is not None,
                tty=False,
                environment=full_env,
                workdir=cwd,
                user=user or f"{AGENT_UID}:{AGENT_UID}",
            )["Id"]
            sock_io, raw_sock = _open_exec_stream(api, exec_id)
        except docker.errors.DockerException as exc:
            # The container died, was removed by hand, or the engine went away: the sandbox is gone.
            reason = getattr(exc, "explanation", None) or str(exc).splitlines()[0]
            raise SandboxError(f"sandbox {self._container_id[:12]} cannot run commands: {reason}") from exc
        out, err = CappedBuffer(cap), CappedBuffer(cap)
        reader = threading.Thread(target=_read_frames, args=(raw_sock, out, err), daemon=True)
        reader.start()
        writer: threading.Thread | None = None
        if stdin is not None:
            writer = threading.Thread(target=_write_stdin, args=(raw_sock, stdin), daemon=True)
            writer.start()

        deadline = None if timeout_s is None else started + timeout_s
        timed_out = False
        exited_at: float | None = None
        next_check = started + 0.2
        while reader.is_alive():
            reader.join(0.02)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                timed_out = reader.is_alive()
                break
            if now >= next_check:
                next_check = now + 0.2
                if not api.exec_inspect(exec_id).get("Running", False):
                    exited_at = exited_at or now
                    if now - exited_at >= _DRAIN_GRACE_S:
                        break
        # a command's processes end with it (background jobs included), as on the local backend:
        # nothing an agent starts outlives its step, so nothing runs unaccounted between steps
        self._kill_exec(exec_id, marker, user)
        if timed_out:
            reader.join(2.0)
        with contextlib.suppress(OSError):
            raw_sock.shutdown(socket.SHUT_RDWR)
        reader.join(2.0)
        if writer is not None:
            writer.join(2.0)
        with contextlib.suppress(Exception):
            sock_io.close()
        exit_code: int | None = None
        if not timed_out:
            exit_code = _wait_exit_code(api, exec_id)
        duration = time.monotonic() - started
        oom_after = cg.oom_kills() if cg else None
        oom = oom_before is not None and oom_after is not None and oom_after > oom_before
        cpu_after = cg.cpu_seconds() if cg else None
        peak = cg.peak_memory_mb() if cg else None
        if peak is not None:
            self._peak_mb = max(self._peak_mb, peak)
        self._commands += 1
        return RawResult(
            exit_code=exit_code,
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            duration_s=duration,
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            timed_out=timed_out,
            oom_killed=oom,
            cpu_s=None if cpu_before is None or cpu_after is None else max(0.0, cpu_after - cpu_before),
            peak_memory_mb=peak,
        )

    def _ensure_thawed(self) -> None:
        """Unpause the container if it is paused, retrying briefly; raise if it stays frozen."""
        import docker.errors

        assert self._client is not None and self._container_id is not None
        api = self._client.api
        for attempt in range(5):
            try:
                if not api.inspect_container(self._container_id)["State"].get("Paused"):
                    return
                api.unpause(self._container_id)
            except docker.errors.NotFound:
                return
            except Exception:
                time.sleep(0.1 * (attempt + 1))  # the daemon is busy; back off and look again
        raise SandboxError(
            f"sandbox {self._container_id[:12]} stays paused after killing a timed-out command"
        )

    def _kill_exec(self, exec_id: str, marker: str, user: str | None) -> None:
        """Kill every process of one exec: its tree, its session, and anything carrying its marker."""
        assert self._client is not None and self._container_id is not None
        api = self._client.api
        root_pid = int(api.exec_inspect(exec_id).get("Pid") or 0)
        if self._cgroup is not None and os.geteuid() == 0:
            if not _exec_processes(self._cgroup.pids(), root_pid, marker):
                return
            # Freeze through the cgroup freezer directly (what `docker pause` does), not the API: an API
            # pause that times out on the client can still land later and leave the sandbox frozen.
            cgroup = self._cgroup
            frozen = cgroup.freeze(True)
            try:
                deadline = time.monotonic() + 10.0
                while time.monotonic() < deadline:
                    victims = _exec_processes(cgroup.pids(), root_pid, marker)
                    if not victims:
                        break
                    for pid in victims:
                        with contextlib.suppress(OSError):
                            os.kill(pid, 9)
                    if frozen:  # SIGKILL lands when thawed; re-freeze to catch forks in flight
                        cgroup.freeze(False)
                        frozen = cgroup.freeze(True)
                    else:
                        time.sleep(0.01)
            finally:
                cgroup.freeze(False)
                self._ensure_thawed()  # and undo any pause another client left behind
            return
        # not root: kill from inside, as the same user, by marker (works unless the pids limit is full)
        with contextlib.suppress(Exception):
            kid = api.exec_create(
                self._container_id,
                ["bash", "-c", _KILL_BY_MARKER, "rgym-kill", marker],
                user=user or f"{AGENT_UID}:{AGENT_UID}",
            )["Id"]
            api.exec_start(kid)


_KILL_BY_MARKER = r"""
for round in 1 2 3 4 5; do
  found=
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    if grep -qz "^RGYM_EXEC_ID=$1\$" "$p/environ" 2>/dev/null; then kill -9 "$pid" 2>/dev/null && found=1; fi
  done
  [ -z "$found" ] && break
done
"""


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, session id) of a live host process; None for a gone process or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return None
        return int(fields[1]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def _has_marker(pid: int, marker: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return f"RGYM_EXEC_ID={marker}".encode() in fh.read().split(b"\0")
    except OSError:
        return False


def _exec_processes(pids: list[int], root_pid: int, marker: str) -> list[int]:
    """Which of ``pids`` belong to one exec: descendants of its root, its session, or marked."""
    stats = {pid: _proc_stat(pid) for pid in pids}
    root_stat = stats.get(root_pid)
    root_sid = root_stat[1] if root_stat else 0
    tree = {root_pid} if root_pid else set()
    changed = True
    while changed:
        changed = False
        for pid, st in stats.items():
            if st and pid not in tree and st[0] in tree:
                tree.add(pid)
                changed = True
    victims = []
    for pid, st in stats.items():
        if st is None:
            continue
        if pid in tree or (root_sid and st[1] == root_sid) or _has_marker(pid, marker):
            victims.append(pid)
    return victims


def _open_exec_stream(api: Any, exec_id: str) -> tuple[Any, socket.socket]:
    """Start an exec and return its hijacked connection.

    On a unix socket we speak the upgrade request ourselves and read the response head byte by byte:
    docker-py parses it through a buffered reader that may swallow the first bytes of the stream (an
    exec that fails at once, e.g. an unknown user, would lose its only output). Other transports go
    through docker-py.
    """
    adapter = getattr(api, "_custom_adapter", None)
    socket_path = getattr(adapter, "socket_path", None)
    if not socket_path:
        sock_io = api.exec_start(exec_id, socket=True, tty=False)
        return sock_io, getattr(sock_io, "_sock", sock_io)
    body = b'{"Detach": false, "Tty": false}'
    head = (
        f"POST /v{api._version}/exec/{exec_id}/start HTTP/1.1\r\n"
        "Host: docker\r\nContent-Type: application/json\r\n"
        f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(60)
        sock.connect(socket_path)
        sock.sendall(head + body)
        response = b""
        while not response.endswith(b"\r\n\r\n"):
            byte = sock.recv(1)
            if not byte:
                break
            response += byte
        status_line = response.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = status_line.split()
        if len(parts) < 2 or parts[1] not in ("101", "200"):
            detail = sock.recv(4096).decode(errors="replace").strip()
            raise SandboxError(f"docker exec could not start: {status_line} {detail}".strip())
        sock.settimeout(None)
    except OSError as exc:
        sock.close()
        raise SandboxError(f"docker exec could not start: {exc}") from exc
    except BaseException:
        sock.close()
        raise
    return sock, sock


def _read_frames(sock: socket.socket, out: CappedBuffer, err: CappedBuffer) -> None:
    """Drain Docker's multiplexed stream (8-byte header: stream id, 3 pad bytes, big-endian size)."""
    buf = b""
    need_header = True
    stream, size = 0, 0
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            return
        if not chunk:
            return
        buf += chunk
        while True:
            if need_header:
                if len(buf) < 8:
                    break
                stream, size = struct.unpack(">BxxxL", buf[:8])
                buf = buf[8:]
                need_header = False
            if not buf and size:
                break
            take = buf[:size]
            buf = buf[len(take) :]
            size -= len(take)
            (err if stream == 2 else out).feed(take)
            if size == 0:
                need_header = True
            else:
                break


def _write_stdin(sock: socket.socket, data: bytes) -> None:
    """Feed stdin then half-close, so the command sees EOF."""
    try:
        view = memoryview(data)
        for i in range(0, len(view), 1 << 20):
            sock.sendall(view[i : i + (1 << 20)])
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return  # the command exited without reading all of it, or we hung up after a timeout


def _wait_exit_code(api: Any, exec_id: str) -> int | None:
    deadline = time.monotonic() + 5.0
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running", False) or time.monotonic() > deadline:
            code = info.get("ExitCode")
            return None if code is None else int(code)
        time.sleep(0.02)


def _chown_tree(root: Path, uid: int) -> None:
    """Give the agent user the workspace (lchown: links themselves, never their targets)."""
    os.lchown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)
