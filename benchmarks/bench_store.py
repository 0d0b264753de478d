"""Per-step write latency of the trace store on SQLite, against a raw sqlite3 INSERT + COMMIT baseline.

The promise (issue 5): ``record_step`` is durable on return and costs under 1 ms on SQLite. The baseline
writes a row of the same size with the same durability settings (WAL, synchronous=NORMAL, one
transaction per step), so the ratio is the cost of everything rgym adds: the episode heartbeat and
step counter, the "still running" check, JSON encoding and SQLAlchemy.

Usage: python -m benchmarks.bench_store [--steps N] [--out benchmarks/results/store.json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.common import RESULTS_DIR, print_rows, row, time_calls, write_result
from gym_core.store import open_store

TARGET_MS = 1.0
WARMUP = 50


def _step(index: int) -> dict[str, Any]:
    return {
        "index": index,
        "action": {"tool": "bash", "command": f"python train.py --epoch {index}"},
        "observation": {
            "output": f"epoch {index}: loss 0.{index:04d}\n" * 20,
            "exit_code": 0,
            "time_left_s": 1000.0 - index,
            "steps_left": 10_000 - index,
            "evals_left": 20,
            "score": None,
        },
        "exit_code": 0,
        "started_at": datetime.now(UTC),
        "duration_s": 0.25,
        "agent_time_s": 1.5,
        "flags": {"timed_out": False, "oom_killed": False, "truncated": False},
        "usage": {"cpu_s": 0.2, "peak_memory_mb": 120.0},
    }


def bench_record_step(folder: Path, count: int) -> list[float]:
    """Seconds per ``TraceStore.record_step`` on a fresh SQLite store."""
    store = open_store(f"sqlite:///{folder / 'traces.db'}")
    try:
        run_id = store.create_run(
            task_id="bench",
            task_version=1,
            task_checksum="-",
            agent="bench",
            config={},
            backend="local",
            budget={},
            perturbations={},
            k=1,
            seed=0,
        )
        episode_id = store.start_episode(run_id, index=0, seed=0)
        return time_calls(count, lambda i: store.record_step(episode_id, **_step(i)), warmup=WARMUP)
    finally:
        store.close()


def bench_raw_sqlite(folder: Path, count: int) -> list[float]:
    """Seconds per raw sqlite3 INSERT + COMMIT of a row of the same content and durability."""
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE steps (id INTEGER PRIMARY KEY, episode_id TEXT, idx INTEGER, action TEXT, "
        "observation TEXT, exit_code INTEGER, started_at TEXT, duration_s REAL, flags TEXT, usage TEXT, "
        "UNIQUE (episode_id, idx))"
    )

    def insert(i: int) -> None:
        s = _step(i)
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO steps (episode_id, idx, action, observation, exit_code, started_at, duration_s, flags, "
            "usage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "bench",
                i,
                json.dumps(s["action"]),
                json.dumps(s["observation"]),
                0,
                s["started_at"].isoformat(),
                s["duration_s"],
                json.dumps(s["flags"]),
                json.dumps(s["usage"]),
            ),
        )
        db.execute("COMMIT")

    try:
        return time_calls(count, insert, warmup=WARMUP)
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks, print the row and write it; exit 1 when over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps timed per benchmark")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "store.json", help="where to write the JSON results"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="rgym-bench-") as tmp:
        store = bench_record_step(Path(tmp), args.steps)
        raw = bench_raw_sqlite(Path(tmp), args.steps)
    rows = [
        row(
            "record step",
            store,
            baseline="raw sqlite",
            baseline_s=raw,
            target_ms=TARGET_MS,
            max_ms=max(store) * 1000,  # WAL checkpoints and the machine's other work
            baseline_max_ms=max(raw) * 1000,
        )
    ]
    print_rows(
        Console(),
        f"trace store: per-step write on SQLite ({args.steps} steps)",
        rows,
        extra=[("max_ms", "max ms")],
    )
    write_result(args.out, "store.record_step", rows, steps=args.steps, sqlite=sqlite3.sqlite_version)
    return 0 if rows[0]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
