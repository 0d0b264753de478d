"""The sandboxes an environment's episodes run in: one fresh sandbox per episode, never reused.

:class:`AgentSandboxes` starts an episode's sandbox (or takes the one a warm pool started ahead for it),
stops it when the episode ends (in the background while the next episode starts, after a ``reset()``), and
asks it for its own account of a failure. :func:`note_refusals` tells the agent what the sandbox's network
refused during a step.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gym_core.env.budget import budget_limits
from gym_core.errors import ConfigError, SandboxError
from gym_core.sandbox.base import LABEL_EPISODE, LABEL_RUN, Sandbox, SandboxConfig, SandboxHealth
from gym_core.settings import get_settings

if TYPE_CHECKING:
    from gym_core.sandbox.warm_pool import WarmPool
    from gym_core.tasks.loader import Task
    from gym_core.tasks.spec import Budget

#: Extra lifetime a sandbox gets past the wall budget, so the auto-submit can still copy files out.
SANDBOX_GRACE_S = 120.0

#: Refused requests kept in one step's flags (the count says how many there were).
_REFUSALS_KEPT = 100
#: Refused requests listed in the agent's output of one step.
_REFUSALS_SHOWN = 10


def agent_sandbox_config(task: Task, budget: Budget, *, image: str, labels: dict[str, str]) -> SandboxConfig:
    """The config of an attempt's sandbox: the task's image and starter files, limits from its budget."""
    return SandboxConfig(
        image=image,
        workspace_src=task.workspace_dir,
        limits=budget_limits(budget, wall_time_s=budget.wall_time_s + SANDBOX_GRACE_S),
        labels=labels,
        output_cap_bytes=get_settings().output_cap_bytes,
        blocked_urls=tuple(task.spec.blocked_urls),
    )


def note_refusals(sandbox: Sandbox, flags: dict[str, Any]) -> str:
    """Put the requests the sandbox's network refused during a step into its flags (``blocked_requests``,
    ``blocked_requests_count``), and return the lines that tell the agent."""
    refusals, dropped = sandbox.take_network_refusals()
    if not refusals and not dropped:
        return ""
    flags["blocked_requests"] = [r.to_json() for r in refusals[:_REFUSALS_KEPT]]
    flags["blocked_requests_count"] = len(refusals) + dropped
    lines = [f"[rgym network] refused {r.describe()}" for r in refusals[:_REFUSALS_SHOWN]]
    more = len(refusals) + dropped - len(lines)
    if more > 0:
        lines.append(f"[rgym network] ... and {more} more refused requests")
    return "\n" + "\n".join(lines)


class AgentSandboxes:
    """Starts and stops the sandbox of each episode of one environment.

    Args:
        task, budget, backend: what every sandbox is made for.
        image: gives the task's image (looked up on the first start).
        labels: labels of every sandbox (run and episode labels are added per start).
        warm: keep this many sandboxes started ahead in a pool of this object's own.
        warm_pool: a pool someone else started sandboxes in (the runner's ``--warm``).

    Raises:
        ConfigError: ``warm`` is negative.
    """

    def __init__(
        self,
        task: Task,
        budget: Budget,
        backend: str,
        *,
        image: Callable[[], str],
        labels: dict[str, str],
        warm: int = 0,
        warm_pool: WarmPool | None = None,
    ) -> None:
        if warm < 0:
            raise ConfigError(f"warm must be at least 0, got {warm}")
        self.task = task
        self.budget = budget
        self.backend = backend
        self._image = image
        self._labels = dict(labels)
        self._warm = warm
        self._owns_pool = warm_pool is None and warm > 0
        if self._owns_pool:
            from gym_core.sandbox.warm_pool import WarmPool

            warm_pool = WarmPool(warm)
        self._warm_pool = warm_pool
        self._stopping: list[threading.Thread] = []  # previous episodes' sandboxes, stopped in the background
        self.current: Sandbox | None = None
        """The running episode's sandbox (None between episodes)."""

    @property
    def pool(self) -> WarmPool | None:
        """Where sandboxes are started ahead (a pool of this object's own, or one it was given), if anywhere."""
        return self._warm_pool

    @property
    def warm(self) -> bool:
        """Sandboxes are started ahead."""
        return self._warm_pool is not None

    def labels(self, *, run_id: str | None, episode_id: str | None) -> dict[str, str]:
        """The labels of an episode's sandboxes (the grader's too): the given ones, its run and episode."""
        labels = dict(self._labels)
        if run_id:
            labels[LABEL_RUN] = run_id
        if episode_id:
            labels[LABEL_EPISODE] = episode_id
        return labels

    def start(self, *, run_id: str | None, episode_index: int, episode_id: str | None) -> Sandbox:
        """Start the sandbox of an episode (or take the one started ahead for it) and make it current."""
        from gym_core.sandbox import create_sandbox, reap_dead_leftovers

        pool = self._warm_pool
        if pool is not None:
            if self._owns_pool:
                self._plan_warm(run_id, episode_index, episode_index + 1)  # its own, if not started yet
            warm = pool.take((run_id, episode_index))
            if self._owns_pool:
                self._plan_warm(run_id, episode_index + 1, episode_index + 1 + self._warm)
            if warm is not None:
                self.current = warm  # started for this episode alone, nothing ran in it yet
                return warm
        reap_dead_leftovers()  # what runs killed with kill -9 left on this host
        labels = self.labels(run_id=run_id, episode_id=episode_id)
        sandbox = create_sandbox(
            self.backend, agent_sandbox_config(self.task, self.budget, image=self._image(), labels=labels)
        )
        sandbox.start()
        self.current = sandbox
        return sandbox

    def _plan_warm(self, run_id: str | None, first: int, stop: int) -> None:
        """Ask this object's own pool to start the sandboxes of episodes ``first`` .. ``stop - 1``."""
        assert self._warm_pool is not None
        image = self._image()
        labels = {**self._labels, **({LABEL_RUN: run_id} if run_id else {})}
        for index in range(first, stop):
            self._warm_pool.schedule(
                (run_id, index),
                self.backend,
                lambda: agent_sandbox_config(self.task, self.budget, image=image, labels=labels),
            )

    def diagnose(self, exc: BaseException) -> SandboxHealth | None:
        """The current sandbox's account of a sandbox failure; it never raises (a gone engine cannot say)."""
        if not isinstance(exc, SandboxError) or self.current is None:
            return None
        try:
            return self.current.diagnose()
        except Exception as error:
            return SandboxHealth(alive=False, agent_could_cause=False, reason=f"no diagnosis: {error}")

    def stop(self, *, background: bool = False) -> None:
        """Stop the current sandbox; with ``background`` (a reset with warm sandboxes) while the next episode
        starts, joined by :meth:`close`."""
        sandbox, self.current = self.current, None
        if sandbox is not None and background:
            stopper = threading.Thread(target=sandbox.stop, name="rgym-sandbox-stop", daemon=True)
            stopper.start()
            self._stopping = [t for t in self._stopping if t.is_alive()] + [stopper]
        elif sandbox is not None:
            sandbox.stop()

    def close(self) -> None:
        """Stop the current sandbox, wait for those stopping in the background, close this object's pool."""
        try:
            self.stop()
        finally:
            for stopper in self._stopping:
                stopper.join()
            self._stopping.clear()
            if self._owns_pool and self._warm_pool is not None:
                self._warm_pool.close()

    def abandon(self) -> None:
        """Stop the current sandbox without raising (garbage collection of an environment never closed)."""
        sandbox, self.current = self.current, None
        if sandbox is not None:
            with contextlib.suppress(Exception):
                sandbox.stop()
