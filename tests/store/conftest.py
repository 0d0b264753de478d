"""Fixtures of the trace store tests: a fresh SQLite store, and a fresh PostgreSQL database per test.

PostgreSQL comes from ``RGYM_TEST_POSTGRES_URL`` (exported by the Makefile) or, when unset, from
``scripts/ensure-postgres``, which starts a throwaway cluster. Under CI=true a PostgreSQL that cannot be
reached fails the test; locally it is skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gym_core.store import TraceStore, open_store
from tests.conftest import IN_CI, REPO_ROOT


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-existing SQLite store in a fresh folder."""
    return f"sqlite:///{tmp_path / 'store' / 'traces.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[TraceStore]:
    """A fresh SQLite trace store."""
    s = open_store(sqlite_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of a reachable PostgreSQL server (any database on it), started when needed."""
    url = os.environ.get("RGYM_TEST_POSTGRES_URL")
    if not url:
        try:
            proc = subprocess.run(
                [str(REPO_ROOT / "scripts" / "ensure-postgres")], capture_output=True, text=True, timeout=180
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            _unavailable(f"scripts/ensure-postgres could not run: {exc}")
        if proc.returncode != 0 or not proc.stdout.strip():
            _unavailable(f"scripts/ensure-postgres failed: {proc.stderr.strip()[-500:]}")
        url = proc.stdout.strip().splitlines()[-1]
    import psycopg

    try:
        with psycopg.connect(_libpq(url), connect_timeout=10):
            pass
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {url} does not answer: {exc}")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import psycopg

    name = f"rgym_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server_url).set(database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(_libpq(postgres_server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL on each supported database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'traces.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _libpq(url: str) -> str:
    """The psycopg (libpq) form of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
