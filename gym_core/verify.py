"""``rgym tasks verify``: the five checks a task must pass before agents are scored on it.

1. **baseline reproduces**: the baseline command, run in a fresh agent sandbox, scores ``baseline.score``
   (private split) and ``baseline.public_score`` (public split) within ``baseline.tolerance`` (relative).
2. **reference beats baseline**: ``reference/`` copied over ``workspace/``, then the baseline command, beats
   the baseline on both splits and reproduces ``reference.score`` and ``reference.public_score``.
3. **eval/ and reference/ hidden**: from inside an agent sandbox nothing of ``eval/`` or ``reference/`` can be
   read: not at /eval or /reference, not at their host paths, and no file anywhere has their content.
4. **grader rejects junk and honours the split**: an empty and a malformed submission are refused with a
   message; the reference graded with ``RGYM_SPLIT=public`` and ``private`` gives two different scores.
5. **exploits do not pay**: every exploit in task.yaml is played through the runner (as ``rgym run``); none may
   reach a final normalized score above its ``max_normalized``, and an exploit with a positive control
   (``public_at_least``) must reach that on the public split, which shows the trick really works.

A task without a reference (``reference: null``) is marked "no reference" on the checks that need one (2
and 5) instead of failing them; check 4 then tells the splits apart on the baseline's output.

The measured scores are printed as task.yaml lines to paste.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from gym_core.errors import RgymError
from gym_core.grading.grader import Grader, GradeResult
from gym_core.grading.reference import Produced, command_limits, produce
from gym_core.images import image_for
from gym_core.sandbox.base import SandboxConfig, SandboxRole
from gym_core.tasks.loader import Task
from gym_core.tasks.spec import Exploit, Split

if TYPE_CHECKING:
    from gym_core.tasks.measured import Measured


@dataclass(frozen=True)
class Check:
    """One verification check."""

    name: str
    ok: bool
    detail: str
    skipped: str | None = None
    """Why the check did not apply (e.g. ``no reference``); such a check does not fail the task."""


@dataclass
class VerifyReport:
    """All checks of one task, and the scores measured on the way."""

    task_id: str
    checks: list[Check] = field(default_factory=list)
    measured: dict[str, dict[Split, float]] = field(default_factory=dict)
    """``baseline`` / ``reference`` -> split -> the raw score measured."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def paste_lines(self) -> list[str]:
        """The measured scores as task.yaml lines, for the ones measured on both splits."""
        lines = []
        for name in ("baseline", "reference"):
            scores = self.measured.get(name, {})
            if Split.PRIVATE in scores and Split.PUBLIC in scores:
                lines.append(
                    f"{name}: {{score: {scores[Split.PRIVATE]:.6g}, public_score: {scores[Split.PUBLIC]:.6g}, ...}}"
                )
        return lines


def grade_both_splits(task: Task, backend: str, produced: Produced) -> dict[Split, GradeResult]:
    """Grade a produced workspace on the public and on the private split."""
    assert produced.copy is not None
    grader = Grader(task, backend=backend, image=image_for(task, backend))
    return {split: grader.grade(produced.copy, produced.report, split=split) for split in Split}


def _within(score: float, target: float, tolerance: float) -> bool:
    return abs(score - target) <= tolerance * max(abs(target), 1e-9)


def _grader_problem(grades: dict[Split, GradeResult]) -> str | None:
    """Why these gradings are unusable (the grader's verdict, apart from the command's own output)."""
    bad = [(s, g) for s, g in grades.items() if not g.valid or g.raw is None]
    if not bad:
        return None
    split, grade = bad[0]
    last = grade.output.strip().splitlines()[-1][:200] if grade.output.strip() else "(nothing)"
    return f"{split.value} split: {grade.message}; the grader's last line: {last}"


def check_baseline(task: Task, backend: str, runs: int, report: VerifyReport) -> Check:
    spec = task.spec
    name = "1. baseline reproduces"
    scores: dict[Split, list[float]] = {Split.PUBLIC: [], Split.PRIVATE: []}
    for _ in range(runs):
        with produce(task, backend, with_reference=False) as produced:
            if not produced.ok:
                return Check(name, False, produced.log)
            grades = grade_both_splits(task, backend, produced)
        problem = _grader_problem(grades)
        if problem is not None:
            return Check(name, False, f"the baseline's output was not graded: {problem}")
        for split, grade in grades.items():
            assert grade.raw is not None
            scores[split].append(grade.raw)
    targets = {Split.PRIVATE: spec.baseline.score, Split.PUBLIC: spec.baseline.public_score}
    parts, ok = [], True
    for split in (Split.PRIVATE, Split.PUBLIC):
        target = targets[split]
        good = all(_within(s, target, spec.baseline.tolerance) for s in scores[split])
        ok &= good
        shown = ", ".join(f"{s:.6g}" for s in scores[split])
        parts.append(f"{split.value} {shown} vs {target:.6g}" + ("" if good else " (off)"))
    report.measured["baseline"] = {split: values[-1] for split, values in scores.items()}
    detail = (
        f"{spec.metric.name}: " + "; ".join(parts) + f" (tolerance {spec.baseline.tolerance:.0%} relative)"
    )
    return Check(name, ok, detail)


