"""The ledger: an append-only store of records, their lifecycle events and a hash-chained audit log.

One SQLAlchemy Core schema serves SQLite (the embedded default, in WAL mode) and PostgreSQL
(``postgresql+psycopg://...``). The schema is created and migrated only by Alembic
(:meth:`Ledger.init`, ``socialcredit db init``); the migrations ship inside the package.

Tables:

- ``records``: authorities' decisions; never updated or deleted. ``(authority, client_key)`` is
  an idempotency key: the same key with the same content returns the existing record, with
  different content it is a :class:`~socialcredit.errors.Conflict`.
- ``events``: lifecycle events of records (objections, repairs, ...); append-only; idempotent per
  ``(actor, client_key)``.
- ``audit_log``: every write and every read of personal data, with its purpose; each entry's hash
  covers the previous entry's hash, so an edited or deleted entry breaks the chain
  (:meth:`Ledger.verify_audit`).
- ``subjects``: every subject the ledger has seen, with its kind.
- ``projection_measures``: the check path's point-lookup table (active measures per subject),
  the only table whose rows are replaced (per subject) when the subject's facts change.
- ``api_keys``: the service's callers (role and principal); only a hash of each secret.

Every database error is translated into :class:`~socialcredit.errors.LedgerError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from stdnum.cn import ric

from socialcredit.errors import (
    Conflict,
    FutureDate,
    ImportRejected,
    InputError,
    InvalidSubjectId,
    LedgerError,
    NotFound,
    OutsideMandate,
    UnknownRecordType,
)
from socialcredit.policy.loader import CatalogIndex, Loaded, did_you_mean
from socialcredit.policy.schema import STATED_EXCLUSIONS, Exclusion, Nature
from socialcredit.registry import subjects as subject_ids
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.registry.staging import Staging

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuditRejected",
    "Turns",
    "ImportResult",
    "Ledger",
    "NewRecord",
    "ProjectedMeasure",
    "Projector",
    "RecordChecker",
    "SubmitResult",
    "ValidRecord",
    "default_projector",
    "metadata",
    "normalise_url",
    "AccessRow",
    "access_row",
    "check_text",
    "text_problem",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFAULT_DB = "sqlite:///./socialcredit.db"
NOT_INITIALISED = "database not initialised; run `socialcredit db init`"
GENESIS = "0" * 64

AccessRow = tuple[str, str, str | None, str, str | None]
"""An audit entry for a read, as stored: actor, action, subject, purpose, detail (JSON text)."""


def access_row(entry: Mapping[str, Any]) -> AccessRow:
    """An entry as :meth:`Ledger.log_accesses` takes it (``actor``, ``action``, ``subject``,
    ``purpose``, optional ``detail``) in its stored shape (detail as JSON with sorted keys)."""
    detail = entry.get("detail")
    text = None if detail is None else orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
    return (entry["actor"], entry["action"], entry.get("subject"), entry["purpose"], text)


SQLITE_BUSY_MS = 30_000
SQLITE_SYNCHRONOUS = "FULL"
"""Every commit reaches the disk before it returns (WAL with ``synchronous=FULL``): an answer
that waited for its audit entry, or an acknowledged filing, survives a power loss, not only a
crash of the process (``NORMAL`` survives the latter only). The audit log commits in groups,
so checks pay the flush once per group, not once each. ``$SOCIALCREDIT_SQLITE_SYNC=NORMAL``
trades that for speed where a flush is slow (see docs/security.md)."""
SQLITE_SYNC_ENV = "SOCIALCREDIT_SQLITE_SYNC"
_SQLITE_SYNC_LEVELS = ("NORMAL", "FULL", "EXTRA")


def _sqlite_sync() -> str:
    level = os.environ.get(SQLITE_SYNC_ENV, SQLITE_SYNCHRONOUS).strip().upper()
    if level not in _SQLITE_SYNC_LEVELS:
        raise LedgerError(f"${SQLITE_SYNC_ENV} must be one of {', '.join(_SQLITE_SYNC_LEVELS)}, "
                          f"not {level!r}")  # fmt: skip
    return level


SQLITE_CACHE_KIB = 65_536  # page cache per connection; bulk imports touch random index pages
CHUNK = 5_000  # ids per IN (...) query; well under SQLite's 32766 variables
_AUDIT_LOCK = 0x5C1ED6E5  # pg_advisory_xact_lock key serialising audit-chain appends

# --------------------------------------------------------------------------------------------
# Schema (the migrations in migrations/versions create exactly this; a test compares them)

metadata = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOT_A_CHECK = "action NOT LIKE 'check %'"
CHECK_INDEX_UPTO = "check_index_upto"
_SUBJECT = sa.String(18)
_CODE = sa.String(120)
_KEY = sa.String(200)
_HASH = sa.String(64)
_AT = sa.DateTime(timezone=True)

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
    sa.Column("content_hash", _HASH, nullable=False),
    sa.UniqueConstraint("authority", "client_key", name="uq_records_authority_client_key"),
    sa.Index("ix_records_subject", "subject"),
    sa.Index("ix_records_counterpart", "counterpart"),
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

t_audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=False),
    sa.Column("at", _AT, nullable=False),
    sa.Column("actor", _CODE, nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("subject", _SUBJECT, nullable=True),
    sa.Column("purpose", sa.Text(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),
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

t_audit_subjects = sa.Table(
    "audit_subjects",
    metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=False),
    sa.Column("subject", _SUBJECT, primary_key=True),
    sa.Index("ix_audit_subjects_subject", "subject"),
    sqlite_with_rowid=False,
)
"""The subjects a write touched (whose projection it changed), by the write's audit entry;
the entry's detail holds their number and digest (``subjects``, ``subjects_sha256``), so the
chain covers the list. The service's poller reloads exactly these."""

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

t_subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("subject", _SUBJECT, primary_key=True),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("first_seen", _AT, nullable=False),
)

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

t_projection = sa.Table(
    "projection_measures",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("subject", _SUBJECT, nullable=False),
    sa.Column("measure", _CODE, nullable=False),
    sa.Column("list", _CODE, nullable=True),
    sa.Column("memorandum", _CODE, nullable=True),
    sa.Column("since", sa.Date(), nullable=True),
    sa.Column("until", sa.Date(), nullable=True),
    sa.Column("computed_as_of", sa.Date(), nullable=False),
    sa.Index("ix_projection_measures_subject", "subject"),
    sa.Index("ix_projection_measures_subject_measure", "subject", "measure"),
)

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
    "content_hash",
)

EARLIEST_DECISION = date(1949, 10, 1)
"""No record predates the authorities that issue them."""


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record an authority files; the ledger assigns its id."""

    subject: str
    record_type: str
    authority: str
    decided_on: date
    decision_ref: str
    counterpart: str | None = None
    client_key: str | None = None
    subject_name: str | None = None
    """The name the subject is published under on public lists (not part of the record)."""
    excluding_facts: tuple[str, ...] = ()
    """Facts the authority states that may exclude the subject from a list or order the record
    enters (:data:`~socialcredit.policy.schema.STATED_EXCLUSIONS`); checked at filing, where
    a fact that excludes refuses the record (nothing is stored)."""


_NOT_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

NUL = "must not contain NUL characters"
"""What every text says to a NUL: PostgreSQL cannot store one, so no store gets it."""


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored as text, or ``None``: a NUL (PostgreSQL cannot store
    one), another control character (C0 or C1; a line break, carriage return and tab are
    allowed in multi-line text such as an objection's grounds), or a lone surrogate (not
    Unicode: no store can encode it)."""
    bad = (_NOT_TEXT if multiline else _NOT_A_LINE).search(value)
    if bad is None:
        return None
    char = bad.group()
    if char == "\x00":
        return NUL
    if "\ud800" <= char <= "\udfff":
        return "is not valid Unicode text (a lone surrogate)"
    return f"must not contain control characters (found {char!r})"


def check_text(
    value: object, field: str, *, max_len: int, multiline: bool = False, required: bool = True
) -> str:
    """One rule for every text the registry stores, whether it comes through the API, the
    portal or the CLI: a string (trimmed), non-empty if ``required``, at most ``max_len``
    characters, and nothing :func:`text_problem` names. Raises :class:`InputError` naming
    ``field``."""
    if not isinstance(value, str):
        raise InputError(field, _expected_text(value))
    text = value.strip()
    if required and not text:
        raise InputError(field, "is empty")
    if len(text) > max_len:
        raise InputError(field, f"is {len(text)} characters long; at most {max_len}")
    why = text_problem(text, multiline=multiline)
    if why is not None:
        raise InputError(field, why)
    return text


MAX_REF = 500
MAX_CLIENT_KEY = 200
MAX_NOTE = 4_000
MAX_PURPOSE = 500


def check_name(value: str | None) -> str | None:
    """A publishable name: trimmed (inner runs of spaces as one), 1 to :data:`MAX_NAME`
    characters, and text by :func:`check_text`; an empty name is no name."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError("subject_name", _expected_text(value))
    why = text_problem(value)
    if why is not None:
        raise InputError("subject_name", why)
    name = " ".join(value.split())
    if not name:
        return None
    return check_text(name, "subject_name", max_len=MAX_NAME)


class ValidRecord(NamedTuple):
    """A record that passed :class:`RecordChecker`: normalised, with its content hash."""

    subject: str
    subject_kind: str
    record_type: str
    authority: str
    decided_on: date
    decision_ref: str
    counterpart: str | None
    client_key: str | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class SubmitResult:
    id: str
    created: bool
    """False when the idempotency key named a record already present with the same content."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    skipped: int
    """Records already present (same authority, client key and content)."""
    subjects: int
    """Subjects whose projection was refreshed."""


