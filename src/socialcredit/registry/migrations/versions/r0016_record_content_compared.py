"""Records take less room: idempotency compares a record filed again with the stored one's
columns (subject, type, day, decision reference, counterpart), so the SHA-256 digest of those
columns stored beside them (``records.content_hash``, 32 bytes and a length byte a record) is
dropped. On PostgreSQL the ids' index is packed full (``fillfactor`` 100: ids only ever grow,
so no page of it takes an insert in its middle).

PostgreSQL only marks a dropped column as gone: existing rows keep their digest until the
table is rewritten (``VACUUM FULL records``); new rows take no room for it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None

_SQLITE_DIGEST = "socialcredit_content_digest"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _digest(*values: str | None) -> bytes:
    """The digest as the registry computed it until this revision."""
    text = "\x1f".join(v or "" for v in values)
    return hashlib.sha256(text.encode()).digest()


def upgrade() -> None:
    if _sqlite():
        with op.batch_alter_table("records", recreate="always") as batch:
            batch.drop_column("content_hash")
    else:
        op.drop_column("records", "content_hash")
        op.execute("ALTER INDEX records_pkey SET (fillfactor = 100)")


def downgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("records")}
    # SQLite's driver commits a column added outside a transaction: a downgrade refused
    # further down (0014's, while reads wait for the chain) leaves it, and the next one
    # goes on from there
    if "content_hash" not in columns:
        op.add_column("records", sa.Column("content_hash", sa.LargeBinary(32), nullable=True))
    if _sqlite():
        driver = op.get_bind().connection.driver_connection
        assert driver is not None
        driver.create_function(_SQLITE_DIGEST, 6, _digest, deterministic=True)
        op.execute(
            f"UPDATE records SET content_hash = {_SQLITE_DIGEST}(subject, record_type, "
            "authority, decided_on, decision_ref, counterpart) WHERE content_hash IS NULL"
        )
        with op.batch_alter_table("records", recreate="always") as batch:
            batch.alter_column("content_hash", existing_type=sa.LargeBinary(32), nullable=False)
    else:
        op.execute("ALTER INDEX records_pkey RESET (fillfactor)")
        op.execute(
            "UPDATE records SET content_hash = sha256(convert_to(concat_ws(chr(31), subject, "
            "record_type, authority, to_char(decided_on, 'YYYY-MM-DD'), decision_ref, "
            "coalesce(counterpart, '')), 'UTF8'))"
        )
        op.alter_column("records", "content_hash", existing_type=sa.LargeBinary(32), nullable=False)
