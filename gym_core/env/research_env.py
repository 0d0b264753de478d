"""``ResearchEnv``: one research task as a Gymnasium environment.

An episode is one attempt at the task. ``reset()`` starts a fresh sandbox from the task's workspace;
``step(action)`` runs one action in it under the episode's budgets; the episode ends when the agent
submits (``terminated``) or a budget runs out (``truncated``, and the final workspace is graded as the
submission). Every step is written to the trace store before ``step()`` returns.

This module holds the Gymnasium surface only. The episode's state and budgets live in
:mod:`gym_core.env.episode`, the tools in :mod:`gym_core.env.tools`, grading in
:mod:`gym_core.env.evaluation`, the episodes' sandboxes in :mod:`gym_core.env.agent_sandbox`, and every
record goes through :mod:`gym_core.recorder`.

Running out:
    * wall time: the step that finds no time left is not executed; the workspace is auto-submitted.
    * steps: the step that uses the last one is executed, then the workspace is auto-submitted.
    * evals: a ``validate`` asked for with none left ends the episode with an auto-submit.

Ended early by the agent: ``reset()`` or ``close()`` while an episode runs (or :meth:`ResearchEnv.end_early`,
which the server calls for an idle session) truncates it exactly as a budget would: a step without an
action is recorded, the workspace is auto-submitted (private split) and the attempt counts. An agent must
not be able to drop the attempts that go badly. Only the harness's own interruptions (Ctrl-C or SIGTERM of
the runner, a server shutting down: :meth:`ResearchEnv.interrupt`; a process killed or crashed, found by the
store) leave an episode ``interrupted``: pending, and run again by ``rgym resume``.
"""

from __future__ import annotations

import hashlib
import random
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsFloat

import gymnasium as gym

from gym_core.actions import TOOL_NAMES, Action, parse_action, recordable_action
from gym_core.attribution import Attribution, attribute_exception
from gym_core.env.agent_sandbox import AgentSandboxes, note_refusals
from gym_core.env.budget import resolve_budget
from gym_core.env.episode import EpisodeState
from gym_core.env.evaluation import Evaluator
from gym_core.env.perturbations import Perturbations
from gym_core.env.spaces import action_space, observation_space
from gym_core.env.tools import run_tool
from gym_core.errors import ActionError, EpisodeError, SandboxError
from gym_core.grading.grader import GradeResult
from gym_core.outcomes import EpisodeStatus, EvaluationKind, Origin, RunSource, RunStatus
from gym_core.recorder import Recorder, RunConfig
from gym_core.settings import get_settings
from gym_core.tasks.discovery import find_task
from gym_core.tasks.loader import Task
from gym_core.tasks.spec import Budget

if TYPE_CHECKING:
    from gym_core.sandbox.base import Sandbox
    from gym_core.sandbox.warm_pool import WarmPool
    from gym_core.store import TraceStore

Step = tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]


@dataclass(frozen=True)
class _Cutoff:
    """An end that comes without an action: recorded as a step of its own, then the auto-submit."""

    truncated_by: str
    """``EpisodeState.truncated_by``: wall_time, reset, close or idle."""
    action: str
    """Recorded in place of an action, e.g. ``<reset by the agent>``."""
    output: str
    flags: dict[str, Any] = field(default_factory=dict)


