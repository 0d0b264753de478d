"""A tiny stand-in for the rgym environment: plain Python, no sandbox, same observation contract.

The "workspace" is a dict of files. The baseline command reads ``knobs.json`` when present, and
produces predictions whose score is ``score_fn(config)`` (config None = no knobs.json). A score_fn that
raises makes the command fail with exit code 1. Each bash step takes ``command_seconds`` of a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rgym_agents.base import Agent, TaskInfo

BASELINE_COMMAND = "python baseline.py"
README = "# Tiny task\nMake predictions.csv better."


def make_task(
    *,
    knobs: dict[str, list[Any]] | None = None,
    direction: str = "maximize",
    eval_limit: int = 20,
    step_limit: int = 200,
    wall_time_s: float = 3600,
) -> TaskInfo:
    """A TaskInfo for the fake environment."""
    return TaskInfo(
        id="tiny",
        title="Tiny task",
        description=README,
        metric_name="accuracy" if direction == "maximize" else "error",
        direction=direction,
        baseline_command=BASELINE_COMMAND,
        baseline_score=0.5,
        knobs=knobs or {},
        submission=("predictions.csv",),
        budget={"wall_time_s": wall_time_s, "step_limit": step_limit, "eval_limit": eval_limit},
    )


@dataclass
class FakeEnv:
    """Honours SPEC.md section 3's observations for the actions the built-in agents take."""

    task: TaskInfo
    score_fn: Callable[[dict[str, Any] | None], float | None]
    command_seconds: float = 1.0
    files: dict[str, str] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    validations: list[float | None] = field(default_factory=list)
    final_score: float | None = None
    terminated: bool = False
    truncated: bool = False
    clock: float = 0.0
    _workspace_score: float | None = None

    @property
    def budget(self) -> dict[str, Any]:
        return self.task.budget

    def _obs(
        self, output: str, exit_code: int | None, *, score: float | None = None, graded: bool = False
    ) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "output": output,
            "exit_code": exit_code,
            "time_left_s": max(0.0, self.budget["wall_time_s"] - self.clock),
            "steps_left": self.budget["step_limit"] - len(self.actions),
            "evals_left": self.budget["eval_limit"] - len(self.validations),
            "score": score,
            "task": "",
        }
        if graded:
            obs["normalized_score"] = None if score is None else score - self.task.baseline_score
        return obs

    def reset(self) -> dict[str, Any]:
        obs = self._obs("", None)
        obs["task"] = self.task.description
        return obs

    def _run_baseline(self) -> tuple[str, int]:
        config = json.loads(self.files["knobs.json"]) if "knobs.json" in self.files else None
        try:
            score = self.score_fn(config)
        except Exception as exc:
            return f"Traceback: {exc}", 1
        self._workspace_score = score
        self.files["predictions.csv"] = f"predictions for {config}"
        return "done", 0

    def step(self, action: dict[str, Any] | str) -> dict[str, Any]:
        assert not (self.terminated or self.truncated), "step after the end of the episode"
        if isinstance(action, str):
            action = json.loads(action)
        assert isinstance(action, dict)
        self.actions.append(action)
        tool = action.get("tool")
        obs: dict[str, Any]
        if tool == "bash":
            self.clock += self.command_seconds
            command = action["command"]
            output, code = f"ran {command}", 0
            if "rm -f knobs.json" in command:
                self.files.pop("knobs.json", None)
            if BASELINE_COMMAND in command:
                output, code = self._run_baseline()
            obs = self._obs(output, code)
        elif tool == "write_file":
            self.files[action["path"]] = action["content"]
            obs = self._obs("written", 0)
        elif tool == "read_file":
            content = self.files.get(action["path"])
            obs = self._obs(
                content if content is not None else "No such file", 0 if content is not None else 1
            )
        elif tool == "validate":
            if len(self.validations) >= self.budget["eval_limit"]:
                obs = self._obs("no evaluations left", 1)
            else:
                self.validations.append(self._workspace_score)
                obs = self._obs("graded", 0, score=self._workspace_score, graded=True)
        elif tool == "submit":
            self.final_score = self._workspace_score
            self.terminated = True
            obs = self._obs("submitted", 0, score=self._workspace_score, graded=True)
        else:
            obs = self._obs(f"error: unknown tool {tool!r}", None)
        if not self.terminated and (
            len(self.actions) >= self.budget["step_limit"] or self.clock >= self.budget["wall_time_s"]
        ):
            self.truncated = True
            self.final_score = self._workspace_score
        self.observations.append(obs)
        return obs


def run_episode(agent: Agent, env: FakeEnv, *, seed: int | None = 0, max_steps: int = 1000) -> FakeEnv:
    """Drive ``agent`` through one episode of ``env``, the way the runner does."""
    agent.reset(env.task, seed=seed)
    obs = env.reset()
    try:
        for _ in range(max_steps):
            obs = env.step(agent.act(obs))
            if env.terminated or env.truncated:
                return env
    finally:
        agent.close()
    raise AssertionError(f"the agent did not finish within {max_steps} steps")
