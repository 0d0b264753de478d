"""Measuring an imported task's baseline on both splits, in rgym's sandboxes, and writing it into task.yaml.

An importer knows the source benchmark's published baseline, a single number graded the source's way. rgym
grades two splits; :func:`measure_baseline` runs the baseline command and the grader exactly as
``rgym tasks verify`` does, then writes the measured scores into ``task.yaml`` and ``MAINTAINERS.md`` beside
the published one, so the task reproduces here and the difference to the source stays on record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gym_core.errors import ImportSourceError
from gym_core.tasks.spec import Split


@dataclass(frozen=True)
class Measured:
    """The baseline's scores measured here, beside the published one."""

    published: float
    private: float
    public: float

    @property
    def relative_gap(self) -> float:
        """|private - published| relative to the published score."""
        return abs(self.private - self.published) / max(abs(self.published), 1e-12)


def measure_baseline(root: Path, backend: str) -> Measured:
    """Run the baseline command and grade its output on both splits; update task.yaml and MAINTAINERS.md.

    Raises:
        ImportSourceError: the baseline does not run or is not graded (the message says why).
    """
    from gym_core.grading.reference import produce
    from gym_core.tasks.loader import load_task
    from gym_core.verify import _grader_problem, grade_both_splits

    task = load_task(root)
    with produce(task, backend, with_reference=False) as produced:
        if not produced.ok:
            raise ImportSourceError(f"{root.name}: the baseline command failed here: {produced.log[-300:]}")
        grades = grade_both_splits(task, backend, produced)
    problem = _grader_problem(grades)
    if problem is not None:
        raise ImportSourceError(f"{root.name}: the baseline's output was not graded: {problem}")
    private, public = grades[Split.PRIVATE].raw, grades[Split.PUBLIC].raw
    assert private is not None and public is not None
    measured = Measured(task.spec.baseline.score, private, public)
    spec_path = root / "task.yaml"
    text = spec_path.read_text()
    text = re.sub(r"(\n  score: )[^\n]+", rf"\g<1>{private!r}", text, count=1)
    text = re.sub(r"(\n  public_score: )[^\n]+", rf"\g<1>{public!r}", text, count=1)
    spec_path.write_text(text)
    load_task(root)  # still valid
    notes = root / "MAINTAINERS.md"
    lines = notes.read_text().rstrip("\n").splitlines()
    lines = [ln for ln in lines if not ln.startswith("(not yet: run")]
    lines += [
        f"- Baseline measured with `rgym tasks import --measure` ({backend} backend): private {private!r}, "
        f"public {public!r}; published {measured.published!r} (private differs by "
        f"{measured.relative_gap:.2%}).",
        "",
    ]
    notes.write_text("\n".join(lines))
    return measured
