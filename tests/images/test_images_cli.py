"""``rgym images build``: exit codes and the up-to-date message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from gym_core.cli.main import main
from gym_core.tasks.loader import Task

MakeTask = Callable[..., Task]


def test_unknown_id_is_bad_input_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(tmp_path))
    assert main(["images", "build", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no task 'nope'" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.docker
def test_second_build_says_up_to_date(
    docker_client: docker.DockerClient, make_task: MakeTask, capsys: pytest.CaptureFixture[str]
) -> None:
    task = make_task()
    assert main(["images", "build", str(task.root)]) == 0
    first = capsys.readouterr().out
    assert f"{task.image_tag}  built" in first
    assert main(["images", "build", str(task.root)]) == 0
    second = capsys.readouterr().out
    assert f"{task.image_tag}  up to date" in second
    assert "rgym/base:py3.11  up to date" in second
