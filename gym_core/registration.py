"""Registering every discovered task as a Gymnasium id ``rgym/<task-id>-v<version>``."""

from __future__ import annotations

import gymnasium as gym

from gym_core.tasks.discovery import discover

ENTRY_POINT = "gym_core.env.research_env:ResearchEnv"


def register_tasks() -> list[str]:
    """Register (or re-register) the tasks found along RGYM_TASKS_PATH; returns their ids.

    Broken task folders are skipped here; ``rgym tasks list`` and ``validate`` report them.
    """
    ids = []
    for task in discover().tasks.values():
        gym_id = task.spec.gym_id
        if gym_id in gym.registry:
            del gym.registry[gym_id]
        gym.register(
            id=gym_id,
            entry_point=ENTRY_POINT,
            kwargs={"task": str(task.root)},
            nondeterministic=True,  # real processes and wall clocks: a step cannot be replayed bit for bit
            order_enforce=True,
        )
        ids.append(gym_id)
    return ids
