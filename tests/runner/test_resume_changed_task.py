"""``rgym resume`` refuses to finish a run whose task changed since it started, and loses nothing doing so.

Scores of two task versions are not comparable, so a run's attempts must all see the same task. The run is
made and resumed through the CLI in real processes, on the local backend.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.store import open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"

INTERRUPTING_AGENT = '''
class Interrupts:
    """Stops its attempt the way Ctrl-C does, leaving the run's attempts to resume."""

    def act(self, observation):
        raise KeyboardInterrupt
'''


def _rgym(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # three real rgym processes
def test_resume_refuses_a_changed_task(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    shutil.copytree(FIXTURE, tasks / "tiny-mean")
    agent = tmp_path / "interrupts.py"
    agent.write_text(INTERRUPTING_AGENT)
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    env = {**os.environ, "RGYM_STORE": url, "RGYM_TASKS_PATH": str(tasks)}

    started = _rgym(
        env,
        "run",
        "tiny-mean",
        "--agent",
        f"module:{agent}:Interrupts",
        "--runs",
        "2",
        "--seed",
        "1",
        "--backend",
        "local",
        "--no-progress",
        "--no-report",
        "--agent-isolation",
        "thread",
    )  # fmt: skip  (thread: a KeyboardInterrupt raised by the agent is the runner's own, as Ctrl-C is)
    assert started.returncode == 130, started.stderr
    run_id = started.stdout.strip().splitlines()[-1]
    with open_store(url) as store:
        assert store.get_run(run_id).status == "interrupted"
        assert store.pending_attempts(run_id) == [0, 1]
        before = [(e.id, e.status) for e in store.list_episodes(run_id)]

    # Control: with the task unchanged, resume does start the pending attempts (interrupted again here).
    again = _rgym(env, "resume", run_id, "--no-progress")
    assert again.returncode == 130, again.stderr
    with open_store(url) as store:
        tried = [(e.id, e.status) for e in store.list_episodes(run_id)]
    assert len(tried) > len(before)

    baseline = tasks / "tiny-mean" / "workspace" / "baseline.py"
    baseline.write_text(baseline.read_text().replace("guess = 5.0", "guess = 6.0"))
    refused = _rgym(env, "resume", run_id, "--no-progress")
    assert refused.returncode == 1
    (error,) = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: task tiny-mean changed since run {run_id} started (checksum ")
    assert error.endswith("(start a new run; scores of different task versions are not comparable)")
    assert "Traceback" not in refused.stderr
    with open_store(url) as store:
        # Nothing was started and nothing recorded was lost.
        assert [(e.id, e.status) for e in store.list_episodes(run_id)] == tried
        assert store.get_run(run_id).status == "interrupted"


@pytest.mark.parametrize("change", ["eval/private.txt", "task.yaml"])
def test_any_change_to_the_task_folder_counts(tmp_path: Path, change: str) -> None:
    # The checksum covers the hidden data and the spec too, not only the agent's workspace.
    from gym_core.tasks.discovery import find_task

    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    before = find_task(str(root)).checksum
    path = root / change
    path.write_text(path.read_text() + "\n# changed\n" if change == "task.yaml" else "11\n")
    assert find_task(str(root)).checksum != before
