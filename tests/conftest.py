"""Shared fixtures. Docker and PostgreSQL tests run for real; under CI=true a missing engine fails loudly.

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
from hypothesis import settings
from sqlalchemy.engine import make_url

from gym_core.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Mutation testing (scripts/mutate.py) runs the tests once per mutant: fewer, derandomized examples there.
settings.register_profile("mutation", max_examples=20, derandomize=True, deadline=None)
settings.load_profile(os.environ.get("RGYM_HYPOTHESIS_PROFILE", "default"))


def _docker_client():  # type: ignore[no-untyped-def]
    import docker

    client = docker.from_env(timeout=30)
    client.ping()
    return client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the files marked ``longest_first`` first, so that under ``pytest -n`` (``make test``) their
    minutes overlap the rest of the suite instead of trailing it. The sort is stable and by file, so each
    file stays in one piece and in its own order."""
    items.sort(key=lambda item: item.get_closest_marker("longest_first") is None)


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """A live Docker client. Skips locally when no engine answers; fails under CI=true."""
    try:
        client = _docker_client()
    except Exception as exc:  # pragma: no cover - depends on the machine
        message = f"no Docker engine answers ({exc}); run scripts/ensure-docker"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test gets its own data dir, so no test touches the user's trace store."""
    if "RGYM_DATA_DIR" not in os.environ or os.environ.get("RGYM_TEST_KEEP_DATA_DIR") != "1":
        data_dir = tmp_path_factory.mktemp("rgym-data")
        monkeypatch.setenv("RGYM_DATA_DIR", str(data_dir))
        monkeypatch.delenv("RGYM_STORE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
