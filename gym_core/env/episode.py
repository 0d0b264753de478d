"""The state of the episode in progress: its counters, its clock, its scores and how it ended.

Budgets are enforced by the environment, not trusted to the agent: wall time counts from the end of
``reset()`` and includes the agent's own thinking time between steps (recorded apart as ``agent_time_s``);
the step and eval budgets are counted per action.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from gym_core.attribution import Attribution
from gym_core.grading.grader import GradeResult
from gym_core.outcomes import EpisodeStatus, FailureKind
from gym_core.recorder import EpisodeRecorder
from gym_core.tasks.spec import Budget

#: Usage keys an agent may report per step (summed over the episode).
AGENT_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "cost_usd")


@dataclass
class EpisodeState:
    """Mutable state of one episode."""

    index: int
    seed: int | None
    budget: Budget
    record: EpisodeRecorder
    started: float = 0.0
    """``time.monotonic()`` when ``reset()`` returned."""
    last_return: float = 0.0
    """When the last ``step()`` (or ``reset()``) returned: the agent thinks from there."""
    steps: int = 0
    evals: int = 0
    agent_time_s: float = 0.0
    best: GradeResult | None = None
    """The best valid validate (public split) grading."""
    final: GradeResult | None = None
    """The submit or auto-submit grading (private split)."""
    ended: bool = False
    truncated_by: str | None = None
    """wall_time | step_limit | eval_limit when a budget ended the episode; reset | close | idle when the agent
    ended it early (``ResearchEnv.end_early``)."""
    oom_seen: bool = False
    injected_failures: int = 0
    pending_agent_usage: dict[str, Any] = field(default_factory=dict)
    step_flags: dict[str, Any] = field(default_factory=dict)
    """Flags of the step in progress set outside the tool itself (e.g. ``snapshot_truncated`` by grading)."""
    tokens: dict[str, float] = field(default_factory=dict)
    final_usage: dict[str, Any] | None = None
    rng: random.Random = field(default_factory=random.Random)
    status: EpisodeStatus = EpisodeStatus.RUNNING
    attribution: Attribution | None = None
    """Whose doing the end was; None while running and for an interrupted episode."""

    @property
    def id(self) -> str | None:
        """The episode's id in the trace store (None when not recording)."""
        return self.record.episode_id

    def start_clock(self, now: float) -> None:
        """Start the wall-time budget."""
        self.started = self.last_return = now

    def time_left(self, now: float | None = None) -> float:
        """Seconds of wall time left (0 when spent)."""
        if not self.started:
            return self.budget.wall_time_s
        return max(0.0, self.budget.wall_time_s - ((now or time.monotonic()) - self.started))

    @property
    def steps_left(self) -> int:
        return max(0, self.budget.step_limit - self.steps)

    @property
    def evals_left(self) -> int:
        return max(0, self.budget.eval_limit - self.evals)

    def take_agent_usage(self) -> dict[str, Any]:
        """The agent's usage reported since the last step (summed into the episode's tokens)."""
        usage, self.pending_agent_usage = dict(self.pending_agent_usage), {}
        for key in AGENT_USAGE_KEYS:
            if isinstance(usage.get(key), (int, float)):
                self.tokens[key] = self.tokens.get(key, 0.0) + float(usage[key])
        return usage

    def failure_kind(self, status: EpisodeStatus) -> FailureKind | None:
        """Why a finished attempt failed, or None when it did not (or is not finished for good)."""
        if status is EpisodeStatus.CRASHED:
            return FailureKind.CRASHED
        if status is EpisodeStatus.INTERRUPTED:
            return None
        final = self.final
        if final is not None and final.valid:
            return None
        if self.oom_seen:
            return FailureKind.OOM
        if self.truncated_by == "wall_time":
            return FailureKind.TIMED_OUT
        if final is None or final.no_submission:
            return FailureKind.NO_SUBMISSION
        return FailureKind.INVALID_SUBMISSION

    def usage(self, sandbox_usage: dict[str, float] | None = None) -> dict[str, Any]:
        """Resources used so far: wall, agent time, steps, evals, tokens and the sandbox's own figures."""
        usage: dict[str, Any] = {
            "wall_s": round(time.monotonic() - self.started, 3) if self.started else 0.0,
            "wall_budget_s": self.budget.wall_time_s,
            "agent_time_s": round(self.agent_time_s, 3),
            "steps": self.steps,
            "evals": self.evals,
            "injected_failures": self.injected_failures,
            **{k: round(v, 6) for k, v in self.tokens.items()},
        }
        if sandbox_usage:
            usage.update(sandbox_usage)
        return usage
