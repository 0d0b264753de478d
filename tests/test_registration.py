"""Registration: ids come from a cheap scan (no spec parsed at import); gym.make parses and validates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.settings import SHIPPED_TASKS
from gym_core.tasks.scan import scan_task_ids

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tasks" / "tiny-mean"


def _python(code: str, tasks_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RGYM_TASKS_PATH": str(tasks_path)},
        cwd=tasks_path,
        check=False,
    )


def _tasks(tmp_path: Path) -> Path:
    root = tmp_path / "tasks"
    shutil.copytree(FIXTURE, root / "tiny-mean")
    broken = root / "broken-budget"
    shutil.copytree(FIXTURE, broken)
    text = (broken / "task.yaml").read_text().replace("id: tiny-mean", "id: broken-budget")
    (broken / "task.yaml").write_text(text.replace("memory_mb: 256", "memory_mb: -1"))
    return root


@pytest.mark.parametrize("order", ["gym_core first", "gymnasium first"])
def test_import_registers_every_task_in_either_order(tmp_path: Path, order: str) -> None:
    first, second = ("gym_core", "gymnasium") if order == "gym_core first" else ("gymnasium", "gym_core")
    code = f"""
import json, sys
import {first}
import {second}
import gymnasium as gym
print(json.dumps(sorted(i for i in gym.registry if i.startswith("rgym/"))))
"""
    result = _python(code, _tasks(tmp_path))
    assert result.returncode == 0, result.stderr
    # The shipped tasks come after RGYM_TASKS_PATH and stay registered.
    shipped = [f"rgym/{task_id}-v{version}" for task_id, version in scan_task_ids([SHIPPED_TASKS])]
    assert json.loads(result.stdout) == sorted(["rgym/broken-budget-v1", "rgym/tiny-mean-v1", *shipped])


def test_importing_gym_core_does_not_import_gymnasium_or_parse_specs(tmp_path: Path) -> None:
    code = """
import json, sys
import gym_core
print(json.dumps({"gymnasium": "gymnasium" in sys.modules, "pydantic_spec": "gym_core.tasks.spec" in sys.modules}))
"""
    result = _python(code, _tasks(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"gymnasium": False, "pydantic_spec": False}


def test_a_broken_task_fails_at_make_with_its_field_problem(tmp_path: Path) -> None:
    code = """
import gym_core, gymnasium as gym
from gym_core.errors import TaskSpecError
env = gym.make("rgym/tiny-mean-v1", backend="local", record=False)
env.close()
try:
    gym.make("rgym/broken-budget-v1", backend="local", record=False)
except TaskSpecError as exc:
    print(exc)
"""
    result = _python(code, _tasks(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "broken-budget/task.yaml: budget.memory_mb: must be > 0" in result.stdout


def test_scan_reads_id_and_version_in_any_yaml_layout(tmp_path: Path) -> None:
    root = tmp_path / "tasks"
    for name, head in [
        ("plain", "id: plain\nversion: 3\n"),
        ("quoted", "id: 'quoted'  # a comment\nversion: 2 # another\n"),
        ("flow", "{id: flow, version: 4, title: x}\n"),
        ("no-version", "id: no-version\n"),
    ]:
        (root / name).mkdir(parents=True)
        (root / name / "task.yaml").write_text(head)
    (root / "not-a-task").mkdir()
    found = scan_task_ids([root])
    assert {key: path.name for key, path in found.items()} == {
        ("plain", 3): "plain",
        ("quoted", 2): "quoted",
        ("flow", 4): "flow",
    }


def test_the_first_folder_along_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for base, version in ((first, 1), (second, 2)):
        (base / "t").mkdir(parents=True)
        (base / "t" / "task.yaml").write_text(f"id: t\nversion: {version}\n")
    assert scan_task_ids([first, second]) == {("t", 1): first / "t"}
