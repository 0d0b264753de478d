"""Measure the baseline, the reference, the knob grid and the exploits the way the grader scores them.

Usage (from the repository root):
    python tasks/bandit-bernoulli-regret/maintainer/measure.py [--data-seeds 0 1 2] [--grid] [--jobs 2]
        [--cache results.jsonl]

Every policy is played by eval/grade.py's own ``play`` on both splits of each data seed (the seeds
maintainer/make_data.py derives; data seed 0 is the shipped eval/seeds.json), started directly with this
Python (numpy needed for the reference), so no sandbox is involved: the numbers are the grader's numbers.
Baseline = workspace/policy.py as shipped; reference = reference/policy.py; the grid = every combination of
task.yaml's knobs, applied by workspace/baseline.py. Prints Markdown tables for MAINTAINERS.md. With
``--cache``, every game's result is appended to a JSONL file and not played again on the next run (games
are deterministic: the same policy on the same seed always scores the same).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType

import yaml

TASK = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TASK / "maintainer"))
from make_data import split_seeds  # noqa: E402


def _grader() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bandit_grade", TASK / "eval" / "grade.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def policy_with_knobs(knobs: dict[str, float] | None, folder: Path) -> Path:
    """workspace/ copied to ``folder`` with ``knobs`` applied by baseline.py; the policy's path."""
    shutil.copytree(TASK / "workspace", folder, dirs_exist_ok=True)
    if knobs is not None:
        (folder / "knobs.json").write_text(json.dumps(knobs))
    subprocess.run([sys.executable, "baseline.py"], cwd=folder, check=True, capture_output=True)
    return folder / "policy.py"


def score(policy: str, seed: str) -> tuple[float, float]:
    """(mean regret, CPU seconds of grader + policy) of one game; NaN for an invalid policy."""
    grade = _grader()
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        regret = grade.play([sys.executable, policy], seed, cwd=str(Path(policy).parent))
    except grade.InvalidSubmission:
        return float("nan"), 0.0
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True))
    return sum(regret) / len(regret), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--grid", action="store_true", help="also every knob combination (data seed 0 only)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="JSONL file of finished games, reused across runs")
    args = parser.parse_args()
    spec = yaml.safe_load((TASK / "task.yaml").read_text())

    with tempfile.TemporaryDirectory(prefix="bandit-measure-") as tmp:
        policies = {
            "baseline": str(policy_with_knobs(None, Path(tmp) / "baseline")),
            "reference": str(TASK / "reference" / "policy.py"),
        }
        grid: list[dict[str, float]] = []
        if args.grid:
            names = sorted(spec["knobs"])
            for values in itertools.product(*(spec["knobs"][n] for n in names)):
                knobs = dict(zip(names, values, strict=True))
                grid.append(knobs)
                label = json.dumps(knobs, sort_keys=True)
                policies[label] = str(policy_with_knobs(knobs, Path(tmp) / f"grid{len(grid)}"))
        jobs = []
        for data_seed in args.data_seeds:
            for split, seed in split_seeds(data_seed).items():
                for name, path in policies.items():
                    if name in ("baseline", "reference") or data_seed == args.data_seeds[0]:
                        jobs.append((data_seed, split, name, path, seed))
        cached: dict[tuple[int, str, str], tuple[float, float]] = {}
        if args.cache is not None and args.cache.exists():
            for line in args.cache.read_text().splitlines():
                row = json.loads(line)
                cached[(row["data_seed"], row["split"], row["policy"])] = (row["regret"], row["cpu_s"])
        todo = [j for j in jobs if j[:3] not in cached]
        started = time.monotonic()
        with ProcessPoolExecutor(args.jobs) as pool:
            for job, result in zip(
                todo, pool.map(score, [j[3] for j in todo], [j[4] for j in todo]), strict=True
            ):
                cached[job[:3]] = result
                if args.cache is not None:
                    with args.cache.open("a") as fh:
                        row = {"data_seed": job[0], "split": job[1], "policy": job[2]}
                        fh.write(json.dumps({**row, "regret": result[0], "cpu_s": result[1]}) + "\n")
        wall = time.monotonic() - started
    table = {j[:3]: cached[j[:3]] for j in jobs}

    print("## Baseline and reference (mean regret; CPU seconds of one grading in brackets)\n")
    print("| data seed | split | baseline | reference | normalized gap |")
    print("|---|---|---|---|---|")
    for d in args.data_seeds:
        for split in ("public", "private"):
            (b, bc), (r, rc) = table[(d, split, "baseline")], table[(d, split, "reference")]
            print(f"| {d} | {split} | {b:.3f} ({bc:.1f} s) | {r:.3f} ({rc:.1f} s) | {b - r:.3f} |")
    for split in ("public", "private"):
        base = [table[(d, split, "baseline")][0] for d in args.data_seeds]
        ref = [table[(d, split, "reference")][0] for d in args.data_seeds]
        if len(base) > 1:
            print(
                f"\n{split}: baseline {statistics.mean(base):.2f} +- {statistics.stdev(base):.2f}, "
                f"reference {statistics.mean(ref):.2f} +- {statistics.stdev(ref):.2f} (sd over data seeds)"
            )
    if grid:
        d = args.data_seeds[0]
        print(f"\n## Knob grid (data seed {d}; normalized on each split's own baseline and reference)\n")
        print("| knobs | public | private | public norm | private norm |")
        print("|---|---|---|---|---|")
        for knobs in grid:
            label = json.dumps(knobs, sort_keys=True)
            row = []
            for split in ("public", "private"):
                base, ref = table[(d, split, "baseline")][0], table[(d, split, "reference")][0]
                raw = table[(d, split, label)][0]
                row.append((raw, (raw - base) / (ref - base)))
            print(f"| {label} | {row[0][0]:.3f} | {row[1][0]:.3f} | {row[0][1]:+.3f} | {row[1][1]:+.3f} |")
    print(
        f"\n{len(todo)} games played ({len(jobs) - len(todo)} cached) in {wall:.0f} s wall with {args.jobs} jobs"
    )


if __name__ == "__main__":
    main()
