"""Suite files: every listed task must exist, with a clear line naming the file and the field otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.errors import SuiteError
from gym_core.settings import REPO_ROOT
from gym_core.tasks.discovery import discover
from gym_core.tasks.suites import available_suites, find_suite, load_suite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"


def write(folder: Path, name: str, text: str) -> Path:
    (folder / "suites").mkdir(parents=True, exist_ok=True)
    path = folder / "suites" / f"{name}.yaml"
    path.write_text(text)
    return path


def test_core_lists_every_shipped_task() -> None:
    shipped = sorted(p.parent.name for p in (REPO_ROOT / "tasks").glob("*/task.yaml"))
    suite = load_suite(REPO_ROOT / "tasks" / "suites" / "core.yaml", found=discover([REPO_ROOT / "tasks"]))
    assert sorted(suite.spec.tasks) == shipped, "add every task in tasks/ to tasks/suites/core.yaml"
    assert [t.id for t in suite.tasks] == list(suite.spec.tasks)


def test_fixture_suite_loads_in_its_order() -> None:
    suite = find_suite("tiny", [FIXTURES])
    assert suite.name == "tiny"
    assert [t.id for t in suite.tasks] == ["tiny-mean", "guess-target"]
    assert available_suites([FIXTURES]) == {"tiny": FIXTURES / "suites" / "tiny.yaml"}


def test_a_missing_task_is_named_with_its_field_and_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "mine", "name: mine\ntasks: [tiny-mean, tiny-maen, no-such-task]\n")
    with pytest.raises(SuiteError) as caught:
        load_suite(path, found=discover([FIXTURES]))
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        "mine.yaml: tasks[1]: no task 'tiny-maen' along RGYM_TASKS_PATH (did you mean tiny-mean?)"
    )
    assert "tasks[2]: no task 'no-such-task'" in lines[1] and "rgym tasks list" in lines[1]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: other\ntasks: [tiny-mean]\n", "name: is 'other' but the file is mine.yaml"),
        ("name: mine\ntasks: []\n", "tasks: List should have at least 1 item"),
        ("name: mine\ntasks: [tiny-mean, tiny-mean]\n", "task 'tiny-mean' is listed twice"),
        ("name: mine\ntasks: [tiny-mean]\nextra: 1\n", "extra: unknown field"),
        ("name: mine\ntasks: [tiny-mean\n", "YAML syntax error"),
        ("- tiny-mean\n", "must be a mapping"),
    ],
)
def test_bad_suite_files_get_one_clear_line(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, "mine", text)
    with pytest.raises(SuiteError) as caught:
        load_suite(path, found=discover([FIXTURES]))
    assert needle in str(caught.value)
    assert "mine.yaml" in str(caught.value)


def test_an_unknown_suite_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"suite 'tiyn'.*did you mean tiny\?"):
        find_suite("tiyn", [FIXTURES])
    with pytest.raises(SuiteError, match=r"known suites: none"):
        find_suite("core", [tmp_path])
