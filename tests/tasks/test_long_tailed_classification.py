"""The long-tailed-classification task: spec, README, data, grader on both splits, baseline, exploits.

Plain host Python (no Docker); tests/tasks/test_shipped_tasks.py runs `rgym tasks verify` on it for real.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gym_core.tasks.loader import Task, load_task
from rgym_agents.script import load_script
from tests.tasks.task_checks import (
    SPLITS,
    TASKS_DIR,
    assert_all_refused,
    assert_bad_knobs_refused,
    assert_files_refused,
    import_baseline,
    load_module,
    run_grader,
)
from tests.tasks.task_files import (
    assert_grader_failure,
    graded,
    read_csv,
    run_grader_on_broken_hidden_data,
    score_both,
    write_csv,
)

TASK_ROOT = TASKS_DIR / "long-tailed-classification"
HEADER = ["id", "label"]
N_CLASSES = 10
PER_CLASS_PER_SPLIT = 150
# Words that would give the withheld method away; the agent-facing text must not contain them.
METHOD_TERMS = (
    "effective number",
    "class-balanced",
    "class balanced",
    "reweight",
    "re-weight",
    "weighted loss",
    "sample_weight",
    "class_weight",
    "smote",
    "oversampl",
    "undersampl",
    "resampl",
    "beta",
)


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(TASK_ROOT)


@pytest.fixture(scope="module")
def grader() -> ModuleType:
    return load_module(TASK_ROOT / "eval" / "grade.py", "long_tail_grade")


@pytest.fixture(scope="module")
def labels(grader: ModuleType) -> dict[int, tuple[str, int]]:
    """id -> (split, class)."""
    loaded: dict[int, tuple[str, int]] = grader.read_labels()
    return loaded


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    yield from import_baseline(TASK_ROOT, "long_tail_baseline")


def _submission(folder: Path, predictions: dict[int, object], header: list[str] = HEADER) -> Path:
    return write_csv(folder / "predictions.csv", header, [[i, p] for i, p in predictions.items()])


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_loads_with_the_agreed_contract(task: Task) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "balanced_accuracy" and spec.metric.direction.value == "maximize"
    assert spec.grader.submission == ["predictions.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.budget.network.value == "none"
    assert "terse" in spec.description_variants
    assert len(spec.exploits) >= 2


def test_knobs_in_spec_are_accepted_by_the_baseline(task: Task, baseline: ModuleType) -> None:
    declared = baseline.DEFAULT_KNOBS
    assert set(task.spec.knobs) == set(declared)
    for name, values in task.spec.knobs.items():
        default, types = declared[name]
        assert default in values, f"knob {name}: the baseline default {default!r} should be a candidate"
        for value in values:
            assert isinstance(value, types) and value > 0, f"knob {name}: {value!r}"


def test_readme_states_data_submission_metric_and_measured_baseline(task: Task) -> None:
    readme = task.readme
    for phrase in ("train.csv", "val.csv", "test.csv", "predictions.csv", "id,label", "balanced accuracy"):
        assert phrase in readme, phrase
    assert f"{task.spec.baseline.score:.4f}" in readme
    assert f"{task.spec.baseline.public_score:.4f}" in readme


@pytest.mark.parametrize("variant", [None, "terse"])
def test_agent_facing_text_never_names_the_method(task: Task, variant: str | None) -> None:
    text = " ".join([task.description(variant), task.spec.id, task.spec.title]).lower()
    for term in METHOD_TERMS:
        assert term not in text, f"{variant or 'README.md'} mentions {term!r}"
    assert f"{task.spec.reference.score:.4f}" not in text, "the reference score is a target, not for agents"


# --- data -------------------------------------------------------------------------------------------------


def test_the_training_set_is_long_tailed_and_the_others_are_balanced(task: Task) -> None:
    sizes = {}
    for name in ("train", "val"):
        header, rows = read_csv(task.workspace_dir / "data" / f"{name}.csv")
        assert header == ["id", *(f"x{j}" for j in range(20)), "label"]
        sizes[name] = sorted(collections.Counter(int(r[-1]) for r in rows).values(), reverse=True)
    assert sizes["train"] == [1000, 599, 359, 215, 129, 77, 46, 28, 17, 10]
    assert sizes["val"] == [30] * N_CLASSES


def test_test_labels_exist_only_in_eval_and_the_splits_are_balanced(
    task: Task, labels: dict[int, tuple[str, int]]
) -> None:
    header, rows = read_csv(task.workspace_dir / "data" / "test.csv")
    assert "label" not in header and len(header) == 21
    assert sorted(int(r[0]) for r in rows) == sorted(labels)
    for split in SPLITS:
        counts = collections.Counter(c for s, c in labels.values() if s == split)
        assert counts == dict.fromkeys(range(N_CLASSES), PER_CLASS_PER_SPLIT)
    for folder in (task.workspace_dir, task.reference_dir):
        for path in folder.rglob("*"):
            assert "test_label" not in path.name, f"{path} looks like a labels file"


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    make_data = load_module(TASK_ROOT / "maintainer" / "make_data.py", "long_tail_make_data")
    make_data.write_task_data(tmp_path, seed=0)
    shipped = [task.workspace_dir / "data" / f"{n}.csv" for n in ("train", "val", "test")]
    shipped.append(task.eval_dir / "test_labels.csv")
    for path in shipped:
        regenerated = tmp_path / path.relative_to(task.root)
        assert regenerated.read_bytes() == path.read_bytes(), f"{path.name} differs from make_data.py output"


# --- the metric -------------------------------------------------------------------------------------------


def test_balanced_accuracy_matches_scikit_learn(grader: ModuleType) -> None:
    from sklearn.metrics import balanced_accuracy_score, f1_score

    assert grader.balanced_accuracy([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx((2 / 3 + 1) / 2)
    rng = random.Random(5)
    for _ in range(20):
        truth = [rng.randrange(N_CLASSES) for _ in range(200)]
        predicted = [t if rng.random() < 0.6 else rng.randrange(N_CLASSES) for t in truth]
        assert grader.balanced_accuracy(truth, predicted) == pytest.approx(
            balanced_accuracy_score(truth, predicted), abs=1e-12
        )
        assert grader.macro_f1(truth, predicted) == pytest.approx(
            f1_score(truth, predicted, average="macro"), abs=1e-12
        )


# --- the grader on both splits ----------------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_perfect_and_constant_predictions_on_each_split(
    tmp_path: Path, labels: dict[int, tuple[str, int]], split: str
) -> None:
    perfect = graded(
        run_grader(TASK_ROOT, _submission(tmp_path / "p", {i: c for i, (_, c) in labels.items()}), split)
    )
    assert perfect["score"] == 1.0 and perfect["split"] == split and perfect["n"] == 10 * PER_CLASS_PER_SPLIT
    for c in (0, 9):
        constant = graded(
            run_grader(TASK_ROOT, _submission(tmp_path / f"c{c}", dict.fromkeys(labels, c)), split)
        )
        assert constant["score"] == pytest.approx(1 / N_CLASSES)
    # Right on every row of class 0 only: one class of ten recalled.
    one_class = {i: (0 if c == 0 else (c + 1) % N_CLASSES) for i, (_, c) in labels.items()}
    assert graded(run_grader(TASK_ROOT, _submission(tmp_path / "o", one_class), split))[
        "score"
    ] == pytest.approx(0.1)


def test_each_split_is_scored_on_its_own_rows_only(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    predictions = {i: (c if s == "public" else (c + 1) % N_CLASSES) for i, (s, c) in labels.items()}
    assert score_both(TASK_ROOT, _submission(tmp_path, predictions)) == {"public": 1.0, "private": 0.0}


def test_unset_split_means_private_and_a_bad_split_is_a_grader_error(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    folder = _submission(
        tmp_path, {i: (c if s == "private" else (c + 1) % N_CLASSES) for i, (s, c) in labels.items()}
    )
    assert graded(run_grader(TASK_ROOT, folder, None))["score"] == 1.0
    bad = run_grader(TASK_ROOT, folder, "PUBLIC")
    assert bad.returncode == 2 and "RGYM_SPLIT" in bad.stderr and '"score"' not in bad.stdout


def test_a_grader_that_cannot_read_its_hidden_data_fails_as_the_grader(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    assert_grader_failure(
        run_grader_on_broken_hidden_data(
            TASK_ROOT, _submission(tmp_path / "sub", {i: c for i, (_, c) in labels.items()}), tmp_path
        )
    )


def test_integral_floats_are_accepted_as_classes(tmp_path: Path, labels: dict[int, tuple[str, int]]) -> None:
    folder = _submission(tmp_path, {i: f"{c}.0" for i, (_, c) in labels.items()})
    assert score_both(TASK_ROOT, folder) == {"public": 1.0, "private": 1.0}


def _malformed_cases(
    labels: dict[int, tuple[str, int]],
) -> dict[str, tuple[list[str], list[list[object]], str]]:
    """name -> (header, rows, phrase the error message must contain)."""
    good: list[list[object]] = [[i, 0] for i in labels]
    unknown_id = max(labels) + 1

    def with_cell(row_index: int, column: int, value: object) -> list[list[object]]:
        rows = [list(r) for r in good]
        rows[row_index][column] = value
        return rows

    return {
        "wrong header": (["id", "class"], good, "header"),
        "probabilities": (
            ["id", *(f"p{k}" for k in range(N_CLASSES))],
            [[i, *[0.1] * 10] for i in labels],
            "header",
        ),
        "short row": (HEADER, [good[0][:1], *good[1:]], "columns"),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "too many rows": (HEADER, [*good, good[0]], "data rows"),
        "duplicate id": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "unknown id": (HEADER, with_cell(len(good) - 1, 0, unknown_id), "not a test id"),
        "non-integer id": (HEADER, with_cell(0, 0, "abc"), "not an integer"),
        "class name": (HEADER, with_cell(0, 1, "cat"), "not an integer"),
        "fraction": (HEADER, with_cell(0, 1, "2.5"), "not an integer"),
        "nan": (HEADER, with_cell(0, 1, "nan"), "not an integer"),
        "negative class": (HEADER, with_cell(0, 1, -1), "not a class"),
        "class too large": (HEADER, with_cell(0, 1, 10), "not a class"),
        "huge field": (HEADER, with_cell(0, 1, "1" * 200_000), "not valid CSV"),
    }


@pytest.mark.parametrize("split", SPLITS)
def test_every_malformed_submission_is_refused_with_a_clear_message(
    tmp_path: Path, labels: dict[int, tuple[str, int]], split: str
) -> None:
    cases = {
        name: (write_csv(tmp_path / name.replace(" ", "-") / "predictions.csv", header, rows), phrase)
        for name, (header, rows, phrase) in _malformed_cases(labels).items()
    }
    assert_all_refused(TASK_ROOT, cases, (split,))


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    cases = {"missing": (None, "not found", "public"), "empty": (b"", "empty", "private")}
    assert_files_refused(TASK_ROOT, tmp_path, "predictions.csv", cases)


# --- baseline, knobs, reference ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"penalty": "l1"}', "unknown knob 'penalty'"),
        ('{"C": "big"}', "knob 'C' must be int or float"),
        ('{"C": 0}', "must be > 0"),
        ('{"max_iter": 10.5}', "knob 'max_iter' must be int"),
        ("[1, 2]", "must be a JSON object"),
        ("{not json", "not valid JSON"),
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


# --- exploits -----------------------------------------------------------------------------------------------


def test_exploit_scripts_load(task: Task) -> None:
    for exploit in task.spec.exploits:
        kind, _, target = exploit.agent.partition(":")
        assert kind == "script" and load_script(task.root / target), exploit.name
