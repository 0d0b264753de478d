"""Grading in a sandbox of its own, which the agent never sees.

Only the task's declared submission files are taken from the agent's workspace, through the sandbox's
safe copy (no symlinks, no traversal, bounded size). The grader runs from the task image with the
task's ``eval/`` bound read-only at /eval and the submission at /submission: the grader code always
comes from the task folder, never from the workspace.

The grader contract (docs/tasks.md):

* ``RGYM_SPLIT`` is ``public`` (validate) or ``private`` (submit, auto-submit): the half of the hidden data
  to score on.
* Exit 0: the last stdout line is JSON with a finite ``score``; other keys are diagnostics.
* Exit 1: the submission is invalid, with the reason on stderr (what the agent reads, so it must not reveal
  hidden data).
* Anything else is the grader failing, not a verdict on the submission: another exit code, a timeout, an OOM
  kill, an uncaught exception (Python exits 1 with a traceback: that is a crash, not a rejection), or exit 0
  without a usable score line. :attr:`GradeResult.failure` names it.

The agent is told only :attr:`GradeResult.message`: the score and the normalized score, or for an invalid
submission the reason. Everything the grader printed is kept in :attr:`GradeResult.output` and
:attr:`GradeResult.details` for evaluators. Only a grader sandbox that cannot be started raises
(:class:`~gym_core.errors.GradingError`): nothing of the submission has run then. A sandbox that fails once the
grader runs (an exec refused, the container lost, its supervisor stalled) is a grader failure like a crash
(:attr:`GraderFailure.SANDBOX`), since the submission may have caused it: it is regraded, and checked against the
task's reference submission, before anyone is blamed (:mod:`gym_core.env.evaluation`).

The submission folder's files are made readable for the grader (0644, folders 0755) without ever following a
link (:func:`open_for_grader`).

Code submissions (``grader.submission_kind: code``, e.g. a policy the grader plays against hidden
instances): the grader gets ``RGYM_SUBMISSION_RUNNER``, a command prefix (shell-split argv) that starts
the submitted program as another identity which cannot read /eval, the grader's files or memory, nor
signal or trace the grader, with no network, no capabilities and no new privileges; the grader talks to
it over stdin/stdout pipes. The full contract, and what the grader itself must do, is in
:mod:`gym_core.grading.code_submission` and docs/tasks.md. The runner is checked before every grading,
and a backend that cannot isolate submitted code refuses to grade it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from gym_core import faults
from gym_core.errors import GradingError, SandboxError
from gym_core.grading import code_submission
from gym_core.sandbox.base import (
    EVAL_MOUNT,
    SUBMISSION_MOUNT,
    CopyReport,
    ExecResult,
    Limits,
    Mount,
    Sandbox,
    SandboxConfig,
    SandboxRole,
)
from gym_core.tasks.loader import Task
from gym_core.tasks.spec import Split, SubmissionKind

#: Grader output kept with an evaluation (for evaluators).
GRADER_OUTPUT_CAP = 16 * 1024
#: Longest invalid-submission reason an agent is shown.
REASON_CAP = 500
EXIT_SCORE = 0
EXIT_INVALID = 1


class GraderFailure(StrEnum):
    """How the grader itself failed (as opposed to judging the submission invalid)."""

    CRASHED = "crashed"
    """An exit code other than 0 and 1, or an uncaught exception."""
    TIMED_OUT = "timed_out"
    OOM = "oom"
    NO_SCORE = "no_score"
    """Exit 0 without a last stdout line holding a finite score."""
    SANDBOX = "sandbox_failed"
    """The grader's sandbox failed while the grader ran (the grading raised instead of ending): an exec refused,
    the container lost, its supervisor stalled. The submission ran there, so it may be its doing."""


@dataclass(frozen=True)
class GradeResult:
    """The outcome of grading one submission."""

    valid: bool
    raw: float | None
    normalized: float | None
    message: str
    """What the agent is told: the score, or why the submission is invalid. Never grader diagnostics."""
    output: str = ""
    """The grader's stdout and stderr (capped), for evaluators only."""
    details: dict[str, Any] = field(default_factory=dict)
    """Everything else the grader's JSON line reported, for evaluators only."""
    duration_s: float = 0.0
    missing: tuple[str, ...] = ()
    """Declared submission files that were not in the workspace."""
    split: Split = Split.PRIVATE
    exit_code: int | None = None
    failure: GraderFailure | None = None
    """Set when the grader itself failed rather than judging the submission."""

    @property
    def no_submission(self) -> bool:
        """True when none of the declared files was there to grade."""
        return not self.valid and bool(self.missing)

    @property
    def evaluator_text(self) -> str:
        """The verdict and everything the grader printed, as the trace store keeps it."""
        head = self.message if self.failure is None else f"{self.message} [grader {self.failure.value}]"
        return f"{head}\n{self.output}".strip()


