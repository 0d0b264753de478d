"""episodes.origin, error_kind and retry_of: whose failure an attempt is, of what kind, and what it retries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Episodes recorded before attribution existed have none: reports count them as the agent's, as they were.
    with op.batch_alter_table("episodes") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("error_kind", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("retry_of", sa.String(length=26), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("retry_of")
        batch.drop_column("error_kind")
        batch.drop_column("origin")
