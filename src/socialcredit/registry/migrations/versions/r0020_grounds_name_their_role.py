"""A projection ground names the role it reaches a person through (``via_role``): the
legal representative of a listed company is restricted because of the company's listing, and
a consumer's check says so ("via_role"), as the profile and ``socialcredit check`` do, rather
than telling an airline the person is on the list. Grounds made before name no role: a
registry projected before this revision gives its role holders theirs as they are projected
again (a filing about them or their organisation, a catalog activated or retired).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("projection_grounds", sa.Column("via_role", sa.String(120), nullable=True))


def downgrade() -> None:
    # a ground with a role becomes the same ground without it (its rows keep their measures)
    from socialcredit.registry.ledger.projection import ProjectionGround, ground_id

    conn = op.get_bind()
    # SQLite commits DDL as it goes: a downgrade refused further down (0014's, while reads
    # wait in the journal) is run again from here with the column gone already
    columns = {c["name"] for c in sa.inspect(conn).get_columns("projection_grounds")}
    if "via_role" not in columns:
        return
    with_role = conn.execute(sa.text(
        "SELECT id, list, memorandum, measures FROM projection_grounds "
        "WHERE via_role IS NOT NULL")).fetchall()  # fmt: skip
    for gid, lst, memo, measures in with_role:
        plain = ground_id(ProjectionGround(lst, memo, frozenset(measures.split())))
        conn.execute(sa.text(
            "INSERT INTO projection_grounds (id, list, memorandum, measures) "
            "SELECT :id, :list, :memo, :measures WHERE NOT EXISTS "
            "(SELECT 1 FROM projection_grounds WHERE id = :id)"),
            {"id": plain, "list": lst, "memo": memo, "measures": measures})  # fmt: skip
        conn.execute(sa.text("UPDATE projection SET ground = :plain WHERE ground = :gid"),
                     {"plain": plain, "gid": gid})  # fmt: skip
        conn.execute(sa.text("DELETE FROM projection_grounds WHERE id = :gid"), {"gid": gid})
    # in place, not by alembic's batch mode (a copy of the table on SQLite, which would be
    # left behind half-made): SQLite 3.35 and PostgreSQL drop a column themselves
    op.execute("ALTER TABLE projection_grounds DROP COLUMN via_role")
