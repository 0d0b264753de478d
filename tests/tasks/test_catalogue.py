"""The README's task catalogue: `rgym tasks list --format md` from task specs and each task's measured.json."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.settings import REPO_ROOT
from gym_core.tasks.catalogue import render_catalogue
from gym_core.tasks.discovery import discover
from gym_core.tasks.loader import Task, load_task
from gym_core.tasks.measured import Measured, TunerMeasurement, read_measured, write_measured

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"


@pytest.fixture
def tasks(tmp_path: Path) -> dict[str, Task]:
    for name in ("tiny-mean", "guess-target"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    return {name: load_task(tmp_path / name) for name in ("tiny-mean", "guess-target")}


def measurement(task: Task, *, c: int, pass_at: float | None, pass_hat: float | None, k: int = 5) -> Measured:
    return Measured(
        task_id=task.id,
        task_version=task.spec.version,
        task_checksum=task.checksum,
        measured_at="2026-12-01T01:00:00+00:00",
        rgym_version="test",
        backend="local",
        seed=0,
        tuner=TunerMeasurement(
            agent="tuner", k=k, n=5, c=c, pass_at_k=pass_at, pass_hat_k=pass_hat, best_of_k=1.0, mean=0.5,
            wall_time_s=12.0,
        ),
    )  # fmt: skip


def test_catalogue_rows_come_from_the_spec_and_measured_json(tasks: dict[str, Task]) -> None:
    mean, total = tasks["tiny-mean"], tasks["guess-target"]
    write_measured(mean, measurement(mean, c=3, pass_at=1.0, pass_hat=0.1))
    assert read_measured(mean) == measurement(mean, c=3, pass_at=1.0, pass_hat=0.1)
    assert read_measured(total) is None
    assert render_catalogue([total, mean]) == (
        "| task | paper | area | metric | baseline → reference | tuner pass@5 | tuner pass^5 |\n"
        "|---|---|---|---|---|---|---|\n"
        "| `guess-target` | A fixture, not a paper, tests 2026 | fixtures | closeness ↑ | 5 → 10 | not measured | "
        "not measured |\n"
        "| `tiny-mean` | A fixture, not a paper, tests 2026 |  | abs_error ↓ | 5 → 0 | 1.00 | 0.10 |\n"
    )


def test_measured_json_leaves_the_checksum_alone_and_goes_stale_when_the_task_changes(
    tasks: dict[str, Task],
) -> None:
    task = tasks["tiny-mean"]
    before = task.checksum
    write_measured(task, measurement(task, c=5, pass_at=1.0, pass_hat=1.0))
    reloaded = load_task(task.root)
    assert reloaded.checksum == before
    assert "| 1.00 | 1.00 |" in render_catalogue([reloaded])
    (task.root / "README.md").write_text(task.readme + "\nOne more line.\n")
    changed = load_task(task.root)
    assert changed.checksum != before
    assert "| 1.00 (stale) | 1.00 (stale) |" in render_catalogue([changed])


def test_a_broken_measured_json_is_shown_not_fatal(tasks: dict[str, Task]) -> None:
    task = tasks["guess-target"]
    (task.root / "measured.json").write_text("{not json")
    assert "| invalid measured.json | invalid measured.json |" in render_catalogue([task])


def test_cli_md_format_prints_the_catalogue(tasks: dict[str, Task], tmp_path: Path) -> None:
    env = {**os.environ, "RGYM_TASKS_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "list", "--format", "md"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # the shipped tasks stay visible beside RGYM_TASKS_PATH: pick out the fixture rows
    rows = [line for line in result.stdout.splitlines() if "`tiny-mean`" in line or "`guess-target`" in line]
    assert rows == render_catalogue(tasks.values()).splitlines()[2:]
    bad = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "list", "--format", "html"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown format 'html'" in bad.stderr and "Traceback" not in bad.stderr


def test_readme_catalogue_is_the_generated_one() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    found = re.search(r"<!-- catalogue:start -->\n(.*?)<!-- catalogue:end -->", readme, flags=re.S)
    assert found, (
        "README.md needs the task catalogue between <!-- catalogue:start --> and <!-- catalogue:end -->"
    )
    expected = render_catalogue(discover([REPO_ROOT / "tasks"]).tasks.values())
    assert found.group(1) == expected, (
        "README.md's task catalogue is out of date: paste the output of `rgym tasks list --format md` "
        "(run in the repository root) between its catalogue markers"
    )
