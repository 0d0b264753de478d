"""The exec channel: one long-lived process inside a sandbox that runs its commands, reached over one stream.

Starting a process inside a sandbox for every command (``docker exec``, a fresh ``bwrap``) costs tens of
milliseconds; writing a request down a stream that is already open costs microseconds. So a backend starts
this small program (:data:`CHANNEL_SCRIPT`, Python's standard library only) inside the sandbox when the
sandbox starts, over one attached exec socket on Docker and a pair of pipes on the local backend, and
sends it the sandbox's commands. Everything the one-exec design offered stays:

- every command runs in a **fresh process tree** (its own session, a fresh ``bash`` for the shell
  session, :mod:`gym_core.sandbox.shell_session`), so ``exit``, ``exec`` or ``kill -9 $$`` end one command;
- on **timeout** the channel kills the command's process group and every process carrying its marker;
  when no other command of the sandbox runs, the backend asks for a **sweep** (``kill(-1)`` as the agent's
  uid, repeated until ``/proc`` shows none of its processes but the channel), so background jobs end with
  their command;
- output is **binary-safe and capped** in the channel: it keeps ``cap`` bytes of each stream, counts the
  rest, and answers with one length-prefixed frame: exit code, timeout and truncation flags, the figures
  (CPU, memory, OOM kills from the sandbox's own cgroup, or the command's rusage), then the bytes.

**Trust.** The channel runs as the agent's uid with no capabilities, so the agent can kill or stop it. It
cannot do more: the channel makes itself non-dumpable (``PR_SET_DUMPABLE`` 0) before it reads anything, so
the agent's processes can neither open its descriptors through ``/proc/<pid>/fd`` (the pipes to the host)
nor read or trace its memory; its children get fresh pipes and none of its descriptors. A command's output
is in the channel's memory only until it is sent. Every reply carries a magic, the request's sequence
number and its exact length, and the host reads exactly that; anything else (a frame for another request,
bytes after a reply, an end of stream, no answer in time) breaks the channel (:class:`ChannelBrokenError`)
and the backend starts a new one after a root sweep, or runs the command with one exec. An agent that kills
its channel only slows itself down: its step completes, with the output lost if the channel died while the
command ran.

The channel refuses to start where its sweep could reach beyond the sandbox: pid 1 must be a container's or
bubblewrap's init.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from gym_core.errors import ChannelBrokenError
from gym_core.sandbox import shell_session as sh
from gym_core.sandbox.base import RawResult

#: Reply frames start with it: b"RGC1", then the request's sequence number and the payload's length.
MAGIC = b"RGC1"
_REPLY_HEAD = struct.Struct(">4sII")
_REQUEST_HEAD = struct.Struct(">II")
_LEN = struct.Struct(">I")
#: Largest stdin a command may send over the channel; a bigger one runs with one exec per command.
MAX_STDIN_BYTES = 8 * 1024 * 1024
#: How long a reply may lag behind the command's own timeout before the host gives up on the channel.
REPLY_SLACK_S = 10.0
#: How long a started channel has to say hello.
HELLO_TIMEOUT_S = 30.0
#: How long a sweep may take before the host gives up on the channel.
SWEEP_TIMEOUT_S = 30.0
#: A command's stderr when its channel died while it ran (the agent killed or stopped it).
CHANNEL_LOST = (
    b"[rgym: the command's exec channel was killed while it ran; the rest of its output and its exit status "
    b"are lost]\n"
)

#: Run inside the sandbox with ``python3 -I -S -c``. Reads requests on fd 0, answers on fd 1, complains on fd 2.
CHANNEL_SCRIPT = r"""
import ctypes, json, os, select, signal, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(4, 0, 0, 0, 0) != 0 or libc.prctl(3, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE 0, then check
    sys.stderr.write("rgym-channel refused: cannot make itself non-dumpable\n"); sys.exit(97)
try:
    with open("/proc/1/comm") as fh:
        init = fh.read().strip()
except OSError:
    init = ""
if init not in ("docker-init", "tini", "catatonit", "bwrap"):
    sys.stderr.write(f"rgym-channel refused: pid 1 is {init or 'unknown'}, not a sandbox's init\n"); sys.exit(97)
ME, UID, GRACE = os.getpid(), os.getuid(), 0.5
HAS_PIDFD = hasattr(os, "pidfd_open")
CG = None
if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
    CG = ("/sys/fs/cgroup/cpu.stat", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.peak",
          "/sys/fs/cgroup/memory.events", 2)
elif os.path.exists("/sys/fs/cgroup/memory/memory.usage_in_bytes"):
    CG = ("/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
          "/sys/fs/cgroup/memory/memory.max_usage_in_bytes", "/sys/fs/cgroup/memory/memory.oom_control", 1)

def read_int(path):
    try:
        with open(path) as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None

def read_key(path, key):
    try:
        with open(path) as fh:
            for line in fh:
                k, _, v = line.partition(" ")
                if k == key:
                    return int(v)
    except (OSError, ValueError):
        pass
    return None

def cg_reading():
    if CG is None:
        return None
    cpu = read_key(CG[0], "usage_usec") if CG[4] == 2 else read_int(CG[0])
    if cpu is not None and CG[4] == 2:
        cpu *= 1000
    return {"cpu_ns": cpu, "peak": read_int(CG[2]), "oom": read_key(CG[3], "oom_kill")}

def read_exact(n):
    parts, got = [], 0
    while got < n:
        chunk = os.read(0, min(n - got, 1 << 20))
        if not chunk:
            sys.exit(0)
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)

