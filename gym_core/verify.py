"""``rgym tasks verify``: the four checks a task must pass before agents are scored on it.

1. The baseline command reproduces ``baseline.score`` within ``baseline.tolerance`` (relative).
2. The reference (``reference/`` copied over ``workspace/``, then the baseline command) beats the
   baseline, and is reported beside ``reference.score``.
3. From inside an agent sandbox, nothing of ``eval/`` or ``reference/`` can be read: not at /eval or
   /reference, not at their host paths, and no file anywhere in the sandbox has their content.
4. The grader rejects an empty and a malformed submission, with a message.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gym_core.env.research_env import budget_limits
from gym_core.grading.grader import Grader, GradeResult
from gym_core.images import image_for
from gym_core.sandbox.base import Limits, NetworkMode, SandboxConfig
from gym_core.tasks.loader import Task


@dataclass(frozen=True)
class Check:
    """One verification check."""

    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    """All checks of one task."""

    task_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def _limits(task: Task) -> Limits:
    # Verification runs offline whatever the task allows, and lives as long as one command can.
    budget = task.spec.budget
    return budget_limits(budget, wall_time_s=budget.command_timeout_s + 300, network=NetworkMode.NONE)


def run_and_grade(task: Task, backend: str, *, with_reference: bool) -> tuple[GradeResult, str]:
    """Run the baseline command in a fresh sandbox (over reference/ when asked) and grade the result."""
    from gym_core.sandbox import create_sandbox

    image = image_for(task, backend)
    with tempfile.TemporaryDirectory(prefix="rgym-verify-") as tmp:
        workspace = Path(tmp) / "workspace"
        shutil.copytree(task.workspace_dir, workspace, symlinks=False)
        if with_reference:
            shutil.copytree(task.reference_dir, workspace, dirs_exist_ok=True, symlinks=False)
        config = SandboxConfig(
            image=image,
            workspace_src=workspace,
            limits=_limits(task),
            role="verify",
            output_cap_bytes=16 * 1024,
        )
        with create_sandbox(backend, config) as sandbox:
            result = sandbox.exec(task.spec.baseline.command, timeout_s=task.spec.budget.command_timeout_s)
            log = (result.stdout + result.stderr)[-2000:]
            if not result.ok:
                why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
                return GradeResult(False, None, None, f"the baseline command failed ({why})", log), log
            copy = Path(tmp) / "out"
            copy.mkdir()
            report = sandbox.copy_out(None, copy, max_bytes=task.spec.budget.disk_mb * 1024 * 1024)
        grade = Grader(task, backend=backend, image=image).grade(copy, report)
        return grade, log


def _within(score: float, target: float, tolerance: float) -> bool:
    return abs(score - target) <= tolerance * max(abs(target), 1e-9)


def check_baseline(task: Task, backend: str, runs: int) -> Check:
    spec = task.spec
    scores: list[float] = []
    for _ in range(runs):
        grade, log = run_and_grade(task, backend, with_reference=False)
        if not grade.valid or grade.raw is None:
            return Check("baseline reproduces", False, f"{grade.message}: {log.strip()[-300:]}")
        scores.append(grade.raw)
    worst = max(scores, key=lambda s: abs(s - spec.baseline.score))
    ok = _within(worst, spec.baseline.score, spec.baseline.tolerance)
    shown = ", ".join(f"{s:.4g}" for s in scores)
    return Check(
        "baseline reproduces",
        ok,
        f"{spec.metric.name} {shown} vs baseline.score {spec.baseline.score:.4g} "
        f"(tolerance {spec.baseline.tolerance:.0%} relative)",
    )


def check_reference(task: Task, backend: str) -> Check:
    spec = task.spec
    if not task.reference_dir.is_dir():
        return Check("reference beats baseline", False, f"{task.reference_dir} is missing")
    grade, log = run_and_grade(task, backend, with_reference=True)
    if not grade.valid or grade.raw is None:
        return Check("reference beats baseline", False, f"{grade.message}: {log.strip()[-300:]}")
    beats = spec.metric.better(grade.raw, spec.baseline.score)
    near = _within(grade.raw, spec.reference.score, spec.baseline.tolerance)
    detail = (
        f"{spec.metric.name} {grade.raw:.4g} (normalized {grade.normalized:.3f}) vs baseline "
        f"{spec.baseline.score:.4g}; reference.score {spec.reference.score:.4g}"
        + ("" if near else " (not reproduced within tolerance)")
    )
    return Check("reference beats baseline", beats and near, detail)


_PROBE = r"""
import hashlib, json, os, sys
targets = json.loads(sys.argv[1])
sizes = {t["size"] for t in targets}
digests = {t["sha256"] for t in targets}
readable = []
for t in targets:
    for p in t["paths"]:
        try:
            with open(p, "rb") as f:
                f.read(1)
            readable.append(p)
        except OSError:
            pass
