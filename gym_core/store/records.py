"""Read-side records of the trace store: frozen copies of rows, safe to keep after the session closes.

Callers never see live ORM objects (STYLE.md: ``*Public`` schemas are kept apart from table models).
``model_dump(mode="json")`` gives the JSON form that ``rgym export`` writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class RunPublic(_Record):
    """A run as stored."""

    id: str
    task_id: str
    task_version: int
    task_checksum: str
    agent: str
    config: dict[str, Any]
    backend: str
    budget: dict[str, Any]
    perturbations: dict[str, Any]
    k: int
    seed: int | None
    status: str
    """running | completed | interrupted | failed"""
    created_at: datetime
    finished_at: datetime | None
    owner_pid: int
    owner_host: str


class EpisodePublic(_Record):
    """An attempt as stored."""

    id: str
    run_id: str
    index: int
    seed: int | None
    status: str
    """running | submitted | truncated | crashed | interrupted"""
    started_at: datetime
    finished_at: datetime | None
    updated_at: datetime
    n_steps: int
    n_evals: int
    final_raw: float | None
    final_normalized: float | None
    best_raw: float | None
    best_normalized: float | None
    failure_kind: str | None
    error: str | None
    usage: dict[str, Any]
    owner_pid: int
    owner_host: str

    @property
    def wall_time_s(self) -> float | None:
        """Seconds from start to finish, or None while the episode has not finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class StepPublic(_Record):
    """A step as stored; ``observation`` text fields may be cut, see ``overflow``."""

    episode_id: str
    index: int
    action: Any
    observation: dict[str, Any]
    overflow: dict[str, str]
    """Field name -> artifact digest of the full text, for every observation field that was cut."""
    exit_code: int | None
    started_at: datetime
    duration_s: float
    agent_time_s: float | None
    flags: dict[str, Any]
    usage: dict[str, Any]


class EvaluationPublic(_Record):
    """A grading as stored."""

    episode_id: str
    step_index: int
    kind: str
    """validate | submit | auto"""
    raw_score: float | None
    normalized_score: float | None
    valid: bool
    grader_output: str
    grader_output_digest: str | None
    snapshot: str | None
    created_at: datetime
