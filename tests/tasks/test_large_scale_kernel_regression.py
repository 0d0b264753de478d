"""The large-scale-kernel-regression task: spec, agent-facing text, data, grader, baseline, exploits.

`rgym tasks verify` on this task runs in tests/tasks/test_shipped_tasks.py, with every shipped task.

The grader runs as a subprocess with RGYM_SPLIT set, exactly as the grader sandbox runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gym_core.tasks.loader import Task, load_task
from tests.tasks.task_checks import (
    SPLITS,
    TASKS_DIR,
    assert_agent_text_hides_the_method,
    assert_all_refused,
    assert_bad_knobs_refused,
    assert_baseline_scores_in_readme,
    assert_exploit_scripts_load_and_are_current,
    assert_knobs_accepted,
    assert_missing_hidden_data_is_a_grader_error,
    assert_refused,
    assert_regenerates,
    grade_both,
    import_baseline,
    read_csv,
    run_grader,
    score,
    write_csv,
)

TASK_ROOT = TASKS_DIR / "large-scale-kernel-regression"
HEADER = ["id", "y"]
METHOD_TERMS = ("fourier", "random feature", "nystr", "rahimi", "bochner", "landmark", "sketch")


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(TASK_ROOT)


@pytest.fixture(scope="module")
def targets() -> dict[int, tuple[str, float]]:
    """id -> (split, y) of the hidden test rows."""
    return {
        int(r["id"]): (r["split"], float(r["y"])) for r in read_csv(TASK_ROOT / "eval" / "test_targets.csv")
    }


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    yield from import_baseline(TASK_ROOT, "lskr_baseline")


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_holds_the_agreed_contract(task: Task, baseline: ModuleType) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "mse" and spec.metric.direction.value == "minimize"
    assert spec.grader.submission == ["predictions.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.budget.network.value == "none" and spec.budget.cpus == 1.0
    # The task is about memory: the exact solve must not fit.
    assert spec.budget.memory_mb * 2**20 < 30000**2 * 8
    assert "terse" in spec.description_variants
    assert {e.name for e in spec.exploits} >= {"constant-mean", "read-hidden"}
    assert_knobs_accepted(task, baseline)


def test_readme_gives_data_submission_metric_and_baseline(task: Task) -> None:
    for name in ("train.csv", "test.csv", "id,y", "mean squared error", "public", "private", "1 GB"):
        assert name in task.readme, name
    assert_baseline_scores_in_readme(task)


def test_agent_facing_text_never_names_the_method(task: Task) -> None:
    assert_agent_text_hides_the_method(task, METHOD_TERMS)


# --- data ---------------------------------------------------------------------------------------------


def test_hidden_targets_cover_the_test_rows_and_stay_in_eval(
    task: Task, targets: dict[int, tuple[str, float]]
) -> None:
    test_rows = read_csv(task.workspace_dir / "data" / "test.csv")
    assert "y" not in test_rows[0] and len(test_rows[0]) == 7
    assert sorted(int(r["id"]) for r in test_rows) == sorted(targets)
    splits = [s for s, _ in targets.values()]
    assert (splits.count("public"), splits.count("private")) == (5000, 10000)
    assert len(read_csv(task.workspace_dir / "data" / "train.csv")) == 30000
    for folder in (task.workspace_dir, task.reference_dir):
        assert not [p for p in folder.rglob("*") if "target" in p.name]


@pytest.mark.slow  # evaluates a 20000-term random function at 45000 points
def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    assert_regenerates(
        task, tmp_path, ["workspace/data/train.csv", "workspace/data/test.csv", "eval/test_targets.csv"]
    )


# --- grader ---------------------------------------------------------------------------------------------


def test_score_is_the_mse_of_the_graded_split(tmp_path: Path, targets: dict[int, tuple[str, float]]) -> None:
    # Exact on public rows, off by 0.5 on private rows: MSE 0 and 0.25.
    rows = [[i, y if s == "public" else y + 0.5] for i, (s, y) in targets.items()]
    results = grade_both(TASK_ROOT, write_csv(tmp_path, HEADER, rows))
    assert results["public"]["score"] == 0.0 and results["public"]["r2"] == 1.0
    assert results["private"]["score"] == pytest.approx(0.25, abs=1e-9)
    assert (results["public"]["n"], results["private"]["n"]) == (5000, 10000)
    assert all(results[s]["split"] == s for s in SPLITS)


def test_extreme_but_finite_predictions_are_scored(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    rows = [[i, 1e6 if k == 0 else y] for k, (i, (_, y)) in enumerate(targets.items())]
    first_split, first_y = targets[rows[0][0]]
    result = score(run_grader(TASK_ROOT, write_csv(tmp_path, HEADER, rows), first_split))
    n = result["n"]
    assert result["score"] == pytest.approx((1e6 - first_y) ** 2 / n, rel=1e-6)


def test_a_missing_or_unknown_split_is_a_grader_error(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    folder = write_csv(tmp_path, HEADER, [[i, 0.0] for i in targets])
    # No default: a harness that forgot the split on validate would otherwise show a private score.
    unset = run_grader(TASK_ROOT, folder, None)
    assert unset.returncode == 2 and "RGYM_SPLIT" in unset.stderr and '"score"' not in unset.stdout
    bad = run_grader(TASK_ROOT, folder, "")
    assert bad.returncode == 2 and "RGYM_SPLIT" in bad.stderr


def test_wrong_arguments_are_a_grader_error_not_an_invalid_submission(tmp_path: Path) -> None:
    for argv in ([], [str(tmp_path), str(tmp_path)]):
        ran = subprocess.run(
            [sys.executable, str(TASK_ROOT / "eval" / "grade.py"), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "RGYM_SPLIT": "public"},
        )
        assert ran.returncode == 2 and ran.stderr.startswith("usage:"), (argv, ran.returncode, ran.stderr)


def test_a_grader_without_its_hidden_data_fails_as_a_grader_error(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    folder = write_csv(tmp_path / "submission", HEADER, [[i, 0.0] for i in targets])
    assert_missing_hidden_data_is_a_grader_error(TASK_ROOT, tmp_path, folder)


def _malformed(targets: dict[int, tuple[str, float]]) -> dict[str, tuple[list[str], list[list[Any]], str]]:
    good: list[list[Any]] = [[i, 0.0] for i in targets]

    def with_cell(row: int, column: int, value: object) -> list[list[Any]]:
        rows = [list(r) for r in good]
        rows[row][column] = value
        return rows

    return {
        "wrong header": (["id", "prediction"], good, "header"),
        "extra column": (["id", "y", "z"], [[*r, 1] for r in good], "header"),
        "short row": (HEADER, [good[0][:1], *good[1:]], "columns"),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "duplicate id": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "unknown id": (HEADER, with_cell(len(good) - 1, 0, -1), "not a test id"),
        "non-numeric": (HEADER, with_cell(0, 1, "big"), "not a number"),
        "nan": (HEADER, with_cell(0, 1, "nan"), "not finite"),
        "too large": (HEADER, with_cell(0, 1, "1e7"), "outside"),
    }


def test_every_malformed_submission_is_refused_with_one_clear_line(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    # Parsing does not depend on the split; the cases alternate between the two.
    cases = {
        name: (write_csv(tmp_path / name.replace(" ", "-"), header, rows), phrase)
        for name, (header, rows, phrase) in _malformed(targets).items()
    }
    assert_all_refused(TASK_ROOT, cases, SPLITS)


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    missing.mkdir()
    assert_refused(run_grader(TASK_ROOT, missing, "public"), "not found")
    header_only = write_csv(tmp_path / "header-only", HEADER, [])
    assert_refused(run_grader(TASK_ROOT, header_only, "private"), "data rows")


# --- baseline, knobs, exploits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"subset": 10}', "unknown knob 'subset'"),
        ('{"n_subset": 1.5}', "knob 'n_subset' must be int"),
        ('{"alpha": 0}', "knob 'alpha' must be > 0"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_knobs_are_refused_with_one_line(
    baseline: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    phrase: str,
) -> None:
    assert_bad_knobs_refused(baseline, tmp_path, monkeypatch, capsys, content, phrase)


def test_median_heuristic_on_a_known_sample(baseline: ModuleType) -> None:
    import numpy as np

    # Three points on a line at 0, 1, 3: squared distances 1, 4, 9; median 4.
    x = np.array([[0.0], [1.0], [3.0]])
    assert baseline.median_squared_distance(x, np.random.default_rng(0)) == pytest.approx(4.0)


def test_exploit_scripts_load_and_match_their_sources(task: Task) -> None:
    assert_exploit_scripts_load_and_are_current(task)
