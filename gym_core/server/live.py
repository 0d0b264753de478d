"""Live environments that remote clients drive over HTTP: one :class:`ResearchEnv` per client session.

A session is what one :class:`gym_core.remote.RemoteEnv` holds: the server keeps the real environment
(its sandbox, its run in the trace store) and the client sends ``reset``, ``step`` and ``close``, with
exactly the semantics of the local ones. The server decides the backend; a client never does.

Sessions end when the client closes them, when they sit idle past their wall budget plus a grace, and
when the server shuts down. Who ended it decides how its episode is recorded. The client's own ``reset``
and ``close`` (``DELETE``) and idling until the reaper comes are the agent's: an episode still running ends
``truncated`` ("reset by the agent", "closed by the agent", "idle for N s"), its workspace is auto-submitted
and the attempt counts, so an agent cannot drop an attempt that goes badly. A server shutting down is
the harness's: the episode is ``interrupted`` (pending). Calls on one session are serialized; sessions
run in parallel up to ``max_sessions``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gym_core.env.research_env import ResearchEnv
from gym_core.errors import EpisodeError, NotFoundError, RgymError, TaskError, TaskNotFoundError
from gym_core.store.ids import new_id
from gym_core.tasks.discovery import discover

#: Seconds an idle session outlives its wall budget before the server closes it.
IDLE_GRACE_S = 60.0


class SessionLimitError(RgymError):
    """The server already holds as many live sessions as it allows."""


@dataclass
class LiveSession:
    """One remote client's environment, and who may drive it."""

    id: str
    env: ResearchEnv
    owner: str | None
    idle_limit_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    closed: bool = False

    def idle_for(self, now: float) -> float:
        return now - self.last_used


class LiveSessions:
    """The server's live sessions.

    Args:
        make_env: builds the environment of a new session from the client's request
            (``task``, ``budget``, ``seed``, ``perturb``, ``agent``).
        max_sessions: at most this many sessions at once; more is refused (HTTP 429).
        clock: the monotonic clock (tests pass their own).
    """

    def __init__(
        self,
        make_env: Callable[..., ResearchEnv],
        *,
        max_sessions: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make_env = make_env
        self._max = max_sessions
        self._clock = clock
        self._sessions: dict[str, LiveSession] = {}
        self._pending = 0  # sessions whose environment is being built
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def create(self, *, owner: str | None = None, **request: Any) -> LiveSession:
        """A new session; its environment is built (and the task resolved) before this returns.

        Raises:
            SessionLimitError: ``max_sessions`` are live.
            RgymError: the request names no such task, or a bad budget or perturbation.
        """
        with self._lock:
            if len(self._sessions) + self._pending >= self._max:
                raise SessionLimitError(
                    f"the server already runs {self._max} live environment(s)",
                    hint="close one (DELETE /api/envs/{id}) or start rgym serve with a larger --max-envs",
                )
            self._pending += 1
        env: ResearchEnv | None = None
        try:
            env = self._make_env(**request)
        finally:
            with self._lock:
                self._pending -= 1
                if env is not None:
                    session = LiveSession(
                        new_id(),
                        env,
                        owner,
                        float(env.budget.wall_time_s) + IDLE_GRACE_S,
                        last_used=self._clock(),
                    )
                    self._sessions[session.id] = session
        return session

    def get(self, session_id: str, *, owner: str | None = None) -> LiveSession:
        """The live session ``session_id``.

        Raises:
            NotFoundError: no such live session, or it belongs to another owner (the answer is the same,
                so ids of other clients' sessions cannot be probed).
        """
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or (owner is not None and session.owner != owner):
            raise NotFoundError(f"no live environment {session_id}", hint="create one with POST /api/envs")
        return session

    def call(self, session: LiveSession, method: Callable[[ResearchEnv], Any]) -> Any:
        """Run ``method`` on the session's environment, one call at a time."""
        with session.lock:
            if session.closed:
                raise EpisodeError(f"the environment {session.id} is closed")
            try:
                return method(session.env)
            finally:
                session.last_used = self._clock()

    def close(self, session_id: str, *, owner: str | None = None) -> LiveSession:
        """Close a session as its client asked: a running episode ends truncated (graded), its run finished."""
        session = self.get(session_id, owner=owner)
        self._close(session)
        return session

    def _close(self, session: LiveSession, *, idle_s: float | None = None, shutdown: bool = False) -> None:
        """Close a session's environment: as its client would (``close()``), or after ``idle_s`` seconds
        idle (both the agent's: the episode is truncated and graded), or for a ``shutdown`` (the harness's:
        interrupted)."""
        with session.lock:
            if not session.closed:
                session.closed = True
                try:
                    if shutdown:
                        session.env.interrupt("the server shut down")
                    elif idle_s is not None:
                        session.env.end_early(f"idle for {idle_s:.0f} s", truncated_by="idle")
                finally:
                    session.env.close()
        with self._lock:
            self._sessions.pop(session.id, None)

    def reap_idle(self) -> list[str]:
        """Close every session idle past its limit (its episode truncated, as the agent's); the ids closed."""
        now = self._clock()
        with self._lock:
            idle = [s for s in self._sessions.values() if s.idle_for(now) > s.idle_limit_s]
        for session in idle:
            self._close(session, idle_s=session.idle_for(now))
        return [s.id for s in idle]

    def close_all(self) -> None:
        """Close every session (the server is stopping): episodes in progress are interrupted, pending."""
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            self._close(session, shutdown=True)


class IdleReaper:
    """A daemon thread that closes idle sessions every ``interval_s`` until stopped."""

    def __init__(self, sessions: LiveSessions, interval_s: float = 5.0) -> None:
        self._sessions = sessions
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rgym-live-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sessions.reap_idle()


def research_env_factory(store_url: str, backend: str) -> Callable[..., ResearchEnv]:
    """The ``make_env`` of a server: tasks by id along the server's RGYM_TASKS_PATH, on ``backend``,
    recorded into the server's store."""

    def make_env(
        *,
        task: str,
        version: int | None = None,
        budget: dict[str, Any] | None = None,
        seed: int | None = None,
        perturb: dict[str, Any] | None = None,
        agent: str = "remote",
    ) -> ResearchEnv:
        found = discover().tasks.get(task)
        if found is None:
            raise TaskNotFoundError(f"no task {task!r} on this server", hint="GET /api/tasks lists them")
        if version is not None and found.spec.version != version:
            raise TaskError(
                f"task {task} is version {found.spec.version} on this server, not {version}",
                hint=f"ask for rgym/{task}-v{found.spec.version}",
            )
        return ResearchEnv(
            found, backend=backend, store=store_url, budget=budget, seed=seed, perturb=perturb, agent=agent
        )

    return make_env
