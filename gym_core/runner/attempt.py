"""One attempt: an agent driving one episode of a :class:`ResearchEnv` to its end.

The agent is untrusted code, and its mistakes end only its own attempt, with a message that says what it did:

* it raises: the attempt is ``crashed``, and the stored traceback shows the agent's own frames first;
* it returns something that is not an action at all (neither a dict nor a string, e.g. ``None`` from a
  missing ``return``): ``crashed``, with the value shown, unless the agent sets ``tolerant_actions = True``
  (then the value goes to the environment and comes back as an error observation, as a malformed dict or
  string always does);
* it is still thinking when the wall budget runs out: after :data:`ACT_GRACE_S` more seconds the episode
  ends as a budget end does (``truncated``, the workspace auto-submitted, ``timed_out`` unless that
  submission is valid) and the agent's thread is abandoned.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gym_core
from gym_core.env.research_env import ResearchEnv
from gym_core.errors import AgentError, AgentHostError, BackendUnavailableError
from gym_core.outcomes import EpisodeStatus, Origin
from gym_core.tasks.spec import Direction
from rgym_agents import loader as _agent_loader
from rgym_agents.base import Agent, TaskInfo

#: Seconds an agent's act() may run past the wall budget before the episode ends without it.
ACT_GRACE_S = 5.0
#: Seconds an agent's reset() may take.
RESET_DEADLINE_S = 60.0

#: Frames in these files are rgym's plumbing, shown after the agent's own frames.
_RGYM_DIR = str(Path(gym_core.__file__).resolve().parent)
_RGYM_GLUE = {str(Path(_agent_loader.__file__).resolve())}


@dataclass(frozen=True)
class StepProgress:
    """What the progress display learns after each step."""

    index: int
    steps: int
    elapsed_s: float
    best_normalized: float | None
    done: bool = False
    status: EpisodeStatus = EpisodeStatus.RUNNING
    best_raw: float | None = None
    """The best raw score so far, in the metric's direction (shown when there is no normalized score)."""
    maximize: bool = True
    """The metric's direction: True when higher raw scores are better."""


@dataclass(frozen=True)
class AttemptResult:
    """How an attempt (one try of it) ended."""

    index: int
    episode_id: str | None
    status: EpisodeStatus
    final_normalized: float | None
    error: str | None = None
    origin: Origin | None = None
    """Whose doing the end was (None when interrupted); an environment failure is retried."""


class AgentHung(AgentError):
    """Raised when an agent's act() does not return before the episode's wall budget (plus grace) ends."""


class AgentCrashed(AgentError):
    """Raised when an agent's act() or reset() raises; ``details`` holds its traceback, its own frames first."""

    def __init__(self, message: str, *, details: str) -> None:
        super().__init__(message)
        self.details = details


class AgentNotAnAction(AgentError):
    """Raised when an agent's act() returns something that is not an action at all (not a dict or string)."""


def _is_rgym_frame(filename: str) -> bool:
    path = str(Path(filename).resolve()) if filename and not filename.startswith("<") else filename
    return path.startswith(_RGYM_DIR) or path in _RGYM_GLUE


def agent_traceback(exc: BaseException) -> str:
    """``exc``'s traceback with the agent's own frames first and rgym's plumbing after them."""
    te = traceback.TracebackException.from_exception(exc)
    lines: list[str] = []
    for part in _chain(te):
        frames = list(part.stack)
        own = [f for f in frames if not _is_rgym_frame(f.filename)]
        plumbing = [f for f in frames if _is_rgym_frame(f.filename)]
        lines.append(f"{''.join(part.format_exception_only()).rstrip()}")
        if own:
            lines.append("The agent's frames (innermost last):")
            lines.extend(traceback.StackSummary.from_list(own).format())
        if plumbing:
            lines.append("rgym's frames:")
            lines.extend(traceback.StackSummary.from_list(plumbing).format())
    return "\n".join(line.rstrip("\n") for line in lines)


def _chain(te: traceback.TracebackException) -> list[traceback.TracebackException]:
    """The exception and its causes, the one raised first last (as Python prints them, reversed)."""
    chain: list[traceback.TracebackException] = []
    current: traceback.TracebackException | None = te
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain


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
        if isinstance(exc, (KeyboardInterrupt, AgentCrashed, AgentNotAnAction)):
            raise exc  # already said what the agent did (an agent in its own process, see agent_process)
        if isinstance(exc, AgentHostError):
            raise exc  # not the agent's doing: its process could not start (the environment's, retried)
        first = (str(exc).splitlines() or [""])[0]
        raise AgentCrashed(f"{what} raised {type(exc).__name__}: {first}", details=agent_traceback(exc))
    return box.get("value")


