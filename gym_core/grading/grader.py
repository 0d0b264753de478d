"""Grading in a sandbox of its own, which the agent never sees (SPEC.md sections 1 and 5).

Only the task's declared submission files are taken from the agent's workspace, through the sandbox's
safe copy (no symlinks, no traversal, bounded size). The grader runs from the task image with the
task's ``eval/`` bound read-only at /eval and the submission at /submission: the grader code always
comes from the task folder, never from the workspace.

The grader's last stdout line is JSON ``{"score": float, ...}``. A grader that crashes, times out,
prints no JSON, or reports NaN gives an *invalid submission* carrying the grader's own message; that is
a result, never an exception. Only infrastructure failures (no sandbox can be started) raise.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_core.errors import GradingError, SandboxError
from gym_core.sandbox.base import (
    EVAL_MOUNT,
    SUBMISSION_MOUNT,
    CopyReport,
    Limits,
    Mount,
    SandboxConfig,
)
from gym_core.tasks.loader import Task

#: Grader output kept with an evaluation.
GRADER_OUTPUT_CAP = 16 * 1024


@dataclass(frozen=True)
class GradeResult:
    """The outcome of grading one submission."""

    valid: bool
    raw: float | None
    normalized: float | None
    message: str
    """One line: the score, or why the submission is invalid."""
    output: str = ""
    """The grader's stdout and stderr (capped)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Everything else the grader's JSON line reported."""
    duration_s: float = 0.0
    missing: tuple[str, ...] = ()
    """Declared submission files that were not in the workspace."""

    @property
    def no_submission(self) -> bool:
        """True when none of the declared files was there to grade."""
        return not self.valid and bool(self.missing)


def _cap(text: str, cap: int = GRADER_OUTPUT_CAP) -> str:
    if len(text) <= cap:
        return text
    half = cap // 2
    return f"{text[:half]}\n[... {len(text) - cap} characters cut ...]\n{text[-half:]}"


def parse_grader_output(stdout: str) -> tuple[float | None, dict[str, Any], str | None]:
    """The score and details from the grader's last non-empty stdout line, or why there are none."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None, {}, "the grader printed nothing (its last stdout line must be JSON with a score)"
    last = lines[-1].strip()
    try:
        data = json.loads(last)
    except json.JSONDecodeError:
        return None, {}, f"the grader's last line is not JSON: {last[:200]!r}"
    if not isinstance(data, dict) or "score" not in data:
        return None, {}, f"the grader's last line has no 'score': {last[:200]!r}"
    score = data.pop("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return None, data, f"the grader's score is not a number: {score!r}"
    if not math.isfinite(float(score)):
        return None, data, f"the grader's score is {score}, not a finite number"
    return float(score), data, None


class Grader:
    """Grades workspaces of one task on one backend."""

    def __init__(self, task: Task, *, backend: str, image: str, labels: dict[str, str] | None = None) -> None:
        self.task = task
        self.backend = backend
        self.image = image
        self.labels = dict(labels or {})

    def collect_submission(self, workspace_copy: Path, dest: Path) -> tuple[list[str], list[str]]:
        """Copy the declared files from a safe host copy of the workspace into ``dest``.

        Returns:
            (present, missing) relative paths.
        """
        present, missing = [], []
        for rel in self.task.spec.grader.submission:
            src = workspace_copy / rel
            if src.is_file() and not src.is_symlink():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
                present.append(rel)
            else:
                missing.append(rel)
        return present, missing

    def grade(self, workspace_copy: Path, refused: CopyReport | None = None) -> GradeResult:
        """Grade the declared submission files found in ``workspace_copy`` (a safe host-side copy).

        Raises:
            GradingError: the grader sandbox itself could not run (not the submission's fault).
        """
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="rgym-submission-") as tmp:
            submission = Path(tmp) / "submission"
            submission.mkdir()
            submission.chmod(0o755)
            _present, missing = self.collect_submission(workspace_copy, submission)
            if missing:
                reasons = dict(refused.refused) if refused else {}
                why = "; ".join(f"{m}: {reasons.get(m, 'not found in /workspace')}" for m in missing)
                return GradeResult(
                    valid=False,
                    raw=None,
                    normalized=None,
                    message=f"invalid submission: missing {why}",
                    duration_s=time.monotonic() - started,
                    missing=tuple(missing),
                )
            for path in submission.rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)
            return self._run_grader(submission, started)

    def _run_grader(self, submission: Path, started: float) -> GradeResult:
        from gym_core.sandbox import create_sandbox

        spec = self.task.spec
        budget = spec.budget
        config = SandboxConfig(
            image=self.image,
            workspace_src=None,
            mounts=(
                Mount(self.task.eval_dir, EVAL_MOUNT, read_only=True),
                Mount(submission, SUBMISSION_MOUNT, read_only=True),
            ),
            limits=Limits(
                cpus=budget.cpus,
                memory_mb=max(budget.memory_mb, 512),
                pids=max(budget.pids, 64),
                disk_mb=256,
                network=Limits().network,
                wall_time_s=spec.grader.timeout_s + 60,
            ),
            labels={**self.labels},
            role="grader",
            output_cap_bytes=GRADER_OUTPUT_CAP,
        )
        try:
            with create_sandbox(self.backend, config) as sandbox:
                result = sandbox.exec(spec.grader.command, timeout_s=spec.grader.timeout_s)
        except SandboxError as exc:
            raise GradingError(f"task {self.task.id}: the grader sandbox failed: {exc}") from exc
        output = _cap((result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")).strip())
        duration = time.monotonic() - started
        if result.timed_out:
            return GradeResult(
                False,
                None,
                None,
                f"invalid submission: the grader timed out after {spec.grader.timeout_s:g}s",
                output,
                duration_s=duration,
            )
        if result.oom_killed:
            return GradeResult(
                False,
                None,
                None,
                "invalid submission: the grader ran out of memory",
                output,
                duration_s=duration,
            )
        if result.exit_code != 0:
            reason = _last_line(result.stderr) or _last_line(result.stdout) or f"exit code {result.exit_code}"
            return GradeResult(
                False, None, None, f"invalid submission: {reason}", output, duration_s=duration
            )
        raw, details, problem = parse_grader_output(result.stdout)
        if problem is not None or raw is None:
            return GradeResult(False, None, None, f"invalid submission: {problem}", output, details, duration)
        normalized = spec.normalize(raw)
        message = f"{spec.metric.name} = {raw:.6g} (normalized {normalized:.3f})"
        return GradeResult(True, raw, normalized, message, output, details, duration)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
