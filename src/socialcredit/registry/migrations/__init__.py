"""Alembic migrations for the ledger; run them with ``socialcredit db init`` (``Ledger.init()``)."""
