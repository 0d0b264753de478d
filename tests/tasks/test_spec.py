"""task.yaml validation: a good spec loads, and every bad one gets its exact field-level message."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gym_core.errors import TaskSpecError
from gym_core.tasks.loader import load_task
from gym_core.tasks.spec import Budget, Direction, Split, SubmissionKind, TaskSpec

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


def _good() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURE / "task.yaml").read_text())
    return data


def _write_task(tmp_path: Path, data: Any, *, raw: str | None = None) -> Path:
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    text = raw if raw is not None else yaml.safe_dump(data)
    (root / "task.yaml").write_text(text)
    return root


def _problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Any, raw: str | None = None
) -> list[str]:
    root = _write_task(tmp_path, data, raw=raw)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TaskSpecError) as info:
        load_task(root)
    return [str(p) for p in info.value.problems]


def test_good_spec_loads() -> None:
    task = load_task(FIXTURE)
    assert task.spec.id == "tiny-mean"
    assert task.spec.gym_id == "rgym/tiny-mean-v1"
    assert task.spec.metric.direction is Direction.MINIMIZE
    assert task.spec.budget.memory_mb == 256
    assert task.spec.budget.network.value == "none"
    assert task.readme.startswith("# Estimate")


def test_defaults_fill_optional_fields(tmp_path: Path) -> None:
    data = _good()
    for optional in ("success", "budget", "description_variants", "knobs"):
        data.pop(optional)
    task = load_task(_write_task(tmp_path, data))
    assert task.spec.budget == Budget()
    assert task.spec.success.normalized_at_least == 0.0
    assert task.spec.knobs == {}


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    return data


BAD_SPECS = [
    ("budget.memory_mb", 0, "tiny-mean/task.yaml: budget.memory_mb: must be > 0"),
    ("budget.wall_time_s", -5, "tiny-mean/task.yaml: budget.wall_time_s: must be > 0"),
    ("budget.eval_limit", -1, "tiny-mean/task.yaml: budget.eval_limit: must be >= 0"),
    ("budget.network", "internet", "tiny-mean/task.yaml: budget.network: must be one of 'none' or 'egress'"),
    (
        "metric.direction",
        "up",
        "tiny-mean/task.yaml: metric.direction: must be one of 'maximize' or 'minimize'",
    ),
    ("version", 0, "tiny-mean/task.yaml: version: must be >= 1"),
    (
        "id",
        "Tiny_Mean",
        "tiny-mean/task.yaml: id: must be lowercase letters, digits and hyphens, e.g. my-task",
    ),
    ("paper.year", 1200, "tiny-mean/task.yaml: paper.year: must be >= 1900"),
    (
        "budget.cpus",
        "many",
        "tiny-mean/task.yaml: budget.cpus: Input should be a valid number, unable to parse string as a number",
    ),
    (
        "grader.submission",
        [],
        "tiny-mean/task.yaml: grader.submission: List should have at least 1 item after validation, not 0",
    ),
    (
        "grader.submission",
        ["../etc/passwd"],
        "tiny-mean/task.yaml: grader.submission: '../etc/passwd' must be a relative path inside the workspace, without '..'",
    ),
    (
        "reference.score",
        9.0,
        "tiny-mean/task.yaml: reference.score (9.0) must be below baseline.score (5.0) when the metric is minimized",
    ),
    ("knobs", {"guess": []}, "tiny-mean/task.yaml: knobs: knob 'guess' needs at least one value"),
    (
        "budget.swap_mb",
        10,
        'tiny-mean/task.yaml: budget.swap_mb: unknown field (check the spelling against docs/tasks.md, "task.yaml fields")',
    ),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD_SPECS, ids=[f"{f}={v!r}" for f, v, _ in BAD_SPECS]
)
def test_bad_field_gets_exact_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: Any, message: str
) -> None:
    problems = _problems(tmp_path, monkeypatch, _set(_good(), field, value))
    assert problems == [message]


def test_missing_required_fields_each_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _good()
    del data["metric"], data["grader"]
    problems = _problems(tmp_path, monkeypatch, data)
    assert problems == [
        "tiny-mean/task.yaml: metric: required field is missing",
        "tiny-mean/task.yaml: grader: required field is missing",
    ]


def test_several_problems_one_line_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _set(_set(_good(), "budget.memory_mb", 0), "budget.pids", 0)
    assert _problems(tmp_path, monkeypatch, data) == [
        "tiny-mean/task.yaml: budget.memory_mb: must be > 0",
        "tiny-mean/task.yaml: budget.pids: must be > 0",
    ]


def test_yaml_syntax_error_names_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _problems(tmp_path, monkeypatch, None, raw="id: tiny-mean\nbudget: {memory_mb: 1\n")
    assert len(problems) == 1
    assert problems[0].startswith("tiny-mean/task.yaml: line 3, column 1: YAML syntax error")


def test_not_a_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _problems(tmp_path, monkeypatch, None, raw="- just\n- a list\n")
    assert problems == [
        'tiny-mean/task.yaml: must be a YAML mapping of fields (see docs/tasks.md, "task.yaml fields")'
    ]


def test_folder_name_must_match_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _problems(tmp_path, monkeypatch, _set(_good(), "id", "other-task"))
    assert problems == [
        "tiny-mean/task.yaml: id: is 'other-task' but the folder is named 'tiny-mean'; they must match"
    ]


def test_missing_eval_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _write_task(tmp_path, _good())
    shutil.rmtree(root / "eval")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TaskSpecError) as info:
        load_task(root)
    assert [str(p) for p in info.value.problems] == ["tiny-mean/eval: folder not found (holds the grader)"]


def test_missing_task_yaml_and_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TaskSpecError, match=r"^empty/task.yaml: file not found"):
        load_task(tmp_path / "empty")
    with pytest.raises(TaskSpecError, match=r"^nowhere: no such task folder$"):
        load_task(tmp_path / "nowhere")


def test_normalize_maps_baseline_to_0_and_reference_to_1() -> None:
    spec = load_task(FIXTURE).spec
    assert spec.normalize(5.0) == 0.0
    assert spec.normalize(0.0) == 1.0
    assert spec.normalize(7.5) == pytest.approx(-0.5)
    assert spec.normalize(None) is None
    assert spec.normalize(float("nan")) is None
    assert spec.succeeded(2.5) and not spec.succeeded(2.55) and not spec.succeeded(None)
    assert spec.succeeded(2.0, Split.PUBLIC) and not spec.succeeded(2.55, Split.PUBLIC)  # public: 4 -> 1


def test_task_without_reference(tmp_path: Path) -> None:
    data = _good()  # minimized; baseline 5.0 (private), 4.0 (public)
    data["reference"] = None
    data.pop("exploits", None)
    data.pop("success", None)
    spec = load_task(_write_task(tmp_path, data)).spec
    assert not spec.has_reference
    assert spec.normalize(4.0) is None and spec.normalize(4.0, Split.PUBLIC) is None
    assert spec.succeeded(4.99) and not spec.succeeded(5.0) and not spec.succeeded(None)
    assert spec.succeeded(3.9, Split.PUBLIC) and not spec.succeeded(4.5, Split.PUBLIC)
    assert not spec.succeeded(float("nan"))
    constants = spec.scoring_constants()
    assert constants["reference_raw"] is None and constants["reference_public_raw"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("success", {"normalized_at_least": 0.5}, "success.normalized_at_least needs a reference"),
        ("exploits", [{"name": "x", "agent": "script:x.jsonl", "max_normalized": 0.0}], "exploits need a"),
    ],
)
def test_without_reference_normalized_fields_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: Any, message: str
) -> None:
    data = _good()
    data["reference"] = None
    data.pop("exploits", None)
    data.pop("success", None)
    data[field] = value
    problems = _problems(tmp_path, monkeypatch, data)
    assert len(problems) == 1 and problems[0].startswith("tiny-mean/task.yaml: ") and message in problems[0]


def test_normalized_baseline_is_a_plain_zero() -> None:
    # On a minimized metric (reference - baseline < 0) the baseline divides to -0.0, which reports would
    # print as "-0.000"; normalize returns +0.0.
    assert str(load_task(FIXTURE).spec.normalize(5.0)) == "0.0"


def test_normalize_maximize_direction() -> None:
    data = _good()
    data.update(
        metric={"name": "acc", "direction": "maximize"},
        baseline={"score": 0.6, "public_score": 0.5, "command": "x"},
        reference={"score": 0.9, "public_score": 0.7},
    )
    spec = TaskSpec.model_validate(data)
    assert spec.normalize(0.6) == 0.0
    assert spec.normalize(0.9) == pytest.approx(1.0)
    assert spec.normalize(0.75) == pytest.approx(0.5)


def test_normalize_uses_the_split_s_own_scores() -> None:
    spec = load_task(FIXTURE).spec  # private: baseline 5, reference 0; public: baseline 4, reference 1
    assert spec.normalize(4.0, Split.PUBLIC) == 0.0
    assert spec.normalize(1.0, Split.PUBLIC) == pytest.approx(1.0)
    assert spec.normalize(4.0, Split.PRIVATE) == pytest.approx(0.2)
    assert spec.normalize(4.0) == spec.normalize(4.0, Split.PRIVATE)


def _exploit(**fields: Any) -> dict[str, Any]:
    return {"name": "constant", "agent": "script:exploits/constant.jsonl", "max_normalized": 0.2, **fields}


def test_exploits_load_with_defaults(tmp_path: Path) -> None:
    data = _good()
    data["exploits"] = [_exploit(), _exploit(name="oracle", runs=3, public_at_least=1.0)]
    spec = load_task(_write_task(tmp_path, data)).spec
    assert [e.name for e in spec.exploits] == ["constant", "oracle"]
    assert spec.exploits[0].runs == 1 and spec.exploits[0].public_at_least is None
    assert spec.exploits[1].runs == 3 and spec.exploits[1].public_at_least == 1.0


@pytest.mark.parametrize(
    ("exploits", "expected"),
    [
        (
            [_exploit(max_normalized=0.6)],
            "exploits[0] (constant): max_normalized 0.6 is above the success bar success.normalized_at_least 0.5",
        ),
        ([_exploit(), _exploit()], "exploits[1]: the name 'constant' is used twice"),
        ([_exploit(runs=0)], "exploits[0].runs: must be >= 1"),
        ([_exploit(max_normalized=float("nan"))], "exploits[0].max_normalized: must be a finite number"),
        ([_exploit(name="Bad Name")], "exploits[0].name: must be lowercase letters, digits and hyphens"),
    ],
)
def test_bad_exploits_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exploits: list[dict[str, Any]], expected: str
) -> None:
    data = _good()
    data["exploits"] = exploits
    problems = _problems(tmp_path, monkeypatch, data)
    assert any(expected in p for p in problems), problems


def test_public_scores_must_order_like_the_private_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _good()
    data["reference"]["public_score"] = 4.5  # worse than the public baseline 4.0 on a minimized metric
    problems = _problems(tmp_path, monkeypatch, data)
    assert any(
        "reference.public_score (4.5) must be below baseline.public_score (4.0)" in p for p in problems
    )


def test_submission_kind_defaults_to_files_and_accepts_code(tmp_path: Path) -> None:
    assert load_task(FIXTURE).spec.grader.submission_kind is SubmissionKind.FILES
    data = _good()
    data["grader"]["submission_kind"] = "code"
    assert load_task(_write_task(tmp_path, data)).spec.grader.submission_kind is SubmissionKind.CODE


def test_spec_is_frozen() -> None:
    spec = load_task(FIXTURE).spec
    with pytest.raises(ValueError, match="Instance is frozen"):
        spec.budget.memory_mb = 1  # type: ignore[misc]


def test_budget_override_validates() -> None:
    budget = Budget().override({"wall_time_s": 60})
    assert budget.wall_time_s == 60
    with pytest.raises(ValueError, match=r"^unknown budget key\(s\): swap, walltime$"):
        Budget().override({"walltime": 60, "swap": 1})
    with pytest.raises(ValueError, match=r"memory_mb\n  Input should be greater than 0"):
        Budget().override({"memory_mb": -1})


def test_every_field_is_documented() -> None:
    from pydantic import BaseModel

    models: list[type[BaseModel]] = [TaskSpec]
    while models:
        model = models.pop()
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name}"
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                models.append(info.annotation)


@pytest.mark.parametrize(
    ("direction", "field", "equal_to"),
    [
        ("minimize", "score", 5.0),
        ("minimize", "public_score", 4.0),
        ("maximize", "score", 5.0),
        ("maximize", "public_score", 4.0),
    ],
)
def test_reference_equal_to_baseline_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direction: str, field: str, equal_to: float
) -> None:
    # Normalizing divides by reference - baseline: a tie would make every normalized score infinite or NaN.
    data = _good()
    data["metric"]["direction"] = direction
    if direction == "maximize":  # keep the other split valid: reference above baseline
        data["baseline"].update(score=5.0, public_score=4.0)
        data["reference"].update(score=9.0, public_score=8.0)
    data["reference"][field] = equal_to
    word = "above" if direction == "maximize" else "below"
    problems = _problems(tmp_path, monkeypatch, data)
    assert problems == [
        f"tiny-mean/task.yaml: reference.{field} ({equal_to}) must be {word} baseline.{field} ({equal_to}) "
        f"when the metric is {direction}d"
    ]


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_metric_better_is_strict(direction: str) -> None:
    from gym_core.tasks.spec import Metric

    metric = Metric(name="m", direction=Direction(direction))
    assert not metric.better(0.5, 0.5)
    assert metric.better(0.6, 0.5) is (direction == "maximize")
    assert metric.better(0.4, 0.5) is (direction == "minimize")


def test_scoring_constants_hold_every_number_a_report_scores_with() -> None:
    """Stored with every run under these names: a report rebuilt from the store alone reads them back."""
    assert load_task(FIXTURE).spec.scoring_constants() == {
        "metric_name": "abs_error",
        "direction": "minimize",
        "baseline_raw": 5.0,
        "reference_raw": 0.0,
        "baseline_public_raw": 4.0,
        "reference_public_raw": 1.0,
        "success_threshold": 0.5,
        "self_reported": False,
    }


def test_success_on_the_public_split_is_judged_on_the_public_scores(tmp_path: Path) -> None:
    data = _good()
    # private: baseline 5 -> reference 0, so 2.8 normalizes to 0.44; public: 4 -> 2, so 2.8 is 0.6.
    data["reference"] = {"score": 0.0, "public_score": 2.0}
    spec = load_task(_write_task(tmp_path, data)).spec
    assert spec.succeeded(2.8, Split.PUBLIC)
    assert not spec.succeeded(2.8, Split.PRIVATE) and not spec.succeeded(2.8)
