"""``env.step(bash true)`` through the exec channel, against the raw mechanism, in the same run.

Docker: ``env.step({"tool": "bash", "command": "true"})`` (the shell session, the channel, the sweep check,
budget accounting and a durable SQLite trace write) against a raw docker-py ``container.exec_run(["bash",
"-c", "true"])`` on a running container of the same image. Target: at most 0.05x.

Local: the same step on the local backend (bubblewrap) against ``subprocess.run(["bash", "-c", "true"])``.
Target: at most 3x.

Rounds alternate between rgym and the baseline, so machine load hits both alike. ``--no-channel`` measures
the one-exec path instead (``RGYM_EXEC_CHANNEL=off``), for comparison.

The sandbox start and a validate are measured against their own raw baselines by
:mod:`benchmarks.bench_reset` and :mod:`benchmarks.bench_validate`.

Usage: python -m benchmarks.bench_step [--steps 100] [--rounds 3] [--backends docker,local] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from benchmarks.common import RESULTS_DIR, print_rows, row, time_calls, write_result

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tasks" / "tiny-mean"
COMMAND = "true"
TARGETS = {"docker": 0.05, "local": 3.0}


def raw_docker(image: str, steps: int) -> list[float]:
    import docker

    client = docker.from_env()
    container = client.containers.run(
        image,
        ["sleep", "infinity"],
        detach=True,
        network_mode="none",
        user="1000",
        # not rgym.managed: the reaper of any rgym run on this host would remove it (it has no owner pid)
        labels={"rgym.bench": "step"},
    )
    try:
        return time_calls(
            steps, lambda _: container.exec_run(["bash", "-c", COMMAND], workdir="/workspace"), warmup=1
        )
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
        client.close()


def raw_local(steps: int) -> list[float]:
    return time_calls(steps, lambda _: subprocess.run(["bash", "-c", COMMAND], check=False))


def env_steps(backend: str, steps: int, store_url: str) -> list[float]:
    from gym_core.env.research_env import ResearchEnv

    env = ResearchEnv(
        FIXTURE, backend=backend, store=store_url, budget={"step_limit": steps + 5, "wall_time_s": 3600}
    )
    try:
        env.reset(seed=0)
        # the first step may wait for the channel to open
        return time_calls(steps, lambda _: env.step({"tool": "bash", "command": COMMAND}), warmup=1)
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per round (default 100)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="docker,local")
    parser.add_argument("--no-channel", action="store_true", help="measure the one-exec path")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.no_channel:
        os.environ["RGYM_EXEC_CHANNEL"] = "off"
    console = Console()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    from gym_core.images import ensure_task_image
    from gym_core.tasks.loader import load_task

    image = ensure_task_image(load_task(FIXTURE)) if "docker" in backends else ""
    raw: dict[str, list[float]] = {b: [] for b in backends}
    env: dict[str, list[float]] = {b: [] for b in backends}
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console, transient=True) as progress:
        bar = progress.add_task("env.step vs raw", total=args.rounds * 2 * len(backends))
        for round_ in range(args.rounds):
            for backend in backends:
                raw[backend] += (
                    raw_docker(image, args.steps) if backend == "docker" else raw_local(args.steps)
                )
                progress.advance(bar)
                env[backend] += env_steps(backend, args.steps, f"sqlite:///{tmp}/{backend}-{round_}.db")
                progress.advance(bar)
    suffix = " (one exec per command)" if args.no_channel else ""
    rows = [
        row(
            f"env.step(bash true), {backend}{suffix}",
            env[backend],
            baseline="docker-py exec_run" if backend == "docker" else "subprocess.run",
            baseline_s=raw[backend],
            target_ratio=None if args.no_channel else TARGETS[backend],
        )
        for backend in backends
    ]
    print_rows(console, f"env.step vs raw ({args.rounds} rounds x {args.steps} steps of `{COMMAND}`)", rows)
    name = "step_one_exec" if args.no_channel else "step"
    write_result(
        args.out or RESULTS_DIR / f"{name}.json",
        "env_step_vs_raw",
        rows,
        steps=args.steps,
        rounds=args.rounds,
        channel=not args.no_channel,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
