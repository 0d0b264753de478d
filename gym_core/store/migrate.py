"""Schema migrations of the trace store, run programmatically (no alembic.ini to find).

Every :func:`gym_core.store.open_store` calls :func:`upgrade_to_head`. Many processes may open a fresh
store at once (parallel episodes), so the upgrade runs inside one write-locked transaction: SQLite's
``BEGIN IMMEDIATE``, PostgreSQL's transaction-scoped advisory lock. Both databases have transactional DDL,
so a failed migration leaves nothing half-done.

Alembic is imported only when the database is not at the newest revision: a store that is up to date (the
usual case) is checked with one ``SELECT`` against the revision the packaged scripts declare, which keeps
alembic out of every command that merely reads traces.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from gym_core.errors import StoreError
from gym_core.store.engine import WRITE_OPTION

if TYPE_CHECKING:
    from alembic.config import Config

# Any fixed 64-bit number: the PostgreSQL advisory lock that serializes trace store migrations.
_PG_LOCK_KEY = 0x7267796D_0001


def migrations_dir() -> Path:
    """The folder of the packaged Alembic scripts."""
    return Path(str(resources.files("gym_core.store") / "migrations"))


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str:
    """The newest revision this version of rgym knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


_REVISION = re.compile(r"^revision: str = \"([^\"]+)\"$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision: str \| None = \"([^\"]+)\"$", re.MULTILINE)


@functools.cache
def declared_head() -> str | None:
    """The head revision as the packaged scripts declare it, read without alembic: the one revision no
    other script revises. None when the scripts do not say it plainly (alembic then decides)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            return None
        revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            revised.add(down.group(1))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    """The database's revision read with plain SQL (None: no alembic_version table or no row)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is there already.

    Raises:
        StoreError: the database was written by a newer rgym, or a migration failed.
    """
    head = declared_head()
    if head is not None and _stored_revision(engine) == head:
        return
    from alembic import command
    from alembic.script import ScriptDirectory

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
