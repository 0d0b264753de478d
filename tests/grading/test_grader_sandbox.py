"""The grader's sandbox: failing once the grader runs is a grader failure (regraded, never the environment's
outright), failing to start is a GradingError; the submission folder is opened for the grader without following
links.

tests/env/test_gaming.py plays a submission that really wrecks its grader's sandbox on Docker.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gym_core.errors import GradingError, SandboxError
from gym_core.grading import grader as grader_module
from gym_core.grading.grader import Grader, GraderFailure, open_for_grader
from gym_core.tasks.loader import load_task
from gym_core.tasks.spec import Split

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
HIDDEN = "engine said: container 3f2a held /eval/private.txt"


class BrokenSandbox:
    """A started grader sandbox whose exec fails (as when the submission wrecked it)."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(submission_runner=False)
        self.stopped = False

    def exec(self, command: str, **_kw: Any) -> Any:
        raise SandboxError(f"sandbox 3f2a cannot run commands: {HIDDEN}")

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "answer.txt").write_text("10.0\n")
    return ws


@pytest.mark.parametrize("ahead", [False, True], ids=["fresh sandbox", "sandbox started ahead"])
def test_a_sandbox_failing_while_the_grader_runs_is_a_grader_failure(
    ahead: bool, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not raised as the environment's: a grader failure, which the evaluation regrades and checks against the
    reference (tests/env/test_regrade.py) before it blames anyone."""
    sandbox = BrokenSandbox()
    grader = Grader(load_task(FIXTURE), backend="docker", image="unused")
    monkeypatch.setattr(grader, "_start_sandbox", lambda submission: sandbox)
    if ahead:
        started = grader.start_ahead()
        try:
            grade = grader.grade_in(started, workspace, split=Split.PUBLIC)
        finally:
            started.close()
    else:
        grade = grader.grade(workspace, split=Split.PUBLIC)
    assert grade.failure is GraderFailure.SANDBOX and not grade.valid and grade.raw is None
    assert grade.message == "invalid submission: the grader's sandbox failed while grading"
    assert HIDDEN not in grade.message and HIDDEN in grade.output  # the engine's words are for evaluators
    assert grade.split is Split.PUBLIC and sandbox.stopped


@pytest.mark.parametrize("ahead", [False, True], ids=["fresh sandbox", "sandbox started ahead"])
def test_a_sandbox_that_does_not_start_is_a_grading_error(
    ahead: bool, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of the submission ran yet: the environment's (retried as an attempt)."""
    grader = Grader(load_task(FIXTURE), backend="docker", image="unused")

    def refuse(submission: Path) -> Any:
        raise SandboxError("docker could not start the sandbox: no such image")

    monkeypatch.setattr(grader, "_start_sandbox", refuse)
    with pytest.raises(GradingError, match="failed to start: docker could not start"):
        if ahead:
            started = grader.start_ahead()
            try:
                grader.grade_in(started, workspace)
            finally:
                started.close()
        else:
            grader.grade(workspace)


def test_opening_the_submission_never_follows_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o700)
    target = outside / "host-secret.txt"
    target.write_text("mine")
    target.chmod(0o600)
    outside.chmod(0o700)
    folder = tmp_path / "submission"
    (folder / "nested").mkdir(parents=True)
    (folder / "answer.txt").write_text("10.0\n")
    (folder / "answer.txt").chmod(0o600)
    (folder / "nested").chmod(0o700)
    (folder / "link-to-file").symlink_to(target)
    (folder / "link-to-folder").symlink_to(outside)
    (folder / "nested" / "deep-link").symlink_to(target)
    open_for_grader(folder)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # the links' targets keep their modes
    assert stat.S_IMODE(outside.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "answer.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((folder / "nested").stat().st_mode) == 0o755
    assert os.path.islink(folder / "link-to-file") and os.path.islink(folder / "link-to-folder")


def test_grading_opens_the_submission_through_the_link_safe_helper(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of grading open the submission folder with :func:`open_for_grader`, never a chmod of their own."""
    opened: list[Path] = []
    monkeypatch.setattr(grader_module, "open_for_grader", opened.append)
    grader = Grader(load_task(FIXTURE), backend="docker", image="unused")
    monkeypatch.setattr(grader, "_start_sandbox", lambda submission: BrokenSandbox())
    grader.grade(workspace)
    started = grader.start_ahead()
    try:
        grader.grade_in(started, workspace)
    finally:
        started.close()
    assert len(opened) == 2 and opened[1] == started.submission
