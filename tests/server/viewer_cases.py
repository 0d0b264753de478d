"""Runs that exercise what the viewer must get right beyond tests/server/traces.py: a run whose every
attempt crashed (with a multi-line traceback), two runs to compare, and an attempt with a malformed action,
a timeout, a failing command and a validate step whose grader printed more than the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gym_core.store import TraceStore
from tests.cli.recorded import CRASH, record_run

VERDICT = "abs_error = 1 (normalized 0.800)"
"""What the agent was told after its validate call."""
GRADER_EXTRA = "estimate 9.0, hidden public mean 10.0"
"""What else the grader printed: evaluators see it once, the agent never."""


@dataclass(frozen=True)
class Cases:
    all_crashed: str
    base: str
    tuned: str
    stepped: str
    """Run of the episode below."""
    episode: str
    """Steps: 0 malformed (dict), 1 malformed (string), 2 timed out, 3 exit 1, 4 validate, 5 submit."""


def _step(store: TraceStore, episode: str, index: int, action: Any, output: str, **extra: Any) -> None:
    flags = extra.pop("flags", {})
    exit_code = extra.pop("exit_code", 0)
    store.record_step(
        episode,
        index=index,
        action=action,
        observation={"output": output, "exit_code": exit_code},
        exit_code=exit_code,
        started_at=datetime.now(UTC),
        duration_s=0.1,
        agent_time_s=0.0,
        flags=flags,
        usage={},
    )


def fill_cases(store: TraceStore) -> Cases:
    all_crashed = record_run(store, [], crashed=3, agent="llm:broken-model")
    base = record_run(store, [0.0] * 6, agent="baseline")
    tuned = record_run(store, [1.0] * 6, agent="tuner:4")
    stepped = record_run(store, [], agent="script:plan.jsonl", k=1)
    episode = store.start_episode(stepped, index=1, seed=1)
    _step(
        store,
        episode,
        0,
        {"tool": "bash"},
        "Error: bash needs a command",
        exit_code=None,
        flags={"error": "malformed_action"},
    )
    _step(
        store,
        episode,
        1,
        "not json {",
        "Error: an action is a JSON object",
        exit_code=None,
        flags={"error": "malformed_action"},
    )
    _step(
        store,
        episode,
        2,
        {"tool": "bash", "command": "sleep 99"},
        "timed out",
        exit_code=124,
        flags={"timed_out": True},
    )
    _step(store, episode, 3, {"tool": "bash", "command": "false"}, "", exit_code=1)
    _step(store, episode, 4, {"tool": "validate"}, f"[validate] {VERDICT}", exit_code=0)
    store.record_evaluation(
        episode,
        step_index=4,
        kind="validate",
        raw_score=1.0,
        normalized_score=0.8,
        valid=True,
        grader_output=f"{VERDICT}\n{GRADER_EXTRA}\n" + '{"score": 1.0}',
        snapshot=None,
    )
    _step(store, episode, 5, {"tool": "submit"}, "[submit] abs_error = 1 (normalized 0.800)", exit_code=0)
    store.record_evaluation(
        episode,
        step_index=5,
        kind="submit",
        raw_score=1.0,
        normalized_score=0.8,
        valid=True,
        grader_output="abs_error = 1 (normalized 0.800)",
        snapshot=None,
    )
    store.finish_episode(episode, status="submitted", final_raw=1.0, final_normalized=0.8)
    store.finish_run(stepped, status="completed")
    return Cases(all_crashed, base, tuned, stepped, episode)


__all__ = ["CRASH", "GRADER_EXTRA", "VERDICT", "Cases", "fill_cases"]
