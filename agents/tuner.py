"""``tuner``: seeded random search over the task's ``knobs``; validates each try and submits its best.

The contract with a task: its baseline command reads ``knobs.json`` from /workspace when present
(``{"knob_name": value, ...}``) and uses its own defaults when it is absent. Trial 0 is the default
config (no knobs.json written), so the tuner never submits something worse than the baseline it measured.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

from rgym_agents.base import Observation, Plan, PlanAgent, TaskInfo

KNOBS_FILE = "knobs.json"
DEFAULT_MAX_TRIALS = 8
#: Steps one knob trial takes: write knobs.json, run the baseline, validate.
STEPS_PER_TRIAL = 3
#: Steps kept for the end: write the best knobs back, re-run the baseline, submit, plus one spare.
STEPS_RESERVED = 4
#: Stop when less time is left than this many times the slowest trial (one more trial plus the re-run).
TIME_SAFETY_FACTOR = 2.0

Config = dict[str, Any]


@dataclass
class Trial:
    """One evaluated configuration; ``config`` None is the task's default (no knobs.json)."""

    config: Config | None
    score: float | None
    seconds: float


def config_count(knobs: dict[str, list[Any]]) -> int:
    """How many distinct configs the product of the knob values holds."""
    return math.prod(len(values) for values in knobs.values()) if knobs else 0


def config_at(knobs: dict[str, list[Any]], index: int) -> Config:
    """The ``index``-th config of the product of knob values (mixed-radix, knob names sorted)."""
    config: Config = {}
    for name in sorted(knobs):
        values = knobs[name]
        index, digit = divmod(index, len(values))
        config[name] = values[digit]
    return config


def sample_configs(knobs: dict[str, list[Any]], n: int, rng: random.Random) -> list[Config]:
    """``n`` distinct configs drawn at random (all of them when there are fewer)."""
    total = config_count(knobs)
    if total <= sys.maxsize:
        # random.sample over a range never materialises it, so a large product costs nothing.
        return [config_at(knobs, i) for i in rng.sample(range(total), min(n, total))]
    # Beyond a machine word random.sample cannot take len(); with so many configs a repeat is
    # vanishingly rare, and the membership check keeps the no-repeat promise anyway.
    drawn: list[int] = []
    while len(drawn) < n:
        index = rng.randrange(total)
        if index not in drawn:
            drawn.append(index)
    return [config_at(knobs, i) for i in drawn]


def _number(obs: Observation, key: str) -> float | None:
    value = obs.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class TunerAgent(PlanAgent):
    """Random search without repeats over the task's knobs, within the episode's budgets."""

    name = "tuner"

    def __init__(self, trials: int | None = None) -> None:
        """Args:
        trials: Evaluations to spend, the default config included; default min(eval_limit, 8).
        """
        super().__init__()
        if trials is not None and trials < 1:
            from gym_core.errors import AgentError

            raise AgentError(f"tuner: trials must be >= 1, got {trials}", hint="use e.g. --agent tuner:8")
        self.trials = trials
        self.history: list[Trial] = []
        """Every trial of the current episode, in order; for tests and for the curious."""

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        """Start a new search."""
        super().reset(task, seed=seed)
        self.history = []

    def _trial_budget(self, task: TaskInfo) -> int:
        if self.trials is not None:
            return self.trials
        eval_limit = task.budget.get("eval_limit")
        if isinstance(eval_limit, int):
            return min(eval_limit, DEFAULT_MAX_TRIALS)
        return DEFAULT_MAX_TRIALS

    def best(self) -> Trial | None:
        """The best validated trial so far in the task's direction (the earliest one on ties)."""
        task = self.require_task()
        best: Trial | None = None
        for trial in self.history:
            if trial.score is None:
                continue
            if best is None or best.score is None or task.better(trial.score, best.score):
                best = trial
        return best

    def plan(self, task: TaskInfo, first: Observation) -> Plan:
        """Default config, then random configs, then the best config re-run and submitted."""
        if not task.knobs or self._trial_budget(task) < 1:
            # Nothing to tune (or no evaluation to spend): behave exactly like the baseline agent.
            yield {"tool": "bash", "command": task.baseline_command}
            return

        rng = random.Random(self.seed)
        # Trial 0 is the default config; the others are drawn without repeats.
        candidates: list[Config | None] = [None]
        candidates += sample_configs(task.knobs, self._trial_budget(task) - 1, rng)

        obs = first
        wrote_knobs = False
        slowest = 0.0
        for config in candidates:
            if not self._can_afford_trial(obs, config, slowest):
                break
            started = _number(obs, "time_left_s")
            clock = time.monotonic()
            if config is not None:
                obs = yield {
                    "tool": "write_file",
                    "path": KNOBS_FILE,
                    "content": json.dumps(config, sort_keys=True),
                }
                wrote_knobs = True
            obs = yield {"tool": "bash", "command": task.baseline_command}
            score: float | None = None
            if obs.get("exit_code") == 0:
                obs = yield {"tool": "validate"}
                score = _number(obs, "score")
            # A failed command left stale outputs behind: it is not worth an evaluation.
            ended = _number(obs, "time_left_s")
            seconds = (
                started - ended if started is not None and ended is not None else time.monotonic() - clock
            )
            slowest = max(slowest, seconds)
            self.history.append(Trial(config=config, score=score, seconds=seconds))

        best = self.best()
        if best is not None and best is self.history[-1]:
            return  # the workspace already holds the best config's outputs
        if best is None and not wrote_knobs:
            return  # nothing worked and nothing was changed: submit the workspace as it is
        if not self._can_afford_restore(obs):
            return
        if best is None or best.config is None:
            yield {"tool": "bash", "command": f"rm -f {KNOBS_FILE} && {task.baseline_command}"}
        else:
            yield {
                "tool": "write_file",
                "path": KNOBS_FILE,
                "content": json.dumps(best.config, sort_keys=True),
            }
            yield {"tool": "bash", "command": task.baseline_command}

    def _can_afford_trial(self, obs: Observation, config: Config | None, slowest: float) -> bool:
        evals_left = _number(obs, "evals_left")
        if evals_left is not None and evals_left < 1:
            return False
        steps_left = _number(obs, "steps_left")
        needed = (STEPS_PER_TRIAL if config is not None else STEPS_PER_TRIAL - 1) + STEPS_RESERVED
        if steps_left is not None and steps_left < needed:
            return False
        time_left = _number(obs, "time_left_s")
        return not (time_left is not None and time_left < TIME_SAFETY_FACTOR * slowest)

    def _can_afford_restore(self, obs: Observation) -> bool:
        steps_left = _number(obs, "steps_left")
        # write + bash + submit
        return steps_left is None or steps_left >= 3


__all__ = ["KNOBS_FILE", "Trial", "TunerAgent", "config_at", "config_count", "sample_configs"]
