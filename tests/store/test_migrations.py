"""Alembic migrations: an empty database upgrades to head, and the models match the migrations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from gym_core.errors import StoreError
from gym_core.store import open_store
from gym_core.store.engine import create_store_engine, parse_store_url
from gym_core.store.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from gym_core.store.models import Base

TABLES = {
    "runs",
    "suite_runs",
    "run_consistency",
    "episodes",
    "steps",
    "evaluations",
    "artifacts",
    "api_tokens",
    "alembic_version",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


def test_empty_database_upgrades_to_head_and_matches_the_models(empty_url: str) -> None:
    engine = create_store_engine(parse_store_url(empty_url))
    try:
        assert current_revision(engine) is None
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == [], f"models and migrations disagree; write a migration: {diff}"
        upgrade_to_head(engine)  # idempotent
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(sqlite_url: str) -> None:
    engine = create_store_engine(parse_store_url(sqlite_url))
    try:
        upgrade_to_head(engine)
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade_to_head(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_sqlite_store_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store, store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_store_from_a_newer_rgym_is_refused(sqlite_url: str) -> None:
    open_store(sqlite_url).close()
    engine = create_store_engine(parse_store_url(sqlite_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer rgym"):
        open_store(sqlite_url)


def test_the_declared_head_is_alembics_head() -> None:
    """The fast check of an up-to-date store reads the head from the scripts without alembic: the same one."""
    from gym_core.store.migrate import declared_head

    assert declared_head() == head_revision()


def test_opening_an_up_to_date_store_does_not_load_alembic(sqlite_url: str) -> None:
    import subprocess
    import sys

    open_store(sqlite_url).close()  # created and migrated here
    probe = (
        "import sys\nfrom gym_core.store import open_store\n"
        f"open_store({sqlite_url!r}).close()\nprint('alembic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
