"""Measure the baseline, the reference, knob settings and script exploits, on both splits.

Each measurement works the way `rgym tasks verify` does, on the host with this interpreter: copy
workspace/ to a scratch folder (with reference/ copied over it for the reference), run
``python baseline.py`` there (or replay a script agent's bash and write_file actions), then grade the
scratch folder's predictions.csv with eval/grade.py on the public and on the private split. Scores are
normalized on each split against that data seed's own baseline and reference.

``--seed`` regenerates the data with other noise and split seeds (into a scratch copy of the task only),
to see how much the scores depend on the draw; without it the shipped data is measured.

Usage (from the repository root)::

    .venv/bin/python tasks/calibration-temperature-scaling/maintainer/measure.py
        [--seed 0 1 2] [--knobs '{"alpha": 0.01}' ...] [--grid] [--script exploits/uniform.jsonl ...]
        [--jsonl results.jsonl] [--tuner-trials 8 4]

``--grid`` measures every combination of the ``knobs:`` in task.yaml; ``--tuner-trials`` then simulates the
tuner agent on the grid (trial 0 the default config, the others drawn at random without repeats; it keeps
the best public score and is scored on the private split). ``--jsonl`` appends every measurement as one
JSON object per line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from make_data import TASK_ROOT, write_task_data

SPLITS = ("public", "private")
SUCCESS_DEFAULT = 0.5


@dataclass
class Measurement:
    """One submission graded on both splits."""

    name: str
    raw: dict[str, dict[str, float]] = field(default_factory=dict)
    """split -> the grader's JSON object (score and diagnostics)."""
    seconds: float = 0.0
    """Wall time of the command that wrote predictions.csv."""
    normalized: dict[str, float] = field(default_factory=dict)


def grade_both(task_root: Path, workspace: Path) -> dict[str, dict[str, float]] | None:
    """The grader's result on each split for ``workspace/predictions.csv``; None if it is invalid."""
    submission = workspace.parent / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    submission.mkdir()
    if not (workspace / "predictions.csv").is_file():
        print("  no predictions.csv was written")
        return None
    shutil.copy(workspace / "predictions.csv", submission / "predictions.csv")
    results: dict[str, dict[str, float]] = {}
    for split in SPLITS:
        graded = subprocess.run(
            [sys.executable, str(task_root / "eval" / "grade.py"), str(submission)],
            capture_output=True,
            text=True,
            env={**os.environ, "RGYM_SPLIT": split},
        )
        if graded.returncode != 0:
            print(f"  grader refused ({split}): {graded.stderr.strip()}")
            return None
        results[split] = json.loads(graded.stdout.strip().splitlines()[-1])
    return results


def _scratch(task_root: Path, tmp: Path, *, reference: bool) -> Path:
    work = tmp / "workspace"
    shutil.copytree(task_root / "workspace", work)
    if reference:
        shutil.copytree(task_root / "reference", work, dirs_exist_ok=True)
    return work


def run_baseline(
    task_root: Path, name: str, *, reference: bool = False, knobs: dict[str, object] | None = None
) -> Measurement | None:
    """Run the baseline command in a scratch copy of the workspace and grade it on both splits."""
    with tempfile.TemporaryDirectory(prefix="rgym-measure-") as tmp:
        work = _scratch(task_root, Path(tmp), reference=reference)
        if knobs is not None:
            (work / "knobs.json").write_text(json.dumps(knobs), encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([sys.executable, "baseline.py"], cwd=work, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        raw = grade_both(task_root, work)
        return None if raw is None else Measurement(name, raw, seconds)


def run_script(task_root: Path, script: Path) -> Measurement | None:
    """Replay a script agent's bash and write_file actions in a scratch workspace; grade what it wrote."""
    actions = [json.loads(line) for line in script.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="rgym-measure-") as tmp:
        work = _scratch(task_root, Path(tmp), reference=False)
        started = time.perf_counter()
        for action in actions:
            if action["tool"] == "write_file":
                (work / action["path"]).write_text(action["content"], encoding="utf-8")
            elif action["tool"] == "bash":
                # "python" in the script is the task image's interpreter; here it is this one.
                path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
                done = subprocess.run(
                    action["command"],
                    shell=True,
                    cwd=work,
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PATH": path},
                )
                if done.returncode != 0:
                    print(f"  {script.name}: {action['command'][:60]!r} failed: {done.stderr.strip()[-300:]}")
                    return None
        seconds = time.perf_counter() - started
        raw = grade_both(task_root, work)
        return None if raw is None else Measurement(script.stem, raw, seconds)


def normalize(m: Measurement, base: Measurement, ref: Measurement) -> None:
    """Fill ``m.normalized``: baseline 0, reference 1 on each split (NLL: lower is better)."""
    for split in SPLITS:
        b, r = base.raw[split]["score"], ref.raw[split]["score"]
        m.normalized[split] = (m.raw[split]["score"] - b) / (r - b)


def show(m: Measurement) -> str:
    parts = []
    for split in SPLITS:
        g = m.raw[split]
        part = (
            f"{split} nll={g['score']:.4f} acc={g['accuracy']:.4f} ece={g['ece']:.4f} brier={g['brier']:.4f}"
        )
        if m.normalized:
            part += f" norm={m.normalized[split]:+.3f}"
        parts.append(part)
    return f"{m.name}: " + "; ".join(parts) + f" ({m.seconds:.1f}s)"


def knob_grid(task_root: Path) -> list[dict[str, object]]:
    """Every combination of the task's knobs, in task.yaml order."""
    spec = yaml.safe_load((task_root / "task.yaml").read_text(encoding="utf-8"))
    knobs: dict[str, list[object]] = spec.get("knobs") or {}
    names = list(knobs)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*knobs.values())]


