"""The ledger's schema, one SQLAlchemy Core metadata (the migrations in
``migrations/versions`` create exactly this; a test compares them)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


NOT_A_CHECK = "action NOT LIKE 'check %'"


CHECK_INDEX_UPTO = "check_index_upto"


_SUBJECT = sa.String(18)


_CODE = sa.String(120)


_KEY = sa.String(200)


_HASH = sa.String(64)


_AT = sa.DateTime(timezone=True)


HAS_COUNTERPART = "counterpart IS NOT NULL"


RECORD_CONTENT = ("subject", "record_type", "decided_on", "decision_ref", "counterpart")
"""What idempotency compares of a record filed again under a stored ``(authority,
client_key)``: its content, not its key or entry time (the columns themselves; until
migration 0016 a SHA-256 digest of them was stored beside them)."""


t_records = sa.Table(
    "records",
    metadata,
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
    sa.UniqueConstraint("authority", "client_key", name="uq_records_authority_client_key"),
    sa.Index("ix_records_subject", "subject"),
    # role records only (about 1 in 100): every query on it names a counterpart
    sa.Index(
        "ix_records_counterpart",
        "counterpart",
        sqlite_where=sa.text(HAS_COUNTERPART),
        postgresql_where=sa.text(HAS_COUNTERPART),
    ),
)


t_events = sa.Table(
    "events",
    metadata,
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
    sa.Index("ix_events_record_id", "record_id"),
)


def _entry_columns() -> list[sa.Column[Any]]:
    """An audit entry's content (when, who, what, about whom, why, detail as JSON text): the
    chain's and the read journal's, alike, so that the journal takes what the chain takes."""
    return [
        sa.Column("at", _AT, nullable=False),
        sa.Column("actor", _CODE, nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject", _SUBJECT, nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    ]


t_audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=False),
    *_entry_columns(),
    sa.Column("prev_hash", _HASH, nullable=False),
    sa.Column("hash", _HASH, nullable=False),
    # check entries (thousands a second) are left out: audit_check_index finds them
    sa.Index(
        "ix_audit_log_subject",
        "subject",
        sqlite_where=sa.text(NOT_A_CHECK),
        postgresql_where=sa.text(NOT_A_CHECK),
    ),
    # the writes and other reads in order, so that a cache looking for new writes does not
    # scan the checks written since its last look
    sa.Index(
        "ix_audit_log_writes",
        "seq",
        sqlite_where=sa.text(NOT_A_CHECK),
        postgresql_where=sa.text(NOT_A_CHECK),
    ),
)


t_audit_check_index = sa.Table(
    "audit_check_index",
    metadata,
    sa.Column("subject", _SUBJECT, primary_key=True),
    sa.Column("seq", _ID, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)
"""Check entries by subject, added in batches sorted by subject (:meth:`Ledger.index_checks`),
so that each page of the index is written once per batch, not once per entry."""


t_ledger_state = sa.Table(
    "ledger_state",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)


AUDIT_SUBJECTS_PAGES_PER_RANGE = 16
"""Pages of ``audit_subjects`` a PostgreSQL block range covers (about 2,000 rows): what a
look for the writes after a seq reads at least."""


t_audit_subjects = sa.Table(
    "audit_subjects",
    metadata,
    sa.Column("seq", _ID, nullable=False, autoincrement=False),
    sa.Column("subject", _SUBJECT, nullable=False),
    sa.PrimaryKeyConstraint("subject", "seq"),
    # rows come in the order of seq, so PostgreSQL finds a range of them by the range of the
    # table's pages they are on (a block range index, a few pages for millions of rows); on
    # SQLite an index of (seq, subject)
    sa.Index(
        "ix_audit_subjects_seq",
        "seq",
        postgresql_using="brin",
        postgresql_with={"pages_per_range": AUDIT_SUBJECTS_PAGES_PER_RANGE},
    ),
    sqlite_with_rowid=False,
)
"""The subjects a write touched (whose projection it changed), by the write's audit entry;
the entry's detail holds their number and digest (``subjects``, ``subjects_sha256``), so the
chain covers the list. The service's poller reloads exactly these; a subject's access log
finds the writes that named it by its key (migration 0017: keyed by seq before, with an
index of subjects)."""


t_audit_records = sa.Table(
    "audit_records",
    metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=False),
    sa.Column("first_id", _ID, nullable=False),
    sa.Column("last_id", _ID, nullable=False),
)
"""The records an import added (ids ``first_id`` to ``last_id``: an import's ids are
consecutive), by the import's audit entry: their subjects are among those the entry names,
without a row each in ``audit_subjects``, which holds the others (the role holders whose
projection the import refreshed). Migration 0018; imports before it name every subject in
``audit_subjects``."""


def named_subjects(seqs: Any = None) -> sa.CompoundSelect[Any]:
    """``(seq, subject)`` of the subjects each write names (:data:`t_audit_subjects`, and the
    subjects of the records of :data:`t_audit_records`; a subject with several records in an
    import comes once for each), of the writes whose seq ``seqs`` (a predicate on a seq
    column) allows, or of every write."""
    named, ranges, records = t_audit_subjects, t_audit_records, t_records
    listed = sa.select(named.c.seq, named.c.subject)
    added = sa.select(ranges.c.seq, records.c.subject).join(
        records, records.c.id.between(ranges.c.first_id, ranges.c.last_id)
    )
    if seqs is not None:
        listed = listed.where(seqs(named.c.seq))
        added = added.where(seqs(ranges.c.seq))
    return sa.union_all(listed, added)


t_audit_journal = sa.Table(
    "audit_journal",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    *_entry_columns(),
    sqlite_autoincrement=True,  # an id is never given twice, even once its row is gone
)
"""Audit entries of reads made durable before they join the chain (the read journal,
:mod:`~socialcredit.registry.ledger.journal`); on a SQLite file it lives in a database file
of its own beside the ledger, with this same definition."""


READS_CHAINED_UPTO = "reads_chained_upto"
"""``ledger_state``: the read journal's entries up to this id are in the chain (SQLite)."""


