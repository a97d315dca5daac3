"""An import names the subjects of the records it added by the range of their ids
(``audit_records``: one row an import), not a row each in ``audit_subjects`` (about 110 bytes
a subject on PostgreSQL), which keeps the others it names (the role holders it refreshed).
Imports before this revision keep their rows.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("seq", _ID, primary_key=True, autoincrement=False),
        sa.Column("first_id", _ID, nullable=False),
        sa.Column("last_id", _ID, nullable=False),
    )


def downgrade() -> None:
    # each import's subjects a row each again, as before
    op.execute(
        "INSERT INTO audit_subjects (seq, subject) SELECT DISTINCT g.seq, r.subject "
        "FROM audit_records g JOIN records r ON r.id BETWEEN g.first_id AND g.last_id "
        "WHERE NOT EXISTS (SELECT 1 FROM audit_subjects a WHERE a.seq = g.seq "
        "AND a.subject = r.subject)"
    )
    op.drop_table("audit_records")
