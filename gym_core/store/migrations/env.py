"""Alembic environment of the trace store; migrations run programmatically from ``gym_core.store.migrate``.

The caller passes an open connection (inside its own transaction and lock) in
``config.attributes["connection"]``, so concurrent processes opening a fresh store migrate it once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gym_core.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run trace store migrations through gym_core.store.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only ALTER through table copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
