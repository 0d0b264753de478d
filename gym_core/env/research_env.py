"""``ResearchEnv``: one research task as a Gymnasium environment (SPEC.md section 3).

An episode is one attempt at the task. ``reset()`` starts a fresh sandbox from the task's workspace;
``step(action)`` runs one action in it under the episode's budgets; the episode ends when the agent
submits (``terminated``) or a budget runs out (``truncated``, and the final workspace is graded as the
submission). Every step is written to the trace store before ``step()`` returns.

Budgets are enforced here, not trusted to the agent: wall time counts from the end of ``reset()`` and
includes the agent's own thinking time between steps (recorded separately as ``agent_time_s``); a
command's timeout is capped by the time left; the step and eval budgets are counted per action.

Running out:
    * wall time: the step that finds no time left is not executed; the workspace is auto-submitted.
    * steps: the step that uses the last one is executed, then the workspace is auto-submitted.
    * evals: a ``validate`` asked for with none left ends the episode with an auto-submit.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsFloat

import gymnasium as gym
from pydantic import ValidationError

from gym_core.env.actions import Action, parse_action
from gym_core.env.perturbations import Perturbations
from gym_core.env.spaces import action_space, observation_space
from gym_core.errors import ActionError, ConfigError, EpisodeError, SandboxError
from gym_core.grading.grader import Grader, GradeResult
from gym_core.sandbox.base import (
    LABEL_EPISODE,
    LABEL_RUN,
    ExecResult,
    Limits,
    NetworkMode,
    Sandbox,
    SandboxConfig,
)
from gym_core.settings import get_settings
from gym_core.tasks.discovery import find_task
from gym_core.tasks.loader import Task, validation_problems
from gym_core.tasks.spec import Budget

if TYPE_CHECKING:
    from gym_core.store import EvaluationKind, FinalEpisodeStatus, TraceStore

#: Extra lifetime a sandbox gets past the wall budget, so the auto-submit can still copy files out.
SANDBOX_GRACE_S = 120.0


@dataclass
class _Episode:
    """Mutable state of the episode in progress."""

    id: str | None
    index: int
    seed: int | None
    started: float = 0.0
    steps: int = 0
    evals: int = 0
    agent_time_s: float = 0.0
    last_return: float = 0.0
    best: GradeResult | None = None
    final: GradeResult | None = None
    ended: bool = False
    truncated_by: str | None = None
    oom_seen: bool = False
    injected_failures: int = 0
    pending_agent_usage: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    final_usage: dict[str, Any] | None = None
    rng: random.Random = field(default_factory=random.Random)


def budget_limits(budget: Budget, *, wall_time_s: float, network: NetworkMode | None = None) -> Limits:
    """The sandbox limits a task budget asks for, with the sandbox's own lifetime (and network) given."""
    return Limits(
        cpus=budget.cpus,
        memory_mb=budget.memory_mb,
        pids=budget.pids,
        disk_mb=budget.disk_mb,
        gpus=budget.gpus,
        network=network or NetworkMode(budget.network.value),
        wall_time_s=wall_time_s,
    )


