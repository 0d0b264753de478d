"""rgym_agents.loader: every --agent form, and one clear AgentError for each kind of mistake."""

from __future__ import annotations

import pickle
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fake_env import FakeEnv, make_task, run_episode

from gym_core.errors import EXIT_BAD_INPUT, AgentError
from rgym_agents import Agent, agent_factory, load_agent
from rgym_agents.baseline import BaselineAgent
from rgym_agents.llm import LLMAgent
from rgym_agents.noop import NoopAgent
from rgym_agents.script import ScriptAgent
from rgym_agents.tuner import TunerAgent


def test_builtin_agents_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"tool": "validate"}\n')
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # never contacted
    assert isinstance(load_agent("noop"), NoopAgent)
    assert isinstance(load_agent(" Baseline "), BaselineAgent)
    tuner = load_agent("tuner")
    assert isinstance(tuner, TunerAgent) and tuner.trials is None
    tuner = load_agent("tuner:5")
    assert isinstance(tuner, TunerAgent) and tuner.trials == 5
    agent = load_agent(f"script:{script}")
    assert isinstance(agent, ScriptAgent) and agent.actions == [{"tool": "validate"}]
    llm = load_agent("llm:gpt-4o-mini")
    assert isinstance(llm, LLMAgent) and llm.name == "llm:gpt-4o-mini"
    llm.close()


@pytest.mark.parametrize("kind", ["noop", "baseline", "tuner", "tuner:3", "script", "llm", "module"])
def test_factories_pickle_for_worker_processes(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"tool": "validate"}\n')
    path = user_file(tmp_path, "class Mine:\n    def act(self, o):\n        return {'tool': 'submit'}\n")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    spec = {"script": f"script:{script}", "llm": "llm:m", "module": f"module:{path}:Mine"}.get(kind, kind)
    factory = pickle.loads(pickle.dumps(agent_factory(spec)))
    agent = factory()
    assert isinstance(agent, Agent)
    agent.close()


def test_the_factory_builds_a_fresh_agent_per_attempt() -> None:
    factory = agent_factory("tuner:3")
    first, second = factory(), factory()
    assert first is not second
    assert isinstance(first, Agent)


def test_the_script_is_checked_once_up_front(tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"tool": "validate"}\n')
    factory = agent_factory(f"script:{script}")
    script.write_text("garbage\n")  # a change mid-run does not change what attempts play
    agent = factory()
    assert isinstance(agent, ScriptAgent) and agent.actions == [{"tool": "validate"}]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "tunr",
            r"unknown agent 'tunr' \(Did you mean 'tuner'\? Known agents: noop, baseline, tuner\[:TRIALS\]",
        ),
        ("gpt4", r"unknown agent 'gpt4' \(Known agents: noop"),
        ("noop:3", r"agent 'noop' takes no argument"),
        ("baseline:x", r"agent 'baseline' takes no argument"),
        ("tuner:0", r"tuner: trials must be a whole number >= 1, got '0'"),
        ("tuner:many", r"tuner: trials must be a whole number >= 1, got 'many'"),
        ("script:", r"agent 'script' needs an argument \(use --agent script:FILE.jsonl\)"),
        ("llm", r"agent 'llm' needs an argument"),
        ("module:", r"agent 'module' needs an argument"),
        ("module:justamodule", r"expected module:pkg.mod:Class"),
        (
            "module:no_such_pkg_rgym.agent:Agent",
            r"import failed: ModuleNotFoundError: No module named 'no_such_pkg_rgym'",
        ),
        (
            "module:missing/file.py:Agent",
            r"module:missing/file.py:Agent: file not found: /.*/missing/file.py$",
        ),
    ],
)
def test_bad_specs(spec: str, expected: str) -> None:
    with pytest.raises(AgentError, match=expected) as caught:
        agent_factory(spec)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "\n" not in str(caught.value)


def test_a_bad_script_fails_at_load_time_with_its_line(tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"tool": "validate"}\n{"tool": "rm"}\n')
    with pytest.raises(AgentError, match=r"s\.jsonl:2: unknown tool 'rm'"):
        agent_factory(f"script:{script}")


def test_llm_without_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(AgentError, match="OPENAI_BASE_URL"):
        agent_factory("llm:gpt-4o")


def test_llm_with_a_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RGYM_LLM_TEMPERATURE", "warm")
    with pytest.raises(AgentError, match="RGYM_LLM_TEMPERATURE='warm' is not a number"):
        agent_factory("llm:gpt-4o")


