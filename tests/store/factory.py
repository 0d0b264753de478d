"""Helpers that fill a trace store with plausible runs, episodes and steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gym_core.store import TraceStore


def new_run(store: TraceStore, *, k: int = 1, task_id: str = "tiny-mean") -> str:
    """Create a run with fixed, recognisable metadata."""
    return store.create_run(
        task_id=task_id,
        task_version=1,
        task_checksum="sha256:feedface",
        agent="script:plan.jsonl",
        config={"temperature": 0.0},
        backend="local",
        budget={"wall_time_s": 600, "step_limit": 50},
        perturbations={},
        k=k,
        seed=7,
    )


def step_kwargs(index: int, *, output: str | None = None) -> dict[str, Any]:
    """Arguments of ``record_step`` for a bash step number ``index``."""
    return {
        "index": index,
        "action": {"tool": "bash", "command": f"echo {index}"},
        "observation": {
            "output": f"{index}\n" if output is None else output,
            "exit_code": 0,
            "time_left_s": 100.0 - index,
            "steps_left": 50 - index,
            "evals_left": 3,
            "score": None,
        },
        "exit_code": 0,
        "started_at": datetime.now(UTC),
        "duration_s": 0.01,
        "agent_time_s": 0.002,
        "flags": {"timed_out": False},
        "usage": {"cpu_s": 0.01},
    }


def record_steps(store: TraceStore, episode_id: str, count: int, *, start: int = 0) -> None:
    """Record ``count`` bash steps with indices ``start, start + 1, ...``."""
    for i in range(start, start + count):
        store.record_step(episode_id, **step_kwargs(i))