class ResearchEnv(gym.Env[dict[str, Any], str]):
    """A research task as a Gymnasium environment.

    Args:
        task: a :class:`Task`, a task id, or a task folder.
        backend: ``docker`` or ``local``; default: docker when an engine answers.
        store: trace store URL or an open :class:`TraceStore`; default: RGYM_STORE or the SQLite file in
            the data dir. ``record=False`` records nothing.
        budget: overrides of the task's budget, e.g. ``{"wall_time_s": 600}``, or a complete
            :class:`Budget`, used as it is (the ``budget_scale`` perturbation is not applied to it again).
        seed: default seed of the first ``reset()``.
        perturb: perturbations of every episode (see :class:`Perturbations`).
        run_id: record episodes under this existing run (the runner's); default: a new run on first reset,
            finished by ``close()``.
        agent: the agent's name, recorded with a run this environment creates.
        warm: keep this many sandboxes started ahead for the next ``reset()`` calls (each is fresh, made for
            one episode and never reused); stopped by ``close()``.
        warm_pool: sandboxes started ahead by someone else (the runner's ``--warm``): ``reset()`` takes the
            one started for its attempt (run id, episode index), if ready, instead of starting one.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - Gymnasium declares it an instance attribute
        "render_modes": ["ansi", "human"],
        "render_fps": 1,
    }

    def __init__(
        self,
        task: Task | str | Path,
        *,
        backend: str | None = None,
        store: str | TraceStore | None = None,
        budget: dict[str, Any] | Budget | None = None,
        seed: int | None = None,
        perturb: dict[str, Any] | Perturbations | None = None,
        run_id: str | None = None,
        record: bool = True,
        agent: str = "python-api",
        labels: dict[str, str] | None = None,
        render_mode: str | None = None,
        warm: int = 0,
        warm_pool: WarmPool | None = None,
    ) -> None:
        super().__init__()
        self.task = task if isinstance(task, Task) else find_task(str(task))
        self.perturbations = perturb if isinstance(perturb, Perturbations) else Perturbations.parse(perturb)
        self.budget = resolve_budget(self.task.spec.budget, budget, self.perturbations, task_id=self.task.id)
        self._budget_overrides = budget.model_dump(mode="json") if isinstance(budget, Budget) else budget
        if self.perturbations.prompt is not None:
            self.task.description(self.perturbations.prompt)  # fails early on an unknown variant
        from gym_core.sandbox import default_backend
        from gym_core.sandbox.registry import sandbox_class

        self.backend = backend or default_backend()  # default_backend honours RGYM_BACKEND
        sandbox_class(self.backend)  # an unknown backend fails here, before any run is recorded
        self.render_mode = render_mode
        self.action_space = action_space()
        self.observation_space = observation_space()
        self._default_seed = seed
        self._record = record
        self._store_arg = store
        self._store: TraceStore | None = None
        self._owns_store = False
        self._run_id = run_id
        self._owns_run = False
        self._run_cut_short = False
        self._episodes_started = 0
        self._agent = agent
        self._evaluator: Evaluator | None = None
        self._sandboxes = AgentSandboxes(
            self.task,
            self.budget,
            self.backend,
            image=lambda: self._evaluator_for_task().image,
            labels=dict(labels or {}),
            warm=warm,
            warm_pool=warm_pool,
        )
        self._episode: EpisodeState | None = None
        self._next_index = 0
        self._last_obs: dict[str, Any] | None = None
        self._last_action: str = ""

    # --- configuration -----------------------------------------------------------------------------

    @property
    def store(self) -> TraceStore | None:
        """The trace store this environment records into (opened on first use)."""
        if not self._record:
            return None
        if self._store is None:
            from gym_core.store import TraceStore, open_store

            if isinstance(self._store_arg, TraceStore):
                self._store = self._store_arg
            else:
                self._store = open_store(self._store_arg)
                self._owns_store = True
        return self._store

    @property
    def run_id(self) -> str | None:
        """The run episodes are recorded under (None until the first reset when not given)."""
        return self._run_id

    @property
    def episode_id(self) -> str | None:
        """The episode in progress (or just ended)."""
        return self._episode.id if self._episode else None

    @property
    def _sandbox(self) -> Sandbox | None:
        """The running episode's sandbox, if any (for tests that look inside it)."""
        return self._sandboxes.current

    @property
    def outcome(self) -> tuple[EpisodeStatus, Attribution | None] | None:
        """How the last episode ended (status, and whose doing it was), even when step() raised."""
        episode = self._episode
        return (episode.status, episode.attribution) if episode is not None else None

    def _recorder(self) -> Recorder:
        return Recorder(self.store)

    def _evaluator_for_task(self) -> Evaluator:
        if self._evaluator is None:
            from gym_core.images import image_for

            self._evaluator = Evaluator(
                self.task, backend=self.backend, image=image_for(self.task, self.backend)
            )
        return self._evaluator

    def _ensure_run(self) -> str | None:
        """The run to record under: the given one, or one this environment creates (and finishes)."""
        if self._run_id is None and self._record:
            config = RunConfig(
                task=str(self.task.root),
                agent=self._agent,
                runs=1,
                backend=self.backend,
                budget=dict(self._budget_overrides or {}),
                perturb=self.perturbations.as_dict(),
                seed=self._default_seed,
                source=RunSource.PYTHON_API,
            )
            self._run_id = self._recorder().create_run(
                config,
                self.task,
                backend=self.backend,
                budget=self.budget,
                perturbations=self.perturbations,
                seed=self._default_seed,
            )
            self._owns_run = True
        return self._run_id

    # --- Gymnasium API -----------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new episode in a fresh sandbox.

        Options:
            episode_index: the attempt's index within its run (the runner sets it).
            retry_of: the episode this one retries after an environment failure (the runner sets it).
        """
        if seed is None and self._episode is None:
            seed = self._default_seed
        super().reset(seed=seed)
        options = options or {}
        self.end_early("reset by the agent", truncated_by="reset", background=self._sandboxes.warm)
        episode_seed = seed if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        index = int(options.get("episode_index", self._next_index))
        self._next_index = index + 1
        run_id = self._ensure_run()
        retry_of = options.get("retry_of")
        record = self._recorder().start_episode(
            run_id, index=index, seed=episode_seed, retry_of=str(retry_of) if retry_of else None
        )
        self._episodes_started += 1
        episode = EpisodeState(
            index=index,
            seed=episode_seed,
            budget=self.budget,
            record=record,
            rng=random.Random(self._perturbation_seed(episode_seed)),
        )
        self._episode = episode
        try:
            self._sandboxes.start(run_id=self._run_id, episode_index=episode.index, episode_id=episode.id)
        except BaseException as exc:
            self._crash(exc)
            raise
        description = self.task.description(self.perturbations.prompt)
        description = self.perturbations.pad(description, random.Random(episode_seed))
        now = time.monotonic()
        episode.start_clock(now)
        obs = self._observation(
            at=now,
            output=(
                f"Episode started: task {self.task.id}, /workspace holds the starter files. "
                f"Actions: {', '.join(TOOL_NAMES)}."
            ),
            exit_code=None,
            task_text=description,
        )
        self._last_obs = obs
        return obs, self._info()

    def step(self, action: Any) -> Step:
        """Run one action. See the module docstring for how budgets end an episode."""
        episode = self._episode
        if episode is None:
            raise EpisodeError("call reset() before step()")
        if episode.ended or self._sandboxes.current is None:
            raise EpisodeError("the episode has ended; call reset() to start another")
        started = time.monotonic()
        started_at = datetime.now(UTC)
        agent_time = max(0.0, started - episode.last_return)
        episode.agent_time_s += agent_time
        try:
            return self._step(episode, action, started, started_at, agent_time)
        except BaseException as exc:
            if not episode.ended:
                self._crash(exc)
            raise
        finally:
            episode.last_return = time.monotonic()

    def expire(self, reason: str) -> Step:
        """End the episode because its wall budget ran out while the agent had not acted.

        The runner calls it when an agent's ``act()`` is still running past the budget: the step is recorded
        with no action (``flags.agent_hung``), the workspace is auto-submitted, and the episode ends
        ``truncated`` as any wall-time end does.
        """
        episode = self._episode
        if episode is None or episode.ended or self._sandboxes.current is None:
            raise EpisodeError("no episode in progress to expire")
        started = time.monotonic()
        agent_time = max(0.0, started - episode.last_return)
        episode.agent_time_s += agent_time
        cutoff = _Cutoff(
            "wall_time",
            f"<no action: {reason}>",
            "The wall-time budget ran out before the agent acted; the workspace is submitted as it is.",
            {"skipped": True, "agent_hung": True},
        )
        try:
            return self._step(episode, None, started, datetime.now(UTC), agent_time, cutoff=cutoff)
        except BaseException as exc:
            if not episode.ended:
                self._crash(exc)
            raise
        finally:
            episode.last_return = time.monotonic()

    def end_early(self, reason: str, *, truncated_by: str = "close", background: bool = False) -> None:
        """End the episode in progress on the agent's behalf: ``truncated``, graded, counted.

        ``reset()`` and ``close()`` call it for an episode that has not ended, and the server for a session
        its agent left idle. As when a budget runs out, a step without an action is recorded (its output
        says why), the workspace is auto-submitted on the private split and the attempt counts in n: an
        agent cannot drop an attempt that goes badly by starting over. The harness's own stops use
        :meth:`interrupt`. Does nothing when no episode is in progress; never raises for a failed grading
        (the episode is then recorded crashed, attributed as any other failure).

        Args:
            reason: why, in words: "reset by the agent", "closed by the agent", "idle for 660 s".
            truncated_by: ``info["truncated_by"]`` of the episode: ``reset``, ``close`` or ``idle``.
            background: stop the sandbox in the background (a reset with warm sandboxes: the next episode
                starts meanwhile; ``close()`` joins it).
        """
        episode = self._episode
        if episode is None or episode.ended or self._sandboxes.current is None:
            self._sandboxes.stop(background=background)
            return
        started = time.monotonic()
        agent_time = max(0.0, started - episode.last_return)
        episode.agent_time_s += agent_time
        cutoff = _Cutoff(
            truncated_by,
            f"<{reason}>",
            f"The episode ended early ({reason}); the workspace is submitted as it is.",
            {"skipped": True, "ended_early": reason},
        )
        try:
            self._step(episode, None, started, datetime.now(UTC), agent_time, cutoff=cutoff)
        except Exception as exc:
            if not episode.ended:
                self._crash(exc)
        except BaseException as exc:
            if not episode.ended:
                self._crash(exc)
            raise
        finally:
            self._sandboxes.stop(background=background)

    def interrupt(self, reason: str) -> None:
        """End the episode in progress as ``interrupted``: the harness's own stop, not the agent's.

        For the runner on Ctrl-C or SIGTERM and the server shutting down: nothing is graded, the attempt is
        pending (left out of n) and ``rgym resume`` runs it again. Never call it for an end the agent
        chose: that is :meth:`end_early`.
        """
        episode = self._episode
        if episode is not None and not episode.ended:
            self._finish(episode, EpisodeStatus.INTERRUPTED, error=f"interrupted: {reason}")
        self._sandboxes.stop()

    def _step(
        self,
        episode: EpisodeState,
        raw_action: Any,
        started: float,
        started_at: datetime,
        agent_time: float,
        *,
        cutoff: _Cutoff | None = None,
    ) -> Step:
        sandbox = self._sandboxes.current
        assert sandbox is not None
        index = episode.steps
        episode.steps += 1
        flags: dict[str, Any] = {}
        usage: dict[str, Any] = {}
        score: GradeResult | None = None
        terminated = truncated = False
        recorded_action: dict[str, Any] | str | None = None
        output: str
        exit_code: int | None = None

        if cutoff is not None:
            truncated, episode.truncated_by = True, cutoff.truncated_by
            output = cutoff.output
            flags.update(cutoff.flags)
            recorded_action = cutoff.action
        elif episode.time_left(started) <= 0:
            truncated, episode.truncated_by = True, "wall_time"
            output = "Wall-time budget exhausted before this action ran; the workspace is submitted as it is."
            flags["skipped"] = True
        else:
            action: Action | None
            try:
                action = parse_action(raw_action)
                recorded_action = action.to_json()
            except Exception as exc:  # the agent's input: whatever it makes parsing raise is its doing
                action = None
                shown = (
                    exc
                    if isinstance(exc, ActionError)
                    else f"the action cannot be read ({type(exc).__name__})"
                )
                output = f"Error: {shown}"
                flags["error"] = "malformed_action"
                recorded_action = recordable_action(raw_action)
            if action is not None:
                if action.tool in ("validate", "submit"):
                    output, exit_code, score, terminated, truncated = self._grade_action(
                        episode, action, index
                    )
                else:
                    outcome = run_tool(
                        sandbox,
                        action,
                        episode,
                        self.perturbations,
                        read_cap_bytes=get_settings().output_cap_bytes * 4,
                    )
                    output, exit_code = outcome.output, outcome.exit_code
                    flags.update(outcome.flags)
                    output += note_refusals(sandbox, flags)
                    if outcome.result is not None:
                        usage.update(cpu_s=outcome.result.cpu_s, peak_memory_mb=outcome.result.peak_memory_mb)

        if not terminated and not truncated:
            if episode.steps >= self.budget.step_limit:
                truncated, episode.truncated_by = True, "step_limit"
                output += "\n[step budget exhausted: the workspace is submitted as it is]"
            elif episode.time_left() <= 0:
                truncated, episode.truncated_by = True, "wall_time"
                output += "\n[wall-time budget exhausted: the workspace is submitted as it is]"
        if truncated and episode.final is None:
            score = self._evaluate(episode, index, EvaluationKind.AUTO)
            output += f"\n[auto-submit] {score.message}"
        if terminated or truncated:
            episode.ended = True
            flags["end"] = "terminated" if terminated else f"truncated:{episode.truncated_by}"
        flags.update(episode.step_flags)
        episode.step_flags.clear()

        if recorded_action is None:  # not even parsed (no time was left): kept as plain values only
            recorded_action = recordable_action(raw_action)
        obs = self._observation(output=output, exit_code=exit_code, score=score)
        usage = {**episode.take_agent_usage(), **usage}
        episode.record.step(
            index=index,
            action=recorded_action,
            observation=obs,
            exit_code=exit_code,
            started_at=started_at,
            duration_s=time.monotonic() - started,
            agent_time_s=agent_time,
            flags=flags,
            usage=usage,
        )
        reward = 0.0
        if episode.ended:
            final = episode.final
            reward = float(final.normalized) if final is not None and final.normalized is not None else 0.0
            self._finish(episode, EpisodeStatus.SUBMITTED if terminated else EpisodeStatus.TRUNCATED)
        self._last_obs = obs
        self._last_action = str(recorded_action)[:200]
        return obs, reward, terminated, truncated, self._info(score)

    def _grade_action(
        self, episode: EpisodeState, action: Action, index: int
    ) -> tuple[str, int | None, GradeResult | None, bool, bool]:
        """validate or submit: (output, exit code, grade, terminated, truncated)."""
        if action.tool == "validate":
            if episode.evals >= self.budget.eval_limit:
                episode.truncated_by = "eval_limit"
                return "Eval budget exhausted: the workspace is submitted as it is.", None, None, False, True
            grade = self._evaluate(episode, index, EvaluationKind.VALIDATE)
            return (
                f"[validate] {grade.message}",
                0 if grade.valid else 1,
                grade,
                False,
                False,
            )
        grade = self._evaluate(episode, index, EvaluationKind.SUBMIT)
        return (
            f"[submit] {grade.message}",
            0 if grade.valid else 1,
            grade,
            True,
            False,
        )

    def _evaluate(self, episode: EpisodeState, step_index: int, kind: EvaluationKind) -> GradeResult:
        sandbox = self._sandboxes.current
        assert sandbox is not None
        return self._evaluator_for_task().evaluate(
            sandbox,
            episode,
            step_index=step_index,
            kind=kind,
            labels=self._sandboxes.labels(run_id=self._run_id, episode_id=episode.id),
        )

    # --- bookkeeping -------------------------------------------------------------------------------

    def note_agent_usage(self, usage: dict[str, Any]) -> None:
        """Attach the agent's usage (tokens, cost) to the next recorded step; the runner calls it."""
        if self._episode is not None:
            self._episode.pending_agent_usage.update(usage)

    def _perturbation_seed(self, episode_seed: int) -> bytes:
        """What the episode's injected tool failures are drawn from: its seed and the task's checksum.

        The agent knows its seed (``info["seed"]``); drawn from the seed alone, the failures could be
        predicted and dodged. The checksum covers the hidden ``eval/`` folder, which the agent never reads,
        and stays the same for the same task, so the same seed still gives the same failures (replays).
        """
        return hashlib.sha256(f"{self.task.checksum}:{episode_seed}".encode()).digest()

    def _observation(
        self,
        *,
        output: str,
        exit_code: int | None,
        score: GradeResult | None = None,
        task_text: str = "",
        at: float | None = None,
    ) -> dict[str, Any]:
        episode = self._episode
        assert episode is not None
        return {
            "output": output,
            "exit_code": exit_code,
            "time_left_s": float(round(episode.time_left(at), 3)),
            "steps_left": episode.steps_left,
            "evals_left": episode.evals_left,
            "score": score.raw if score is not None else None,
            "normalized_score": score.normalized if score is not None else None,
            "task": task_text,
        }

    def _usage(self, episode: EpisodeState) -> dict[str, Any]:
        sandbox_usage: dict[str, float] | None = None
        if self._sandboxes.current is not None:
            try:
                sb = self._sandboxes.current.usage()
                sandbox_usage = {
                    "cpu_s": sb.cpu_s,
                    "peak_memory_mb": sb.peak_memory_mb,
                    "disk_mb": sb.disk_mb,
                }
            except SandboxError:
                pass
        return episode.usage(sandbox_usage)

    def _info(self, score: GradeResult | None = None) -> dict[str, Any]:
        episode = self._episode
        assert episode is not None
        info: dict[str, Any] = {
            "episode_id": episode.id,
            "run_id": self._run_id,
            "task_id": self.task.id,
            "episode_index": episode.index,
            "seed": episode.seed,
        }
        if score is not None:
            info.update(
                raw_score=score.raw,
                normalized_score=score.normalized,
                valid=score.valid,
                grader_message=score.message,
            )
        if episode.ended:
            final = episode.final
            info.update(
                final_raw_score=final.raw if final else None,
                final_normalized_score=final.normalized if final else None,
                success=self.task.spec.succeeded(final.raw if final else None),
                best_raw_score=episode.best.raw if episode.best else None,
                truncated_by=episode.truncated_by,
                usage=episode.final_usage or self._usage(episode),
            )
        return info

    def _finish(
        self,
        episode: EpisodeState,
        status: EpisodeStatus,
        error: str | None = None,
        attribution: Attribution | None = None,
    ) -> None:
        episode.ended = True
        episode.status = status
        if status is EpisodeStatus.INTERRUPTED:
            self._run_cut_short = True
        elif attribution is None:
            # Ended by the agent's own actions: a submission, a budget, or an invalid submission.
            attribution = Attribution(Origin.AGENT, None, "")
        episode.attribution = attribution
        # Taken once, while the sandbox still runs, so the store and info report the same numbers.
        usage = episode.final_usage = self._usage(episode)
        final, best = episode.final, episode.best
        episode.record.finish(
            status=status,
            final_raw=final.raw if final else None,
            final_normalized=final.normalized if final else None,
            best_raw=best.raw if best else None,
            best_normalized=best.normalized if best else None,
            failure_kind=episode.failure_kind(status),
            error=error,
            usage=usage,
            origin=attribution.origin if attribution else None,
            error_kind=attribution.kind if attribution else None,
        )
        self._sandboxes.stop()

    def abort(self, error: BaseException, *, details: str | None = None) -> None:
        """End the episode in progress as crashed (interrupted for Ctrl-C), keeping what went wrong.

        The runner calls it when the agent fails (it raised, or returned no action). ``details`` replaces the
        traceback in the record (the agent's own frames first; "" for the message alone); default: ``error``'s
        traceback.
        """
        self._crash(error, details=details)

    def _crash(self, exc: BaseException, *, details: str | None = None) -> None:
        """Record the episode as crashed (or interrupted on Ctrl-C) and release its sandbox."""
        episode = self._episode
        if episode is None or episode.ended:
            self._sandboxes.stop()
            return
        interrupted = isinstance(exc, KeyboardInterrupt)
        status = EpisodeStatus.INTERRUPTED if interrupted else EpisodeStatus.CRASHED
        text = (
            f"{exc}\n{details}".rstrip() if details is not None else "".join(traceback.format_exception(exc))
        )
        health = None if interrupted else self._sandboxes.diagnose(exc)
        attribution = None if interrupted else attribute_exception(exc, health)
        if health is not None and health.reason:  # evaluators see why it was (not) blamed on the agent
            whose = "within the agent's power" if health.agent_could_cause else "not the agent's doing"
            text = f"{text}\n[sandbox diagnosis: {health.reason}; {whose}]"
        try:
            self._finish(episode, status, error=text, attribution=attribution)
        finally:
            self._sandboxes.stop()

    def close(self) -> None:
        """Release the sandbox (always, also after errors) and finish the run this environment created.

        An episode still in progress ends ``truncated`` ("closed by the agent"), its workspace auto-submitted
        (:meth:`end_early`), unless the harness :meth:`interrupt`-ed it first. A run with an interrupted
        episode is recorded interrupted, else completed, with k set to the number of episodes it ran.
        """
        try:
            self.end_early("closed by the agent", truncated_by="close")
            if self._owns_run and self._run_id is not None and self._episodes_started:
                status = RunStatus.INTERRUPTED if self._run_cut_short else RunStatus.COMPLETED
                self._recorder().finish_run(self._run_id, status, k=self._episodes_started)
                self._owns_run = False
        finally:
            self._sandboxes.close()
            if self._owns_store and self._store is not None:
                self._store.close()
                self._store = None
            super().close()

    def render(self) -> str | None:
        """``ansi``: the last action and observation as text; ``human``: the same, printed."""
        if self.render_mode is None or self._last_obs is None:
            return None
        obs = self._last_obs
        text = (
            f"> {self._last_action}\n{obs['output'][-2000:]}\n"
            f"[exit {obs['exit_code']}, {obs['time_left_s']:.0f}s / {obs['steps_left']} steps / "
            f"{obs['evals_left']} evals left, score {obs['score']}]"
        )
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def __del__(self) -> None:
        sandboxes = getattr(self, "_sandboxes", None)
        if sandboxes is not None:
            sandboxes.abandon()
