"""One line per run: what ``rgym runs``, the viewer's runs list and ``rgym compare`` show about each run.

A run's stored status says whether the runner finished it; its **health** says how its attempts ended, so a
run that completed with every attempt crashed is not shown as a success.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gym_core.outcomes import RunStatus
from gym_core.scoring.metrics import RunMetrics

Health = Literal["ok", "warn", "bad", "pending"]
"""ok: every attempt counted and none crashed. warn: some crashed or were excluded (environment failures), or
the run was cut short. bad: every finished attempt crashed, every attempt was excluded (no attempt counted), or
the run failed. pending: still running."""


@dataclass(frozen=True)
class RunRow:
    """A run and its headline numbers."""

    run_id: str
    task_id: str
    task_version: int
    task_checksum: str
    agent: str
    status: str
    """The stored status: running | completed | interrupted | failed."""
    created_at: datetime | None
    k: int
    perturbations: dict[str, Any] = field(default_factory=dict)
    metrics: RunMetrics | None = None
    """None when the run could not be scored (``problem`` says why)."""
    problem: str | None = None
    suite_run_id: str | None = None
    """The suite run this run belongs to (``rgym run --suite``), if any."""

    @property
    def crashed(self) -> int:
        """Finished attempts that crashed."""
        return self.metrics.failure_kinds.get("crashed", 0) if self.metrics else 0

    @property
    def excluded(self) -> int:
        """Attempts excluded from the metrics as environment failures (0 until attribution fills it)."""
        return self.metrics.n_excluded if self.metrics else 0

    @property
    def all_excluded(self) -> bool:
        """True when no attempt counted: every one was excluded as an environment failure (none pending)."""
        m = self.metrics
        return m is not None and self.excluded > 0 and m.n == 0 and not m.n_pending

    @property
    def health(self) -> Health:
        """How the run's attempts ended, for colours (see :data:`Health`)."""
        if self.status == RunStatus.RUNNING:
            return "pending"
        if self.status == RunStatus.FAILED or self.all_excluded:
            return "bad"
        m = self.metrics
        if m is not None and m.n > 0 and self.crashed == m.n:
            return "bad"
        if (
            self.status == RunStatus.INTERRUPTED
            or self.crashed
            or self.excluded
            or (m is not None and m.n_pending)
        ):
            return "warn"
        return "ok"

    @property
    def status_text(self) -> str:
        """The status with what a reader must not miss: ``completed (all 5 crashed)``, ``(2 of 5 crashed)``,
        ``(all 3 excluded)`` when no attempt counted, ``(1 excluded)``."""
        m = self.metrics
        notes = []
        if m is not None and self.crashed:
            notes.append(f"all {m.n} crashed" if self.crashed == m.n else f"{self.crashed} of {m.n} crashed")
        if self.all_excluded:
            notes.append(f"all {self.excluded} excluded")
        elif self.excluded:
            notes.append(f"{self.excluded} excluded")
        return f"{self.status} ({', '.join(notes)})" if notes else self.status

    def json(self) -> dict[str, Any]:
        """JSON-ready: NaN is null."""
        m = self.metrics
        return {
            "run_id": self.run_id,
            "task_id": self.task_id,
            "task_version": self.task_version,
            "task_checksum": self.task_checksum,
            "agent": self.agent,
            "status": self.status,
            "health": self.health,
            "status_text": self.status_text,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "k": self.k,
            "n": m.n if m else None,
            "c": m.c if m else None,
            "n_pending": m.n_pending if m else None,
            "n_crashed": self.crashed if m else None,
            "n_excluded": self.excluded if m else None,
            "pass_at_k": _num(m.pass_at_k) if m else None,
            "pass_hat_k": _num(m.pass_hat_k) if m else None,
            "flicker": _num(m.flicker) if m else None,
            "mean": _num(m.mean) if m else None,
            "perturbations": dict(self.perturbations),
            "problem": self.problem,
            "suite_run_id": self.suite_run_id,
        }


@dataclass(frozen=True)
class SuiteRunRow:
    """A suite run and its aggregate numbers: what ``rgym runs --suites`` shows, the head of ``rgym report``'s
    suite table."""

    suite_run_id: str
    suite: str
    agent: str
    status: str
    """The stored status: running | completed | interrupted | failed."""
    created_at: datetime | None
    k: int
    tasks: int
    """Tasks in the suite when the suite run started."""
    runs: int
    """Per-task runs recorded so far."""
    means: dict[str, float] = field(default_factory=dict)
    """Mean over the suite's tasks of best_of_k, pass_at_k, pass_hat_k and flicker (NaN: n/a)."""
    na_reason: str | None = None
    """Why the means are n/a, when they are (a task without a run, or with fewer than K attempts)."""
    problem: str | None = None
    """Why the suite run could not be scored, when it could not."""

    @property
    def health(self) -> Health:
        """As a run's health, from the stored status and whether every task has K finished attempts."""
        if self.status == RunStatus.RUNNING:
            return "pending"
        if self.status == RunStatus.FAILED or self.problem:
            return "bad"
        if self.status == RunStatus.INTERRUPTED or self.na_reason:
            return "warn"
        return "ok"

    def json(self) -> dict[str, Any]:
        """JSON-ready: NaN is null."""
        return {
            "suite_run_id": self.suite_run_id,
            "suite": self.suite,
            "agent": self.agent,
            "status": self.status,
            "health": self.health,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "k": self.k,
            "tasks": self.tasks,
            "runs": self.runs,
            **{f"mean_{name}": _num(value) for name, value in self.means.items()},
            "na_reason": self.na_reason,
            "problem": self.problem,
        }


def _num(value: float) -> float | None:
    return None if not math.isfinite(value) else value
