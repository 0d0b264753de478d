"""The adaptive-prediction-intervals task: spec, agent-facing text, data, grader, baseline, exploits.

`rgym tasks verify` on this task runs in tests/tasks/test_shipped_tasks.py, with every shipped task.

The grader runs as a subprocess with RGYM_SPLIT set, exactly as the grader sandbox runs it.
"""

from __future__ import annotations

import math
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
    assert_files_refused,
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

TASK_ROOT = TASKS_DIR / "adaptive-prediction-intervals"
HEADER = ["id", "lower", "upper"]
METHOD_TERMS = ("quantile regression", "conformalized", "cqr", "pinball", "quantile loss")


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
    yield from import_baseline(TASK_ROOT, "api_baseline")


def _intervals(
    targets: dict[int, tuple[str, float]], half: float, covered: set[int] | None = None
) -> list[list[Any]]:
    """[y - half, y + half] around the true y for the ``covered`` ids (all when None), else a miss by 1."""
    rows: list[list[Any]] = []
    for i, (_, y) in targets.items():
        if covered is None or i in covered:
            rows.append([i, y - half, y + half])
        else:
            rows.append([i, y + 1.0, y + 1.0 + 2 * half])
    return rows


def _expected(
    targets: dict[int, tuple[str, float]], rows: list[list[Any]], split: str
) -> tuple[float, float]:
    """(interval score, coverage) of ``rows`` on ``split``, computed independently of the grader."""
    total, hits, n = 0.0, 0, 0
    for i, lo, hi in rows:
        row_split, y = targets[i]
        if row_split != split:
            continue
        n += 1
        total += (hi - lo) + 20.0 * max(lo - y, 0.0) + 20.0 * max(y - hi, 0.0)
        hits += lo <= y <= hi
    return total / n, hits / n


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_holds_the_agreed_contract(task: Task, baseline: ModuleType) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "interval_score" and spec.metric.direction.value == "minimize"
    assert spec.grader.submission == ["predictions.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.budget.network.value == "none" and spec.budget.cpus == 1.0
    assert "terse" in spec.description_variants
    assert {e.name for e in spec.exploits} >= {"wide-constant", "point-prediction", "undercover"}
    assert_knobs_accepted(task, baseline)


def test_readme_gives_data_submission_metric_and_baseline(task: Task) -> None:
    readme = task.readme
    for name in ("train.csv", "test.csv", ",".join(HEADER), "0.87", "2 / alpha", "public", "private"):
        assert name in readme, name
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
    assert len(read_csv(task.workspace_dir / "data" / "train.csv")) == 4000
    for folder in (task.workspace_dir, task.reference_dir):
        assert not [p for p in folder.rglob("*") if "target" in p.name]


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    assert_regenerates(
        task, tmp_path, ["workspace/data/train.csv", "workspace/data/test.csv", "eval/test_targets.csv"]
    )


# --- grader: good and boundary submissions --------------------------------------------------------------


def test_score_is_the_interval_score_of_the_graded_split(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    # Every public row covered, every private row missed except 90% of them: different scores per split.
    private = sorted(i for i, (s, _) in targets.items() if s == "private")
    covered = {i for i, (s, _) in targets.items() if s == "public"} | set(private[: int(0.9 * len(private))])
    rows = _intervals(targets, 0.5, covered)
    results = grade_both(TASK_ROOT, write_csv(tmp_path, HEADER, rows))
    for split in SPLITS:
        expected_score, expected_coverage = _expected(targets, rows, split)
        assert results[split]["score"] == pytest.approx(expected_score, abs=1e-6)
        assert results[split]["coverage"] == pytest.approx(expected_coverage)
        assert results[split]["split"] == split
    assert results["public"]["score"] == pytest.approx(1.0)  # width only
    assert results["private"]["score"] == pytest.approx(1.0 + 0.1 * 20 * 1.0, abs=1e-3)
    assert (results["public"]["n"], results["private"]["n"]) == (5000, 10000)


def test_a_missing_or_unknown_split_is_a_grader_error(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    folder = write_csv(tmp_path, HEADER, _intervals(targets, 0.5))
    # No default: a harness that forgot the split on validate would otherwise show a private score.
    unset = run_grader(TASK_ROOT, folder, None)
    assert unset.returncode == 2 and "RGYM_SPLIT" in unset.stderr and '"score"' not in unset.stdout
    bad = run_grader(TASK_ROOT, folder, "test")
    assert bad.returncode == 2 and "RGYM_SPLIT" in bad.stderr


def test_coverage_floor_is_inclusive(tmp_path: Path, targets: dict[int, tuple[str, float]]) -> None:
    for split in SPLITS:
        ids = sorted(i for i, (s, _) in targets.items() if s == split)
        n_at_floor = math.ceil(0.87 * len(ids))
        others = {i for i, (s, _) in targets.items() if s != split}
        at_floor = write_csv(
            tmp_path / split / "at", HEADER, _intervals(targets, 0.1, set(ids[:n_at_floor]) | others)
        )
        below = write_csv(
            tmp_path / split / "below", HEADER, _intervals(targets, 0.1, set(ids[: n_at_floor - 1]) | others)
        )
        assert score(run_grader(TASK_ROOT, at_floor, split))["coverage"] == pytest.approx(
            n_at_floor / len(ids)
        )
        assert_refused(run_grader(TASK_ROOT, below, split), "below the required 0.87")


def test_empty_intervals_and_extreme_bounds_are_accepted(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    # lower == upper is allowed; the bound +-1e6 itself is allowed.
    rows = [[i, y, y] if k % 2 else [i, -1e6, 1e6] for k, (i, (_, y)) in enumerate(targets.items())]
    results = grade_both(TASK_ROOT, write_csv(tmp_path, HEADER, rows))
    assert all(r["coverage"] == 1.0 for r in results.values())


# --- grader: junk -------------------------------------------------------------------------------------


def test_a_grader_without_its_hidden_data_fails_as_a_grader_error(
    tmp_path: Path, targets: dict[int, tuple[str, float]]
) -> None:
    folder = write_csv(tmp_path / "submission", HEADER, _intervals(targets, 0.5))
    assert_missing_hidden_data_is_a_grader_error(TASK_ROOT, tmp_path, folder)


def _malformed(targets: dict[int, tuple[str, float]]) -> dict[str, tuple[list[str], list[list[Any]], str]]:
    good = _intervals(targets, 3.0)

    def with_cell(row: int, column: int, value: object) -> list[list[Any]]:
        rows = [list(r) for r in good]
        rows[row][column] = value
        return rows

    return {
        "wrong header": (["id", "lo", "hi"], good, "header"),
        "short row": (HEADER, [good[0][:2], *good[1:]], "columns"),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "too many rows": (HEADER, [*good, good[0]], "data rows"),
        "duplicate id": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "unknown id": (HEADER, with_cell(len(good) - 1, 0, max(targets) + 1), "not a test id"),
        "non-integer id": (HEADER, with_cell(0, 0, "x"), "not an integer"),
        "non-numeric": (HEADER, with_cell(0, 1, "low"), "not a number"),
        "nan": (HEADER, with_cell(0, 2, "nan"), "not finite"),
        "inf": (HEADER, with_cell(0, 1, "-inf"), "not finite"),
        "too large": (HEADER, with_cell(0, 2, 1e6 + 1), "outside"),
        "lower above upper": (HEADER, with_cell(0, 1, 1e5), "above upper"),
        "huge field": (HEADER, with_cell(0, 1, "1" * 200_000), "not valid CSV"),
        "points (coverage 0)": (HEADER, [[i, y + 1, y + 1] for i, (_, y) in targets.items()], "coverage"),
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


def test_missing_empty_and_binary_files_are_refused(tmp_path: Path) -> None:
    cases = {
        "missing": (None, "not found", "public"),
        "empty": (b"", "empty", "public"),
        "binary": (b"\x00\xff\xfe garbage", "UTF-8", "private"),
    }
    assert_files_refused(TASK_ROOT, tmp_path, "predictions.csv", cases)


# --- baseline, knobs, exploits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"trees": 10}', "unknown knob 'trees'"),
        ('{"n_estimators": true}', "knob 'n_estimators' must be int"),
        ('{"calibration_fraction": 0.99}', "must be in [0.05, 0.95]"),
        ("[1]", "must be a JSON object"),
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


def test_conformal_threshold_is_the_finite_sample_quantile(baseline: ModuleType) -> None:
    import numpy as np

    scores = np.arange(1.0, 20.0)  # n = 19: ceil(20 * 0.9) = 18th smallest
    assert baseline.conformal_quantile(scores) == 18.0
    assert baseline.conformal_quantile(np.arange(1.0, 9.0)) == math.inf  # n = 8: ceil(9 * 0.9) = 9 > 8


def test_exploit_scripts_load_and_match_their_sources(task: Task) -> None:
    assert_exploit_scripts_load_and_are_current(task)
