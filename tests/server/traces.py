"""A small trace store holding what the API and the viewer must show: scores, a cut output, a crash,
and an agent output that tries to run a script in the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gym_core.store import INLINE_TEXT_CAP, TraceStore

#: Longer than the store's inline cap, so the stored copy is cut and the full text is an artifact.
LONG_OUTPUT = "".join(f"row {i}\n" for i in range(6_000))
#: Would set window.pwned if the viewer ever let recorded text become markup.
HOSTILE_OUTPUT = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold?</b>'
SCORING = {
    "metric_name": "mse",
    "direction": "minimize",
    "baseline_raw": 1.0,
    "reference_raw": 0.0,
    "success_threshold": 0.0,
}

assert len(LONG_OUTPUT) > INLINE_TEXT_CAP


@dataclass(frozen=True)
class Filled:
    """Ids of what :func:`fill` recorded."""

    run_id: str
    other_run_id: str
    submitted: str
    """Episode 0: four steps (a long output, a hostile output, a validate), submitted with a score."""
    crashed: str
    """Episode 1: one step, then crashed."""


def _step(
    index: int, action: dict[str, Any] | str, output: str, *, exit_code: int | None = 0
) -> dict[str, Any]:
    return {
        "index": index,
        "action": action,
        "observation": {"output": output, "exit_code": exit_code, "score": None},
        "exit_code": exit_code,
        "started_at": datetime.now(UTC),
        "duration_s": 0.25 + index,
        "agent_time_s": 0.01,
        "flags": {"timed_out": index == 1},
        "usage": {},
    }


def fill(store: TraceStore) -> Filled:
    """Record a completed run of two attempts, and a second, still running, run of another task."""
    run_id = store.create_run(
        task_id="tiny-mean",
        task_version=1,
        task_checksum="sha256:feedface",
        agent="script:plan.jsonl",
        config={"scoring": SCORING},
        backend="local",
        budget={"wall_time_s": 600, "step_limit": 50},
        perturbations={},
        k=2,
        seed=7,
    )
    first = store.start_episode(run_id, index=0, seed=0)
    store.record_step(
        first, **_step(0, {"tool": "bash", "command": "python baseline.py"}, "baseline mse 1.0\n")
    )
    store.record_step(first, **_step(1, {"tool": "bash", "command": "seq 6000"}, LONG_OUTPUT, exit_code=124))
    store.record_step(first, **_step(2, {"tool": "bash", "command": "cat notes.html"}, HOSTILE_OUTPUT))
    store.record_step(first, **_step(3, {"tool": "validate"}, "score 0.5", exit_code=None))
    store.record_evaluation(
        first,
        step_index=3,
        kind="validate",
        raw_score=0.5,
        normalized_score=0.5,
        valid=True,
        grader_output="mse=0.5",
        snapshot=None,
    )
    store.finish_episode(first, status="submitted", final_raw=0.5, final_normalized=0.5)
    second = store.start_episode(run_id, index=1, seed=1)
    store.record_step(second, **_step(0, "not json {", "Error: an action is a JSON object", exit_code=None))
    store.finish_episode(
        second, status="crashed", final_raw=None, final_normalized=None, failure_kind="crashed", error="boom"
    )
    store.finish_run(run_id, status="completed")
    other = store.create_run(
        task_id="other-task",
        task_version=2,
        task_checksum="sha256:beef",
        agent="noop",
        config={"scoring": SCORING},
        backend="local",
        budget={},
        perturbations={"prompt": "terse"},
        k=1,
        seed=None,
    )
    return Filled(run_id=run_id, other_run_id=other, submitted=first, crashed=second)
