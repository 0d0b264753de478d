"""Start-up time of ``rgym --version``, ``rgym tasks list`` and ``import gym_core``, against a bare interpreter.

The baseline is ``python -c pass`` with the same interpreter, run interleaved with the commands, so the
ratio is what rgym's imports and work add to starting Python. The target (issue 18) is 0.3 s for the two
commands; tests/test_startup.py guards the cause (no heavy library on these paths) without timing.

Usage: python -m benchmarks.bench_startup [--repeats 15] [--out benchmarks/results/startup.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from benchmarks.common import REPO_ROOT, RESULTS_DIR, print_rows, row, run_timed, write_result

TARGET_MS = 300.0
COMMANDS: dict[str, list[str]] = {
    "rgym --version": ["-m", "gym_core.cli.main", "--version"],
    "rgym tasks list": ["-m", "gym_core.cli.main", "tasks", "list"],
    "import gym_core": ["-c", "import gym_core"],
}
BASELINE = "python -c pass"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "startup.json")
    args = parser.parse_args(argv)
    console = Console()
    samples: dict[str, list[float]] = {name: [] for name in [BASELINE, *COMMANDS]}
    memory: dict[str, int] = {}
    cpu: dict[str, list[float]] = {name: [] for name in samples}
    with tempfile.TemporaryDirectory(prefix="rgym-bench-") as tmp:
        env = {
            **os.environ,
            "RGYM_DATA_DIR": str(Path(tmp) / "data"),
            "RGYM_TASKS_PATH": str(REPO_ROOT / "tasks"),
        }
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("timing start-up", total=args.repeats + 1)
            for repeat in range(args.repeats + 1):  # the first round warms the file cache and is dropped
                for name, tail in [(BASELINE, ["-c", "pass"]), *COMMANDS.items()]:
                    elapsed, rss, cpu_s = run_timed([sys.executable, *tail], env=env, cwd=Path(tmp))
                    if repeat:
                        samples[name].append(elapsed)
                        cpu[name].append(cpu_s)
                        memory[name] = max(memory.get(name, 0), rss)
                progress.advance(bar)
    rows = [
        row(
            name,
            samples[name],
            baseline=BASELINE,
            baseline_s=samples[BASELINE],
            target_ms=TARGET_MS if name.startswith("rgym") else None,
            cpu_s=cpu[name],
            baseline_cpu_s=cpu[BASELINE],
            peak_rss_mb=memory[name] / 1024,
        )
        for name in COMMANDS
    ]
    print_rows(
        console,
        f"start-up ({args.repeats} runs each, interleaved)",
        rows,
        extra=[("cpu_median_ms", "CPU ms"), ("peak_rss_mb", "peak MB")],
    )
    write_result(args.out, "startup", rows, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
