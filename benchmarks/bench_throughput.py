"""Attempts per minute of ``rgym run --agent baseline`` on the calibration task, ``--parallel 1, 2, 4``,
against the same commands run directly with ``docker run``.

rgym: a run of ``--runs K`` attempts of the ``baseline`` agent (one bash step with the task's baseline
command, then submit: copy-out, snapshot, grading in its own sandbox, and the trace store throughout).
Raw: for each attempt, a copy of the starter files, ``docker run --rm`` of the baseline command on it (as
uid 1000, the task's CPU and memory limits, no network), then ``docker run --rm`` of the grader command
with eval/ and the predictions bound read-only; ``P`` attempts at a time from a thread pool.

Each row's ``median_ms`` is the time per attempt (60 000 / attempts per minute, one measurement of ``--runs``
attempts) and its ``ratio`` rgym's over the raw one's (1.0: rgym costs nothing; lower is better, as in every
row); ``attempts_per_min_ratio`` is the same figure turned over: rgym's attempts per minute over the raw
ones' (higher is better).

Usage: python -m benchmarks.bench_throughput [--runs 4] [--parallel 1,2,4] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.common import RESULTS_DIR, print_rows, row, write_result

TASK = Path(__file__).resolve().parent.parent / "tasks" / "calibration-temperature-scaling"


def _raw_attempt(task: Any, image: str, root: Path) -> None:
    spec = task.spec
    ws = root / "workspace"
    shutil.copytree(task.workspace_dir, ws)
    for dirpath, dirnames, filenames in os.walk(ws):
        for name in [*dirnames, *filenames, "."]:
            os.lchown(os.path.join(dirpath, name), 1000, 1000)
    limits = ["--cpus", str(spec.budget.cpus), "--memory", f"{spec.budget.memory_mb}m"]
    common = [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        "1000:1000",
        "--label",
        "rgym.bench=1",
    ]
    subprocess.run(
        [
            *common,
            *limits,
            "-v",
            f"{ws}:/workspace",
            "-w",
            "/workspace",
            image,
            "bash",
            "-c",
            spec.baseline.command,
        ],
        check=True,
        capture_output=True,
    )
    sub = root / "submission"
    sub.mkdir(mode=0o755)
    for rel in spec.grader.submission:
        shutil.copyfile(ws / rel, sub / rel)
        (sub / rel).chmod(0o644)
    subprocess.run(
        [
            *common, "-v", f"{task.eval_dir}:/eval:ro", "-v", f"{sub}:/submission:ro", "-e", "RGYM_SPLIT=private",
            image, "bash", "-c", spec.grader.command,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def raw_throughput(task: Any, image: str, runs: int, parallel: int) -> float:
    """Attempts per minute of the raw commands, ``parallel`` at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for f in [pool.submit(_raw_attempt, task, image, Path(tmp) / f"a{i}") for i in range(runs)]:
                f.result()
        return runs / (time.perf_counter() - t) * 60


def rgym_throughput(runs: int, parallel: int, warm: int) -> float:
    """Attempts per minute of ``rgym run --agent baseline --parallel P``."""
    from gym_core.runner.runner import RunConfig, Runner
    from gym_core.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/throughput.db")
        try:
            runner = Runner(store, console=Console(quiet=True), show_progress=False)
            config = RunConfig(
                task=str(TASK),
                agent="baseline",
                runs=runs,
                parallel=parallel,
                backend="docker",
                seed=0,
                warm=warm,
            )
            run_id = runner.start(config)
            t = time.perf_counter()
            results = runner.execute(run_id)
            elapsed = time.perf_counter() - t
            assert all(r.status == "submitted" for r in results), results
            return runs / elapsed * 60
        finally:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="attempts per measurement (default 4)")
    parser.add_argument("--parallel", default="1,2,4")
    parser.add_argument("--warm", type=int, default=0, help="rgym's --warm (default 0)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "throughput.json")
    args = parser.parse_args(argv)
    console = Console()

    from gym_core.images import ensure_task_image
    from gym_core.tasks.loader import load_task

    task = load_task(TASK)
    image = ensure_task_image(task)
    rows: list[dict[str, Any]] = []
    table = Table(title=f"attempts per minute, baseline agent on {task.id} ({args.runs} attempts each)")
    for col in ("parallel", "rgym /min", "raw docker run /min", "rgym / raw"):
        table.add_column(col, justify="right")
    for parallel in [int(p) for p in args.parallel.split(",")]:
        raw = raw_throughput(task, image, args.runs, parallel)
        ours = rgym_throughput(args.runs, parallel, args.warm)
        rows.append(
            row(
                f"rgym run --agent baseline --parallel {parallel}",
                [60 / ours],
                baseline="docker run of the same commands",
                baseline_s=[60 / raw],
                attempts_per_min=ours,
                baseline_attempts_per_min=raw,
                attempts_per_min_ratio=ours / raw,
            )
        )
        table.add_row(str(parallel), f"{ours:.2f}", f"{raw:.2f}", f"{ours / raw:.2f}")
        # after each --parallel, so a run cut short keeps what it measured
        write_result(args.out, "throughput_vs_docker_run", rows, runs=args.runs, warm=args.warm, task=task.id)
    print_rows(console, "time per attempt (60 000 / attempts per minute)", rows)
    console.print(table)
    console.print("rgym / raw: rgym's attempts per minute over the raw commands' (higher is better)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