def user_file(tmp_path: Path, source: str, name: str = "my_agent.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_module_from_a_file_path(tmp_path: Path) -> None:
    path = user_file(
        tmp_path,
        """
        from rgym_agents import BaseAgent

        class Echo(BaseAgent):
            name = "echo"

            def act(self, observation):
                return {"tool": "bash", "command": "echo hi"} if observation["task"] else {"tool": "submit"}
        """,
    )
    agent = load_agent(f"module:{path}:Echo")
    env = run_episode(agent, FakeEnv(make_task(), lambda c: 0.1))
    assert env.actions == [{"tool": "bash", "command": "echo hi"}, {"tool": "submit"}]


def test_module_by_dotted_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "rgym_test_userpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    user_file(
        package,
        'class Submitter:\n    def act(self, observation):\n        return \'{"tool": "submit"}\'\n',
        "bots.py",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    agent = load_agent("module:rgym_test_userpkg.bots:Submitter")
    # A class with only act() is adapted to the whole protocol.
    assert isinstance(agent, Agent)
    assert agent.name == "module:rgym_test_userpkg.bots:Submitter"
    env = run_episode(agent, FakeEnv(make_task(), lambda c: 0.1))
    assert env.actions == [{"tool": "submit"}]
    assert agent.step_usage() == {}


def test_module_import_error_is_one_line(tmp_path: Path) -> None:
    path = user_file(tmp_path, "import json\nraise ValueError('boom\\nsecond line')\n")
    with pytest.raises(AgentError, match=r"import failed: ValueError: boom second line$") as caught:
        agent_factory(f"module:{path}:Agent")
    assert "\n" not in str(caught.value)


def test_module_syntax_error_is_reported(tmp_path: Path) -> None:
    path = user_file(tmp_path, "def broken(:\n")
    with pytest.raises(AgentError, match="import failed: SyntaxError"):
        agent_factory(f"module:{path}:Agent")


def test_missing_class_lists_the_agent_classes_there(tmp_path: Path) -> None:
    path = user_file(tmp_path, "class Mine:\n    def act(self, o):\n        return {'tool': 'submit'}\n")
    with pytest.raises(AgentError, match=r"has no class 'Theirs' \(agent classes there: Mine\)"):
        agent_factory(f"module:{path}:Theirs")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Agent = 3\n", "'Agent' is a int, not a class"),
        ("class Agent:\n    pass\n", "class 'Agent' has no act\\(\\) method"),
    ],
)
def test_not_an_agent_class(tmp_path: Path, source: str, expected: str) -> None:
    path = user_file(tmp_path, source)
    with pytest.raises(AgentError, match=expected):
        agent_factory(f"module:{path}:Agent")


def test_a_constructor_that_raises_fails_the_attempt_with_the_cause(tmp_path: Path) -> None:
    path = user_file(
        tmp_path,
        "class Agent:\n    def __init__(self):\n        raise RuntimeError('no GPU')\n    def act(self, o):\n        pass\n",
    )
    factory = agent_factory(f"module:{path}:Agent")  # importing and finding the class is fine
    with pytest.raises(AgentError, match=r"Agent\(\) failed: RuntimeError: no GPU"):
        factory()


def test_a_user_agent_keeps_its_own_reset_usage_and_close(tmp_path: Path) -> None:
    path = user_file(
        tmp_path,
        """
        calls = []

        class Full:
            def reset(self, task, *, seed):
                calls.append(("reset", task.id, seed))

            def act(self, observation):
                return {"tool": "submit"}

            def step_usage(self):
                return {"prompt_tokens": 1}

            def close(self):
                calls.append(("close",))
        """,
    )
    agent = load_agent(f"module:{path}:Full")
    env = run_episode(agent, FakeEnv(make_task(), lambda c: 0.1), seed=4)
    assert env.actions == [{"tool": "submit"}]
    assert agent.step_usage() == {"prompt_tokens": 1}
    module: Any = __import__("sys").modules[type(agent.inner).__module__]  # type: ignore[attr-defined]
    assert module.calls == [("reset", "tiny", 4), ("close",)]


def test_every_attempt_gets_a_fresh_agent_and_a_fresh_module(tmp_path: Path) -> None:
    """State an attempt could learn (module globals, class attributes) never reaches the next attempt."""
    path = tmp_path / "prober.py"
    path.write_text(
        "from rgym_agents import BaseAgent\n"
        "SEEN = []\n"
        "class Prober(BaseAgent):\n"
        "    learned = {}\n"
        "    def act(self, observation):\n"
        "        SEEN.append(1)\n"
        "        type(self).learned[len(SEEN)] = observation.get('score')\n"
        "        return {'tool': 'submit'}\n"
    )
    factory = agent_factory(f"module:{path}:Prober")
    first, second = factory(), factory()
    first.act({"score": 0.5})
    first.act({"score": 0.7})
    assert first is not second and type(first) is not type(second)
    second.act({"score": None})
    inner = getattr(second, "inner", second)
    assert type(inner).learned == {1: None}
    assert sys.modules[type(inner).__module__].SEEN == [1]
