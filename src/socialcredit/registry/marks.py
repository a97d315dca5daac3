"""Marks a registry carries about itself, kept in its own database: today one, ``synthetic``.

A registry that ``socialcredit demo`` creates holds made-up people, made-up records and
identifiers that only look real. The demo marks it :func:`mark_synthetic` before it files a
record; the mark lives in the table ``registry_marks`` (migration 0009), so it travels with the
database file (or the PostgreSQL database), survives a restart and is there for any server
opened on it. The service reads it once at start (:func:`synthetic_note`) and then says so on
every portal page (a banner) and every API response (the ``X-Synthetic-Data`` header).

A mark is never removed: a registry that once held synthetic people may hold them still.

The table is declared against the ledger's :data:`~socialcredit.registry.ledger.metadata`, so
the migrations and the declared schema stay one (the migration imports this module).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from socialcredit.errors import LedgerError
from socialcredit.registry.ledger import Ledger, check_text, metadata

__all__ = ["SYNTHETIC", "mark_synthetic", "synthetic_note", "t_registry_marks"]

SYNTHETIC = "synthetic"
MAX_NOTE = 500

t_registry_marks = sa.Table(
    "registry_marks",
    metadata,
    sa.Column("mark", sa.String(40), primary_key=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("set_by", sa.String(120), nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
)


def mark_synthetic(ledger: Ledger, *, by: str, note: str) -> None:
    """Mark the registry behind ``ledger`` as holding synthetic data, saying why in ``note``
    (shown on every page and response). Marking it again keeps the first note. The mark is
    written in the audit chain too."""
    note = check_text(note, "note", max_len=MAX_NOTE)
    by = check_text(by, "by", max_len=120)
    if not ledger.is_initialised():
        raise LedgerError("registry_marks: the database is not initialised: run "
                          "`socialcredit db init` first")  # fmt: skip
    row = {"mark": SYNTHETIC, "note": note, "set_by": by, "set_at": datetime.now(UTC)}
    with ledger._write() as conn:  # the ledger's writers' turn (SQLite) or lock (PostgreSQL)
        have = conn.execute(
            sa.select(t_registry_marks.c.mark).where(t_registry_marks.c.mark == SYNTHETIC)
        ).first()
        if have is not None:
            return
        conn.execute(t_registry_marks.insert().values(row))
    ledger.log_access(actor=by, action="mark registry synthetic", subject=None, purpose=note)


def synthetic_note(ledger: Ledger) -> str | None:
    """The note of the registry's synthetic mark, or ``None`` when it has none (or its schema
    predates the marks: it was not made by the demo)."""
    try:
        with ledger._read() as conn:
            if not sa.inspect(conn).has_table(t_registry_marks.name):
                return None
            note = conn.execute(
                sa.select(t_registry_marks.c.note).where(t_registry_marks.c.mark == SYNTHETIC)
            ).scalar()
    except SQLAlchemyError as exc:
        raise LedgerError(f"registry_marks: reading the registry's marks failed: {exc}") from None
    return None if note is None else str(note)
