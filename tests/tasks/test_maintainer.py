"""gym_core.tasks.maintainer: the measurements behind a shipped task's maintainer/measure.py, on the tiny-mean
fixture (private mean 10, public mean 9; the baseline guesses 5 or its ``guess`` knob, the reference 10)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from gym_core.tasks.maintainer import TaskMeasure, measure_grid, measure_main, simulate_tuner

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "tiny-mean"


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    return root


def shift_data(root: Path, seed: int) -> None:
    """A stand-in make_data.write_task_data: every hidden number moves up by ``seed``."""
    for split in ("public", "private"):
        path = root / "eval" / f"{split}.txt"
        path.write_text(" ".join(str(float(x) + seed) for x in path.read_text().split()) + "\n")


def test_baseline_reference_and_knobs_are_graded_on_both_splits(task_root: Path) -> None:
    task = TaskMeasure(task_root)
    base, _ = task.run_and_grade(reference=False)
    ref, _ = task.run_and_grade(reference=True)
    assert (base["public"], base["private"]) == ({"score": 4.0}, {"score": 5.0})
    assert (ref["public"], ref["private"]) == ({"score": 1.0}, {"score": 0.0})
    tuned, _ = task.run_and_grade(reference=False, knobs={"guess": 9})
    assert (tuned["public"], tuned["private"]) == ({"score": 0.0}, {"score": 1.0})


def test_knobs_on_every_seed_are_normalized_by_that_seeds_pair(
    task_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    measure_main(task_root, shift_data, ["--seed", "0", "5", "--knobs", '{"guess": 10}'])
    out = capsys.readouterr().out
    assert "seed 0: public 4.0 -> 1.0; private 5.0 -> 0.0" in out
    assert "seed 5: public 9.0 -> 4.0; private 10.0 -> 5.0" in out  # means 14 and 15; the reference says 10
    # guess 10 is the reference's answer: normalized 1 on each seed, by that seed's own pair
    assert '{"guess": 10}: public 1.0 (+1.000); private 0.0 (+1.000)' in out
    assert '{"guess": 10}: public 4.0 (+1.000); private 5.0 (+1.000)' in out
    assert "reference - baseline over seeds and splits: min -5, max -3" in out
    assert (task_root / "eval" / "private.txt").read_text() == (FIXTURE / "eval" / "private.txt").read_text()


def test_the_grid_and_the_simulated_tuner(task_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = measure_grid(task_root, draws=200)
    by_guess = {config["guess"]: (public, private) for config, public, private in rows}
    assert by_guess[10] == (pytest.approx(1.0), pytest.approx(1.0))
    assert by_guess[5] == (pytest.approx(0.0), pytest.approx(0.0))
    assert by_guess[15] == (pytest.approx(-2 / 3), pytest.approx(0.0))  # public 6 (baseline 4), private 5 (5)
    out = capsys.readouterr().out
    assert "4/4 valid" in out and "1 reach the success bar 0.5" in out
    # eval_limit 3: the default and two of the four settings; guess 10 is among them in half the draws
    finals = simulate_tuner(rows, trials=3, draws=2000)
    assert set(finals) <= {0.0, 1.0}
    assert 0.4 < sum(f == 1.0 for f in finals) / len(finals) < 0.6


def test_the_simulated_tuner_keeps_the_earliest_best_and_skips_invalid_settings() -> None:
    rows = [({"a": 1}, None, 0.9), ({"a": 2}, 0.0, 0.8)]  # invalid on public; a tie with the default
    finals = simulate_tuner(rows, trials=3, draws=50)
    assert finals == [0.0] * 50  # the default comes first and wins the tie
    rows_invalid_private = [({"a": 3}, 0.5, None)]
    assert all(math.isnan(f) for f in simulate_tuner(rows_invalid_private, trials=2, draws=5))


def test_exploit_scripts_are_played_and_graded_privately(
    task_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    measure_main(task_root, shift_data, ["--exploits"])
    out = capsys.readouterr().out
    assert "far-guess: private 10.0 (normalized -1.000; max_normalized 0.0)" in out
    # read-eval cannot read /eval on the host either: it writes nothing valid, so the grader refuses it
    assert "read-eval: private None (normalized invalid" in out


def test_bad_knobs_json_is_one_line(task_root: Path) -> None:
    with pytest.raises(SystemExit, match="not valid JSON"):
        measure_main(task_root, shift_data, ["--knobs", "{nope"])
    with pytest.raises(SystemExit, match="must be a JSON object"):
        measure_main(task_root, shift_data, ["--reference-knobs", "[1]"])
