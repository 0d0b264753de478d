"""Table models of the trace store (docs/api.md, "Trace store").

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


class StorableText(TypeDecorator[str]):
    """Text that keeps any Python string, on every backend.

    Much of it comes from the agent, or from a grader quoting the agent's submission: a NUL character, which
    PostgreSQL refuses in text, is stored as U+FFFD (as undecodable output bytes are), and so is a lone
    surrogate, which no UTF-8 database takes. Storing never fails on what the text holds (a failing store is
    an environment failure, which the agent must not be able to cause).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return storable_text(value)


def storable_text(text: str) -> str:
    """``text`` with NUL characters and lone surrogates replaced by U+FFFD."""
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


class Base(DeclarativeBase):
    """Declarative base of every trace store table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime, str: StorableText}  # noqa: RUF012


class SuiteRun(Base):
    """One ``rgym run --suite``: a run per task of a suite, the same agent and settings for each."""

    __tablename__ = "suite_runs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    suite: Mapped[str] = mapped_column(String(200), index=True)
    """The suite's name (tasks/suites/<name>.yaml)."""
    tasks: Mapped[list[str]] = mapped_column(JSON)
    """The task ids of the suite when the suite run started, in the suite's order."""
    agent: Mapped[str]
    config: Mapped[dict[str, Any]]
    """The run settings shared by every task's run (the RunConfig without its task), and the suite file."""
    k: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    runs: Mapped[list[Run]] = relationship(back_populates="suite_run", order_by="Run.id")


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
    suite_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("suite_runs.id", ondelete="SET NULL"), index=True
    )
    """The suite run this run belongs to, if any."""

    suite_run: Mapped[SuiteRun | None] = relationship(back_populates="runs")
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
    origin: Mapped[str | None] = mapped_column(String(16))
    """agent | environment: whose failure (or success) the ended attempt is; None while running or cut short."""
    error_kind: Mapped[str | None] = mapped_column(String(32))
    """What went wrong (gym_core.outcomes.ErrorKind), for an episode that ended on an error."""
    retry_of: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """The episode this one retries after an environment failure (same attempt index and seed)."""
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
    split: Mapped[str | None] = mapped_column(String(16))
    """public (validate) or private (submit, auto); None for evaluations recorded before splits existed."""
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


class RunConsistency(Base):
    """A run's method consistency, computed once for one set of successful attempts (see
    :mod:`gym_core.report.consistency_cache`); replaced when that set or the algorithm changes."""

    __tablename__ = "run_consistency"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    """sha256 of what the value was computed from: the algorithm's version, the task, and per compared
    attempt its episode id and final snapshot."""
    value: Mapped[float | None] = mapped_column(Float)
    """The method consistency; None when it is not defined (fewer than two attempts compared)."""
    n_compared: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]


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


class ApiToken(Base):
    """An API token of ``rgym serve``: only its sha256 is kept, never the secret itself."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    """agent, viewer or admin (see :mod:`gym_core.server.auth`)."""
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
