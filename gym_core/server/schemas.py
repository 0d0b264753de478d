"""Response shapes that the store's ``*Public`` records do not already give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from gym_core.report.run_rows import RunRow
from gym_core.store import EpisodePublic, EvaluationPublic, RunPublic


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunSummary(_Schema):
    """One line of the runs list."""

    id: str
    task_id: str
    task_version: int
    agent: str
    k: int
    status: str
    """running | completed | interrupted | failed"""
    created_at: datetime
    finished_at: datetime | None
    perturbations: dict[str, object]
    health: str | None = None
    """How the attempts ended: ok | warn (some crashed, cut short) | bad (all crashed, failed) | pending."""
    status_text: str | None = None
    """The status with what must not be missed, e.g. ``completed (all 5 crashed)``."""
    n: int | None = None
    """Finished attempts; None when the run could not be scored."""
    c: int | None = None
    n_crashed: int | None = None
    n_excluded: int | None = None
    """Attempts excluded from the metrics as environment failures."""
    pass_at_k: float | None = None
    pass_hat_k: float | None = None
    flicker: float | None = None
    mean: float | None = None
    problem: str | None = None
    """Why the run could not be scored, when it could not."""
    suite_run_id: str | None = None
    """The suite run (``rgym run --suite``) this run belongs to, if any."""

    @classmethod
    def of(cls, run: RunPublic, row: RunRow | None = None) -> RunSummary:
        """The summary of a stored run, with its headline metrics when ``row`` is given."""
        scored = row.json() if row is not None else {}
        return cls(
            id=run.id,
            task_id=run.task_id,
            task_version=run.task_version,
            agent=run.agent,
            k=run.k,
            status=run.status,
            created_at=run.created_at,
            finished_at=run.finished_at,
            perturbations=dict(run.perturbations),
            health=scored.get("health"),
            status_text=scored.get("status_text"),
            n=scored.get("n"),
            c=scored.get("c"),
            n_crashed=scored.get("n_crashed"),
            n_excluded=scored.get("n_excluded"),
            pass_at_k=scored.get("pass_at_k"),
            pass_hat_k=scored.get("pass_hat_k"),
            flicker=scored.get("flicker"),
            mean=scored.get("mean"),
            problem=scored.get("problem"),
            suite_run_id=run.suite_run_id,
        )


class SuiteRunSummary(_Schema):
    """One line of the suite runs list: a suite run without its config (the viewer picks from these)."""

    id: str
    suite: str
    agent: str
    k: int
    tasks: list[str]
    """The suite's task ids when it started, in order."""
    status: str
    """running | completed | interrupted | failed"""
    created_at: datetime
    finished_at: datetime | None


class RunDetail(_Schema):
    """A run with every episode it holds (a resumed attempt appears after the one it replaced)."""

    run: RunPublic
    episodes: list[EpisodePublic]
    summary: RunSummary
    """The run's status colour and headline metrics (what the runs list shows)."""


class EpisodeDetail(_Schema):
    """An episode with its run's summary and every evaluation, in the order they happened."""

    episode: EpisodePublic
    run: RunSummary
    evaluations: list[EvaluationPublic]


class Health(_Schema):
    """The answer of ``/healthz``."""

    status: str
    store: str
    """The store URL, password hidden."""
