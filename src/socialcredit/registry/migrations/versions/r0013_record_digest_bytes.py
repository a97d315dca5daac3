"""Records take less room: ``content_hash`` holds the SHA-256 digest's 32 bytes, not its 64
hex characters (BLOB on SQLite, bytea on PostgreSQL), and ``ix_records_counterpart`` indexes
the role records only (``counterpart IS NOT NULL``, about 1 record in 100; every query on it
names a counterpart). Existing digests are converted, not recomputed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

HAS_COUNTERPART = "counterpart IS NOT NULL"
_SQLITE_UNHEX = "socialcredit_unhex"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _unhex(value: object) -> object:
    return bytes.fromhex(value) if isinstance(value, str) else value


def upgrade() -> None:
    op.drop_index("ix_records_counterpart", table_name="records")
    if _sqlite():
        # SQLite before 3.41 has no unhex(): the driver's connection lends Python's
        driver = op.get_bind().connection.driver_connection
        assert driver is not None
        driver.create_function(_SQLITE_UNHEX, 1, _unhex, deterministic=True)
        op.execute(f"UPDATE records SET content_hash = {_SQLITE_UNHEX}(content_hash)")
        # the declared type (the values are BLOBs already: the copy keeps them)
        with op.batch_alter_table("records", recreate="always") as batch:
            batch.alter_column(
                "content_hash", type_=sa.LargeBinary(32), existing_type=sa.String(64),
                existing_nullable=False,
            )  # fmt: skip
    else:
        op.alter_column(
            "records", "content_hash", type_=sa.LargeBinary(32), existing_type=sa.String(64),
            existing_nullable=False, postgresql_using="decode(content_hash, 'hex')",
        )  # fmt: skip
    op.create_index(
        "ix_records_counterpart",
        "records",
        ["counterpart"],
        sqlite_where=sa.text(HAS_COUNTERPART),
        postgresql_where=sa.text(HAS_COUNTERPART),
    )


def downgrade() -> None:
    op.drop_index("ix_records_counterpart", table_name="records")
    if _sqlite():
        op.execute("UPDATE records SET content_hash = lower(hex(content_hash))")
        with op.batch_alter_table("records", recreate="always") as batch:
            batch.alter_column(
                "content_hash", type_=sa.String(64), existing_type=sa.LargeBinary(32),
                existing_nullable=False,
            )  # fmt: skip
    else:
        op.alter_column(
            "records", "content_hash", type_=sa.String(64), existing_type=sa.LargeBinary(32),
            existing_nullable=False, postgresql_using="encode(content_hash, 'hex')",
        )  # fmt: skip
    op.create_index("ix_records_counterpart", "records", ["counterpart"])
