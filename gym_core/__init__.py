"""rgym: research tasks as Gymnasium environments, run in sandboxes, traced and scored.

Importing ``gym_core`` registers every task found along RGYM_TASKS_PATH as ``rgym/<task-id>-v<N>``::

    import gymnasium as gym
    import gym_core
    env = gym.make("rgym/calibration-temperature-scaling-v1", backend="docker")
"""

from __future__ import annotations

__version__ = "0.1.0"

from gym_core.registration import register_tasks

register_tasks()

__all__ = ["__version__", "register_tasks"]
