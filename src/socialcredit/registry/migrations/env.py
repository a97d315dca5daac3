"""Alembic environment: runs only on a connection handed over by :meth:`Ledger.init`.

There is no ``alembic.ini`` on the user's side: ``Ledger.init()`` builds the configuration in
code, points ``script_location`` here and passes its open connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from socialcredit.registry.ledger import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the ledger's migrations with `socialcredit db init` (Ledger.init())")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
