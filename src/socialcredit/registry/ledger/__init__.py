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
- ``projection`` and ``projection_grounds``: the check path's point-lookup table, a row per
  subject and ground (a list, a memorandum or a record type's own measures, with its period)
  naming a row of ``projection_grounds`` (the ground's measures, shared by every subject on
  it); the only table whose rows are replaced (per subject) when the subject's facts change.
- ``api_keys``: the service's callers (role and principal); only a hash of each secret.

Every database error is translated into :class:`~socialcredit.errors.LedgerError`.

The package, one module per concern (the public names are re-exported here, so
``from socialcredit.registry.ledger import Ledger`` works as before):

- :mod:`.dialect`: everything that differs between SQLite and PostgreSQL (URL, engine,
  connection set-up, the writers' lock, parameter marks, timestamps), errors translated;
- :mod:`.schema`: the tables; :mod:`.values`: what goes in and comes out, and the text rule;
- :mod:`.checker`: records validated against the catalogs (:class:`RecordChecker`);
- :mod:`.core`: opening, migrating, transactions, appending to the audit chain
  (:mod:`.chain`: the hashes);
- :mod:`.records`, :mod:`.projection`, :mod:`.audit`, :mod:`.keys`, :mod:`.catalogs` (the
  catalogs in force): the ledger's methods by concern, one mixin each, put together in
  :mod:`.store` as :class:`Ledger`;
- :mod:`.facts`, :mod:`.util`: reading facts back; small helpers.
"""

from __future__ import annotations

# the names after "as" are kept here for the modules and tests that import them from the ledger
from socialcredit.registry.ledger.catalogs import CatalogVersion
from socialcredit.registry.ledger.checker import RecordChecker
from socialcredit.registry.ledger.core import MIGRATIONS_DIR as MIGRATIONS_DIR
from socialcredit.registry.ledger.dialect import _AUDIT_LOCK as _AUDIT_LOCK
from socialcredit.registry.ledger.dialect import Turns, normalise_url
from socialcredit.registry.ledger.schema import MAX_NAME as MAX_NAME
from socialcredit.registry.ledger.schema import metadata
from socialcredit.registry.ledger.store import Ledger
from socialcredit.registry.ledger.util import as_day as as_day
from socialcredit.registry.ledger.values import MAX_CLIENT_KEY as MAX_CLIENT_KEY
from socialcredit.registry.ledger.values import MAX_NOTE as MAX_NOTE
from socialcredit.registry.ledger.values import (
    AccessRow,
    ApiKey,
    AuditEntry,
    AuditRejected,
    ImportResult,
    NewRecord,
    ProjectedMeasure,
    Projector,
    SubmitResult,
    ValidRecord,
    access_row,
    check_text,
    default_projector,
    text_problem,
)
from socialcredit.registry.ledger.values import check_name as check_name

__all__ = [
    "CatalogVersion",
    "AccessRow",
    "ApiKey",
    "AuditEntry",
    "AuditRejected",
    "ImportResult",
    "Ledger",
    "NewRecord",
    "ProjectedMeasure",
    "Projector",
    "RecordChecker",
    "SubmitResult",
    "Turns",
    "ValidRecord",
    "access_row",
    "check_text",
    "default_projector",
    "metadata",
    "normalise_url",
    "text_problem",
]