t_audit_dead_letter = sa.Table(
    "audit_dead_letter",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("at", _AT, nullable=False),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("action", sa.Text(), nullable=False),
    sa.Column("subject", sa.Text(), nullable=True),
    sa.Column("purpose", sa.Text(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("error", sa.Text(), nullable=False),
)
"""Audit entries the store refused, escaped so that they fit (:meth:`Ledger.dead_letter`)."""


t_subject_names = sa.Table(
    "subject_names",
    metadata,
    sa.Column("subject", _SUBJECT, primary_key=True),
    sa.Column("list", _CODE, primary_key=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("authority", _CODE, nullable=False),
    sa.Column("given_at", _AT, nullable=False),
)
"""The name each subject is published under on each public list, as last given by the
authority that published them on it. ``list`` is empty for a name given before names were
kept per list (migration 0010): it stands for every list the subject has no name of its own
on."""


MAX_NAME = 100


t_projection_grounds = sa.Table(
    "projection_grounds",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=False),
    sa.Column("list", _CODE, nullable=True),
    sa.Column("memorandum", _CODE, nullable=True),
    sa.Column("measures", sa.Text(), nullable=False),
    sa.Column("via_role", _CODE, nullable=True),
)
"""What puts a subject under measures: a list (or a record type's own measures, ``list``
empty) through a memorandum, and the measures it brings, space-separated in order; the role
held in the listed organisation, where it reaches a person through one. Few rows
(one per list, memorandum and set of measures in use); the id is a digest of the content
(:func:`ground_id`), so that an import staged on its own connection and the ledger agree on
it without asking each other."""


t_projection = sa.Table(
    "projection",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("subject", _SUBJECT, nullable=False),
    sa.Column("ground", _ID, nullable=False),
    sa.Column("since", sa.Date(), nullable=True),
    sa.Column("until", sa.Date(), nullable=True),
    sa.Column("computed_as_of", sa.Date(), nullable=False),
    sa.Index("ix_projection_subject", "subject"),
)
"""The check path's table: what each subject is on and from when until when, a row per
subject and ground (a listed debtor is one row, not one per measure the memoranda bring)."""


t_api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("principal", sa.String(120), nullable=False),
    sa.Column("label", sa.Text(), nullable=False),
    sa.Column("created_at", _AT, nullable=False),
    sa.Column("revoked_at", _AT, nullable=True),
)


t_portal_sessions = sa.Table(
    "portal_sessions",
    metadata,
    # the session id's SHA-256: the id itself lives only in the holder's cookie
    sa.Column("session_hash", _HASH, primary_key=True),
    sa.Column("key_id", sa.String(16), sa.ForeignKey("api_keys.key_id"), nullable=False),
    sa.Column("created_at", _AT, nullable=False),
    sa.Column("expires_at", _AT, nullable=False),
    sa.Column("ended_at", _AT, nullable=True),
)


_RECORD_COLUMNS = (
    "subject",
    "subject_kind",
    "record_type",
    "authority",
    "decided_on",
    "decision_ref",
    "counterpart",
    "client_key",
    "entered_at",
)


EARLIEST_DECISION = date(1949, 10, 1)
"""No record predates the authorities that issue them."""


_RECORD_SELECT = (
    t_records.c.id,
    t_records.c.subject,
    t_records.c.record_type,
    t_records.c.authority,
    t_records.c.decided_on,
    t_records.c.decision_ref,
    t_records.c.counterpart,
)


_EVENT_SELECT = (
    t_events.c.record_id,
    t_events.c.kind,
    t_events.c.on_date,
    t_events.c.actor,
    t_events.c.note,
)


t_catalog_versions = sa.Table(
    "catalog_versions",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("catalog_id", _CODE, nullable=False),
    sa.Column("version", sa.Text(), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("bundled", sa.Boolean(), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("content_hash", _HASH, nullable=False),
    sa.Column("in_force_from", sa.Date(), nullable=False),
    sa.Column("retired_from", sa.Date(), nullable=True),
    sa.Column("activated_by", _CODE, nullable=False),
    sa.Column("activated_at", _AT, nullable=False),
    sa.Column("retired_by", _CODE, nullable=True),
    sa.Column("retired_at", _AT, nullable=True),
)
"""The catalogs in force, each version as activated (its file's text and SHA-256, from which
day) and, once retired, from which day it no longer is. Every activation and retirement is
also an audit entry (``catalog.activate``, ``catalog.retire``)."""
