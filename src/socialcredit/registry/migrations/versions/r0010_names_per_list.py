"""A published name per list: ``subject_names`` keyed by subject and list. The authority that
first published a subject on a list names them on that list, and only there (a lender's
listing does not rename the court's debtor).

A name given before this is kept with an empty ``list``: it stands for every list on which
the subject has no name of its own (``Ledger.names``), until that list's authority gives one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "subject_names_per_list",
        sa.Column("subject", sa.String(18), primary_key=True),
        sa.Column("list", sa.String(120), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("authority", sa.String(120), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO subject_names_per_list (subject, list, name, authority, given_at) "
        "SELECT subject, '', name, authority, given_at FROM subject_names"
    )
    op.drop_table("subject_names")
    op.rename_table("subject_names_per_list", "subject_names")


def downgrade() -> None:
    op.create_table(
        "subject_names_one",
        sa.Column("subject", sa.String(18), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("authority", sa.String(120), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    )
    # the newest name a subject was given on any list
    op.execute(
        "INSERT INTO subject_names_one (subject, name, authority, given_at) "
        "SELECT subject, name, authority, given_at FROM subject_names n WHERE given_at = "
        "(SELECT max(given_at) FROM subject_names m WHERE m.subject = n.subject) "
        "AND list = (SELECT max(list) FROM subject_names m WHERE m.subject = n.subject "
        "AND m.given_at = n.given_at)"
    )
    op.drop_table("subject_names")
    op.rename_table("subject_names_one", "subject_names")
