"""The database engine behind a trace store: URL handling and the SQLite settings that make it durable.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed transaction survives the writing process
being killed (not a power cut, which we do not promise). Write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing on a lock upgrade.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from gym_core.errors import StoreError, StoreURLError

BUSY_TIMEOUT_S = 30.0
#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE_OPTION = "rgym_write"


def parse_store_url(url: str) -> URL:
    """Parse and check a store URL; ``postgresql://`` means the psycopg (v3) driver.

    Raises:
        StoreError: the URL is malformed or names a database other than SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreURLError(
            f"trace store URL {url!r} is not a database URL",
            hint="use sqlite:///path/traces.db or postgresql://user@host/db",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreURLError(
                f"trace store URL {url!r} names no file",
                hint="an in-memory store would lose every trace; use sqlite:///path/traces.db",
            )
        return parsed
    raise StoreURLError(
        f"trace store URL {url!r}: unsupported database {backend!r}", hint="use sqlite:// or postgresql://"
    )


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays (scores, usage) know how to become plain Python values.
    for converter in ("item", "tolist"):
        if hasattr(value, converter):
            return getattr(value, converter)()
    return str(value)


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(v) for v in value]
    return value


def dumps_json(value: Any) -> str:
    """Serialize a JSON column value: NaN/inf become null (PostgreSQL refuses them), odd types become text."""
    try:
        return json.dumps(value, allow_nan=False, default=_json_default)
    except ValueError:
        return json.dumps(_without_nan(json.loads(json.dumps(value, default=_json_default))), allow_nan=False)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (it would BEGIN lazily, as DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
    # Straight to the driver: going through conn.exec_driver_sql costs more than the statement itself.
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    try:
        driver.execute(statement)
    except sqlite3.Error as exc:  # "database is locked" past the busy timeout: a StoreError, not a crash
        raise OperationalError(statement, None, exc) from exc


def create_store_engine(url: URL) -> Engine:
    """An engine for ``url`` (from :func:`parse_store_url`); creates the SQLite file's folder."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        assert url.database is not None
        folder = Path(url.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreURLError(
                f"cannot create the trace store's folder {folder}: {exc.strerror or exc}",
                hint="give --store sqlite:///PATH in a writable folder",
            ) from None
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            # No pool_pre_ping: a connection to a local file cannot go stale, and the ping would cost a
            # statement on every per-step write.
            json_serializer=dumps_json,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        return create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=10, json_serializer=dumps_json
        )
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"cannot use {url.render_as_string(hide_password=True)}: the PostgreSQL driver is missing",
            hint="pip install 'rgym[postgres]'",
        ) from exc
