"""Reading the grader's verdict from its last stdout line."""

from __future__ import annotations

import pytest

from gym_core.grading.grader import parse_grader_output


def test_last_json_line_is_the_verdict() -> None:
    raw, details, problem = parse_grader_output('checking...\n{"score": 0.25, "n": 10}\n\n')
    assert (raw, details, problem) == (0.25, {"n": 10}, None)


@pytest.mark.parametrize(
    ("stdout", "problem"),
    [
        ("", "the grader printed nothing"),
        ("score: 0.3", "the grader's last line is not JSON"),
        ('{"ece": 0.3}', "has no 'score'"),
        ('{"score": "high"}', "is not a number"),
        ('{"score": NaN}', "not a finite number"),
        ('{"score": Infinity}', "not a finite number"),
        ('{"score": true}', "is not a number"),
        ('{"score": 1}\nbye', "the grader's last line is not JSON"),
    ],
)
def test_bad_verdicts_are_invalid(stdout: str, problem: str) -> None:
    raw, _, message = parse_grader_output(stdout)
    assert raw is None
    assert message is not None and problem in message
