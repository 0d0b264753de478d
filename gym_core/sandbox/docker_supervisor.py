"""The supervisor inside every Docker sandbox: the kill sweep and the usage figures, from inside.

Why inside: the host's cgroup files differ between cgroup v1 and v2 (and a normal user may not touch them
at all), but every container sees its own cgroup at ``/sys/fs/cgroup``, on v1 and v2 alike, and the
engine can signal a container's main process on every host.

So the container's main process (under docker-init, which reaps orphans) is this small bash script. It
runs as root inside the container with one capability, ``CAP_KILL`` (every other one is dropped, and
the agent's processes, uid 1000, hold none: ``no-new-privileges`` keeps it so). It never forks after
its start, so a fork bomb that fills the pids limit cannot stop it, and the agent can neither signal nor
trace it (another uid). It answers two signals, sent through the engine's kill API:

- ``SIGUSR1``, sweep: ``kill -KILL -1`` (every process of the container but docker-init and itself;
  the kernel makes one such kill atomic against fork), repeated until ``/proc`` shows no other live
  process, then a report;
- ``SIGUSR2``, report only.

Between signals it samples the cgroup's memory every 0.1 s. A report is one line on its stdout, which
the host reads through an attach stream (the agent's processes cannot write there)::

    rgym-supervisor swept seq=12 left=0 cpu_ns=123456789 peak=4096000 high=2048000 oom=0

``cpu_ns`` is the cgroup's CPU time so far, ``peak`` its memory high-water mark (v1
``memory.max_usage_in_bytes``, v2 ``memory.peak``), ``high`` the most memory sampled since the previous
report, ``oom`` the cgroup's OOM-kill count; a figure the kernel does not offer is empty.

Outside a container (pid 1 not docker-init, tini or catatonit, or not its child) the script refuses to run:
its sweep would otherwise kill every process of the machine it may signal.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from gym_core.errors import SandboxError
from gym_core.sandbox.docker_exec import STDOUT, close_stream, open_attach_stream, read_frames

#: The script's cgroup readers, kept apart so tests can run them on fake v1 and v2 trees: ``cgroup_files ROOT``
#: picks the v2 files under ROOT when it holds ``cgroup.controllers``, else the v1 ones; ``sample`` keeps
#: the most memory seen; ``report KIND LEFT`` prints one report line. The script calls them on
#: ``/sys/fs/cgroup``, the container's own cgroup on v1 and v2 alike.
CGROUP_READERS = r"""
cgroup_files() {
  if [ -f "$1/cgroup.controllers" ]; then
    cg=2 cpu_f=$1/cpu.stat now_f=$1/memory.current peak_f=$1/memory.peak oom_f=$1/memory.events
  else
    cg=1 cpu_f=$1/cpuacct/cpuacct.usage now_f=$1/memory/memory.usage_in_bytes
    peak_f=$1/memory/memory.max_usage_in_bytes oom_f=$1/memory/memory.oom_control
  fi
}
seq=0 high=0
sample() {
  local now=
  { read -r now < "$now_f"; } 2>/dev/null
  case "$now" in ''|*[!0-9]*) ;; *) [ "$now" -gt "$high" ] && high=$now;; esac
}
report() {
  local cpu= peak= oom= k n
  sample
  if [ "$cg" = 2 ]; then
    { while read -r k n; do [ "$k" = usage_usec ] && cpu=${n}000; done < "$cpu_f"; } 2>/dev/null
  else
    { read -r cpu < "$cpu_f"; } 2>/dev/null
  fi
  { read -r peak < "$peak_f"; } 2>/dev/null
  { while read -r k n; do [ "$k" = oom_kill ] && oom=$n; done < "$oom_f"; } 2>/dev/null
  echo "rgym-supervisor $1 seq=$seq left=$2 cpu_ns=$cpu peak=$peak high=$high oom=$oom"
  seq=$((seq + 1)) high=0
}
"""

#: argv[2] of ``bash -c``; $1 = lifetime in seconds, or "infinity".
SUPERVISOR_SCRIPT = (
    r"""
