"""Warm sandboxes: started ahead of the attempts that will use them (``rgym run --warm N``).

Starting a sandbox (a container, its supervisor, its workspace, its exec channel) takes a good part of a
second; an attempt that finds its sandbox already running starts at once. The runner tells the pool which
attempts come next, in order, each with the sandbox config it will need; the pool keeps up to ``size`` of
them started in the background. An attempt takes *its own* sandbox, by key (run id and attempt index):

- a warm sandbox is **never reused**: each was started for exactly one attempt, with that attempt's config,
  and nothing ran in it before the attempt takes it; an attempt that was not prepared (a retry, a key the
  pool dropped) starts a cold sandbox as usual;
- a sandbox is only started while fewer than ``size`` wait, so the pool never runs ahead of its size;
- a warm sandbox's lifetime (``Limits.wall_time_s``, the supervisor's own limit) is the attempt's plus
  ``max_idle_s``, the longest it may wait; one that waited longer is stopped, never handed out;
- :meth:`WarmPool.close` (run end, Ctrl-C, a crash that unwinds) stops and removes every sandbox not taken,
  and waits for starts in flight to stop those too. A run killed with ``kill -9`` leaves them to the same
  leases and reaper as any sandbox (``rgym gc``, and the next run on this host).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

from gym_core.sandbox.base import Sandbox, SandboxConfig

#: Label of a sandbox started ahead by the pool (its value: the attempt's index).
LABEL_WARM = "rgym.warm"
#: Longest a warm sandbox may wait for its attempt before the pool stops it.
DEFAULT_MAX_IDLE_S = 900.0


@dataclasses.dataclass
class _Entry:
    key: Hashable
    backend: str
    make_config: Callable[[], SandboxConfig]
    future: Future[Sandbox | None] | None = None
    started_at: float | None = None


class WarmPool:
    """Sandboxes started ahead for the next attempts, each for one attempt only (see the module docstring).

    Args:
        size: how many started sandboxes may wait at a time.
        max_idle_s: the longest a sandbox may wait; its lifetime is extended by as much.
    """

    def __init__(self, size: int, *, max_idle_s: float = DEFAULT_MAX_IDLE_S) -> None:
        self.size = max(0, size)
        self.max_idle_s = max_idle_s
        self._lock = threading.Lock()
        self._queue: list[_Entry] = []
        self._entries: dict[Hashable, _Entry] = {}
        self._closed = False
        self._starter = ThreadPoolExecutor(
            max_workers=max(1, min(2, self.size)), thread_name_prefix="rgym-warm"
        )
        self.started = 0
        """Sandboxes the pool started (for tests and the benchmark)."""

    # --- planning ----------------------------------------------------------------------------------

    def schedule(self, key: Hashable, backend: str, make_config: Callable[[], SandboxConfig]) -> None:
        """Say that an attempt ``key`` comes next (in call order), on ``backend``, with the config its sandbox
        needs (called when its sandbox is started)."""
        with self._lock:
            if self._closed or key in self._entries:
                return
            entry = _Entry(key, backend, make_config)
            self._entries[key] = entry
            self._queue.append(entry)
        self._fill()

    def _fill(self) -> None:
        """Start sandboxes for the next attempts while fewer than ``size`` are started and not taken."""
        with self._lock:
            if self._closed:
                return
            waiting = sum(1 for e in self._entries.values() if e.future is not None)
            for entry in self._queue:
                if waiting >= self.size:
                    break
                if entry.future is None:
                    entry.future = self._starter.submit(self._start, entry)
                    waiting += 1

    def _start(self, entry: _Entry) -> Sandbox | None:
        from gym_core.sandbox import create_sandbox

        if self._closed:
            return None
        config = self.warm_config(entry.make_config(), entry.key)
        sandbox = create_sandbox(entry.backend, config)
        try:
            sandbox.start()
        except BaseException:
            sandbox.stop()
            raise
        with self._lock:
            self.started += 1
            closed = self._closed
            entry.started_at = time.monotonic()
        if closed:  # close() ran while it started: it is ours to stop
            sandbox.stop()
            return None
        return sandbox

    def warm_config(self, config: SandboxConfig, key: Hashable) -> SandboxConfig:
        """The attempt's config, labelled warm, with a lifetime long enough to wait ``max_idle_s`` first."""
        limits = config.limits
        if limits.wall_time_s is not None:
            limits = dataclasses.replace(limits, wall_time_s=limits.wall_time_s + self.max_idle_s)
        labels = {**config.labels, LABEL_WARM: str(key[-1] if isinstance(key, tuple) else key)}
        return dataclasses.replace(config, limits=limits, labels=labels)

    # --- handing out -------------------------------------------------------------------------------

    def take(self, key: Hashable) -> Sandbox | None:
        """The sandbox started for attempt ``key`` (waiting for its start if it is under way), once only.

        None when the pool did not prepare it, already handed it out, its start failed, or it waited past
        ``max_idle_s``: the attempt then starts a cold sandbox.
        """
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._queue.remove(entry)
        if entry is None:
            return None
        sandbox: Sandbox | None = None
        if entry.future is not None:
            try:
                sandbox = entry.future.result()
            except Exception:
                sandbox = None
        self._fill()
        if sandbox is None:
            return None
        too_old = entry.started_at is not None and time.monotonic() - entry.started_at > self.max_idle_s
        if too_old or not sandbox.alive:
            sandbox.stop()
            return None
        return sandbox

    def close(self) -> None:
        """Stop and remove every sandbox not handed out, those still starting included. Idempotent."""
        with self._lock:
            self._closed = True
            entries = list(self._entries.values())
            self._entries.clear()
            self._queue.clear()
        for entry in entries:
            if entry.future is not None and entry.future.cancel():
                continue
        self._starter.shutdown(wait=True, cancel_futures=True)
        for entry in entries:
            future = entry.future
            if future is None or future.cancelled():
                continue
            with contextlib.suppress(Exception):
                sandbox = future.result()
                if sandbox is not None:
                    sandbox.stop()

    def __enter__(self) -> WarmPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
