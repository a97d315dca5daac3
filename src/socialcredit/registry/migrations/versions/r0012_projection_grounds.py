"""The projection a row per subject and ground: ``projection`` (subject, ground, since, until)
and ``projection_grounds`` (list, memorandum, the measures), instead of a row per subject and
measure (``projection_measures``: a listed debtor was two dozen rows, one per measure the
memoranda bring). The rows are converted, not recomputed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from alembic import op

from socialcredit.registry.ledger.projection import ProjectionGround, compact

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STEP = 20_000


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def upgrade() -> None:
    op.create_table(
        "projection_grounds",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("list", sa.String(120), nullable=True),
        sa.Column("memorandum", sa.String(120), nullable=True),
        sa.Column("measures", sa.Text(), nullable=False),
    )
    op.create_table(
        "projection",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(18), nullable=False),
        sa.Column("ground", _ID, nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("computed_as_of", sa.Date(), nullable=False),
    )
    op.create_index("ix_projection_subject", "projection", ["subject"])
    conn = op.get_bind()
    grounds_t = sa.table(
        "projection_grounds",
        sa.column("id"),
        sa.column("list"),
        sa.column("memorandum"),
        sa.column("measures"),
    )
    rows_t = sa.table(
        "projection",
        sa.column("subject"),
        sa.column("ground"),
        sa.column("since", sa.Date()),
        sa.column("until", sa.Date()),
        sa.column("computed_as_of", sa.Date()),
    )
    old = conn.execute(
        sa.text(
            "SELECT subject, measure, list, memorandum, since, until, computed_as_of "
            "FROM projection_measures ORDER BY subject, id"
        )
    ).fetchall()
    known: set[int] = set()
    out: list[dict[str, Any]] = []
    for _subject, group in groupby(old, key=itemgetter(0)):
        items = list(group)
        as_of = _day(items[0][6])
        rows, grounds = compact((r[0], r[1], r[2], r[3], _day(r[4]), _day(r[5])) for r in items)
        fresh = [g for g in grounds if g not in known]
        if fresh:
            conn.execute(
                grounds_t.insert(),
                [
                    {"id": g, "list": grounds[g].list, "memorandum": grounds[g].memorandum,
                     "measures": " ".join(sorted(grounds[g].measures))}
                    for g in fresh
                ],
            )  # fmt: skip
            known.update(fresh)
        out += [
            {"subject": s, "ground": g, "since": a, "until": b, "computed_as_of": as_of}
            for s, g, a, b in rows
        ]
        if len(out) >= _STEP:
            conn.execute(rows_t.insert(), out)
            out = []
    if out:
        conn.execute(rows_t.insert(), out)
    op.drop_table("projection_measures")


def downgrade() -> None:
    op.create_table(
        "projection_measures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(18), nullable=False),
        sa.Column("measure", sa.String(120), nullable=False),
        sa.Column("list", sa.String(120), nullable=True),
        sa.Column("memorandum", sa.String(120), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("computed_as_of", sa.Date(), nullable=False),
    )
    op.create_index("ix_projection_measures_subject", "projection_measures", ["subject"])
    op.create_index(
        "ix_projection_measures_subject_measure", "projection_measures", ["subject", "measure"]
    )
    conn = op.get_bind()
    grounds = {
        int(gid): ProjectionGround(lst, memo, frozenset(measures.split()))
        for gid, lst, memo, measures in conn.execute(
            sa.text("SELECT id, list, memorandum, measures FROM projection_grounds")
        )
    }
    t = sa.table(
        "projection_measures",
        sa.column("subject"),
        sa.column("measure"),
        sa.column("list"),
        sa.column("memorandum"),
        sa.column("since", sa.Date()),
        sa.column("until", sa.Date()),
        sa.column("computed_as_of", sa.Date()),
    )
    rows = conn.execute(
        sa.text(
            "SELECT subject, ground, since, until, computed_as_of FROM projection "
            "ORDER BY subject, id"
        )
    ).fetchall()
    out = [
        {"subject": s, "measure": m, "list": grounds[int(g)].list,
         "memorandum": grounds[int(g)].memorandum, "since": _day(a), "until": _day(b),
         "computed_as_of": _day(c)}
        for s, g, a, b, c in rows
        for m in sorted(grounds[int(g)].measures)
    ]  # fmt: skip
    for start in range(0, len(out), _STEP):
        conn.execute(t.insert(), out[start : start + _STEP])
    op.drop_table("projection")
    op.drop_table("projection_grounds")
