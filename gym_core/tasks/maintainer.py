"""Measuring a shipped task on the host, for its ``maintainer/measure.py`` (the numbers of MAINTAINERS.md).

Every measurement copies workspace/ to a scratch folder (with reference/ copied over it for the reference,
and a knobs.json for a knob setting), runs the task's ``baseline.command`` there with this interpreter, and
grades the submission files with eval/grade.py once per split (``RGYM_SPLIT=public``, then ``private``):
the way ``rgym tasks verify`` and the tuner agent see the task, without Docker.

A task's ``maintainer/measure.py`` is a thin script::

    from make_data import TASK_ROOT, write_task_data
    from gym_core.tasks.maintainer import measure_main

    if __name__ == "__main__":
        measure_main(TASK_ROOT, write_task_data)

and takes these options (any mix; none measures baseline and reference on the shipped data):

- ``--seed S ...`` regenerates the data with other seeds (into a scratch copy of the task only) and reports
  baseline and reference on both splits for each: the spread of the scores over data draws.
- ``--grid`` runs every combination of task.yaml's ``knobs`` on the shipped data, then simulates the tuner
  agent (agents/tuner.py: the default config plus random distinct configs, min(eval_limit, 8) trials in all,
  best public score submitted) over ``--tuner-draws`` random episodes and reports its final private
  normalized score.
- ``--knobs JSON ...`` runs the baseline with each knobs.json given (also values outside task.yaml's grid);
  with ``--reference`` the reference instead; ``--reference-knobs JSON ...`` runs the reference with each.
  With ``--seed`` they run on every seed's data, normalized by that seed's baseline and reference;
  without, on the shipped data.
- ``--exploits`` plays every ``script:`` exploit locally in a scratch workspace (bash and write_file
  actions; validate grades the public split) and grades the end state on the private split.

Tasks with code submissions or their own measurements (the bandit, calibration) keep scripts of their own.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPLITS = ("public", "private")
TUNER_MAX_TRIALS = 8
"""agents/tuner.py's DEFAULT_MAX_TRIALS."""
TUNER_DRAWS = 20000
"""Simulated tuner episodes by default."""

Result = dict[str, Any] | None
"""The grader's JSON result, or None for a submission it refused."""

WriteTaskData = Callable[[Path, int], None]
"""``make_data.write_task_data(out, seed)``: writes the data of ``seed`` into the task folder ``out``."""


def normalized(score: float | None, base: float | None, ref: float | None) -> float | None:
    """``(score - base) / (ref - base)``; None when any of them is missing (an invalid submission)."""
    if score is None or base is None or ref is None:
        return None
    return (score - base) / (ref - base)


def result_score(result: Result) -> float | None:
    """The ``score`` of a grader result; None for a refused submission."""
    return None if result is None else float(result["score"])


def diagnostics(result: Result) -> str:
    """The grader's diagnostics (every key but score, split and n) on one line."""
    if result is None:
        return "invalid"
    return " ".join(f"{k}={v}" for k, v in result.items() if k not in ("score", "split", "n"))


def _signed(value: float | None) -> str:
    return "invalid" if value is None else f"{value:+.3f}"


