"""Task discovery along RGYM_TASKS_PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gym_core.errors import TaskNotFoundError, TaskSpecError
from gym_core.settings import SHIPPED_TASKS, get_settings
from gym_core.tasks.discovery import discover, find_task
from gym_core.tasks.loader import display_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


def test_finds_tasks_along_the_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RGYM_TASKS_PATH", os.pathsep.join([str(tmp_path / "missing"), str(FIXTURES)]))
    get_settings.cache_clear()
    found = discover()
    assert "tiny-mean" in found.tasks
    assert find_task("tiny-mean").root == (FIXTURES / "tiny-mean").resolve()


def test_first_folder_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = tmp_path / "first"
    shutil.copytree(FIXTURES / "tiny-mean", first / "tiny-mean")
    monkeypatch.setenv("RGYM_TASKS_PATH", os.pathsep.join([str(first), str(FIXTURES)]))
    get_settings.cache_clear()
    assert find_task("tiny-mean").root == (first / "tiny-mean").resolve()


def test_unknown_id_suggests_close_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    with pytest.raises(TaskNotFoundError) as info:
        find_task("tiny-maen")
    assert "Did you mean tiny-mean?" in str(info.value)


def test_broken_task_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "tiny-mean", tmp_path / "tiny-mean")
    (tmp_path / "tiny-mean" / "task.yaml").write_text("id: tiny-mean\n")
    monkeypatch.setenv("RGYM_TASKS_PATH", str(tmp_path))
    get_settings.cache_clear()
    found = discover()
    assert "tiny-mean" not in found.tasks
    assert list(found.broken) == [tmp_path / "tiny-mean"]
    with pytest.raises(TaskSpecError, match="title: required field is missing"):
        find_task("tiny-mean")


def test_a_path_is_accepted_as_id() -> None:
    assert find_task(str(FIXTURES / "tiny-mean")).id == "tiny-mean"


def test_the_shipped_tasks_stay_visible_after_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    assert get_settings().task_search_path() == [FIXTURES, SHIPPED_TASKS]
    found = discover()
    shipped = {p.name for p in SHIPPED_TASKS.iterdir() if (p / "task.yaml").is_file()}
    assert shipped and shipped <= set(found.tasks)
    assert "tiny-mean" in found.tasks
    assert found.source(found.tasks["tiny-mean"]) == display_path(FIXTURES)
    assert {found.source(found.tasks[t]) for t in shipped} == {"shipped"}


def test_a_task_on_the_path_hides_the_shipped_one_of_the_same_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shipped = next(p for p in sorted(SHIPPED_TASKS.iterdir()) if (p / "task.yaml").is_file())
    shutil.copytree(shipped, tmp_path / shipped.name)
    monkeypatch.setenv("RGYM_TASKS_PATH", str(tmp_path))
    get_settings.cache_clear()
    found = discover()
    assert found.tasks[shipped.name].root == (tmp_path / shipped.name).resolve()
    assert found.shadowed[shipped.name] == (shipped.resolve(),)