set -o posix  # a trapped signal interrupts `read -t`, so a sweep starts at once
read -r init_name < /proc/1/comm
case "$init_name" in docker-init|tini|catatonit) ;; *)
  echo "rgym-supervisor refused: pid 1 is ${init_name:-unknown}, not a container's init"; exit 97;; esac
[ "$PPID" = 1 ] || { echo "rgym-supervisor refused: not the child of the container's init"; exit 97; }
tick=
for d in /dev/shm/.rgym-supervisor /tmp/.rgym-supervisor; do
  if mkdir -m 700 "$d" 2>/dev/null && mkfifo -m 600 "$d/tick" 2>/dev/null; then tick="$d/tick"; break; fi
done
[ -n "$tick" ] || { echo "rgym-supervisor refused: no writable /dev/shm or /tmp for its timer"; exit 97; }
exec 3<>"$tick"
"""
    + CGROUP_READERS
    + r"""
cgroup_files /sys/fs/cgroup
want_sweep= want_report=
sweep() {
  local round=0 p st left=0
  sample
  while [ "$round" -lt 100 ]; do
    round=$((round + 1))
    kill -s KILL -- -1 2>/dev/null
    left=0
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      case "$p" in 1|"$$") continue;; esac
      { read -r st < "/proc/$p/stat"; } 2>/dev/null || continue
      st=${st##*) }
      case "$st" in Z*) continue;; esac
      left=$((left + 1))
    done
    [ "$left" = 0 ] && break
    read -t 0.02 -u 3 _
  done
  report swept "$left"
}
trap 'want_sweep=1' USR1
trap 'want_report=1' USR2
trap 'exit 0' TERM
report ready 0
start=$SECONDS
while :; do
  if [ -n "$want_sweep" ]; then want_sweep= want_report=; sweep; continue; fi
  if [ -n "$want_report" ]; then want_report=; report usage 0; continue; fi
  if [ "$1" != infinity ] && [ $((SECONDS - start)) -ge "$1" ]; then exit 0; fi
  read -t 0.1 -u 3 _
  sample
done
"""
)

_LINE = re.compile(
    r"rgym-supervisor (?P<kind>ready|swept|usage) seq=(?P<seq>\d+) left=(?P<left>\d+) "
    r"cpu_ns=(?P<cpu>\d*) peak=(?P<peak>\d*) high=(?P<high>\d*) oom=(?P<oom>\d*)"
)


def _int(text: str) -> int | None:
    return int(text) if text else None


@dataclass(frozen=True)
class Reading:
    """One report of the supervisor: the container's cgroup figures at that moment."""

    kind: str
    """ready (at start), swept (after a sweep) or usage (a report without a sweep)."""
    seq: int
    left: int
    """Processes still alive after a sweep (0 unless one was stuck in the kernel)."""
    cpu_ns: int | None
    peak_bytes: int | None
    high_bytes: int | None
    """The most memory sampled since the previous report."""
    oom_kills: int | None

    @classmethod
    def parse(cls, line: str) -> Reading | None:
        """The reading a report line holds, or None for any other line."""
        m = _LINE.fullmatch(line.strip())
        if m is None:
            return None
        return cls(
            kind=m["kind"],
            seq=int(m["seq"]),
            left=int(m["left"]),
            cpu_ns=_int(m["cpu"]),
            peak_bytes=_int(m["peak"]),
            high_bytes=_int(m["high"]),
            oom_kills=_int(m["oom"]),
        )


@dataclass(frozen=True)
class Window:
    """The container's figures over one command: between two readings."""

    cpu_s: float | None
    peak_memory_mb: float | None
    oom_killed: bool