@dataclass(frozen=True)
class TaskMeasure:
    """Measurements of the task folder ``root`` (the shipped one, or a scratch copy with other data)."""

    root: Path

    def spec(self) -> dict[str, Any]:
        """task.yaml, as plain data."""
        loaded: dict[str, Any] = yaml.safe_load((self.root / "task.yaml").read_text(encoding="utf-8"))
        return loaded

    def grade(self, submission: Path, split: str) -> Result:
        """Run eval/grade.py on ``submission`` for ``split``; the result object, or None when refused."""
        graded = subprocess.run(
            [sys.executable, str(self.root / "eval" / "grade.py"), str(submission)],
            capture_output=True,
            text=True,
            env={**os.environ, "RGYM_SPLIT": split},
        )
        if graded.returncode == 1:
            print(f"    {split}: refused: {graded.stderr.strip()}")
            return None
        if graded.returncode != 0:
            raise SystemExit(f"the grader failed (exit {graded.returncode}): {graded.stderr.strip()}")
        result: dict[str, Any] = json.loads(graded.stdout.strip().splitlines()[-1])
        return result

    def grade_workspace(self, work: Path, tmp: Path) -> dict[str, Result]:
        """Copy the declared submission files of ``work`` to a submission folder and grade both splits."""
        submission = tmp / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        for name in self.spec()["grader"]["submission"]:
            if (work / name).is_file():
                shutil.copy(work / name, submission / name)
        return {split: self.grade(submission, split) for split in SPLITS}

    def run_and_grade(
        self, *, reference: bool, knobs: dict[str, Any] | None = None
    ) -> tuple[dict[str, Result], float]:
        """Run the baseline command in a scratch workspace; the graded splits and the command's wall time."""
        # `python` in the command is the sandbox's interpreter; here it is this one.
        command = str(self.spec()["baseline"]["command"]).replace("python ", f"{sys.executable} ", 1)
        with tempfile.TemporaryDirectory(prefix="rgym-measure-") as tmp_name:
            tmp = Path(tmp_name)
            work = tmp / "workspace"
            shutil.copytree(self.root / "workspace", work)
            if reference:
                shutil.copytree(self.root / "reference", work, dirs_exist_ok=True)
            if knobs is not None:
                (work / "knobs.json").write_text(json.dumps(knobs), encoding="utf-8")
            started = time.perf_counter()
            run = subprocess.run(command, shell=True, cwd=work, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if run.returncode != 0:
                raise SystemExit(f"{command} failed (knobs {knobs}): {run.stderr.strip()[-500:]}")
            return self.grade_workspace(work, tmp), seconds

    def score_pairs(self) -> dict[str, tuple[float | None, float | None]]:
        """(baseline, reference) score on each split, run afresh."""
        base, _ = self.run_and_grade(reference=False)
        ref, _ = self.run_and_grade(reference=True)
        return {split: (result_score(base[split]), result_score(ref[split])) for split in SPLITS}

    def play_script(self, script: Path) -> tuple[list[Result], dict[str, Result]]:
        """Play a script agent's actions in a scratch workspace: (validate results, final graded splits)."""
        validates: list[Result] = []
        with tempfile.TemporaryDirectory(prefix="rgym-exploit-") as tmp_name:
            tmp = Path(tmp_name)
            work = tmp / "workspace"
            shutil.copytree(self.root / "workspace", work)
            for line in script.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                action = json.loads(line)
                tool = action["tool"]
                if tool == "bash":
                    # `python` in the scripts is the sandbox's interpreter; here it is this one.
                    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
                    ran = subprocess.run(
                        action["command"],
                        shell=True,
                        cwd=work,
                        capture_output=True,
                        text=True,
                        timeout=600,
                        env={**os.environ, "PATH": path},
                    )
                    if ran.returncode != 0:
                        print(f"    bash exit {ran.returncode}: {ran.stderr.strip()[-300:]}")
                elif tool == "write_file":
                    (work / action["path"]).write_text(action["content"], encoding="utf-8")
                elif tool == "validate":
                    validates.append(self.grade_workspace(work, tmp)["public"])
                elif tool == "submit":
                    break
            return validates, self.grade_workspace(work, tmp)


def scratch_task(task_root: Path, tmp: Path, seed: int, write_task_data: WriteTaskData) -> Path:
    """A copy of the task's folders under ``tmp`` with the data of ``seed``."""
    root = tmp / "task"
    for sub in ("workspace", "eval", "reference"):
        shutil.copytree(task_root / sub, root / sub)
    shutil.copy(task_root / "task.yaml", root / "task.yaml")
    write_task_data(root, seed)
    return root


def measure_shipped(task_root: Path) -> None:
    """Baseline and reference on both splits of the shipped data."""
    _print_baseline_and_reference("shipped", TaskMeasure(task_root))


def _print_baseline_and_reference(
    label: str, task: TaskMeasure
) -> tuple[dict[str, Result], dict[str, Result]]:
    base, base_s = task.run_and_grade(reference=False)
    ref, ref_s = task.run_and_grade(reference=True)
    cells = [f"{split} {result_score(base[split])} -> {result_score(ref[split])}" for split in SPLITS]
    print(f"  {label}: " + "; ".join(cells) + f"  (baseline {base_s:.1f}s, reference {ref_s:.1f}s)")
    print(f"    baseline private: {diagnostics(base['private'])}")
    print(f"    reference private: {diagnostics(ref['private'])}")
    return base, ref


KnobSetting = tuple[bool, dict[str, Any]]
"""A knobs.json to run: (on the reference?, the knobs)."""


def parse_knobs(texts: Sequence[str], *, reference: bool) -> list[KnobSetting]:
    """``--knobs`` JSON texts as settings; SystemExit naming the bad one."""
    settings: list[KnobSetting] = []
    for text in texts:
        try:
            config = json.loads(text)
        except ValueError as exc:
            raise SystemExit(f"--knobs {text!r}: not valid JSON ({exc})") from None
        if not isinstance(config, dict):
            raise SystemExit(f"--knobs {text!r}: must be a JSON object of name -> value")
        settings.append((reference, config))
    return settings


def _print_settings(
    task: TaskMeasure, settings: Sequence[KnobSetting], pairs: dict[str, tuple[float | None, float | None]]
) -> None:
    for reference, config in settings:
        graded, seconds = task.run_and_grade(reference=reference, knobs=config)
        cells = []
        for split in SPLITS:
            n = normalized(result_score(graded[split]), *pairs[split])
            cells.append(f"{split} {result_score(graded[split])} ({_signed(n)})")
        label = ("reference " if reference else "") + json.dumps(config, sort_keys=True)
        print(f"    {label}: " + "; ".join(cells) + f"  [{seconds:.1f}s]", flush=True)


def measure_seeds(
    task_root: Path,
    seeds: Sequence[int],
    write_task_data: WriteTaskData,
    settings: Sequence[KnobSetting] = (),
) -> None:
    """Baseline and reference on both splits of the data each seed generates: the spread over draws; then
    each knob setting in ``settings`` on that seed's data, normalized by that seed's baseline and reference."""
    print("== baseline and reference per data seed (score on public / private)")
    gaps = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="rgym-task-") as tmp:
            root = scratch_task(task_root, Path(tmp), seed, write_task_data)
            task = TaskMeasure(root)
            base, ref = _print_baseline_and_reference(f"seed {seed}", task)
            pairs = {split: (result_score(base[split]), result_score(ref[split])) for split in SPLITS}
            gaps += [r - b for b, r in pairs.values() if b is not None and r is not None]
            _print_settings(task, settings, pairs)
    if gaps:
        print(f"  reference - baseline over seeds and splits: min {min(gaps):+.6g}, max {max(gaps):+.6g}")


