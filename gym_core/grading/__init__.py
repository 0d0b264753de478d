"""Grading submissions in a sandbox of their own."""

from __future__ import annotations

from gym_core.grading.grader import Grader, GradeResult, parse_grader_output

__all__ = ["GradeResult", "Grader", "parse_grader_output"]
