"""A grader that fails is regraded once, then checked against the task's reference submission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gym_core.env import evaluation
from gym_core.env.evaluation import Evaluator
from gym_core.errors import GraderBroken
from gym_core.grading.grader import GradeResult, GraderFailure
from gym_core.sandbox.base import CopyReport
from gym_core.tasks.loader import load_task
from gym_core.tasks.spec import Split

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


def _crash(note: str = "") -> GradeResult:
    return GradeResult(
        False,
        None,
        None,
        "invalid submission: the grader crashed (exit code 3)",
        f"boom {note}",
        failure=GraderFailure.CRASHED,
    )


VALID = GradeResult(True, 4.0, 0.0, "abs_error = 4 (normalized 0.000)", "ok")
REJECTED = GradeResult(False, None, None, "invalid submission: answer.txt must hold one number", "")


class ScriptedGrader:
    """Returns the given results in order; the last one for the reference submission."""

    def __init__(self, results: list[GradeResult]) -> None:
        self.results = list(results)
        self.graded: list[Path] = []

    def grade(
        self,
        copy: Path,
        report: CopyReport | None = None,
        *,
        split: Split = Split.PRIVATE,
        timeout_s: float | None = None,
    ) -> GradeResult:
        self.graded.append(copy)
        return self.results.pop(0)


@pytest.fixture
def evaluator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Evaluator:
    reference = tmp_path / "reference-submission"
    reference.mkdir()
    monkeypatch.setattr(evaluation, "reference_submission", lambda task, backend: reference)
    return Evaluator(load_task(FIXTURE), backend="docker", image="unused")


def _grade(evaluator: Evaluator, grader: Any, tmp_path: Path) -> GradeResult:
    return evaluator.grade_with_regrade(grader, tmp_path, CopyReport(), Split.PUBLIC)


def test_a_working_grader_is_asked_once(evaluator: Evaluator, tmp_path: Path) -> None:
    grader = ScriptedGrader([VALID])
    assert _grade(evaluator, grader, tmp_path) is VALID and len(grader.graded) == 1


def test_a_failure_that_does_not_reproduce_is_forgotten(evaluator: Evaluator, tmp_path: Path) -> None:
    grader = ScriptedGrader([_crash(), VALID])
    grade = _grade(evaluator, grader, tmp_path)
    assert grade.valid and grade.raw == 4.0 and grade.failure is None
    assert "[first grading: the grader crashed]" in grade.output and "[regraded]" in grade.output


def test_a_clean_rejection_on_regrade_stands(evaluator: Evaluator, tmp_path: Path) -> None:
    grade = _grade(evaluator, ScriptedGrader([_crash(), REJECTED]), tmp_path)
    assert not grade.valid and grade.failure is None and "must hold one number" in grade.message


def test_a_submission_that_breaks_the_grader_is_the_agents(evaluator: Evaluator, tmp_path: Path) -> None:
    grader = ScriptedGrader([_crash("1"), _crash("2"), VALID])
    grade = _grade(evaluator, grader, tmp_path)
    assert not grade.valid and grade.failure is GraderFailure.CRASHED
    assert grade.message.endswith("(twice; it grades the task's reference submission fine)")
    assert len(grader.graded) == 3 and grader.graded[-1].name == "reference-submission"


def test_a_grader_that_fails_on_the_reference_too_is_broken(evaluator: Evaluator, tmp_path: Path) -> None:
    with pytest.raises(GraderBroken, match="on the task's reference submission too"):
        _grade(evaluator, ScriptedGrader([_crash(), _crash(), _crash("ref")]), tmp_path)


class ScriptedClock:
    """A validate's clock that runs out when told: ``spent()`` answers from the list, then True."""

    def __init__(self, spent: list[bool]) -> None:
        self.answers = list(spent)

    def left(self) -> float:
        return 1.0

    def spent(self) -> bool:
        return self.answers.pop(0) if self.answers else True


def _timed_out() -> GradeResult:
    return GradeResult(
        False, None, None, "invalid submission: the grader timed out", "", failure=GraderFailure.TIMED_OUT
    )


def test_a_grading_the_budget_cut_short_is_not_regraded(evaluator: Evaluator, tmp_path: Path) -> None:
    grader = ScriptedGrader([_timed_out(), VALID])
    grade = evaluator.grade_with_regrade(
        grader,  # type: ignore[arg-type]
        tmp_path,
        CopyReport(),
        Split.PUBLIC,
        clock=ScriptedClock([True]),  # type: ignore[arg-type]
    )
    assert len(grader.graded) == 1 and not grade.valid and grade.failure is None
    assert grade.message == "not graded: the wall-time budget ran out during validate"


def test_a_reference_check_the_budget_cut_short_blames_nobody(evaluator: Evaluator, tmp_path: Path) -> None:
    # Two crashes, then the reference grading times out because the validate's time ran out: that says
    # nothing of the grader, so it is not the environment's failure (GraderBroken) either.
    grader = ScriptedGrader([_crash("1"), _crash("2"), _timed_out()])
    grade = evaluator.grade_with_regrade(
        grader,  # type: ignore[arg-type]
        tmp_path,
        CopyReport(),
        Split.PUBLIC,
        clock=ScriptedClock([False, False, True]),  # type: ignore[arg-type]
    )
    assert len(grader.graded) == 3 and not grade.valid
    assert grade.message == "not graded: the wall-time budget ran out during validate"
