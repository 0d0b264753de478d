"""Fixture tasks for image tests, each with a unique id so concurrent test runs never share images."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gym_core.settings import get_settings
from gym_core.tasks.loader import Task, load_task

TASK_YAML = """\
id: {id}
version: 1
title: A tiny fixture task
paper: {{title: "Fixture", venue: Test, year: 2024, url: "https://example.org/fixture"}}
metric: {{name: acc, direction: maximize}}
baseline: {{score: 0.1, public_score: 0.1, command: "python baseline.py"}}
reference: {{score: 0.9, public_score: 0.9}}
grader: {{command: "python /eval/grade.py /submission", timeout_s: 30, submission: ["p.csv"]}}
"""

MakeTask = Callable[..., Task]


@pytest.fixture(scope="session")
def shared_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheelhouse for the whole session, so six is downloaded once."""
    return tmp_path_factory.mktemp("wheelhouse")


@pytest.fixture
def make_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_wheelhouse: Path, request: pytest.FixtureRequest
) -> Iterator[MakeTask]:
    """Write a task folder with an optional environment/ and return it loaded; remove its images after."""
    monkeypatch.setenv("RGYM_WHEELHOUSE", str(shared_wheelhouse))
    get_settings.cache_clear()
    made: list[str] = []

    def make(requirements: str | None = None, dockerfile: str | None = None, **files: str) -> Task:
        task_id = f"img-test-{uuid.uuid4().hex[:10]}"
        root = tmp_path / "tasks" / task_id
        for sub in ("workspace", "eval"):
            (root / sub).mkdir(parents=True)
        (root / "task.yaml").write_text(TASK_YAML.format(id=task_id))
        (root / "README.md").write_text("# fixture\n")
        (root / "eval" / "grade.py").write_text("print('ok')\n")
        if requirements is not None or dockerfile is not None or files:
            (root / "environment").mkdir()
        if requirements is not None:
            (root / "environment" / "requirements.txt").write_text(requirements)
        if dockerfile is not None:
            (root / "environment" / "Dockerfile").write_text(dockerfile)
        for name, text in files.items():
            (root / "environment" / name).write_text(text)
        made.append(task_id)
        return load_task(root)

    yield make
    if "docker_client" in request.fixturenames:
        client = request.getfixturevalue("docker_client")
        for task_id in made:
            for image in client.images.list(filters={"label": f"rgym.task={task_id}"}):
                for tag in image.tags:
                    client.images.remove(tag, force=True, noprune=False)
