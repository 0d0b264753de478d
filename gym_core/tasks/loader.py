"""Loading a task folder into a :class:`Task`, with field-level problems for anything wrong."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gym_core.errors import Problem, TaskSpecError
from gym_core.tasks.checksum import task_checksum
from gym_core.tasks.scan import SPEC_FILE
from gym_core.tasks.spec import TaskSpec

#: libyaml's safe loader when PyYAML was built with it (ten times faster: `rgym tasks list` reads every
#: task.yaml), else the pure-Python one. Both accept the same documents and raise the same errors.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

README_FILE = "README.md"


@dataclass(frozen=True)
class Task:
    """A validated task folder."""

    root: Path
    spec: TaskSpec
    readme: str = field(repr=False)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def workspace_dir(self) -> Path:
        """Copied to /workspace for the agent."""
        return self.root / "workspace"

    @property
    def eval_dir(self) -> Path:
        """Grader and hidden data: only ever mounted into the grader sandbox."""
        return self.root / "eval"

    @property
    def reference_dir(self) -> Path:
        """The withheld method as workspace files; never mounted for an agent."""
        return self.root / "reference"

    @property
    def environment_dir(self) -> Path:
        """requirements.txt and/or Dockerfile extending the base image."""
        return self.root / "environment"

    @cached_property
    def checksum(self) -> str:
        """SHA-256 of the task folder (see :func:`task_checksum`)."""
        return task_checksum(self.root)

    @cached_property
    def environment_checksum(self) -> str:
        """SHA-256 of environment/ alone: what the task image is built from.

        Editing the README, the workspace or the grader changes the task's checksum (and so what a score
        names) but not its image, so such edits never cost an image rebuild.
        """
        return task_checksum(self.environment_dir) if self.environment_dir.is_dir() else "0" * 64

    @property
    def image_tag(self) -> str:
        """The Docker image this task's sandboxes run in."""
        return f"rgym/task-{self.id}:{self.environment_checksum[:12]}"

    def description(self, variant: str | None = None) -> str:
        """The text the agent reads: README.md, or a named rewording of it."""
        if variant is None or variant == "default":
            return self.readme
        try:
            return self.spec.description_variants[variant]
        except KeyError:
            from gym_core.errors import ConfigError

            known = ", ".join(sorted(self.spec.description_variants)) or "none"
            raise ConfigError(
                f"task {self.id}: no description variant {variant!r}",
                hint=f"known variants: {known}",
            ) from None


def display_path(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, for messages."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _format_location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _friendly(err: dict[str, Any]) -> str:
    """Pydantic's message, reworded where the default is unclear to a task author."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "greater_than":
        return f"must be > {ctx['gt']:g}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx['ge']:g}"
    if kind == "less_than_equal":
        return f"must be <= {ctx['le']:g}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return 'unknown field (check the spelling against docs/tasks.md, "task.yaml fields")'
    if kind == "string_pattern_mismatch":
        return "must be lowercase letters, digits and hyphens, e.g. my-task"
    if kind == "enum":
        return f"must be one of {ctx.get('expected', '')}".rstrip()
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def validation_problems(exc: ValidationError, file_label: str, prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per pydantic error, with the field path and a message for task authors."""
    problems = []
    for err in exc.errors():
        loc = _format_location(tuple(err["loc"]))
        problems.append(
            Problem(file_label, f"{prefix}{loc}" if loc else prefix.rstrip("."), _friendly(dict(err)))
        )
    return problems


def parse_spec(data: Any, file_label: str) -> TaskSpec:
    """Validate already-parsed YAML; raise :class:`TaskSpecError` with one problem per field."""
    if not isinstance(data, dict):
        raise TaskSpecError(
            [
                Problem(
                    file_label, "", 'must be a YAML mapping of fields (see docs/tasks.md, "task.yaml fields")'
                )
            ]
        )
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskSpecError(validation_problems(exc, file_label)) from None


def read_spec_file(spec_path: Path) -> TaskSpec:
    """Read and validate one task.yaml."""
    label = display_path(spec_path)
    if not spec_path.is_file():
        raise TaskSpecError([Problem(label, "", "file not found (a task folder needs a task.yaml)")])
    try:
        text = spec_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskSpecError([Problem(label, "", f"cannot be read: {exc}")]) from None
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TaskSpecError([Problem(label, where, f"YAML syntax error: {problem}")]) from None
    return parse_spec(data, label)


def load_task(path: Path | str) -> Task:
    """Load and check a task folder (or a path to its task.yaml).

    Raises:
        TaskSpecError: one problem per line, each naming the file and field.
    """
    path = Path(path)
    root = path.parent if path.name == SPEC_FILE else path
    label = display_path(root)
    if not root.exists():
        raise TaskSpecError([Problem(label, "", "no such task folder")])
    if not root.is_dir():
        raise TaskSpecError([Problem(label, "", "not a folder (give a task folder or its task.yaml)")])
    spec = read_spec_file(root / SPEC_FILE)
    problems: list[Problem] = []
    if root.name != spec.id:
        problems.append(
            Problem(
                display_path(root / SPEC_FILE),
                "id",
                f"is {spec.id!r} but the folder is named {root.name!r}; they must match",
            )
        )
    readme_path = root / README_FILE
    readme = ""
    if not readme_path.is_file():
        problems.append(
            Problem(display_path(readme_path), "", "file not found (the agent reads it as the task)")
        )
    else:
        readme = readme_path.read_text(encoding="utf-8", errors="replace")
    for sub, why in (("workspace", "copied to /workspace for the agent"), ("eval", "holds the grader")):
        if not (root / sub).is_dir():
            problems.append(Problem(display_path(root / sub), "", f"folder not found ({why})"))
    if problems:
        raise TaskSpecError(problems)
    return Task(root=root.resolve(), spec=spec, readme=readme)
