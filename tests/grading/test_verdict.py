"""The grader contract: exit 0 scores, exit 1 rejects with a reason, anything else is the grader failing.

Whatever the grader prints beyond the score (and, on exit 1, its reason) stays out of the agent's message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.grading.grader import Grader, GraderFailure
from gym_core.sandbox.base import ExecResult
from gym_core.tasks.loader import load_task
from gym_core.tasks.spec import Split

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
SECRET = "hidden label 7 for row 12"


@pytest.fixture
def grader() -> Grader:
    return Grader(load_task(FIXTURE), backend="local", image="unused")


def result(exit_code: int | None, stdout: str = "", stderr: str = "", **flags: bool) -> ExecResult:
    return ExecResult(exit_code=exit_code, stdout=stdout, stderr=stderr, duration_s=0.1, **flags)


def test_exit_0_with_a_score_is_valid_and_normalized_on_its_split(grader: Grader) -> None:
    out = f'{SECRET}\n{{"score": 4.0, "nll": 1.2}}\n'
    public = grader.verdict(result(0, out), Split.PUBLIC)
    private = grader.verdict(result(0, out), Split.PRIVATE)
    assert public.valid and public.raw == 4.0 and public.normalized == 0.0  # public baseline is 4.0
    assert private.normalized == pytest.approx(0.2)  # private baseline 5.0, reference 0.0
    assert public.message == "abs_error = 4 (normalized 0.000)"
    assert SECRET not in public.message and "nll" not in public.message
    assert public.details == {"nll": 1.2} and SECRET in public.output and SECRET in public.evaluator_text


def test_exit_1_is_a_rejection_with_the_reason_from_stderr_only(grader: Grader) -> None:
    grade = grader.verdict(result(1, f"{SECRET}\n", "row 3: probabilities sum to 1.3\n"), Split.PUBLIC)
    assert not grade.valid and grade.failure is None and grade.split is Split.PUBLIC
    assert grade.message == "invalid submission: row 3: probabilities sum to 1.3"
    assert SECRET not in grade.message and SECRET in grade.output


def test_exit_1_without_a_reason_says_so(grader: Grader) -> None:
    grade = grader.verdict(result(1, SECRET), Split.PRIVATE)
    assert grade.failure is None
    assert grade.message == "invalid submission: the grader rejected the submission without giving a reason"


def test_a_long_reason_is_capped(grader: Grader) -> None:
    grade = grader.verdict(result(1, "", "x" * 5000), Split.PRIVATE)
    assert len(grade.message) < 600 and grade.message.endswith("...")


@pytest.mark.parametrize(
    ("exec_result", "failure", "message"),
    [
        (
            result(1, "", f'Traceback (most recent call last):\n  File "g.py"\nValueError: {SECRET}\n'),
            GraderFailure.CRASHED,
            "invalid submission: the grader crashed while grading this submission",
        ),
        (
            result(2, SECRET, SECRET),
            GraderFailure.CRASHED,
            "invalid submission: the grader crashed (exit code 2)",
        ),
        (result(None, SECRET, timed_out=True), GraderFailure.TIMED_OUT, "the grader timed out after 30s"),
        (result(137, SECRET, oom_killed=True), GraderFailure.OOM, "the grader ran out of memory"),
        (result(0, f"{SECRET}\n"), GraderFailure.NO_SCORE, "the grader reported no valid score"),
        (result(0, '{"score": NaN}'), GraderFailure.NO_SCORE, "the grader reported no valid score"),
    ],
    ids=["traceback", "exit-2", "timeout", "oom", "no-json", "nan"],
)
def test_a_failing_grader_is_named_and_its_output_never_reaches_the_agent(
    grader: Grader, exec_result: ExecResult, failure: GraderFailure, message: str
) -> None:
    grade = grader.verdict(exec_result, Split.PRIVATE)
    assert not grade.valid and grade.raw is None and grade.failure is failure
    assert message in grade.message
    assert SECRET not in grade.message
    assert f"[grader {failure.value}]" in grade.evaluator_text
