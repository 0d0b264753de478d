"""The calibration-temperature-scaling task: spec, README, data hygiene, grader, baseline and reference.

Plain host Python (no Docker): the grader and the baseline run with this interpreter in temporary copies of
the task's folders, the way `rgym tasks verify` runs them in sandboxes.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gym_core.tasks.loader import Task, load_task

TASK_ROOT = Path(__file__).resolve().parents[2] / "tasks" / "calibration-temperature-scaling"
N_CLASSES = 10
HEADER = ["id", *(f"p{k}" for k in range(N_CLASSES))]
# Words that would give the withheld method away; the agent-facing text must not contain them.
METHOD_TERMS = (
    "temperature",
    "platt",
    "isotonic",
    "histogram binning",
    "logit",
    "vector scaling",
    "matrix scaling",
)
NOISY_PARAGRAPH_START = "A note from the previous owner of this project"


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # No __pycache__ inside the task folder: workspace/ is copied verbatim to agents.
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(TASK_ROOT)


@pytest.fixture(scope="module")
def grader() -> ModuleType:
    return _load_module(TASK_ROOT / "eval" / "grade.py", "calibration_grade")


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    # baseline.py pins BLAS threads through os.environ at import; keep that out of the other tests.
    saved = dict(os.environ)
    try:
        yield _load_module(TASK_ROOT / "workspace" / "baseline.py", "calibration_baseline")
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def test_labels(grader: ModuleType) -> dict[int, int]:
    labels: dict[int, int] = grader.read_labels()
    return labels


def _write_submission(folder: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def _run_grader(submission: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TASK_ROOT / "eval" / "grade.py"), str(submission)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _score(result: subprocess.CompletedProcess[str]) -> dict[str, float]:
    assert result.returncode == 0, result.stderr
    parsed: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _one_hot_rows(labels: dict[int, int], confidence: float) -> list[list[object]]:
    """Rows predicting the true label with ``confidence``: accuracy 1."""
    rest = (1 - confidence) / (N_CLASSES - 1)
    return [[i, *(confidence if k == y else rest for k in range(N_CLASSES))] for i, y in labels.items()]


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_loads_with_the_agreed_contract(task: Task) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "ece" and spec.metric.direction.value == "minimize"
    assert spec.grader.submission == ["predictions.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.baseline.command == "python baseline.py"
    assert spec.budget.network.value == "none"
    assert {"terse", "noisy"} <= set(spec.description_variants)


def test_knobs_in_spec_are_accepted_by_the_baseline(task: Task, baseline: ModuleType) -> None:
    declared: dict[str, tuple[object, tuple[type, ...]]] = baseline.DEFAULT_KNOBS
    assert set(task.spec.knobs) <= set(declared)
    for name, values in task.spec.knobs.items():
        default, types = declared[name]
        assert default in values, f"knob {name}: the baseline default {default!r} should be a candidate"
        for value in values:
            assert isinstance(value, types), f"knob {name}: {value!r} is not {types}"


def test_readme_states_paper_data_metric_and_measured_baseline(task: Task) -> None:
    readme = task.readme
    assert task.spec.paper.title in readme
    assert "expected calibration error" in readme.lower() and "15" in readme
    assert "predictions.csv" in readme and ",".join(HEADER) in readme
    assert f"{task.spec.baseline.score:.4f}" in readme
    for name in ("train.csv", "val.csv", "test.csv"):
        assert name in readme


@pytest.mark.parametrize("variant", [None, "terse", "noisy"])
def test_agent_facing_text_never_names_the_method(task: Task, variant: str | None) -> None:
    text = task.description(variant).lower()
    for term in METHOD_TERMS:
        assert term not in text, f"{variant or 'README.md'} mentions {term!r}"
    assert f"{task.spec.reference.score:.4f}" not in text, "the reference score is a target, not for agents"


def test_noisy_variant_is_the_readme_plus_one_distracting_paragraph(task: Task) -> None:
    noisy = task.description("noisy")
    start = noisy.index(NOISY_PARAGRAPH_START)
    end = noisy.index("\n\n", start) + 2
    assert noisy[:start] + noisy[end:] == task.readme, "regenerate the noisy variant from README.md"


# --- data hygiene -------------------------------------------------------------------------------------


def test_test_labels_exist_only_in_eval(task: Task, test_labels: dict[int, int]) -> None:
    with (task.workspace_dir / "data" / "test.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        ids = [int(row[0]) for row in reader]
    assert "label" not in header and len(header) == 65
    assert sorted(ids) == sorted(test_labels)
    label_string = "".join(str(test_labels[i]) for i in sorted(test_labels))
    for folder in (task.workspace_dir, task.reference_dir):
        for path in folder.rglob("*"):
            assert "label" not in path.name, f"{path} looks like a labels file"
            if path.is_file():
                assert label_string not in path.read_text(errors="replace").replace(",", "").replace("\n", "")


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    make_data = _load_module(TASK_ROOT / "maintainer" / "make_data.py", "calibration_make_data")
    make_data.write_task_data(tmp_path, seed=0)
    shipped = [task.workspace_dir / "data" / f"{n}.csv" for n in ("train", "val", "test")]
    shipped.append(task.eval_dir / "test_labels.csv")
    for path in shipped:
        regenerated = tmp_path / path.relative_to(task.root)
        assert regenerated.read_bytes() == path.read_bytes(), f"{path.name} differs from make_data.py output"


# --- ECE ----------------------------------------------------------------------------------------------


def test_ece_matches_a_hand_computed_example(grader: ModuleType) -> None:
    # Bins of width 1/15: 0.95 -> (14/15, 1], 0.5 -> (7/15, 8/15], 0.3 -> (4/15, 5/15].
    # (2/4)|0.5 - 0.95| + (1/4)|1 - 0.5| + (1/4)|0 - 0.3| = 0.225 + 0.125 + 0.075
    ece = grader.expected_calibration_error([0.95, 0.95, 0.5, 0.3], [True, False, True, False])
    assert ece == pytest.approx(0.425, abs=1e-12)
    assert grader.expected_calibration_error([0.8] * 5, [True, True, True, True, False]) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("confidence", "expected_bin"), [(1.0, 14), (0.2, 2), (0.2000001, 3), (1 / 15, 0), (0.1, 1), (0.0, 0)]
)
def test_bins_are_right_closed(grader: ModuleType, confidence: float, expected_bin: int) -> None:
    assert grader.bin_index(confidence) == expected_bin


def test_calibrated_submission_beats_an_overconfident_one(
    tmp_path: Path, test_labels: dict[int, int]
) -> None:
    rng = random.Random(0)
    calibrated, overconfident = [], []
    for i, y in test_labels.items():
        confidence = rng.uniform(0.6, 1.0)
        # Right with probability equal to the stated confidence: calibrated by construction.
        predicted = y if rng.random() < confidence else (y + rng.randrange(1, N_CLASSES)) % N_CLASSES
        for rows, conf in ((calibrated, confidence), (overconfident, 0.999)):
            rest = (1 - conf) / (N_CLASSES - 1)
            rows.append([i, *(conf if k == predicted else rest for k in range(N_CLASSES))])
    good = _score(_run_grader(_write_submission(tmp_path / "good", calibrated)))
    bad = _score(_run_grader(_write_submission(tmp_path / "bad", overconfident)))
    assert good["accuracy"] == bad["accuracy"] >= 0.6
    assert good["score"] < 0.1 < bad["score"]
    assert bad["score"] == pytest.approx(0.999 - bad["accuracy"], abs=1e-6)  # one bin holds everything
    assert good["n"] == len(test_labels)


def test_rows_are_renormalised_before_scoring(tmp_path: Path, test_labels: dict[int, int]) -> None:
    exact = _score(_run_grader(_write_submission(tmp_path / "exact", _one_hot_rows(test_labels, 0.9))))
    inflated_rows = [
        [row[0], *(float(p) * 1.0009 for p in row[1:])] for row in _one_hot_rows(test_labels, 0.9)
    ]
    inflated = _score(_run_grader(_write_submission(tmp_path / "inflated", inflated_rows)))
    assert inflated["score"] == pytest.approx(exact["score"], abs=1e-6)


# --- invalid submissions ------------------------------------------------------------------------------


def _malformed_cases(labels: dict[int, int]) -> dict[str, tuple[list[str], list[list[object]], str]]:
    """name -> (header, rows, phrase the error message must contain)."""
    good = _one_hot_rows(labels, 0.9)
    unknown_id = max(labels) + 1

    def with_cell(row_index: int, column: int, value: object) -> list[list[object]]:
        rows = [list(r) for r in good]
        rows[row_index][column] = value
        return rows

    return {
        "wrong columns": (["id", *(f"q{k}" for k in range(N_CLASSES))], good, "header"),
        "missing column": (HEADER[:-1], [r[:-1] for r in good], "header"),
        "short row": (HEADER, [good[0][:-1], *good[1:]], "columns"),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "too many rows": (HEADER, [*good, good[0]], "data rows"),
        "duplicate id": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "unknown id": (HEADER, with_cell(len(good) - 1, 0, unknown_id), "not a test id"),
        "non-integer id": (HEADER, with_cell(0, 0, "abc"), "not an integer"),
        "non-numeric": (HEADER, with_cell(0, 1, "high"), "not a number"),
        "nan": (HEADER, with_cell(0, 1, "nan"), "not finite"),
        "inf": (HEADER, with_cell(0, 1, "inf"), "not finite"),
        "negative": (HEADER, with_cell(0, 2, -0.01), "negative"),
        "does not sum to 1": (HEADER, with_cell(0, 1, 0.5), "sum to"),
        "huge field": (HEADER, with_cell(0, 1, "1" * 200_000), "not valid CSV"),
        "uniform (degenerate)": (HEADER, [[i, *([0.1] * N_CLASSES)] for i in labels], "accuracy"),
    }


def _assert_refused(result: subprocess.CompletedProcess[str], phrase: str) -> None:
    assert result.returncode != 0
    message = result.stderr.strip()
    assert message.startswith("invalid submission:") and phrase in message, message
    assert len(message.splitlines()) == 1, "one clear line, no traceback"
    for line in result.stdout.splitlines():
        assert '"score"' not in line, "an invalid submission must not print a score"


def test_every_malformed_submission_is_refused_with_a_clear_message(
    tmp_path: Path, test_labels: dict[int, int]
) -> None:
    for name, (header, rows, phrase) in _malformed_cases(test_labels).items():
        folder = _write_submission(tmp_path / name.replace(" ", "-"), rows, header)
        result = _run_grader(folder)
        try:
            _assert_refused(result, phrase)
        except AssertionError as exc:
            raise AssertionError(f"case {name!r}: {exc}") from None


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    missing.mkdir()
    _assert_refused(_run_grader(missing), "not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "predictions.csv").write_bytes(b"")
    _assert_refused(_run_grader(empty), "empty")
    header_only = _write_submission(tmp_path / "header-only", [])
    _assert_refused(_run_grader(header_only), "data rows")


# --- baseline and reference ---------------------------------------------------------------------------


def _workspace_copy(task: Task, dest: Path, *, reference: bool) -> Path:
    shutil.copytree(task.workspace_dir, dest)
    if reference:
        shutil.copytree(task.reference_dir, dest, dirs_exist_ok=True)
    return dest


def _run_baseline(workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "baseline.py"], cwd=workspace, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"hidden": 64}', "unknown knob 'hidden'"),
        ('{"alpha": true}', "knob 'alpha' must be int or float"),
        ('{"max_iter": 1.5}', "knob 'max_iter' must be int"),
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
    knobs_file = tmp_path / "knobs.json"
    knobs_file.write_text(content)
    monkeypatch.setattr(baseline, "KNOBS_FILE", knobs_file)
    with pytest.raises(SystemExit) as exit_info:
        baseline.read_knobs()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1, err


def test_knobs_override_the_defaults(
    baseline: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(baseline, "KNOBS_FILE", tmp_path / "absent.json")
    defaults = baseline.read_knobs()
    assert defaults == {
        "hidden_units": 256,
        "alpha": 0.0,
        "max_iter": 1000,
        "early_stopping": False,
        "learning_rate_init": 0.001,
    }
    (tmp_path / "knobs.json").write_text('{"alpha": 0.01, "early_stopping": true}')
    monkeypatch.setattr(baseline, "KNOBS_FILE", tmp_path / "knobs.json")
    assert baseline.read_knobs() == {**defaults, "alpha": 0.01, "early_stopping": True}


def _reproduce(task: Task, tmp_path: Path, *, reference: bool) -> dict[str, float]:
    workspace = _workspace_copy(task, tmp_path / "workspace", reference=reference)
    before = {p.relative_to(workspace) for p in workspace.rglob("*")}
    run = _run_baseline(workspace)
    assert run.returncode == 0, run.stderr
    written = {p.relative_to(workspace) for p in workspace.rglob("*")} - before
    assert {p for p in written if "__pycache__" not in p.parts} == {Path("predictions.csv")}
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(workspace / "predictions.csv", submission / "predictions.csv")
    return _score(_run_grader(submission))


@pytest.fixture(scope="module")
def baseline_result(task: Task, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """The baseline's graded result, computed once for the tests that need it."""
    return _reproduce(task, tmp_path_factory.mktemp("baseline"), reference=False)


@pytest.mark.slow
def test_baseline_reproduces_its_score(task: Task, baseline_result: dict[str, float]) -> None:
    expected = task.spec.baseline.score
    assert math.isclose(baseline_result["score"], expected, rel_tol=task.spec.baseline.tolerance), (
        baseline_result
    )


@pytest.mark.slow
def test_reference_reproduces_its_score_at_the_baselines_accuracy(
    task: Task, tmp_path: Path, baseline_result: dict[str, float]
) -> None:
    got = _reproduce(task, tmp_path, reference=True)
    assert math.isclose(got["score"], task.spec.reference.score, rel_tol=task.spec.baseline.tolerance), got
    assert got["accuracy"] == baseline_result["accuracy"], "the reference only changes confidences"
