"""``script:FILE.jsonl``: plays the actions of a file in order, then submits.

One JSON action a line, e.g.::

    {"tool": "bash", "command": "python baseline.py --epochs 3"}
    {"tool": "validate"}

Blank lines are skipped. The whole file is checked when it is loaded, so a typo on line 40 is reported
before the episode starts, not as an error observation halfway through it.
"""

from __future__ import annotations

import json
from pathlib import Path

from gym_core.actions import action_problem
from gym_core.errors import AgentError
from rgym_agents.base import Action, Observation, Plan, PlanAgent, TaskInfo


def load_script(path: Path | str) -> list[Action]:
    """Read and check a JSONL file of actions.

    Raises:
        AgentError: the file cannot be read, or a line is not a well-formed action; the message names
            the file and the line number of the first bad line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgentError(f"script {path}: file not found", hint="give a .jsonl file of actions") from None
    except IsADirectoryError:
        raise AgentError(f"script {path}: is a folder, not a .jsonl file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentError(f"script {path}: cannot be read: {exc}") from None

    actions: list[Action] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        problem = action_problem(action)
        if problem is not None:
            problems.append(f"{path}:{number}: {problem}")
            continue
        actions.append(action)
    if problems:
        more = f" (and {len(problems) - 1} more bad line(s))" if len(problems) > 1 else ""
        raise AgentError(problems[0] + more, hint='one JSON action a line, e.g. {"tool": "validate"}')
    return actions


class ScriptAgent(PlanAgent):
    """Replays a fixed list of actions; submits when the list runs out."""

    def __init__(self, path: Path | str, *, actions: list[Action] | None = None) -> None:
        """Args:
        path: The .jsonl file; it is read and checked here unless ``actions`` are given.
        actions: The file's actions, already checked by :func:`load_script`.
        """
        super().__init__()
        self.path = Path(path)
        self.actions = [dict(a) for a in actions] if actions is not None else load_script(self.path)
        self.name = f"script:{self.path}"

    def plan(self, task: TaskInfo, first: Observation) -> Plan:
        """Each action of the file in turn; returning submits."""
        for action in self.actions:
            yield dict(action)
