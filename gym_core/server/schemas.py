"""Response shapes that the store's ``*Public`` records do not already give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

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

    @classmethod
    def of(cls, run: RunPublic) -> RunSummary:
        """The summary of a stored run."""
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
        )


class RunDetail(_Schema):
    """A run with every episode it holds (a resumed attempt appears after the one it replaced)."""

    run: RunPublic
    episodes: list[EpisodePublic]


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
