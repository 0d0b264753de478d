"""The trace store: every run, episode, step, evaluation and workspace snapshot, durable on return.

Writes are short Core transactions (one per call) that commit before the method returns, so a killed
process loses at most the step in flight. Reads open a session as a context manager and hand back frozen
``*Public`` records, never live ORM objects.

Usage::

    store = open_store()                       # RGYM_STORE / --store, else SQLite in the data dir
    run_id = store.create_run(task_id="x", ...)
    ep = store.start_episode(run_id, index=0, seed=0)
    store.record_step(ep, index=0, action={...}, observation={...}, ...)
    store.finish_episode(ep, status=EpisodeStatus.SUBMITTED, ...)
    store.finish_run(run_id, status=RunStatus.COMPLETED)
"""

from __future__ import annotations

import math
import os
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Self

from sqlalchemy import Connection, CursorResult, Engine, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement

from gym_core.errors import NotFoundError, StoreError
from gym_core.outcomes import (
    EPISODE_DONE_STATUSES,
    EPISODE_FINAL_STATUSES,
    RUN_FINAL_STATUSES,
    EpisodeStatus,
    ErrorKind,
    EvaluationKind,
    FailureKind,
    Origin,
    RunStatus,
)
from gym_core.redact import redact_optional
from gym_core.settings import get_settings
from gym_core.store import artifacts, inline
from gym_core.store.engine import BUSY_TIMEOUT_S, WRITE_OPTION, create_store_engine, parse_store_url
from gym_core.store.ids import is_valid_prefix, new_id, normalize_prefix
from gym_core.store.inline import INLINE_TEXT_CAP
from gym_core.store.migrate import upgrade_to_head
from gym_core.store.models import Artifact, Episode, Evaluation, Run, RunConsistency, Step, SuiteRun
from gym_core.store.owner import Owner, current_owner, is_alive
from gym_core.store.quota import ArtifactQuota
from gym_core.store.records import (
    CachedConsistency,
    EpisodePublic,
    EvaluationPublic,
    RunPublic,
    SnapshotInfo,
    StepPublic,
    StoredSnapshot,
    SuiteRunPublic,
)
from gym_core.tasks.spec import Split

#: The step flag naming the action texts whose full copy did not fit the episode's artifact quota.
QUOTA_FLAG: Final = "artifact_quota_spent"

# The per-step statements are built once: building them per call costs more than the SQLite write itself.
_COUNT_STEP: Final = (
    update(Episode)
    .where(Episode.id == bindparam("eid"), Episode.status == EpisodeStatus.RUNNING.value)
    .values(updated_at=bindparam("now"), n_steps=Episode.n_steps + 1)
)


def _now() -> datetime:
    return datetime.now(UTC)