class ResearchEnv(gym.Env[dict[str, Any], str]):
    """A research task as a Gymnasium environment.

    Args:
        task: a :class:`Task`, a task id, or a task folder.
        backend: ``docker`` or ``local``; default: docker when an engine answers.
        store: trace store URL or an open :class:`TraceStore`; default: RGYM_STORE or the SQLite file in
            the data dir. ``record=False`` records nothing.
        budget: overrides of the task's budget, e.g. ``{"wall_time_s": 600}``.
        seed: default seed of the first ``reset()``.
        perturb: perturbations of every episode (see :class:`Perturbations`).
        run_id: record episodes under this existing run (the runner's); default: a new run on first reset.
        agent: the agent's name, recorded with a run this environment creates.
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
    ) -> None:
        super().__init__()
        self.task = task if isinstance(task, Task) else find_task(str(task))
        self.perturbations = perturb if isinstance(perturb, Perturbations) else Perturbations.parse(perturb)
        self.budget = self._resolve_budget(budget)
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
        self._agent = agent
        self._labels = dict(labels or {})
        self._image: str | None = None
        self._sandbox: Sandbox | None = None
        self._episode: _Episode | None = None
        self._next_index = 0
        self._last_obs: dict[str, Any] | None = None
        self._last_action: str = ""

    # --- configuration -----------------------------------------------------------------------------

    def _resolve_budget(self, budget: dict[str, Any] | Budget | None) -> Budget:
        base = self.task.spec.budget
        try:
            if isinstance(budget, Budget):
                resolved = budget
            elif budget:
                resolved = base.override(dict(budget))
            else:
                resolved = base
            scale = self.perturbations.budget_scale
            if scale != 1.0:
                resolved = resolved.override(
                    {
                        "wall_time_s": resolved.wall_time_s * scale,
                        "step_limit": max(1, round(resolved.step_limit * scale)),
                        "eval_limit": max(0, round(resolved.eval_limit * scale)),
                    }
                )
        except ValidationError as exc:
            problems = validation_problems(exc, "--budget")
            raise ConfigError(
                "; ".join(f"--budget {p.location}: {p.message}" for p in problems),
                hint=f"see the task's budget with `rgym tasks show {self.task.id}`",
            ) from None
        except ValueError as exc:
            raise ConfigError(f"--budget: {exc}") from None
        return resolved

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

    def _ensure_image(self) -> str:
        if self._image is None:
            from gym_core.images import image_for

            self._image = image_for(self.task, self.backend)
        return self._image

    def _ensure_run(self) -> str | None:
        store = self.store
        if store is None:
            return None
        if self._run_id is None:
            from gym_core.reporting import scoring_constants

            self._run_id = store.create_run(
                task_id=self.task.id,
                task_version=self.task.spec.version,
                task_checksum=self.task.checksum,
                agent=self._agent,
                config={
                    "source": "gymnasium",
                    "task_root": str(self.task.root),
                    "scoring": scoring_constants(self.task),
                },
                backend=self.backend,
                budget=self.budget.model_dump(mode="json"),
                perturbations=self.perturbations.as_dict(),
                k=1,
                seed=self._default_seed,
            )
        return self._run_id

    # --- Gymnasium API -----------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new episode in a fresh sandbox.

        Options:
            episode_index: the attempt's index within its run (the runner sets it).
        """
        if seed is None and self._episode is None:
            seed = self._default_seed
        super().reset(seed=seed)
        options = options or {}
        self._abandon_episode()
        episode_seed = seed if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        index = int(options.get("episode_index", self._next_index))
        self._next_index = index + 1
        run_id = self._ensure_run()
        episode_id = None
        if self.store is not None and run_id is not None:
            episode_id = self.store.start_episode(run_id, index=index, seed=episode_seed)
        episode = _Episode(id=episode_id, index=index, seed=episode_seed, rng=random.Random(episode_seed))
        self._episode = episode
        try:
            self._sandbox = self._start_sandbox(run_id, episode_id)
        except BaseException as exc:
            self._crash(exc)
            raise
        description = self.task.description(self.perturbations.prompt)
        description = self.perturbations.pad(description, random.Random(episode_seed))
        now = time.monotonic()
        episode.started = episode.last_return = now
        obs = self._observation(
            output=(
                f"Episode started: task {self.task.id}, /workspace holds the starter files. "
                "Actions: bash, write_file, read_file, validate, submit."
            ),
            exit_code=None,
            task_text=description,
            at=now,
        )
        self._last_obs = obs
        return obs, self._info()

    def step(self, action: Any) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Run one action. See the module docstring for how budgets end an episode."""
        episode = self._episode
        if episode is None:
            raise EpisodeError("call reset() before step()")
        if episode.ended or self._sandbox is None:
            raise EpisodeError("the episode has ended; call reset() to start another")
        started = time.monotonic()
        started_at = datetime.now(UTC)
        episode.agent_time_s += max(0.0, started - episode.last_return)
        try:
            return self._step(episode, action, started, started_at)
        except BaseException as exc:
            if not episode.ended:
                self._crash(exc)
            raise
        finally:
            episode.last_return = time.monotonic()

    def _step(
        self, episode: _Episode, raw_action: Any, started: float, started_at: datetime
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        agent_time = started - episode.last_return
        index = episode.steps
        episode.steps += 1
        flags: dict[str, Any] = {}
        result: ExecResult | None = None
        score: GradeResult | None = None
        terminated = truncated = False
        recorded_action: Any = raw_action
        output: str
        exit_code: int | None = None

        if self._time_left(started) <= 0:
            truncated, episode.truncated_by = True, "wall_time"
            output = "Wall-time budget exhausted before this action ran; the workspace is submitted as it is."
            flags["skipped"] = True
        else:
            try:
                action = parse_action(raw_action)
                recorded_action = action.to_json()
            except ActionError as exc:
                action = None
                output = f"Error: {exc}"
                flags["error"] = "malformed_action"
            if action is not None:
                output, exit_code, result, score, terminated, truncated = self._execute(
                    episode, action, index, flags
                )

        if not terminated and not truncated:
            if episode.steps >= self.budget.step_limit:
                truncated, episode.truncated_by = True, "step_limit"
                output += "\n[step budget exhausted: the workspace is submitted as it is]"
            elif self._time_left() <= 0:
                truncated, episode.truncated_by = True, "wall_time"
                output += "\n[wall-time budget exhausted: the workspace is submitted as it is]"
        if truncated and episode.final is None:
            score = self._evaluate(episode, index, "auto")
            output += f"\n[auto-submit] {score.message}"
        if terminated or truncated:
            episode.ended = True

        obs = self._observation(output=output, exit_code=exit_code, score=score)
        duration = time.monotonic() - started
        usage = dict(episode.pending_agent_usage)
        episode.pending_agent_usage = {}
        for key in ("prompt_tokens", "completion_tokens", "cost_usd"):
            if isinstance(usage.get(key), (int, float)):
                episode.tokens[key] = episode.tokens.get(key, 0.0) + float(usage[key])
        if result is not None:
            usage.update(cpu_s=result.cpu_s, peak_memory_mb=result.peak_memory_mb)
            flags.update(
                timed_out=result.timed_out,
                oom_killed=result.oom_killed,
                stdout_truncated=result.stdout_truncated,
                stderr_truncated=result.stderr_truncated,
            )
        if terminated or truncated:
            flags["end"] = "terminated" if terminated else f"truncated:{episode.truncated_by}"
        if self.store is not None and episode.id is not None:
            self.store.record_step(
                episode.id,
                index=index,
                action=recorded_action if isinstance(recorded_action, (dict, str)) else repr(recorded_action),
                observation=obs,
                exit_code=exit_code,
                started_at=started_at,
                duration_s=duration,
                agent_time_s=agent_time,
                flags=flags,
                usage=usage,
            )
        reward = 0.0
        if episode.ended:
            final = episode.final
            reward = float(final.normalized) if final is not None and final.normalized is not None else 0.0
            self._finish(episode, "submitted" if terminated else "truncated")
        self._last_obs = obs
        self._last_action = str(recorded_action)[:200]
        return obs, reward, terminated, truncated, self._info(score)

    def _execute(
        self, episode: _Episode, action: Action, index: int, flags: dict[str, Any]
    ) -> tuple[str, int | None, ExecResult | None, GradeResult | None, bool, bool]:
        sandbox = self._sandbox
        assert sandbox is not None
        if action.tool == "bash":
            assert action.command is not None
            if (
                self.perturbations.tool_failure_rate
                and episode.rng.random() < self.perturbations.tool_failure_rate
            ):
                episode.injected_failures += 1
                flags["injected_failure"] = True
                return (
                    "Error: the command could not be started (transient tool failure); try again.",
                    1,
                    None,
                    None,
                    False,
                    False,
                )
            requested = action.timeout_s or self.budget.command_timeout_s
            timeout = max(0.1, min(requested, self.budget.command_timeout_s * 4, self._time_left()))
            result = sandbox.exec(action.command, timeout_s=timeout)
            episode.oom_seen = episode.oom_seen or result.oom_killed
            return self._format_exec(result, timeout), result.exit_code, result, None, False, False
        if action.tool == "write_file":
            assert action.path is not None and action.content is not None
            try:
                sandbox.write_file(action.path, action.content)
            except (SandboxError, OSError) as exc:
                flags["error"] = "write_failed"
                return f"Error: cannot write {action.path}: {exc}", 1, None, None, False, False
            return f"Wrote {len(action.content.encode())} bytes to {action.path}", 0, None, None, False, False
        if action.tool == "read_file":
            assert action.path is not None
            try:
                data = sandbox.read_file(action.path, max_bytes=get_settings().output_cap_bytes * 4)
            except (SandboxError, OSError) as exc:
                flags["error"] = "read_failed"
                return f"Error: cannot read {action.path}: {exc}", 1, None, None, False, False
            return data.decode("utf-8", errors="replace"), 0, None, None, False, False
        if action.tool == "validate":
            if episode.evals >= self.budget.eval_limit:
                episode.truncated_by = "eval_limit"
                return (
                    "Eval budget exhausted: the workspace is submitted as it is.",
                    None,
                    None,
                    None,
                    False,
                    True,
                )
            grade = self._evaluate(episode, index, "validate")
            return (
                f"[validate] {grade.message}\n{grade.output}".rstrip(),
                0 if grade.valid else 1,
                None,
                grade,
                False,
                False,
            )
        # submit
        grade = self._evaluate(episode, index, "submit")
        return (
            f"[submit] {grade.message}\n{grade.output}".rstrip(),
            0 if grade.valid else 1,
            None,
            grade,
            True,
            False,
        )

    @staticmethod
    def _format_exec(result: ExecResult, timeout: float) -> str:
        parts = [result.stdout]
        if result.stderr:
            parts.append(result.stderr if not result.stdout else f"[stderr]\n{result.stderr}")
        if result.stdout_truncated or result.stderr_truncated:
            parts.append("[output truncated]")
        if result.timed_out:
            parts.append(f"[command timed out after {timeout:.0f}s and was killed]")
        if result.oom_killed:
            parts.append("[command was killed: out of memory]")
        return "\n".join(p.rstrip("\n") for p in parts if p)

    # --- grading -----------------------------------------------------------------------------------

    def _evaluate(self, episode: _Episode, step_index: int, kind: EvaluationKind) -> GradeResult:
        """Copy the workspace out safely, snapshot it, grade the declared files, record the evaluation."""
        sandbox = self._sandbox
        assert sandbox is not None
        if kind == "validate":
            episode.evals += 1
        grader = Grader(
            self.task, backend=self.backend, image=self._ensure_image(), labels=self._sandbox_labels()
        )
        with tempfile.TemporaryDirectory(prefix="rgym-eval-") as tmp:
            copy = Path(tmp) / "workspace"
            copy.mkdir()
            report = sandbox.copy_out(None, copy, max_bytes=self.budget.disk_mb * 1024 * 1024)
            snapshot = None
            if self.store is not None:
                snapshot = self.store.snapshot_workspace(copy)
            grade = grader.grade(copy, report)
        if grade.valid and (episode.best is None or self._better(grade, episode.best)):
            episode.best = grade
        if kind != "validate":
            episode.final = grade
        if self.store is not None and episode.id is not None:
            self.store.record_evaluation(
                episode.id,
                step_index=step_index,
                kind=kind,
                raw_score=grade.raw,
                normalized_score=grade.normalized,
                valid=grade.valid,
                grader_output=f"{grade.message}\n{grade.output}".strip(),
                snapshot=snapshot,
            )
        return grade

    def _better(self, a: GradeResult, b: GradeResult) -> bool:
        assert a.raw is not None and b.raw is not None
        return self.task.spec.metric.better(a.raw, b.raw)

    # --- bookkeeping -------------------------------------------------------------------------------

    def note_agent_usage(self, usage: dict[str, Any]) -> None:
        """Attach the agent's usage (tokens, cost) to the next recorded step; the runner calls it."""
        if self._episode is not None:
            self._episode.pending_agent_usage.update(usage)

    def _sandbox_labels(self) -> dict[str, str]:
        labels = dict(self._labels)
        if self._run_id:
            labels[LABEL_RUN] = self._run_id
        if self._episode and self._episode.id:
            labels[LABEL_EPISODE] = self._episode.id
        return labels

    def _start_sandbox(self, run_id: str | None, episode_id: str | None) -> Sandbox:
        from gym_core.sandbox import create_sandbox

        config = SandboxConfig(
            image=self._ensure_image(),
            workspace_src=self.task.workspace_dir,
            limits=budget_limits(self.budget, wall_time_s=self.budget.wall_time_s + SANDBOX_GRACE_S),
            labels=self._sandbox_labels(),
            output_cap_bytes=get_settings().output_cap_bytes,
            role="agent",
        )
        sandbox = create_sandbox(self.backend, config)
        sandbox.start()
        return sandbox

    def _time_left(self, now: float | None = None) -> float:
        episode = self._episode
        if episode is None:
            return self.budget.wall_time_s
        return max(0.0, self.budget.wall_time_s - ((now or time.monotonic()) - episode.started))

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
        time_left = self.budget.wall_time_s if at is not None else round(self._time_left(), 3)
        return {
            "output": output,
            "exit_code": exit_code,
            "time_left_s": float(time_left),
            "steps_left": max(0, self.budget.step_limit - episode.steps),
            "evals_left": max(0, self.budget.eval_limit - episode.evals),
            "score": score.raw if score is not None else None,
            "normalized_score": score.normalized if score is not None else None,
            "task": task_text,
        }

    def _usage(self, episode: _Episode) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "wall_s": round(time.monotonic() - episode.started, 3) if episode.started else 0.0,
            "wall_budget_s": self.budget.wall_time_s,
            "agent_time_s": round(episode.agent_time_s, 3),
            "steps": episode.steps,
            "evals": episode.evals,
            "injected_failures": episode.injected_failures,
            **{k: round(v, 6) for k, v in episode.tokens.items()},
        }
        if self._sandbox is not None:
            try:
                sb = self._sandbox.usage()
                usage.update(cpu_s=sb.cpu_s, peak_memory_mb=sb.peak_memory_mb, disk_mb=sb.disk_mb)
            except SandboxError:
                pass
        return usage

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
                success=self.task.spec.succeeded(final.normalized if final else None),
                best_raw_score=episode.best.raw if episode.best else None,
                truncated_by=episode.truncated_by,
                usage=episode.final_usage or self._usage(episode),
            )
        return info

    def _failure_kind(self, episode: _Episode, status: str) -> str | None:
        if status == "crashed":
            return "crashed"
        if status == "interrupted":
            return None
        final = episode.final
        if final is not None and final.valid:
            return None
        if episode.oom_seen:
            return "oom"
        if episode.truncated_by == "wall_time":
            return "timed_out"
        if final is None or final.no_submission:
            return "no_submission"
        return "invalid_submission"

    def _finish(self, episode: _Episode, status: FinalEpisodeStatus, error: str | None = None) -> None:
        episode.ended = True
        # Taken once, while the sandbox still runs, so the store and info report the same numbers.
        usage = episode.final_usage = self._usage(episode)
        if self.store is not None and episode.id is not None:
            final, best = episode.final, episode.best
            self.store.finish_episode(
                episode.id,
                status=status,
                final_raw=final.raw if final else None,
                final_normalized=final.normalized if final else None,
                best_raw=best.raw if best else None,
                best_normalized=best.normalized if best else None,
                failure_kind=self._failure_kind(episode, status),
                error=error,
                usage=usage,
            )
        self._stop_sandbox()

    def abort(self, error: BaseException) -> None:
        """End the episode in progress as crashed (interrupted for Ctrl-C), keeping ``error``'s traceback.

        The runner calls it when the agent, not the environment, fails: it raised, or hung past the budget.
        """
        self._crash(error)

    def _crash(self, exc: BaseException) -> None:
        """Record the episode as crashed (or interrupted on Ctrl-C) and release its sandbox."""
        episode = self._episode
        if episode is None or episode.ended:
            self._stop_sandbox()
            return
        status: FinalEpisodeStatus = "interrupted" if isinstance(exc, KeyboardInterrupt) else "crashed"
        text = "".join(traceback.format_exception(exc))
        try:
            self._finish(episode, status, error=text)
        finally:
            self._stop_sandbox()

    def _abandon_episode(self) -> None:
        episode = self._episode
        if episode is not None and not episode.ended:
            self._finish(
                episode, "interrupted", error="abandoned: reset() or close() before the episode ended"
            )
        self._stop_sandbox()

    def _stop_sandbox(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.stop()

    def close(self) -> None:
        """Release the sandbox (always, also after errors); an unfinished episode is recorded as interrupted."""
        try:
            self._abandon_episode()
        finally:
            self._stop_sandbox()
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
        sandbox = getattr(self, "_sandbox", None)
        if sandbox is not None:
            with contextlib.suppress(Exception):
                sandbox.stop()
