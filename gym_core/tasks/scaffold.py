"""``rgym tasks new``: scaffold a complete task folder from a template, and find the TODOs it leaves.

A scaffolded folder validates as it is (``rgym tasks validate``) and its grader runs: the templates are small
working tasks (a regression for file submissions, a guessing game for code submissions) whose data comes
from their own ``maintainer/make_data.py``. What the author still has to write is marked ``TODO(rgym)``;
``rgym tasks new`` lists every marker and ``rgym tasks validate`` warns while any is left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gym_core.errors import ConfigError, TaskError
from gym_core.tasks.loader import Task, display_path, load_task
from gym_core.tasks.spec import TASK_ID_PATTERN

TODO_MARKER = "TODO(rgym)"
"""What marks a part of a task folder its author still has to write."""

TEMPLATES: dict[str, str] = {
    "files": "the agent submits files (predictions.csv), the grader reads them",
    "code": "the agent submits a program (policy.py), the grader plays it through the submission runner",
}
"""Template name -> what it scaffolds."""

_ID_TOKEN = "__TASK_ID__"
_TITLE_TOKEN = "__TITLE__"
#: Text files bigger than this are data, never scanned for markers.
_MAX_SCAN_BYTES = 1024 * 1024
_SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Todo:
    """One ``TODO(rgym)`` marker left in a task folder."""

    path: Path
    line: int
    text: str

    def describe(self, root: Path | None = None) -> str:
        """``task.yaml:7: the paper's title`` (relative to ``root`` when given)."""
        shown = self.path.relative_to(root).as_posix() if root is not None else display_path(self.path)
        return f"{shown}:{self.line}: {self.text}"


def template_dir(name: str) -> Path:
    """The folder of a packaged template.

    Raises:
        ConfigError: no template has this name.
    """
    if name not in TEMPLATES:
        raise ConfigError(f"unknown task template {name!r}", hint=f"use one of: {', '.join(TEMPLATES)}")
    return Path(str(resources.files("gym_core.tasks") / "templates" / name))


def find_todos(root: Path) -> list[Todo]:
    """Every ``TODO(rgym)`` marker in the text files of a task folder, in path and line order."""
    todos: list[Todo] = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        if any(part in _SKIPPED for part in path.relative_to(root).parts) or path.is_symlink():
            continue
        if path.stat().st_size > _MAX_SCAN_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data or TODO_MARKER.encode() not in data:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            at = line.find(TODO_MARKER)
            if at >= 0:
                text = line[at + len(TODO_MARKER) :].lstrip(" :").rstrip(" ->*#\"'").strip()
                todos.append(Todo(path, number, text or "(no text)"))
    return todos


def _title_from_id(task_id: str) -> str:
    return task_id.replace("-", " ").capitalize()


def scaffold_task(
    task_id: str, dest: Path, *, template: str = "files", title: str | None = None
) -> tuple[Task, list[Todo]]:
    """Create ``dest/task_id`` from a template, generate its data, and check that it validates.

    Args:
        task_id: the new task's id (lowercase letters, digits and hyphens).
        dest: the folder that holds task folders, e.g. ``tasks/``.
        template: a name from :data:`TEMPLATES`.
        title: the one-line title (default: made from the id).

    Returns:
        The loaded task and the TODO markers it leaves.

    Raises:
        ConfigError: a bad id, an unknown template, or a folder that exists already.
        TaskError: the template's data generator failed (nothing is left behind).
    """
    if not re.fullmatch(TASK_ID_PATTERN, task_id):
        raise ConfigError(
            f"task id {task_id!r} must be lowercase letters, digits and hyphens", hint="e.g. my-task"
        )
    source = template_dir(template)
    target = Path(dest) / task_id
    if target.exists():
        raise ConfigError(
            f"{display_path(target)} exists already", hint="choose another id, or remove the folder first"
        )
    if title is not None and (not title.strip() or "\n" in title):
        raise ConfigError("--title must be one non-empty line")
    shown_title = (title or _title_from_id(task_id)).strip().replace('"', "'")
    try:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(*_SKIPPED, "*.pyc"))
        for path in sorted(p for p in target.rglob("*") if p.is_file()):
            text = path.read_text(encoding="utf-8")
            if _ID_TOKEN in text or _TITLE_TOKEN in text:
                path.write_text(text.replace(_ID_TOKEN, task_id).replace(_TITLE_TOKEN, shown_title))
        generator = target / "maintainer" / "make_data.py"
        result = subprocess.run(
            [sys.executable, str(generator), "--seed", "0"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise TaskError(f"the template's data generator failed: {last[0]}")
        task = load_task(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return task, find_todos(target)
