"""rgym tasks import researchgym on task folders in ResearchGym's public format (tests/fixtures/researchgym)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.cli.main import main
from gym_core.errors import ImportSourceError
from gym_core.importers import researchgym
from gym_core.report.formatting import scale_text
from gym_core.tasks.loader import load_task
from tests.report.synthetic import synthetic_run

SRC = Path(__file__).resolve().parent.parent / "fixtures" / "researchgym"


def test_full_folder_imports_with_hint_blocked_urls_and_self_reported_grading(tmp_path: Path) -> None:
    result = researchgym.import_task(SRC, "toy-ranking", tmp_path)
    assert result.imported and not result.runnable and result.why_not is not None and "GPU" in result.why_not
    root = tmp_path / "researchgym-toy-ranking"
    task = load_task(root)
    spec = task.spec
    # The "Avg." column, minimized (the header's arrow), best baseline Dense 4.75 (not BM25's 5.2).
    assert (spec.metric.name, spec.metric.direction.value, spec.baseline.score) == ("Avg.", "minimize", 4.75)
    assert spec.reference is None and spec.grader.self_reported
    assert spec.blocked_urls == ["arxiv.org/abs/0000.00000", "*github.com*toy-ranking*"]
    assert spec.budget.gpus == 1 and spec.budget.network.value == "egress"
    assert "Rerank the top 20 with a cross-encoder." in spec.description_variants["hint"]
    assert "cross-encoder" not in task.readme
    assert sorted(p.name for p in (root / "workspace").iterdir()) == ["train.py"]
    assert (root / "eval" / "grading" / "grade.py").is_file()
    assert sorted(p.name for p in (root / "maintainer").iterdir()) == ["requirements.researchgym.txt"]


def test_optional_files_have_defaults(tmp_path: Path) -> None:
    researchgym.import_task(SRC, "toy-minimal", tmp_path)
    spec = load_task(tmp_path / "researchgym-toy-minimal").spec
    assert spec.description_variants == {} and spec.blocked_urls == []
    assert (spec.metric.name, spec.metric.direction.value, spec.baseline.score) == (
        "Accuracy",
        "maximize",
        0.61,
    )


def test_folder_without_description_is_refused_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "import", "researchgym", str(SRC), "--task",
         "no-description", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: no-description/task_description.md: file not found (every ResearchGym task has one)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_description_without_baseline_table_names_the_section(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "broken"
    shutil.copytree(SRC / "tasks" / "test" / "toy-minimal", folder)
    (folder / "task_description.md").write_text("## Research Goal\nNo table here.\n")
    with pytest.raises(
        ImportSourceError, match=r"^broken/task_description.md: Baseline Results: no '## Base"
    ):
        researchgym.import_task(tmp_path / "src", "broken", tmp_path / "out")


def test_all_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tasks", "import", "researchgym", str(SRC), "--all", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "2 of 3 imported, 0 runnable here" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "researchgym-toy-minimal",
        "researchgym-toy-ranking",
    ]


def _grade(task: Path, submission: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(task / "eval" / "rgym_researchgym_grade.py"), str(submission)],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "RGYM_SPLIT": "private"},
    )  # fmt: skip


def test_grader_reads_the_filled_row(tmp_path: Path) -> None:
    researchgym.import_task(SRC, "toy-ranking", tmp_path / "out")
    task = tmp_path / "out" / "researchgym-toy-ranking"
    submission = tmp_path / "submission"
    (submission / "logs").mkdir(parents=True)
    (submission / "logs" / "results.json").write_text(json.dumps({"news": 3.0, "web": 4.0}))
    result = _grade(task, submission)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"score": 3.5, "self_reported": True}
    (submission / "logs" / "results.json").write_text("{}")
    broken = _grade(task, submission)
    assert (
        broken.returncode == 1
        and "grade.sh failed on these logs: cannot read logs/results.json" in broken.stderr
    )
    (submission / "logs" / "results.json").unlink()
    missing = _grade(task, submission)
    assert missing.returncode == 1 and "logs/results.json is missing from the submission" in missing.stderr


def test_reports_say_self_reported() -> None:
    from dataclasses import replace

    run = replace(synthetic_run(k=2), self_reported=True)
    assert scale_text(run).startswith("self-reported grading: not tamper-proof. ")
    assert "self-reported" not in scale_text(synthetic_run(k=2))
