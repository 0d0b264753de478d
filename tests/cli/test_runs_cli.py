"""`rgym run/report/resume` refuse bad input with one line, exit 2, and record nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.store import open_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--backend", "podman"], "unknown sandbox backend 'podman'"),
        (["--backend", "local", "--budget", "memory_mb=-1"], "--budget memory_mb: must be > 0"),
        (
            ["--backend", "local", "--budget", "walltime=3"],
            "--budget: unknown key walltime (did you mean wall_time_s? valid keys: wall_time_s, step_limit,",
        ),
        (["--backend", "local", "--perturb", "prompt=shouty"], "no description variant 'shouty'"),
        (["--backend", "local", "--runs", "0"], "--runs must be at least 1"),
        (["--backend", "local", "--agent", "tunr"], "Did you mean 'tuner'?"),
    ],
)
def test_bad_run_input_records_nothing(tmp_path: Path, extra: list[str], needle: str) -> None:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    env = {**os.environ, "RGYM_TASKS_PATH": str(FIXTURES), "RGYM_STORE": url}
    args = ["run", "tiny-mean", "--no-progress", *extra]
    if "--agent" not in extra:
        args += ["--agent", "noop"]
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    with open_store(url) as store:
        assert store.list_runs() == []


def test_bad_store_url_is_bad_input(tmp_path: Path) -> None:
    env = {**os.environ, "RGYM_TASKS_PATH": str(FIXTURES)}
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "report", "01ABC", "--store", "mysql://x/y"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unsupported database 'mysql'" in result.stderr and "Traceback" not in result.stderr
