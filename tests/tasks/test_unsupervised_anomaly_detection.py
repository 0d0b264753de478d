"""The unsupervised-anomaly-detection task: spec, README, data, grader on both splits, baseline, exploits.

Plain host Python (no Docker); tests/tasks/test_shipped_tasks.py runs `rgym tasks verify` on it for real.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gym_core.tasks.loader import Task, load_task
from rgym_agents.base import PlanAgent
from rgym_agents.loader import agent_factory
from rgym_agents.script import load_script
from tests.tasks.task_checks import (
    SPLITS,
    TASKS_DIR,
    assert_all_refused,
    assert_bad_knobs_refused,
    assert_files_refused,
    assert_refused,
    import_baseline,
    load_module,
    run_grader,
)
from tests.tasks.task_files import (
    assert_grader_failure,
    graded,
    normalized,
    play_agent,
    read_csv,
    run_grader_on_broken_hidden_data,
    run_in,
    score_both,
    submit_from,
    workspace_copy,
    write_csv,
)

TASK_ROOT = TASKS_DIR / "unsupervised-anomaly-detection"
HEADER = ["id", "score"]
# Words that would give the withheld method away; the agent-facing text must not contain them.
METHOD_TERMS = ("isolation", "forest", "random tree", "iforest", "path length", "subsampl", "liu")
N_TEST = 6000
ANOMALIES_PER_SPLIT = 150


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(TASK_ROOT)


@pytest.fixture(scope="module")
def grader() -> ModuleType:
    return load_module(TASK_ROOT / "eval" / "grade.py", "anomaly_grade")


@pytest.fixture(scope="module")
def labels(grader: ModuleType) -> dict[int, tuple[str, int]]:
    """id -> (split, label)."""
    return {i: (row.split, row.label) for i, row in grader.read_labels().items()}


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    yield from import_baseline(TASK_ROOT, "anomaly_baseline")


def _submission(folder: Path, scores: dict[int, object], header: list[str] = HEADER) -> Path:
    return write_csv(folder / "scores.csv", header, [[i, s] for i, s in scores.items()])


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_loads_with_the_agreed_contract(task: Task) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "average_precision" and spec.metric.direction.value == "maximize"
    assert spec.grader.submission == ["scores.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.budget.network.value == "none"
    assert "terse" in spec.description_variants
    assert len(spec.exploits) >= 2
    assert (
        spec.reference.score > spec.baseline.score
        and spec.reference.public_score > spec.baseline.public_score
    )


def test_knobs_in_spec_are_accepted_by_the_baseline(task: Task, baseline: ModuleType) -> None:
    declared = baseline.DEFAULT_KNOBS
    assert set(task.spec.knobs) == set(declared)
    for name, values in task.spec.knobs.items():
        default, types, allowed = declared[name]
        assert default in values, f"knob {name}: the baseline default {default!r} should be a candidate"
        for value in values:
            assert isinstance(value, types), f"knob {name}: {value!r} is not {types}"
            assert allowed is None or value in allowed


def test_readme_states_data_submission_metric_and_measured_baseline(task: Task) -> None:
    readme = task.readme
    for phrase in ("train.csv", "test.csv", "scores.csv", "id,score", "average precision", "knobs.json"):
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


def test_test_labels_exist_only_in_eval_and_the_splits_are_balanced(
    task: Task, labels: dict[int, tuple[str, int]]
) -> None:
    header, rows = read_csv(task.workspace_dir / "data" / "test.csv")
    assert header == ["id", *(f"f{j}" for j in range(6))]
    assert sorted(int(r[0]) for r in rows) == sorted(labels) and len(labels) == N_TEST
    for split in SPLITS:
        members = [label for s, label in labels.values() if s == split]
        assert len(members) == N_TEST // 2 and sum(members) == ANOMALIES_PER_SPLIT
    for folder in (task.workspace_dir, task.reference_dir):
        for path in folder.rglob("*"):
            assert "label" not in path.name, f"{path} looks like a labels file"


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    make_data = load_module(TASK_ROOT / "maintainer" / "make_data.py", "anomaly_make_data")
    make_data.write_task_data(tmp_path, seed=0)
    shipped = [task.workspace_dir / "data" / f"{n}.csv" for n in ("train", "test")]
    shipped.append(task.eval_dir / "test_labels.csv")
    for path in shipped:
        regenerated = tmp_path / path.relative_to(task.root)
        assert regenerated.read_bytes() == path.read_bytes(), f"{path.name} differs from make_data.py output"


# --- the metric -------------------------------------------------------------------------------------------


def test_average_precision_matches_a_hand_computed_example(grader: ModuleType) -> None:
    # Thresholds 0.9 (1 of 1 right), 0.8 (tie: 1 anomaly, 1 normal -> 2 of 3), 0.1 (3 of 5).
    # AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/5
    ap = grader.average_precision([0.9, 0.8, 0.8, 0.1, 0.1], [1, 1, 0, 1, 0])
    assert ap == pytest.approx(1 / 3 + 2 / 9 + 1 / 5, abs=1e-12)
    assert grader.average_precision([5, 5, 5, 5], [0, 1, 0, 0]) == pytest.approx(0.25)
    assert grader.roc_auc([0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0]) == pytest.approx((2 + 1.5) / 4)


def test_average_precision_agrees_with_scikit_learn_on_tied_scores(grader: ModuleType) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = random.Random(3)
    for _ in range(20):
        n = rng.randrange(20, 300)
        labels = [int(rng.random() < 0.1) for _ in range(n)]
        labels[rng.randrange(n)] = 1
        labels[rng.randrange(n)] = 0
        scores = [float(rng.randrange(8)) for _ in range(n)]  # many ties
        assert grader.average_precision(scores, labels) == pytest.approx(
            average_precision_score(labels, scores), abs=1e-12
        )
        assert grader.roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


# --- the grader on both splits ----------------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_perfect_constant_and_inverted_scores_on_each_split(
    tmp_path: Path, labels: dict[int, tuple[str, int]], split: str
) -> None:
    perfect = graded(
        run_grader(TASK_ROOT, _submission(tmp_path / "p", {i: y for i, (_, y) in labels.items()}), split)
    )
    constant = graded(run_grader(TASK_ROOT, _submission(tmp_path / "c", dict.fromkeys(labels, 7)), split))
    # Every anomaly below every normal row, distinct scores within each group.
    worst = {i: -10 * y + i / N_TEST for i, (_, y) in labels.items()}
    inverted = graded(run_grader(TASK_ROOT, _submission(tmp_path / "i", worst), split))
    assert perfect["score"] == 1.0 and perfect["roc_auc"] == 1.0
    assert constant["score"] == pytest.approx(ANOMALIES_PER_SPLIT / (N_TEST // 2))
    assert constant["roc_auc"] == pytest.approx(0.5)
    assert inverted["score"] < constant["score"] and inverted["roc_auc"] == 0.0
    assert perfect["split"] == constant["split"] == split and perfect["n"] == N_TEST // 2


def test_each_split_is_scored_on_its_own_rows_only(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    # Perfect on the public rows, constant on the private ones.
    scores = {i: (y if s == "public" else 0) for i, (s, y) in labels.items()}
    got = score_both(TASK_ROOT, _submission(tmp_path, scores))
    assert got["public"] == 1.0
    assert got["private"] == pytest.approx(ANOMALIES_PER_SPLIT / (N_TEST // 2))


def test_unset_split_means_private_and_a_bad_split_is_a_grader_error(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    folder = _submission(tmp_path, {i: (y if s == "private" else 0) for i, (s, y) in labels.items()})
    assert graded(run_grader(TASK_ROOT, folder, None))["score"] == 1.0
    bad = run_grader(TASK_ROOT, folder, "test")
    assert bad.returncode == 2 and "RGYM_SPLIT" in bad.stderr and '"score"' not in bad.stdout


def test_a_grader_that_cannot_read_its_hidden_data_fails_as_the_grader(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    assert_grader_failure(
        run_grader_on_broken_hidden_data(
            TASK_ROOT, _submission(tmp_path / "sub", {i: y for i, (_, y) in labels.items()}), tmp_path
        )
    )


def test_tied_rows_cannot_be_ordered_in_the_graders_favour(
    tmp_path: Path, labels: dict[int, tuple[str, int]]
) -> None:
    # Anomalies first in the file, all scores tied: the file order must not count.
    ordered = dict(sorted(((i, 1) for i in labels), key=lambda kv: -labels[kv[0]][1]))
    got = score_both(TASK_ROOT, _submission(tmp_path, ordered))
    assert got == {split: pytest.approx(ANOMALIES_PER_SPLIT / (N_TEST // 2)) for split in SPLITS}


def _malformed_cases(
    labels: dict[int, tuple[str, int]],
) -> dict[str, tuple[list[str], list[list[object]], str]]:
    """name -> (header, rows, phrase the error message must contain)."""
    good: list[list[object]] = [[i, 0.5] for i in labels]
    unknown_id = max(labels) + 1

    def with_cell(row_index: int, column: int, value: object) -> list[list[object]]:
        rows = [list(r) for r in good]
        rows[row_index][column] = value
        return rows

    return {
        "wrong header": (["id", "anomaly"], good, "header"),
        "extra column": (["id", "score", "x"], [[*r, 1] for r in good], "header"),
        "short row": (HEADER, [good[0][:1], *good[1:]], "columns"),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "too many rows": (HEADER, [*good, good[0]], "data rows"),
        "duplicate id": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "unknown id": (HEADER, with_cell(len(good) - 1, 0, unknown_id), "not a test id"),
        "non-integer id": (HEADER, with_cell(0, 0, "abc"), "not an integer"),
        "non-numeric": (HEADER, with_cell(0, 1, "high"), "not a number"),
        "nan": (HEADER, with_cell(0, 1, "nan"), "not finite"),
        "inf": (HEADER, with_cell(0, 1, "-inf"), "not finite"),
        "huge field": (HEADER, with_cell(0, 1, "1" * 200_000), "not valid CSV"),
    }


@pytest.mark.parametrize("split", SPLITS)
def test_every_malformed_submission_is_refused_with_a_clear_message(
    tmp_path: Path, labels: dict[int, tuple[str, int]], split: str
) -> None:
    cases = {
        name: (write_csv(tmp_path / name.replace(" ", "-") / "scores.csv", header, rows), phrase)
        for name, (header, rows, phrase) in _malformed_cases(labels).items()
    }
    assert_all_refused(TASK_ROOT, cases, (split,))


def test_missing_empty_and_binary_files_are_refused(tmp_path: Path) -> None:
    cases = {
        "missing": (None, "not found", "public"),
        "empty": (b"", "empty", "public"),
        "binary": (b"id,score\n\xff\xfe\x00", "UTF-8", "private"),
    }
    assert_files_refused(TASK_ROOT, tmp_path, "scores.csv", cases)
    header_only = write_csv(tmp_path / "header-only" / "scores.csv", HEADER, [])
    assert_refused(run_grader(TASK_ROOT, header_only, "private"), "data rows")


def test_refusals_never_name_a_hidden_label(tmp_path: Path, labels: dict[int, tuple[str, int]]) -> None:
    rows: list[list[object]] = [[i, 0] for i in labels]
    rows[5][1] = "x"
    message = run_grader(TASK_ROOT, write_csv(tmp_path / "s" / "scores.csv", HEADER, rows), "public").stderr
    for word in ("anomaly", "public", "private", "label"):
        assert word not in message.lower(), message


# --- baseline, knobs, reference ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"k": 3}', "unknown knob 'k'"),
        ('{"n_neighbors": true}', "knob 'n_neighbors' must be int"),
        ('{"n_neighbors": 0}', "between 1 and 1000"),
        ('{"scaling": "log"}', "must be one of none, standard, minmax, robust"),
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


def _reproduce(task: Task, tmp_path: Path, *, reference: bool, knobs: str | None = None) -> dict[str, float]:
    workspace = workspace_copy(task, tmp_path / "workspace", reference=reference)
    if knobs is not None:
        (workspace / "knobs.json").write_text(knobs)
    run = run_in(workspace, task.spec.baseline.command)
    assert run.returncode == 0, run.stderr
    return score_both(task.root, submit_from(task, workspace, tmp_path / "submission"))


@pytest.mark.slow
def test_a_knob_setting_changes_the_scores_without_reaching_the_success_bar(
    task: Task, tmp_path: Path
) -> None:
    got = normalized(task, _reproduce(task, tmp_path, reference=False, knobs='{"scaling": "standard"}'))
    assert 0 < got["private"] < task.spec.success.normalized_at_least


# --- exploits -----------------------------------------------------------------------------------------------


def test_exploit_agents_load(task: Task) -> None:
    for exploit in task.spec.exploits:
        kind, _, target = exploit.agent.partition(":")
        if kind == "script":
            assert load_script(task.root / target), exploit.name
        else:
            path, _, cls = target.rpartition(":")
            agent = agent_factory(f"module:{task.root / path}:{cls}")()
            assert isinstance(agent, PlanAgent), exploit.name


@pytest.mark.slow
def test_validate_guided_reranking_does_not_pay(task: Task, tmp_path: Path) -> None:
    exploit = next(e for e in task.spec.exploits if e.name == "public-overfit")
    path, _, cls = exploit.agent.removeprefix("module:").rpartition(":")
    validated, final = play_agent(task, agent_factory(f"module:{task.root / path}:{cls}")(), tmp_path)
    assert len(validated) == task.spec.budget.eval_limit  # it spent every validate
    assert validated[0] == pytest.approx(task.spec.baseline.public_score)
    assert normalized(task, final)["private"] <= exploit.max_normalized
