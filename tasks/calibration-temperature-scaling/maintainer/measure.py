"""Measure the baseline and the reference (and optional knob settings) the way `rgym tasks verify` does.

Each measurement copies workspace/ to a temporary folder (with reference/ copied over it for the
reference), runs ``python baseline.py`` there with this interpreter, copies predictions.csv to a
submission folder and grades it with eval/grade.py. ``--seed`` regenerates the data with another noise and
split seed first (into the temporary copy only), to see how much the scores depend on the draw.

Usage (from the repository root)::

    .venv/bin/python tasks/calibration-temperature-scaling/maintainer/measure.py [--seed 0 1 2 3]
        [--knobs '{"alpha": 0.01}' ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from make_data import TASK_ROOT, write_task_data


def run_and_grade(
    task_root: Path, *, reference: bool, knobs: dict[str, object] | None = None
) -> dict[str, float] | None:
    """Run the baseline command in a scratch copy of the workspace; the grader's JSON, or None if invalid."""
    with tempfile.TemporaryDirectory(prefix="rgym-measure-") as tmp:
        work = Path(tmp) / "workspace"
        shutil.copytree(task_root / "workspace", work)
        if reference:
            shutil.copytree(task_root / "reference", work, dirs_exist_ok=True)
        if knobs is not None:
            (work / "knobs.json").write_text(json.dumps(knobs), encoding="utf-8")
        subprocess.run([sys.executable, "baseline.py"], cwd=work, check=True, capture_output=True, text=True)
        submission = Path(tmp) / "submission"
        submission.mkdir()
        shutil.copy(work / "predictions.csv", submission / "predictions.csv")
        graded = subprocess.run(
            [sys.executable, str(task_root / "eval" / "grade.py"), str(submission)],
            capture_output=True,
            text=True,
        )
        if graded.returncode != 0:
            print(f"  grader refused: {graded.stderr.strip()}")
            return None
        result: dict[str, float] = json.loads(graded.stdout.strip().splitlines()[-1])
        return result


def measure_seed(seed: int | None, knob_sets: list[dict[str, object]]) -> None:
    """Print baseline, reference and knob scores for the shipped data (None) or a regenerated seed."""
    with tempfile.TemporaryDirectory(prefix="rgym-task-") as tmp:
        root = TASK_ROOT
        if seed is not None:
            root = Path(tmp) / "task"
            for sub in ("workspace", "eval", "reference"):
                shutil.copytree(TASK_ROOT / sub, root / sub)
            write_task_data(root, seed)
        label = "shipped" if seed is None else f"seed {seed}"
        base = run_and_grade(root, reference=False)
        ref = run_and_grade(root, reference=True)
        if base is None or ref is None:
            raise SystemExit(f"{label}: the baseline or the reference is invalid; see above")
        print(
            f"{label}: baseline ece={base['score']:.6f} acc={base['accuracy']:.4f}; "
            f"reference ece={ref['score']:.6f} acc={ref['accuracy']:.4f}"
        )
        for knobs in knob_sets:
            got = run_and_grade(root, reference=False, knobs=knobs)
            if got is None:
                continue
            normalized = (got["score"] - base["score"]) / (ref["score"] - base["score"])
            print(
                f"  knobs {json.dumps(knobs, sort_keys=True)}: ece={got['score']:.6f} "
                f"acc={got['accuracy']:.4f} normalized={normalized:+.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, nargs="*", default=[], help="regenerate the data with these seeds"
    )
    parser.add_argument("--knobs", action="append", default=[], help="a knobs.json object to measure too")
    args = parser.parse_args()
    knob_sets = [json.loads(k) for k in args.knobs]
    for seed in args.seed or [None]:
        measure_seed(seed, knob_sets)


if __name__ == "__main__":
    main()
