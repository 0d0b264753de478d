"""suite_runs, and runs.suite_run_id: a suite run groups one run per task of a suite

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suite_runs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("suite", sa.String(length=200), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suite_runs")),
    )
    with op.batch_alter_table("suite_runs") as batch:
        batch.create_index(batch.f("ix_suite_runs_suite"), ["suite"], unique=False)
    # Runs recorded before suites existed belong to none.
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("suite_run_id", sa.String(length=26), nullable=True))
        batch.create_index(batch.f("ix_runs_suite_run_id"), ["suite_run_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_runs_suite_run_id_suite_runs"),
            "suite_runs",
            ["suite_run_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(batch.f("fk_runs_suite_run_id_suite_runs"), type_="foreignkey")
        batch.drop_index(batch.f("ix_runs_suite_run_id"))
        batch.drop_column("suite_run_id")
    with op.batch_alter_table("suite_runs") as batch:
        batch.drop_index(batch.f("ix_suite_runs_suite"))
    op.drop_table("suite_runs")
