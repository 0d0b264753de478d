"""Suites: named lists of tasks, ``tasks/suites/<name>.yaml``, found along the same path as tasks.

A suite file::

    name: core
    description: Every task rgym ships.
    tasks:
      - calibration-temperature-scaling
      - bandit-bernoulli-regret

``rgym run --suite core`` runs each task; every task a suite lists must exist when the suite is loaded.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gym_core.errors import Problem, SuiteError
from gym_core.tasks.discovery import Discovery, discover
from gym_core.tasks.loader import Task, display_path, validation_problems
from gym_core.tasks.spec import TASK_ID_PATTERN

SUITES_DIR = "suites"
"""The folder, inside a folder of tasks, that holds suite files."""


class SuiteSpec(BaseModel):
    """One suite file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=TASK_ID_PATTERN, description="The suite's name; the file is <name>.yaml.")
    description: str = Field(default="", description="What the suite is for, in a line or two.")
    tasks: list[str] = Field(min_length=1, description="Task ids, in the order reports list them.")

    @field_validator("tasks")
    @classmethod
    def _unique(cls, tasks: list[str]) -> list[str]:
        seen: set[str] = set()
        for task_id in tasks:
            if task_id in seen:
                raise ValueError(f"task {task_id!r} is listed twice")
            seen.add(task_id)
        return tasks


@dataclass(frozen=True)
class Suite:
    """A validated suite: its file, its spec, and its tasks loaded."""

    path: Path
    spec: SuiteSpec
    tasks: tuple[Task, ...]

    @property
    def name(self) -> str:
        return self.spec.name


def suite_folders(search_path: list[Path] | None = None) -> list[Path]:
    """The folders suites are looked up in: ``<folder>/suites`` for each folder of tasks, in order."""
    from gym_core.settings import get_settings

    paths = search_path if search_path is not None else get_settings().task_search_path()
    return [base / SUITES_DIR for base in paths]


def available_suites(search_path: list[Path] | None = None) -> dict[str, Path]:
    """Suite name -> file, the first folder that holds a name winning."""
    found: dict[str, Path] = {}
    for folder in suite_folders(search_path):
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def load_suite(path: Path, *, found: Discovery | None = None) -> Suite:
    """Read and check a suite file: its fields, its name (= the file's stem), and that every task exists.

    Raises:
        SuiteError: one problem per line, each naming the file and the field.
    """
    label = display_path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError([Problem(label, "", f"cannot be read: {exc.strerror or exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SuiteError(
            [Problem(label, where, f"YAML syntax error: {getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(data, dict):
        raise SuiteError([Problem(label, "", "must be a mapping with name, description and tasks")])
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(validation_problems(exc, label)) from None
    problems = []
    if spec.name != path.stem:
        problems.append(
            Problem(label, "name", f"is {spec.name!r} but the file is {path.name}; they must match")
        )
    found = found if found is not None else discover()
    tasks = []
    for i, task_id in enumerate(spec.tasks):
        task = found.tasks.get(task_id)
        if task is not None:
            tasks.append(task)
            continue
        broken = [folder for folder in found.broken if folder.name == task_id]
        if broken:
            why = f"task {task_id!r} is invalid; run `rgym tasks validate {display_path(broken[0])}`"
        else:
            close = difflib.get_close_matches(task_id, list(found.tasks), n=3)
            hint = f"did you mean {' or '.join(close)}?" if close else "`rgym tasks list` shows the tasks"
            why = f"no task {task_id!r} along RGYM_TASKS_PATH ({hint})"
        problems.append(Problem(label, f"tasks[{i}]", why))
    if problems:
        raise SuiteError(problems)
    return Suite(path=path.resolve(), spec=spec, tasks=tuple(tasks))


def find_suite(name: str, search_path: list[Path] | None = None) -> Suite:
    """A suite by name (along the task search path) or by the path of its file.

    Raises:
        SuiteError: no such suite, or the suite is invalid.
    """
    as_path = Path(name)
    if name.endswith((".yaml", ".yml")) or as_path.is_file():
        if not as_path.is_file():
            raise SuiteError([Problem(display_path(as_path), "", "no such suite file")])
        return load_suite(as_path, found=discover(search_path))
    known = available_suites(search_path)
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = (
            f"did you mean {' or '.join(close)}?"
            if close
            else f"known suites: {', '.join(sorted(known)) or 'none'}; a suite is tasks/suites/<name>.yaml"
        )
        raise SuiteError([Problem(f"suite {name!r}", "", f"not found along RGYM_TASKS_PATH ({hint})")])
    return load_suite(known[name], found=discover(search_path))
