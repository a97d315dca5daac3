"""``audit_subjects`` keyed by (subject, seq), not (seq, subject) with an index of subjects:
one B-tree fewer. Its rows come in the order of seq, so PostgreSQL finds those after a seq
through a block range index (a few pages for millions of rows; 16 pages a range); SQLite
through an index of seq (the table's key, subject, in each entry).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None

_PAGES_PER_RANGE = 16


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_rekey(key: str, index: str, column: str) -> None:
    """SQLite cannot change a table's key: the table made again (rows copied in key order).
    A copy left by a run refused further on goes first: SQLite's driver commits a table
    created outside a transaction."""
    op.execute("DROP TABLE IF EXISTS audit_subjects_new")
    op.execute(
        "CREATE TABLE audit_subjects_new (seq INTEGER NOT NULL, subject VARCHAR(18) NOT NULL, "
        f"PRIMARY KEY ({key})) WITHOUT ROWID"
    )
    op.execute(
        "INSERT INTO audit_subjects_new (seq, subject) SELECT seq, subject FROM audit_subjects "
        f"ORDER BY {key}"
    )
    op.execute("DROP TABLE audit_subjects")
    op.execute("ALTER TABLE audit_subjects_new RENAME TO audit_subjects")
    op.execute(f"CREATE INDEX {index} ON audit_subjects ({column})")


def upgrade() -> None:
    if _sqlite():
        _sqlite_rekey("subject, seq", "ix_audit_subjects_seq", "seq")
        return
    op.execute("ALTER TABLE audit_subjects DROP CONSTRAINT audit_subjects_pkey")
    op.execute("ALTER TABLE audit_subjects ADD PRIMARY KEY (subject, seq)")
    op.execute("DROP INDEX ix_audit_subjects_subject")
    op.execute(
        "CREATE INDEX ix_audit_subjects_seq ON audit_subjects USING brin (seq) "
        f"WITH (pages_per_range = {_PAGES_PER_RANGE})"
    )


def downgrade() -> None:
    if _sqlite():
        _sqlite_rekey("seq, subject", "ix_audit_subjects_subject", "subject")
        return
    op.execute("DROP INDEX ix_audit_subjects_seq")
    op.execute("ALTER TABLE audit_subjects DROP CONSTRAINT audit_subjects_pkey")
    op.execute("ALTER TABLE audit_subjects ADD PRIMARY KEY (seq, subject)")
    op.execute("CREATE INDEX ix_audit_subjects_subject ON audit_subjects (subject)")
