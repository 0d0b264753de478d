"""Turning an ``--agent`` value into agents: ``noop``, ``tuner:8``, ``module:pkg.mod:Class``, ...

:func:`agent_factory` checks the whole spec once, up front (the script file, the import, the
environment variables), so a typo fails the run before any attempt starts; the factory then builds a
fresh agent for every attempt.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import importlib.util
import inspect
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gym_core.errors import AgentError
from rgym_agents.base import Action, Agent, BaseAgent, Observation, TaskInfo

#: The --agent values, as a user would type them.
USAGE: dict[str, str] = {
    "noop": "noop",
    "baseline": "baseline",
    "tuner": "tuner[:TRIALS]",
    "script": "script:FILE.jsonl",
    "llm": "llm:MODEL",
    "module": "module:pkg.mod:Class | module:path/to/file.py:Class",
}
AGENT_NAMES: tuple[str, ...] = tuple(USAGE)

AgentFactory = Callable[[], Agent]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _known_list() -> str:
    return ", ".join(USAGE.values())


def agent_factory(spec: str) -> AgentFactory:
    """Check ``spec`` once and return a function that builds a fresh agent per attempt.

    Raises:
        AgentError: unknown agent name, bad argument, bad script file, import failure, missing class,
            or a missing environment variable; one line naming what to fix.
    """
    spec = spec.strip()
    name, sep, arg = spec.partition(":")
    name = name.strip().lower()
    if name not in USAGE:
        close = difflib.get_close_matches(name, AGENT_NAMES, n=1)
        hint = f"Did you mean '{close[0]}'? " if close else ""
        raise AgentError(f"unknown agent '{spec}'", hint=f"{hint}Known agents: {_known_list()}")
    if name in ("noop", "baseline"):
        if sep:
            raise AgentError(f"agent '{name}' takes no argument, got '{spec}'", hint=f"use --agent {name}")
        if name == "noop":
            from rgym_agents.noop import NoopAgent

            return NoopAgent
        from rgym_agents.baseline import BaselineAgent

        return BaselineAgent
    if name == "tuner":
        return _tuner_factory(arg if sep else None)
    if not arg.strip():
        raise AgentError(f"agent '{name}' needs an argument", hint=f"use --agent {USAGE[name]}")
    if name == "script":
        return _script_factory(arg)
    if name == "llm":
        return _llm_factory(arg.strip())
    return _module_factory(arg.strip())


def load_agent(spec: str) -> Agent:
    """One agent built from ``spec`` (see :func:`agent_factory` for the forms and errors)."""
    return agent_factory(spec)()


def _tuner_factory(arg: str | None) -> AgentFactory:
    from rgym_agents.tuner import TunerAgent

    if arg is None:
        return TunerAgent
    try:
        trials = int(arg)
    except ValueError:
        trials = 0
    if trials < 1:
        raise AgentError(
            f"tuner: trials must be a whole number >= 1, got '{arg}'", hint="use e.g. --agent tuner:8"
        )
    return functools.partial(TunerAgent, trials)


def _script_factory(arg: str) -> AgentFactory:
    from rgym_agents.script import ScriptAgent, load_script

    path = Path(arg).expanduser()
    actions = load_script(path)  # fail now, with the line number, not at the first attempt
    # Every attempt plays what was checked, even if the file changes during the run.
    return functools.partial(ScriptAgent, path.resolve(), actions=actions)


def _llm_factory(model: str) -> AgentFactory:
    from rgym_agents.llm import LLMAgent

    LLMAgent(model).close()  # checks OPENAI_BASE_URL and the RGYM_LLM_* variables without a request
    return functools.partial(LLMAgent, model)


_fresh_loads = itertools.count()


def _import_target(target: str, label: str) -> Any:
    """The module named by ``pkg.mod``, or a fresh load of ``path/to/file.py``.

    A file is executed anew on every call (under a new module name), so module-level state of a user's
    agent file never carries from one attempt into the next.
    """
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise AgentError(f"{label}: file not found: {path}")
        # Unique per load: two user files called agent.py must not collide, nor two attempts share one.
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        module_name = f"rgym_user_agent_{digest}_{next(_fresh_loads)}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise AgentError(f"{label}: {path} cannot be imported as Python source")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
        try:
            module_spec.loader.exec_module(module)
        except BaseException as exc:
            del sys.modules[module_name]
            if not isinstance(exc, Exception):
                raise
            raise AgentError(f"{label}: import failed: {_one_line(exc)}") from exc
        return module
    try:
        return importlib.import_module(target)
    except Exception as exc:
        raise AgentError(
            f"{label}: import failed: {_one_line(exc)}",
            hint="is the package installed or on PYTHONPATH?",
        ) from exc


def _split_module_arg(arg: str) -> tuple[str, str]:
    target, sep, class_name = arg.rpartition(":")
    if not sep or not target or not class_name.isidentifier():
        raise AgentError(
            f"module:{arg}: expected module:pkg.mod:Class or module:path/to/file.py:Class",
            hint="the class name comes after the last ':'",
        )
    if target.endswith(".py") or "/" in target or "\\" in target:
        # Absolute, so a worker process with another working directory finds the same file.
        target = str(Path(target).expanduser().resolve())
    return target, class_name


def _resolve_class(target: str, class_name: str, label: str) -> type:
    """The agent class ``class_name`` of module ``target``, checked to have an act() method."""
    module = _import_target(target, label)
    cls = getattr(module, class_name, None)
    if cls is None:
        classes = sorted(
            n for n, v in vars(module).items() if inspect.isclass(v) and callable(getattr(v, "act", None))
        )
        hint = (
            f"agent classes there: {', '.join(classes)}" if classes else "define a class with an act() method"
        )
        raise AgentError(f"{label}: {target} has no class '{class_name}'", hint=hint)
    if not inspect.isclass(cls):
        raise AgentError(f"{label}: '{class_name}' is a {type(cls).__name__}, not a class")
    if not callable(getattr(cls, "act", None)):
        raise AgentError(
            f"{label}: class '{class_name}' has no act() method",
            hint="subclass rgym_agents.BaseAgent and write act(observation) -> action",
        )
    return cls


@dataclass(frozen=True)
class UserAgentFactory:
    """Builds a user's agent class. Holds only names, so it pickles into worker processes (ray, spawn)."""

    target: str
    """A dotted module name, or the absolute path of a .py file."""
    class_name: str
    label: str
    """The --agent value, for messages and as the agent's default name."""

    def __call__(self) -> Agent:
        cls = _resolve_class(self.target, self.class_name, self.label)
        try:
            instance = cls()
        except Exception as exc:
            raise AgentError(f"{self.label}: {self.class_name}() failed: {_one_line(exc)}") from exc
        return ensure_agent(instance, self.label)


