"""Every task shipped in tasks/ passes ``rgym tasks verify`` (all five checks), through the real CLI.

The verifies are the suite's longest tests (each plays the baseline, the reference and every exploit in
Docker), and mostly wait on containers, so they run ``RGYM_TEST_VERIFY_PARALLEL`` at a time (default 2)
in one module fixture; each task's test then reads its own verify's outcome.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gym_core.tasks.scan import scan_task_ids

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(task_id for task_id, _version in scan_task_ids([REPO_ROOT / "tasks"]))
PARALLEL = int(os.environ.get("RGYM_TEST_VERIFY_PARALLEL", "2"))

pytestmark = pytest.mark.longest_first


@dataclass(frozen=True)
class Verified:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float


def test_tasks_are_shipped() -> None:
    assert SHIPPED, "tasks/ holds no task"


def _verify(task_id: str, data_dir: Path) -> Verified:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "tasks", "verify", task_id, "--backend", "docker"],
        capture_output=True,
        text=True,
        timeout=2400,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200", "RGYM_DATA_DIR": str(data_dir)},
        check=False,
    )
    return Verified(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def verified(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Verified]:
    """Every shipped task's verify, PARALLEL at a time, each with a data dir of its own."""
    with ThreadPoolExecutor(max_workers=max(1, PARALLEL)) as pool:
        futures = {
            task_id: pool.submit(_verify, task_id, tmp_path_factory.mktemp(f"verify-{task_id}"))
            for task_id in SHIPPED
        }
        return {task_id: future.result() for task_id, future in futures.items()}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("task_id", SHIPPED)
def test_shipped_task_passes_verify(verified: dict[str, Verified], task_id: str) -> None:
    result = verified[task_id]
    print(f"{task_id}: verify took {result.wall_s:.0f} s")  # shown with -rP, and in CI logs on failure
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    for n in range(1, 6):
        assert f"{n}. " in result.stdout
    assert "FAIL" not in result.stdout
