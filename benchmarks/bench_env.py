"""Cost of one ``env.step({"tool": "bash", ...})`` against a raw Docker SDK exec in the same run.

The baseline is the least a harness can do: ``container.exec_run(["bash", "-c", cmd])`` on a running
container of the same image. ``env.step`` adds the persistent-shell bookkeeping, the timeout and
process-tree kill machinery, output capping, budget accounting and a durable trace-store write. Both run
the same trivial command, so the ratio is rgym's overhead per step. Reset (sandbox start) and a
validate (grader sandbox) are timed too, once per round, for scale.

Usage: python -m benchmarks.bench_env [--steps 40] [--rounds 3] [--out benchmarks/results/env.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results" / "env.json"
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tasks" / "tiny-mean"
COMMAND = "echo hello"


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000,
    }


def bench_raw(image: str, steps: int) -> list[float]:
    import docker

    client = docker.from_env()
    container = client.containers.run(
        image,
        ["sleep", "infinity"],
        detach=True,
        network_mode="none",
        user="1000",
        labels={"rgym.managed": "1", "rgym.role": "bench"},
    )
    try:
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            container.exec_run(["bash", "-c", COMMAND], workdir="/workspace")
            times.append(time.perf_counter() - t)
        return times
    finally:
        container.remove(force=True)
        client.close()


def bench_env(steps: int, store_url: str) -> tuple[list[float], float, float]:
    from gym_core.env.research_env import ResearchEnv

    env = ResearchEnv(FIXTURE, backend="docker", store=store_url, budget={"step_limit": steps + 5})
    try:
        t = time.perf_counter()
        env.reset(seed=0)
        reset_s = time.perf_counter() - t
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            env.step({"tool": "bash", "command": COMMAND})
            times.append(time.perf_counter() - t)
        env.step({"tool": "bash", "command": "python baseline.py"})  # so there is something to grade
        t = time.perf_counter()
        env.step({"tool": "validate"})
        validate_s = time.perf_counter() - t
        return times, reset_s, validate_s
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console()

    from gym_core.images import ensure_task_image
    from gym_core.tasks.loader import load_task

    image = ensure_task_image(load_task(FIXTURE))
    raw: list[float] = []
    env: list[float] = []
    resets: list[float] = []
    validates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console, transient=True) as progress:
        bar = progress.add_task("benchmarking env.step vs raw exec", total=args.rounds * 2)
        for round_ in range(args.rounds):  # interleaved, so machine load hits both alike
            raw += bench_raw(image, args.steps)
            progress.advance(bar)
            times, reset_s, validate_s = bench_env(args.steps, f"sqlite:///{tmp}/bench-{round_}.db")
            env += times
            resets.append(reset_s)
            validates.append(validate_s)
            progress.advance(bar)
    raw_stats, env_stats = _ms(raw), _ms(env)
    ratio = env_stats["median_ms"] / raw_stats["median_ms"]
    table = Table(title=f"env.step vs raw Docker SDK exec ({args.rounds}x{args.steps} steps of `{COMMAND}`)")
    for col in ("what", "median ms", "mean ms", "p95 ms"):
        table.add_column(col, justify="right" if col != "what" else "left")
    table.add_row(
        "raw container.exec_run", *(f"{raw_stats[k]:.1f}" for k in ("median_ms", "mean_ms", "p95_ms"))
    )
    table.add_row("env.step (bash)", *(f"{env_stats[k]:.1f}" for k in ("median_ms", "mean_ms", "p95_ms")))
    table.add_row("env.reset (sandbox start)", f"{statistics.median(resets) * 1000:.0f}", "", "")
    table.add_row("env.step (validate, grader sandbox)", f"{statistics.median(validates) * 1000:.0f}", "", "")
    console.print(table)
    console.print(f"median ratio env.step / raw exec: [bold]{ratio:.2f}x[/]")
    result: dict[str, Any] = {
        "benchmark": "env_step_vs_raw_exec",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "steps": args.steps,
        "rounds": args.rounds,
        "raw_exec": raw_stats,
        "env_step": env_stats,
        "ratio_median": ratio,
        "reset_median_ms": statistics.median(resets) * 1000,
        "validate_median_ms": statistics.median(validates) * 1000,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
