"""What Inspect AI loads from rgym: the sandbox providers, and every rgym task as ``rgym/<task id>``.

Inspect resolves a name such as ``rgym/tiny-mean`` by loading the ``inspect_ai`` entry point named after the
part before the slash (``rgym = "gym_core.inspect_registry"`` in pyproject), then looking the whole name up in
its registry. Importing this module registers:

- the ``rgym-docker`` and ``rgym-local`` sandbox providers (:mod:`gym_core.sandbox.inspect_provider`);
- one task per rgym task found along RGYM_TASKS_PATH (the shipped tasks first), named ``rgym/<task id>``, so
  ``inspect eval rgym/calibration-temperature-scaling`` runs :func:`gym_core.inspect_task.rgym` for it. Its
  one task argument is ``message_limit`` (``-T message_limit=40``).

Inspect prefixes the names that its ``@task`` decorator registers with the top-level package of the
function's module (``gym_core``, or nothing for an editable install), so the ``rgym/`` names are registered
directly, under the exact names users type. Task folders that do not load are skipped here (``rgym tasks
validate`` says why); ``inspect eval <path>@rgym -T task_id=<folder>`` still reaches any folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from inspect_ai import Task
from inspect_ai._eval.registry import task_register

import gym_core.sandbox.inspect_provider  # noqa: F401  (registers rgym-docker and rgym-local)
from gym_core.errors import RgymError
from gym_core.inspect_task import rgym
from gym_core.tasks.discovery import discover

#: The namespace of rgym's tasks in Inspect's registry (the entry point's name).
NAMESPACE = "rgym"

logger = logging.getLogger(__name__)


def inspect_task_name(task_id: str) -> str:
    """The name Inspect knows an rgym task by: ``rgym/<task id>``."""
    return f"{NAMESPACE}/{task_id}"


def _factory(task_id: str, root: str) -> Callable[..., Task]:
    def rgym_task(message_limit: int | None = None) -> Task:
        return rgym(root, message_limit=message_limit)

    rgym_task.__name__ = rgym_task.__qualname__ = task_id.replace("-", "_")
    rgym_task.__doc__ = f"The rgym task {task_id} ({root})."
    return rgym_task


def register_tasks() -> list[str]:
    """Register every task along RGYM_TASKS_PATH as ``rgym/<task id>``; the names registered."""
    try:
        found = discover()
    except RgymError as exc:  # a bad setting: the sandboxes stay usable, the tasks say why they are missing
        logger.warning("rgym tasks not registered with Inspect: %s", exc)
        return []
    names = []
    for task_id, rgym_task in found.tasks.items():
        name = inspect_task_name(task_id)
        task_register(_factory(task_id, str(rgym_task.root)), name=name, attribs={}, params=["message_limit"])
        names.append(name)
    return names


REGISTERED = register_tasks()
"""The ``rgym/<task id>`` names this module registered when Inspect loaded it."""
