"""The ledger's first schema: records, events, audit log, subjects, projection.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SUBJECT = sa.String(18)
_CODE = sa.String(120)
_KEY = sa.String(200)
_HASH = sa.String(64)
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject", _SUBJECT, nullable=False),
        sa.Column("subject_kind", sa.String(12), nullable=False),
        sa.Column("record_type", _CODE, nullable=False),
        sa.Column("authority", _CODE, nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decision_ref", sa.Text(), nullable=False),
        sa.Column("counterpart", _SUBJECT, nullable=True),
        sa.Column("client_key", _KEY, nullable=True),
        sa.Column("entered_at", _AT, nullable=False),
        sa.Column("content_hash", _HASH, nullable=False),
        sa.UniqueConstraint("authority", "client_key", name="uq_records_authority_client_key"),
    )
    op.create_index("ix_records_subject", "records", ["subject"])
    op.create_index("ix_records_counterpart", "records", ["counterpart"])

    op.create_table(
        "events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "record_id",
            _ID,
            sa.ForeignKey("records.id", name="fk_events_record_id_records"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("actor", _CODE, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("client_key", _KEY, nullable=True),
        sa.Column("entered_at", _AT, nullable=False),
        sa.UniqueConstraint("actor", "client_key", name="uq_events_actor_client_key"),
    )
    op.create_index("ix_events_record_id", "events", ["record_id"])

    op.create_table(
        "audit_log",
        sa.Column("seq", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("actor", _CODE, nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject", _SUBJECT, nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", _HASH, nullable=False),
        sa.Column("hash", _HASH, nullable=False),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])

    op.create_table(
        "subjects",
        sa.Column("subject", _SUBJECT, primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("first_seen", _AT, nullable=False),
    )

    op.create_table(
        "projection_measures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject", _SUBJECT, nullable=False),
        sa.Column("measure", _CODE, nullable=False),
        sa.Column("list", _CODE, nullable=True),
        sa.Column("memorandum", _CODE, nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("computed_as_of", sa.Date(), nullable=False),
    )
    op.create_index("ix_projection_measures_subject", "projection_measures", ["subject"])
    op.create_index(
        "ix_projection_measures_subject_measure", "projection_measures", ["subject", "measure"]
    )


def downgrade() -> None:
    op.drop_table("projection_measures")
    op.drop_table("subjects")
    op.drop_table("audit_log")
    op.drop_table("events")
    op.drop_table("records")
