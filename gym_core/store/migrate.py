"""Schema migrations of the trace store, run programmatically (no alembic.ini to find).

Every :func:`gym_core.store.open_store` calls :func:`upgrade_to_head`. Many processes may open a fresh
store at once (parallel episodes), so the upgrade runs inside one write-locked transaction: SQLite's
``BEGIN IMMEDIATE``, PostgreSQL's transaction-scoped advisory lock. Both databases have transactional DDL,
so a failed migration leaves nothing half-done.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from gym_core.errors import StoreError
from gym_core.store.engine import WRITE_OPTION

# Any fixed 64-bit number: the PostgreSQL advisory lock that serializes trace store migrations.
_PG_LOCK_KEY = 0x7267796D_0001


def migrations_dir() -> Path:
    """The folder of the packaged Alembic scripts."""
    return Path(str(resources.files("gym_core.store") / "migrations"))


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str:
    """The newest revision this version of rgym knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is there already.

    Raises:
        StoreError: the database was written by a newer rgym, or a migration failed.
    """
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    current = current_revision(engine)
    if current == head:
        return
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise StoreError(
            f"the trace store is at schema revision {current}, which this rgym does not know",
            hint="it was written by a newer rgym; upgrade rgym",
        )
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot migrate the trace store to revision {head}: {exc}") from exc
