"""The protocol, TaskInfo, action checking, and the noop and baseline agents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_env import BASELINE_COMMAND, FakeEnv, make_task, run_episode

from gym_core.errors import AgentError
from gym_core.tasks.loader import load_task
from rgym_agents import Agent, BaseAgent, PlanAgent, TaskInfo, action_problem
from rgym_agents.baseline import BaselineAgent
from rgym_agents.noop import NoopAgent

FIXTURE_TASK = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


def constant(score: float) -> Any:
    return lambda config: score


def test_noop_submits_at_once() -> None:
    env = run_episode(NoopAgent(), FakeEnv(make_task(), constant(0.7)))
    assert env.actions == [{"tool": "submit"}]
    assert env.terminated
    assert env.final_score is None  # nothing was produced


def test_baseline_runs_the_baseline_then_submits() -> None:
    env = run_episode(BaselineAgent(), FakeEnv(make_task(), constant(0.7)))
    assert env.actions == [{"tool": "bash", "command": BASELINE_COMMAND}, {"tool": "submit"}]
    assert env.final_score == 0.7


def test_builtin_agents_keep_the_protocol() -> None:
    for agent in (NoopAgent(), BaselineAgent(), BaseAgent()):
        assert isinstance(agent, Agent)
        assert agent.step_usage() == {}


def test_act_before_reset_is_a_clear_error() -> None:
    with pytest.raises(AgentError, match="before reset"):
        BaselineAgent().act({"output": ""})


def test_plan_agent_submits_when_its_plan_ends_and_can_be_reset() -> None:
    class Probe(PlanAgent):
        name = "probe"

        def plan(self, task: TaskInfo, first: dict[str, Any]) -> Any:
            obs = yield {"tool": "read_file", "path": "missing.txt"}
            if obs["exit_code"] != 0:
                yield {"tool": "bash", "command": "echo fallback"}

    agent = Probe()
    env = run_episode(agent, FakeEnv(make_task(), constant(0.1)))
    assert [a["tool"] for a in env.actions] == ["read_file", "bash", "submit"]
    # A second episode with the same object starts its plan afresh.
    env2 = run_episode(agent, FakeEnv(make_task(), constant(0.1)))
    assert [a["tool"] for a in env2.actions] == ["read_file", "bash", "submit"]


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ({"tool": "bash", "command": "ls"}, None),
        ({"tool": "bash", "command": "ls", "timeout_s": 5}, None),
        ({"tool": "write_file", "path": "a", "content": ""}, None),
        ({"tool": "validate"}, None),
        (["bash"], "action must be a JSON object, got list"),
        ({"command": "ls"}, "action has no 'tool' field"),
        ({"tool": "shell", "command": "ls"}, "unknown tool 'shell'"),
        ({"tool": "bash"}, "bash: missing field 'command'"),
        ({"tool": "bash", "command": 3}, "bash: field 'command' must be a string, got int"),
        ({"tool": "bash", "command": "ls", "timeout_s": True}, "must be a number, got bool"),
        # Values are the environment's to refuse: an exploit script may still try a path outside /workspace.
        ({"tool": "read_file", "path": "/eval/labels.csv"}, None),
        (
            {"tool": "read_file", "path": "a", "cmd": "x"},
            "read_file: unknown field(s) 'cmd' (it takes: path)",
        ),
        ({"tool": "submit", "now": True}, "submit: unknown field(s) 'now' (it takes: no other fields)"),
    ],
)
def test_action_problem(action: Any, problem: str | None) -> None:
    found = action_problem(action)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_task_info_from_a_task_folder_hides_the_reference() -> None:
    task = load_task(FIXTURE_TASK)
    info = TaskInfo.from_task(task)
    assert info.id == "tiny-mean"
    assert info.direction == "minimize"
    assert info.baseline_command == "python baseline.py"
    assert info.baseline_score == 5.0
    assert info.knobs == {"guess": [0, 5, 10, 15]}
    assert info.submission == ("answer.txt",)
    assert info.budget["eval_limit"] == 3
    assert info.description == task.readme
    assert "reference" not in {f.lower() for f in vars(info)}
    assert info.better(1.0, 2.0) and not info.better(2.0, 1.0)


def test_task_info_takes_a_variant_and_a_budget_override() -> None:
    task = load_task(FIXTURE_TASK)
    info = TaskInfo.from_task(task, description=task.description("terse"), budget={"eval_limit": 1})
    assert info.description.startswith("Write the mean")
    assert info.budget == {"eval_limit": 1}