def send(seq, meta, *blobs):
    m = json.dumps(meta).encode()
    payload = b"".join((struct.pack(">I", len(m)), m) + blobs)
    data = memoryview(b"".join((b"RGC1", struct.pack(">II", seq, len(payload)), payload)))
    while data:
        data = data[os.write(1, data):]

def alive_others():
    left = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or entry == "1" or int(entry) == ME:
            continue
        try:
            if os.stat("/proc/" + entry).st_uid != UID:
                continue
            if zombie("/proc/" + entry) and all(
                zombie("/proc/" + entry + "/task/" + t) for t in os.listdir("/proc/" + entry + "/task")
            ):
                continue  # a zombie whose every thread is gone (a main thread that exited alone is not)
        except (OSError, IndexError):
            continue
        left += 1
    return left

def zombie(path):
    with open(path + "/stat", "rb") as fh:
        return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"

def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return

def sweep():
    left = 0
    for _ in range(500):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        reap()
        left = alive_others()
        if not left:
            return 0
        time.sleep(0.002)
    return left

def drop_shm():
    # System V segments of the agent's uid, once none of its processes is left: a segment nobody removed
    # would stay pinned (in the sandbox's memory, out of any OOM kill's reach) after the command that made
    # it. The channel's ipc namespace is the sandbox's own (a container's also has shm_rmid_forced).
    try:
        with open("/proc/sysvipc/shm") as fh:
            rows = fh.read().splitlines()[1:]
    except OSError:
        return
    for row in rows:
        cols = row.split()  # key shmid perms size cpid lpid nattch uid gid cuid cgid ...
        if len(cols) > 7 and cols[7] == str(UID):
            libc.shmctl(int(cols[1]), 0, None)  # IPC_RMID

