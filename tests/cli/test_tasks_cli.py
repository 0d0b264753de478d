"""`rgym tasks ...` and the CLI's exit-code contract: 0 ok, 1 failed check, 2 bad input, no tracebacks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"
REPO = Path(__file__).resolve().parent.parent.parent


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


def test_validate_accepts_an_id_as_well_as_a_path() -> None:
    result = rgym("tasks", "validate", "tiny-mean", str(FIXTURES / "tiny-mean"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok") == 2 and "rgym/tiny-mean-v1" in result.stdout


def test_validate_an_unknown_id_is_one_line_with_a_suggestion() -> None:
    result = rgym("tasks", "validate", "tiny-maen")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "no task 'tiny-maen' along RGYM_TASKS_PATH (Did you mean tiny-mean?)"
    ]


def test_validate_an_invalid_task_by_id_names_its_fields(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "tiny-mean", tmp_path / "tiny-mean")
    spec = tmp_path / "tiny-mean" / "task.yaml"
    spec.write_text(spec.read_text().replace("memory_mb: 256", "memory_mb: 0"))
    result = rgym("tasks", "validate", "tiny-mean", env_tasks=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("tiny-mean/task.yaml: budget.memory_mb: must be > 0")


def test_list_shows_where_each_task_comes_from() -> None:
    result = rgym("tasks", "list")
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("│")}
    from gym_core.tasks.loader import display_path

    assert rows["tiny-mean"].split("│")[-2].strip() == display_path(FIXTURES)  # RGYM_TASKS_PATH comes first
    shipped = [p.name for p in (REPO / "tasks").iterdir() if (p / "task.yaml").is_file()]
    assert shipped  # and the shipped tasks stay visible after it
    assert all(rows[name].split("│")[-2].strip() == "shipped" for name in shipped)


def test_an_empty_list_says_which_folders_it_searched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gym_core import settings
    from gym_core.cli.main import main
    from gym_core.tasks import discovery

    # An installed rgym without shipped tasks, and an empty folder on the path.
    monkeypatch.setattr(settings, "SHIPPED_TASKS", tmp_path / "shipped")
    monkeypatch.setattr(discovery, "SHIPPED_TASKS", tmp_path / "shipped")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("RGYM_TASKS_PATH", f"{tmp_path / 'empty'}:{tmp_path / 'missing'}")
    settings.get_settings.cache_clear()
    assert main(["tasks", "list"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"no tasks found; searched {tmp_path / 'empty'} (0 tasks), {tmp_path / 'missing'} (missing)" in err
    assert "RGYM_TASKS_PATH" in err and "docs/tasks.md" in err


def test_no_message_or_help_points_to_spec_md() -> None:
    # Users never get SPEC.md: every pointer goes into docs/ or the README, which ship.
    for args in (
        ("--help",),
        ("tasks", "--help"),
        ("report", "--help"),
        ("compare", "--help"),
        ("runs", "--help"),
    ):
        result = rgym(*args)
        assert result.returncode == 0 and "SPEC" not in result.stdout + result.stderr
    for root in ("gym_core", "agents", "docs", "scripts"):
        for path in (REPO / root).rglob("*"):
            if (
                path.is_file()
                and path.suffix in (".py", ".md", ".html", "")
                and "__pycache__" not in path.parts
            ):
                assert "SPEC.md" not in path.read_text(errors="replace"), path
    assert "SPEC.md" not in (REPO / "README.md").read_text()


def test_every_docs_file_a_message_points_to_exists() -> None:
    mentioned = set()
    for root in ("gym_core", "agents"):
        for path in (REPO / root).rglob("*.py"):
            mentioned.update(re.findall(r"docs/[a-z_]+\.md", path.read_text()))
    mentioned.update(re.findall(r"docs/[a-z_]+\.md", (REPO / "README.md").read_text()))
    assert {"docs/tasks.md", "docs/metrics.md", "docs/agents.md", "docs/api.md"} <= mentioned
    assert [m for m in sorted(mentioned) if not (REPO / m).is_file()] == []