def _cap(text: str, cap: int = GRADER_OUTPUT_CAP) -> str:
    if len(text) <= cap:
        return text
    half = cap // 2
    return f"{text[:half]}\n[... {len(text) - cap} characters cut ...]\n{text[-half:]}"


def parse_grader_output(stdout: str) -> tuple[float | None, dict[str, Any], str | None]:
    """The score and details from the grader's last non-empty stdout line, or why there are none.

    The reason quotes the grader's output: it is for evaluators, never for the agent.
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None, {}, "the grader printed nothing (its last stdout line must be JSON with a score)"
    last = lines[-1].strip()
    try:
        data = json.loads(last)
    except (ValueError, RecursionError):  # not JSON, an integer of over 4300 digits, nested too deeply
        return None, {}, f"the grader's last line is not JSON rgym can read: {last[:200]!r}"
    if not isinstance(data, dict) or "score" not in data:
        return None, {}, f"the grader's last line has no 'score': {last[:200]!r}"
    score = data.pop("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return None, data, f"the grader's score is not a number: {str(score)[:200]!r}"
    try:
        value = float(score)
    except OverflowError:  # an integer beyond any float
        return None, data, f"the grader's score {str(score)[:40]}... is too large for a float"
    if not math.isfinite(value):
        return None, data, f"the grader's score is {score}, not a finite number"
    return value, data, None


def open_for_grader(folder: Path) -> None:
    """Make what is under ``folder`` readable for the grader: files 0644, folders 0755; links are left alone.

    Never follows a link, not even at the last component: each entry is opened with ``O_NOFOLLOW`` relative to
    its folder's descriptor (:func:`os.fwalk` does not descend into linked folders) and changed through that
    descriptor, so a link planted in the folder cannot make rgym chmod its target. Only regular files and
    folders are changed.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    for _path, dirnames, filenames, dirfd in os.fwalk(folder):
        for name in (*dirnames, *filenames):
            try:
                fd = os.open(name, flags, dir_fd=dirfd)
            except OSError:  # a link (ELOOP), or gone
                continue
            try:
                mode = os.fstat(fd).st_mode
                if stat.S_ISDIR(mode):
                    os.fchmod(fd, 0o755)
                elif stat.S_ISREG(mode):
                    os.fchmod(fd, 0o644)
            finally:
                os.close(fd)


