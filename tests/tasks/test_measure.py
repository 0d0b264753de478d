"""`rgym tasks verify --measure`: the tuner's run on a fixture task, written to the task's measured.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.sandbox import local_backend
from gym_core.tasks.catalogue import render_catalogue
from gym_core.tasks.loader import load_task
from gym_core.tasks.measured import MEASURED_FILE, read_measured

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not local_backend.bubblewrap_usable(), reason="the local backend needs bubblewrap here"
    ),
]


def test_verify_measure_writes_the_tuners_pass_at_5_and_pass_hat_5(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "guess-target", tmp_path / "guess-target")
    task = load_task(tmp_path / "guess-target")
    env = {**os.environ, "RGYM_TASKS_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "verify", str(task.root), "--measure",
         "--backend", "local", "-j", "2"],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    measured = read_measured(task)
    assert measured is not None and measured.is_current(task)
    assert (measured.task_id, measured.backend, measured.tuner.agent, measured.tuner.k) == (
        "guess-target",
        "local",
        "tuner",
        5,
    )
    t = measured.tuner
    assert t.n == 5
    # The knobs (guess 3, 5, 6) reach 5, 7, 8 on the private split, normalized 0, 0.4, 0.6: a success (>= 0.5)
    # needs guess 6, so every attempt's best of k is one of those values, and pass@5 / pass^5 with n = k = 5
    # are 1 when some / every attempt succeeded, else 0.
    assert t.best_of_k in (0.0, 0.4, 0.6)
    assert t.pass_at_k == (1.0 if t.c >= 1 else 0.0)
    assert t.pass_hat_k == (1.0 if t.c == 5 else 0.0)
    assert (
        f"wrote {task.root / MEASURED_FILE}" in result.stdout.replace("\n", "")
        or MEASURED_FILE in result.stdout
    )
    raw = json.loads((task.root / MEASURED_FILE).read_text())
    assert raw["task_checksum"] == load_task(task.root).checksum
    row = render_catalogue([load_task(task.root)]).splitlines()[2]
    assert row.endswith(f"| {t.pass_at_k:.2f} | {t.pass_hat_k:.2f} |")


def test_measure_is_refused_when_a_check_fails(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "guess-target", tmp_path / "guess-target")
    spec = tmp_path / "guess-target" / "task.yaml"
    spec.write_text(spec.read_text().replace("baseline: {score: 5.0,", "baseline: {score: 4.0,"))
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "verify", str(tmp_path / "guess-target"), "--measure",
         "--backend", "local"],
        env={**os.environ, "RGYM_TASKS_PATH": str(tmp_path)}, capture_output=True, text=True, timeout=900,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "not measured: the checks must pass first" in result.stderr
    assert not (tmp_path / "guess-target" / MEASURED_FILE).exists()
