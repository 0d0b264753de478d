"""``env.reset()`` on Docker, cold and with warm sandboxes, against a raw ``docker run --rm <image> true``.

Cold: a new ``ResearchEnv`` per sample, as the runner makes one per attempt; only ``reset()`` is timed (it
records the episode, creates and starts the container with its supervisor, copies the starter files in,
and starts the exec channel in the background). Target: at most 1.2x the raw ``docker run``.

Warm: one ``ResearchEnv(warm=1)``; between resets the benchmark waits ``--gap`` seconds, standing in for an
attempt's work, while the pool starts the next episode's sandbox. Target: at most 0.25x.

Usage: python -m benchmarks.bench_reset [--samples 12] [--gap 4] [--out PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from benchmarks.common import RESULTS_DIR, print_rows, row, write_result

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tasks" / "tiny-mean"


def raw_run(image: str) -> float:
    t = time.perf_counter()
    subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--label", "rgym.bench=1", image, "true"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t


def cold_reset(store_url: str) -> float:
    from gym_core.env.research_env import ResearchEnv

    env = ResearchEnv(FIXTURE, backend="docker", store=store_url)
    try:
        t = time.perf_counter()
        env.reset(seed=0)
        return time.perf_counter() - t
    finally:
        env.close()


def warm_resets(store_url: str, samples: int, gap_s: float) -> list[float]:
    from gym_core.env.research_env import ResearchEnv

    env = ResearchEnv(FIXTURE, backend="docker", store=store_url, warm=1)
    times = []
    try:
        env.reset(seed=0)
        for i in range(samples):
            time.sleep(gap_s)  # the attempt's own work, while the pool starts the next sandbox
            t = time.perf_counter()
            env.reset(seed=i + 1)
            times.append(time.perf_counter() - t)
        return times
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--gap", type=float, default=4.0, help="seconds between warm resets (default 4)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "reset.json")
    args = parser.parse_args(argv)
    console = Console()

    from gym_core.images import ensure_task_image
    from gym_core.tasks.loader import load_task

    image = ensure_task_image(load_task(FIXTURE))
    raw: list[float] = []
    cold: list[float] = []
    warm: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console, transient=True) as progress:
        bar = progress.add_task("env.reset vs docker run", total=args.samples * 2 + 1)
        for i in range(args.samples):  # interleaved, so machine load hits both alike
            raw.append(raw_run(image))
            cold.append(cold_reset(f"sqlite:///{tmp}/cold-{i}.db"))
            progress.advance(bar, 2)
        raw_warm: list[float] = []
        warm = warm_resets(f"sqlite:///{tmp}/warm.db", args.samples, args.gap)
        for _ in range(max(3, args.samples // 2)):  # the same baseline again, right after the warm resets
            raw_warm.append(raw_run(image))
        progress.advance(bar)
    baseline = "docker run --rm IMAGE true"
    rows = [
        row("env.reset, docker (cold)", cold, baseline=baseline, baseline_s=raw, target_ratio=1.2),
        # against every raw run, those right after the warm resets too
        row(
            "env.reset, docker (--warm 1)",
            warm,
            baseline=baseline,
            baseline_s=raw + raw_warm,
            target_ratio=0.25,
        ),
    ]
    print_rows(console, f"env.reset vs raw docker run ({args.samples} samples each)", rows)
    write_result(args.out, "env_reset_vs_docker_run", rows, samples=args.samples, gap_s=args.gap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
