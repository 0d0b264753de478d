"""``env.step({"tool": "validate"})`` on Docker against a raw ``docker run`` of the grader command.

rgym's validate copies the workspace out (snapshot, bounded and symlink-safe), records the snapshot, starts
the grader sandbox *while* the submission is copied, grades, and records the evaluation. The baseline is
the least that grades: ``docker run --rm`` of the task's grader command on the same image, with eval/ and a
folder holding the same submission bound read-only, no network, as uid 1000. No target: the ratio says what
the copy-out, the snapshot and the hardened grader sandbox cost.

Usage: python -m benchmarks.bench_validate [--samples 10] [--out PATH]
"""

from __future__ import annotations

import argparse
import base64
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from benchmarks.common import RESULTS_DIR, print_rows, row, write_result

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tasks" / "tiny-mean"


def raw_grade(image: str, eval_dir: Path, submission: Path, command: str) -> float:
    t = time.perf_counter()
    subprocess.run(
        [
            "docker", "run", "--rm", "--network", "none", "--user", "1000:1000",
            "--label", "rgym.bench=1",
            "-v", f"{eval_dir}:/eval:ro", "-v", f"{submission}:/submission:ro",
            "-e", "RGYM_SPLIT=public", image, "bash", "-c", command,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "validate.json")
    args = parser.parse_args(argv)
    console = Console()

    from gym_core.env.research_env import ResearchEnv
    from gym_core.images import ensure_task_image
    from gym_core.tasks.loader import load_task

    task = load_task(FIXTURE)
    image = ensure_task_image(task)
    raw: list[float] = []
    rgym: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console, transient=True) as progress:
        bar = progress.add_task("validate vs docker run of the grader", total=args.samples)
        env = ResearchEnv(
            FIXTURE,
            backend="docker",
            store=f"sqlite:///{tmp}/validate.db",
            budget={"eval_limit": args.samples + 2, "step_limit": args.samples + 20, "wall_time_s": 3600},
        )
        try:
            env.reset(seed=0)
            env.step({"tool": "bash", "command": task.spec.baseline.command})
            submission = Path(tmp) / "submission"
            submission.mkdir(mode=0o755)
            for rel in task.spec.grader.submission:  # through the agent's own tool, not the env's internals
                obs, *_ = env.step({"tool": "bash", "command": f"base64 -w0 {shlex.quote(rel)}"})
                assert obs["exit_code"] == 0, obs["output"]
                (submission / rel).parent.mkdir(parents=True, exist_ok=True)
                (submission / rel).write_bytes(base64.b64decode(obs["output"]))
                (submission / rel).chmod(0o644)
            for _ in range(args.samples):  # interleaved, so machine load hits both alike
                raw.append(raw_grade(image, task.eval_dir, submission, task.spec.grader.command))
                t = time.perf_counter()
                obs, *_ = env.step({"tool": "validate"})
                rgym.append(time.perf_counter() - t)
                assert obs["exit_code"] == 0, obs["output"]
                progress.advance(bar)
        finally:
            env.close()
    rows = [row("env.step(validate), docker", rgym, baseline="docker run of the grader", baseline_s=raw)]
    print_rows(console, f"validate vs raw docker run of the grader ({args.samples} samples)", rows)
    write_result(args.out, "validate_vs_docker_run", rows, samples=args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
