"""A task without a reference, end to end: runs succeed by beating the baseline, verify marks "no reference"."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from gym_core.report import render_report
from gym_core.report.store_loader import load_run_data
from gym_core.runner.runner import RunConfig, Runner
from gym_core.scoring.metrics import compute_metrics
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store
from gym_core.tasks.loader import load_task
from gym_core.verify import check_exploits, check_reference, verify_task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    """tiny-mean without its reference: baseline 5 (private), 4 (public), abs_error minimized."""
    root = tmp_path / "tasks" / "tiny-mean"
    shutil.copytree(FIXTURES / "tiny-mean", root)
    shutil.rmtree(root / "reference")
    spec = yaml.safe_load((root / "task.yaml").read_text())
    spec["reference"] = None
    for key in ("success", "exploits"):
        spec.pop(key)
    (root / "task.yaml").write_text(yaml.safe_dump(spec))
    return root


@pytest.fixture
def store(tmp_path: Path, task_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceStore]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(task_root.parent))
    get_settings.cache_clear()
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


def test_checks_needing_a_reference_are_marked_not_failed(task_root: Path) -> None:
    task = load_task(task_root)
    for check in (
        check_reference(task, "docker", report=None),  # type: ignore[arg-type]
        check_exploits(task, "docker", None, Console(file=io.StringIO())),
    ):
        assert check.ok and check.skipped == "no reference"


@pytest.mark.docker
@pytest.mark.slow
def test_run_and_verify_without_reference(
    docker_client: Any, store: TraceStore, task_root: Path, tmp_path: Path
) -> None:
    runner = Runner(store, console=Console(file=open(os.devnull, "w")), show_progress=False)  # noqa: SIM115
    run_ids = []
    for guess in ("8", "20"):  # private mean 10: errors 2 (beats the baseline's 5) and 10 (does not)
        script = tmp_path / f"guess-{guess}.jsonl"
        script.write_text(
            f'{{"tool": "write_file", "path": "answer.txt", "content": "{guess}\\n"}}\n'
            '{"tool": "validate"}\n{"tool": "submit"}\n'
        )
        run_ids.append(
            runner.start(RunConfig(task="tiny-mean", agent=f"script:{script}", runs=1, backend="docker"))
        )
        runner.execute(run_ids[-1])
    good, bad = (load_run_data(store, run_id) for run_id in run_ids)
    assert not good.has_reference and good.reference_raw is None
    assert [(a.final_raw, a.final_normalized, a.succeeded) for a in good.attempts] == [(2.0, None, True)]
    assert [(a.final_raw, a.succeeded) for a in bad.attempts] == [(10.0, False)]
    assert [e.raw for e in good.attempts[0].evaluations] == [1.0, 2.0]  # public mean 9, private mean 10
    metrics = compute_metrics(good)
    assert (metrics.c, metrics.best_of_k, metrics.best_attempt) == (1, 2.0, 1.0)
    assert "no reference: scores are raw abs_error" in render_report([good, bad], "md")

    out = io.StringIO()
    report = verify_task(load_task(task_root), backend="docker", console=Console(file=out, width=200))
    assert report.ok, report.checks
    checks = {c.name[:1]: c for c in report.checks}
    assert checks["2"].skipped == checks["5"].skipped == "no reference"
    assert checks["1"].skipped is None and "private 5 vs 5; public 4 vs 4" in checks["1"].detail
    assert "baseline public 4 != private 5" in checks["4"].detail
    assert "- no reference" in out.getvalue()
