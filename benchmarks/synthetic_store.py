"""A synthetic trace store at scale: one run of N attempts of M steps each, written in bulk.

Writing a million steps through ``TraceStore.record_step`` would take a quarter of an hour; this writes the
first episode's steps through the store's own tables and types, and copies them to the other episodes
with one ``INSERT ... SELECT`` each, so every read path sees exactly what a real run leaves. The run is of the ``tiny-mean`` test task: each
attempt validates twice and submits once; about 70% succeed, and each successful attempt's final
workspace is one of a few "methods" (edits of the task's ``baseline.py``), so method consistency has
something to compare.

Usage (it prints the store URL and run id)::

    python -m benchmarks.synthetic_store sqlite:////tmp/big.db [--attempts 1000] [--steps 1000]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, literal, select, update

from gym_core.outcomes import EpisodeStatus, EvaluationKind, RunStatus
from gym_core.store import TraceStore, open_store
from gym_core.store.models import Episode, Step
from gym_core.tasks.loader import load_task

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tasks" / "tiny-mean"

#: The edits of baseline.py that successful attempts make (each attempt picks one by its index).
METHODS = (
    "guess = 10.0\n",
    "guess = 9.9  # tuned on the public split\n",
    "import statistics\nguess = statistics.mean([9.5, 10.5])\n",
    "guess = sum(range(21)) / 21\n",
    "values = [8, 10, 12]\nguess = sum(values) / len(values)\n",
)


def _step_rows(episode_id: str, steps: int, start: datetime) -> list[dict[str, Any]]:
    rows = []
    for index in range(steps):
        rows.append(
            {
                "episode_id": episode_id,
                "index": index,
                "action": {"tool": "bash", "command": f"python train.py --epoch {index}"},
                "observation": {
                    "output": f"epoch {index}: loss 0.{index:04d}\n",
                    "exit_code": 0,
                    "time_left_s": 1000.0 - index,
                    "steps_left": steps - index,
                    "evals_left": 3,
                    "score": None,
                },
                "overflow": {},
                "exit_code": 0,
                "started_at": start + timedelta(seconds=index),
                "duration_s": 0.25,
                "agent_time_s": 0.5,
                "flags": {"timed_out": False, "oom_killed": False, "truncated": False},
                "usage": {"cpu_s": 0.2, "peak_memory_mb": 120.0},
            }
        )
    return rows


_STEP_COLUMNS = (
    "index",
    "action",
    "observation",
    "overflow",
    "exit_code",
    "started_at",
    "duration_s",
    "agent_time_s",
    "flags",
    "usage",
)


def _copy_steps(template: str, episode_id: str) -> Any:
    """``INSERT INTO steps SELECT`` the template episode's steps, as ``episode_id``'s."""
    columns = [getattr(Step, name) for name in _STEP_COLUMNS]
    return insert(Step).from_select(
        ["episode_id", *_STEP_COLUMNS],
        select(literal(episode_id), *columns).where(Step.episode_id == template),
    )


def _snapshot(store: TraceStore, workspace: Path, method: str, answer: float) -> str:
    """The digest of a final workspace: the task's files with ``method`` appended to baseline.py."""
    with tempfile.TemporaryDirectory(prefix="rgym-synth-") as tmp:
        root = Path(tmp)
        for path in workspace.iterdir():
            if path.is_file():
                (root / path.name).write_bytes(path.read_bytes())
        baseline = root / "baseline.py"
        baseline.write_text(baseline.read_text() + method)
        (root / "answer.txt").write_text(f"{answer}\n")
        return store.snapshot_workspace(root)


def build_store(url: str, *, attempts: int, steps: int, advance: Callable[[int], None] | None = None) -> str:
    """Write one finished run of ``attempts`` x ``steps`` into the store at ``url``; return the run id.

    Args:
        advance: called with the number of attempts written after each one (for a progress bar).
    """
    task = load_task(FIXTURE)
    store = open_store(url)
    try:
        run_id = store.create_run(
            task_id=task.spec.id,
            task_version=task.spec.version,
            task_checksum=task.checksum,
            agent="synthetic",
            config={"task_root": str(task.root), "scoring": task.spec.scoring_constants()},
            backend="local",
            budget={"wall_time_s": 3600.0, "step_limit": steps + 10, "eval_limit": 3},
            perturbations={},
            k=attempts,
            seed=0,
        )
        start = datetime(2026, 1, 1, tzinfo=UTC)
        template: str | None = None
        snapshots: dict[tuple[str, float], str] = {}
        for index in range(attempts):
            episode_id = store.start_episode(run_id, index=index, seed=index)
            with store._writer.begin() as conn:  # bulk load: the benchmark's own business
                if template is None:
                    conn.execute(insert(Step), _step_rows(episode_id, steps, start))
                    template = episode_id
                else:
                    conn.execute(_copy_steps(template, episode_id))
                conn.execute(update(Episode).where(Episode.id == episode_id).values(n_steps=steps))
            succeeded = index % 10 < 7
            answer = 10.0 if succeeded else 5.0
            for at, kind in (
                (steps // 3, EvaluationKind.VALIDATE),
                (2 * steps // 3, EvaluationKind.VALIDATE),
            ):
                store.record_evaluation(
                    episode_id,
                    step_index=at,
                    kind=kind,
                    raw_score=answer - 1.0,
                    normalized_score=0.8 if succeeded else 0.2,
                    valid=True,
                    grader_output="abs_error: 1.0\n",
                    snapshot=None,
                )
            method = METHODS[index % len(METHODS)]
            if (method, answer) not in snapshots:
                snapshots[method, answer] = _snapshot(store, task.workspace_dir, method, answer)
            snapshot = snapshots[method, answer]
            store.record_evaluation(
                episode_id,
                step_index=steps - 1,
                kind=EvaluationKind.SUBMIT,
                raw_score=abs(answer - 10.0),
                normalized_score=1.0 if succeeded else 0.0,
                valid=True,
                grader_output=f"abs_error: {abs(answer - 10.0)}\n",
                snapshot=snapshot,
            )
            store.finish_episode(
                episode_id,
                status=EpisodeStatus.SUBMITTED,
                final_raw=abs(answer - 10.0),
                final_normalized=1.0 if succeeded else 0.0,
                usage={"wall_s": float(steps)},
            )
            if advance is not None:
                advance(index + 1)
        store.finish_run(run_id, status=RunStatus.COMPLETED)
        return run_id
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="store URL: sqlite:////abs/path.db or postgresql://...")
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        bar = progress.add_task("writing the synthetic run", total=args.attempts)
        run_id = build_store(
            args.url,
            attempts=args.attempts,
            steps=args.steps,
            advance=lambda done: progress.update(bar, completed=done),
        )
    print(f"{args.url} {run_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
