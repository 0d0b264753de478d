"""Measure baseline and reference on both splits over several data seeds (numbers for MAINTAINERS.md).

Usage: ``python maintainer/measure.py --data-seeds 0 1 2``. Runs on the host with the standard library; it
regenerates the data in a temporary copy of the task folder for each seed, so the shipped data is untouched.
TODO(rgym): add the knob grid and the exploits once the task is real.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def score(task: Path, *, with_reference: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "workspace"
        shutil.copytree(task / "workspace", work)
        if with_reference:
            shutil.copytree(task / "reference", work, dirs_exist_ok=True)
        subprocess.run([sys.executable, "baseline.py"], cwd=work, check=True, capture_output=True)
        out = {}
        for split in ("public", "private"):
            result = subprocess.run(
                [sys.executable, str(task / "eval" / "grade.py"), str(work)],
                env={**os.environ, "RGYM_SPLIT": split},
                check=True,
                capture_output=True,
                text=True,
            )
            out[split] = json.loads(result.stdout.strip().splitlines()[-1])["score"]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    for seed in args.data_seeds:
        with tempfile.TemporaryDirectory() as tmp:
            task = Path(tmp) / "task"
            shutil.copytree(ROOT, task, ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run(
                [sys.executable, str(task / "maintainer" / "make_data.py"), "--seed", str(seed)], check=True
            )
            base, ref = score(task, with_reference=False), score(task, with_reference=True)
        for split in ("public", "private"):
            print(f"| {seed} | {split} | {base[split]:.6f} | {ref[split]:.6f} |")


if __name__ == "__main__":
    main()
