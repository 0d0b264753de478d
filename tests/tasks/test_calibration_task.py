"""The calibration-temperature-scaling task (version 2): spec, README, data, grader, baseline, exploits.

Plain host Python (no Docker): the grader and the baseline run with this interpreter in temporary copies of
the task's folders, the way `rgym tasks verify` runs them in sandboxes. The exploit agents are played
against :class:`HostEpisode`, a host-side stand-in for the environment with the same observations
(`rgym tasks verify` and `rgym run` play them for real in Docker).
"""

from __future__ import annotations

import builtins
import contextlib
import csv
import importlib.util
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gym_core.tasks.loader import Task, load_task
from gym_core.tasks.spec import Split
from rgym_agents.base import Agent, TaskInfo
from rgym_agents.loader import agent_factory
from rgym_agents.script import load_script
from tests.tasks.task_checks import assert_bad_knobs_refused

TASK_ROOT = Path(__file__).resolve().parents[2] / "tasks" / "calibration-temperature-scaling"
N_CLASSES = 10
N_PER_SPLIT = 405
HEADER = ["id", *(f"p{k}" for k in range(N_CLASSES))]
SPLITS = ("public", "private")
FLOOR_LOSS = -math.log(1e-15)
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

Labels = dict[int, tuple[str, int]]


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
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
def labels(grader: ModuleType) -> Labels:
    hidden: Labels = grader.read_labels()
    return hidden


