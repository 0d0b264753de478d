"""Grading the agent's workspace during an episode: validate (public split), submit and auto-submit (private).

The workspace is copied out of the sandbox safely (no symlinks, bounded pieces, see
:mod:`gym_core.sandbox.workspace_copy`), snapshotted into the trace store, and graded in a sandbox of its own
from the task's image. Everything the grader printed is recorded for evaluators; the agent is told only the
score, the normalized score, validity and, for an invalid submission, the reason.

Bounds, so a hostile workspace can neither fill the store nor the host's memory:

* the snapshot holds at most ``snapshot_cap_mb`` of tar (``RGYM_SNAPSHOT_CAP_MB``, default 64): files are taken
  in path order while they fit; the others are left out, listed in the snapshot's header, and the snapshot is
  marked truncated (in the store, the evaluation's grader output and the step's flag ``snapshot_truncated``);
* a validate's snapshot also counts against the episode's artifact quota (``RGYM_EPISODE_ARTIFACT_QUOTA_MB``):
  past it, validate snapshots keep no files (marked truncated); the submission's snapshot is always taken;
* the declared submission files are copied whole for grading, up to the disk budget, in bounded pieces;
* a sparse file counts at its apparent size, so it is left out rather than streamed;
* a validate never runs past the episode's wall time: the copy and the grader get only the time left, and a
  validate cut short by it is recorded as not graded (the episode then ends with its auto-submit).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from gym_core.env.episode import EpisodeState
from gym_core.errors import GraderBroken
from gym_core.grading.grader import Grader, GradeResult, GraderFailure, StartedGrader
from gym_core.grading.reference import reference_submission
from gym_core.outcomes import EvaluationKind
from gym_core.sandbox.base import CopyReport, Sandbox
from gym_core.sandbox.safe_paths import CAP_REASON
from gym_core.sandbox.workspace_copy import OUT_OF_TIME
from gym_core.settings import get_settings
from gym_core.store.quota import MIB
from gym_core.tasks.loader import Task
from gym_core.tasks.spec import Split


class _Clock:
    """The time a validate may still take (None: no bound, for submit and the auto-submit)."""

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        """Seconds left (None when unbounded)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def spent(self) -> bool:
        """True when a bounded clock has run out."""
        left = self.left()
        return left is not None and left <= 0


def _for_lack_of_room(reason: str) -> bool:
    """A copy's refusal that a bigger cap (or more time) would not have made."""
    return reason.startswith((CAP_REASON, OUT_OF_TIME))


def split_for(kind: EvaluationKind) -> Split:
    """validate grades the public split; submit and the auto-submit grade the private one."""
    return Split.PUBLIC if kind is EvaluationKind.VALIDATE else Split.PRIVATE


