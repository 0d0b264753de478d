"""Imported MLGym tasks end to end on Docker: measured on both splits, played by the baseline agent, verified."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gym_core.importers import mlgym, mlgym_grader
from gym_core.importers.measure import measure_baseline
from gym_core.report.store_loader import load_run_data
from gym_core.runner.runner import RunConfig, Runner
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store
from gym_core.tasks.loader import load_task
from gym_core.verify import verify_task

SRC = Path(__file__).resolve().parent.parent / "fixtures" / "mlgym"


@pytest.fixture
def tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    out = tmp_path / "tasks"
    mlgym.import_task(SRC, "coinToss", out)
    mlgym.import_task(SRC, "matchingGame", out)
    monkeypatch.setenv("RGYM_TASKS_PATH", str(out))
    get_settings.cache_clear()
    yield out


@pytest.fixture
def store(tmp_path: Path, tasks: Path) -> Iterator[TraceStore]:
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


@pytest.mark.docker
@pytest.mark.slow
def test_strategy_task_measures_runs_and_verifies(docker_client: Any, tasks: Path, store: TraceStore) -> None:
    root = tasks / "mlgym-matching-game"
    measured = measure_baseline(root, "docker")
    # The unchanged starter (always 0) against a partner playing 1 with probability 0.7: 0.3 within noise.
    assert abs(measured.private - 0.3) < 0.031 and abs(measured.public - 0.3) < 0.031
    assert measured.private != measured.public
    spec = load_task(root).spec
    assert (spec.baseline.score, spec.baseline.public_score) == (measured.private, measured.public)
    assert "private differs by" in (root / "MAINTAINERS.md").read_text()

    runner = Runner(store, console=Console(file=open(os.devnull, "w")), show_progress=False)  # noqa: SIM115
    run_id = runner.start(RunConfig(task="mlgym-matching-game", agent="baseline", runs=1, backend="docker"))
    runner.execute(run_id)
    data = load_run_data(store, run_id, with_diffs=False)
    [attempt] = data.attempts
    assert attempt.final_raw == measured.private and attempt.final_normalized is None  # seeded: same score
    assert not attempt.succeeded  # the baseline does not beat itself

    report = verify_task(load_task(root), backend="docker", console=Console(file=io.StringIO(), width=200))
    assert report.ok, report.checks


@pytest.mark.docker
@pytest.mark.slow
def test_csv_task_measures_the_sample_submission(docker_client: Any, tasks: Path) -> None:
    root = tasks / "mlgym-coin-toss-prediction"
    measured = measure_baseline(root, "docker")
    truth = (SRC / "data/coinToss/data/ground_truth.csv").read_text().split()[1:]
    sample = (SRC / "data/coinToss/sample_submission.csv").read_text().split()[1:]
    hits = {t.split(",")[0]: t == s for t, s in zip(truth, sample, strict=True)}
    assert measured.private == pytest.approx(sum(hits.values()) / len(hits))  # the whole test set
    # The public split is the half of the rows the import's secret salt picks (a new salt per import).
    salt = json.loads((root / "eval" / mlgym_grader.CONFIG_FILE).read_text())["split"]["salt"]
    public = [hit for row_id, hit in hits.items() if mlgym_grader._public_row(salt, row_id)]
    assert 0 < len(public) < len(hits)
    assert measured.public == pytest.approx(sum(public) / len(public))
    assert measured.published == 0.5


@pytest.mark.docker
@pytest.mark.slow
def test_a_task_whose_truth_is_its_sample_submission_runs_and_the_rule_scores_perfectly(
    docker_client: Any, tmp_path: Path
) -> None:
    """What MAINTAINERS.md says of such a task (MLGym's Titanic) holds: it grades, and the rule that made the
    sample submission (every woman survives) scores 1 where MLGym publishes 0.625."""
    from gym_core.grading.grader import Grader
    from gym_core.images import image_for
    from gym_core.tasks.spec import Split

    result = mlgym.import_task(SRC, "passengerSurvival", tmp_path / "tasks")
    assert result.runnable and result.baseline_unreproducible and result.folder is not None
    task = load_task(result.folder)
    test_rows = (result.folder / "workspace" / "data" / "test.csv").read_text().splitlines()[1:]
    rule = "PassengerId,Survived\n" + "".join(
        f"{r.split(',')[0]},{int(r.split(',')[1] == 'female')}\n" for r in test_rows
    )
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "submission.csv").write_text(rule)
    grader = Grader(task, backend="docker", image=image_for(task, "docker"))
    graded = grader.grade(submission, split=Split.PRIVATE)
    assert graded.valid and graded.raw == 1.0
    assert task.spec.baseline.score == 0.625 and task.spec.succeeded(graded.raw)