def rejection_reason(stderr: str) -> str | None:
    """The reason a grader gave for exit 1 (its last stderr lines, capped), or None for an uncaught exception.

    Python exits 1 on an uncaught exception too; its traceback is a crash, not a verdict, and it may quote
    hidden data, so it is never shown to the agent.
    """
    if "Traceback (most recent call last):" in stderr:
        return None
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " ".join(lines[-3:])
    if len(text) > REASON_CAP:
        text = text[: REASON_CAP - 3] + "..."
    return text


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

    def grade(
        self,
        workspace_copy: Path,
        refused: CopyReport | None = None,
        *,
        split: Split = Split.PRIVATE,
        timeout_s: float | None = None,
    ) -> GradeResult:
        """Grade the declared submission files found in ``workspace_copy`` (a safe host-side copy).

        The grader learns the split from ``RGYM_SPLIT``; the score is normalized on that split's scores.

        Args:
            timeout_s: a bound below the grader's own timeout (a validate gets only the time left).

        Raises:
            GradingError: the grader sandbox could not be started (nothing of the submission has run yet). A
                sandbox that fails while the grader runs is a grader failure instead (:attr:`GraderFailure.SANDBOX`).
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
                    split=split,
                )
            open_for_grader(submission)
            result = self._run_grader(submission, split, timeout_s)
        return self._judged(result, split, duration_s=time.monotonic() - started)

    def grade_in(
        self,
        ahead: StartedGrader,
        workspace_copy: Path,
        refused: CopyReport | None = None,
        *,
        split: Split = Split.PRIVATE,
        timeout_s: float | None = None,
    ) -> GradeResult:
        """:meth:`grade`, in a grader sandbox started ahead (:meth:`start_ahead`): its submission folder, bound
        into the running sandbox, gets the files now."""
        started = time.monotonic()
        _present, missing = self.collect_submission(workspace_copy, ahead.submission)
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
                split=split,
            )
        open_for_grader(ahead.submission)
        try:
            sandbox = ahead.sandbox()
        except SandboxError as exc:
            raise GradingError(f"task {self.task.id}: the grader sandbox failed to start: {exc}") from exc
        result = self._exec_or_failure(sandbox, split, timeout_s)
        return self._judged(result, split, duration_s=time.monotonic() - started)

    def start_ahead(self) -> StartedGrader:
        """Start a grader sandbox in the background, while the submission is still being copied out."""
        return StartedGrader(self)

    def _config(self, submission: Path) -> SandboxConfig:
        spec = self.task.spec
        budget = spec.budget
        return SandboxConfig(
            image=self.image,
            workspace_src=None,
            mounts=(
                Mount(self.task.eval_dir, EVAL_MOUNT, read_only=True),
                Mount(submission, SUBMISSION_MOUNT, read_only=True, shared_with_runner=True),
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
            role=SandboxRole.GRADER,
            output_cap_bytes=GRADER_OUTPUT_CAP,
            submission_runner=spec.grader.submission_kind is SubmissionKind.CODE,
        )

    def _start_sandbox(self, submission: Path) -> Sandbox:
        """Create and start a grader sandbox with ``submission`` bound at /submission (checked runner)."""
        from gym_core.sandbox import create_sandbox

        faults.check("grader_start", "the grader sandbox could not be started")
        config = self._config(submission)
        sandbox = create_sandbox(self.backend, config)
        try:
            sandbox.start()
            if config.submission_runner:
                code_submission.check_runner(sandbox, self.task.eval_dir, task_id=self.task.id)
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def _exec_grader(self, sandbox: Sandbox, split: Split, timeout_s: float | None) -> ExecResult:
        spec = self.task.spec
        command = spec.grader.command
        if sandbox.config.submission_runner:
            command = code_submission.grader_command(command)
        timeout = spec.grader.timeout_s if timeout_s is None else min(spec.grader.timeout_s, timeout_s)
        return sandbox.exec(command, timeout_s=max(0.1, timeout), env={"RGYM_SPLIT": split.value})

    def _exec_or_failure(
        self, sandbox: Sandbox, split: Split, timeout_s: float | None
    ) -> ExecResult | SandboxError:
        """Run the grader in a started sandbox: its result, or the sandbox's failure while it ran.

        The one place a grader sandbox's failure is classified: the submission is in the sandbox and may run
        there (a code submission always does), so whatever fails now may be the submission's doing. It is
        never raised as the environment's; :meth:`_judged` makes it a grader failure, which is regraded.
        """
        try:
            return self._exec_grader(sandbox, split, timeout_s)
        except SandboxError as exc:
            return exc

    def _run_grader(
        self, submission: Path, split: Split, timeout_s: float | None = None
    ) -> ExecResult | SandboxError:
        try:
            sandbox = self._start_sandbox(submission)
        except SandboxError as exc:
            raise GradingError(f"task {self.task.id}: the grader sandbox failed to start: {exc}") from exc
        try:
            return self._exec_or_failure(sandbox, split, timeout_s)
        finally:
            sandbox.stop()

    def _judged(self, result: ExecResult | SandboxError, split: Split, *, duration_s: float) -> GradeResult:
        """The grading a grader run amounts to: :meth:`verdict`, or a grader failure when its sandbox failed."""
        if isinstance(result, SandboxError):
            return GradeResult(
                False,
                None,
                None,
                "invalid submission: the grader's sandbox failed while grading",
                _cap(f"[the grader's sandbox failed while the grader ran: {result}]"),
                duration_s=duration_s,
                split=split,
                failure=GraderFailure.SANDBOX,
            )
        return self.verdict(result, split, duration_s=duration_s)

    def verdict(self, result: ExecResult, split: Split, *, duration_s: float = 0.0) -> GradeResult:
        """The grading a grader command's result amounts to, under the grader contract."""
        spec = self.task.spec
        output = _cap((result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")).strip())

        def failed(failure: GraderFailure, what: str, details: dict[str, Any] | None = None) -> GradeResult:
            return GradeResult(
                False,
                None,
                None,
                f"invalid submission: the grader {what}",
                output,
                details or {},
                duration_s,
                split=split,
                exit_code=result.exit_code,
                failure=failure,
            )

        if result.timed_out:
            return failed(GraderFailure.TIMED_OUT, f"timed out after {spec.grader.timeout_s:g}s")
        code = spec.grader.submission_kind is SubmissionKind.CODE
        # In code mode the submitted program has the highest OOM score: the kernel kills it, not the grader,
        # and a grader that still exits 0 or 1 has judged the submission with that in view.
        if result.oom_killed and not (code and code_submission.trust_verdict_after_oom(result.exit_code)):
            return failed(GraderFailure.OOM, "ran out of memory")
        if result.exit_code == EXIT_INVALID:
            reason = rejection_reason(result.stderr)
            if reason is None:
                return failed(GraderFailure.CRASHED, "crashed while grading this submission")
            reason = reason or "the grader rejected the submission without giving a reason"
            return GradeResult(
                False,
                None,
                None,
                f"invalid submission: {reason}",
                output,
                duration_s=duration_s,
                split=split,
                exit_code=result.exit_code,
            )
        if result.exit_code != EXIT_SCORE:
            return failed(GraderFailure.CRASHED, f"crashed (exit code {result.exit_code})")
        raw, details, problem = parse_grader_output(result.stdout)
        if problem is not None or raw is None:
            # The problem quotes the grader's output: evaluators read it in the trace, the agent does not.
            return failed(GraderFailure.NO_SCORE, "reported no valid score", {"problem": problem, **details})
        normalized = spec.normalize(raw, split)
        if normalized is not None and not math.isfinite(normalized):
            # A finite score so far from the baseline that normalizing it overflows: no usable score either.
            problem = f"the grader's score {raw:g} normalizes to {normalized}, not a finite number"
            return failed(GraderFailure.NO_SCORE, "reported no valid score", {"problem": problem, **details})
        message = f"{spec.metric.name} = {raw:.6g}" + (
            f" (normalized {normalized:.3f})" if normalized is not None else " (no reference: raw score)"
        )
        return GradeResult(
            True,
            raw,
            normalized,
            message,
            output,
            details,
            duration_s,
            split=split,
            exit_code=result.exit_code,
        )


class StartedGrader:
    """A grader sandbox starting in the background (:meth:`Grader.start_ahead`), with its empty submission
    folder already bound in; :meth:`Grader.grade_in` fills the folder and runs the grader. ``close()`` stops it
    (always call it: a grading that never happens still started a sandbox)."""

    def __init__(self, grader: Grader) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="rgym-submission-")
        self.submission = Path(self._tmp.name) / "submission"
        self.submission.mkdir()
        self.submission.chmod(0o755)
        self._sandbox: Sandbox | None = None
        self._error: BaseException | None = None
        self._grader = grader
        self._thread = threading.Thread(target=self._start, daemon=True, name="rgym-grader-start")
        self._thread.start()

    def _start(self) -> None:
        try:
            self._sandbox = self._grader._start_sandbox(self.submission)
        except BaseException as exc:  # handed to the caller by sandbox()
            self._error = exc

    def sandbox(self) -> Sandbox:
        """The started sandbox (waits for its start; raises what the start raised)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._sandbox is not None
        return self._sandbox

    def close(self) -> None:
        """Stop the sandbox (once started) and delete the submission folder."""
        self._thread.join()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        self._tmp.cleanup()
