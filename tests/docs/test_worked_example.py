"""docs/tasks.md stays true: it documents every task.yaml field, and its worked example runs exactly as
written, from an empty folder to a verified task, two agents run on it, and `rgym compare`'s verdict.

The example's blocks are the fenced blocks that follow a ``<!-- worked-example: run -->`` marker (shell,
run in order in one bash) or a ``<!-- worked-example: file PATH -->`` marker (written to PATH, relative to
the folder the shell is in at that point).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from gym_core.tasks.spec import TaskSpec

REPO = Path(__file__).resolve().parent.parent.parent
TASKS_MD = REPO / "docs" / "tasks.md"
BLOCK = re.compile(r"<!-- worked-example: (run|file (\S+)) -->\n```[a-z]*\n(.*?)^```", re.S | re.M)
EOF_MARK = "RGYM_WORKED_EXAMPLE_EOF"


def worked_example(markdown: str) -> str:
    """The worked example as one bash script."""
    parts = ["set -euo pipefail"]
    for match in BLOCK.finditer(markdown):
        kind, path, body = match.group(1), match.group(2), match.group(3)
        if kind == "run":
            parts.append(body)
        else:
            assert EOF_MARK not in body
            parts.append(f"mkdir -p \"$(dirname {path})\"\ncat > {path} <<'{EOF_MARK}'\n{body}{EOF_MARK}")
    return "\n".join(parts) + "\n"


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        dotted = f"{prefix}{name}"
        names.append(dotted)
        annotation: Any = info.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        for candidate in inner:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names += _fields(candidate, f"{dotted}[]." if "list" in str(annotation) else f"{dotted}.")
    return names


def test_every_task_yaml_field_is_documented() -> None:
    text = TASKS_MD.read_text()
    fields = _fields(TaskSpec)
    assert "budget.wall_time_s" in fields and "exploits[].public_at_least" in fields
    missing = [f for f in fields if f"`{f}`" not in text]
    assert missing == []


def _rgym_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RGYM_TASKS_PATH", "RGYM_STORE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_worked_example_builds_a_valid_task(tmp_path: Path) -> None:
    script = worked_example(TASKS_MD.read_text())
    # Up to validation only: no engine needed. The full example runs in the docker test below.
    head = script[: script.index("rgym images build")]
    assert "rgym tasks validate stump-threshold" in head
    result = subprocess.run(
        ["bash", "-c", head],
        cwd=tmp_path,
        env=_rgym_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ok tasks/stump-threshold (rgym/stump-threshold-v1)" in result.stdout
    task = tmp_path / "my-benchmark" / "tasks" / "stump-threshold"
    assert sorted(p.relative_to(task).as_posix() for p in task.rglob("*") if p.is_file()) == [
        "README.md",
        "eval/grade.py",
        "eval/labels.csv",
        "exploits/all_ones.jsonl",
        "exploits/read_eval.jsonl",
        "reference/baseline.py",
        "task.yaml",
        "workspace/baseline.py",
        "workspace/test_x.csv",
        "workspace/train.csv",
    ]


@pytest.mark.docker
@pytest.mark.slow
def test_the_worked_example_runs_as_written(docker_client: object, tmp_path: Path) -> None:
    script = worked_example(TASKS_MD.read_text())
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=_rgym_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    out = result.stdout
    assert result.returncode == 0, f"{out[-3000:]}\n{result.stderr[-3000:]}"
    checks = [line for line in out.splitlines() if line.startswith("│ ") and line[2].isdigit()]
    assert len(checks) == 5 and all("✓ pass" in line for line in checks), out
    assert "baseline: {score: 0.5, public_score: 0.7, ...}" in out
    assert "reference: {score: 0.9, public_score: 1, ...}" in out
    assert "B (tuner) vs A (baseline): better: success rate 0.000 -> 1.000" in out
    assert "paired by seed: 6 pairs" in out and "p = 0.031" in out
