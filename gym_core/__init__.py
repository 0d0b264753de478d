"""rgym: research tasks as Gymnasium environments, run in sandboxes, traced and scored.

Importing ``gym_core`` registers every task found along RGYM_TASKS_PATH as ``rgym/<task-id>-v<N>`` (as soon as
gymnasium is imported, before or after)::

    import gymnasium as gym
    import gym_core
    env = gym.make("rgym/calibration-temperature-scaling-v2", backend="docker")
"""

from __future__ import annotations

__version__ = "0.1.0"

from gym_core.registration import register_on_gymnasium_import, register_tasks

register_on_gymnasium_import()

__all__ = ["__version__", "register_tasks"]
