"""The audit log's writes and other non-check entries in sequence order (a partial index), so
that a server looking for what was written since its last look (every second) reads those
entries only, not the thousands of checks logged in the meantime.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

NOT_A_CHECK = "action NOT LIKE 'check %'"


def upgrade() -> None:
    op.create_index(
        "ix_audit_log_writes",
        "audit_log",
        ["seq"],
        sqlite_where=sa.text(NOT_A_CHECK),
        postgresql_where=sa.text(NOT_A_CHECK),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_writes", table_name="audit_log")