GridRow = tuple[dict[str, Any], float | None, float | None]
"""A knob setting with its public and private normalized scores (None: invalid)."""


def simulate_tuner(rows: Sequence[GridRow], *, trials: int, draws: int, seed: int = 0) -> list[float]:
    """Final private normalized scores of ``draws`` simulated tuner episodes (NaN: an invalid submission).

    Trial 0 is the default config (the baseline itself, 0 on both splits); then ``trials - 1`` distinct
    random settings of ``rows``; the best public score is submitted, the earliest on ties (as
    agents/tuner.py plays it). Public normalized is larger-is-better in both metric directions.
    """
    default_row: GridRow = ({}, 0.0, 0.0)
    rng = random.Random(seed)
    finals = []
    for _ in range(draws):
        tried = [default_row, *rng.sample(list(rows), min(trials - 1, len(rows)))]
        scored = [r for r in tried if r[1] is not None]
        best = max(scored, key=lambda r: r[1] if r[1] is not None else float("-inf"))
        finals.append(best[2] if best[2] is not None else float("nan"))
    return finals


def measure_grid(task_root: Path, *, draws: int = TUNER_DRAWS) -> list[GridRow]:
    """Every combination of the spec's knobs on the shipped data, then the simulated tuner."""
    task = TaskMeasure(task_root)
    s = task.spec()
    knobs: dict[str, list[Any]] = s["knobs"]
    bar = s.get("success", {}).get("normalized_at_least", 0.0)
    trials = min(s["budget"]["eval_limit"], TUNER_MAX_TRIALS)
    base, base_s = task.run_and_grade(reference=False)
    ref, _ = task.run_and_grade(reference=True)
    pairs = {split: (result_score(base[split]), result_score(ref[split])) for split in SPLITS}
    print(f"== knob grid ({'x'.join(str(len(v)) for v in knobs.values())} configs); baseline {base_s:.1f}s")
    names = sorted(knobs)
    rows: list[GridRow] = []
    for values in itertools.product(*(knobs[n] for n in names)):
        config = dict(zip(names, values, strict=True))
        graded, seconds = task.run_and_grade(reference=False, knobs=config)
        pub = normalized(result_score(graded["public"]), *pairs["public"])
        priv = normalized(result_score(graded["private"]), *pairs["private"])
        rows.append((config, pub, priv))
        print(
            f"  {json.dumps(config, sort_keys=True)}: private {result_score(graded['private'])} "
            f"(normalized {_signed(priv)}), public normalized {_signed(pub)}  [{seconds:.1f}s]",
            flush=True,
        )
    privs = sorted(r[2] for r in rows if r[2] is not None)
    if not privs:
        print(f"  0/{len(rows)} valid")
        return rows
    print(
        f"  {len(privs)}/{len(rows)} valid; {sum(p > 0 for p in privs)} beat the baseline (private); "
        f"median {statistics.median(privs):+.3f}; best {privs[-1]:+.3f}; "
        f"{sum(p >= bar for p in privs)} reach the success bar {bar}; {sum(p >= 1 for p in privs)} reach 1"
    )
    finals = sorted(simulate_tuner(rows, trials=trials, draws=draws))
    good = [f for f in finals if f == f]
    print(
        f"  tuner ({trials} trials, {draws} simulated episodes): final private normalized median "
        f"{statistics.median(good):+.3f}, 10%-90% {good[len(good) // 10]:+.3f}..{good[9 * len(good) // 10]:+.3f}, "
        f"max {good[-1]:+.3f}; P(> 0) {sum(f > 0 for f in good) / len(finals):.2f}, "
        f"P(>= {bar}) {sum(f >= bar for f in good) / len(finals):.3f}, "
        f"P(>= 1) {sum(f >= 1 for f in good) / len(finals):.3f}"
    )
    return rows


