"""Perturbations an agent could predict measure nothing: it would simply dodge them.

A ``tool_failure_rate`` run tells how an agent copes with flaky tools. The agent knows its episode's seed
(``info["seed"]``, and ``agent.reset(seed=...)``); had the injections been drawn from that seed alone, it
could replay the draws, spend a throwaway command on every step bound to fail, and look perfectly robust.
"""

from __future__ import annotations

import random
from pathlib import Path

from gym_core.env.research_env import ResearchEnv
from gym_core.env.tools import INJECTED_FAILURE_TEXT
from gym_core.store import TraceStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
RATE = 0.5
COMMANDS = 24


def _draws(store: TraceStore, seed: int) -> list[bool]:
    """Which of COMMANDS bash commands got an injected failure in an episode of ``seed``."""
    env = ResearchEnv(
        FIXTURE, backend="local", store=store, perturb={"tool_failure_rate": RATE}, budget={"step_limit": 40}
    )
    try:
        env.reset(seed=seed)
        return [env.step({"tool": "bash", "command": "true"})[0]["output"] == INJECTED_FAILURE_TEXT
                for _ in range(COMMANDS)]  # fmt: skip
    finally:
        env.close()


def test_injected_tool_failures_cannot_be_predicted_from_the_seed(store: TraceStore) -> None:
    actual = _draws(store, seed=7)
    guess = random.Random(7)  # what the episode's seed alone would give
    predicted = [guess.random() < RATE for _ in range(COMMANDS)]
    assert predicted != actual
    # Still a perturbation of the rate asked for, and the same for the same seed (replays see it again).
    assert 4 <= sum(actual) <= 20
    assert _draws(store, seed=7) == actual
