"""The ledger's core: opening, migrating and closing it, its transactions (readers,
writers in turn), and appending to the audit chain."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from socialcredit.errors import LedgerError
from socialcredit.registry.ledger.chain import GENESIS, _audit_hash, _subjects_digest
from socialcredit.registry.ledger.dialect import (
    Dialect,
    Turns,
    _make_engine,
    _translated,
    normalise_url,
)
from socialcredit.registry.ledger.schema import t_audit_log
from socialcredit.registry.ledger.util import _chunks, _now
from socialcredit.registry.ledger.values import AuditEntry

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"


NOT_INITIALISED = "database not initialised; run `socialcredit db init`"


@lru_cache(maxsize=1)
def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


class LedgerCore:
    """The ledger's core: opening, migrating and closing it, its transactions (readers,"""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url
        self._ready = False
        self._dialect = Dialect(engine)
        self.turns = Turns()
        """This process's writers, in turn (on SQLite; PostgreSQL queues them itself)."""
        self._local = threading.local()
        self._raw: list[sqlite3.Connection] = []
        self._raw_lock = threading.Lock()

    @classmethod
    def open(cls, url: str | None = None) -> Self:
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
        sqlite = self._dialect.sqlite
        with _translated("migrating the database"), self._engine.connect() as conn:
            # a migration that rebuilds a table others refer to (alembic's batch mode on
            # SQLite, migration 0013's records) drops it while its rows are referred to: the
            # references are checked once, before the commit, instead (SQLite's own recipe)
            driver = conn.connection.driver_connection if sqlite else None
            if driver is not None:
                driver.execute("PRAGMA foreign_keys = OFF")
            try:
                with self._write_on(conn):
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
                    broken = (conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                              if driver is not None else None)  # fmt: skip
                    if broken is not None:
                        raise LedgerError(f"migrating the database would break a reference: "
                                          f"{tuple(broken)}")  # fmt: skip
            finally:
                if driver is not None:
                    driver.execute("PRAGMA foreign_keys = ON")
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
        return self._dialect.insert_ignoring(table)

    @property
    def sqlite_path(self) -> str | None:
        """The database file, for a SQLite ledger on disk; otherwise ``None``."""
        return self._dialect.sqlite_path

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file, as far as readers allow (SQLite's
        passive checkpoint; nothing on PostgreSQL). For a writer that turned off checkpoints
        on its own commits (:class:`~socialcredit.registry.checklog.CheckLogWriter`)."""
        self._dialect.checkpoint()

    def __enter__(self) -> Self:
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
        with self._dialect.write_on(conn, self.turns):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

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
    ) -> AuditEntry:
        """Append one entry; with ``subjects`` (a write's), the subjects it touched go to
        ``audit_subjects`` and their number and digest into the entry's detail (an import
        names its own from its staged tables: :meth:`Staging.name_in_audit`)."""
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
            ph = self._dialect.mark
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
