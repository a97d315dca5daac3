"""No ``subjects`` table: the subjects the ledger has seen are those of its records and the
organisations its role records name, read from the records' own indexes (``subject`` and the
partial index on ``counterpart``). The table held nothing else (a kind the records hold and a
first sight no one read) and cost about 110 bytes a subject on PostgreSQL, a third of a
record's storage where each subject has one record.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("subjects")


def downgrade() -> None:
    # run again after a downgrade refused further down (SQLite commits DDL as it goes), the
    # table is there already, and the rows are added only where missing
    if not sa.inspect(op.get_bind()).has_table("subjects"):
        op.create_table(
            "subjects",
            sa.Column("subject", sa.String(18), primary_key=True),
            sa.Column("kind", sa.String(12), nullable=False),
            sa.Column("first_seen", _AT, nullable=False),
        )
    # first seen: the entry of the subject's first record, or of the first naming it
    op.execute(
        "INSERT INTO subjects (subject, kind, first_seen) "
        "SELECT subject, min(subject_kind), min(entered_at) FROM records GROUP BY subject "
        "ON CONFLICT (subject) DO NOTHING"
    )
    op.execute(
        "INSERT INTO subjects (subject, kind, first_seen) "
        "SELECT counterpart, 'organisation', min(entered_at) FROM records "
        "WHERE counterpart IS NOT NULL GROUP BY counterpart "
        "ON CONFLICT (subject) DO NOTHING"
    )
