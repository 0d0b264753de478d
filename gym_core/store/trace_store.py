"""The trace store: every run, episode, step, evaluation and workspace snapshot, durable on return.

Writes are short Core transactions (one per call) that commit before the method returns, so a killed
process loses at most the step in flight. Reads open a session as a context manager and hand back frozen
``*Public`` records, never live ORM objects.

Usage::

    store = open_store()                       # RGYM_STORE / --store, else SQLite in the data dir
    run_id = store.create_run(task_id="x", ...)
    ep = store.start_episode(run_id, index=0, seed=0)
    store.record_step(ep, index=0, action={...}, observation={...}, ...)
    store.finish_episode(ep, status="submitted", ...)
    store.finish_run(run_id, status="completed")
"""

from __future__ import annotations

import math
import os
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Self

from sqlalchemy import Connection, CursorResult, Engine, bindparam, func, insert, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from gym_core.errors import NotFoundError, StoreError
from gym_core.settings import get_settings
from gym_core.store import artifacts
from gym_core.store.engine import BUSY_TIMEOUT_S, WRITE_OPTION, create_store_engine, parse_store_url
from gym_core.store.ids import is_valid_prefix, new_id, normalize_prefix
from gym_core.store.migrate import upgrade_to_head
from gym_core.store.models import Episode, Evaluation, Run, Step
from gym_core.store.owner import Owner, current_owner, is_alive
from gym_core.store.records import EpisodePublic, EvaluationPublic, RunPublic, StepPublic

#: Text fields of an observation (and grader output) longer than this are cut inline; the full text is
#: kept as an artifact.
INLINE_TEXT_CAP: Final = 16 * 1024

EpisodeStatus = Literal["running", "submitted", "truncated", "crashed", "interrupted"]
FinalEpisodeStatus = Literal["submitted", "truncated", "crashed", "interrupted"]
RunStatus = Literal["running", "completed", "interrupted", "failed"]
EvaluationKind = Literal["validate", "submit", "auto"]

EPISODE_FINAL_STATUSES: Final = frozenset({"submitted", "truncated", "crashed", "interrupted"})
RUN_FINAL_STATUSES: Final = frozenset({"completed", "interrupted", "failed"})
EVALUATION_KINDS: Final = frozenset({"validate", "submit", "auto"})
#: Episodes in these states are done for good; ``rgym resume`` re-runs only the other attempts.
EPISODE_DONE_STATUSES: Final = frozenset({"submitted", "truncated", "crashed"})

# The per-step statements are built once: building them per call costs more than the SQLite write itself.
_COUNT_STEP: Final = (
    update(Episode)
    .where(Episode.id == bindparam("eid"), Episode.status == "running")
    .values(updated_at=bindparam("now"), n_steps=Episode.n_steps + 1)
)
_INSERT_STEP: Final = insert(Step)


def _now() -> datetime:
    return datetime.now(UTC)


