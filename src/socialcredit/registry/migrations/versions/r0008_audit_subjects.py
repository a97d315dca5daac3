"""Writes name their subjects: each write's audit entry lists the subjects whose projection it
changed (its detail holds their number and SHA-256), so that a server's check index reloads
exactly those, never the whole registry, after a batch or an import.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "audit_subjects",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("subject", sa.String(18), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_audit_subjects_subject", "audit_subjects", ["subject"])


def downgrade() -> None:
    op.drop_table("audit_subjects")
