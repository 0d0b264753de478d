"""evaluations.split: which half of the hidden data graded it (public for validate, private for submit)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Evaluations recorded before splits existed have none (NULL): they graded the whole hidden set.
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("split", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("split")
