"""Registering every discovered task as a Gymnasium id ``rgym/<task-id>-v<version>``.

Registration reads only each task.yaml's ``id`` and ``version`` (:func:`scan_task_ids`); the spec is parsed
and validated when ``gym.make`` builds the environment, so importing ``gym_core`` stays cheap however many
tasks are on the path, and a broken task fails with its field-level problems at ``gym.make``, not at import.

``import gym_core`` registers the tasks when gymnasium is already imported, and otherwise the moment it
is (:func:`register_on_gymnasium_import`): commands that never touch gymnasium, such as ``rgym --version``,
never pay for importing it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from gym_core.tasks.scan import scan_task_ids

ENTRY_POINT = "gym_core.registration:make_env"
NAMESPACE = "rgym"


def make_env(*, task: str, task_id: str, version: int, remote: str | None = None, **kwargs: Any) -> Any:
    """What ``gym.make("rgym/<id>-v<N>", ...)`` builds: the local :class:`ResearchEnv` of the task folder,
    or, with ``remote="http://..."``, a :class:`RemoteEnv` driving that task on an rgym server."""
    if remote is not None:
        from gym_core.remote import RemoteEnv

        return RemoteEnv(task_id, remote=remote, version=version, **kwargs)
    from gym_core.env.research_env import ResearchEnv

    return ResearchEnv(task, **kwargs)


def register_tasks() -> list[str]:
    """Register (or re-register) the tasks found along RGYM_TASKS_PATH; returns their Gymnasium ids."""
    import gymnasium as gym

    ids = []
    for (task_id, version), folder in scan_task_ids().items():
        gym_id = f"{NAMESPACE}/{task_id}-v{version}"
        if gym_id in gym.registry:
            del gym.registry[gym_id]
        gym.register(
            id=gym_id,
            entry_point=ENTRY_POINT,
            kwargs={"task": str(folder), "task_id": task_id, "version": version},
            nondeterministic=True,  # real processes and wall clocks: a step cannot be replayed bit for bit
            order_enforce=True,
        )
        ids.append(gym_id)
    return ids


class _RegisterAfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``gymnasium`` with the other finders and registers rgym's tasks right after it executes."""

    _inner: importlib.abc.Loader

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "gymnasium":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from finding this finder again
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target) if find else None
            if spec is not None and spec.loader is not None:
                self._inner = spec.loader
                spec.loader = self
                return spec
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        sys.modules[module.__name__] = module
        register_tasks()


def register_on_gymnasium_import() -> None:
    """Register the tasks now if gymnasium is imported, else as soon as it is."""
    module = sys.modules.get("gymnasium")
    if module is not None and hasattr(module, "register"):
        register_tasks()
        return
    if not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())
