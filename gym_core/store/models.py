"""Table models of the trace store (SPEC.md section 7).

These are the SQLAlchemy 2.0 declarative models and nothing else: the write and read logic lives in
:mod:`gym_core.store.trace_store`, and callers only ever see the frozen ``*Public`` records of
:mod:`gym_core.store.records`. Every schema change needs an Alembic migration in ``migrations/versions``;
``tests/store/test_migrations.py`` fails when the models and the migrations disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 26
"""Length of run and episode ids (ULID-like, see :mod:`gym_core.store.ids`)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset, so it is put back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the trace store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every trace store table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime, str: Text}  # noqa: RUF012


class Run(Base):
    """One ``rgym run``: k attempts of one agent on one task version."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(200), index=True)
    task_version: Mapped[int] = mapped_column(Integer)
    task_checksum: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str]
    config: Mapped[dict[str, Any]]
    backend: Mapped[str] = mapped_column(String(32))
    budget: Mapped[dict[str, Any]]
    perturbations: Mapped[dict[str, Any]]
    k: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # The process that drives the run; when it is gone and the run is still "running", it was killed.
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_started: Mapped[float] = mapped_column(Float)

    episodes: Mapped[list[Episode]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True, order_by="Episode.index"
    )


class Episode(Base):
    """One attempt of a run. A resumed attempt is a new episode with the same index."""

    __tablename__ = "episodes"
    __table_args__ = (Index("ix_episodes_run_id_index", "run_id", "index"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    """Time of the last write (a heartbeat: the last step, evaluation or status change)."""
    n_steps: Mapped[int] = mapped_column(Integer, default=0)
    n_evals: Mapped[int] = mapped_column(Integer, default=0)
    final_raw: Mapped[float | None] = mapped_column(Float)
    final_normalized: Mapped[float | None] = mapped_column(Float)
    best_raw: Mapped[float | None] = mapped_column(Float)
    best_normalized: Mapped[float | None] = mapped_column(Float)
    failure_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None]
    usage: Mapped[dict[str, Any]]
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_started: Mapped[float] = mapped_column(Float)

    run: Mapped[Run] = relationship(back_populates="episodes")
    steps: Mapped[list[Step]] = relationship(
        back_populates="episode", cascade="all, delete-orphan", passive_deletes=True, order_by="Step.index"
    )
    evaluations: Mapped[list[Evaluation]] = relationship(
        back_populates="episode", cascade="all, delete-orphan", passive_deletes=True, order_by="Evaluation.id"
    )


class Step(Base):
    """One ``env.step()``: the action as given, the (capped) observation, timing and flags."""

    __tablename__ = "steps"
    # One row per (episode, index): a retried write can never duplicate a step.
    __table_args__ = (UniqueConstraint("episode_id", "index", name="uq_steps_episode_id_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    action: Mapped[Any] = mapped_column(JSON)
    """The action exactly as the agent gave it: a dict, or the string when it was not valid JSON."""
    observation: Mapped[dict[str, Any]]
    """The observation, with every text field longer than the inline cap cut to head + marker + tail."""
    overflow: Mapped[dict[str, Any]]
    """Field name -> artifact digest of the full text, for every field that was cut."""
    exit_code: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_s: Mapped[float] = mapped_column(Float)
    agent_time_s: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[dict[str, Any]]
    usage: Mapped[dict[str, Any]]

    episode: Mapped[Episode] = relationship(back_populates="steps")


class Evaluation(Base):
    """One grading of the workspace: a validate call, the submission, or the auto-submit at truncation."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    step_index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    raw_score: Mapped[float | None] = mapped_column(Float)
    normalized_score: Mapped[float | None] = mapped_column(Float)
    valid: Mapped[bool]
    grader_output: Mapped[str]
    grader_output_digest: Mapped[str | None] = mapped_column(String(64))
    """Artifact digest of the full grader output when the inline copy was cut."""
    snapshot: Mapped[str | None] = mapped_column(ForeignKey("artifacts.digest"))
    """Artifact digest of the workspace snapshot that was graded."""
    created_at: Mapped[datetime]

    episode: Mapped[Episode] = relationship(back_populates="evaluations")


class Artifact(Base):
    """A content-addressed blob (workspace snapshot, full output), zstd-compressed, stored once."""

    __tablename__ = "artifacts"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 hex of the uncompressed bytes."""
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    """Uncompressed size in bytes."""
    compression: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