def _module_factory(arg: str) -> AgentFactory:
    target, class_name = _split_module_arg(arg)
    label = f"module:{arg}"
    _resolve_class(target, class_name, label)  # import now: a broken module fails the run, not each attempt
    return UserAgentFactory(target, class_name, label)


class _AdaptedAgent(BaseAgent):
    """Fills in what a user object lacks (reset, step_usage, close, name) around its act()."""

    def __init__(self, inner: Any, name: str) -> None:
        super().__init__()
        self.inner = inner
        self.name = str(getattr(inner, "name", None) or name)
        self.tolerant_actions = bool(getattr(inner, "tolerant_actions", False))

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        super().reset(task, seed=seed)
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            reset(task, seed=seed)

    def act(self, observation: Observation) -> Action | str:
        result: Action | str = self.inner.act(observation)
        return result

    def step_usage(self) -> dict[str, Any]:
        usage = getattr(self.inner, "step_usage", None)
        result = usage() if callable(usage) else {}
        return dict(result) if isinstance(result, dict) else {}

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


def ensure_agent(obj: Any, name: str) -> Agent:
    """``obj`` when it keeps the whole :class:`Agent` protocol, else ``obj`` wrapped with defaults.

    So a user class with only an ``act()`` method is a valid agent.
    """
    if not callable(getattr(obj, "act", None)):
        raise AgentError(f"{name}: {type(obj).__name__} has no act() method")
    if isinstance(obj, Agent) and isinstance(getattr(obj, "name", None), str):
        return obj
    return _AdaptedAgent(obj, name)