def _check_action(agent: Agent, action: Any) -> None:
    """Refuse a return value that is not an action at all, unless the agent asked to be tolerated."""
    if isinstance(action, (dict, str, bytes)) or getattr(agent, "tolerant_actions", False):
        return
    raise AgentNotAnAction(not_an_action_message(repr(action), type(action).__name__))


def not_an_action_message(shown: str, type_name: str) -> str:
    """What to tell an agent whose act() returned ``shown`` (a repr), of type ``type_name``."""
    if len(shown) > 200:
        shown = shown[:197] + "..."
    hint = " (a missing return statement?)" if type_name == "NoneType" else ""
    return (
        f"agent.act() returned {shown}, a {type_name}{hint}, not an action: return a dict such as "
        '{"tool": "bash", "command": "ls"}, or the same dict as a JSON string'
    )


def run_attempt(
    env: ResearchEnv,
    agent: Agent,
    *,
    index: int,
    seed: int,
    stop: threading.Event | None = None,
    on_step: Callable[[StepProgress], None] | None = None,
    retry_of: str | None = None,
) -> AttemptResult:
    """Drive ``agent`` through one episode of ``env``; always closes the agent, never the env."""
    try:
        return _drive(env, agent, index=index, seed=seed, stop=stop, on_step=on_step, retry_of=retry_of)
    finally:
        with contextlib.suppress(Exception):
            agent.close()


def _origin(env: ResearchEnv) -> Origin | None:
    outcome = env.outcome
    if outcome is None or outcome[1] is None:
        return None
    return outcome[1].origin


def _drive(
    env: ResearchEnv,
    agent: Agent,
    *,
    index: int,
    seed: int,
    stop: threading.Event | None,
    on_step: Callable[[StepProgress], None] | None,
    retry_of: str | None,
) -> AttemptResult:
    options: dict[str, Any] = {"episode_index": index}
    if retry_of is not None:
        options["retry_of"] = retry_of
    try:
        obs, info = env.reset(seed=seed, options=options)
    except BackendUnavailableError:
        raise  # the backend cannot work on this machine: no attempt can start, so the run stops with why
    except Exception as exc:  # the sandbox did not start: recorded by the env, attributed, maybe retried
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return AttemptResult(index, env.episode_id, EpisodeStatus.CRASHED, None, first_line, _origin(env))
    episode_id = info.get("episode_id")
    started = time.monotonic()
    best: float | None = None
    best_raw: float | None = None
    metric = env.task.spec.metric
    steps = 0

    def progress(done: bool = False, status: EpisodeStatus = EpisodeStatus.RUNNING) -> None:
        if on_step is not None:
            on_step(
                StepProgress(
                    index,
                    steps,
                    time.monotonic() - started,
                    best,
                    done=done,
                    status=status,
                    best_raw=best_raw,
                    maximize=metric.direction is Direction.MAXIMIZE,
                )
            )

    task_info = TaskInfo.from_task(
        env.task, description=obs["task"], budget=env.budget.model_dump(mode="json")
    )
    try:
        call_with_deadline(lambda: agent.reset(task_info, seed=seed), RESET_DEADLINE_S, "agent.reset()")
        while True:
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            deadline = float(obs["time_left_s"]) + ACT_GRACE_S
            try:
                action = call_with_deadline(functools.partial(agent.act, obs), deadline, "agent.act()")
            except AgentHung as exc:
                obs, _reward, _terminated, _truncated, info = env.expire(str(exc))
                steps += 1
                progress(done=True, status=EpisodeStatus.TRUNCATED)
                return AttemptResult(
                    index,
                    episode_id,
                    EpisodeStatus.TRUNCATED,
                    info.get("final_normalized_score"),
                    str(exc),
                    _origin(env),
                )
            _check_action(agent, action)
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
            raw = obs.get("score")
            if raw is not None and (best_raw is None or metric.better(raw, best_raw)):
                best_raw = raw
            progress()
            if terminated or truncated:
                status = EpisodeStatus.SUBMITTED if terminated else EpisodeStatus.TRUNCATED
                progress(done=True, status=status)
                return AttemptResult(
                    index, episode_id, status, info.get("final_normalized_score"), origin=_origin(env)
                )
    except Exception as exc:  # the agent's failure, or the sandbox's: either way only this attempt ends
        # The agent's traceback, its frames first; for what rgym found wrong with the agent, the message.
        details = (
            exc.details if isinstance(exc, AgentCrashed) else "" if isinstance(exc, AgentError) else None
        )
        env.abort(exc, details=details)  # attributes it, unless the env already recorded the end
        progress(done=True, status=EpisodeStatus.CRASHED)
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return AttemptResult(index, episode_id, EpisodeStatus.CRASHED, None, first_line, _origin(env))
