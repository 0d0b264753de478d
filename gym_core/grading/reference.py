"""Running the baseline command over a task's workspace, and the task's reference submission.

:func:`produce` is what ``rgym tasks verify`` runs: the workspace (with ``reference/`` copied over it when
asked) in a fresh sandbox, the baseline command, and a safe copy of the result. :func:`reference_submission`
keeps the reference's declared submission files, made once per task checksum and cached in the data dir: the
grader is checked against it when it fails twice on an agent's submission, to tell a submission that breaks
the grader (the agent's failure) from a broken grader (the environment's).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gym_core.errors import GradingError
from gym_core.images import image_for
from gym_core.images.lock import image_lock
from gym_core.sandbox.base import CopyReport, Limits, NetworkMode, SandboxConfig, SandboxRole
from gym_core.settings import get_settings
from gym_core.tasks.loader import Task


def command_limits(task: Task) -> Limits:
    """Limits of a sandbox that runs the baseline command: offline, as long as one command may take."""
    from gym_core.env.budget import budget_limits  # the env package imports this module

    budget = task.spec.budget
    return budget_limits(budget, wall_time_s=budget.command_timeout_s + 300, network=NetworkMode.NONE)


@dataclass(frozen=True)
class Produced:
    """A workspace after the baseline command ran in it, copied out of its sandbox."""

    ok: bool
    log: str
    """The command's output (the last 2000 characters), or why it failed."""
    copy: Path | None = None
    report: CopyReport | None = None


@contextmanager
def produce(task: Task, backend: str, *, with_reference: bool) -> Iterator[Produced]:
    """Run the baseline command in a fresh sandbox (over reference/ when asked); yield the copied workspace."""
    from gym_core.sandbox import create_sandbox

    with tempfile.TemporaryDirectory(prefix="rgym-produce-") as tmp:
        workspace = Path(tmp) / "workspace"
        shutil.copytree(task.workspace_dir, workspace, symlinks=False)
        if with_reference:
            shutil.copytree(task.reference_dir, workspace, dirs_exist_ok=True, symlinks=False)
        config = SandboxConfig(
            image=image_for(task, backend),
            workspace_src=workspace,
            limits=command_limits(task),
            role=SandboxRole.VERIFY,
            output_cap_bytes=16 * 1024,
        )
        with create_sandbox(backend, config) as sandbox:
            result = sandbox.exec(task.spec.baseline.command, timeout_s=task.spec.budget.command_timeout_s)
            log = (result.stdout + result.stderr)[-2000:]
            if not result.ok:
                why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
                yield Produced(False, f"the baseline command failed ({why}): {log.strip()[-300:]}")
                return
            copy = Path(tmp) / "out"
            copy.mkdir()
            report = sandbox.copy_out(None, copy, max_bytes=task.spec.budget.disk_mb * 1024 * 1024)
        yield Produced(True, log, copy, report)


def reference_submission(task: Task, backend: str) -> Path:
    """A folder holding the reference's declared submission files (made once per task checksum).

    A task without a reference (``reference: null``) has the baseline's submission instead: the grader is
    checked against a submission known to grade.

    Raises:
        GradingError: the task has no reference/, or the reference could not be produced.
    """
    with_reference = task.spec.has_reference
    if with_reference and not task.reference_dir.is_dir():
        raise GradingError(f"task {task.id} has no reference/ to check its grader against")
    cache = get_settings().data_dir / "reference-submissions" / f"{task.id}-{task.checksum[:16]}-{backend}"
    done = cache / ".complete"
    with image_lock(f"reference-{task.id}-{task.checksum[:16]}-{backend}"):
        if done.is_file():
            return cache
        with produce(task, backend, with_reference=with_reference) as produced:
            if not produced.ok or produced.copy is None:
                which = "reference" if with_reference else "baseline (the task has no reference)"
                raise GradingError(
                    f"task {task.id}: the {which} submission could not be made: {produced.log}"
                )
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir(parents=True)
            for rel in task.spec.grader.submission:
                src = produced.copy / rel
                if src.is_file() and not src.is_symlink():
                    target = cache / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, target)
        done.write_text(task.checksum)
    return cache
