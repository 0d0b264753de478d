"""`rgym tasks verify`'s failure cells: a grading that failed names the grader's verdict and the grader's
own last line, kept apart from what the baseline command printed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gym_core import verify
from gym_core.grading.grader import GradeResult, GraderFailure
from gym_core.tasks.discovery import find_task
from gym_core.tasks.spec import Split

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tasks" / "tiny-mean"
BASELINE_NOISE = "epoch 1 loss 0.3\nBASELINE-LAST-LINE wrote answer.txt"


def test_a_failed_grading_shows_the_graders_output_not_the_baselines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    task = find_task(str(FIXTURE))

    @contextmanager
    def produce(_task: object, _backend: str, *, with_reference: bool) -> Iterator[verify.Produced]:
        yield verify.Produced(True, BASELINE_NOISE, tmp_path, None)

    def grade_both_splits(_task: object, _backend: str, _produced: object) -> dict[Split, GradeResult]:
        crashed = GradeResult(
            False,
            None,
            None,
            "invalid submission: the grader crashed (exit code 2)",
            "reading /submission\nGRADER-LAST-LINE KeyError: 'answer'",
            split=Split.PUBLIC,
            exit_code=2,
            failure=GraderFailure.CRASHED,
        )
        return {Split.PUBLIC: crashed, Split.PRIVATE: crashed}

    monkeypatch.setattr(verify, "produce", produce)
    monkeypatch.setattr(verify, "grade_both_splits", grade_both_splits)
    report = verify.VerifyReport(task.id)
    for check in (
        verify.check_baseline(task, "docker", 1, report),
        verify.check_reference(task, "docker", report),
    ):
        assert not check.ok
        assert "the grader crashed (exit code 2)" in check.detail
        assert "the grader's last line: GRADER-LAST-LINE KeyError: 'answer'" in check.detail
        assert "BASELINE" not in check.detail and "epoch" not in check.detail


def test_a_failed_baseline_command_shows_its_own_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    task = find_task(str(FIXTURE))

    @contextmanager
    def produce(_task: object, _backend: str, *, with_reference: bool) -> Iterator[verify.Produced]:
        yield verify.Produced(False, "the baseline command failed (exit code 1): ModuleNotFoundError: numpy")

    monkeypatch.setattr(verify, "produce", produce)
    check = verify.check_baseline(task, "docker", 1, verify.VerifyReport(task.id))
    assert not check.ok and check.detail.startswith("the baseline command failed (exit code 1)")
