"""The confounded-treatment-effects task: spec, README, data, grader on both splits, baseline, exploits.

Plain host Python (no Docker); tests/tasks/test_shipped_tasks.py runs `rgym tasks verify` on it for real.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gym_core.tasks.loader import Task, load_task
from rgym_agents.loader import agent_factory
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
    normalized,
    play_agent,
    read_csv,
    run_grader_on_broken_hidden_data,
    score_both,
    write_csv,
)

TASK_ROOT = TASKS_DIR / "confounded-treatment-effects"
HEADER = ["dataset", "ate"]
N_DATASETS = 60
# Words that would give the withheld method away; the agent-facing text must not contain them.
METHOD_TERMS = (
    "double",
    "debiased",
    "orthogonal",
    "cross-fit",
    "cross fit",
    "crossfit",
    "sample split",
    "sample-split",
    "partialling",
    "partialing",
    "residual-on-residual",
    "frisch",
    "dml",
    "neyman",
)


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(TASK_ROOT)


@pytest.fixture(scope="module")
def grader() -> ModuleType:
    return load_module(TASK_ROOT / "eval" / "grade.py", "effects_grade")


@pytest.fixture(scope="module")
def effects(grader: ModuleType) -> dict[str, tuple[str, float]]:
    """dataset -> (split, true ATE)."""
    loaded: dict[str, tuple[str, float]] = grader.read_effects()
    return loaded


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    yield from import_baseline(TASK_ROOT, "effects_baseline")


def _submission(folder: Path, estimates: dict[str, object], header: list[str] = HEADER) -> Path:
    return write_csv(folder / "estimates.csv", header, [[name, v] for name, v in estimates.items()])


# --- spec and agent-facing text -----------------------------------------------------------------------


def test_spec_loads_with_the_agreed_contract(task: Task) -> None:
    spec = task.spec
    assert spec.id == TASK_ROOT.name
    assert spec.metric.name == "rmse" and spec.metric.direction.value == "minimize"
    assert spec.grader.submission == ["estimates.csv"]
    assert spec.grader.command == "python /eval/grade.py /submission"
    assert spec.budget.network.value == "none"
    assert "terse" in spec.description_variants
    assert len(spec.exploits) >= 2


def test_knobs_in_spec_are_accepted_by_the_baseline(task: Task, baseline: ModuleType) -> None:
    declared = baseline.DEFAULT_KNOBS
    assert set(task.spec.knobs) == set(declared)
    for name, values in task.spec.knobs.items():
        default, types, allowed = declared[name]
        assert default in values, f"knob {name}: the baseline default {default!r} should be a candidate"
        for value in values:
            assert isinstance(value, types) and (allowed is None or value in allowed), (
                f"knob {name}: {value!r}"
            )


def test_readme_states_data_submission_metric_and_measured_baseline(task: Task) -> None:
    readme = task.readme
    for phrase in ("d000.csv", "treatment", "outcome", "estimates.csv", "dataset,ate", "RMSE", "knobs.json"):
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


def test_datasets_are_in_the_workspace_and_effects_only_in_eval(
    task: Task, effects: dict[str, tuple[str, float]]
) -> None:
    files = sorted(p.stem for p in (task.workspace_dir / "data").glob("*.csv"))
    assert files == sorted(effects) and len(files) == N_DATASETS
    header, rows = read_csv(task.workspace_dir / "data" / "d000.csv")
    assert header == [*(f"x{j}" for j in range(8)), "treatment", "outcome"] and len(rows) == 1000
    assert {r[8] for r in rows} == {"0", "1"}
    assert sum(s == "public" for s, _ in effects.values()) == N_DATASETS // 2
    for folder in (task.workspace_dir, task.reference_dir):
        for path in folder.rglob("*"):
            assert "effect" not in path.name, f"{path} looks like the hidden effects"


def test_no_constant_comes_near_the_baseline_even_in_hindsight(
    task: Task, effects: dict[str, tuple[str, float]]
) -> None:
    # The best constant for a split is its mean true effect (which no agent knows); its RMSE is their spread.
    best = {}
    for split in SPLITS:
        values = [ate for s, ate in effects.values() if s == split]
        mean = sum(values) / len(values)
        best[split] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    for split, value in normalized(task, best).items():
        assert value < -0.5, f"{split}: the best constant would reach {value:.3f} normalized"


def test_data_regenerates_byte_for_byte(task: Task, tmp_path: Path) -> None:
    make_data = load_module(TASK_ROOT / "maintainer" / "make_data.py", "effects_make_data")
    make_data.write_task_data(tmp_path, seed=0)
    shipped = sorted((task.workspace_dir / "data").glob("*.csv"))
    shipped.append(task.eval_dir / "effects.csv")
    for path in shipped:
        regenerated = tmp_path / path.relative_to(task.root)
        assert regenerated.read_bytes() == path.read_bytes(), f"{path.name} differs from make_data.py output"


# --- the grader on both splits ----------------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_exact_shifted_and_constant_estimates_on_each_split(
    tmp_path: Path, effects: dict[str, tuple[str, float]], split: str
) -> None:
    exact = graded(
        run_grader(TASK_ROOT, _submission(tmp_path / "e", {n: a for n, (_, a) in effects.items()}), split)
    )
    assert exact["score"] == 0.0 and exact["n"] == N_DATASETS // 2 and exact["split"] == split
    shifted = {n: a + (0.3 if i % 2 else -0.3) for i, (n, (_, a)) in enumerate(effects.items())}
    assert graded(run_grader(TASK_ROOT, _submission(tmp_path / "s", shifted), split))[
        "score"
    ] == pytest.approx(0.3)
    values = [a for s, a in effects.values() if s == split]
    mean = sum(values) / len(values)
    best_constant = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    constant = graded(run_grader(TASK_ROOT, _submission(tmp_path / "c", dict.fromkeys(effects, mean)), split))
    assert constant["score"] == pytest.approx(best_constant, abs=1e-6)


def test_each_split_is_scored_on_its_own_datasets_only(
    tmp_path: Path, effects: dict[str, tuple[str, float]]
) -> None:
    estimates = {n: (a if s == "public" else a + 2.0) for n, (s, a) in effects.items()}
    assert score_both(TASK_ROOT, _submission(tmp_path, estimates)) == {"public": 0.0, "private": 2.0}


def test_unset_split_means_private_and_a_bad_split_is_a_grader_error(
    tmp_path: Path, effects: dict[str, tuple[str, float]]
) -> None:
    folder = _submission(tmp_path, {n: (a if s == "private" else a + 1.0) for n, (s, a) in effects.items()})
    assert graded(run_grader(TASK_ROOT, folder, None))["score"] == 0.0
    bad = run_grader(TASK_ROOT, folder, "")
    assert bad.returncode == 2 and "RGYM_SPLIT" in bad.stderr and '"score"' not in bad.stdout


def test_a_grader_that_cannot_read_its_hidden_data_fails_as_the_grader(
    tmp_path: Path, effects: dict[str, tuple[str, float]]
) -> None:
    assert_grader_failure(
        run_grader_on_broken_hidden_data(
            TASK_ROOT, _submission(tmp_path / "sub", dict.fromkeys(effects, 0.5)), tmp_path
        )
    )


def _malformed_cases(
    effects: dict[str, tuple[str, float]],
) -> dict[str, tuple[list[str], list[list[object]], str]]:
    """name -> (header, rows, phrase the error message must contain)."""
    good: list[list[object]] = [[n, 0.5] for n in effects]

    def with_cell(row_index: int, column: int, value: object) -> list[list[object]]:
        rows = [list(r) for r in good]
        rows[row_index][column] = value
        return rows

    return {
        "wrong header": (["study", "ate"], good, "header"),
        "short row": (HEADER, [good[0][:1], *good[1:]], "columns"),
        "too few rows": (HEADER, good[:-1], "data rows"),
        "too many rows": (HEADER, [*good, good[0]], "data rows"),
        "duplicate dataset": (HEADER, [*good[:-1], good[0]], "appears twice"),
        "unknown dataset": (HEADER, with_cell(len(good) - 1, 0, "d999"), "not a dataset"),
        "file name with extension": (HEADER, with_cell(0, 0, "d000.csv"), "not a dataset"),
        "non-numeric": (HEADER, with_cell(0, 1, "large"), "not a number"),
        "nan": (HEADER, with_cell(0, 1, "nan"), "not finite"),
        "inf": (HEADER, with_cell(0, 1, "inf"), "not finite"),
        "overflowing": (HEADER, with_cell(0, 1, "1e300"), "outside"),
        "huge field": (HEADER, with_cell(0, 1, "1" * 200_000), "not valid CSV"),
    }


@pytest.mark.parametrize("split", SPLITS)
def test_every_malformed_submission_is_refused_with_a_clear_message(
    tmp_path: Path, effects: dict[str, tuple[str, float]], split: str
) -> None:
    cases = {
        name: (write_csv(tmp_path / name.replace(" ", "-") / "estimates.csv", header, rows), phrase)
        for name, (header, rows, phrase) in _malformed_cases(effects).items()
    }
    assert_all_refused(TASK_ROOT, cases, (split,))


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    cases = {"missing": (None, "not found", "public"), "empty": (b"", "empty", "private")}
    assert_files_refused(TASK_ROOT, tmp_path, "estimates.csv", cases)


# --- baseline, knobs, reference ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"degree": 2}', "unknown knob 'degree'"),
        ('{"features": "cubic"}', "must be one of linear, squares, quadratic"),
        ('{"alpha": -1}', "must be >= 0"),
        ('{"alpha": false}', "knob 'alpha' must be int or float"),
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


def test_the_baseline_recovers_the_effect_when_the_model_is_linear(baseline: ModuleType) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    treatment = (rng.random(2000) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    outcome = 1.5 * treatment + x @ np.array([2.0, -1.0, 0.5]) + rng.normal(0, 0.1, 2000)
    for features in ("linear", "squares", "quadratic"):
        estimate = baseline.effect_estimate(x, treatment, outcome, {"features": features, "alpha": 0.0})
        assert estimate == pytest.approx(1.5, abs=0.02), features


# --- exploits -----------------------------------------------------------------------------------------------


def test_exploit_agents_load(task: Task) -> None:
    for exploit in task.spec.exploits:
        kind, _, target = exploit.agent.partition(":")
        if kind == "script":
            assert load_script(task.root / target), exploit.name
        else:
            path, _, cls = target.rpartition(":")
            assert agent_factory(f"module:{task.root / path}:{cls}")() is not None, exploit.name


@pytest.mark.slow
def test_label_probe_decodes_public_effects_but_gains_nothing_private(task: Task, tmp_path: Path) -> None:
    exploit = next(e for e in task.spec.exploits if e.name == "label-probe")
    path, _, cls = exploit.agent.removeprefix("module:").rpartition(":")
    validated, final = play_agent(task, agent_factory(f"module:{task.root / path}:{cls}")(), tmp_path)
    assert len(validated) == task.spec.budget.eval_limit
    public_best = max(
        normalized(task, {"public": s, "private": final["private"]})["public"] for s in validated
    )
    assert exploit.public_at_least is not None and public_best >= exploit.public_at_least  # the trick works
    got = normalized(task, final)
    assert got["private"] == pytest.approx(0.0, abs=1e-4)  # ... where it can: the private score is untouched
    assert got["private"] <= exploit.max_normalized