class Evaluator:
    """Grades one task's workspaces on one backend and records each grading."""

    def __init__(self, task: Task, *, backend: str, image: str) -> None:
        self.task = task
        self.backend = backend
        self.image = image

    def evaluate(
        self,
        sandbox: Sandbox,
        episode: EpisodeState,
        *,
        step_index: int,
        kind: EvaluationKind,
        labels: dict[str, str],
    ) -> GradeResult:
        """Copy the workspace out, snapshot it, grade the declared files, record the evaluation."""
        validate = kind is EvaluationKind.VALIDATE
        if validate:
            episode.evals += 1
        split = split_for(kind)
        grader = Grader(self.task, backend=self.backend, image=self.image, labels=labels)
        clock = _Clock(episode.time_left() if validate else None)
        cap = int(get_settings().snapshot_cap_mb * MIB)
        if validate:
            cap = min(cap, episode.record.quota.left_bytes)
        # the grader's sandbox starts while the workspace is copied out; its /submission fills after
        ahead = grader.start_ahead()
        with contextlib.closing(ahead), tempfile.TemporaryDirectory(prefix="rgym-eval-") as tmp:
            copy = Path(tmp) / "workspace"
            copy.mkdir()
            snap_report = sandbox.copy_out(None, copy, max_bytes=cap, timeout_s=clock.left())
            truncated = any(_for_lack_of_room(reason) for _path, reason in snap_report.refused)
            snapshot = episode.record.snapshot(
                copy, omitted=snap_report.refused, truncated=truncated, charge_quota=validate
            )
            report = self._copy_submission(sandbox, episode, copy, snap_report, clock)
            if clock.spent():
                grade = self._out_of_time(split)
            else:
                grade = self.grade_with_regrade(grader, copy, report, split, clock=clock, ahead=ahead)
        if truncated:
            listed = ", ".join(p for p, r in snap_report.refused if _for_lack_of_room(r))
            episode.step_flags["snapshot_truncated"] = True
            grade = replace(
                grade,
                output=f"{grade.output}\n[snapshot truncated at {cap} bytes: it leaves out {listed[:2000]}]".strip(),
            )
        if validate:
            if grade.valid and (episode.best is None or self._better(grade, episode.best)):
                episode.best = grade
        else:
            episode.final = grade
        episode.record.evaluation(
            step_index=step_index,
            kind=kind,
            split=split,
            raw_score=grade.raw,
            normalized_score=grade.normalized,
            valid=grade.valid,
            grader_output=grade.evaluator_text,
            snapshot=snapshot,
        )
        return grade

    def _copy_submission(
        self, sandbox: Sandbox, episode: EpisodeState, copy: Path, snap_report: CopyReport, clock: _Clock
    ) -> CopyReport:
        """Copy the declared submission files the snapshot's copy left out (too big for it) next to it, whole
        up to the disk budget; the report says why any is missing."""
        declared = list(self.task.spec.grader.submission)
        need = [p for p in declared if p not in set(snap_report.copied)]
        if not need:
            return snap_report
        extra = sandbox.copy_out(need, copy, max_bytes=episode.budget.disk_mb * MIB, timeout_s=clock.left())
        refused = [(p, r) for p, r in snap_report.refused if p not in need] + list(extra.refused)
        return CopyReport(
            copied=snap_report.copied + extra.copied,
            refused=tuple(refused),
            total_bytes=snap_report.total_bytes + extra.total_bytes,
        )

    @staticmethod
    def _out_of_time(split: Split, output: str = "") -> GradeResult:
        return GradeResult(
            False,
            None,
            None,
            "not graded: the wall-time budget ran out during validate",
            output,
            split=split,
        )

    def grade_with_regrade(
        self,
        grader: Grader,
        copy: Path,
        report: CopyReport | None,
        split: Split,
        *,
        clock: _Clock | None = None,
        ahead: StartedGrader | None = None,
    ) -> GradeResult:
        """Grade; when the grader itself fails (a crash, a timeout, an OOM, no score, or its sandbox failing while
        it ran), regrade once, then check it against the reference submission.

        * the regrade works: its verdict stands (the first failure was the environment's, and passed);
        * it fails again, and the grader grades the task's reference submission fine: the submission breaks
          the grader, which is the agent's doing (an invalid submission);
        * it fails on the reference too: the grader is broken (:class:`GraderBroken`, the environment's).

        With a ``clock`` (a validate), each grading gets only the time left, and a grading the clock cut
        short is not graded at all (no regrade: the failure is the budget's, not the grader's).
        """
        clock = clock or _Clock(None)
        if ahead is not None:  # the first grading in the sandbox started ahead; a regrade in a fresh one
            first = grader.grade_in(ahead, copy, report, split=split, timeout_s=clock.left())
        else:
            first = grader.grade(copy, report, split=split, timeout_s=clock.left())
        if first.failure is None:
            return first
        if clock.spent():
            return self._out_of_time(split, first.output)
        second = grader.grade(copy, report, split=split, timeout_s=clock.left())
        history = f"[first grading: the grader {first.failure.value}]\n{first.output}"
        if second.failure is None:
            return replace(second, output=f"{history}\n[regraded]\n{second.output}".strip())
        if clock.spent():
            return self._out_of_time(split, f"{history}\n[regraded]\n{second.output}".strip())
        reference = grader.grade(
            reference_submission(self.task, self.backend), split=split, timeout_s=clock.left()
        )
        if reference.failure is GraderFailure.TIMED_OUT and clock.spent():
            # Cut short by the budget, the check says nothing of the grader: never blame the environment.
            return self._out_of_time(split, f"{history}\n[regraded]\n{second.output}".strip())
        if reference.failure is not None or not reference.valid:
            raise GraderBroken(
                f"task {self.task.id}: the grader failed twice on this submission ({second.failure.value}) "
                f"and on the task's reference submission too ({reference.message})"
            )
        return replace(
            second,
            message=f"{second.message} (twice; it grades the task's reference submission fine)",
            output=f"{history}\n[regraded: the grader {second.failure.value} again; the reference grades "
            f"fine: {reference.message}]\n{second.output}".strip(),
        )

    def _better(self, a: GradeResult, b: GradeResult) -> bool:
        assert a.raw is not None and b.raw is not None
        return self.task.spec.metric.better(a.raw, b.raw)