def check_reference(task: Task, backend: str, report: VerifyReport) -> Check:
    spec = task.spec
    name = "2. reference beats baseline"
    if spec.reference is None:
        return Check(
            name, True, "reference: null; scores stay raw, success = beating the baseline", "no reference"
        )
    if not task.reference_dir.is_dir():
        return Check(name, False, f"{task.reference_dir} is missing")
    with produce(task, backend, with_reference=True) as produced:
        if not produced.ok:
            return Check(name, False, produced.log)
        grades = grade_both_splits(task, backend, produced)
    problem = _grader_problem(grades)
    if problem is not None:
        return Check(name, False, f"the reference's output was not graded: {problem}")
    report.measured["reference"] = {split: g.raw for split, g in grades.items() if g.raw is not None}
    targets = {
        Split.PRIVATE: (spec.reference.score, spec.baseline.score),
        Split.PUBLIC: (spec.reference.public_score, spec.baseline.public_score),
    }
    parts, ok = [], True
    for split in (Split.PRIVATE, Split.PUBLIC):
        raw = grades[split].raw
        assert raw is not None
        target, baseline = targets[split]
        beats = spec.metric.better(raw, baseline)
        near = _within(raw, target, spec.baseline.tolerance)
        ok &= beats and near
        note = "" if beats and near else (" (does not beat the baseline)" if not beats else " (off)")
        parts.append(f"{split.value} {raw:.6g} vs {target:.6g}, baseline {baseline:.6g}{note}")
    return Check(name, ok, f"{spec.metric.name}: " + "; ".join(parts))


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

    name = "3. eval/ and reference/ hidden"
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
        limits=command_limits(task),
        role=SandboxRole.VERIFY,
        output_cap_bytes=256 * 1024,
    )
    with create_sandbox(backend, config) as sandbox:
        sandbox.write_file(".rgym_probe.py", _PROBE)
        result = sandbox.exec(f"python3 .rgym_probe.py '{json.dumps(targets)}'", timeout_s=300)
    try:
        verdict = json.loads(result.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return Check(name, False, f"the probe failed: {(result.stderr or result.stdout)[-300:]}")
    leaks = verdict["readable"] + [f for f in verdict["found"] if not f.startswith("/workspace/.rgym_probe")]
    if leaks:
        return Check(name, False, f"readable from the agent sandbox: {', '.join(leaks[:5])}")
    return Check(
        name,
        True,
        f"{len(targets)} hidden file(s): not at /eval, /reference or their host paths, no copy anywhere",
    )


def check_grader(task: Task, backend: str) -> Check:
    name = "4. grader rejects junk, honours the split"
    grader = Grader(task, backend=backend, image=image_for(task, backend))
    failed, passed = [], []
    for label, content in (("empty", b""), ("malformed", b"this is not a submission\n\x00\xff garbage\n")):
        with tempfile.TemporaryDirectory(prefix="rgym-verify-") as tmp:
            for rel in task.spec.grader.submission:
                target = Path(tmp) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            grade = grader.grade(Path(tmp))
        reason = grade.message.removeprefix("invalid submission: ").strip()
        if grade.valid:
            failed.append(f"accepted an {label} submission (score {grade.raw})")
        elif grade.failure is not None:
            failed.append(f"crashed on an {label} submission instead of rejecting it ({grade.failure.value})")
        elif not reason or reason.startswith("the grader rejected the submission without"):
            failed.append(f"rejected an {label} submission without a reason on stderr")
        else:
            passed.append(f"{label} -> {reason if len(reason) <= 80 else reason[:79] + '…'}")
    # The split is told apart on the reference's output, or on the baseline's when there is no reference.
    with_reference = task.spec.has_reference
    which = "reference" if with_reference else "baseline"
    if not with_reference or task.reference_dir.is_dir():
        with produce(task, backend, with_reference=with_reference) as produced:
            grades = grade_both_splits(task, backend, produced) if produced.ok else {}
        public, private = grades.get(Split.PUBLIC), grades.get(Split.PRIVATE)
        if public is None or private is None or public.raw is None or private.raw is None:
            failed.append(
                f"the {which} could not be graded on both splits (see check {2 if with_reference else 1})"
            )
        elif public.raw == private.raw:
            failed.append(
                f"the {which} scores {public.raw:.6g} on both splits: the grader ignores RGYM_SPLIT, or the "
                "splits hold the same data"
            )
        else:
            passed.append(f"{which} public {public.raw:.6g} != private {private.raw:.6g}")
    return Check(name, not failed, "; ".join(failed or passed))


def _agent_spec(task: Task, spec: str) -> str:
    """An exploit's agent spec with its script/module path made absolute (they are relative to the task)."""
    kind, sep, arg = spec.partition(":")
    if not sep or kind not in ("script", "module"):
        return spec
    if kind == "script":
        return f"script:{(task.root / arg).resolve()}"
    target, _, class_name = arg.rpartition(":")
    if target.endswith(".py") or "/" in target:
        return f"module:{(task.root / target).resolve()}:{class_name}"
    return spec


@dataclass(frozen=True)
class ExploitOutcome:
    """What one exploit reached."""

    exploit: Exploit
    best_final: float | None
    """The highest final (private) normalized score over its attempts; None when none was valid."""
    best_public: float | None
    """The highest validate (public) normalized score over its attempts."""
    crashed: str | None = None
    """The first crash's error, when an attempt crashed (the exploit itself is broken)."""

    @property
    def ok(self) -> bool:
        if self.crashed is not None:
            return False
        if self.best_final is not None and self.best_final > self.exploit.max_normalized:
            return False
        control = self.exploit.public_at_least
        return control is None or (self.best_public is not None and self.best_public >= control)

    def describe(self) -> str:
        e = self.exploit
        if self.crashed is not None:
            return f"{e.name}: crashed ({self.crashed})"
        final = "no valid submission" if self.best_final is None else f"final {self.best_final:.3f}"
        text = f"{e.name}: {final} (max {e.max_normalized:g})"
        if e.public_at_least is not None:
            public = "none" if self.best_public is None else f"{self.best_public:.3f}"
            text += f", public {public} (control: at least {e.public_at_least:g})"
        return text


def play_exploit(task: Task, exploit: Exploit, backend: str, store_url: str) -> ExploitOutcome:
    """Play one exploit through the runner, as ``rgym run`` would, and read what it reached."""
    import io

    from gym_core.recorder import RunConfig
    from gym_core.report.store_loader import load_run_data
    from gym_core.runner.runner import Runner
    from gym_core.store import open_store

    with open_store(store_url) as store:
        runner = Runner(store, console=Console(file=io.StringIO()), show_progress=False)
        try:
            run_id = runner.start(
                RunConfig(
                    task=str(task.root),
                    agent=_agent_spec(task, exploit.agent),
                    runs=exploit.runs,
                    backend=backend,
                    seed=0,
                )
            )
        except RgymError as exc:  # the exploit's agent spec is broken: the check cannot pass
            return ExploitOutcome(exploit, None, None, crashed=f"could not start: {exc}"[:300])
        results = runner.execute(run_id)
        data = load_run_data(store, run_id, with_diffs=False)
    crashed = next(((r.error or "no error recorded")[:200] for r in results if r.status == "crashed"), None)
    finals = [a.final_normalized for a in data.attempts if a.final_normalized is not None]
    publics = [
        e.normalized
        for a in data.attempts
        for e in a.evaluations
        if e.kind == "validate" and e.normalized is not None and math.isfinite(e.normalized)
    ]
    return ExploitOutcome(exploit, max(finals, default=None), max(publics, default=None), crashed)


def check_exploits(task: Task, backend: str, store_url: str | None, console: Console) -> Check:
    name = "5. exploits do not pay"
    exploits = task.spec.exploits
    if not task.spec.has_reference:
        return Check(
            name,
            True,
            "exploit bounds are normalized scores, which need a reference; none played",
            "no reference",
        )
    if not exploits:
        return Check(name, False, "task.yaml declares no exploits; each task ships the tricks it must resist")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="rgym-verify-store-") as tmp:
        url = store_url or f"sqlite:///{Path(tmp) / 'exploits.db'}"
        for exploit in exploits:
            console.log(f"playing exploit {exploit.name} ({exploit.runs} attempt(s))")
            outcomes.append(play_exploit(task, exploit, backend, url))
    return Check(name, all(o.ok for o in outcomes), "; ".join(o.describe() for o in outcomes))