def _finite(value: float | None) -> float | None:
    """NaN/inf scores mean "no score"; SQLite would store NaN as NULL anyway, so say so everywhere."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _agent_matches(column: InstrumentedAttribute[str], agent: str) -> ColumnElement[bool]:
    """``column`` is the whole agent spec ``agent`` (``tuner:4``) or has it as its name (``tuner``)."""
    # Agent specs hold no LIKE wildcards worth honouring: escape them so "a_b" matches only itself.
    pattern = agent.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
    return or_(column == agent, column.like(pattern, escape="\\"))


def _require_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise StoreError(f"trace store: {name} must be timezone-aware", hint="use datetime.now(UTC)")
    return value


class TraceStore:
    """A trace store on SQLite or PostgreSQL; thread-safe, one per process (see :func:`open_store`)."""

    def __init__(self, url: str, *, recover: bool = True) -> None:
        """Open (and create or migrate) the store at ``url``.

        Args:
            url: ``sqlite:///path.db`` or ``postgresql://user@host/db``.
            recover: mark episodes and runs whose owner process is gone as interrupted.

        Raises:
            StoreError: the URL is bad, the database cannot be reached, or migration failed.
        """
        self.url: URL = parse_store_url(url)
        self._engine: Engine = create_store_engine(self.url)
        self._writer: Engine = self._engine.execution_options(**{WRITE_OPTION: True})
        try:
            self._upgrade()
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open the trace store {self.display_url}: {_reason(exc)}") from exc
        except StoreError:
            self._engine.dispose()
            raise
        # A forked child must not reuse the parent's pooled connections (they share one socket/file).
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _dispose_in_child(ref))
        if recover:
            self.mark_interrupted()

    def _upgrade(self) -> None:
        """Migrate to head, waiting out other processes that open the same fresh SQLite file at once.

        Switching a new file to WAL needs a moment of exclusive access, and SQLite answers "database is
        locked" at once (without its busy handler) when another process holds the file just then.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.02
        while True:
            try:
                upgrade_to_head(self._engine)
                return
            except (SQLAlchemyError, StoreError) as exc:
                locked = "database is locked" in str(exc) and self.url.get_backend_name() == "sqlite"
                if not locked or time.monotonic() > deadline:
                    raise
                self._engine.dispose()
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @property
    def display_url(self) -> str:
        """The store URL with any password hidden."""
        return self.url.render_as_string(hide_password=True)

    # --- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def _write(self, what: str) -> Iterator[Connection]:
        """One committed write transaction; database errors become StoreError naming ``what``."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except (StoreError, NotFoundError):
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"trace store {self.display_url}: cannot {what}: {_reason(exc)}") from exc

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self._engine) as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"trace store {self.display_url}: cannot read: {_reason(exc)}") from exc

    def close(self) -> None:
        """Release every pooled connection (the store object must not be used after)."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- runs and episodes ------------------------------------------------------------------------

    def create_run(
        self,
        *,
        task_id: str,
        task_version: int,
        task_checksum: str,
        agent: str,
        config: Mapping[str, Any],
        backend: str,
        budget: Mapping[str, Any],
        perturbations: Mapping[str, Any],
        k: int,
        seed: int | None,
        suite_run_id: str | None = None,
    ) -> str:
        """Record a new run (status ``running``, owned by this process) and return its id.

        Args:
            suite_run_id: the suite run it belongs to (see :meth:`create_suite_run`).
        """
        if k < 1:
            raise StoreError(f"run of task {task_id}: k must be >= 1, got {k}")
        run_id = new_id()
        owner = current_owner()
        with self._write("create a run") as conn:
            conn.execute(
                insert(Run),
                {
                    "id": run_id,
                    "task_id": task_id,
                    "task_version": task_version,
                    "task_checksum": task_checksum,
                    "agent": agent,
                    "config": dict(config),
                    "backend": backend,
                    "budget": dict(budget),
                    "perturbations": dict(perturbations),
                    "k": k,
                    "seed": seed,
                    "status": EpisodeStatus.RUNNING.value,
                    "created_at": _now(),
                    "finished_at": None,
                    "suite_run_id": suite_run_id,
                    **_owner_columns(owner),
                },
            )
        return run_id

    # --- suite runs -------------------------------------------------------------------------------

    def create_suite_run(
        self, *, suite: str, tasks: list[str], agent: str, config: Mapping[str, Any], k: int
    ) -> str:
        """Record a new suite run (status ``running``); its per-task runs link to it when created."""
        if k < 1:
            raise StoreError(f"suite run of {suite}: k must be >= 1, got {k}")
        if not tasks:
            raise StoreError(f"suite run of {suite}: a suite run needs at least one task")
        suite_run_id = new_id()
        with self._write("create a suite run") as conn:
            conn.execute(
                insert(SuiteRun),
                {
                    "id": suite_run_id,
                    "suite": suite,
                    "tasks": list(tasks),
                    "agent": agent,
                    "config": dict(config),
                    "k": k,
                    "status": RunStatus.RUNNING.value,
                    "created_at": _now(),
                    "finished_at": None,
                },
            )
        return suite_run_id

    def finish_suite_run(self, suite_run_id: str, *, status: RunStatus | str) -> None:
        """Set a suite run's final status (``completed``, ``interrupted`` or ``failed``)."""
        if status not in RUN_FINAL_STATUSES:
            raise StoreError(
                f"suite run status must be one of {sorted(s.value for s in RUN_FINAL_STATUSES)}, got {status!r}"
            )
        with self._write(f"finish suite run {suite_run_id}") as conn:
            result = conn.execute(
                update(SuiteRun)
                .where(SuiteRun.id == suite_run_id)
                .values(status=RunStatus(status).value, finished_at=_now())
            )
            if result.rowcount == 0:
                raise NotFoundError(f"suite run {suite_run_id} is not in the trace store")

    def get_suite_run(self, suite_run_id: str) -> SuiteRunPublic:
        """The suite run with this exact id.

        Raises:
            NotFoundError: no such suite run.
        """
        with self._read() as session:
            row = session.get(SuiteRun, suite_run_id)
            if row is None:
                raise NotFoundError(f"suite run {suite_run_id} is not in the trace store {self.display_url}")
            return SuiteRunPublic.model_validate(row)

    def list_suite_runs(
        self,
        *,
        suite: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[SuiteRunPublic]:
        """Suite runs, newest first.

        Args:
            suite: only suite runs of this suite (its name).
            agent: only suite runs of this agent, matched as in :meth:`list_runs`.
            since: only suite runs created at or after this time (timezone-aware).
            limit: at most this many suite runs.
        """
        query = select(SuiteRun).order_by(SuiteRun.id.desc())
        if suite is not None:
            query = query.where(SuiteRun.suite == suite)
        if agent is not None:
            query = query.where(_agent_matches(SuiteRun.agent, agent))
        if since is not None:
            query = query.where(SuiteRun.created_at >= _require_utc(since, "since"))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [SuiteRunPublic.model_validate(r) for r in session.scalars(query)]

    def suite_run_runs(self, suite_run_id: str) -> list[RunPublic]:
        """The per-task runs of a suite run, in the suite's task order.

        Raises:
            NotFoundError: no such suite run.
        """
        suite_run = self.get_suite_run(suite_run_id)
        order = {task: i for i, task in enumerate(suite_run.tasks)}
        with self._read() as session:
            rows = session.scalars(select(Run).where(Run.suite_run_id == suite_run_id).order_by(Run.id))
            runs = [RunPublic.model_validate(r) for r in rows]
        return sorted(runs, key=lambda r: (order.get(r.task_id, len(order)), r.id))

    def resolve_suite_run_id(self, prefix: str) -> str:
        """The one suite run id starting with ``prefix`` (case-insensitive).

        Raises:
            NotFoundError: no suite run, or more than one, matches.
        """
        return self._resolve(SuiteRun, "suite run", prefix)

    def start_episode(self, run_id: str, *, index: int, seed: int | None, retry_of: str | None = None) -> str:
        """Record a new attempt of ``run_id`` (status ``running``, owned by this process); return its id.

        Starting an episode of a finished run re-opens the run (this is how ``rgym resume`` works).

        Args:
            retry_of: the episode this one retries after an environment failure.
        """
        episode_id = new_id()
        owner = current_owner()
        now = _now()
        with self._write("start an episode") as conn:
            status = conn.scalar(select(Run.status).where(Run.id == run_id))
            if status is None:
                raise NotFoundError(f"run {run_id} is not in the trace store")
            if status != RunStatus.RUNNING:
                conn.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(status=RunStatus.RUNNING.value, finished_at=None, **_owner_columns(owner))
                )
            conn.execute(
                insert(Episode),
                {
                    "id": episode_id,
                    "run_id": run_id,
                    "index": index,
                    "seed": seed,
                    "status": EpisodeStatus.RUNNING.value,
                    "started_at": now,
                    "finished_at": None,
                    "updated_at": now,
                    "n_steps": 0,
                    "n_evals": 0,
                    "usage": {},
                    "retry_of": retry_of,
                    **_owner_columns(owner),
                },
            )
        return episode_id

    def record_step(
        self,
        episode_id: str,
        *,
        index: int,
        action: Mapping[str, Any] | str,
        observation: Mapping[str, Any],
        exit_code: int | None,
        started_at: datetime,
        duration_s: float,
        agent_time_s: float | None,
        flags: Mapping[str, Any],
        usage: Mapping[str, Any],
        quota: ArtifactQuota | None = None,
    ) -> None:
        """Write one step; it is committed (durable against a killed process) when this returns.

        Text fields of ``observation`` and of ``action`` longer than :data:`INLINE_TEXT_CAP` are stored cut
        (head, marker, tail), and their full text is stored as an artifact named in the step's ``overflow``
        (see :mod:`gym_core.store.inline`). The full texts of the action count against ``quota``: one that
        does not fit is not stored, its marker says so, and the step's flag ``artifact_quota_spent`` names
        it.

        Args:
            quota: the episode's artifact quota (default: none).

        Raises:
            StoreError: the episode is not running, or already has a step with this index.
        """
        _require_utc(started_at, "started_at")
        obs, cuts = inline.cut_observation(observation)
        stored_action, action_cuts = inline.cut_action(action)
        step_flags = dict(flags)
        spent: list[str] = []
        for key, cut in action_cuts.items():
            if quota is None or quota.take(len(cut.full)):
                cuts[key] = cut
            else:
                spent.append(key)
                short = inline.not_kept(cut, quota.describe() + " is spent")
                if key == inline.ACTION_KEY or key == inline.ACTION_JSON_KEY:
                    stored_action = short
                elif isinstance(stored_action, dict):
                    stored_action[key[len(inline.ACTION_FIELD_PREFIX) :]] = short
        if spent:
            step_flags[QUOTA_FLAG] = spent
        overflow = {key: cut.digest for key, cut in cuts.items()}
        now = _now()
        with self._write(f"record step {index} of episode {episode_id}") as conn:
            self._check_touched(conn, episode_id, conn.execute(_COUNT_STEP, {"eid": episode_id, "now": now}))
            for cut in cuts.values():
                artifacts.put_blob(
                    conn,
                    digest=cut.digest,
                    media_type=artifacts.MEDIA_TEXT,
                    size=len(cut.full),
                    compressed=artifacts.compress(cut.full),
                )
            try:
                conn.execute(
                    insert(Step),
                    {
                        "episode_id": episode_id,
                        "index": index,
                        "action": stored_action,
                        "observation": obs,
                        "overflow": overflow,
                        "exit_code": exit_code,
                        "started_at": started_at,
                        "duration_s": float(duration_s),
                        "agent_time_s": agent_time_s,
                        "flags": step_flags,
                        "usage": dict(usage),
                    },
                )
            except IntegrityError as exc:
                raise StoreError(f"episode {episode_id} already has a step {index}") from exc

    def record_evaluation(
        self,
        episode_id: str,
        *,
        step_index: int,
        kind: EvaluationKind | str,
        split: Split | str | None = None,
        raw_score: float | None,
        normalized_score: float | None,
        valid: bool,
        grader_output: str,
        snapshot: str | None,
    ) -> None:
        """Write one grading; keeps the episode's best validate score up to date (interrupted episodes keep
        it).

        Args:
            split: the half of the hidden data that graded it; default: the protocol's (public for validate,
                private for submit and auto).
            snapshot: digest from :meth:`snapshot_workspace` of the workspace that was graded.

        Raises:
            StoreError: unknown kind or split, the episode is not running, or the snapshot is not stored.
        """
        try:
            kind = EvaluationKind(kind)
            if split is None:
                split = Split.PUBLIC if kind is EvaluationKind.VALIDATE else Split.PRIVATE
            split = Split(split)
        except ValueError as exc:
            raise StoreError(f"evaluation of episode {episode_id}: {exc}") from None
        raw, normalized = _finite(raw_score), _finite(normalized_score)
        short = artifacts.cap_text(grader_output, INLINE_TEXT_CAP)
        full = grader_output.encode("utf-8", errors="surrogateescape") if short is not None else b""
        now = _now()
        with self._write(f"record an evaluation of episode {episode_id}") as conn:
            best = conn.execute(
                select(Episode.best_raw, Episode.best_normalized).where(Episode.id == episode_id)
            ).first()
            values: dict[str, Any] = {"n_evals": Episode.n_evals + 1}
            # The best is the best validate (public split); an invalid grading has no score to compare.
            improves = (
                kind is EvaluationKind.VALIDATE
                and valid
                and normalized is not None
                and best is not None
                and (best.best_normalized is None or normalized > best.best_normalized)
            )
            if improves:
                values.update(best_raw=raw, best_normalized=normalized)
            self._touch_running(conn, episode_id, now, **values)
            digest = None
            if short is not None:
                digest = artifacts.sha256_hex(full)
                artifacts.put_blob(
                    conn,
                    digest=digest,
                    media_type=artifacts.MEDIA_TEXT,
                    size=len(full),
                    compressed=artifacts.compress(full),
                )
            if snapshot is not None and not artifacts.has_blob(conn, snapshot):
                raise StoreError(
                    f"snapshot {snapshot} is not in the trace store; take it with snapshot_workspace"
                )
            conn.execute(
                insert(Evaluation),
                {
                    "episode_id": episode_id,
                    "step_index": step_index,
                    "kind": kind.value,
                    "split": split.value,
                    "raw_score": raw,
                    "normalized_score": normalized,
                    "valid": valid,
                    "grader_output": grader_output if short is None else short,
                    "grader_output_digest": digest,
                    "snapshot": snapshot,
                    "created_at": now,
                },
            )

    def finish_episode(
        self,
        episode_id: str,
        *,
        status: EpisodeStatus | str,
        final_raw: float | None,
        final_normalized: float | None,
        best_raw: float | None = None,
        best_normalized: float | None = None,
        failure_kind: FailureKind | str | None = None,
        error: str | None = None,
        usage: Mapping[str, Any] | None = None,
        origin: Origin | str | None = None,
        error_kind: ErrorKind | str | None = None,
    ) -> None:
        """Close a running episode with its final status and scores.

        ``best_raw``/``best_normalized`` left as None keep the best tracked from the evaluations.

        Raises:
            StoreError: bad status, or the episode is not running.
        """
        if status not in EPISODE_FINAL_STATUSES:
            raise StoreError(
                f"episode status must be one of {sorted(s.value for s in EPISODE_FINAL_STATUSES)}, got {status!r}"
            )
        kinds: tuple[tuple[object, type[StrEnum], str], ...] = (
            (failure_kind, FailureKind, "failure kind"),
            (origin, Origin, "origin"),
            (error_kind, ErrorKind, "error kind"),
        )
        for value, enum, what in kinds:
            if value is not None and value not in {k.value for k in enum}:
                raise StoreError(f"{what} must be one of {sorted(k.value for k in enum)}, got {value!r}")
        now = _now()
        values: dict[str, Any] = {
            "status": EpisodeStatus(status).value,
            "finished_at": now,
            "final_raw": _finite(final_raw),
            "final_normalized": _finite(final_normalized),
            "failure_kind": FailureKind(failure_kind).value if failure_kind is not None else None,
            "origin": Origin(origin).value if origin is not None else None,
            "error_kind": ErrorKind(error_kind).value if error_kind is not None else None,
            # An error may quote a URL with credentials (OPENAI_BASE_URL=https://user:key@...).
            "error": redact_optional(error),
        }
        if usage is not None:
            values["usage"] = dict(usage)
        if _finite(best_normalized) is not None or _finite(best_raw) is not None:
            values.update(best_raw=_finite(best_raw), best_normalized=_finite(best_normalized))
        with self._write(f"finish episode {episode_id}") as conn:
            self._touch_running(conn, episode_id, now, **values)

    def finish_run(self, run_id: str, *, status: RunStatus | str, k: int | None = None) -> None:
        """Set a run's final status (``completed``, ``interrupted`` or ``failed``).

        Args:
            k: the number of attempts, for runs that learn it only at the end (the Python API's).
        """
        if status not in RUN_FINAL_STATUSES:
            raise StoreError(
                f"run status must be one of {sorted(s.value for s in RUN_FINAL_STATUSES)}, got {status!r}"
            )
        values: dict[str, Any] = {"status": RunStatus(status).value, "finished_at": _now()}
        if k is not None:
            if k < 1:
                raise StoreError(f"run {run_id}: k must be >= 1, got {k}")
            values["k"] = k
        with self._write(f"finish run {run_id}") as conn:
            result = conn.execute(update(Run).where(Run.id == run_id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"run {run_id} is not in the trace store")

    def _touch_running(self, conn: Connection, episode_id: str, now: datetime, **values: Any) -> None:
        """Update a running episode (and its heartbeat); refuse episodes that are gone or finished."""
        result = conn.execute(
            update(Episode)
            .where(Episode.id == episode_id, Episode.status == EpisodeStatus.RUNNING.value)
            .values(updated_at=now, **values)
        )
        self._check_touched(conn, episode_id, result)

    @staticmethod
    def _check_touched(conn: Connection, episode_id: str, result: CursorResult[Any]) -> None:
        if result.rowcount == 1:
            return
        status = conn.scalar(select(Episode.status).where(Episode.id == episode_id))
        if status is None:
            raise NotFoundError(f"episode {episode_id} is not in the trace store")
        raise StoreError(f"episode {episode_id} is {status}, not running; it takes no more writes")

    def mark_interrupted(self) -> int:
        """Mark running episodes and runs whose owner process is gone as ``interrupted``.

        Owners on other hosts are left alone (their liveness cannot be told from here).

        Returns:
            The number of episodes marked.
        """
        with self._read() as session:
            episodes = session.execute(
                select(Episode.id, Episode.owner_pid, Episode.owner_host, Episode.owner_started).where(
                    Episode.status == EpisodeStatus.RUNNING.value
                )
            ).all()
            runs = session.execute(
                select(Run.id, Run.owner_pid, Run.owner_host, Run.owner_started).where(
                    Run.status == RunStatus.RUNNING.value
                )
            ).all()
        dead_episodes = [row for row in episodes if is_alive(Owner(row[1], row[2], row[3])) is False]
        dead_runs = [row.id for row in runs if is_alive(Owner(row[1], row[2], row[3])) is False]
        if not dead_episodes and not dead_runs:
            return 0
        now = _now()
        marked = 0
        with self._write("mark interrupted episodes") as conn:
            for row in dead_episodes:
                result = conn.execute(
                    update(Episode)
                    .where(Episode.id == row.id, Episode.status == EpisodeStatus.RUNNING.value)
                    .values(
                        status=EpisodeStatus.INTERRUPTED.value,
                        finished_at=now,
                        updated_at=now,
                        error=f"owner process {row.owner_pid} on {row.owner_host} is gone",
                    )
                )
                marked += result.rowcount
            if dead_runs:
                conn.execute(
                    update(Run)
                    .where(Run.id.in_(dead_runs), Run.status == RunStatus.RUNNING.value)
                    .values(status=RunStatus.INTERRUPTED.value, finished_at=now)
                )
                # A suite run is driven by the process that drives its runs: it died with them.
                conn.execute(
                    update(SuiteRun)
                    .where(
                        SuiteRun.id.in_(select(Run.suite_run_id).where(Run.id.in_(dead_runs))),
                        SuiteRun.status == RunStatus.RUNNING.value,
                    )
                    .values(status=RunStatus.INTERRUPTED.value, finished_at=now)
                )
        return marked

    # --- artifacts --------------------------------------------------------------------------------

    def put_artifact(self, data: bytes, *, media_type: str) -> str:
        """Store ``data`` (once per content) and return its sha256 digest."""
        digest = artifacts.sha256_hex(data)
        with self._read() as session:
            if artifacts.has_blob(session.connection(), digest):
                return digest
        compressed = artifacts.compress(data)
        with self._write("store an artifact") as conn:
            artifacts.put_blob(
                conn, digest=digest, media_type=media_type, size=len(data), compressed=compressed
            )
        return digest

    def get_artifact(self, digest: str) -> bytes:
        """The bytes of an artifact.

        Raises:
            NotFoundError: no artifact has this digest.
        """
        with self._read() as session:
            return artifacts.get_bytes(session.connection(), digest)

    def snapshot_workspace(
        self, path: Path, *, omitted: Sequence[tuple[str, str]] = (), truncated: bool = False
    ) -> str:
        """Store a deterministic tar of the folder ``path`` (deduplicated) and return its digest.

        The digest is the sha256 of the uncompressed tar, so an unchanged workspace is stored once.

        Args:
            omitted: (path, reason) of workspace entries the copy at ``path`` left out (kept in the tar's header).
            truncated: files were left out for lack of room: the snapshot is marked truncated.
        """
        return self.store_snapshot(path, omitted=omitted, truncated=truncated).digest

    def store_snapshot(
        self, path: Path, *, omitted: Sequence[tuple[str, str]] = (), truncated: bool = False
    ) -> StoredSnapshot:
        """Like :meth:`snapshot_workspace`, and say how many bytes it added to the store (0 when deduplicated)."""
        snap = artifacts.Snapshot(Path(path), omitted=omitted, truncated=truncated)
        try:
            with self._read() as session:
                if artifacts.has_blob(session.connection(), snap.digest):
                    return StoredSnapshot(snap.digest, snap.size, 0, truncated)
            # Compress before taking the write lock, so other writers are not held up by it.
            compressed = snap.compressed()
            with self._write(f"store a snapshot of {path}") as conn:
                artifacts.put_blob(
                    conn,
                    digest=snap.digest,
                    media_type=snap.media_type,
                    size=snap.size,
                    compressed=compressed,
                )
            return StoredSnapshot(snap.digest, snap.size, len(compressed), truncated)
        finally:
            snap.close()

    def snapshot_info(self, digest: str) -> SnapshotInfo:
        """Whether the snapshot ``digest`` is truncated, and what it omits.

        Raises:
            NotFoundError: no artifact has this digest.
        """
        truncated, omitted, count = artifacts.read_snapshot_header(self.get_artifact(digest))
        return SnapshotInfo(digest=digest, truncated=truncated, omitted=omitted, omitted_count=count)

    def restore_snapshot(self, digest: str, dest: Path) -> None:
        """Unpack the snapshot ``digest`` into the folder ``dest`` (created when missing).

        Members that would leave ``dest`` (absolute or escaping links) are skipped.
        """
        artifacts.extract_snapshot_tar(self.get_artifact(digest), Path(dest))

    def get_step_output(self, episode_id: str, index: int, field: str = "output") -> str:
        """The full text of an observation field of a step, even when the stored copy was cut."""
        step = self.get_step(episode_id, index)
        digest = step.overflow.get(field)
        if digest is not None:
            return self.get_artifact(digest).decode("utf-8", errors="surrogateescape")
        value = step.observation.get(field)
        return "" if value is None else str(value)

    def get_step_action(self, episode_id: str, index: int) -> tuple[Any, list[str]]:
        """The action of a step as the agent gave it, even when the stored copy was cut.

        Returns:
            (the action, the overflow keys whose full text was not kept because the episode's artifact quota
            was spent: when any, the action returned still holds their cut text).
        """
        step = self.get_step(episode_id, index)
        spent = step.flags.get(QUOTA_FLAG) or []
        return inline.full_action(step.action, step.overflow, [str(k) for k in spent], self.get_artifact)

    # --- reads ------------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunPublic:
        """The run with this exact id.

        Raises:
            NotFoundError: no such run.
        """
        with self._read() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise NotFoundError(f"run {run_id} is not in the trace store {self.display_url}")
            return RunPublic.model_validate(run)

    def list_runs(
        self,
        *,
        task_id: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        suite_run_id: str | None = None,
        limit: int | None = None,
    ) -> list[RunPublic]:
        """Runs, newest first.

        Args:
            task_id: only runs of this task.
            agent: only runs of this agent: its whole ``--agent`` spec (``tuner:4``) or the name before the
                first colon (``tuner`` matches ``tuner``, ``tuner:4`` and ``tuner:8``).
            since: only runs created at or after this time (timezone-aware).
            suite_run_id: only the per-task runs of this suite run (its exact id).
            limit: at most this many runs.
        """
        query = select(Run).order_by(Run.id.desc())
        if task_id is not None:
            query = query.where(Run.task_id == task_id)
        if agent is not None:
            query = query.where(_agent_matches(Run.agent, agent))
        if suite_run_id is not None:
            query = query.where(Run.suite_run_id == suite_run_id)
        if since is not None:
            query = query.where(Run.created_at >= _require_utc(since, "since"))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [RunPublic.model_validate(r) for r in session.scalars(query)]

    def list_episodes(self, run_id: str) -> list[EpisodePublic]:
        """The episodes of a run by attempt index (a resumed attempt after the one it replaces).

        Raises:
            NotFoundError: no such run.
        """
        with self._read() as session:
            if session.get(Run, run_id) is None:
                raise NotFoundError(f"run {run_id} is not in the trace store {self.display_url}")
            query = select(Episode).where(Episode.run_id == run_id).order_by(Episode.index, Episode.id)
            return [EpisodePublic.model_validate(e) for e in session.scalars(query)]

    def get_episode(self, episode_id: str) -> EpisodePublic:
        """The episode with this exact id.

        Raises:
            NotFoundError: no such episode.
        """
        with self._read() as session:
            episode = session.get(Episode, episode_id)
            if episode is None:
                raise NotFoundError(f"episode {episode_id} is not in the trace store {self.display_url}")
            return EpisodePublic.model_validate(episode)

    def list_steps(
        self, episode_id: str, *, after: int | None = None, limit: int | None = None
    ) -> list[StepPublic]:
        """The steps of an episode in order, or one page of them.

        Args:
            after: only steps whose index is greater than this (the cursor: the last index already seen).
            limit: at most this many steps.

        Raises:
            NotFoundError: no such episode.
        """
        self.get_episode(episode_id)
        with self._read() as session:
            query = select(Step).where(Step.episode_id == episode_id).order_by(Step.index)
            if after is not None:
                query = query.where(Step.index > after)
            if limit is not None:
                query = query.limit(limit)
            return [StepPublic.model_validate(s) for s in session.scalars(query)]

    def get_step(self, episode_id: str, index: int) -> StepPublic:
        """One step of an episode.

        Raises:
            NotFoundError: no such step.
        """
        with self._read() as session:
            step = session.scalar(select(Step).where(Step.episode_id == episode_id, Step.index == index))
            if step is None:
                raise NotFoundError(f"episode {episode_id} has no step {index}")
            return StepPublic.model_validate(step)

    def list_evaluations(self, episode_id: str) -> list[EvaluationPublic]:
        """The evaluations of an episode in the order they happened.

        Raises:
            NotFoundError: no such episode.
        """
        self.get_episode(episode_id)
        with self._read() as session:
            query = (
                select(Evaluation, Artifact.media_type)
                .outerjoin(Artifact, Artifact.digest == Evaluation.snapshot)
                .where(Evaluation.episode_id == episode_id)
                .order_by(Evaluation.id)
            )
            return [
                EvaluationPublic.model_validate(e).model_copy(
                    update={"snapshot_truncated": media == artifacts.MEDIA_TAR_TRUNCATED}
                )
                for e, media in session.execute(query)
            ]

    def list_run_evaluations(self, run_id: str) -> dict[str, list[EvaluationPublic]]:
        """The evaluations of every episode of a run, in one query: episode id -> its evaluations in the
        order they happened (an episode without any is left out).

        Raises:
            NotFoundError: no such run.
        """
        with self._read() as session:
            if session.get(Run, run_id) is None:
                raise NotFoundError(f"run {run_id} is not in the trace store {self.display_url}")
            query = (
                select(Evaluation, Artifact.media_type)
                .join(Episode, Episode.id == Evaluation.episode_id)
                .outerjoin(Artifact, Artifact.digest == Evaluation.snapshot)
                .where(Episode.run_id == run_id)
                .order_by(Evaluation.id)
            )
            out: dict[str, list[EvaluationPublic]] = {}
            for e, media in session.execute(query):
                out.setdefault(e.episode_id, []).append(
                    EvaluationPublic.model_validate(e).model_copy(
                        update={"snapshot_truncated": media == artifacts.MEDIA_TAR_TRUNCATED}
                    )
                )
            return out

    def get_run_consistency(self, run_id: str) -> CachedConsistency | None:
        """The method consistency cached for a run (see :meth:`put_run_consistency`), if any."""
        with self._read() as session:
            row = session.get(RunConsistency, run_id)
            if row is None:
                return None
            return CachedConsistency(key=row.key, value=row.value, n_compared=row.n_compared)

    def put_run_consistency(self, run_id: str, *, key: str, value: float | None, n_compared: int) -> None:
        """Cache a run's method consistency under ``key`` (what it was computed from), replacing any other.

        Raises:
            StoreError: the database refused the write (e.g. a read-only store).
        """
        with self._write(f"cache the method consistency of run {run_id}") as conn:
            conn.execute(delete(RunConsistency).where(RunConsistency.run_id == run_id))
            conn.execute(
                insert(RunConsistency),
                {
                    "run_id": run_id,
                    "key": key,
                    "value": _finite(value),
                    "n_compared": n_compared,
                    "computed_at": _now(),
                },
            )

    def pending_attempts(self, run_id: str, *, retries: int = 0) -> list[int]:
        """Attempt indices of a run still to run (what ``rgym resume`` runs): those with no episode that
        finished for good, and those whose latest try failed from the environment with retries left."""
        run = self.get_run(run_id)
        latest: dict[int, EpisodePublic] = {}
        failures: dict[int, int] = {}
        for episode in sorted(self.list_episodes(run_id), key=lambda e: e.started_at):
            if episode.status in EPISODE_DONE_STATUSES:
                latest[episode.index] = episode
            if episode.origin == Origin.ENVIRONMENT:
                failures[episode.index] = failures.get(episode.index, 0) + 1
        pending = []
        for index in range(run.k):
            last = latest.get(index)
            if last is None or (last.origin == Origin.ENVIRONMENT and failures.get(index, 0) <= retries):
                pending.append(index)
        return pending

    def resolve_run_id(self, prefix: str) -> str:
        """The one run id starting with ``prefix`` (case-insensitive).

        Raises:
            NotFoundError: no run, or more than one, matches.
        """
        return self._resolve(Run, "run", prefix)

    def resolve_episode_id(self, prefix: str) -> str:
        """The one episode id starting with ``prefix`` (case-insensitive).

        Raises:
            NotFoundError: no episode, or more than one, matches.
        """
        return self._resolve(Episode, "episode", prefix)

    def _resolve(self, model: type[Run] | type[Episode] | type[SuiteRun], what: str, prefix: str) -> str:
        wanted = normalize_prefix(prefix)
        if not is_valid_prefix(wanted):
            raise NotFoundError(
                f"{prefix!r} is not a {what} id", hint="ids are 26 letters/digits, like 01J9Z3..."
            )
        with self._read() as session:
            # Ids are upper-case base32 with no LIKE wildcards, so a range scan finds the prefix.
            ids = session.scalars(
                select(model.id)
                .where(model.id >= wanted, model.id < wanted + "~")
                .order_by(model.id)
                .limit(2)
            ).all()
        if not ids:
            raise NotFoundError(f"no {what} id starts with {prefix!r} in the trace store {self.display_url}")
        if len(ids) > 1:
            raise NotFoundError(f"{what} id prefix {prefix!r} is ambiguous", hint="give more characters")
        return ids[0]

    def count_steps(self, episode_id: str) -> int:
        """How many steps of an episode are stored (counted, not the cached ``n_steps``)."""
        with self._read() as session:
            return session.scalar(select(func.count()).where(Step.episode_id == episode_id)) or 0

    def export_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Every record of a run as JSON-able dicts with a ``type`` key: the run, then per episode the
        episode, its steps and its evaluations.

        Raises:
            NotFoundError: no such run (raised on the first ``next()``).
        """
        run = self.get_run(run_id)
        yield {"type": "run", **run.model_dump(mode="json")}
        for episode in self.list_episodes(run_id):
            yield {"type": "episode", **episode.model_dump(mode="json")}
            with self._read() as session:
                steps = session.scalars(
                    select(Step)
                    .where(Step.episode_id == episode.id)
                    .order_by(Step.index)
                    .execution_options(yield_per=500)
                )
                for step in steps:
                    yield {"type": "step", **StepPublic.model_validate(step).model_dump(mode="json")}
            for evaluation in self.list_evaluations(episode.id):
                yield {"type": "evaluation", **evaluation.model_dump(mode="json")}

    def export_suite_run(self, suite_run_id: str) -> Iterator[dict[str, Any]]:
        """Every record of a suite run: the suite run (``type`` ``suite_run``), then each of its runs' records
        (:meth:`export_run`), in the suite's task order.

        Raises:
            NotFoundError: no such suite run (raised on the first ``next()``).
        """
        suite_run = self.get_suite_run(suite_run_id)
        yield {"type": "suite_run", **suite_run.model_dump(mode="json")}
        for run in self.suite_run_runs(suite_run_id):
            yield from self.export_run(run.id)


def open_store(url: str | None = None, *, recover: bool = True) -> TraceStore:
    """Open the trace store at ``url`` (default: ``RGYM_STORE``, else SQLite in the data dir).

    Creates folders and tables as needed, migrates an older schema, and (unless ``recover`` is False)
    marks episodes whose owner process died as interrupted.
    """
    return TraceStore(url or get_settings().store_url, recover=recover)


def _owner_columns(owner: Owner) -> dict[str, Any]:
    return {"owner_pid": owner.pid, "owner_host": owner.host, "owner_started": owner.started}


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own message, first line only (SQLAlchemy appends SQL and a URL to it)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _dispose_in_child(ref: Callable[[], TraceStore | None]) -> None:
    store = ref()
    if store is not None:
        store._engine.dispose(close=False)
