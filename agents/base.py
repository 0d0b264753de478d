"""The agent protocol: what the runner calls, and what an agent may know about its task.

An agent sees a task only through :class:`TaskInfo` (never the reference or the hidden eval data) and
through the observations the environment returns. The runner drives it like this::

    agent.reset(task_info, seed=seed)
    obs, info = env.reset(seed=seed)
    while True:
        action = agent.act(obs)                  # a dict, or the same dict as a JSON string
        obs, reward, terminated, truncated, info = env.step(action)
        usage = agent.step_usage()               # tokens and cost of that act(), {} for non-LLM agents
        if terminated or truncated:
            break
    agent.close()
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gym_core.actions import SUBMIT, ActionDict

if TYPE_CHECKING:
    from gym_core.tasks.loader import Task

#: An action as an agent returns it, e.g. ``{"tool": "bash", "command": "ls"}`` (see :mod:`gym_core.actions`).
Action = ActionDict
#: An observation (output, exit_code, time_left_s, steps_left, evals_left, score, normalized_score, task).
Observation = dict[str, Any]


@dataclass(frozen=True)
class TaskInfo:
    """What an agent may know about its task: never the reference method or the hidden eval data."""

    id: str
    title: str
    description: str
    """README.md, or a perturbed rewording of it."""
    metric_name: str
    direction: str
    """``maximize`` or ``minimize``."""
    baseline_command: str
    baseline_score: float
    knobs: dict[str, list[Any]] = field(default_factory=dict)
    """Tunable hyperparameters of the baseline: name -> candidate values."""
    submission: tuple[str, ...] = ()
    """Workspace-relative files the grader reads."""
    budget: dict[str, Any] = field(default_factory=dict)
    """wall_time_s, step_limit, eval_limit, command_timeout_s, ... of this episode."""

    @classmethod
    def from_task(
        cls,
        task: Task,
        *,
        description: str | None = None,
        budget: Mapping[str, Any] | None = None,
    ) -> TaskInfo:
        """The agent's view of ``task``.

        Args:
            task: A loaded task folder.
            description: The text the agent reads instead of README.md (a perturbation variant).
            budget: The episode's budget after run overrides; default: the task's own budget.
        """
        spec = task.spec
        return cls(
            id=spec.id,
            title=spec.title,
            description=task.readme if description is None else description,
            metric_name=spec.metric.name,
            direction=spec.metric.direction.value,
            baseline_command=spec.baseline.command,
            baseline_score=spec.baseline.score,
            knobs={name: list(values) for name, values in spec.knobs.items()},
            submission=tuple(spec.grader.submission),
            budget=dict(budget) if budget is not None else spec.budget.model_dump(mode="json"),
        )

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b`` in this task's direction."""
        return a < b if self.direction == "minimize" else a > b


@runtime_checkable
class Agent(Protocol):
    """What the runner drives. Build one per attempt; an agent is never reused across attempts."""

    name: str

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        """Start a new episode of ``task``; ``seed`` makes a seeded agent repeatable."""

    def act(self, observation: Observation) -> Action | str:
        """The next action, given the observation of the previous one (or of reset)."""

    def step_usage(self) -> dict[str, Any]:
        """Usage of the last act(): prompt_tokens, completion_tokens, cost_usd for LLM agents; else {}."""

    def close(self) -> None:
        """Release clients, threads and files."""


class BaseAgent:
    """An agent with no-op defaults: a user agent only writes :meth:`act`.

    ``self.task`` and ``self.seed`` hold what the last :meth:`reset` received.
    """

    name: str = "agent"
    """Labels the agent's runs (``rgym runs``, reports, ``rgym compare --history``); set your own."""
    tolerant_actions: bool = False
    """False: returning something that is not an action at all (not a dict or string, e.g. None from a
    missing return) crashes the attempt at once, showing the value. True: it is sent to the environment and
    comes back as an error observation, as a malformed dict or string always does."""

    def __init__(self) -> None:
        self.task: TaskInfo | None = None
        self.seed: int | None = None

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        """Remember the task and seed; override to clear per-episode state (call super())."""
        self.task = task
        self.seed = seed

    def act(self, observation: Observation) -> Action | str:
        """Submit at once; override this."""
        return dict(SUBMIT)

    def step_usage(self) -> dict[str, Any]:
        """No usage to report."""
        return {}

    def close(self) -> None:
        """Nothing to release."""

    def require_task(self) -> TaskInfo:
        """The task of the current episode; raises when act() is called before reset()."""
        if self.task is None:
            from gym_core.errors import AgentError

            raise AgentError(f"agent {self.name!r}: act() was called before reset()")
        return self.task


#: A plan yields actions and receives the observation of each; when it returns, the agent submits.
Plan = Generator[Action, Observation, None]


class PlanAgent(BaseAgent):
    """An agent written as a generator: ``yield`` an action, get its observation back.

    Sequential agents read much better this way than as a state machine::

        class Twice(PlanAgent):
            def plan(self, task, first):
                obs = yield {"tool": "bash", "command": task.baseline_command}
                if obs["exit_code"] == 0:
                    yield {"tool": "validate"}
                # returning submits
    """

    def __init__(self) -> None:
        super().__init__()
        self._plan: Plan | None = None
        self._done = False

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        """Start over: the next act() starts a fresh plan."""
        super().reset(task, seed=seed)
        self._plan = None
        self._done = False

    def plan(self, task: TaskInfo, first: Observation) -> Plan:
        """Yield the episode's actions; ``first`` is the observation of reset (its ``task`` is the README)."""
        return
        yield  # pragma: no cover - makes this a generator

    def act(self, observation: Observation) -> Action | str:
        """Advance the plan by one action; submit once it has run out."""
        task = self.require_task()
        if self._done:
            return dict(SUBMIT)
        try:
            if self._plan is None:
                self._plan = self.plan(task, observation)
                return next(self._plan)
            return self._plan.send(observation)
        except StopIteration:
            self._done = True
            return dict(SUBMIT)

    def close(self) -> None:
        """Close the generator, so its finally blocks run."""
        if self._plan is not None:
            self._plan.close()
            self._plan = None
