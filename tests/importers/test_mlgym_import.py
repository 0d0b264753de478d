"""rgym tasks import mlgym on a small checkout in MLGym's public format (tests/fixtures/mlgym)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gym_core.cli.main import main
from gym_core.errors import ImportSourceError
from gym_core.importers import mlgym
from gym_core.tasks.loader import load_task

SRC = Path(__file__).resolve().parent.parent / "fixtures" / "mlgym"


def test_csv_task_moves_the_ground_truth_to_eval(tmp_path: Path) -> None:
    result = mlgym.import_task(SRC, "coinToss", tmp_path)
    assert result.imported and result.runnable and result.why_not is None
    root = tmp_path / "mlgym-coin-toss-prediction"
    task = load_task(root)
    spec = task.spec
    assert spec.reference is None and not spec.has_reference
    assert (spec.metric.name, spec.metric.direction.value) == ("Accuracy", "maximize")
    assert (spec.baseline.score, spec.baseline.command) == (0.5, "cp sample_submission.csv submission.csv")
    assert spec.grader.submission == ["submission.csv"] and spec.grader.submission_kind.value == "files"
    workspace = sorted(p.relative_to(root / "workspace").as_posix() for p in (root / "workspace").rglob("*"))
    assert workspace == ["data", "data/test.csv", "data/train.csv", "evaluate.py", "sample_submission.csv"]
    assert (root / "eval" / "data" / "ground_truth.csv").read_bytes() == (
        SRC / "data/coinToss/data/ground_truth.csv"
    ).read_bytes()
    assert (root / "eval" / "mlgym" / "evaluate.py").is_file()
    adapter = json.loads((root / "eval" / "rgym_mlgym.json").read_text())
    assert adapter["split"]["id_column"] == "CoinId" and adapter["metric"] == "Accuracy"
    assert "{dataset_docs}" not in task.readme and "COINS:\nCoins with a weight" in task.readme
    assert "ground truth is not in the workspace" in task.readme


def test_strategy_task_is_graded_as_code_with_the_opponent_hidden_in_eval(tmp_path: Path) -> None:
    result = mlgym.import_task(SRC, "matchingGame", tmp_path)
    root = tmp_path / "mlgym-matching-game"
    spec = load_task(root).spec
    assert result.runnable
    assert spec.grader.submission == ["strategy.py"] and spec.grader.submission_kind.value == "code"
    assert spec.baseline.command == "true" and spec.baseline.score == 0.3
    assert sorted(p.name for p in (root / "eval" / "mlgym").iterdir()) == ["evaluate.py", "target.py"]
    adapter = json.loads((root / "eval" / "rgym_mlgym.json").read_text())
    assert adapter["modules"] == ["strategy"]
    seeds = adapter["seeds"]
    assert len({seeds["public"]["grader"], seeds["private"]["grader"], seeds["public"]["submission"]}) == 3


def test_gpu_and_download_tasks_import_and_say_why_they_cannot_run(tmp_path: Path) -> None:
    result = mlgym.import_task(SRC, "tinyLM", tmp_path)
    assert result.imported and not result.runnable
    assert result.why_not is not None
    assert (
        "needs a GPU" in result.why_not and "downloads the dataset example-org/remote-text" in result.why_not
    )
    spec = load_task(tmp_path / "mlgym-tiny-language-model").spec
    assert spec.budget.gpus == 1 and spec.metric.direction.value == "minimize"


def test_a_sample_submission_that_copies_the_ground_truth_never_reaches_the_workspace(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    shutil.copyfile(src / "data/coinToss/data/ground_truth.csv", src / "data/coinToss/sample_submission.csv")
    result = mlgym.import_task(src, "coinToss", tmp_path / "out")
    root = tmp_path / "out" / "mlgym-coin-toss-prediction"
    assert not (root / "workspace" / "sample_submission.csv").exists()
    assert result.runnable and result.baseline_unreproducible is not None
    assert "--ground-truth" in result.baseline_unreproducible
    assert any("copy of the hidden data/ground_truth.csv" in n for n in result.notes)
    # The real labels given separately make it whole again.
    header, first, *rest = (SRC / "data/coinToss/data/ground_truth.csv").read_text().splitlines()
    coin, heads = first.split(",")
    labels = tmp_path / "labels.csv"  # labels that differ from the sample submission (one coin at least)
    labels.write_text("\n".join([header, f"{coin},{1 - int(heads)}", *rest]) + "\n")
    again = mlgym.import_task(src, "coinToss", tmp_path / "out", ground_truth=labels, force=True)
    assert again.runnable and again.baseline_unreproducible is None
    assert (root / "workspace" / "sample_submission.csv").is_file()


def test_a_truth_that_equals_the_sample_submission_is_runnable_but_its_baseline_not_reproducible(
    tmp_path: Path,
) -> None:
    # passengerSurvival is laid out as MLGym's Titanic: its ground truth is its (rule-made) sample submission
    result = mlgym.import_task(SRC, "passengerSurvival", tmp_path)
    root = tmp_path / "mlgym-passenger-survival"
    assert result.runnable and result.why_not is None
    why = result.baseline_unreproducible
    assert why is not None and "data/ground_truth.csv equals its sample submission" in why
    assert "published Accuracy 0.625" in why and "--ground-truth" in why
    assert result.state() == f"runnable here, baseline not reproducible: {why}"
    # the agent never gets the copy of the truth, nor a hint of it
    assert sorted(p.relative_to(root / "workspace").as_posix() for p in (root / "workspace").rglob("*")) == [
        "data",
        "data/test.csv",
        "data/train.csv",
        "evaluate.py",
    ]
    assert "sample" not in (root / "README.md").read_text()
    spec = load_task(root).spec
    assert spec.baseline.score == 0.625 and spec.baseline.command == "true"
    assert "cannot reproduce" in (root / "task.yaml").read_text().split("id:")[0]
    maintainers = (root / "MAINTAINERS.md").read_text()
    assert "## Baseline not reproducible" in maintainers and why in maintainers
    assert "--ground-truth LABELS.csv" in maintainers


def test_the_summary_and_the_one_line_say_runnable_but_baseline_not_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gym_core.cli import importers as cli

    monkeypatch.setattr(cli.console, "width", 1000)  # one table row a line, so its text reads whole
    code = main(
        ["tasks", "import", "mlgym", str(SRC), "--task", "passengerSurvival", "--out", str(tmp_path / "a")]
    )
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0
    assert "(runnable here, baseline not reproducible: MLGym's hidden data/ground_truth.csv equals" in out
    main(["tasks", "import", "mlgym", str(SRC), "--all", "--out", str(tmp_path / "b")])
    out = " ".join(capsys.readouterr().out.split())
    assert "runnable here, baseline not reproducible: MLGym's hidden" in out
    assert "(1 with a baseline that cannot be reproduced)" in out


def test_existing_folder_needs_force(tmp_path: Path) -> None:
    mlgym.import_task(SRC, "coinToss", tmp_path)
    with pytest.raises(ImportSourceError, match="already exists"):
        mlgym.import_task(SRC, "coinToss", tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c.pop("evaluation_paths"),
            "configs/tasks/coinToss.yaml: evaluation_paths: required field",
        ),
        (
            lambda c: c.update(baseline_scores=[{}]),
            "configs/tasks/coinToss.yaml: baseline_scores[0]: must map",
        ),
        (
            lambda c: c.update(baseline_scores=[{"Accuracy": "high"}]),
            "baseline_scores[0].Accuracy: must be a",
        ),
        (
            lambda c: c.update(starter_code=["data/coinToss/gone.py"]),
            "evaluation_paths[0]: evaluate.py is not",
        ),
        (
            lambda c: c.update(dataset_configs=["datasets/none.yaml"]),
            "configs/datasets/none.yaml: file not found",
        ),
    ],
)
def test_malformed_source_is_one_line_naming_file_and_field(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    config_path = src / "configs/tasks/coinToss.yaml"
    config = yaml.safe_load(config_path.read_text())
    edit(config)
    config_path.write_text(yaml.safe_dump(config))
    with pytest.raises(ImportSourceError) as info:
        mlgym.import_task(src, "coinToss", tmp_path / "out")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out" / "mlgym-coin-toss-prediction").exists()


def test_cli_malformed_source_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "import", "mlgym", str(SRC), "--task", "noEvaluation",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: configs/tasks/noEvaluation.yaml: evaluation_paths: required field is missing"]


def test_cli_all_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tasks", "import", "mlgym", str(SRC), "--all", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1  # one source task could not be imported
    assert "4 of 5 imported, 3 runnable here (1 with a baseline that cannot be reproduced)" in out
    for name in ("coinToss", "matchingGame", "tinyLM", "noEvaluation", "passengerSurvival"):
        assert name in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mlgym-coin-toss-prediction",
        "mlgym-matching-game",
        "mlgym-passenger-survival",
        "mlgym-tiny-language-model",
    ]


def test_a_task_without_any_baseline_recipe_imports_and_says_why_it_cannot_run(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    config_path = src / "configs/tasks/coinToss.yaml"
    config = yaml.safe_load(config_path.read_text())
    config.pop("sample_submission")
    config_path.write_text(yaml.safe_dump(config))
    result = mlgym.import_task(src, "coinToss", tmp_path / "out")
    assert result.imported and not result.runnable
    assert result.why_not == (
        "MLGym gives no baseline_paths and no sample_submission: its baseline cannot be reproduced"
    )
    assert load_task(tmp_path / "out" / "mlgym-coin-toss-prediction").spec.baseline.command == "true"
