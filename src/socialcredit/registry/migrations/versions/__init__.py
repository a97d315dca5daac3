"""Migration scripts, oldest first (Alembic reads their ``revision``/``down_revision``)."""