def measure_knobs(task_root: Path, settings: Sequence[KnobSetting]) -> None:
    """The baseline (or the reference) with each knobs.json of ``settings`` on the shipped data."""
    task = TaskMeasure(task_root)
    pairs = task.score_pairs()
    print("== single knob settings on the shipped data (normalized in brackets)")
    _print_settings(task, settings, pairs)


def measure_exploits(task_root: Path) -> None:
    """Play every ``script:`` exploit locally; its private normalized score is what max_normalized bounds."""
    task = TaskMeasure(task_root)
    pairs = task.score_pairs()
    print("== exploits (played locally; private normalized is what `max_normalized` bounds)")
    for exploit in task.spec().get("exploits", []):
        agent = exploit["agent"]
        if not agent.startswith("script:"):
            print(f"  {exploit['name']}: {agent} is not a script; play it with `rgym run`")
            continue
        validates, final = task.play_script(task_root / agent.removeprefix("script:"))
        best_public = max(
            (n for v in validates if (n := normalized(result_score(v), *pairs["public"])) is not None),
            default=None,
        )
        priv = normalized(result_score(final["private"]), *pairs["private"])
        print(
            f"  {exploit['name']}: private {result_score(final['private'])} (normalized {_signed(priv)}; "
            f"max_normalized {exploit['max_normalized']}), best validate normalized "
            f"{best_public if best_public is None else f'{best_public:+.3f}'}"
        )
        print(f"    private: {diagnostics(final['private'])}")


def measure_main(task_root: Path, write_task_data: WriteTaskData, argv: Sequence[str] | None = None) -> None:
    """The command line of a task's ``maintainer/measure.py`` (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog=f"tasks/{task_root.name}/maintainer/measure.py",
        description="Measure the task the way `rgym tasks verify` and the tuner agent see it; "
        "prints the numbers of MAINTAINERS.md.",
    )
    parser.add_argument(
        "--seed", type=int, nargs="*", default=[], help="regenerate the data with these seeds"
    )
    parser.add_argument("--grid", action="store_true", help="measure every knob combination and the tuner")
    parser.add_argument("--tuner-draws", type=int, default=TUNER_DRAWS, help="simulated tuner episodes")
    parser.add_argument(
        "--knobs", nargs="+", action="extend", default=[], metavar="JSON", help="knobs.json settings to run"
    )
    parser.add_argument("--reference", action="store_true", help="apply --knobs to the reference")
    parser.add_argument(
        "--reference-knobs",
        nargs="+",
        action="extend",
        default=[],
        metavar="JSON",
        help="knobs.json settings of the reference to run (beside --knobs of the baseline)",
    )
    parser.add_argument("--exploits", action="store_true", help="play the exploit scripts")
    args = parser.parse_args(argv)
    if args.reference and not args.knobs:
        parser.error("--reference applies to --knobs settings; give at least one")
    settings = parse_knobs(args.knobs, reference=args.reference)
    settings += parse_knobs(args.reference_knobs, reference=True)
    if not (args.seed or args.grid or args.exploits or settings):
        print("== baseline and reference on the shipped data (score on public / private)")
        measure_shipped(task_root)
    if args.seed:
        measure_seeds(task_root, args.seed, write_task_data, settings)
    if args.grid:
        measure_grid(task_root, draws=args.tuner_draws)
    if settings and not args.seed:
        measure_knobs(task_root, settings)
    if args.exploits:
        measure_exploits(task_root)
