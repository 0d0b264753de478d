"""`rgym tasks ...` and the CLI's exit-code contract: 0 ok, 1 failed check, 2 bad input, no tracebacks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


def rgym(
    *args: str, cwd: Path | None = None, env_tasks: Path | None = FIXTURES
) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ)
    if env_tasks is not None:
        env["RGYM_TASKS_PATH"] = str(env_tasks)
    return subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    from gym_core import __version__

    result = rgym("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"rgym {__version__}"


def test_list_shows_fixture_task() -> None:
    result = rgym("tasks", "list")
    assert result.returncode == 0, result.stderr
    assert "tiny-mean" in result.stdout
    assert "abs_error" in result.stdout


def test_show_prints_spec_and_readme() -> None:
    result = rgym("tasks", "show", "tiny-mean")
    assert result.returncode == 0, result.stderr
    assert "rgym/tiny-mean-v1" in result.stdout
    assert "Estimate the mean" in result.stdout


def test_validate_good_is_ok() -> None:
    result = rgym("tasks", "validate", str(FIXTURES / "tiny-mean"))
    assert result.returncode == 0
    assert "ok" in result.stdout


def test_validate_broken_spec_prints_field_and_exits_2(tmp_path: Path) -> None:
    root = tmp_path / "tasks" / "x"
    shutil.copytree(FIXTURES / "tiny-mean", root)
    spec = (
        (root / "task.yaml")
        .read_text()
        .replace("id: tiny-mean", "id: x")
        .replace("memory_mb: 256", "memory_mb: 0")
    )
    (root / "task.yaml").write_text(spec)
    result = rgym("tasks", "validate", "tasks/x", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "tasks/x/task.yaml: budget.memory_mb: must be > 0"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("tasks", "validate", "/no/such/folder"), "/no/such/folder: no such task folder"),
        (("tasks", "show", "tiny-maen"), "Did you mean tiny-mean?"),
        (("tasks", "lst"), "No such command"),
        (("tasks", "show"), "Missing argument"),
        (("nonsense",), "No such command"),
    ],
)
def test_bad_input_is_one_clear_error_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = rgym(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_yaml_syntax_error_no_traceback(tmp_path: Path) -> None:
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURES / "tiny-mean", root)
    (root / "task.yaml").write_text("id: [unclosed\n")
    result = rgym("tasks", "validate", str(root))
    assert result.returncode == 2
    assert "YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr
