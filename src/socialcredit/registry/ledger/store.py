"""The ledger: every concern's methods on one object."""

from __future__ import annotations

from socialcredit.registry.ledger.audit import AuditLog
from socialcredit.registry.ledger.catalogs import CatalogStore
from socialcredit.registry.ledger.keys import KeyStore
from socialcredit.registry.ledger.records import RecordStore


class Ledger(RecordStore, AuditLog, KeyStore, CatalogStore):
    """The registry's store. Open with :meth:`open`; create the schema with :meth:`init`."""