def _finite(value: float | None) -> float | None:
    """NaN/inf scores mean "no score"; SQLite would store NaN as NULL anyway, so say so everywhere."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


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
    ) -> str:
        """Record a new run (status ``running``, owned by this process) and return its id."""
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
                    "status": "running",
                    "created_at": _now(),
                    "finished_at": None,
                    **_owner_columns(owner),
                },
            )
        return run_id

    def start_episode(self, run_id: str, *, index: int, seed: int | None) -> str:
        """Record a new attempt of ``run_id`` (status ``running``, owned by this process); return its id.

        Starting an episode of a finished run re-opens the run (this is how ``rgym resume`` works).
        """
        episode_id = new_id()
        owner = current_owner()
        now = _now()
        with self._write("start an episode") as conn:
            status = conn.scalar(select(Run.status).where(Run.id == run_id))
            if status is None:
                raise NotFoundError(f"run {run_id} is not in the trace store")
            if status != "running":
                conn.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(status="running", finished_at=None, **_owner_columns(owner))
                )
            conn.execute(
                insert(Episode),
                {
                    "id": episode_id,
                    "run_id": run_id,
                    "index": index,
                    "seed": seed,
                    "status": "running",
                    "started_at": now,
                    "finished_at": None,
                    "updated_at": now,
                    "n_steps": 0,
                    "n_evals": 0,
                    "usage": {},
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
    ) -> None:
        """Write one step; it is committed (durable against a killed process) when this returns.

        Text fields of ``observation`` longer than :data:`INLINE_TEXT_CAP` are stored cut (head, marker,
        tail), and their full text is stored as an artifact named in the step's ``overflow``.

        Raises:
            StoreError: the episode is not running, or already has a step with this index.
        """
        _require_utc(started_at, "started_at")
        obs = dict(observation)
        overflow: dict[str, str] = {}
        cut: dict[str, tuple[str, bytes]] = {}
        for key, value in obs.items():
            if isinstance(value, str) and len(value) > INLINE_TEXT_CAP // 4:  # cheap pre-check
                short = artifacts.cap_text(value, INLINE_TEXT_CAP)
                if short is not None:
                    full = value.encode("utf-8", errors="surrogateescape")
                    cut[key] = (short, full)
                    overflow[key] = artifacts.sha256_hex(full)
        for key, (short, _full) in cut.items():
            obs[key] = short
        stored_action: Any = action if isinstance(action, str) else dict(action)
        now = _now()
        with self._write(f"record step {index} of episode {episode_id}") as conn:
            self._check_touched(conn, episode_id, conn.execute(_COUNT_STEP, {"eid": episode_id, "now": now}))
            for key, (_short, full) in cut.items():
                artifacts.put_blob(
                    conn,
                    digest=overflow[key],
                    media_type=artifacts.MEDIA_TEXT,
                    size=len(full),
                    compressed=artifacts.compress(full),
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
                        "flags": dict(flags),
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
        kind: EvaluationKind,
        raw_score: float | None,
        normalized_score: float | None,
        valid: bool,
        grader_output: str,
        snapshot: str | None,
    ) -> None:
        """Write one grading; keeps the episode's best score up to date (interrupted episodes keep it).

        Args:
            snapshot: digest from :meth:`snapshot_workspace` of the workspace that was graded.

        Raises:
            StoreError: unknown kind, the episode is not running, or the snapshot is not stored.
        """
        if kind not in EVALUATION_KINDS:
            raise StoreError(f"evaluation kind must be one of {sorted(EVALUATION_KINDS)}, got {kind!r}")
        raw, normalized = _finite(raw_score), _finite(normalized_score)
        short = artifacts.cap_text(grader_output, INLINE_TEXT_CAP)
        full = grader_output.encode("utf-8", errors="surrogateescape") if short is not None else b""
        now = _now()
        with self._write(f"record an evaluation of episode {episode_id}") as conn:
            best = conn.execute(
                select(Episode.best_raw, Episode.best_normalized).where(Episode.id == episode_id)
            ).first()
            values: dict[str, Any] = {"n_evals": Episode.n_evals + 1}
            improves = best is not None and (
                best.best_normalized is None or normalized > best.best_normalized
            )
            if valid and normalized is not None and improves:
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
                    "kind": kind,
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
        status: FinalEpisodeStatus,
        final_raw: float | None,
        final_normalized: float | None,
        best_raw: float | None = None,
        best_normalized: float | None = None,
        failure_kind: str | None = None,
        error: str | None = None,
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        """Close a running episode with its final status and scores.

        ``best_raw``/``best_normalized`` left as None keep the best tracked from the evaluations.

        Raises:
            StoreError: bad status, or the episode is not running.
        """
        if status not in EPISODE_FINAL_STATUSES:
            raise StoreError(
                f"episode status must be one of {sorted(EPISODE_FINAL_STATUSES)}, got {status!r}"
            )
        now = _now()
        values: dict[str, Any] = {
            "status": status,
            "finished_at": now,
            "final_raw": _finite(final_raw),
            "final_normalized": _finite(final_normalized),
            "failure_kind": failure_kind,
            "error": error,
        }
        if usage is not None:
            values["usage"] = dict(usage)
        if _finite(best_normalized) is not None or _finite(best_raw) is not None:
            values.update(best_raw=_finite(best_raw), best_normalized=_finite(best_normalized))
        with self._write(f"finish episode {episode_id}") as conn:
            self._touch_running(conn, episode_id, now, **values)

    def finish_run(self, run_id: str, *, status: RunStatus) -> None:
        """Set a run's final status (``completed``, ``interrupted`` or ``failed``)."""
        if status not in RUN_FINAL_STATUSES:
            raise StoreError(f"run status must be one of {sorted(RUN_FINAL_STATUSES)}, got {status!r}")
        with self._write(f"finish run {run_id}") as conn:
            result = conn.execute(
                update(Run).where(Run.id == run_id).values(status=status, finished_at=_now())
            )
            if result.rowcount == 0:
                raise NotFoundError(f"run {run_id} is not in the trace store")

    def _touch_running(self, conn: Connection, episode_id: str, now: datetime, **values: Any) -> None:
        """Update a running episode (and its heartbeat); refuse episodes that are gone or finished."""
        result = conn.execute(
            update(Episode)
            .where(Episode.id == episode_id, Episode.status == "running")
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
                    Episode.status == "running"
                )
            ).all()
            runs = session.execute(
                select(Run.id, Run.owner_pid, Run.owner_host, Run.owner_started).where(
                    Run.status == "running"
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
                    .where(Episode.id == row.id, Episode.status == "running")
                    .values(
                        status="interrupted",
                        finished_at=now,
                        updated_at=now,
                        error=f"owner process {row.owner_pid} on {row.owner_host} is gone",
                    )
                )
                marked += result.rowcount
            if dead_runs:
                conn.execute(
                    update(Run)
                    .where(Run.id.in_(dead_runs), Run.status == "running")
                    .values(status="interrupted", finished_at=now)
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

    def snapshot_workspace(self, path: Path) -> str:
        """Store a deterministic tar of the folder ``path`` (deduplicated) and return its digest.

        The digest is the sha256 of the uncompressed tar, so an unchanged workspace is stored once.
        """
        snap = artifacts.Snapshot(Path(path))
        try:
            with self._read() as session:
                if artifacts.has_blob(session.connection(), snap.digest):
                    return snap.digest
            # Compress before taking the write lock, so other writers are not held up by it.
            compressed = snap.compressed()
            with self._write(f"store a snapshot of {path}") as conn:
                artifacts.put_blob(
                    conn,
                    digest=snap.digest,
                    media_type=artifacts.MEDIA_TAR,
                    size=snap.size,
                    compressed=compressed,
                )
            return snap.digest
        finally:
            snap.close()

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

    def list_runs(self, *, task_id: str | None = None, limit: int | None = None) -> list[RunPublic]:
        """Runs, newest first."""
        query = select(Run).order_by(Run.id.desc())
        if task_id is not None:
            query = query.where(Run.task_id == task_id)
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

    def list_steps(self, episode_id: str) -> list[StepPublic]:
        """The steps of an episode in order.

        Raises:
            NotFoundError: no such episode.
        """
        self.get_episode(episode_id)
        with self._read() as session:
            query = select(Step).where(Step.episode_id == episode_id).order_by(Step.index)
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
            query = select(Evaluation).where(Evaluation.episode_id == episode_id).order_by(Evaluation.id)
            return [EvaluationPublic.model_validate(e) for e in session.scalars(query)]

    def pending_attempts(self, run_id: str) -> list[int]:
        """Attempt indices of a run with no episode that finished for good (what ``rgym resume`` runs)."""
        run = self.get_run(run_id)
        done = {e.index for e in self.list_episodes(run_id) if e.status in EPISODE_DONE_STATUSES}
        return [i for i in range(run.k) if i not in done]

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

    def _resolve(self, model: type[Run] | type[Episode], what: str, prefix: str) -> str:
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
