"""The few-label-digits task: spec, agent-facing text, data, grader, baseline, exploits, image.

`rgym tasks verify` on this task runs in tests/tasks/test_shipped_tasks.py, with every shipped task.

The grader runs as a subprocess with RGYM_SPLIT set, exactly as the grader sandbox runs it.
"""

from __future__ import annotations

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
    assert_regenerates,
    grade_both,
    import_baseline,
    read_csv,
    run_grader,
    write_csv,
)

TASK_ROOT = TASKS_DIR / "few-label-digits"
HEADER = ["id", "label"]
METHOD_TERMS = ("label spreading", "label propagation", "spreading", "propagat", "graph", "laplacian", "zhou")


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(TASK_ROOT)


@pytest.fixture(scope="module")
def labels() -> dict[int, tuple[str, int]]:
    """id -> (split, label) of the hidden unlabelled rows."""
    return {int(r["id"]): (r["split"], int(r["label"])) for r in read_csv(TASK_ROOT / "eval" / "labels.csv")}


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    yield from import_baseline(TASK_ROOT, "fld_baseline")


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_holds_the_agreed_contract(task: Task, baseline: ModuleType) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "accuracy" and spec.metric.direction.value == "maximize"
    assert spec.grader.submission == ["predictions.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.budget.network.value == "none"
    assert "terse" in spec.description_variants
    assert {e.name for e in spec.exploits} >= {"constant-label", "digits-lookup"}
    assert_knobs_accepted(task, baseline)


def test_readme_gives_data_submission_metric_and_baseline(task: Task) -> None:
    for name in ("labelled.csv", "unlabelled.csv", "id,label", "accuracy", "public", "private", "removed"):
        assert name in task.readme, name
    assert_baseline_scores_in_readme(task)


def test_agent_facing_text_never_names_the_method(task: Task) -> None:
    assert_agent_text_hides_the_method(task, METHOD_TERMS)


# --- data ---------------------------------------------------------------------------------------------


def test_five_percent_are_labelled_and_hidden_labels_stay_in_eval(
    task: Task, labels: dict[int, tuple[str, int]]
) -> None:
    labelled = read_csv(task.workspace_dir / "data" / "labelled.csv")
    unlabelled = read_csv(task.workspace_dir / "data" / "unlabelled.csv")
    assert len(labelled) == 90 and len(unlabelled) == 1707
    assert round(len(labelled) / (len(labelled) + len(unlabelled)), 2) == 0.05
    assert sorted(int(r["label"]) for r in labelled) == sorted(list(range(10)) * 9)
    assert "label" not in unlabelled[0] and len(unlabelled[0]) == 65
    assert sorted(int(r["id"]) for r in unlabelled) == sorted(labels)
    assert not {int(r["id"]) for r in labelled} & set(labels)
    splits = [s for s, _ in labels.values()]
    assert (splits.count("public"), splits.count("private")) == (853, 854)
    hidden = "".join(str(labels[i][1]) for i in sorted(labels))
    for folder in (task.workspace_dir, task.reference_dir):
        for path in folder.rglob("*"):
            if path.is_file():
                assert hidden not in path.read_text(errors="replace").replace(",", "").replace("\n", "")


def test_features_are_rotated_not_pixels(task: Task) -> None:
    """Pixel data has many all-zero columns and values in [0, 1]; the rotated rows have neither."""
    rows = read_csv(task.workspace_dir / "data" / "unlabelled.csv")
    columns = [[float(r[f"f{j}"]) for r in rows] for j in range(64)]
    assert all(max(c) - min(c) > 0.1 for c in columns), (
        "a constant column looks like an unrotated border pixel"
    )
    assert min(min(c) for c in columns) < -0.5


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    assert_regenerates(
        task, tmp_path, ["workspace/data/labelled.csv", "workspace/data/unlabelled.csv", "eval/labels.csv"]
    )


# --- grader ---------------------------------------------------------------------------------------------


def test_score_is_the_accuracy_of_the_graded_split(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    # Right on every public row, right on exactly 427 of the 854 private rows.
    private = sorted(i for i, (s, _) in labels.items() if s == "private")
    wrong = set(private[:427])
    rows = [[i, (y + 1) % 10 if i in wrong else y] for i, (_, y) in labels.items()]
    results = grade_both(TASK_ROOT, write_csv(tmp_path, HEADER, rows))
    assert results["public"]["score"] == 1.0
    assert results["private"]["score"] == 0.5
    assert (results["public"]["n"], results["private"]["n"]) == (853, 854)
    assert all(results[s]["split"] == s for s in SPLITS)


def test_a_missing_or_unknown_split_is_a_grader_error(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    folder = write_csv(tmp_path, HEADER, [[i, 3] for i in labels])
    # No default: a harness that forgot the split on validate would otherwise show a private score.
    unset = run_grader(TASK_ROOT, folder, None)
    assert unset.returncode == 2 and "RGYM_SPLIT" in unset.stderr and '"score"' not in unset.stdout
    bad = run_grader(TASK_ROOT, folder, "PUBLIC")
    assert bad.returncode == 2 and "RGYM_SPLIT" in bad.stderr


def test_a_grader_without_its_hidden_data_fails_as_a_grader_error(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    folder = write_csv(tmp_path / "submission", HEADER, [[i, 0] for i in labels])
    assert_missing_hidden_data_is_a_grader_error(TASK_ROOT, tmp_path, folder)


def _malformed(labels: dict[int, tuple[str, int]]) -> dict[str, tuple[list[str], list[list[Any]], str]]:
    good: list[list[Any]] = [[i, 0] for i in labels]
    labelled_id = int(read_csv(TASK_ROOT / "workspace" / "data" / "labelled.csv")[0]["id"])

    def with_cell(row: int, column: int, value: object) -> list[list[Any]]:
        rows = [list(r) for r in good]
        rows[row][column] = value
        return rows

    return {
        "wrong header": (["id", "class"], good, "header"),
        "one-hot columns": (
            ["id", *(f"p{k}" for k in range(10))],
            [[i, *[0.1] * 10] for i in labels],
            "header",
        ),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "duplicate id": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "labelled id": (HEADER, with_cell(0, 0, labelled_id), "not an unlabelled id"),
        "label 10": (HEADER, with_cell(0, 1, 10), "not an integer 0 to 9"),
        "label -1": (HEADER, with_cell(0, 1, -1), "not an integer 0 to 9"),
        "float label": (HEADER, with_cell(0, 1, "3.0"), "not an integer 0 to 9"),
        "word label": (HEADER, with_cell(0, 1, "seven"), "not an integer 0 to 9"),
    }


def test_every_malformed_submission_is_refused_with_one_clear_line(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    cases = {
        name: (write_csv(tmp_path / name.replace(" ", "-"), header, rows), phrase)
        for name, (header, rows, phrase) in _malformed(labels).items()
    }
    assert_all_refused(TASK_ROOT, cases, SPLITS)


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    cases = {"missing": (None, "not found", "public"), "empty": (b"\n\n", "no rows", "private")}
    assert_files_refused(TASK_ROOT, tmp_path, "predictions.csv", cases)


# --- baseline, knobs, exploits, image -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"k": 3}', "unknown knob 'k'"),
        ('{"n_neighbors": 0}', "knob 'n_neighbors' must be an int >= 1"),
        ('{"metric": "chebyshev"}', "knob 'metric' must be one of euclidean, manhattan, cosine"),
        ('"uniform"', "must be a JSON object"),
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


def test_exploit_scripts_load_and_match_their_sources(task: Task) -> None:
    assert_exploit_scripts_load_and_are_current(task)


def test_image_removes_the_bundled_digits(task: Task) -> None:
    dockerfile = (task.environment_dir / "Dockerfile").read_text()
    assert "sklearn/datasets/data" in dockerfile and "digits.csv.gz" in dockerfile and "rm -f" in dockerfile


@pytest.mark.docker
@pytest.mark.slow
def test_digits_are_gone_from_the_task_image(docker_client: Any) -> None:
    from gym_core.images import ensure_task_image

    image = ensure_task_image(load_task(TASK_ROOT))
    probe = (
        "import sklearn.datasets as d\n"
        "try:\n    d.load_digits()\nexcept OSError:\n    print('absent')\nelse:\n    print('present')\n"
    )
    out = docker_client.containers.run(
        image, ["python", "-c", probe], remove=True, network_disabled=True, labels={"rgym.test": "1"}
    )
    assert out.decode().strip() == "absent"