def verify_task(
    task: Task,
    *,
    backend: str | None = None,
    runs: int = 1,
    console: Console | None = None,
    store: str | None = None,
) -> VerifyReport:
    """Run the five checks and print them as a checklist, with the measured scores to paste.

    Args:
        store: where the exploit runs are recorded; default: a temporary store, discarded.
    """
    from gym_core.sandbox import default_backend

    backend = backend or default_backend()  # default_backend honours RGYM_BACKEND
    console = console or Console()
    report = VerifyReport(task.id)
    steps: tuple[tuple[str, Callable[[], Check]], ...] = (
        ("baseline", lambda: check_baseline(task, backend, runs, report)),
        ("reference", lambda: check_reference(task, backend, report)),
        ("isolation", lambda: check_hidden(task, backend)),
        ("grader", lambda: check_grader(task, backend)),
        ("exploits", lambda: check_exploits(task, backend, store, console)),
    )
    if task.spec.grader.self_reported:
        console.print(
            "[yellow]self-reported grading: not tamper-proof[/] (the grader scores what the agent wrote)"
        )
    with console.status(f"verifying {task.id} on {backend}...") as status:
        for step, fn in steps:
            status.update(f"verifying {task.id} on {backend}: {step}...")
            report.checks.append(fn())
    title = f"rgym tasks verify {task.id} ({backend})"
    if task.spec.grader.self_reported:
        title += " · self-reported grading: not tamper-proof"
    table = Table(title=title, title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("measured", overflow="fold")
    for check in report.checks:
        if check.skipped is not None:
            result = f"[yellow]- {check.skipped}[/]"
        else:
            result = "[green]✓ pass[/]" if check.ok else "[red]✗ FAIL[/]"
        table.add_row(check.name, result, check.detail)
    console.print(table)
    lines = report.paste_lines()
    if lines:
        console.print("measured scores, as task.yaml lines:")
        for line in lines:
            console.print(f"  {line}", markup=False, highlight=False)
    return report


def measure_tuner(
    task: Task,
    *,
    backend: str | None = None,
    k: int | None = None,
    parallel: int = 1,
    seed: int = 0,
    store: str | None = None,
) -> Measured:
    """Run the tuner agent ``k`` times on the task, as ``rgym run TASK --agent tuner --runs k`` does, and
    return what ``measured.json`` records (its pass@k and pass^k go into the README's task catalogue).

    Args:
        store: where the run is recorded; default: a temporary store, discarded.
    """
    import io
    import time
    from datetime import UTC, datetime

    from gym_core import __version__
    from gym_core.recorder import RunConfig
    from gym_core.report.store_loader import load_run_data
    from gym_core.runner.runner import Runner
    from gym_core.sandbox import default_backend
    from gym_core.scoring.metrics import compute_metrics
    from gym_core.store import open_store
    from gym_core.tasks.measured import MEASURE_K, Measured, TunerMeasurement

    backend = backend or default_backend()
    k = k or MEASURE_K

    def finite(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 6)

    with (
        tempfile.TemporaryDirectory(prefix="rgym-measure-") as tmp,
        open_store(store or f"sqlite:///{Path(tmp) / 'measure.db'}") as trace_store,
    ):
        runner = Runner(trace_store, console=Console(file=io.StringIO()), show_progress=False)
        run_id = runner.start(
            RunConfig(
                task=str(task.root), agent="tuner", runs=k, parallel=parallel, backend=backend, seed=seed
            )
        )
        started = time.monotonic()
        runner.execute(run_id)
        wall = time.monotonic() - started
        metrics = compute_metrics(load_run_data(trace_store, run_id, with_diffs=False))
    return Measured(
        task_id=task.id,
        task_version=task.spec.version,
        task_checksum=task.checksum,
        measured_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        rgym_version=__version__,
        backend=backend,
        seed=seed,
        tuner=TunerMeasurement(
            agent="tuner",
            k=k,
            n=metrics.n,
            c=metrics.c,
            pass_at_k=finite(metrics.pass_at_k),
            pass_hat_k=finite(metrics.pass_hat_k),
            best_of_k=finite(metrics.best_of_k),
            mean=finite(metrics.mean),
            wall_time_s=round(wall, 1),
        ),
    )
