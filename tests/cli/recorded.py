"""Runs written straight through the trace store's write API, with chosen outcomes, for the CLI tests of
``rgym runs`` and ``rgym compare`` (no sandbox needed: what is tested is reading and scoring them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import create_engine, update

from gym_core.store import TraceStore
from gym_core.store.models import Run

#: Normalized scores, success at >= 0.5 (the tiny-mean fixture's bar).
SCORING = {
    "metric_name": "abs_error",
    "direction": "minimize",
    "baseline_raw": 5.0,
    "reference_raw": 0.0,
    "success_threshold": 0.5,
}

CRASH = 'Traceback (most recent call last):\n  File "agent.py", line 3, in act\n    1 / 0\nZeroDivisionError: division by zero'


def record_run(
    store: TraceStore,
    finals: Sequence[float | None],
    *,
    agent: str = "baseline",
    task_id: str = "tiny-mean",
    version: int = 1,
    checksum: str = "sha256:aaaa0000aaaa0000",
    seeds: Sequence[int | None] | None = None,
    crashed: int = 0,
    excluded: int = 0,
    k: int | None = None,
    perturbations: dict[str, str] | None = None,
    created_at: datetime | None = None,
    suite_run_id: str | None = None,
) -> str:
    """A completed run: one submitted attempt per final normalized score (None: an invalid submission),
    then ``crashed`` attempts that crashed before any grading, then ``excluded`` attempts that crashed from the
    environment (an engine error) and were not retried: left out of n, as excluded."""
    seeds = list(seeds) if seeds is not None else list(range(len(finals) + crashed + excluded))
    run_id = store.create_run(
        task_id=task_id,
        task_version=version,
        task_checksum=checksum,
        agent=agent,
        config={"scoring": SCORING},
        backend="docker",
        budget={"wall_time_s": 100},
        perturbations=perturbations or {},
        k=k if k is not None else len(finals) + crashed + excluded,
        seed=seeds[0] if seeds else None,
        suite_run_id=suite_run_id,
    )
    for index, final in enumerate(finals):
        episode = store.start_episode(run_id, index=index, seed=seeds[index])
        store.record_evaluation(
            episode,
            step_index=0,
            kind="submit",
            raw_score=None if final is None else 5.0 - 5.0 * final,
            normalized_score=final,
            valid=final is not None,
            grader_output="graded",
            snapshot=None,
        )
        store.finish_episode(
            episode,
            status="submitted",
            final_raw=None if final is None else 5.0 - 5.0 * final,
            final_normalized=final,
            failure_kind=None if final is not None else "invalid_submission",
        )
    for extra in range(crashed):
        index = len(finals) + extra
        episode = store.start_episode(run_id, index=index, seed=seeds[index])
        store.finish_episode(
            episode,
            status="crashed",
            final_raw=None,
            final_normalized=None,
            failure_kind="crashed",
            error=CRASH,
        )
    for extra in range(excluded):
        index = len(finals) + crashed + extra
        episode = store.start_episode(run_id, index=index, seed=seeds[index])
        store.finish_episode(
            episode,
            status="crashed",
            final_raw=None,
            final_normalized=None,
            failure_kind="crashed",
            error="sandbox 3f2a cannot run commands: engine refused the exec",
            origin="environment",
            error_kind="engine_error",
        )
    store.finish_run(run_id, status="completed")
    if created_at is not None:
        engine = create_engine(store.url)
        with engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(created_at=created_at.astimezone(UTC)))
        engine.dispose()
    return run_id