class Supervisor:
    """The host's side of one container's supervisor: sends it signals and reads its reports."""

    def __init__(self, api: Any, container_id: str) -> None:
        self._api = api
        self._container_id = container_id
        self._readings: deque[Reading] = deque(maxlen=4096)
        self._other: list[str] = []
        self._cond = threading.Condition()
        self._ended = False
        self._signal_lock = threading.Lock()
        self._stream: tuple[Any, Any] | None = None
        self._pending = b""

    # --- stream ------------------------------------------------------------------------------------

    def attach(self) -> None:
        """Start reading the container's output; call it before the container starts."""
        closer, sock = open_attach_stream(self._api, self._container_id)
        self._stream = (closer, sock)
        threading.Thread(target=self._pump, args=(sock,), daemon=True, name="rgym-supervisor").start()

    def _pump(self, sock: Any) -> None:
        try:
            read_frames(sock, self._feed)
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _feed(self, stream: int, data: bytes) -> None:
        if stream != STDOUT:
            return
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        with self._cond:
            for raw in lines:
                line = raw.decode(errors="replace")
                reading = Reading.parse(line)
                if reading is not None:
                    self._readings.append(reading)
                elif line.strip() and len(self._other) < 20:
                    self._other.append(line.strip())
            self._cond.notify_all()

    def close(self) -> None:
        """Stop reading (the container is gone or going)."""
        if self._stream is not None:
            close_stream(*self._stream)
            self._stream = None

    # --- readings ----------------------------------------------------------------------------------

    @property
    def latest(self) -> Reading | None:
        """The most recent reading, if any."""
        with self._cond:
            return self._readings[-1] if self._readings else None

    def _wait(self, kinds: tuple[str, ...], after: int, timeout_s: float) -> Reading | None:
        with self._cond:
            found = self._cond.wait_for(
                lambda: self._ended or any(r.seq > after and r.kind in kinds for r in self._readings),
                timeout=timeout_s,
            )
            del found
            for r in reversed(self._readings):
                if r.seq > after and r.kind in kinds:
                    return r
            return None

    def wait_ready(self, timeout_s: float = 60.0) -> Reading:
        """The first reading, sent when the supervisor is up.

        Raises:
            SandboxError: it refused to run, or did not report in time.
        """
        reading = self._wait(("ready",), -1, timeout_s)
        if reading is None:
            with self._cond:
                said = "; ".join(self._other) or "no output"
            raise SandboxError(f"the sandbox's supervisor did not start ({said})")
        return reading

    def _signal(self, name: str, kinds: tuple[str, ...], timeout_s: float) -> Reading | None:
        with self._signal_lock:
            last = self.latest
            after = last.seq if last is not None else -1
            try:
                self._api.kill(self._container_id, signal=name)
            except Exception:
                return None  # the container is gone; the caller sees it through `alive`
            return self._wait(kinds, after, timeout_s)

    def sweep(self, timeout_s: float = 30.0) -> Reading | None:
        """Kill every process of the container but the supervisor; the reading after it (None: no answer)."""
        return self._signal("SIGUSR1", ("swept",), timeout_s)

    def report(self, timeout_s: float = 30.0) -> Reading | None:
        """A reading now, killing nothing (None: no answer)."""
        return self._signal("SIGUSR2", ("usage", "swept"), timeout_s)

    def window(self, before: Reading | None, after: Reading | None) -> Window:
        """The figures between two readings: CPU used, the memory peak, and whether an OOM kill happened.

        The peak is exact when it set a new high-water mark in the window, else the most memory sampled
        (every 0.1 s, and at each report) in it.
        """
        if before is None or after is None:
            return Window(cpu_s=None, peak_memory_mb=None, oom_killed=False)
        cpu = None
        if before.cpu_ns is not None and after.cpu_ns is not None:
            cpu = max(0, after.cpu_ns - before.cpu_ns) / 1e9
        oom = (
            before.oom_kills is not None
            and after.oom_kills is not None
            and after.oom_kills > before.oom_kills
        )
        if (
            before.peak_bytes is not None
            and after.peak_bytes is not None
            and after.peak_bytes > before.peak_bytes
        ):
            peak: int | None = after.peak_bytes
        else:
            with self._cond:
                highs = [
                    r.high_bytes
                    for r in self._readings
                    if before.seq < r.seq <= after.seq and r.high_bytes is not None
                ]
            peak = max(highs) if highs else None
        return Window(
            cpu_s=cpu, peak_memory_mb=None if peak is None else peak / (1024 * 1024), oom_killed=oom
        )