def simulate_tuner(
    grid: list[Measurement], default: Measurement, trials: int, bar: float, draws: int = 20000
) -> str:
    """The tuner on the measured grid: default + (trials - 1) random configs, best public, scored private."""
    rng = random.Random(0)
    finals = []
    for _ in range(draws):
        tried = [default, *rng.sample(grid, min(trials - 1, len(grid)))]
        best = min(tried, key=lambda m: m.raw["public"]["score"])  # earliest on ties, like the tuner
        finals.append(best.normalized["private"])
    beats = sum(f > 0 for f in finals) / draws
    passes = sum(f >= bar for f in finals) / draws
    reaches = sum(f >= 1 for f in finals) / draws
    q = statistics.quantiles(finals, n=20)
    return (
        f"tuner:{trials} over {draws} simulated episodes: final private normalized median "
        f"{statistics.median(finals):+.3f} (5%..95%: {q[0]:+.3f}..{q[-1]:+.3f}); beats the baseline "
        f"{beats:.3f}, reaches the bar {bar:g} {passes:.3f}, reaches the reference {reaches:.3f}"
    )


def measure_seed(seed: int | None, args: argparse.Namespace) -> None:
    """Measure everything asked for on the shipped data (None) or on a regenerated seed."""
    with tempfile.TemporaryDirectory(prefix="rgym-task-") as tmp:
        root = TASK_ROOT
        if seed is not None:
            root = Path(tmp) / "task"
            for sub in ("workspace", "eval", "reference"):
                shutil.copytree(TASK_ROOT / sub, root / sub)
            shutil.copy(TASK_ROOT / "task.yaml", root / "task.yaml")
            write_task_data(root, seed)
        label = "shipped" if seed is None else f"seed {seed}"
        print(f"== {label}", flush=True)
        base = run_baseline(root, "baseline")
        ref = run_baseline(root, "reference", reference=True)
        if base is None or ref is None:
            raise SystemExit(f"{label}: the baseline or the reference is invalid; see above")
        measured: list[tuple[str, Measurement]] = [("baseline", base), ("reference", ref)]
        for knobs in args.knobs:
            got = run_baseline(root, f"knobs {json.dumps(knobs, sort_keys=True)}", knobs=knobs)
            if got is not None:
                measured.append(("knobs", got))
        for script in args.script:
            got = run_script(root, script)
            if got is not None:
                measured.append(("script", got))
        grid: list[Measurement] = []
        if args.grid:
            for knobs in knob_grid(root):
                got = run_baseline(root, json.dumps(knobs, sort_keys=True), knobs=knobs)
                if got is not None:
                    normalize(got, base, ref)
                    print(f"  {show(got)}", flush=True)
                    grid.append(got)
                    measured.append(("grid", got))
        for kind, m in measured:
            normalize(m, base, ref)
            if kind != "grid":
                print(f"  {show(m)}", flush=True)
        if args.jsonl is not None:
            with args.jsonl.open("a", encoding="utf-8") as fh:
                for kind, m in measured:
                    record = {"seed": 0 if seed is None else seed, "kind": kind, "name": m.name}
                    record.update(raw=m.raw, normalized=m.normalized, seconds=round(m.seconds, 2))
                    fh.write(json.dumps(record) + "\n")
        if grid:
            bar = float(
                (yaml.safe_load((root / "task.yaml").read_text()).get("success") or {}).get(
                    "normalized_at_least", SUCCESS_DEFAULT
                )
            )
            for split in SPLITS:
                values = [m.normalized[split] for m in grid]
                print(
                    f"  grid ({len(grid)} settings), {split}: {sum(v > 0 for v in values)} beat the baseline, "
                    f"{sum(v >= bar for v in values)} reach the bar {bar:g}, {sum(v >= 1 for v in values)} "
                    f"reach the reference; median {statistics.median(values):+.3f}, best {max(values):+.3f}"
                )
            for trials in args.tuner_trials:
                print(f"  {simulate_tuner(grid, base, trials, bar)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, nargs="*", default=[], help="regenerate the data with these seeds"
    )
    parser.add_argument("--knobs", type=json.loads, action="append", default=[], help="a knobs.json object")
    parser.add_argument("--grid", action="store_true", help="measure every combination of task.yaml knobs")
    parser.add_argument(
        "--script", type=Path, action="append", default=[], help="a script agent (.jsonl) to replay and grade"
    )
    parser.add_argument("--jsonl", type=Path, help="append every measurement to this file")
    parser.add_argument(
        "--tuner-trials", type=int, nargs="*", default=[8], help="tuner trial counts to simulate on the grid"
    )
    args = parser.parse_args()
    args.script = [p.resolve() for p in args.script]
    for seed in args.seed or [None]:
        measure_seed(seed, args)


if __name__ == "__main__":
    main()
