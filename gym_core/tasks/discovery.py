"""Finding tasks along RGYM_TASKS_PATH; shared by the CLI, ``gym.make`` and the Python API."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from gym_core.errors import TaskNotFoundError, TaskSpecError
from gym_core.settings import get_settings
from gym_core.tasks.loader import SPEC_FILE, Task, load_task


@dataclass(frozen=True)
class Discovery:
    """Tasks found along a search path, and the folders that failed to load (with why)."""

    tasks: dict[str, Task]
    broken: dict[Path, TaskSpecError]


def discover(search_path: list[Path] | None = None) -> Discovery:
    """Load every task folder along ``search_path`` (default: the settings' path).

    The first folder that holds an id wins; later duplicates are ignored, as PATH does for programs.
    """
    paths = search_path if search_path is not None else get_settings().task_search_path()
    tasks: dict[str, Task] = {}
    broken: dict[Path, TaskSpecError] = {}
    for base in paths:
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if (p / SPEC_FILE).is_file()):
            try:
                task = load_task(folder)
            except TaskSpecError as exc:
                broken[folder] = exc
                continue
            tasks.setdefault(task.id, task)
    return Discovery(tasks=tasks, broken=broken)


def find_task(task_id: str, search_path: list[Path] | None = None) -> Task:
    """The task with this id, or a path to a task folder.

    Raises:
        TaskNotFoundError: with "Did you mean ...?" for near misses.
        TaskSpecError: the folder exists but is invalid.
    """
    as_path = Path(task_id)
    if (as_path / SPEC_FILE).is_file() or as_path.name == SPEC_FILE:
        return load_task(as_path)
    found = discover(search_path)
    if task_id in found.tasks:
        return found.tasks[task_id]
    for folder, error in found.broken.items():
        if folder.name == task_id:
            raise error
    close = difflib.get_close_matches(task_id, list(found.tasks), n=3)
    hint = f"Did you mean {' or '.join(close)}?" if close else "run `rgym tasks list` to see the tasks"
    raise TaskNotFoundError(f"no task {task_id!r} along RGYM_TASKS_PATH", hint=hint)


def find_recorded_task(task_id: str, task_root: str | None) -> Task:
    """The task a recorded run used: its folder when it is still there, else the id along the path.

    Callers compare ``checksum`` with the recorded one to tell whether the task changed since.
    """
    if task_root and Path(task_root).is_dir():
        return load_task(Path(task_root))
    return find_task(task_id)
