"""The read journal: audit entries of reads are made durable in ``audit_journal`` (on a SQLite
file, in a database file of its own beside the ledger) before they join the hash chain, so
that a check waits for its own entry's commit and not for a filing's. ``ledger_state`` row
``reads_chained_upto`` says how far a SQLite file's journal has been moved into the chain.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "audit_journal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject", sa.String(18), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.execute("INSERT INTO ledger_state (name, value) VALUES ('reads_chained_upto', 0)")


def downgrade() -> None:
    # reads not yet chained would be lost with the journal: chain them first (a server's
    # start or stop does, or Ledger.chain_all_reads)
    bind = op.get_bind()
    waiting = bind.execute(sa.text("SELECT COUNT(*) FROM audit_journal")).scalar()
    reads = _reads_file(bind)
    if reads is not None and os.path.exists(reads):
        mark = bind.execute(
            sa.text("SELECT value FROM ledger_state WHERE name = 'reads_chained_upto'")
        ).scalar()
        journal = sqlite3.connect(f"{Path(reads).as_uri()}?mode=ro", uri=True)
        try:
            waiting = (waiting or 0) + journal.execute(
                "SELECT COUNT(*) FROM audit_journal WHERE id > ?", (mark or 0,)
            ).fetchone()[0]
        finally:
            journal.close()
    if waiting:
        raise RuntimeError(f"the read journal holds {waiting} reads not yet in the audit chain")
    op.execute("DELETE FROM ledger_state WHERE name = 'reads_chained_upto'")
    op.drop_table("audit_journal")
    if reads is not None:  # chained already: a later upgrade must not find them again
        for suffix in ("", "-wal", "-shm"):
            Path(reads + suffix).unlink(missing_ok=True)


def _reads_file(bind: sa.engine.Connection) -> str | None:
    """A SQLite file's read journal (``<database>-reads``, as the ledger names it)."""
    if bind.dialect.name != "sqlite":
        return None
    url = bind.engine.url
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri"):
        return None  # as Dialect.sqlite_path: no file of its own, the table is the journal
    return os.path.realpath(database) + "-reads"
