"""The ledger's identity: a random number in ``ledger_state`` (``ledger_id``) that a SQLite
ledger's read journal (``<database>-reads``) carries, so that a journal left beside a
registry made anew in its place is refused, never adopted. Made here, so that the first
read after a start never waits for the writers' lock to make it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    exists = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM ledger_state WHERE name = 'ledger_id'"))
        .scalar()
    )
    if not exists:  # a ledger whose journal made one already keeps it
        op.execute(
            sa.text("INSERT INTO ledger_state (name, value) VALUES ('ledger_id', :v)")
            .bindparams(v=secrets.randbits(62))
        )  # fmt: skip


def downgrade() -> None:
    pass  # kept: the journal's file carries it, and 0014's ledger makes the same on first use
