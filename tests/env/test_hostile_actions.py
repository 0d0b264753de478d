"""A hostile agent's malformed actions are its own mistakes: error observations, never environment failures.

An episode that ends on an exception in rgym's code is attributed to the environment: it is retried with
the same seed and, if it persists, left out of n. So an action that makes rgym itself raise would let an
agent re-roll or drop any attempt going badly. Each action here is played through ``env.step()`` on real
sandboxes; the episode must go on, and the report must count the attempt as the agent's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.outcomes import EpisodeStatus, Origin
from gym_core.report.store_loader import load_run_data
from gym_core.scoring.metrics import compute_metrics
from gym_core.store import TraceStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"

#: (what the hostile agent sends, what the error observation says). All reachable from JSON text, so from
#: an LLM's tool call too, except the last two (Python objects an agent in the same process can send).
HOSTILE_ACTIONS: list[tuple[Any, str]] = [
    ({"tool": "bash", "command": "echo hi", "timeout_s": 10**400}, "too large for a number"),
    ('{"tool": "bash", "command": "echo hi", "timeout_s": ' + "1" * 5000 + "}", "too many digits"),
    ("[" * 100_000, "nested too deeply"),
    ('{"tool": "write_file", "path": "answer.txt", "content": "\\ud800"}', "not valid Unicode text"),
    ({"tool": "bash", "command": "echo \udc80"}, "not valid Unicode text"),
    ('{"tool": "bash", "command": "echo a\\u0000b"}', "contains a NUL byte"),
    ({"tool": "bash", "command": "echo " + "a" * 200_000}, "longer than 131071 bytes"),
    ({"tool": "bash", "command": "ls", 1: "x", "y": 2}, "JSON object keys are strings"),
    ({"tool": "bash", (1, 2): 3}, "JSON object keys are strings"),
]


def test_hostile_actions_are_the_agents_malformed_actions(backend: str, store: TraceStore) -> None:
    env = ResearchEnv(FIXTURE, backend=backend, store=store, budget={"step_limit": 20})
    try:
        env.reset(seed=0)
        for action, message in HOSTILE_ACTIONS:
            obs, reward, terminated, truncated, _info = env.step(action)
            assert obs["output"].startswith("Error: ") and message in obs["output"], (action, obs["output"])
            assert obs["exit_code"] is None and reward == 0.0 and not terminated and not truncated
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10\n"})
        _obs, reward, terminated, _truncated, info = env.step({"tool": "submit"})
        assert terminated and reward == pytest.approx(1.0) and info["success"] is True
        assert env.outcome is not None
        status, attribution = env.outcome
        assert status is EpisodeStatus.SUBMITTED
        assert attribution is not None and attribution.origin is Origin.AGENT
        episode_id, run_id = env.episode_id, env.run_id
    finally:
        env.close()
    assert episode_id is not None and run_id is not None

    steps = store.list_steps(episode_id)
    assert len(steps) == len(HOSTILE_ACTIONS) + 2
    for step in steps[: len(HOSTILE_ACTIONS)]:
        assert step.flags.get("error") == "malformed_action"
        json.dumps(step.action)  # kept as plain JSON (or a placeholder), whatever the agent sent
    metrics = compute_metrics(load_run_data(store, run_id))
    assert (metrics.n, metrics.c, metrics.n_excluded) == (1, 1, 0)


def test_an_action_object_raising_keyboard_interrupt_does_not_interrupt_the_attempt(
    store: TraceStore,
) -> None:
    """An interrupted attempt is not counted and ``rgym resume`` plays it again: a free re-roll."""

    class Interrupting(dict):  # type: ignore[type-arg]
        def get(self, *_args: Any, **_kwargs: Any) -> Any:
            raise KeyboardInterrupt

        def __iter__(self) -> Any:
            raise KeyboardInterrupt

    env = ResearchEnv(FIXTURE, backend="local", store=store)
    try:
        env.reset(seed=0)
        try:
            obs, _reward, terminated, truncated, _info = env.step(
                Interrupting(tool="bash", command="echo hi")
            )
        except KeyboardInterrupt:
            pytest.fail(f"the action's KeyboardInterrupt ended the episode as {env.outcome}")
        assert obs["output"].strip() == "hi" and not terminated and not truncated
        env.step({"tool": "submit"})
        assert env.outcome is not None and env.outcome[0] is EpisodeStatus.SUBMITTED
    finally:
        env.close()