@dataclass(frozen=True, slots=True)
class ProjectedMeasure:
    """One active measure of a subject, as the check path reads it."""

    measure: str
    list: str | None
    memorandum: str | None
    since: date | None
    until: date | None
    computed_as_of: date | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A caller of the service: ``role`` (authority, consumer, subject, admin) acting for
    ``principal`` (an authority id, a consumer's measure domain, a subject id, or a name)."""

    key_id: str
    role: str
    principal: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    purpose: str
    detail: Any
    prev_hash: str
    hash: str


class Projector:
    """What the projection table holds: the measures in force on ``as_of``, computed in bulk
    (:mod:`socialcredit.registry.batch`, proven equal to ``evaluate``)."""

    def __init__(self, catalog: Loaded | CatalogIndex, as_of: date) -> None:
        self.catalog = catalog
        self.as_of = as_of

    def __call__(self, facts: Mapping[str, Sequence[Fact]]) -> dict[str, list[ProjectedMeasure]]:
        """``{subject: facts} -> {subject: measures}``."""
        from socialcredit.registry.batch import measures_in_force

        return {
            subject: [
                ProjectedMeasure(m.measure, m.list, m.memorandum, m.since, m.until) for m in rows
            ]
            for subject, rows in measures_in_force(facts, self.catalog, self.as_of).items()
        }

    def from_rows(
        self,
        ids: Sequence[int],
        subjects: Sequence[str],
        types: Sequence[str],
        decided: Sequence[Any],
    ) -> list[tuple[str, str, str | None, str | None, date | None, date | None]]:
        """Rows ``(subject, measure, list, memorandum, since, until)`` for subjects whose only
        facts are these records (no events, no roles)."""
        from socialcredit.registry.batch import measures_from_rows

        return measures_from_rows(ids, subjects, types, decided, self.catalog, self.as_of)


def default_projector(catalog: Loaded | CatalogIndex, as_of: date) -> Projector:
    """The projector the registry uses: measures in force on ``as_of``."""
    return Projector(catalog, as_of)


def content_hash(
    subject: str,
    record_type: str,
    authority: str,
    decided_on: str,
    decision_ref: str,
    counterpart: str | None,
) -> str:
    """What idempotency compares: the record's content, not its key or entry time."""
    text = "\x1f".join(
        (subject, record_type, authority, decided_on, decision_ref, counterpart or "")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def add_years(day: date, years: int) -> date:
    """``day`` plus whole years (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


INDIVIDUAL_BUSINESS = "92"
"""USCC prefix of an individual industrial and commercial household (registration authority 9,
category 2, GB 32100-2015): not an organisation in which a legal role can be held."""


_EXCLUDED_BECAUSE: dict[Exclusion, str] = {
    Exclusion.minors: "a person under 18",
    Exclusion.security_given: "the debtor gave sufficient and effective security",
    Exclusion.assets_seized: "assets seized, impounded or frozen cover the debt",
    Exclusion.unable_to_pay: "the debtor is not able to perform",
    Exclusion.campus_loan_student: "a full-time student who is a debtor in a campus-loan case",
}


class RecordChecker:
    """Validates records against a catalog, with caches that make bulk imports fast.

    Checks: known record type (with a suggestion), known authority acting within its mandate,
    subject ID valid and of a kind the record type allows, decision date an ISO date not after
    ``today``, a decision reference, a valid organisation as counterpart for role records
    (and no counterpart for other records), and no exclusion of a list or order the record
    enters: a person under 18 on the decision date where it excludes minors, and the facts the
    filing states (``excluding_facts``: security given, seized assets covering the debt,
    inability to pay, a student in a campus-loan case) where it excludes them. A refusal names
    the subject, the list or order and the exclusion.
    """

    def __init__(self, catalog: Loaded | CatalogIndex, *, today: date) -> None:
        self.index = catalog.index if isinstance(catalog, Loaded) else catalog
        self.today = today
        self._types = {
            code: (tuple(rt.subject_kinds), rt.nature is Nature.role)
            for code, rt in self.index.record_types.items()
        }
        self._mandate = self.index.mandate
        self._excluded: dict[str, dict[Exclusion, str]] = {}
        """record type -> exclusion -> the first list or order it enters that excludes it"""
        for lst in self.index.catalog.lists:
            for code in lst.entry.record_types:
                for exclusion in lst.exclusions_for(code):
                    self._excluded.setdefault(code, {}).setdefault(exclusion, f"list {lst.id}")
        for order in self.index.catalog.orders:
            for code in order.record_types:
                for exclusion in order.excludes:
                    self._excluded.setdefault(code, {}).setdefault(exclusion, f"order {order.id}")
        self._subjects: dict[str, tuple[str, str] | InputError] = {}
        self._orgs: dict[str, str | InputError] = {}
        self._dates: dict[str, date | InputError] = {}

    def check(
        self,
        subject: object,
        record_type: object,
        authority: object,
        decided_on: object,
        decision_ref: object,
        counterpart: object = None,
        client_key: object = None,
        excluding_facts: object = None,
    ) -> ValidRecord:
        """The normalised record, or raise the first :class:`InputError` found."""
        problems = self.problems(
            subject,
            record_type,
            authority,
            decided_on,
            decision_ref,
            counterpart,
            client_key,
            excluding_facts,
        )
        if isinstance(problems, ValidRecord):
            return problems
        raise problems[0]

    def problems(
        self,
        subject: object,
        record_type: object,
        authority: object,
        decided_on: object,
        decision_ref: object,
        counterpart: object = None,
        client_key: object = None,
        excluding_facts: object = None,
    ) -> ValidRecord | list[InputError]:
        """The normalised record, or every problem with it. ``excluding_facts``: a list of
        names (or one text of names separated by ``;``, as a CSV cell gives it)."""
        errors: list[InputError] = []
        kinds: tuple[str, ...] = ("person", "organisation")
        is_role = False
        rt = record_type if isinstance(record_type, str) else None
        if rt is None:
            errors.append(UnknownRecordType("record_type", _expected_text(record_type)))
        else:
            info = self._types.get(rt)
            if info is None:
                hint = did_you_mean(rt, self._types)
                errors.append(UnknownRecordType("record_type", f"unknown type {rt!r}{hint}"))
                rt = None
            else:
                kinds, is_role = info

        if not isinstance(authority, str):
            errors.append(InputError("authority", _expected_text(authority)))
        else:
            mandate = self._mandate.get(authority)
            if mandate is None:
                hint = did_you_mean(authority, self._mandate)
                errors.append(InputError("authority", f"unknown authority {authority!r}{hint}"))
            elif rt is not None and rt not in mandate:
                errors.append(
                    OutsideMandate(
                        "authority", f"{authority!r} may not issue records of type {rt!r}"
                    )
                )

        subj = self._subject(subject, kinds)
        if isinstance(subj, InputError):
            errors.append(subj)

        day = self._date(decided_on)
        if isinstance(day, InputError):
            errors.append(day)
        elif (
            rt is not None
            and Exclusion.minors in self._excluded.get(rt, {})
            and not isinstance(subj, InputError)
            and subj[1] == "person"
        ):
            born = ric.get_birth_date(subj[0])
            if day < add_years(born, 18):
                errors.append(
                    InputError(
                        "subject",
                        f"{subj[0]} was a minor on {day} (born {born}): "
                        f"{self._excluded[rt][Exclusion.minors]} never reaches minors",
                    )
                )
        if excluding_facts is not None and excluding_facts != "":
            who = subject if isinstance(subject, str) else "the subject"
            errors += self._exclusion_problems(who, rt, excluding_facts)

        ref = decision_ref
        if not isinstance(ref, str):
            errors.append(InputError("decision_ref", _expected_text(ref)))
        elif not ref.strip():
            errors.append(InputError("decision_ref", "is empty: name the decision"))
        else:
            try:
                check_text(ref, "decision_ref", max_len=MAX_REF)
            except InputError as exc:
                errors.append(exc)

        other: str | None = None
        if is_role:
            if counterpart is None or counterpart == "":
                errors.append(
                    InputError("counterpart", "a role record must name the organisation (USCC)")
                )
            else:
                org = self._org(counterpart)
                if isinstance(org, InputError):
                    errors.append(org)
                else:
                    other = org
        elif counterpart is not None and counterpart != "" and rt is not None:
            errors.append(
                InputError("counterpart", f"records of type {rt!r} do not name a counterpart")
            )

        key: str | None = None
        if client_key is not None and client_key != "":
            if not isinstance(client_key, str):
                errors.append(InputError("client_key", _expected_text(client_key)))
            elif len(client_key) > MAX_CLIENT_KEY:
                errors.append(InputError("client_key", "is longer than 200 characters"))
            elif (why := text_problem(client_key)) is not None:
                errors.append(InputError("client_key", why))
            else:
                key = client_key

        if errors:
            return errors
        assert isinstance(subj, tuple) and isinstance(day, date)
        assert isinstance(rt, str) and isinstance(authority, str) and isinstance(ref, str)
        ref = ref.strip()
        return ValidRecord(
            subj[0],
            subj[1],
            rt,
            authority,
            day,
            ref,
            other,
            key,
            content_hash(subj[0], rt, authority, day.isoformat(), ref, other),
        )

    def _exclusion_problems(self, who: str, rt: str | None, value: object) -> list[InputError]:
        """Why the stated facts refuse the record (an exclusion of a list or order it enters),
        or are not facts this registry reads."""
        field = "excluding_facts"
        if isinstance(value, str):
            names: list[object] = [v.strip() for v in value.split(";") if v.strip()]
        elif isinstance(value, list | tuple):
            names = list(value)
        else:
            return [InputError(field, f"expected a list of names, got {type(value).__name__}")]
        expected = ", ".join(sorted(e.value for e in STATED_EXCLUSIONS))
        out: list[InputError] = []
        for name in dict.fromkeys(n if isinstance(n, str) else repr(n) for n in names):
            if name == Exclusion.minors.value:
                out.append(InputError(field, "minors is read from the subject's resident ID; "
                                             "do not state it"))  # fmt: skip
                continue
            if name not in {e.value for e in STATED_EXCLUSIONS}:
                hint = did_you_mean(name, [e.value for e in STATED_EXCLUSIONS])
                out.append(InputError(field, f"unknown fact {name!r}{hint} (expected {expected})"))
                continue
            if rt is None:
                continue  # the record type's problem is reported already
            where = self._excluded.get(rt, {}).get(Exclusion(name))
            if where is None:
                out.append(
                    InputError(
                        field,
                        f"{name} excludes no list or order that records of type {rt!r} enter; "
                        "a filed record would not keep it: remove it",
                    )
                )
            else:
                out.append(
                    InputError(
                        field,
                        f"{who} may not be filed under {rt!r}: {where} excludes {name} "
                        f"({_EXCLUDED_BECAUSE[Exclusion(name)]})",
                    )
                )
        return out

    def _subject(self, value: object, kinds: tuple[str, ...]) -> tuple[str, str] | InputError:
        if not isinstance(value, str):
            return InvalidSubjectId("subject", _expected_text(value))
        found = self._subjects.get(value)
        if found is None:
            try:
                found = subject_ids.validate(value, field="subject")
            except InputError as exc:
                found = exc
            if len(self._subjects) < 4_000_000:
                self._subjects[value] = found
        if isinstance(found, InputError):
            if len(kinds) == 1:
                # explain against the one kind the record type allows
                try:
                    subject_ids.validate(value, field="subject", kind=kinds[0])  # type: ignore[arg-type]
                except InputError as exc:
                    return exc
            return found
        if found[1] not in kinds:
            allowed = " or ".join(_article(k) for k in kinds)
            return InputError(
                "subject",
                f"{found[0]!r} is {_article(found[1])}; this record type is for {allowed}",
            )
        return found

    def _org(self, value: object) -> str | InputError:
        if not isinstance(value, str):
            return InvalidSubjectId("counterpart", _expected_text(value))
        hit = self._orgs.get(value)
        if hit is not None:
            return hit
        result: str | InputError
        try:
            result = subject_ids.validate(value, field="counterpart", kind="organisation")[0]
        except InputError as exc:
            result = exc
        if isinstance(result, str) and result.startswith(INDIVIDUAL_BUSINESS):
            result = InvalidSubjectId(
                "counterpart",
                f"{result} is an individual business (code beginning {INDIVIDUAL_BUSINESS}, "
                "GB 32100-2015): a person's household trade, in which no one holds a legal "
                "organisational role; it cannot carry measures to a household member",
            )
        self._orgs[value] = result
        return result

    def _date(self, value: object) -> date | InputError:
        if isinstance(value, date) and not isinstance(value, datetime):
            day: date | InputError = value
        elif isinstance(value, str):
            hit = self._dates.get(value)
            if hit is not None:
                return hit
            day = _parse_iso(value)
            if len(self._dates) < 100_000:
                self._dates[value] = day
        else:
            return InputError("decided_on", _expected_text(value, "a date (YYYY-MM-DD)"))
        if isinstance(day, date) and day > self.today:
            return FutureDate("decided_on", f"{day} is after today ({self.today})")
        if isinstance(day, date) and day < EARLIEST_DECISION:
            return InputError(
                "decided_on",
                f"{day} is before {EARLIEST_DECISION}: not a decision this registry holds",
            )
        return day


def _parse_iso(value: str) -> date | InputError:
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return InputError("decided_on", f"{value!r} is not a date (expected YYYY-MM-DD)")


def _expected_text(value: object, what: str = "text") -> str:
    if value is None:
        return "is missing"
    return f"expected {what}, got {type(value).__name__}"


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


# --------------------------------------------------------------------------------------------
# Engine


def normalise_url(url: str | None) -> str:
    """``--db`` / ``$SOCIALCREDIT_DB`` / default; a plain path means SQLite."""
    if url is None:
        from socialcredit.registry.config import db_url

        url = db_url(None)
    url = url.strip()
    if not url:
        url = DEFAULT_DB
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


PG_OPTIONS = "-c synchronous_commit=on"
"""Every commit waits for its WAL to reach the disk, whatever the server's default: an
acknowledged filing, and a read answered after its audit entry, survive a crash of the
database server and a power loss."""


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("postgresql"):
            engine = sa.create_engine(url, connect_args={"options": PG_OPTIONS})
        else:
            engine = sa.create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise LedgerError(f"cannot use database {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # take over transaction control from the driver, so BEGIN is ours (see _sqlite_begin)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {_sqlite_sync()}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # writers take the write lock up front, so two writers never deadlock upgrading a read lock
    if conn.get_execution_options().get("ledger_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn any database error into a LedgerError (our own errors pass through)."""
    try:
        yield
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        detail = str(orig) if orig is not None else str(exc).split("\n", 1)[0]
        raise LedgerError(f"{what} failed: {detail}") from None


@lru_cache(maxsize=1)
def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


class Turns:
    """A lock taken in turns (first come, first served), unlike :class:`threading.Lock`, which
    a thread that releases and re-takes it at once can keep for ever. The ledger's writers of
    one process queue on it before they ask SQLite for its write lock, so that the audit
    writer, committing every millisecond or two, is never starved by filing authorities (nor
    they by it).

    One thread may be preferred (:meth:`prefer`: the audit writer, whose groups hold answers
    back): it goes to the head of the queue, so it waits at most for the writer holding the
    lock, and the others still get every other turn while it is busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False
        self._preferred: int | None = None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def prefer(self) -> None:
        """The calling thread goes ahead of the others waiting (one thread at a time)."""
        self._preferred = threading.get_ident()

    def acquire(self) -> None:
        with self._lock:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            if threading.get_ident() == self._preferred:
                self._queue.appendleft(turn)
            else:
                self._queue.append(turn)
        turn.acquire()  # released by the holder ahead: the lock is handed over, still held

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._held = False

    def __enter__(self) -> Turns:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class AuditRejected(LedgerError):
    """The store refused an audit entry for what it holds (a NUL in a text, a value too long
    for its column, text that is not Unicode): writing it again will fail again. The audit
    writer sets such an entry aside (:meth:`Ledger.dead_letter`) so that it never blocks the
    entries behind it."""


# --------------------------------------------------------------------------------------------
# The ledger


class Ledger:
    """The registry's store. Open with :meth:`open`; create the schema with :meth:`init`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url
        self._ready = False
        self._sqlite = engine.dialect.name == "sqlite"
        self.turns = Turns()
        """This process's writers, in turn (on SQLite; PostgreSQL queues them itself)."""
        self._local = threading.local()
        self._raw: list[sqlite3.Connection] = []
        self._raw_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """Connect to ``url`` (default ``$SOCIALCREDIT_DB`` or ``./socialcredit.db``).

        Does not create the schema: run :meth:`init` (``socialcredit db init``) once.
        """
        full = normalise_url(url)
        return cls(_make_engine(full), full)

    def init(self) -> None:
        """Create or migrate the schema to the newest version (``alembic upgrade head``)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with _translated("migrating the database"), self._write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        self._ready = True

    def is_initialised(self) -> bool:
        """True when the schema exists at the newest version."""
        if self._ready:
            return True
        from alembic.runtime.migration import MigrationContext

        with _translated("opening the database"), self._engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        self._ready = current == _head_revision()
        return self._ready

    def close(self) -> None:
        with self._raw_lock:
            for conn in self._raw:
                conn.close()
            self._raw.clear()
        self._local = threading.local()
        self._engine.dispose()

    def _insert_ignoring(self, table: sa.Table) -> Any:
        """An INSERT that skips rows whose key is there already."""
        insert = sqlite_insert if self._sqlite else pg_insert
        return insert(table).on_conflict_do_nothing()

    @property
    def sqlite_path(self) -> str | None:
        """The database file, for a SQLite ledger on disk; otherwise ``None``."""
        url = self._engine.url
        database = url.database
        if not self._sqlite or not database or database == ":memory:" or url.query.get("uri"):
            return None  # a URI filename (``?uri=true``) is not a plain path: not handled here
        return database

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file, as far as readers allow (SQLite's
        passive checkpoint; nothing on PostgreSQL). For a writer that turned off checkpoints
        on its own commits (:class:`~socialcredit.registry.checklog.CheckLogWriter`)."""
        if not self._sqlite:
            return
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_ready(self) -> None:
        if not self.is_initialised():
            raise LedgerError(NOT_INITIALISED)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, self._write_on(conn):
            yield conn

    @contextmanager
    def _write_on(self, conn: Connection) -> Iterator[Connection]:
        """A write transaction on ``conn``, in this process's turn and holding the ledger's
        write lock (SQLite's, or on PostgreSQL the audit chain's advisory lock: one writer at
        a time appends to the chain, granted in the order asked for)."""
        if self._sqlite:
            with self.turns:
                conn.execution_options(ledger_write=True)
                with conn.begin():
                    yield conn
            return
        with conn.begin():
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK)))
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    # -- records -----------------------------------------------------------------------------

    def submit(
        self,
        records: Sequence[NewRecord],
        *,
        catalog: Loaded,
        today: date,
        actor: str,
        project: Projector | None = None,
    ) -> list[SubmitResult]:
        """File records, all or nothing; returns their ids in order.

        Every record is validated first (a single bad record raises its own error, several an
        :class:`ImportRejected` naming each by position). A ``client_key`` already used by the
        same authority returns the existing id (``created=False``) if the content is the same,
        and raises :class:`Conflict` otherwise. Projections of the touched subjects are
        refreshed in the same transaction (with ``project`` or the catalog evaluated on
        ``today``).
        """
        self._check_ready()
        checker = RecordChecker(catalog, today=today)
        valid: list[ValidRecord] = []
        names: dict[tuple[str, str], tuple[str, str]] = {}
        problems: list[tuple[int, InputError]] = []
        for n, new in enumerate(records, start=1):
            checked = checker.problems(
                new.subject,
                new.record_type,
                new.authority,
                new.decided_on,
                new.decision_ref,
                new.counterpart,
                new.client_key,
                new.excluding_facts or None,
            )
            try:
                name = check_name(new.subject_name)
            except InputError as exc:
                problems.append((n, exc))
                name = None
            if isinstance(checked, ValidRecord):
                valid.append(checked)
                if name is not None:
                    names[(checked.subject, checked.record_type)] = (name, checked.authority)
            else:
                problems += [(n, e) for e in checked]
        if problems:
            if len(records) == 1 and len(problems) == 1:
                raise problems[0][1]
            raise ImportRejected([(n, e.field, e.message) for n, e in problems])
        projector = project or default_projector(catalog, today)
        out: list[SubmitResult] = []
        with _translated("filing records"), self._write() as conn:
            existing = self._existing_keys(conn, valid)
            seen: dict[tuple[str, str], SubmitResult] = {}
            now = _now()
            touched: set[str] = set()
            for rec in valid:
                key = (rec.authority, rec.client_key) if rec.client_key else None
                if key is not None:
                    if key in seen:
                        out.append(SubmitResult(seen[key].id, False))
                        continue
                    found = existing.get(key)
                    if found is not None:
                        if found[1] != rec.content_hash:
                            raise Conflict(
                                f"client_key {rec.client_key!r} of authority {rec.authority!r} "
                                f"already names record {found[0]} with different content"
                            )
                        out.append(SubmitResult(str(found[0]), False))
                        continue
                row = dict(zip(_RECORD_COLUMNS, (*rec[:8], now, rec.content_hash), strict=True))
                new_id = conn.execute(t_records.insert().values(row)).inserted_primary_key
                assert new_id is not None
                filed = SubmitResult(str(new_id[0]), True)
                if key is not None:
                    seen[key] = filed
                out.append(filed)
                touched.add(rec.subject)
            if names:
                self._name(conn, names, now, lists=_published_lists(catalog), actor=actor)
            created = [r for r in out if r.created]
            if created:
                self._add_subjects(conn, valid, now)
                refreshed: set[str] = set()
                self._refresh(conn, touched, projector, today, refreshed=refreshed)
                self._audit(
                    conn,
                    actor=actor,
                    action="records.submit",
                    subject=next(iter(touched)) if len(touched) == 1 else None,
                    purpose="filing",
                    detail={"records": [r.id for r in created]},
                    subjects=refreshed,
                )
        return out

    def import_records(
        self,
        rows: Sequence[ValidRecord],
        *,
        actor: str,
        as_of: date,
        project: Projector,
        lines: Sequence[int] | None = None,
        batch_size: int = 20_000,
        source: str | None = None,
        names: Mapping[tuple[str, str], tuple[str, str]] | None = None,
    ) -> ImportResult:
        """Bulk-insert records checked by :class:`RecordChecker`, all or nothing, without
        holding other writers up for the length of the import.

        ``names``: (subject, record type) -> (published name, checked by :func:`check_name`;
        the authority that gave it), the name on every published list that type enters
        (:meth:`_name`), kept in the same transaction.

        Rows whose ``(authority, client_key)`` is already present with the same content are
        skipped; with different content the whole import is refused (:class:`ImportRejected`
        naming ``lines[i]``, else the 1-based position). The projection of every touched
        subject (and of every person holding a role in a touched organisation) is refreshed on
        ``as_of``.

        In two steps (:class:`Staging`): first the rows are written, and the touched subjects
        projected, into temporary tables of the import's own connection, reading the ledger as
        of one snapshot and holding no lock that writers take (the audit writer of a serving
        registry keeps its turns however long the import); then one short write transaction,
        the swap, moves rows and projection into the ledger with set statements, re-projects
        the touched subjects another writer changed in between, and appends the import's audit
        entry. Readers see nothing of an import until the swap commits, and everything after;
        a process killed at any point leaves nothing of it (temporary tables die with their
        connection).
        """
        self._check_ready()
        with _translated("importing records"), self._engine.connect() as conn:
            staging = Staging(conn, sqlite=self._sqlite, columns=_RECORD_COLUMNS)
            try:
                return self._import_staged(
                    conn, staging, rows, actor=actor, as_of=as_of, project=project,
                    lines=lines, source=source, names=names,
                )  # fmt: skip
            finally:
                # the temporary tables and view die with the connection, never back to the pool
                conn.invalidate()

    def _import_staged(
        self,
        conn: Connection,
        staging: Staging,
        rows: Sequence[ValidRecord],
        *,
        actor: str,
        as_of: date,
        project: Projector,
        lines: Sequence[int] | None,
        source: str | None,
        names: Mapping[tuple[str, str], tuple[str, str]] | None,
    ) -> ImportResult:
        with staging.snapshot():
            existing = self._existing_keys(conn, rows)
            fresh, skipped = _fresh_rows(rows, existing, lines)
            since_seq = int(conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar() or 0)
            last_id = conn.execute(sa.select(sa.func.max(t_records.c.id))).scalar()
            first_new_id = int(last_id or 0) + 1
            now = _now()
            staging.create()
            staging.add_records(self._record_values(fresh, now), first_new_id)
            staging.add_subjects(_subject_kinds(fresh))
            touched = {r.subject for r in fresh}
            refreshed: set[str] = set()
            with staging.shadowing():  # records read with the staged rows, projection staged
                self._refresh(conn, touched, project, as_of, first_new_id=first_new_id,
                              refreshed=refreshed)  # fmt: skip
            staging.add_refreshed(refreshed)
        with self._write_on(conn):
            shift = staging.id_shift(first_new_id)
            if shift:  # records filed since the snapshot: none may hold one of the import's keys
                _check_keys_since(conn, first_new_id, fresh, lines)
            staging.move(shift, _sqlite_datetime(now) if self._sqlite else now)
            changed = _subjects_written_since(conn, since_seq) & refreshed
            if changed:  # another writer changed a touched subject since the snapshot
                self._refresh(conn, changed, project, as_of)
            if names:
                self._name(conn, names, now, lists=_published_lists(project.catalog),
                           actor=actor)  # fmt: skip
            detail: dict[str, Any] = {"imported": len(fresh), "skipped": skipped}
            if source is not None:
                detail["source"] = source
            self._audit(
                conn,
                actor=actor,
                action="records.import",
                subject=None,
                purpose="filing",
                detail=detail,
                subjects=refreshed,
                staged=staging,
            )
        return ImportResult(len(fresh), skipped, len(touched))

    def _existing_keys(
        self, conn: Connection, rows: Sequence[ValidRecord]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """``(authority, client_key) -> (id, content_hash)`` for the keys already stored."""
        by_authority: dict[str, list[str]] = {}
        for rec in rows:
            if rec.client_key:
                by_authority.setdefault(rec.authority, []).append(rec.client_key)
        found: dict[tuple[str, str], tuple[int, str]] = {}
        if not by_authority:
            return found
        if conn.execute(sa.select(t_records.c.id).limit(1)).first() is None:
            return found  # an empty ledger: nothing to look up
        for authority, keys in by_authority.items():
            for chunk in _chunks(keys, CHUNK):
                query = sa.select(
                    t_records.c.id, t_records.c.client_key, t_records.c.content_hash
                ).where(t_records.c.authority == authority, t_records.c.client_key.in_(chunk))
                for rid, key, digest in conn.execute(query):
                    found[(authority, key)] = (rid, digest)
        return found

    def _record_values(self, rows: Sequence[ValidRecord], now: datetime) -> list[tuple[Any, ...]]:
        """The rows' values in ``_RECORD_COLUMNS`` order, as the driver stores them."""
        if self._sqlite:
            at = _sqlite_datetime(now)
            return [(s, k, t, a, d.isoformat(), ref, c, key, at, h)
                    for s, k, t, a, d, ref, c, key, h in rows]  # fmt: skip
        return [(s, k, t, a, d, ref, c, key, now, h) for s, k, t, a, d, ref, c, key, h in rows]

    def _name(
        self,
        conn: Connection,
        names: Mapping[tuple[str, str], tuple[str, str]],
        now: datetime,
        *,
        lists: Mapping[str, frozenset[str]],
        actor: str,
    ) -> None:
        """Record the names subjects are published under, per list. ``names``: (subject,
        record type) -> (name, the authority giving it), given with a record of that type; the
        name is for every published list the type enters (``lists``: list -> the published
        record types entering it). On each such list, a subject's name is given by the
        authority that filed the subject's first record of a type entering that list, and by
        no other: anyone else giving one is refused (an :class:`InputError` on
        ``subject_name``, so the write is undone). A name given with a record of a type that
        enters no published list is refused likewise. Giving a name, or changing it, is an
        audit entry (``subject.name``, with the list and the previous name)."""
        if not lists:
            raise InputError("subject_name", "no record type of the catalogs is published")
        for (subject, record_type), (name, authority) in sorted(names.items()):
            entered = sorted(code for code, types in lists.items() if record_type in types)
            if not entered:
                raise InputError(
                    "subject_name",
                    f"a record of type {record_type!r} puts no one on a published list: a "
                    "name is given only with a record that publishes the subject on a list",
                )
            for code in entered:
                first = conn.execute(
                    sa.select(t_records.c.authority)
                    .where(t_records.c.subject == subject,
                           t_records.c.record_type.in_(sorted(lists[code])))
                    .order_by(t_records.c.id)
                    .limit(1)
                ).scalar()  # fmt: skip
                if first != authority:
                    raise InputError(
                        "subject_name",
                        f"a subject's name on list {code!r} is given only by the authority "
                        "that first published them on that list",
                    )
                here = (t_subject_names.c.subject == subject) & (t_subject_names.c.list == code)
                before = conn.execute(sa.select(t_subject_names.c.name).where(here)).scalar()
                if before == name:
                    continue
                if before is not None:
                    conn.execute(t_subject_names.delete().where(here))
                row = {"subject": subject, "list": code, "name": name, "authority": authority,
                       "given_at": now}  # fmt: skip
                conn.execute(t_subject_names.insert().values(row))
                detail = {"list": code, "name": name, "previous": before}
                self._audit(conn, actor=actor, action="subject.name", subject=subject,
                            purpose="publishing", detail=detail)  # fmt: skip

    def names(self, entries: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The published name of each ``(subject, list)`` of ``entries`` that has one (a name
        given before names were kept per list stands for every list without its own)."""
        self._check_ready()
        wanted = set(entries)
        chosen = sorted({s for s, _l in wanted})
        found: dict[tuple[str, str], str] = {}
        with _translated("reading names"), self._read() as conn:
            for chunk in _chunks(chosen, CHUNK):
                rows = conn.execute(
                    sa.select(
                        t_subject_names.c.subject, t_subject_names.c.list, t_subject_names.c.name
                    ).where(t_subject_names.c.subject.in_(chunk))
                )
                found.update({(str(r[0]), str(r[1])): str(r[2]) for r in rows})
        out: dict[tuple[str, str], str] = {}
        for subject, code in wanted:
            name = found.get((subject, code), found.get((subject, "")))
            if name is not None:
                out[(subject, code)] = name
        return out

    def _add_subjects(self, conn: Connection, rows: Iterable[ValidRecord], now: datetime) -> None:
        seen = _subject_kinds(rows)
        if not seen:
            return
        at: Any = _sqlite_datetime(now) if self._sqlite else now
        ph = "?" if self._sqlite else "%s"
        sql = (
            f"INSERT INTO subjects (subject, kind, first_seen) VALUES ({ph}, {ph}, {ph}) "
            "ON CONFLICT (subject) DO NOTHING"
        )
        items = [(s, k, at) for s, k in seen.items()]
        for chunk in _chunks(items, 50_000):
            conn.exec_driver_sql(sql, chunk)

    def record(self, record_id: str) -> Record:
        """The record with this id, or :class:`NotFound`."""
        self._check_ready()
        rid = _parse_id(record_id)
        with _translated("reading a record"), self._read() as conn:
            row = conn.execute(sa.select(*_RECORD_SELECT).where(t_records.c.id == rid)).first()
        if row is None:
            raise NotFound(f"record: no record {record_id!r}")
        return _record(row)

    def events_for(self, record_id: str) -> list[LifecycleEvent]:
        """The record's lifecycle events in the order they happened."""
        self._check_ready()
        rid = _parse_id(record_id)
        with _translated("reading events"), self._read() as conn:
            rows = conn.execute(
                sa.select(*_EVENT_SELECT)
                .where(t_events.c.record_id == rid)
                .order_by(t_events.c.on_date, t_events.c.id)
            ).all()
        return [_event(r) for r in rows]

    def append_event(
        self,
        event: LifecycleEvent,
        *,
        client_key: str | None = None,
        project: Projector | None = None,
    ) -> LifecycleEvent:
        """Append a lifecycle event to its record (idempotent per ``(actor, client_key)``);
        with ``project``, the projection of the record's subject (and of persons holding a role
        in it) is refreshed in the same transaction."""
        self._check_ready()
        rid = _parse_id(event.record_id)
        kind = EventKind(event.kind)
        if event.note:
            check_text(event.note, "note", max_len=MAX_NOTE, multiline=True, required=False)
        if client_key and (why := text_problem(client_key)) is not None:
            raise InputError("client_key", why)
        with _translated("appending an event"), self._write() as conn:
            subject = conn.execute(
                sa.select(t_records.c.subject).where(t_records.c.id == rid)
            ).scalar_one_or_none()
            if subject is None:
                raise NotFound(f"record: no record {event.record_id!r}")
            if client_key:
                prior = conn.execute(
                    sa.select(*_EVENT_SELECT).where(
                        t_events.c.actor == event.actor, t_events.c.client_key == client_key
                    )
                ).first()
                if prior is not None:
                    old = _event(prior)
                    if (old.record_id, old.kind, old.on, old.note) != (
                        str(rid),
                        kind,
                        event.on,
                        event.note,
                    ):
                        raise Conflict(
                            f"client_key {client_key!r} of {event.actor!r} already names "
                            "a different event"
                        )
                    return old
            conn.execute(
                t_events.insert().values(
                    record_id=rid,
                    kind=kind.value,
                    on_date=event.on,
                    actor=event.actor,
                    note=event.note,
                    client_key=client_key or None,
                    entered_at=_now(),
                )
            )
            refreshed: set[str] = {subject}
            if project is not None:
                self._refresh(conn, {subject}, project, project.as_of, refreshed=refreshed)
            self._audit(
                conn,
                actor=event.actor or "unknown",
                action=f"event.{kind.value}",
                subject=subject,
                purpose="due process",
                detail={"record": str(rid), "on": event.on.isoformat()},
                subjects=refreshed,
            )
        return LifecycleEvent(str(rid), kind, event.on, event.actor, event.note)

    def import_events(
        self,
        rows: Sequence[tuple[int, str, LifecycleEvent]],
        *,
        actor: str,
        project: Projector,
        source: str | None = None,
    ) -> int:
        """Lifecycle events of records already filed, each named by its record's
        ``client_key`` (``rows``: line number, the key, the event with its kind, day and note),
        in ONE transaction: every key must name exactly one record and each event is appended
        as that record's authority's; then the projection of every touched subject is
        refreshed. A key naming no record, or several, refuses the whole import
        (:class:`ImportRejected`, nothing written). Returns the events appended."""
        self._check_ready()
        with _translated("importing events"), self._write() as conn:
            keys = sorted({key for _n, key, _e in rows})
            found: dict[str, list[tuple[int, str, str]]] = {}
            for chunk in range(0, len(keys), 500):
                part = keys[chunk : chunk + 500]
                for rid, key, authority, subject in conn.execute(
                    sa.select(t_records.c.id, t_records.c.client_key, t_records.c.authority,
                              t_records.c.subject).where(t_records.c.client_key.in_(part))
                ):  # fmt: skip
                    found.setdefault(key, []).append((rid, authority, subject))
            problems: list[tuple[int, str, str]] = []
            for n, key, _e in rows:
                hits = found.get(key, [])
                if not hits:
                    problems.append((n, "record", f"no record with client_key {key!r}"))
                elif len(hits) > 1:
                    problems.append((n, "record", f"client_key {key!r} names several records "
                                                  "(of different authorities)"))  # fmt: skip
            if problems:
                raise ImportRejected(problems)
            subjects: set[str] = set()
            now = _now()
            values = []
            for _n, key, ev in rows:
                rid, authority, subject = found[key][0]
                subjects.add(subject)
                values.append({"record_id": rid, "kind": EventKind(ev.kind).value,
                               "on_date": ev.on, "actor": authority, "note": ev.note,
                               "client_key": None, "entered_at": now})  # fmt: skip
            for chunk in range(0, len(values), 20_000):
                conn.execute(t_events.insert(), values[chunk : chunk + 20_000])
            refreshed = set(subjects)
            self._refresh(conn, subjects, project, project.as_of, refreshed=refreshed)
            self._audit(
                conn,
                actor=actor,
                action="events.import",
                subject=None,
                purpose="bulk import of lifecycle events",
                detail={"events": len(values), "source": source or ""},
                subjects=refreshed,
            )
        return len(values)

    def facts(self, subject: str) -> list[Record | LifecycleEvent]:
        """The subject's records and their events, and those of every organisation in which
        the subject holds a legal role (its role records name the organisation as
        ``counterpart``)."""
        self._check_ready()
        with _translated("reading facts"), self._read() as conn:
            return _facts_bulk(conn, [subject]).get(subject, [])

    def subjects(self) -> Iterator[str]:
        """Every subject the ledger has seen, in order (read page by page)."""
        self._check_ready()
        after = ""
        while True:
            with _translated("listing subjects"), self._read() as conn:
                page = (
                    conn.execute(
                        sa.select(t_subjects.c.subject)
                        .where(t_subjects.c.subject > after)
                        .order_by(t_subjects.c.subject)
                        .limit(10_000)
                    )
                    .scalars()
                    .all()
                )
            yield from page
            if len(page) < 10_000:
                return
            after = page[-1]

    def role_holders(self, organisations: Iterable[str]) -> list[str]:
        """Persons whose role records name one of ``organisations`` as counterpart."""
        self._check_ready()
        orgs = sorted(set(organisations))
        found: set[str] = set()
        with _translated("reading roles"), self._read() as conn:
            for batch in _chunks(orgs, CHUNK):
                found.update(
                    conn.execute(
                        sa.select(t_records.c.subject).where(t_records.c.counterpart.in_(batch))
                    ).scalars()
                )
        return sorted(found)

    def requested_records(self, authority: str | None) -> list[str]:
        """Records of ``authority`` (of every authority, if None) with an objection or a
        repair application (decided or not), oldest first: where the authority's desk, or the
        administrator watching deadlines, looks for what awaits a decision."""
        self._check_ready()
        requests = (EventKind.objection_filed.value, EventKind.repair_applied.value)
        query = (
            sa.select(t_records.c.id)
            .join(t_events, t_events.c.record_id == t_records.c.id)
            .where(t_events.c.kind.in_(requests))
            .group_by(t_records.c.id)
            .order_by(t_records.c.id)
        )
        if authority is not None:
            query = query.where(t_records.c.authority == authority)
        with _translated("reading requests"), self._read() as conn:
            return [str(i) for i in conn.execute(query).scalars()]

    def count_records(self) -> int:
        self._check_ready()
        with _translated("counting records"), self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t_records)).scalar_one())

    # -- audit -------------------------------------------------------------------------------

    def log_access(
        self,
        *,
        actor: str,
        action: str,
        subject: str | None,
        purpose: str,
        detail: Any = None,
    ) -> AuditEntry:
        """Record a read of personal data (who, what, about whom, why) in the audit chain."""
        self._check_ready()
        if not purpose.strip():
            raise InputError("purpose", "say why the data is read")
        check_text(purpose, "purpose", max_len=MAX_PURPOSE)
        with _translated("writing the audit log"), self._write() as conn:
            return self._audit(
                conn, actor=actor, action=action, subject=subject, purpose=purpose, detail=detail
            )

    def access_log(self, subject: str) -> list[AuditEntry]:
        """Every audit entry about ``subject``, oldest first: entries other than checks by the
        subject index, writes of several subjects (a batch, an import) by the list of subjects
        each names, checks by ``audit_check_index``, and the checks not yet indexed (written
        since :meth:`index_checks` last ran) by a scan of the log's newest entries. One
        statement, so one snapshot: an entry indexed meanwhile is not counted twice."""
        self._check_ready()
        log, index = t_audit_log, t_audit_check_index
        upto = (
            sa.select(t_ledger_state.c.value)
            .where(t_ledger_state.c.name == CHECK_INDEX_UPTO)
            .scalar_subquery()
        )
        is_check = log.c.action.like("check %")
        named = t_audit_subjects
        query = sa.union_all(
            sa.select(log).where(log.c.subject == subject, sa.text(NOT_A_CHECK)),
            # a write of several subjects (a batch, an import) names each of them
            sa.select(log)
            .join(named, named.c.seq == log.c.seq)
            .where(named.c.subject == subject, log.c.subject.is_distinct_from(subject)),
            sa.select(log)
            .join(index, index.c.seq == log.c.seq)
            .where(index.c.subject == subject, index.c.seq <= upto),
            sa.select(log).where(log.c.seq > upto, log.c.subject == subject, is_check),
        ).order_by("seq")
        with _translated("reading the audit log"), self._read() as conn:
            rows = conn.execute(query).all()
        return [_audit_entry(r) for r in rows]

    def index_checks(self, *, limit: int | None = None) -> int:
        """Add the check entries written since the last call to ``audit_check_index``, sorted
        by subject, in one transaction; returns how many. With ``limit``, at most that many
        entries of the log are looked at (the writer's lock is held for a bounded time; call
        again for the rest). The service's audit writer calls it every few seconds; until then
        :meth:`access_log` finds them by a scan."""
        self._check_ready()
        log, state = t_audit_log, t_ledger_state
        with _translated("indexing the audit log"), self._write() as conn:
            upto = conn.execute(
                sa.select(state.c.value).where(state.c.name == CHECK_INDEX_UPTO)
            ).scalar_one()
            newest = conn.execute(sa.select(sa.func.max(log.c.seq))).scalar()
            if newest is None or newest <= upto:
                return 0
            if limit is not None:
                newest = min(int(newest), int(upto) + limit)
            # run inside the database: no row comes up to Python
            checks = (
                sa.select(log.c.subject, log.c.seq)
                .where(
                    log.c.seq > upto,
                    log.c.seq <= newest,
                    log.c.action.like("check %"),
                    log.c.subject.is_not(None),
                )
                .order_by(log.c.subject, log.c.seq)
            )
            # rows a stepwise indexer (CheckLogWriter) added before it was stopped are there
            # already: they are skipped, and not counted
            inserted = conn.execute(
                self._insert_ignoring(t_audit_check_index).from_select(["subject", "seq"], checks),
                execution_options={"preserve_rowcount": True},
            )
            added = max(inserted.rowcount, 0)
            conn.execute(
                state.update().where(state.c.name == CHECK_INDEX_UPTO).values(value=newest)
            )
        return int(added)

    def verify_audit(self) -> bool:
        """True if the chain is intact; otherwise raise :class:`LedgerError` naming the first
        entry whose hash, link or sequence is wrong."""
        self._check_ready()
        prev = GENESIS
        expected = 1
        digests: dict[int, str] = {}
        with _translated("reading the audit log"), self._read() as conn:
            result = conn.execution_options(yield_per=5_000).execute(
                sa.select(t_audit_log).order_by(t_audit_log.c.seq)
            )
            with result:
                for row in result:
                    entry = _audit_entry(row)
                    if entry.seq != expected:
                        raise LedgerError(
                            f"audit log broken at seq {expected}: entry missing "
                            f"(next entry is seq {entry.seq})"
                        )
                    if entry.prev_hash != prev:
                        raise LedgerError(
                            f"audit log broken at seq {entry.seq}: "
                            f"it does not link to seq {expected - 1}"
                        )
                    digest = _audit_hash(
                        prev,
                        entry.seq,
                        entry.at,
                        entry.actor,
                        entry.action,
                        entry.subject,
                        entry.purpose,
                        row.detail,
                    )
                    if digest != entry.hash:
                        raise LedgerError(
                            f"audit log broken at seq {entry.seq}: "
                            "its content does not match its hash"
                        )
                    prev = entry.hash
                    expected += 1
                    if isinstance(entry.detail, dict) and "subjects_sha256" in entry.detail:
                        digests[entry.seq] = str(entry.detail["subjects_sha256"])
            self._verify_check_index(conn)
            self._verify_subjects(conn, digests)
        return True

    def _verify_subjects(self, conn: Connection, digests: dict[int, str]) -> None:
        """Each write's list of touched subjects must match the digest its entry holds."""
        named = t_audit_subjects
        result = conn.execution_options(yield_per=20_000).execute(
            sa.select(named.c.seq, named.c.subject).order_by(named.c.seq, named.c.subject)
        )
        seen: set[int] = set()
        current: int | None = None
        subjects: list[str] = []

        def close(seq: int) -> None:
            if digests.get(seq) != _subjects_digest(subjects):
                raise LedgerError(
                    f"audit log broken at seq {seq}: its list of subjects was changed"
                )
            seen.add(seq)

        with result:
            for seq, subject in result:
                if seq != current:
                    if current is not None:
                        close(current)
                    current, subjects = int(seq), []
                subjects.append(str(subject))
        if current is not None:
            close(current)
        missing = sorted(set(digests) - seen)
        if missing:
            raise LedgerError(f"audit log broken at seq {missing[0]}: its list of subjects is gone")

    def _verify_check_index(self, conn: Connection) -> None:
        """The check index is derived from the chain: each indexed entry must be a check about
        its subject, and every check up to the index's mark must be indexed (so no access can
        be hidden from its subject by deleting index rows)."""
        log, index, state = t_audit_log, t_audit_check_index, t_ledger_state
        upto = conn.execute(
            sa.select(state.c.value).where(state.c.name == CHECK_INDEX_UPTO)
        ).scalar_one()
        wrong = conn.execute(
            sa.select(index.c.seq)
            .select_from(index.outerjoin(log, log.c.seq == index.c.seq))
            .where(
                sa.or_(
                    log.c.seq.is_(None),
                    log.c.subject.is_distinct_from(index.c.subject),
                    log.c.action.not_like("check %"),
                )
            )
            .order_by(index.c.seq)
            .limit(1)
        ).scalar()
        if wrong is not None:
            raise LedgerError(f"audit check index broken at seq {wrong}: no such check entry")
        missing = conn.execute(
            sa.select(log.c.seq)
            .select_from(
                log.outerjoin(
                    index, sa.and_(index.c.seq == log.c.seq, index.c.subject == log.c.subject)
                )  # fmt: skip
            )
            .where(
                log.c.seq <= upto,
                log.c.action.like("check %"),
                log.c.subject.is_not(None),
                index.c.seq.is_(None),
            )
            .order_by(log.c.seq)
            .limit(1)
        ).scalar()
        if missing is not None:
            raise LedgerError(f"audit check index broken at seq {missing}: entry not indexed")

    def _audit(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        subject: str | None,
        purpose: str,
        detail: Any,
        subjects: Iterable[str] | None = None,
        staged: Staging | None = None,
    ) -> AuditEntry:
        """Append one entry; with ``subjects`` (a write's), the subjects it touched go to
        ``audit_subjects`` and their number and digest into the entry's detail (from the
        import's ``staged`` table of them, if given: the same subjects)."""
        last = conn.execute(
            sa.select(t_audit_log.c.seq, t_audit_log.c.hash)
            .order_by(t_audit_log.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (last[0] + 1, last[1]) if last is not None else (1, GENESIS)
        named = sorted(set(subjects)) if subjects is not None else []
        if named:
            detail = {**(detail or {}), "subjects": len(named),
                      "subjects_sha256": _subjects_digest(named)}  # fmt: skip
            if staged is not None:
                staged.name_in_audit(seq)
            else:
                ph = "?" if self._sqlite else "%s"
                sql = f"INSERT INTO audit_subjects (seq, subject) VALUES ({ph}, {ph})"
                for chunk in _chunks([(seq, s) for s in named], 20_000):
                    conn.exec_driver_sql(sql, list(chunk))
        at = _now()
        detail_text = (
            None if detail is None else orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
        )
        digest = _audit_hash(prev, seq, at, actor, action, subject, purpose, detail_text)
        conn.execute(
            t_audit_log.insert().values(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                subject=subject,
                purpose=purpose,
                detail=detail_text,
                prev_hash=prev,
                hash=digest,
            )
        )
        return AuditEntry(seq, at, actor, action, subject, purpose, detail, prev, digest)

    def log_accesses(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Record many reads at once (one transaction, one chain segment): each entry has
        ``actor``, ``action``, ``subject``, ``purpose`` and optionally ``detail``."""
        return self.append_accesses([access_row(e) for e in entries])

    def append_accesses(self, entries: Sequence[AccessRow]) -> int:
        """:meth:`log_accesses` for entries already in their stored shape: ``(actor, action,
        subject, purpose, detail)`` with ``detail`` as JSON text with sorted keys (or ``None``).
        The check path's writer hands its batches here; the rows go through the driver's own
        ``executemany``, which costs a third of what the same insert costs through SQLAlchemy."""
        self._check_ready()
        if not entries:
            return 0
        if self.sqlite_path is not None:
            return self._append_raw(entries)
        with _translated("writing the audit log"), self._write() as conn:
            last = conn.execute(
                sa.select(t_audit_log.c.seq, t_audit_log.c.hash)
                .order_by(t_audit_log.c.seq.desc())
                .limit(1)
            ).first()
            seq, prev = (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)
            now = _now()
            stamp = _utc(now).isoformat()
            at: Any = _sqlite_datetime(now) if self._sqlite else now
            try:
                rows, _ = chain_entries(entries, (seq, prev), stamp, at)
            except orjson.JSONEncodeError as exc:  # text that is not Unicode (a lone surrogate)
                raise AuditRejected(f"writing the audit log failed: {exc}") from None
            cursor = conn.connection.cursor()
            dbapi = conn.dialect.loaded_dbapi
            try:
                if self._sqlite:
                    # a hundred rows per statement: the driver lets go of the GIL once per
                    # statement, not once per row (the server's threads share one core)
                    for chunk in _chunks(rows, _AUDIT_ROWS_PER_INSERT):
                        cursor.execute(_audit_insert(len(chunk)), list(chain.from_iterable(chunk)))
                else:
                    for chunk in _chunks(rows, 5_000):
                        cursor.executemany(_audit_insert(1, "%s"), chunk)
            except (dbapi.DataError, dbapi.IntegrityError, ValueError) as exc:
                # what was sent, not the store's state: the same rows will fail again
                raise AuditRejected(f"writing the audit log failed: {exc}") from None
            except dbapi.Error as exc:  # the driver's own, not wrapped
                raise LedgerError(f"writing the audit log failed: {exc}") from None
            finally:
                cursor.close()
        return len(entries)

    def _append_raw(self, entries: Sequence[AccessRow]) -> int:
        """:meth:`append_accesses` on a SQLite file, on a connection of the calling thread's
        own, outside SQLAlchemy: the audit writer commits a group every millisecond or two,
        and a group costs 0.09 ms this way against 0.44 ms through the pool and SQLAlchemy
        (measured here with ``synchronous=NORMAL``)."""
        conn = self._raw_connection()
        with self.turns:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    last = conn.execute(
                        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    head = (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)
                    now = _now()
                    rows, _ = chain_entries(entries, head, _utc(now).isoformat(),
                                            _sqlite_datetime(now))  # fmt: skip
                    for chunk in _chunks(rows, _AUDIT_ROWS_PER_INSERT):
                        conn.execute(_audit_insert(len(chunk)), list(chain.from_iterable(chunk)))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.Error:  # rolled back already: keep the cause
                            pass
                    raise
            except (orjson.JSONEncodeError, sqlite3.IntegrityError, sqlite3.DataError,
                    ValueError) as exc:  # fmt: skip
                # what was sent, not the store's state: the same rows will fail again
                raise AuditRejected(f"writing the audit log failed: {exc}") from None
            except sqlite3.Error as exc:
                raise LedgerError(f"writing the audit log failed: {exc}") from None
        return len(entries)

    def _raw_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = self.sqlite_path
            assert path is not None
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            _sqlite_connect(conn, None)
            self._local.conn = conn
            with self._raw_lock:
                self._raw.append(conn)
        return conn

    def dead_letter(self, entry: AccessRow, error: str) -> int:
        """Set aside an audit entry the store refused (:class:`AuditRejected`), so that the
        entries behind it are written: kept in ``audit_dead_letter`` with each text as Python
        writes it escaped (``ascii()``: a NUL becomes ``\\x00``), so that it always fits, and
        the error. Returns its id; the admin page raises the alarm while any are there."""
        self._check_ready()
        actor, action, subject, purpose, detail = entry
        row = {
            "at": _now(),
            "actor": ascii(actor)[:2000],
            "action": ascii(action)[:2000],
            "subject": None if subject is None else ascii(subject)[:2000],
            "purpose": ascii(purpose)[:20_000],
            "detail": None if detail is None else ascii(detail)[:20_000],
            "error": ascii(error)[:2000],
        }
        with _translated("setting an audit entry aside"), self._write() as conn:
            new = conn.execute(t_audit_dead_letter.insert().values(row)).inserted_primary_key
        assert new is not None
        return int(new[0])

    def dead_letters(self) -> list[dict[str, Any]]:
        """The audit entries set aside, oldest first (see :meth:`dead_letter`)."""
        self._check_ready()
        with _translated("reading the audit log"), self._read() as conn:
            rows = conn.execute(
                sa.select(t_audit_dead_letter).order_by(t_audit_dead_letter.c.id)
            ).all()
        return [{**row._asdict(), "at": _utc(row.at).isoformat()} for row in rows]

    def changes_since(self, seq: int) -> tuple[int, set[str]]:
        """Subjects whose projection was changed by writes after audit entry ``seq`` (records
        filed or imported, events appended: each write's entry names them, in
        ``audit_subjects``), and the newest seq: what a cache of the projection must reload.
        ``"*"`` among them: a write from before writes named their subjects (reload all)."""
        self._check_ready()
        action = t_audit_log.c.action
        named = t_audit_subjects
        with _translated("reading the audit log"), self._read() as conn:
            newest = conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar()
            rows = conn.execute(
                sa.select(t_audit_log.c.seq, t_audit_log.c.subject, action)
                .where(t_audit_log.c.seq > seq, sa.text(NOT_A_CHECK))  # ix_audit_log_writes
                .where(sa.or_(action.startswith("records."), action.startswith("event.")))
                .order_by(t_audit_log.c.seq)
            ).all()
            touched = {r[1] for r in rows if r[1] is not None}
            writes = [int(r[0]) for r in rows]
            listed: set[int] = set()
            for chunk in _chunks(writes, CHUNK):
                for at, subject in conn.execute(
                    sa.select(named.c.seq, named.c.subject).where(named.c.seq.in_(chunk))
                ):
                    listed.add(int(at))
                    touched.add(str(subject))
        last = max(int(newest or 0), seq)
        if any(r[1] is None and int(r[0]) not in listed for r in rows):
            touched.add("*")  # written before writes named their subjects: reload everything
        return int(last), touched

    def last_audit_seq(self) -> int:
        self._check_ready()
        with _translated("reading the audit log"), self._read() as conn:
            value = conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar_one()
        return int(value or 0)

    def projection_rows(
        self, subjects: Iterable[str] | None = None
    ) -> Iterator[tuple[str, ProjectedMeasure]]:
        """``(subject, measure)`` for the given subjects, or for everyone (streamed)."""
        self._check_ready()
        cols = (
            t_projection.c.subject,
            t_projection.c.measure,
            t_projection.c.list,
            t_projection.c.memorandum,
            t_projection.c.since,
            t_projection.c.until,
            t_projection.c.computed_as_of,
        )
        chosen = None if subjects is None else sorted(set(subjects))
        batches = [None] if chosen is None else list(_chunks(chosen, CHUNK))
        for batch in batches:
            query = sa.select(*cols).order_by(t_projection.c.subject, t_projection.c.id)
            if batch is not None:
                query = query.where(t_projection.c.subject.in_(batch))
            with _translated("reading the projection"), self._read() as conn:
                for row in conn.execute(query):
                    yield row[0], ProjectedMeasure(*row[1:])

    def projection_table(
        self, subjects: Iterable[str] | None = None
    ) -> Iterator[tuple[str, str, str | None, str | None, Any, Any]]:
        """:meth:`projection_rows` as the driver gives them, ordered by subject, streamed:
        ``(subject, measure, list, memorandum, since, until)`` with the dates as ISO text
        (SQLite) or dates (PostgreSQL); :func:`as_day` reads either. SQLAlchemy's row
        processing cost most of a reload (480,000 rows: several seconds)."""
        self._check_ready()
        ph = "?" if self._sqlite else "%s"
        sql = "SELECT subject, measure, list, memorandum, since, until FROM projection_measures"
        order = " ORDER BY subject, id"
        chosen = None if subjects is None else sorted(set(subjects))
        batches: list[Sequence[str] | None] = (
            [None] if chosen is None else list(_chunks(chosen, CHUNK))
        )
        for batch in batches:
            where = "" if batch is None else f" WHERE subject IN ({', '.join([ph] * len(batch))})"
            with _translated("reading the projection"), self._read() as conn:
                cursor = conn.connection.cursor()
                try:
                    cursor.execute(sql + where + order, list(batch or ()))
                    while rows := cursor.fetchmany(20_000):
                        yield from rows
                finally:
                    cursor.close()

    # -- API keys ----------------------------------------------------------------------------

    def create_key(self, *, role: str, principal: str, label: str = "", actor: str) -> str:
        """A new API key; returns the token (``sc_<key id>_<secret>``), shown only now."""
        import secrets

        self._check_ready()
        label = check_text(label, "label", max_len=200, required=False)
        principal = check_text(principal, "principal", max_len=120)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        with _translated("creating an API key"), self._write() as conn:
            conn.execute(
                t_api_keys.insert().values(
                    key_id=key_id,
                    secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
                    role=role,
                    principal=principal,
                    label=label,
                    created_at=_now(),
                )
            )
            self._audit(
                conn,
                actor=actor,
                action="keys.create",
                subject=principal if role == "subject" else None,
                purpose="administration",
                detail={"key": key_id, "role": role, "principal": principal},
            )
        return f"sc_{key_id}_{secret}"

    def key_for(self, token: str) -> ApiKey | None:
        """The live key a token belongs to, or None (unknown, wrong secret, or revoked)."""
        self._check_ready()
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "sc":
            return None
        with _translated("reading API keys"), self._read() as conn:
            row = conn.execute(sa.select(t_api_keys).where(t_api_keys.c.key_id == parts[1])).first()
        if row is None or row.revoked_at is not None:
            return None
        import hmac

        digest = hashlib.sha256(parts[2].encode()).hexdigest()
        if not hmac.compare_digest(digest, row.secret_hash):
            return None
        return ApiKey(row.key_id, row.role, row.principal, row.label, row.created_at)

    def open_session(self, token: str, *, seconds: int) -> str | None:
        """Sign in with an API key: a new session id for the live key ``token`` belongs to,
        valid for ``seconds``; None if the key is unknown or revoked. Only the id's hash is
        stored; sessions that ended or expired over a day ago are cleared out meanwhile."""
        import secrets

        if seconds < 0:
            raise InputError("seconds", "a session lasts zero seconds or more")
        key = self.key_for(token)
        if key is None:
            return None
        session = f"ss_{secrets.token_urlsafe(32)}"
        now = _now()
        sessions = t_portal_sessions
        with _translated("opening a session"), self._write() as conn:
            stale = now - timedelta(days=1)
            conn.execute(
                sessions.delete().where(
                    sa.or_(sessions.c.expires_at < stale, sessions.c.ended_at < stale)
                )
            )
            conn.execute(
                sessions.insert().values(
                    session_hash=_session_hash(session),
                    key_id=key.key_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=seconds),
                )
            )
        return session

    def session_key(self, session: str) -> ApiKey | None:
        """The key a session was opened with, while the session is open (not ended, not
        expired) and the key live; otherwise None."""
        self._check_ready()
        if not session.startswith("ss_") or len(session) > 100:
            return None
        sessions, keys = t_portal_sessions, t_api_keys
        with _translated("reading sessions"), self._read() as conn:
            row = conn.execute(
                sa.select(sessions.c.expires_at, sessions.c.ended_at, keys)
                .join(keys, keys.c.key_id == sessions.c.key_id)
                .where(sessions.c.session_hash == _session_hash(session))
            ).first()
        if row is None or row.ended_at is not None or row.revoked_at is not None:
            return None
        if _utc(row.expires_at) <= _now():
            return None
        return ApiKey(row.key_id, row.role, row.principal, row.label, row.created_at)

    def end_session(self, session: str) -> None:
        """Sign out: the session id stops working, wherever it was copied to."""
        self._check_ready()
        sessions = t_portal_sessions
        with _translated("ending a session"), self._write() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.session_hash == _session_hash(session))
                .where(sessions.c.ended_at.is_(None))
                .values(ended_at=_now())
            )

    def keys(self) -> list[ApiKey]:
        self._check_ready()
        with _translated("reading API keys"), self._read() as conn:
            rows = conn.execute(sa.select(t_api_keys).order_by(t_api_keys.c.created_at)).all()
        return [
            ApiKey(r.key_id, r.role, r.principal, r.label, r.created_at, r.revoked_at) for r in rows
        ]

    def revoke_key(self, key_id: str, *, actor: str) -> None:
        self._check_ready()
        with _translated("revoking an API key"), self._write() as conn:
            done = conn.execute(
                t_api_keys.update()
                .where(t_api_keys.c.key_id == key_id, t_api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if not done:
                raise NotFound(f"key: no live key {key_id!r}")
            self._audit(
                conn, actor=actor, action="keys.revoke", subject=None,
                purpose="administration", detail={"key": key_id},
            )  # fmt: skip

    # -- projection --------------------------------------------------------------------------

    def replace_projection(
        self, subject: str, rows: Iterable[ProjectedMeasure], *, as_of: date
    ) -> None:
        """Replace the subject's projected measures with ``rows`` (computed on ``as_of``)."""
        self._check_ready()
        with _translated("writing the projection"), self._write() as conn:
            _replace_projection(conn, {subject: list(rows)}, as_of)

    def refresh_projections(
        self, subjects: Iterable[str], *, project: Projector, as_of: date
    ) -> int:
        """Recompute the projection of ``subjects`` (and of persons holding a role in them) from
        their facts; returns how many subjects were refreshed."""
        self._check_ready()
        with _translated("refreshing the projection"), self._write() as conn:
            return self._refresh(conn, set(subjects), project, as_of)

    def active_measures(self, subject: str, *, on: date | None = None) -> list[ProjectedMeasure]:
        """The subject's projected measures; with ``on``, only those in force that day."""
        self._check_ready()
        query = sa.select(
            t_projection.c.measure,
            t_projection.c.list,
            t_projection.c.memorandum,
            t_projection.c.since,
            t_projection.c.until,
            t_projection.c.computed_as_of,
        ).where(t_projection.c.subject == subject)
        if on is not None:
            query = query.where(
                sa.or_(t_projection.c.since.is_(None), t_projection.c.since <= on),
                sa.or_(t_projection.c.until.is_(None), t_projection.c.until > on),
            )
        with _translated("reading the projection"), self._read() as conn:
            rows = conn.execute(query.order_by(t_projection.c.measure, t_projection.c.id)).all()
        return [ProjectedMeasure(*r) for r in rows]

    def _insert_projection_rows(
        self,
        conn: Connection,
        rows: Sequence[tuple[str, str, str | None, str | None, date | None, date | None]],
        as_of: date,
    ) -> None:
        if not rows:
            return
        ph = ", ".join(["?" if self._sqlite else "%s"] * 7)
        sql = (
            "INSERT INTO projection_measures "
            f"(subject, measure, list, memorandum, since, until, computed_as_of) VALUES ({ph})"
        )
        if self._sqlite:
            items: list[tuple[Any, ...]] = [
                (s, m, li, memo, _iso(since), _iso(until), as_of.isoformat())
                for s, m, li, memo, since, until in rows
            ]
        else:
            items = [(*r, as_of) for r in rows]
        for chunk in _chunks(items, 20_000):
            conn.exec_driver_sql(sql, chunk)

    def _refresh(
        self,
        conn: Connection,
        touched: set[str],
        project: Projector,
        as_of: date,
        *,
        first_new_id: int | None = None,
        refreshed: set[str] | None = None,
    ) -> int:
        """Recompute the projection of ``touched`` subjects and of persons holding a role in
        them (added to ``refreshed``, if given). With ``first_new_id`` (a bulk insert just made
        every record from that id on), the subjects that had no earlier records and no role
        links take their facts from one range scan of the new rows instead of a lookup each."""
        if not touched:
            return 0
        new_rows = t_records.c.id >= first_new_id if first_new_id is not None else None
        touched_q = sa.select(t_records.c.subject).where(new_rows) if new_rows is not None else None
        holders: set[str] = set()
        if touched_q is not None:
            holders.update(
                conn.execute(
                    sa.select(t_records.c.subject)
                    .distinct()
                    .where(t_records.c.counterpart.in_(touched_q))
                ).scalars()
            )
        else:
            for chunk in _chunks(sorted(touched), CHUNK):
                holders.update(
                    conn.execute(
                        sa.select(t_records.c.subject)
                        .distinct()
                        .where(t_records.c.counterpart.in_(chunk))
                    ).scalars()
                )
        if refreshed is not None:
            refreshed.update(touched)
            refreshed.update(holders)
        facts: dict[str, list[Fact]] = {}
        fresh_rows: list[tuple[str, str, str | None, str | None, date | None, date | None]] = []
        full = set(touched) | holders
        replaced = set(full)
        if new_rows is not None and touched_q is not None:
            older = set(
                conn.execute(
                    sa.select(t_records.c.subject)
                    .distinct()
                    .where(~new_rows, t_records.c.subject.in_(touched_q))
                ).scalars()
            )
            full = older | holders
            replaced = set(full)
            ph = "?" if self._sqlite else "%s"
            new = conn.exec_driver_sql(
                "SELECT id, subject, record_type, decided_on, counterpart FROM records "
                f"WHERE id >= {ph} ORDER BY id",
                (first_new_id,),
            ).fetchall()
            full.update(subject for _i, subject, _t, _d, counterpart in new if counterpart)
            plain = [row for row in new if row[1] not in full]
            fresh_rows = project.from_rows(
                [r[0] for r in plain],
                [r[1] for r in plain],
                [r[2] for r in plain],
                [r[3] for r in plain],
            )
        for chunk in _chunks(sorted(full), CHUNK):
            facts.update(_facts_bulk(conn, chunk))
        computed = {s: list(ms) for s, ms in project(facts).items()}
        if touched_q is None:
            _replace_projection(conn, computed, as_of)
            return len(computed)
        # a bulk insert: clear every touched subject's rows at once, then write them all
        conn.execute(t_projection.delete().where(t_projection.c.subject.in_(touched_q)))
        _replace_projection(conn, computed, as_of, cleared=set(computed) - replaced)
        self._insert_projection_rows(conn, fresh_rows, as_of)
        return len(computed) + len({r[0] for r in fresh_rows})


# --------------------------------------------------------------------------------------------
# Helpers


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


def _subject_kinds(rows: Iterable[ValidRecord]) -> dict[str, str]:
    """Each subject the rows name, with its kind (a counterpart is an organisation)."""
    seen: dict[str, str] = {}
    for rec in rows:
        seen.setdefault(rec.subject, rec.subject_kind)
        if rec.counterpart is not None:
            seen.setdefault(rec.counterpart, "organisation")
    return seen


def _fresh_rows(
    rows: Sequence[ValidRecord],
    existing: Mapping[tuple[str, str], tuple[int, str]],
    lines: Sequence[int] | None,
) -> tuple[list[ValidRecord], int]:
    """The rows to insert and how many are skipped: a row whose ``(authority, client_key)``
    is stored, or earlier in ``rows``, with the same content is skipped; with other content the
    whole import is refused (:class:`ImportRejected`, naming ``lines[i]`` or the position)."""
    fresh: list[ValidRecord] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    problems: list[tuple[int, str, str]] = []
    skipped = 0
    for i, rec in enumerate(rows):
        if not rec.client_key:
            fresh.append(rec)
            continue
        key = (rec.authority, rec.client_key)
        line = lines[i] if lines is not None else i + 1
        found = existing.get(key)
        if found is not None:
            if found[1] == rec.content_hash:
                skipped += 1
            else:
                why = (f"{rec.client_key!r} already names record {found[0]} of "
                       f"{rec.authority!r} with different content")  # fmt: skip
                problems.append((line, "client_key", why))
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = (line, rec.content_hash)
            fresh.append(rec)
        elif first[1] == rec.content_hash:
            skipped += 1
        else:
            problems.append((line, "client_key", f"{rec.client_key!r} of {rec.authority!r} is "
                             f"used on line {first[0]} for a different record"))  # fmt: skip
    if problems:
        raise ImportRejected(problems)
    return fresh, skipped


def _check_keys_since(
    conn: Connection, first_id: int, fresh: Sequence[ValidRecord], lines: Sequence[int] | None
) -> None:
    """Refuse the import if a record filed while it was staged (ids from ``first_id`` on)
    holds one of its ``(authority, client_key)``: the import is to be run again, and will then
    skip or refuse that line as usual."""
    keys = {(r.authority, r.client_key): i for i, r in enumerate(fresh) if r.client_key}
    if not keys:
        return
    query = sa.select(t_records.c.authority, t_records.c.client_key, t_records.c.id).where(
        t_records.c.id >= first_id, t_records.c.client_key.is_not(None)
    )
    problems = []
    for authority, key, rid in conn.execute(query):
        i = keys.get((authority, key))
        if i is not None:
            line = lines[i] if lines is not None else i + 1
            problems.append((line, "client_key", f"{key!r} of {authority!r} was filed as record "
                             f"{rid} while this import ran: import the file again"))  # fmt: skip
    if problems:
        raise ImportRejected(sorted(problems))


def _subjects_written_since(conn: Connection, seq: int) -> set[str]:
    """Subjects that audit entries after ``seq`` name (the subjects a write touched, and the
    subject of every entry other than a check): a superset of those whose facts changed."""
    named = set(
        conn.execute(
            sa.select(t_audit_subjects.c.subject).where(t_audit_subjects.c.seq > seq)
        ).scalars()
    )
    named.update(
        conn.execute(
            sa.select(t_audit_log.c.subject).where(
                t_audit_log.c.seq > seq, sa.text(NOT_A_CHECK), t_audit_log.c.subject.is_not(None)
            )
        ).scalars()
    )
    return {str(s) for s in named}


def _record(row: Sequence[Any]) -> Record:
    rid, subject, rtype, authority, decided_on, ref, counterpart = row
    return Record(str(rid), subject, rtype, authority, decided_on, ref, counterpart)


def _event(row: Sequence[Any]) -> LifecycleEvent:
    rid, kind, on, actor, note = row
    return LifecycleEvent(str(rid), EventKind(kind), on, actor, note)


def _facts_bulk(conn: Connection, subjects: Sequence[str]) -> dict[str, list[Fact]]:
    """Facts of many subjects at once (see :meth:`Ledger.facts`)."""
    own: dict[str, list[Record]] = {s: [] for s in subjects}
    orgs_of: dict[str, set[str]] = {}
    for chunk in _chunks(list(subjects), CHUNK):
        rows = conn.execute(sa.select(*_RECORD_SELECT).where(t_records.c.subject.in_(chunk))).all()
        for row in rows:
            rec = _record(row)
            own[rec.subject].append(rec)
            if rec.counterpart is not None:
                orgs_of.setdefault(rec.subject, set()).add(rec.counterpart)
    org_records: dict[str, list[Record]] = {}
    wanted = {o for orgs in orgs_of.values() for o in orgs}
    for org in wanted:
        if org in own:
            org_records[org] = own[org]
    missing = sorted(wanted - org_records.keys())
    for chunk in _chunks(missing, CHUNK):
        query = sa.select(*_RECORD_SELECT).where(t_records.c.subject.in_(chunk))
        for org_row in conn.execute(query):
            rec = _record(org_row)
            org_records.setdefault(rec.subject, []).append(rec)
    # events of every record gathered
    by_record: dict[str, list[LifecycleEvent]] = {}
    involved = sorted({*subjects, *missing})
    for chunk in _chunks(involved, CHUNK):
        query = (
            sa.select(*_EVENT_SELECT)
            .join(t_records, t_records.c.id == t_events.c.record_id)
            .where(t_records.c.subject.in_(chunk))
        )
        for ev_row in conn.execute(query):
            ev = _event(ev_row)
            by_record.setdefault(ev.record_id, []).append(ev)

    out: dict[str, list[Fact]] = {}
    for subject in subjects:
        recs = list(own[subject])
        for org in sorted(orgs_of.get(subject, ())):
            if org != subject:
                recs += org_records.get(org, [])
        recs.sort(key=lambda r: (r.decided_on, int(r.id)))
        facts: list[Fact] = list(recs)
        if by_record:
            evs = [e for r in recs for e in by_record.get(r.id, ())]
            evs.sort(key=lambda e: e.on)
            facts += evs
        out[subject] = facts
    return out


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _replace_projection(
    conn: Connection,
    rows: Mapping[str, Sequence[ProjectedMeasure]],
    as_of: date,
    *,
    cleared: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Replace the projection rows of every subject in ``rows`` (those in ``cleared`` have
    had theirs deleted already)."""
    subjects = [s for s in rows if s not in cleared]
    for chunk in _chunks(subjects, CHUNK):
        conn.execute(t_projection.delete().where(t_projection.c.subject.in_(chunk)))
    items = [
        {
            "subject": s,
            "measure": m.measure,
            "list": m.list,
            "memorandum": m.memorandum,
            "since": m.since,
            "until": m.until,
            "computed_as_of": as_of,
        }
        for s, ms in rows.items()
        for m in ms
    ]
    for batch in _chunks(items, 20_000):
        conn.execute(t_projection.insert(), batch)


def _audit_hash(
    prev: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    purpose: str,
    detail: str | None,
) -> str:
    return _chain_hash(prev, seq, _utc(at).isoformat(), actor, action, subject, purpose, detail)


_AUDIT_ROWS_PER_INSERT = 100  # 900 parameters, within SQLite's limit of 32,766


@lru_cache(maxsize=256)
def _audit_insert(rows: int, ph: str = "?") -> str:
    one = "(" + ", ".join([ph] * 9) + ")"
    return (
        "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, detail, prev_hash, "
        "hash) VALUES " + ", ".join([one] * rows)
    )


def _published_lists(catalog: Loaded | CatalogIndex) -> dict[str, frozenset[str]]:
    """Each list with the published record types that put a subject on it: the records under
    which a subject is shown on that public list, by name."""
    index = catalog.index if isinstance(catalog, Loaded) else catalog
    lists = {
        code: frozenset(
            t
            for t in lst.entry.record_types
            if t in index.record_types and index.record_types[t].publication.published
        )
        for code, lst in index.lists.items()
    }
    return {code: types for code, types in lists.items() if types}


def as_day(value: Any) -> date | None:
    """A date column as :meth:`Ledger.projection_table` gives it (ISO text, a date, or
    ``None``) as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _subjects_digest(subjects: Sequence[str]) -> str:
    """SHA-256 of a write's touched subjects, sorted, one per line."""
    digest = hashlib.sha256()
    for subject in subjects:
        digest.update(subject.encode() + b"\n")
    return digest.hexdigest()


def _session_hash(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()


def chain_entries(
    entries: Sequence[AccessRow], head: tuple[int, str], stamp: str, at: Any
) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
    """``entries`` as audit rows (``seq, at, actor, action, subject, purpose, detail,
    prev_hash, hash``) that follow ``head`` (the log's last seq and hash) in the chain, written
    at ``stamp`` (UTC ISO time; ``at`` as the store takes it); and the new head."""
    seq, prev = head
    rows: list[tuple[Any, ...]] = []
    for actor, action, subject, purpose, detail in entries:
        seq += 1
        digest = _chain_hash(prev, seq, stamp, actor, action, subject, purpose, detail)
        rows.append((seq, at, actor, action, subject, purpose, detail, prev, digest))
        prev = digest
    return rows, (seq, prev)


def _chain_hash(
    prev: str,
    seq: int,
    stamp: str,
    actor: str,
    action: str,
    subject: str | None,
    purpose: str,
    detail: str | None,
) -> str:
    """An audit entry's hash: its predecessor's hash and its content (``stamp``: the UTC
    ISO time it was written)."""
    content = orjson.dumps([seq, stamp, actor, action, subject, purpose, detail])
    return hashlib.sha256(prev.encode() + content).hexdigest()


def _audit_entry(row: Any) -> AuditEntry:
    detail = orjson.loads(row.detail) if row.detail is not None else None
    return AuditEntry(
        row.seq,
        _utc(row.at),
        row.actor,
        row.action,
        row.subject,
        row.purpose,
        detail,
        row.prev_hash,
        row.hash,
    )


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _sqlite_datetime(at: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime type stores (UTC, without the offset)."""
    return _utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def _parse_id(record_id: str) -> int:
    try:
        rid = int(str(record_id))
    except ValueError:
        raise NotFound(f"record: no record {record_id!r}") from None
    if rid <= 0 or rid > 2**62:
        raise NotFound(f"record: no record {record_id!r}")
    return rid


_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