found = []
for top in ("/",):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
        for name in files:
            path = os.path.join(root, name)
            try:
                if os.path.islink(path) or os.path.getsize(path) not in sizes:
                    continue
                with open(path, "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() in digests:
                        found.append(path)
            except OSError:
                continue
print(json.dumps({"readable": readable, "found": found}))
"""


def check_hidden(task: Task, backend: str) -> Check:
    from gym_core.sandbox import create_sandbox

    public = {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in task.workspace_dir.rglob("*") if p.is_file()
    }
    targets = []
    for folder, mount in ((task.eval_dir, "/eval"), (task.reference_dir, "/reference")):
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            rel = path.relative_to(folder).as_posix()
            # Content search only for files whose content proves something: not tiny, and (for reference/)
            # not an unchanged copy of a public workspace file. Every file's paths are still probed.
            searchable = len(data) >= 64 and (mount == "/eval" or digest not in public)
            targets.append(
                {
                    "paths": [f"{mount}/{rel}", str(path)],
                    "size": len(data) if searchable else -1,
                    "sha256": digest,
                }
            )
    config = SandboxConfig(
        image=image_for(task, backend),
        workspace_src=task.workspace_dir,
        limits=_limits(task),
        role="verify",
        output_cap_bytes=256 * 1024,
    )
    with create_sandbox(backend, config) as sandbox:
        sandbox.write_file(".rgym_probe.py", _PROBE)
        result = sandbox.exec(f"python3 .rgym_probe.py '{json.dumps(targets)}'", timeout_s=300)
    try:
        verdict = json.loads(result.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return Check(
            "eval/ and reference/ hidden",
            False,
            f"the probe failed: {(result.stderr or result.stdout)[-300:]}",
        )
    leaks = verdict["readable"] + [f for f in verdict["found"] if not f.startswith("/workspace/.rgym_probe")]
    if leaks:
        return Check(
            "eval/ and reference/ hidden", False, f"readable from the agent sandbox: {', '.join(leaks[:5])}"
        )
    return Check(
        "eval/ and reference/ hidden",
        True,
        f"{len(targets)} hidden file(s): not at /eval, /reference or their host paths, no copy anywhere",
    )


def check_grader_rejects(task: Task, backend: str) -> Check:
    image = image_for(task, backend)
    grader = Grader(task, backend=backend, image=image)
    problems = []
    for label, content in (("empty", b""), ("malformed", b"this is not a submission\n\x00\xff garbage\n")):
        with tempfile.TemporaryDirectory(prefix="rgym-verify-") as tmp:
            for rel in task.spec.grader.submission:
                target = Path(tmp) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            grade = grader.grade(Path(tmp))
        reason = grade.message.removeprefix("invalid submission: ").strip()
        if grade.valid:
            problems.append(f"accepted an {label} submission (score {grade.raw})")
        elif not reason or reason.startswith("exit code"):
            problems.append(f"rejected an {label} submission without a message")
        else:
            problems.append(f"ok: {label} -> {reason[:80]}")
    failed = [p for p in problems if not p.startswith("ok: ")]
    return Check("grader rejects junk", not failed, "; ".join(failed or [p[4:] for p in problems]))


def verify_task(
    task: Task, *, backend: str | None = None, runs: int = 1, console: Console | None = None
) -> VerifyReport:
    """Run the four checks and print a table of them."""
    from gym_core.sandbox import default_backend

    backend = backend or default_backend()  # default_backend honours RGYM_BACKEND
    console = console or Console()
    report = VerifyReport(task.id)
    steps: tuple[tuple[str, Callable[[], Check]], ...] = (
        ("baseline", lambda: check_baseline(task, backend, runs)),
        ("reference", lambda: check_reference(task, backend)),
        ("isolation", lambda: check_hidden(task, backend)),
        ("grader", lambda: check_grader_rejects(task, backend)),
    )
    with console.status(f"verifying {task.id} on {backend}...") as status:
        for name, fn in steps:
            status.update(f"verifying {task.id} on {backend}: {name}...")
            report.checks.append(fn())
    table = Table(title=f"rgym tasks verify {task.id} ({backend})", title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        table.add_row(check.name, "[green]pass[/]" if check.ok else "[red]FAIL[/]", check.detail)
    console.print(table)
    return report