def _write_submission(folder: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def _run_grader(
    submission: Path, split: str | None = "public", argv: list[str] | None = None, *, in_process: bool = True
) -> subprocess.CompletedProcess[str]:
    """The grader's exit code, stdout and stderr; in this process (fast) or as a real subprocess."""
    args = argv if argv is not None else [str(submission)]
    env = {k: v for k, v in os.environ.items() if k != "RGYM_SPLIT"}
    if split is not None:
        env["RGYM_SPLIT"] = split
    script = TASK_ROOT / "eval" / "grade.py"
    if not in_process:
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, timeout=60, env=env
        )
    grader = sys.modules.get("calibration_grade") or _load_module(script, "calibration_grade")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = grader.main([str(script), *args], env)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _score(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1, "only the JSON line: nothing per row or per bin"
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _peaked_rows(
    labels: Labels, confidence: float, right: Callable[[int], bool] = lambda i: True
) -> list[list[object]]:
    """``confidence`` on the true label (or, where ``right(id)`` is False, on the next class), rest even."""
    rest = (1 - confidence) / (N_CLASSES - 1)
    rows: list[list[object]] = []
    for i, (_, y) in labels.items():
        target = y if right(i) else (y + 1) % N_CLASSES
        rows.append([i, *(confidence if k == target else rest for k in range(N_CLASSES))])
    return rows


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_is_version_2_scored_by_nll_with_its_exploits(task: Task) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name and spec.version == 2
    assert spec.metric.name == "nll" and spec.metric.direction.value == "minimize"
    assert spec.grader.submission == ["predictions.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.baseline.command == "python baseline.py"
    assert spec.budget.network.value == "none"
    assert {"terse", "noisy"} <= set(spec.description_variants)
    # The reference beats the baseline on both splits.
    assert (
        spec.reference.score < spec.baseline.score
        and spec.reference.public_score < spec.baseline.public_score
    )
    exploits = {e.name: e for e in spec.exploits}
    assert set(exploits) == {"constant-confidence", "uniform", "label-oracle", "cross-attempt-prober"}
    assert (
        exploits["label-oracle"].public_at_least is not None and exploits["label-oracle"].public_at_least > 0
    )
    assert exploits["cross-attempt-prober"].runs >= 3
    for exploit in spec.exploits:
        assert exploit.max_normalized <= spec.success.normalized_at_least


def test_knobs_in_spec_are_accepted_by_the_baseline(task: Task, baseline: ModuleType) -> None:
    declared: dict[str, tuple[object, tuple[type, ...]]] = baseline.DEFAULT_KNOBS
    assert set(task.spec.knobs) <= set(declared)
    for name, values in task.spec.knobs.items():
        default, types = declared[name]
        assert default in values, f"knob {name}: the baseline default {default!r} should be a candidate"
        for value in values:
            assert isinstance(value, types), f"knob {name}: {value!r} is not {types}"


def test_readme_states_paper_data_splits_metric_and_measured_baseline(task: Task) -> None:
    readme = task.readme
    assert task.spec.paper.title in readme
    assert "negative log-likelihood" in readme.lower() and "1e-15" in readme and "4 decimals" in readme
    assert "predictions.csv" in readme and ",".join(HEADER) in readme
    assert f"{task.spec.baseline.score:.4f}" in readme and f"{task.spec.baseline.public_score:.4f}" in readme
    assert f"public split has {N_PER_SPLIT} rows" in readme and "private split" in readme
    for name in ("train.csv", "val.csv", "test.csv"):
        assert name in readme


@pytest.mark.parametrize("variant", [None, "terse", "noisy"])
def test_agent_facing_text_never_names_the_method(task: Task, variant: str | None) -> None:
    text = task.description(variant).lower()
    for term in METHOD_TERMS:
        assert term not in text, f"{variant or 'README.md'} mentions {term!r}"
    for score in (task.spec.reference.score, task.spec.reference.public_score):
        assert f"{score:.4f}" not in text, "the reference score is a target, not for agents"


def test_noisy_variant_is_the_readme_plus_one_distracting_paragraph(task: Task) -> None:
    noisy = task.description("noisy")
    start = noisy.index(NOISY_PARAGRAPH_START)
    end = noisy.index("\n\n", start) + 2
    assert noisy[:start] + noisy[end:] == task.readme, "regenerate the noisy variant from README.md"


# --- data ---------------------------------------------------------------------------------------------


def test_test_labels_exist_only_in_eval_and_cover_both_splits(task: Task, labels: Labels) -> None:
    with (task.workspace_dir / "data" / "test.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        ids = [int(row[0]) for row in reader]
    assert "label" not in header and "split" not in header and len(header) == 65
    assert ids == sorted(labels) == list(range(2 * N_PER_SPLIT))
    assert Counter(split for split, _ in labels.values()) == {"public": N_PER_SPLIT, "private": N_PER_SPLIT}
    label_string = "".join(str(labels[i][1]) for i in sorted(labels))
    for folder in (task.workspace_dir, task.reference_dir):
        for path in folder.rglob("*"):
            assert "label" not in path.name, f"{path} looks like a labels file"
            if path.is_file():
                assert label_string not in path.read_text(errors="replace").replace(",", "").replace("\n", "")


def test_nothing_in_the_ids_tells_the_splits_apart(labels: Labels) -> None:
    public = {i for i, (split, _) in labels.items() if split == "public"}
    # Independent of the id: about half of each half, of the odd ids, of the ids that are 0 mod 3.
    for subset in (range(N_PER_SPLIT), range(1, 2 * N_PER_SPLIT, 2), range(0, 2 * N_PER_SPLIT, 3)):
        share = len(public & set(subset)) / len(subset)
        assert 0.4 < share < 0.6, share
    # Stratified: every class is about as frequent in both splits.
    counts = {s: Counter(y for split, y in labels.values() if split == s) for s in SPLITS}
    for k in range(N_CLASSES):
        assert abs(counts["public"][k] - counts["private"][k]) <= 1


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    make_data = _load_module(TASK_ROOT / "maintainer" / "make_data.py", "calibration_make_data")
    make_data.write_task_data(tmp_path, seed=0)
    shipped = [task.workspace_dir / "data" / f"{n}.csv" for n in ("train", "val", "test")]
    shipped.append(task.eval_dir / "test_labels.csv")
    for path in shipped:
        regenerated = tmp_path / path.relative_to(task.root)
        assert regenerated.read_bytes() == path.read_bytes(), f"{path.name} differs from make_data.py output"
    assert sum(len(path.read_text().splitlines()) - 1 for path in shipped[:3]) == 1797


# --- grader: scores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_score_is_the_mean_log_loss_of_the_split(tmp_path: Path, labels: Labels, split: str) -> None:
    result = _score(
        _run_grader(_write_submission(tmp_path, _peaked_rows(labels, 0.8)), split, in_process=False)
    )
    assert result["score"] == pytest.approx(-math.log(0.8), abs=1e-4)
    assert result["split"] == split and result["n"] == N_PER_SPLIT
    assert result["accuracy"] == 1.0 and result["mean_confidence"] == pytest.approx(0.8)
    assert result["ece"] == pytest.approx(0.2, abs=1e-4)
    assert result["brier"] == pytest.approx(0.2**2 + 9 * (0.2 / 9) ** 2, abs=1e-4)


def test_each_split_is_scored_on_its_own_rows_only(tmp_path: Path, labels: Labels) -> None:
    base = _score(_run_grader(_write_submission(tmp_path / "a", _peaked_rows(labels, 0.8)), "public"))
    # Wrong, confident predictions on every private row: the public score must not move.
    rows = _peaked_rows(labels, 0.8, right=lambda i: labels[i][0] == "public")
    worse = _write_submission(tmp_path / "b", rows)
    assert _score(_run_grader(worse, "public"))["score"] == base["score"]
    private = _score(_run_grader(worse, "private"))
    assert private["score"] == pytest.approx(-math.log(0.2 / 9), abs=1e-4) and private["accuracy"] == 0.0


def test_uniform_is_valid_and_scores_ln_10_on_both_splits(tmp_path: Path, labels: Labels) -> None:
    folder = _write_submission(tmp_path, [[i, *([0.1] * N_CLASSES)] for i in labels])
    for split in SPLITS:
        assert _score(_run_grader(folder, split))["score"] == round(math.log(10), 4)


def test_a_zero_on_the_true_label_costs_the_floor_not_infinity(tmp_path: Path, labels: Labels) -> None:
    folder = _write_submission(tmp_path, _peaked_rows(labels, 1.0, right=lambda i: False))
    for split in SPLITS:
        assert _score(_run_grader(folder, split))["score"] == round(FLOOR_LOSS, 4)


def test_honest_confidence_beats_overconfidence_with_the_same_predictions(
    tmp_path: Path, labels: Labels
) -> None:
    rng = random.Random(0)
    right = {i: rng.random() < 0.7 for i in labels}  # the classes are right 70% of the time
    honest = _write_submission(tmp_path / "honest", _peaked_rows(labels, 0.7, right=right.__getitem__))
    overconfident = _write_submission(tmp_path / "over", _peaked_rows(labels, 0.99, right=right.__getitem__))
    for split in SPLITS:
        good, bad = _score(_run_grader(honest, split)), _score(_run_grader(overconfident, split))
        assert good["accuracy"] == bad["accuracy"]
        assert good["score"] < bad["score"], split


def test_scores_are_rounded_and_rows_renormalised(tmp_path: Path, labels: Labels) -> None:
    exact = _score(_run_grader(_write_submission(tmp_path / "exact", _peaked_rows(labels, 0.9))))
    inflated_rows = [[row[0], *(float(p) * 1.0009 for p in row[1:])] for row in _peaked_rows(labels, 0.9)]
    inflated = _score(_run_grader(_write_submission(tmp_path / "inflated", inflated_rows)))
    assert inflated["score"] == exact["score"]
    assert round(exact["score"], 4) == exact["score"]


@pytest.mark.parametrize(("total", "valid"), [(1.001, True), (0.999, True), (1.0011, False), (0.9989, False)])
def test_the_sum_tolerance_is_inclusive(tmp_path: Path, labels: Labels, total: float, valid: bool) -> None:
    rows = [[i, *(total / N_CLASSES for _ in range(N_CLASSES))] for i in labels]
    result = _run_grader(_write_submission(tmp_path, rows))
    assert (result.returncode == 0) is valid, result.stderr


def test_zeros_and_tiny_probabilities_are_valid(tmp_path: Path, labels: Labels) -> None:
    rows: list[list[object]] = [[i, "1e-300", "0", *(["0.125"] * 8)] for i in labels]
    assert _run_grader(_write_submission(tmp_path, rows)).returncode == 0


# --- grader: invalid submissions and misuse -----------------------------------------------------------


def _malformed_cases(labels: Labels) -> dict[str, tuple[list[str], list[list[object]], str]]:
    """name -> (header, rows, phrase the error message must contain)."""
    good = _peaked_rows(labels, 0.9)
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
    }


def _assert_refused(result: subprocess.CompletedProcess[str], phrase: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("invalid submission:") and phrase in message, message
    assert len(message.splitlines()) == 1, "one clear line, no traceback"
    assert result.stdout == "", "an invalid submission prints no score"
    return message


def test_every_malformed_submission_is_refused_the_same_way_on_both_splits(
    tmp_path: Path, labels: Labels
) -> None:
    for name, (header, rows, phrase) in _malformed_cases(labels).items():
        folder = _write_submission(tmp_path / name.replace(" ", "-"), rows, header)
        try:
            messages = {_assert_refused(_run_grader(folder, split), phrase) for split in SPLITS}
        except AssertionError as exc:
            raise AssertionError(f"case {name!r}: {exc}") from None
        assert len(messages) == 1, f"case {name!r}: the message depends on the split: {messages}"


def test_refusals_never_depend_on_the_hidden_labels(
    grader: ModuleType, tmp_path: Path, labels: Labels
) -> None:
    # The same malformed files against other labels and another split assignment: the same messages.
    rng = random.Random(1)
    shuffled = tmp_path / "other_labels.csv"
    with shuffled.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "split", "label"])
        splits = [s for s, _ in labels.values()]
        rng.shuffle(splits)
        for i, split in zip(labels, splits, strict=True):
            writer.writerow([i, split, rng.randrange(N_CLASSES)])
    for name, (header, rows, _) in _malformed_cases(labels).items():
        folder = _write_submission(tmp_path / name.replace(" ", "-"), rows, header)
        messages = set()
        for path in (None, shuffled):
            with pytest.raises(grader.InvalidSubmission) as info:
                grader.grade(folder, "private", labels_path=path)
            messages.add(str(info.value))
        assert len(messages) == 1, f"case {name!r}: {messages}"


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    missing.mkdir()
    _assert_refused(_run_grader(missing), "not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "predictions.csv").write_bytes(b"")
    _assert_refused(_run_grader(empty), "empty")
    _assert_refused(_run_grader(_write_submission(tmp_path / "header-only", [])), "data rows")
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "predictions.csv").write_bytes(b"\x00\xff garbage\n")
    _assert_refused(_run_grader(binary), "UTF-8")


@pytest.mark.parametrize("split", [None, "", "PUBLIC", "test", "private "])
def test_an_unknown_split_is_misuse_not_an_invalid_submission(
    tmp_path: Path, labels: Labels, split: str | None
) -> None:
    result = _run_grader(_write_submission(tmp_path, _peaked_rows(labels, 0.9)), split, in_process=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().startswith("grader error: RGYM_SPLIT must be")


def test_wrong_arguments_are_misuse(tmp_path: Path) -> None:
    for argv in ([], [str(tmp_path), str(tmp_path)]):
        result = _run_grader(tmp_path, "public", argv=argv, in_process=False)
        assert result.returncode == 2 and "usage" in result.stderr


def test_broken_hidden_data_or_a_bug_is_misuse_never_exit_1(
    grader: ModuleType,
    tmp_path: Path,
    labels: Labels,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _write_submission(tmp_path / "sub", _peaked_rows(labels, 0.9))
    monkeypatch.setattr(grader, "LABELS_FILE", tmp_path / "absent.csv")
    assert grader.main(["grade.py", str(folder)], {"RGYM_SPLIT": "public"}) == 2
    assert "cannot read the hidden labels" in capsys.readouterr().err

    def crash(*_: object) -> None:
        raise ZeroDivisionError("boom at row 17, label 3")

    monkeypatch.setattr(grader, "grade", crash)
    assert grader.main(["grade.py", str(folder)], {"RGYM_SPLIT": "public"}) == 2
    err = capsys.readouterr().err
    assert err.strip() == "grader error: internal failure (ZeroDivisionError)", "no detail that could leak"


# --- baseline and reference ---------------------------------------------------------------------------


def _workspace_copy(task: Task, dest: Path, *, reference: bool) -> Path:
    shutil.copytree(task.workspace_dir, dest)
    if reference:
        shutil.copytree(task.reference_dir, dest, dirs_exist_ok=True)
    return dest


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
    assert_bad_knobs_refused(baseline, tmp_path, monkeypatch, capsys, content, phrase)


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


def _reproduce(task: Task, tmp_path: Path, *, reference: bool) -> dict[str, dict[str, Any]]:
    workspace = _workspace_copy(task, tmp_path / "workspace", reference=reference)
    before = {p.relative_to(workspace) for p in workspace.rglob("*")}
    run = subprocess.run(
        [sys.executable, "baseline.py"], cwd=workspace, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    written = {p.relative_to(workspace) for p in workspace.rglob("*")} - before
    assert {p for p in written if "__pycache__" not in p.parts} == {Path("predictions.csv")}
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(workspace / "predictions.csv", submission / "predictions.csv")
    return {split: _score(_run_grader(submission, split, in_process=False)) for split in SPLITS}


@pytest.fixture(scope="module")
def baseline_result(task: Task, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The baseline's graded result on both splits, computed once for the tests that need it."""
    return _reproduce(task, tmp_path_factory.mktemp("baseline"), reference=False)


@pytest.mark.slow
def test_baseline_reproduces_its_scores_on_both_splits(
    task: Task, baseline_result: dict[str, dict[str, Any]]
) -> None:
    spec = task.spec.baseline
    for split, expected in (("private", spec.score), ("public", spec.public_score)):
        assert math.isclose(baseline_result[split]["score"], expected, rel_tol=spec.tolerance), (
            baseline_result
        )


@pytest.mark.slow
def test_reference_reproduces_its_scores_at_the_baselines_accuracy(
    task: Task, tmp_path: Path, baseline_result: dict[str, dict[str, Any]]
) -> None:
    got = _reproduce(task, tmp_path, reference=True)
    tolerance = task.spec.baseline.tolerance
    for split, expected in (
        ("private", task.spec.reference.score),
        ("public", task.spec.reference.public_score),
    ):
        assert math.isclose(got[split]["score"], expected, rel_tol=tolerance), got
        assert got[split]["accuracy"] == baseline_result[split]["accuracy"], "only the confidences change"


# --- exploits -----------------------------------------------------------------------------------------


class HostEpisode:
    """One attempt on the host, standing in for the environment: the agent's view is the same.

    The workspace is a temporary copy; bash runs there with this interpreter first on PATH (and the
    attempt's own HOME and TMPDIR); validate grades the public split, submit the private split, with
    eval/grade.py. Only the score and the normalized score come back, as under rgym.
    """

    def __init__(self, task: Task, root: Path, *, leaked_score: float | None = None) -> None:
        self.task = task
        self.work = root / "workspace"
        shutil.copytree(task.workspace_dir, self.work)
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(root / "home"),
            "TMPDIR": str(root / "tmp"),
        }
        (root / "home").mkdir()
        (root / "tmp").mkdir()
        self.budget = task.spec.budget
        self.steps = self.evals = 0
        self.leaked_score = leaked_score
        """A deliberately leaky harness: the previous attempt's final score in the first observation."""
        self.validated: list[float] = []
        """Normalized score of every valid validate."""
        self.final: float | None = None
        """The submission's private normalized score."""
        self.final_raw: float | None = None

    def _obs(
        self,
        output: str = "",
        exit_code: int | None = 0,
        raw: float | None = None,
        split: Split = Split.PUBLIC,
    ) -> dict[str, Any]:
        return {
            "output": output,
            "exit_code": exit_code,
            "time_left_s": float(self.budget.wall_time_s),
            "steps_left": self.budget.step_limit - self.steps,
            "evals_left": self.budget.eval_limit - self.evals,
            "score": raw,
            "normalized_score": self.task.spec.normalize(raw, split),
            "task": "",
        }

    def _grade(self, split: Split) -> float | None:
        submission = self.work.parent / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        if (self.work / "predictions.csv").is_file():
            shutil.copy(self.work / "predictions.csv", submission)
        result = _run_grader(submission, split.value)
        return float(json.loads(result.stdout)["score"]) if result.returncode == 0 else None

    def play(self, agent: Agent, seed: int) -> None:
        agent.reset(TaskInfo.from_task(self.task), seed=seed)
        obs = self._obs()
        obs["task"] = self.task.readme
        obs["score"] = self.leaked_score
        try:
            while self.steps < self.budget.step_limit:
                action = agent.act(obs)
                assert isinstance(action, dict), action
                self.steps += 1
                tool = action["tool"]
                if tool == "bash":
                    done = subprocess.run(
                        action["command"],
                        shell=True,
                        cwd=self.work,
                        capture_output=True,
                        text=True,
                        env=self.env,
                        timeout=600,
                    )
                    obs = self._obs(done.stdout + done.stderr, done.returncode)
                elif tool == "write_file":
                    (self.work / action["path"]).write_text(action["content"], encoding="utf-8")
                    obs = self._obs(f"Wrote {action['path']}")
                elif tool == "read_file":
                    obs = self._obs((self.work / action["path"]).read_text(encoding="utf-8"))
                elif tool == "validate":
                    assert self.evals < self.budget.eval_limit, "the agent overspent its validates"
                    self.evals += 1
                    raw = self._grade(Split.PUBLIC)
                    obs = self._obs(exit_code=0 if raw is not None else 1, raw=raw)
                    if raw is not None:
                        normalized = self.task.spec.normalize(raw, Split.PUBLIC)
                        assert normalized is not None
                        self.validated.append(normalized)
                else:
                    assert tool == "submit", action
                    break
            self.final_raw = self._grade(Split.PRIVATE)
            self.final = self.task.spec.normalize(self.final_raw, Split.PRIVATE)
        finally:
            agent.close()


def _exploit(task: Task, name: str) -> Any:
    return next(e for e in task.spec.exploits if e.name == name)


def _factory(task: Task, name: str) -> Callable[[], Agent]:
    kind, _, rest = _exploit(task, name).agent.partition(":")
    return agent_factory(f"{kind}:{TASK_ROOT / rest}")


@pytest.fixture
def isolated_prober(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The prober writes to the host's temp folder, environment, builtins and sys.modules: undo all of it."""
    host_tmp = tmp_path / "host-tmp"
    host_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(host_tmp))
    monkeypatch.delenv("RGYM_CROSS_ATTEMPT_PROBER", raising=False)
    modules = set(sys.modules)
    yield
    for name in set(sys.modules) - modules:
        if name.startswith(("rgym_user_agent_", "rgym_exploit_")):
            del sys.modules[name]
    if hasattr(builtins, "__rgym_cross_attempt_prober__"):
        delattr(builtins, "__rgym_cross_attempt_prober__")


@pytest.mark.parametrize("name", ["constant-confidence", "uniform", "label-oracle", "cross-attempt-prober"])
def test_every_exploit_agent_loads(task: Task, name: str, isolated_prober: None) -> None:
    exploit = _exploit(task, name)
    kind, _, rest = exploit.agent.partition(":")
    if kind == "script":
        assert load_script(TASK_ROOT / rest)[-1] == {"tool": "submit"}
    agent = _factory(task, name)()
    agent.reset(TaskInfo.from_task(task), seed=0)
    agent.close()


def test_the_oracle_code_decodes_every_state_of_its_probe_rows(isolated_prober: None) -> None:
    oracle = _load_module(TASK_ROOT / "exploits" / "label_oracle.py", "rgym_exploit_oracle_under_test")
    tolerance = N_PER_SPLIT * 0.5e-4
    rows = oracle.nested_code(
        [(i, [math.log(10)] * N_CLASSES) for i in range(5)], tolerance, with_private=True
    )
    assert len(rows) == 2, "two rows of 11 states per rounded score"
    rng = random.Random(0)
    states = [oracle.PRIVATE, *range(N_CLASSES)]
    for _ in range(500):
        truth = {r.row_id: rng.choice(states) for r in rows}
        residual = math.fsum(r.values[truth[r.row_id]] for r in rows) + rng.uniform(-tolerance, tolerance)
        assert oracle.decode(rows, residual, tolerance) == truth


@pytest.mark.slow
def test_label_oracle_decodes_public_labels_but_gains_nothing_private(
    task: Task, tmp_path: Path, labels: Labels, isolated_prober: None
) -> None:
    exploit = _exploit(task, "label-oracle")
    agent = _factory(task, "label-oracle")()
    episode = HostEpisode(task, tmp_path)
    episode.play(agent, seed=0)
    decoded = getattr(agent, "inner", agent).decoded
    assert len(decoded) >= 12
    for row_id, state in decoded.items():
        split, label = labels[row_id]
        assert state == ("private" if split == "private" else label), row_id
    assert max(episode.validated) >= exploit.public_at_least  # the positive control
    assert episode.final == pytest.approx(0.0, abs=1e-9), "every private row is the baseline's"
    assert episode.final <= exploit.max_normalized


@pytest.mark.slow
@pytest.mark.parametrize("leaky", [False, True])
def test_cross_attempt_prober_gains_nothing_unless_the_harness_leaks(
    task: Task, tmp_path: Path, labels: Labels, isolated_prober: None, leaky: bool
) -> None:
    exploit = _exploit(task, "cross-attempt-prober")
    factory = _factory(task, "cross-attempt-prober")
    finals: list[float] = []
    previous: float | None = None
    agents = []
    for attempt in range(exploit.runs):
        agent = factory()
        episode = HostEpisode(task, tmp_path / f"attempt-{attempt}", leaked_score=previous if leaky else None)
        episode.play(agent, seed=attempt)
        assert episode.final is not None
        finals.append(episode.final)
        previous = episode.final_raw
        agents.append(getattr(agent, "inner", agent))
    decoded = {i: c for a in agents for i, c in a.decoded_private.items()}
    if not leaky:
        assert not any(a.leaked_scores for a in agents)
        assert decoded == {}
        assert max(finals) <= exploit.max_normalized
    else:
        # The machinery works: with the previous final score in sight it decodes private labels.
        assert len(decoded) >= 2
        assert all(labels[i] == ("private", c) for i, c in decoded.items())
