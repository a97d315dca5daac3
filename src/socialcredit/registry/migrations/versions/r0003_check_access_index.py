"""Check entries are found by subject through their own index, built in sorted batches.

A consumer check writes one audit entry, thousands a second. Indexed by subject as they arrive,
every entry lands on a random page of the subject index and costs a page written per entry at
commit, more than the check itself. So the subject index on ``audit_log`` now leaves out check
entries (``action LIKE 'check %'``), and ``audit_check_index`` (subject, seq) indexes them in
batches sorted by subject, a few seconds behind; ``ledger_state`` remembers up to which entry.
The access log reads both, and scans the few entries not yet indexed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

NOT_A_CHECK = "action NOT LIKE 'check %'"


def upgrade() -> None:
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.create_index(
        "ix_audit_log_subject",
        "audit_log",
        ["subject"],
        sqlite_where=sa.text(NOT_A_CHECK),
        postgresql_where=sa.text(NOT_A_CHECK),
    )
    op.create_table(
        "audit_check_index",
        sa.Column("subject", sa.String(18), primary_key=True),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ledger_state",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    # what was checked before this revision is indexed now, in one sorted pass
    op.execute(
        "INSERT INTO audit_check_index (subject, seq) SELECT subject, seq FROM audit_log "
        "WHERE action LIKE 'check %' AND subject IS NOT NULL ORDER BY subject, seq"
    )
    op.execute(
        "INSERT INTO ledger_state (name, value) "
        "SELECT 'check_index_upto', COALESCE(MAX(seq), 0) FROM audit_log"
    )


def downgrade() -> None:
    op.drop_table("ledger_state")
    op.drop_table("audit_check_index")
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