def kill_marked(marker):
    needle = ("RGYM_EXEC_ID=" + marker).encode()
    for _ in range(5):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == ME:
                continue
            try:
                with open("/proc/" + entry + "/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        os.kill(int(entry), signal.SIGKILL)
                        found = True
            except OSError:
                continue
        if not found:
            return

def run(seq, meta, stdin):
    env = dict(os.environ) if meta["inherit_env"] else {}
    env.update(meta["env"])
    cap, timeout = meta["cap"], meta["timeout"]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    if stdin is not None:
        in_r, in_w = os.pipe()
    else:
        in_r, in_w = os.open("/dev/null", os.O_RDONLY), None
    before = cg_reading()
    high = 0
    started = time.monotonic()
    failed = None
    try:
        os.chdir(meta["cwd"])
        # vfork semantics: much cheaper than fork() on a loaded machine. Every descriptor of the channel
        # but 0-2 is close-on-exec, and 0-2 are replaced: the command inherits none of the channel's.
        pid = os.posix_spawnp(meta["argv"][0], meta["argv"], env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except OSError as exc:
        failed = exc
    finally:
        os.chdir("/")
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    if failed is not None:
        for fd in (out_r, err_r) + ((in_w,) if in_w is not None else ()):
            os.close(fd)
        msg = f"{meta['argv'][0]}: cannot execute: {failed.strerror}\n".encode()
        code = 127 if isinstance(failed, FileNotFoundError) and failed.filename != meta["cwd"] else 126
        return ({"exit_code": code, "timed_out": False, "duration_s": time.monotonic() - started,
                 "out_total": 0, "err_total": len(msg[:cap]), "out_len": 0, "err_len": len(msg[:cap]),
                 "before": before, "after": before, "high": None, "rusage": None}, b"", msg[:cap])
    pidfd = None
    if HAS_PIDFD:
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = None
    kept = {out_r: 0, err_r: 0}
    total = {out_r: 0, err_r: 0}
    open_fds = [out_r, err_r]
    pending = memoryview(stdin) if stdin is not None else None
    if in_w is not None:
        os.set_blocking(in_w, False)
    deadline = None if timeout is None else started + timeout
    status = rusage = exited_at = None
    timed_out = False
    poll = 0.0005
    while True:
        if status is None:
            try:
                wpid, wstatus, wru = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                wpid, wstatus, wru = pid, 0, None
            if wpid:
                status, rusage, exited_at = wstatus, wru, time.monotonic()
        now = time.monotonic()
        if status is not None and not open_fds:
            break
        if status is not None and now - exited_at >= GRACE:
            break
        if deadline is not None and now >= deadline and status is None:
            timed_out = True
            break
        waits = [1.0]
        if deadline is not None:
            waits.append(deadline - now)
        if status is not None:
            waits.append(exited_at + GRACE - now)
        elif pidfd is None:
            waits.append(poll)
            poll = min(poll * 2, 0.05)
        if CG is not None:
            waits.append(0.1)
        rlist = list(open_fds)
        if status is None and pidfd is not None:
            rlist.append(pidfd)
        wlist = [in_w] if in_w is not None else []
        try:
            ready, writable, _ = select.select(rlist, wlist, [], max(0.0, min(waits)))
        except InterruptedError:
            continue
        if CG is not None:
            now_mem = read_int(CG[1])
            if now_mem is not None and now_mem > high:
                high = now_mem
        for fd in ready:
            if fd == pidfd:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                open_fds.remove(fd)
                os.close(fd)
                continue
            total[fd] += len(chunk)
            room = cap - kept[fd]
            if room > 0:
                kept[fd] += min(room, len(chunk))
                send(seq, {"chunk": 1 if fd == out_r else 2}, chunk[:room])  # what a killed channel leaves
        if writable:
            try:
                n = os.write(in_w, pending[: 1 << 16])
                pending = pending[n:]
            except BlockingIOError:
                n = 0
            except OSError:
                pending = pending[:0]
            if not pending:
                os.close(in_w)
                in_w = None
    if in_w is not None:
        os.close(in_w)
    for fd in open_fds:
        os.close(fd)
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        kill_marked(meta["marker"])
    if status is None:
        try:
            _, status, rusage = os.wait4(pid, 0)
        except ChildProcessError:
            status = 0
    if pidfd is not None:
        os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    code = None if timed_out else os.waitstatus_to_exitcode(status)
    if code is not None and code < 0:
        code = 128 - code
    state = meta.get("rename")
    if state and not timed_out:
        try:
            os.rename(state + ".new", state)
        except OSError:
            pass
    after = cg_reading()
    if after is not None:
        now_mem = read_int(CG[1])
        if now_mem is not None and now_mem > high:
            high = now_mem
    reply = {
        "exit_code": code, "timed_out": timed_out, "duration_s": time.monotonic() - started,
        "out_total": total[out_r], "err_total": total[err_r],
        "out_len": 0, "err_len": 0, "out_kept": kept[out_r], "err_kept": kept[err_r],
        "before": before, "after": after, "high": high or None,
        "rusage": None if rusage is None else [rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss],
        "clean": (reap(), alive_others())[1] == 0,
    }
    if reply["clean"]:
        drop_shm()
    return reply, b"", b""

send(0, {"hello": "rgym-channel", "pid": ME, "uid": UID, "cgroup": CG[4] if CG else None})
while True:
    seq, size = struct.unpack(">II", read_exact(8))
    payload = read_exact(size)
    (mlen,) = struct.unpack(">I", payload[:4])
    meta = json.loads(payload[4:4 + mlen])
    if meta.get("op") == "sweep":
        reap()
        left = sweep()
        if not left:
            drop_shm()
        send(seq, {"left": left, "after": cg_reading()})
        continue
    stdin = payload[4 + mlen:] if meta.get("stdin") else None
    reply, out, err = run(seq, meta, stdin)
    reap()
    send(seq, reply, out, err)
"""


class Transport(Protocol):
    """A byte stream to the channel: what a backend opened it over (an exec socket, a pair of pipes)."""

    def send(self, data: bytes) -> None:
        """Write all of ``data`` (raises ChannelBrokenError when the channel is gone)."""

    def read_exact(self, size: int, deadline: float | None) -> bytes:
        """The next ``size`` bytes of the channel's stdout (raises ChannelBrokenError on end or deadline)."""

    def pending(self) -> bool:
        """True when bytes the host did not ask for are already waiting (a forged or stray frame)."""

    def diagnostics(self) -> str:
        """What the channel wrote on its stderr (why it refused or died), shortened."""

    def close(self) -> None:
        """Hang up; the channel exits when its stdin ends."""


@dataclass
class ChannelReply:
    """One command's result as the channel reported it."""

    exit_code: int | None
    timed_out: bool
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float
    before: dict[str, int | None] | None = None
    """The sandbox cgroup's figures before the command (cpu_ns, peak, oom), where the channel reads them."""
    after: dict[str, int | None] | None = None
    high: int | None = None
    """The most memory sampled while the command ran (bytes)."""
    rusage: tuple[float, int] | None = None
    """The command's own CPU seconds and max RSS in KiB (its main process and the children it reaped)."""
    clean: bool = False
    """No process of the agent's uid but the channel was alive when the command ended: nothing to sweep
    (nothing is left that could start one; a concurrent command is the backend's to know of)."""
    extra: dict[str, Any] = field(default_factory=dict)


class ExecChannel:
    """The host's side of one channel: sends requests, reads exactly their replies.

    Not thread-safe: one command at a time (backends run concurrent commands with one exec each).
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._seq = 0
        self.broken = False
        self.hello: dict[str, Any] = {}
        self._streamed: tuple[bytearray, bytearray] = (bytearray(), bytearray())

    def open(self, timeout_s: float = HELLO_TIMEOUT_S) -> dict[str, Any]:
        """Wait for the channel's hello (raises ChannelBrokenError when it refused or said nothing)."""
        meta, _ = self._read_reply(0, time.monotonic() + timeout_s)
        if meta.get("hello") != "rgym-channel":
            self._break("the channel's first frame is not its hello")
        self.hello = meta
        return meta

    @property
    def partial(self) -> tuple[bytes, bytes]:
        """The output of the last command as it streamed in: what is left of it when the channel broke."""
        return bytes(self._streamed[0]), bytes(self._streamed[1])

    def run(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        inherit_env: bool,
        cwd: str,
        timeout_s: float | None,
        cap: int,
        stdin: bytes | None,
        marker: str,
        rename_state: str | None = None,
    ) -> ChannelReply:
        """Run one command in a fresh process tree; the channel kills the tree on timeout."""
        meta = {
            "argv": argv,
            "env": env,
            "inherit_env": inherit_env,
            "cwd": cwd,
            "timeout": timeout_s,
            "cap": cap,
            "marker": marker,
            "stdin": stdin is not None,
            "rename": rename_state,
        }
        deadline = None if timeout_s is None else time.monotonic() + timeout_s + REPLY_SLACK_S
        # Held once: the streamed output is the reply's (a copy per chunk made a 16 MiB piece cost 64 MiB).
        out, err = self._streamed = (bytearray(), bytearray())
        seq = self._request(meta, stdin or b"")
        while True:  # output chunks as the command writes them (up to the cap), then the result
            reply, body = self._read_reply(seq, deadline)
            chunk = reply.get("chunk")
            if chunk is None:
                break
            target = out if chunk == 1 else err
            target += body[: max(0, cap - len(target))]
        try:
            out_len, err_len = int(reply["out_len"]), int(reply["err_len"])
            if out_len + err_len != len(body) or min(out_len, err_len) < 0:
                self._break("a reply's lengths do not add up")
            out += body[:out_len]
            err += body[out_len:]
            kept_out, kept_err = int(reply.get("out_kept", len(out))), int(reply.get("err_kept", len(err)))
            if (kept_out, kept_err) != (len(out), len(err)):
                self._break("the streamed output does not add up to the reply's")
            rusage = reply.get("rusage")
            result = ChannelReply(
                exit_code=None if reply["exit_code"] is None else int(reply["exit_code"]),
                timed_out=bool(reply["timed_out"]),
                stdout=bytes(out),
                stderr=bytes(err),
                stdout_truncated=int(reply["out_total"]) > len(out),
                stderr_truncated=int(reply["err_total"]) > len(err),
                duration_s=float(reply["duration_s"]),
                before=reply.get("before"),
                after=reply.get("after"),
                high=reply.get("high"),
                rusage=(float(rusage[0]), int(rusage[1])) if rusage else None,
                clean=reply.get("clean") is True,
            )
            self._streamed = (bytearray(), bytearray())  # the reply holds the output now
            return result
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            self._break(f"a malformed reply: {exc}")
            raise  # unreachable: _break raises

    def sweep(self) -> tuple[int, dict[str, int | None] | None]:
        """Kill every process of the agent's uid in the sandbox but the channel; (processes left, figures)."""
        seq = self._request({"op": "sweep"}, b"")
        reply, _ = self._read_reply(seq, time.monotonic() + SWEEP_TIMEOUT_S)
        try:
            return int(reply["left"]), reply.get("after")
        except (KeyError, TypeError, ValueError) as exc:
            self._break(f"a malformed sweep reply: {exc}")
            raise

    def close(self) -> None:
        """Hang up (the channel exits)."""
        self.broken = True
        self._transport.close()

    def diagnostics(self) -> str:
        """What the channel said on its stderr."""
        return self._transport.diagnostics()

    # --- framing -----------------------------------------------------------------------------------

    def _break(self, why: str) -> None:
        self.broken = True
        with contextlib.suppress(Exception):
            self._transport.close()
        said = self._transport.diagnostics()
        raise ChannelBrokenError(f"exec channel broken: {why}" + (f" ({said})" if said else ""))

    def _request(self, meta: dict[str, Any], body: bytes) -> int:
        if self.broken:
            raise ChannelBrokenError("exec channel broken")
        if self._transport.pending():
            self._break("bytes arrived that no request asked for")
        self._seq += 1
        m = json.dumps(meta).encode()
        payload = _LEN.pack(len(m)) + m + body
        try:
            self._transport.send(_REQUEST_HEAD.pack(self._seq, len(payload)) + payload)
        except ChannelBrokenError as exc:
            self._break(str(exc))
        return self._seq

    def _read_reply(self, seq: int, deadline: float | None) -> tuple[dict[str, Any], bytes]:
        try:
            magic, got_seq, size = _REPLY_HEAD.unpack(self._transport.read_exact(_REPLY_HEAD.size, deadline))
            if magic != MAGIC or got_seq != seq:
                self._break(f"a frame for request {got_seq} arrived while waiting for {seq}")
            payload = self._transport.read_exact(size, deadline)
        except ChannelBrokenError as exc:
            self._break(str(exc))
            raise
        (mlen,) = _LEN.unpack(payload[:4])
        try:
            meta = json.loads(payload[4 : 4 + mlen])
        except ValueError:
            self._break("a reply that is not JSON")
            raise
        if not isinstance(meta, dict):
            self._break("a reply that is not a JSON object")
        return meta, payload[4 + mlen :]


def run_or_lose(
    channel: ExecChannel,
    argv: list[str],
    *,
    env: dict[str, str],
    inherit_env: bool,
    cwd: str,
    timeout_s: float | None,
    cap: int,
    stdin: bytes | None,
    marker: str,
) -> ChannelReply | None:
    """Run one command on ``channel``: its reply, or None when the channel broke while it ran (the agent
    killed or stopped it; what had streamed in is on ``channel.partial``). A shell session's state save
    is marked so that the channel moves the saved state into place itself."""
    rename: str | None = None
    if len(argv) == 7 and argv[:3] == ["bash", "-c", sh.SESSION_SCRIPT]:
        argv, rename = [*argv, "keep"], argv[5]
    try:
        return channel.run(
            argv,
            env=env,
            inherit_env=inherit_env,
            cwd=cwd,
            timeout_s=timeout_s,
            cap=cap,
            stdin=stdin,
            marker=marker,
            rename_state=rename,
        )
    except ChannelBrokenError:
        return None


def channel_result(
    channel: ExecChannel,
    reply: ChannelReply | None,
    *,
    started: float,
    oom_killed: bool,
    cpu_s: float | None = None,
    peak_memory_mb: float | None = None,
) -> RawResult:
    """A command's result from its reply, or, when the channel was lost, from what streamed in before."""
    if reply is None:
        streamed_out, streamed_err = channel.partial
        return RawResult(
            exit_code=None,
            stdout=streamed_out,
            stderr=streamed_err + CHANNEL_LOST,
            duration_s=time.monotonic() - started,
            oom_killed=oom_killed,
            cpu_s=cpu_s,
            peak_memory_mb=peak_memory_mb,
        )
    return RawResult(
        exit_code=reply.exit_code,
        stdout=reply.stdout,
        stderr=reply.stderr,
        duration_s=reply.duration_s,
        stdout_truncated=reply.stdout_truncated,
        stderr_truncated=reply.stderr_truncated,
        timed_out=reply.timed_out,
        oom_killed=oom_killed,
        cpu_s=cpu_s,
        peak_memory_mb=peak_memory_mb,
    )


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise ChannelBrokenError("no answer in time")
    return left


class DockerSocketTransport:
    """A channel over an attached exec's hijacked socket: stdin raw, stdout and stderr in Docker's frames."""

    def __init__(self, closer: Any, sock: socket.socket) -> None:
        self._closer = closer
        self._sock = sock
        self._raw = bytearray()
        self._out = bytearray()
        self._err = bytearray()
        self._frame_left = 0
        self._frame_stream = 0
        self._ended = False

    def send(self, data: bytes) -> None:
        """Write to the channel's stdin."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ChannelBrokenError(f"cannot write to the channel: {exc}") from exc

    def _demux(self) -> None:
        raw = self._raw
        while raw:
            if self._frame_left == 0:
                if len(raw) < 8:
                    return
                self._frame_stream, self._frame_left = struct.unpack(">BxxxL", raw[:8])
                del raw[:8]
                continue
            take = min(self._frame_left, len(raw))
            target = self._out if self._frame_stream == 1 else self._err
            if target is self._err and len(self._err) > 4096:
                pass  # the channel's complaints: the first few KiB are enough
            else:
                target += raw[:take]
            del raw[:take]
            self._frame_left -= take

    def _fill(self, deadline: float | None) -> None:
        if self._ended:
            raise ChannelBrokenError("the channel ended")
        self._sock.settimeout(_remaining(deadline))
        try:
            chunk = self._sock.recv(1 << 16)
        except TimeoutError as exc:
            raise ChannelBrokenError("no answer in time") from exc
        except OSError as exc:
            raise ChannelBrokenError(f"cannot read from the channel: {exc}") from exc
        if not chunk:
            self._ended = True
            raise ChannelBrokenError("the channel ended")
        self._raw += chunk
        self._demux()

    def read_exact(self, size: int, deadline: float | None) -> bytes:
        """The next ``size`` bytes the channel wrote on its stdout."""
        while len(self._out) < size:
            self._fill(deadline)
        with memoryview(self._out) as buffered:  # one copy, not a slice and then a copy of it
            data = bytes(buffered[:size])
        del self._out[:size]
        return data

    def pending(self) -> bool:
        """Stdout bytes already read or waiting on the socket."""
        if self._out:
            return True
        try:
            ready, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not ready:
            return False
        with contextlib.suppress(ChannelBrokenError):
            self._fill(time.monotonic() + 1.0)
        return bool(self._out) or self._ended

    def diagnostics(self) -> str:
        """The channel's stderr, shortened."""
        return self._err.decode(errors="replace").strip()[-500:]

    def close(self) -> None:
        """Hang up the socket."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._closer.close()


class PipeTransport:
    """A channel started as a child process of rgym: its stdin and stdout pipes (stderr to a buffer)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self._proc = proc
        self._in = proc.stdin.fileno()
        self._outfd = proc.stdout.fileno()
        self._out = bytearray()
        self._ended = False

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        """The process the channel runs in (on the host's side: bubblewrap)."""
        return self._proc

    def send(self, data: bytes) -> None:
        """Write to the channel's stdin."""
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._in, view) :]
        except OSError as exc:
            raise ChannelBrokenError(f"cannot write to the channel: {exc}") from exc

    def _fill(self, deadline: float | None) -> None:
        if self._ended:
            raise ChannelBrokenError("the channel ended")
        left = _remaining(deadline)
        ready, _, _ = select.select([self._outfd], [], [], left)
        if not ready:
            raise ChannelBrokenError("no answer in time")
        try:
            chunk = os.read(self._outfd, 1 << 16)
        except OSError as exc:
            raise ChannelBrokenError(f"cannot read from the channel: {exc}") from exc
        if not chunk:
            self._ended = True
            raise ChannelBrokenError("the channel ended")
        self._out += chunk

    def read_exact(self, size: int, deadline: float | None) -> bytes:
        """The next ``size`` bytes the channel wrote on its stdout."""
        while len(self._out) < size:
            self._fill(deadline)
        with memoryview(self._out) as buffered:  # one copy, not a slice and then a copy of it
            data = bytes(buffered[:size])
        del self._out[:size]
        return data

    def pending(self) -> bool:
        """Stdout bytes already read or waiting in the pipe."""
        if self._out:
            return True
        ready, _, _ = select.select([self._outfd], [], [], 0)
        if not ready:
            return False
        with contextlib.suppress(ChannelBrokenError):
            self._fill(time.monotonic() + 1.0)
        return bool(self._out) or self._ended

    def diagnostics(self) -> str:
        """The channel's stderr, once it has ended (read without blocking)."""
        err = self._proc.stderr
        if err is None or self._proc.poll() is None:
            return ""
        try:
            os.set_blocking(err.fileno(), False)
            return (err.read(4096) or b"").decode(errors="replace").strip()[-500:]
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        """Close the pipes and kill the channel's process."""
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(Exception):
            self._proc.wait(timeout=5)
