"""Marks a registry carries about itself (``registry_marks``): a registry the demo creates is
marked synthetic, and the service says so on every page and response
(:mod:`socialcredit.registry.marks`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# the table is declared there, against the ledger's metadata: importing it keeps the declared
# schema and the migrated one the same wherever migrations run
import socialcredit.registry.marks  # noqa: F401

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "registry_marks",
        sa.Column("mark", sa.String(40), primary_key=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(120), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registry_marks")
