"""Finding tasks along RGYM_TASKS_PATH; shared by the CLI, ``gym.make`` and the Python API."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from gym_core.errors import TaskNotFoundError, TaskSpecError
from gym_core.settings import SHIPPED_TASKS, get_settings
from gym_core.tasks.loader import Task, display_path, load_task
from gym_core.tasks.scan import SPEC_FILE


@dataclass(frozen=True)
class Discovery:
    """Tasks found along a search path, the folders that failed to load (with why), and what was searched."""

    tasks: dict[str, Task]
    broken: dict[Path, TaskSpecError]
    searched: tuple[Path, ...] = ()
    """The folders searched, in order."""
    shadowed: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    """Task id -> folders holding the same id further down the path, which the first one hides."""

    def source(self, task: Task) -> str:
        """Where a task comes from, for listings: ``shipped`` or the search-path folder that holds it."""
        base = task.root.parent
        if base.resolve() == SHIPPED_TASKS.resolve():
            return "shipped"
        return display_path(base)

    def describe_searched(self) -> str:
        """The folders searched, each with what it held: ``tasks (missing), /opt/tasks (2 tasks)``."""
        parts = []
        for base in self.searched:
            name = "shipped tasks" if base.resolve() == SHIPPED_TASKS.resolve() else display_path(base)
            if not base.is_dir():
                parts.append(f"{name} (missing)")
                continue
            found = sum(1 for t in self.tasks.values() if t.root.parent.resolve() == base.resolve())
            bad = sum(1 for folder in self.broken if folder.parent.resolve() == base.resolve())
            what = f"{found} task{'s' if found != 1 else ''}" + (f", {bad} invalid" if bad else "")
            parts.append(f"{name} ({what})")
        return ", ".join(parts)


def discover(search_path: list[Path] | None = None) -> Discovery:
    """Load every task folder along ``search_path`` (default: the settings' path).

    The first folder that holds an id wins; later duplicates are ignored, as PATH does for programs, and
    listed in :attr:`Discovery.shadowed`.
    """
    paths = search_path if search_path is not None else get_settings().task_search_path()
    tasks: dict[str, Task] = {}
    broken: dict[Path, TaskSpecError] = {}
    shadowed: dict[str, list[Path]] = {}
    for base in paths:
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if (p / SPEC_FILE).is_file()):
            try:
                task = load_task(folder)
            except TaskSpecError as exc:
                broken[folder] = exc
                continue
            if task.id in tasks:
                shadowed.setdefault(task.id, []).append(task.root)
                continue
            tasks[task.id] = task
    return Discovery(
        tasks=tasks,
        broken=broken,
        searched=tuple(paths),
        shadowed={k: tuple(v) for k, v in shadowed.items()},
    )


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
    hint = (
        f"Did you mean {' or '.join(close)}?"
        if close
        else f"searched {found.describe_searched()}; `rgym tasks list` shows the tasks"
    )
    raise TaskNotFoundError(f"no task {task_id!r} along RGYM_TASKS_PATH", hint=hint)


def find_recorded_task(task_id: str, task_root: str | None) -> Task:
    """The task a recorded run used: its folder when it is still there, else the id along the path.

    Callers compare ``checksum`` with the recorded one to tell whether the task changed since.
    """
    if task_root and Path(task_root).is_dir():
        return load_task(Path(task_root))
    return find_task(task_id)
