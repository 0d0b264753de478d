"""One attempt: an agent driving one episode of a :class:`ResearchEnv` to its end.

The agent is untrusted code. Whatever it does (raises, hangs past the budget) ends only its own
attempt, recorded as ``crashed`` with the traceback; the sandbox is always released.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.base import Agent, TaskInfo
from gym_core.env.research_env import ResearchEnv
from gym_core.errors import AgentError

#: Most extra seconds an agent's act() may take past the wall budget before it is declared hung; short
#: budgets get a quarter of the budget instead (at least 2 s).
ACT_GRACE_S = 30.0


def act_grace_s(wall_budget_s: float) -> float:
    """How long past the wall budget an act() may run before the attempt is declared hung."""
    return min(ACT_GRACE_S, max(2.0, 0.25 * wall_budget_s))


@dataclass(frozen=True)
class StepProgress:
    """What the progress display learns after each step."""

    index: int
    steps: int
    elapsed_s: float
    best_normalized: float | None
    done: bool = False
    status: str = "running"


@dataclass(frozen=True)
class AttemptResult:
    """How an attempt ended."""

    index: int
    episode_id: str | None
    status: str
    final_normalized: float | None
    error: str | None = None


class AgentHung(AgentError):
    """Raised when an agent's act() does not return before the episode's wall budget (plus grace) ends."""


class AgentCrashed(AgentError):
    """Raised when an agent's act() raises; carries the agent's own traceback."""


def call_with_deadline(fn: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Run ``fn`` on a daemon thread and wait at most ``timeout_s``.

    A hung agent cannot be killed from Python, so its thread is left behind as a daemon (it dies with the
    process) and the attempt moves on.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # the agent's own failure, reported below
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"rgym-{what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise AgentHung(f"{what} did not return within {timeout_s:.0f}s (the episode's wall budget)")
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        text = "".join(traceback.format_exception(exc)).rstrip()
        raise AgentCrashed(f"{what} raised {type(exc).__name__}: {exc}\n{text}")
    return box.get("value")


def run_attempt(
    env: ResearchEnv,
    agent: Agent,
    *,
    index: int,
    seed: int,
    stop: threading.Event | None = None,
    on_step: Callable[[StepProgress], None] | None = None,
) -> AttemptResult:
    """Drive ``agent`` through one episode of ``env``; always closes the agent, never the env."""
    obs, info = env.reset(seed=seed, options={"episode_index": index})
    episode_id = info.get("episode_id")
    started = time.monotonic()
    best: float | None = None
    steps = 0
    task_info = TaskInfo.from_task(
        env.task, description=obs["task"], budget=env.budget.model_dump(mode="json")
    )
    try:
        call_with_deadline(lambda: agent.reset(task_info, seed=seed), 60.0, "agent.reset()")
        while True:
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            deadline = float(obs["time_left_s"]) + act_grace_s(env.budget.wall_time_s)
            action = call_with_deadline(functools.partial(agent.act, obs), deadline, "agent.act()")
            try:
                usage = agent.step_usage() or {}
            except Exception:
                usage = {}
            if usage:
                env.note_agent_usage(usage)
            obs, _reward, terminated, truncated, info = env.step(action)
            steps += 1
            score = obs.get("normalized_score")
            if score is not None and (best is None or score > best):
                best = score
            if on_step is not None:
                on_step(StepProgress(index, steps, time.monotonic() - started, best))
            if terminated or truncated:
                status = "submitted" if terminated else "truncated"
                final = info.get("final_normalized_score")
                if on_step is not None:
                    on_step(
                        StepProgress(index, steps, time.monotonic() - started, best, done=True, status=status)
                    )
                return AttemptResult(index, episode_id, status, final)
    except Exception as exc:  # the agent's failure, or the sandbox's: either way only this attempt ends
        env.abort(exc)
        if on_step is not None:
            on_step(StepProgress(index, steps, time.monotonic() - started, best, done=True, status="crashed"))
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return AttemptResult(index, episode_id, "crashed", None, error=first_line)
    finally:
        with contextlib.suppress(Exception):
            agent.close()
