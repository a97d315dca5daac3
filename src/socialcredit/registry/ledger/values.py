"""What goes into the ledger and comes out of it: records to file and their checked
form, results, projected measures, keys, audit entries, and the one rule for text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson

from socialcredit.errors import InputError, LedgerError
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.registry.ledger.schema import MAX_NAME
from socialcredit.registry.model import Fact

AccessRow = tuple[str, str, str | None, str, str | None]
"""An audit entry for a read, as stored: actor, action, subject, purpose, detail (JSON text)."""


def access_row(entry: Mapping[str, Any]) -> AccessRow:
    """An entry as :meth:`Ledger.log_accesses` takes it (``actor``, ``action``, ``subject``,
    ``purpose``, optional ``detail``) in its stored shape (detail as JSON with sorted keys)."""
    detail = entry.get("detail")
    text = None if detail is None else orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
    return (entry["actor"], entry["action"], entry.get("subject"), entry["purpose"], text)


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
    """A record that passed :class:`RecordChecker`: normalised."""

    subject: str
    subject_kind: str
    record_type: str
    authority: str
    decided_on: date
    decision_ref: str
    counterpart: str | None
    client_key: str | None


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
    via_role: str | None = None
    """The role held in the listed organisation it reaches the subject through."""


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
                ProjectedMeasure(
                    m.measure, m.list, m.memorandum, m.since, m.until, via_role=m.via_role
                )
                for m in rows
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


class AuditRejected(LedgerError):
    """The store refused an audit entry for what it holds (a NUL in a text, a value too long
    for its column, text that is not Unicode): writing it again will fail again. The audit
    writer sets such an entry aside (:meth:`Ledger.dead_letter`) so that it never blocks the
    entries behind it."""


def _expected_text(value: object, what: str = "text") -> str:
    if value is None:
        return "is missing"
    return f"expected {what}, got {type(value).__name__}"
