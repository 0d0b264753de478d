"""Read-side records of the trace store: frozen copies of rows, safe to keep after the session closes.

Callers never see live ORM objects (STYLE.md: ``*Public`` schemas are kept apart from table models).
``model_dump(mode="json")`` gives the JSON form that ``rgym export`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    suite_run_id: str | None = None
    """The suite run this run belongs to, if any."""


class SuiteRunPublic(_Record):
    """A suite run as stored: one run per task of a suite."""

    id: str
    suite: str
    tasks: list[str]
    """The suite's task ids when it started, in order."""
    agent: str
    config: dict[str, Any]
    k: int
    status: str
    """running | completed | interrupted | failed"""
    created_at: datetime
    finished_at: datetime | None


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
    origin: str | None = None
    """agent | environment (None while running or when cut short)."""
    error_kind: str | None = None
    retry_of: str | None = None
    """The episode this one retries after an environment failure."""
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
    split: str | None = None
    """public (validate) | private (submit, auto); None for evaluations recorded before splits existed."""
    raw_score: float | None
    normalized_score: float | None
    valid: bool
    grader_output: str
    grader_output_digest: str | None
    snapshot: str | None
    snapshot_truncated: bool = False
    """True when the snapshot left files out (past the snapshot cap or the episode's artifact quota); see
    :meth:`TraceStore.snapshot_info` for what it omits."""
    created_at: datetime


class SnapshotInfo(_Record):
    """What a stored workspace snapshot holds back."""

    digest: str
    truncated: bool
    """True when files were left out for lack of room (the snapshot cap or the episode's artifact quota)."""
    omitted: list[tuple[str, str]]
    """(path, reason) of entries left out: links, special files and, when truncated, files too big for it;
    the first :data:`gym_core.store.artifacts.MAX_OMITTED_LISTED` of them."""
    omitted_count: int
    """How many entries were left out in all."""


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot just stored: its digest, its tar size, and the bytes it added to the store."""

    digest: str
    size: int
    stored_bytes: int
    """Compressed bytes written (0 when the same snapshot was already stored)."""
    truncated: bool


@dataclass(frozen=True)
class CachedConsistency:
    """A run's method consistency as cached in the store, with the key of what it was computed from."""

    key: str
    value: float | None
    """None when not defined (fewer than two attempts compared)."""
    n_compared: int
