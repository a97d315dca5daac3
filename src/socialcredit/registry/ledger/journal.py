"""The read journal: audit entries of reads made durable before they join the hash chain.

A read of personal data is answered only once its audit entry is durable. Appending to the
chain needs the ledger's write lock (each entry's hash covers the one before it), and a
filing holds that lock through its transaction and its commit: a check that waited for the
chain would wait for the filings in front of it. So the service's reads are first written to
the *read journal*, which no filing touches, and answered once that commit returns:

- on a SQLite file, a database file of its own beside the ledger (``<database>-reads``, with
  the table ``audit_journal`` as :mod:`.schema` defines it, in WAL mode with the ledger's
  ``synchronous`` setting): its own write lock, its own commits;
- on PostgreSQL (and an in-memory SQLite ledger), the ledger's table ``audit_journal``, written
  without the chain's advisory lock.

:meth:`ReadJournal.chain_reads` then moves journaled entries, oldest first, into the chain
under the write lock, each with the time of its read. On PostgreSQL the moved rows are
deleted in that same transaction. A SQLite file cannot share a transaction with another
file, so the ledger's ``ledger_state`` row ``reads_chained_upto`` records, in the chain's
transaction, the last journal id moved; the journal's rows up to it are deleted afterwards
(a crash in between moves nothing twice: those rows are skipped), and journal ids are never
given twice (``AUTOINCREMENT``, started past the mark when the file is made).

A subject's access log (:meth:`~socialcredit.registry.ledger.audit.AuditLog.access_log`)
shows the subject's reads still in the journal after the chained entries (seq 0, no hash
yet), so a read is in the log a subject sees from the moment it was answered, after a crash
of the server too; readers take no lock a writer takes. A server chains what a crash left in
the journal as it starts. The journal belongs with the ledger: a copy of a SQLite ledger
taken while reads wait in the journal must take ``<database>-reads`` with it. (A SQLite
ledger named by a URI filename, ``?uri=true``, keeps its journal in its own table, and its
reads then share the ledger's write lock.)
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from socialcredit.errors import LedgerError
from socialcredit.registry.ledger.chain import (
    _AUDIT_ROWS_PER_INSERT,
    GENESIS,
    _audit_insert,
    chain_content,
    chain_rows,
)
from socialcredit.registry.ledger.core import LedgerCore
from socialcredit.registry.ledger.dialect import (
    _sqlite_connect,
    _sqlite_datetime,
    _translated,
)
from socialcredit.registry.ledger.schema import (
    READS_CHAINED_UPTO,
    t_audit_journal,
    t_audit_log,
)
from socialcredit.registry.ledger.util import _chunks, _now, _utc
from socialcredit.registry.ledger.values import AccessRow, AuditEntry, AuditRejected

READS_SUFFIX = "-reads"
"""A SQLite ledger's read journal is the file named like the ledger's, with this after it."""

CHAIN_ROWS = 20_000
"""Journaled reads moved into the chain per transaction (the write lock's hold, bounded)."""

_JOURNAL_COLUMNS = "at, actor, action, subject, purpose, detail"
_JOURNAL_ROWS_PER_INSERT = 150  # 900 parameters, within SQLite's limit


@lru_cache(maxsize=256)
def _journal_insert(rows: int, ph: str = "?") -> str:
    one = "(" + ", ".join([ph] * 6) + ")"
    return f"INSERT INTO audit_journal ({_JOURNAL_COLUMNS}) VALUES " + ", ".join([one] * rows)


def insert_rows(
    cursor: Any, statement: Callable[[int, str], str], rows: Sequence[tuple[Any, ...]], *,
    sqlite: bool, per_statement: int,
) -> None:  # fmt: skip
    """Insert ``rows`` through the driver's cursor (or a sqlite3 connection), ``statement(n,
    mark)`` giving the INSERT of ``n`` rows: on SQLite ``per_statement`` rows a statement
    (the driver lets go of the GIL once per statement, not once per row), on PostgreSQL
    ``executemany``."""
    if sqlite:
        for part in _chunks(rows, per_statement):
            cursor.execute(statement(len(part), "?"), list(chain.from_iterable(part)))
    else:
        for part in _chunks(rows, 5_000):
            cursor.executemany(statement(1, "%s"), part)


def insert_chained(cursor: Any, rows: Sequence[tuple[Any, ...]], sqlite: bool) -> None:
    """Insert chained audit rows (:func:`~.chain.chain_rows`): :func:`insert_rows`."""
    insert_rows(cursor, _audit_insert, rows, sqlite=sqlite, per_statement=_AUDIT_ROWS_PER_INSERT)


class ReadJournal(LedgerCore):
    """The read journal (see the module's docstring)."""

    @cached_property
    def reads_path(self) -> str | None:
        """The read journal's file, for a SQLite ledger on disk; otherwise ``None`` (the
        journal is the ledger's own table). Worked out once: every group of reads asks."""
        path = self.sqlite_path  # the file's own name, however it was reached (a link)
        return None if path is None else os.path.realpath(path) + READS_SUFFIX

    def journal_reads(self, entries: Sequence[AccessRow]) -> int:
        """Make ``entries`` (reads, in their stored shape) durable in the read journal, in one
        commit that waits for no writer of the ledger; :meth:`chain_reads` moves them into the
        chain. :class:`AuditRejected` for content the log could never take (the same entries
        would fail again); :class:`LedgerError` when the store fails."""
        self._check_ready()
        if not entries:
            return 0
        try:
            for entry in entries:
                chain_content(entry)
        except orjson.JSONEncodeError as exc:  # text that is not Unicode (a lone surrogate)
            raise AuditRejected(f"writing the audit log failed: {exc}") from None
        now = _now()
        if self.reads_path is not None:
            return self._journal_to_file(entries, _sqlite_datetime(now))
        at = self._dialect.timestamp(now)
        rows = [(at, *entry) for entry in entries]
        with _translated("writing the read journal"), self._engine.connect() as conn:
            with conn.begin():  # not the chain's lock: filings do not hold this up
                cursor = conn.connection.cursor()
                dbapi = conn.dialect.loaded_dbapi
                try:
                    insert_rows(cursor, _journal_insert, rows, sqlite=self._dialect.sqlite,
                                per_statement=_JOURNAL_ROWS_PER_INSERT)  # fmt: skip
                except (dbapi.DataError, dbapi.IntegrityError, ValueError) as exc:
                    raise AuditRejected(f"writing the audit log failed: {exc}") from None
                except dbapi.Error as exc:
                    raise LedgerError(f"writing the read journal failed: {exc}") from None
                finally:
                    cursor.close()
        return len(entries)

    def _journal_to_file(self, entries: Sequence[AccessRow], at: str) -> int:
        conn = self._reads_connection()
        rows = [(at, *entry) for entry in entries]
        try:
            with immediate(conn):
                insert_rows(conn, _journal_insert, rows, sqlite=True,
                            per_statement=_JOURNAL_ROWS_PER_INSERT)  # fmt: skip
        except (sqlite3.IntegrityError, sqlite3.DataError, ValueError) as exc:
            raise AuditRejected(f"writing the audit log failed: {exc}") from None
        except sqlite3.Error as exc:
            raise LedgerError(f"writing the read journal failed: {exc}") from None
        return len(entries)

    def reads_waiting(self) -> int:
        """Journaled reads not yet in the chain (read without any lock)."""
        self._check_ready()
        return self._journal_figure("COUNT(*)") or 0

    def chain_reads(self, limit: int = CHAIN_ROWS, *, upto: int | None = None) -> int:
        """Move up to ``limit`` journaled reads (with ``upto``, of ids up to it), oldest first,
        into the chain, in one transaction holding the write lock (its turn like any
        writer's); returns how many (0 at once, without the lock, when there are none)."""
        self._check_ready()
        if self.reads_path is not None:
            return self._chain_from_file(limit, upto)
        journal = t_audit_journal
        which = sa.true() if upto is None else journal.c.id <= upto
        with _translated("writing the audit log"), self._read() as probe:
            if probe.execute(sa.select(journal.c.id).where(which).limit(1)).first() is None:
                return 0
        with _translated("writing the audit log"), self._write() as conn:
            found = conn.execute(
                sa.select(journal).where(which).order_by(journal.c.id).limit(limit)
            ).all()
            if not found:
                return 0
            rows, _ = chain_rows(
                [(_utc(r.at).isoformat(), self._dialect.timestamp(_utc(r.at)), r.actor,
                  r.action, r.subject, r.purpose, r.detail) for r in found],
                self._chain_head(conn),
            )  # fmt: skip
            self._insert_chained(conn, rows)
            ids = [int(r.id) for r in found]
            for part in _chunks(ids, 5_000):
                conn.execute(journal.delete().where(journal.c.id.in_(part)))
        return len(found)

    def chain_all_reads(self) -> int:
        """Chain every read journaled before the call (reads journaled meanwhile wait for the
        next pass: the wait is bounded however fast reads arrive); returns how many. A read
        answered before the call has its entry in the chain when this returns."""
        self._check_ready()
        upto = self._journal_newest()
        total = 0
        while upto is not None and (moved := self.chain_reads(upto=upto)):
            total += moved
        return total

    def _journal_newest(self) -> int | None:
        """The newest journaled read's id, if the journal holds any not yet chained."""
        return self._journal_figure("MAX(id)")

    def _journal_figure(self, figure: str) -> int | None:
        """``figure`` (``COUNT(*)``, ``MAX(id)``) over the journal's reads not yet chained,
        read without any lock."""
        if self.reads_path is None:
            with _translated("reading the read journal"), self._read() as conn:
                value = conn.exec_driver_sql(f"SELECT {figure} FROM audit_journal").scalar()
            return None if value is None else int(value)
        mark = self._reads_mark_now()
        try:
            row = (
                self._reads_connection()
                .execute(f"SELECT {figure} FROM audit_journal WHERE id > ?", (mark,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"reading the read journal failed: {exc}") from None
        return None if row[0] is None else int(row[0])

    def _journal_select(self, subject: str) -> Any:
        """The subject's journaled reads shaped as audit rows (seq 0, no hashes), for a
        journal that is the ledger's own table (read in the same statement as the chain)."""
        j = t_audit_journal
        return sa.select(
            sa.literal(0, sa.BigInteger).label("seq"), j.c.at, j.c.actor, j.c.action,
            j.c.subject, j.c.purpose, j.c.detail, sa.literal("").label("prev_hash"),
            sa.literal("").label("hash"),
        ).where(j.c.subject == subject)  # fmt: skip

    def _journal_file_rows(
        self, subject: str
    ) -> tuple[int | None, list[tuple[int, AuditEntry]]] | None:
        """The subject's reads in the journal's file, with their journal ids, as audit entries
        (seq 0, no hashes yet), read on a connection opened for the call and closed (any
        thread may ask: none keeps one) and read-only (no lock, and no file made); ``None``
        where the journal is the ledger's own table."""
        path = self.reads_path
        if path is None:
            return None
        if not os.path.exists(path):
            return None, []
        try:
            conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)
            try:
                try:
                    owner = conn.execute("SELECT ledger_id FROM journal_owner").fetchone()
                except sqlite3.OperationalError:  # a journal made before it carried its owner
                    owner = None
                found = conn.execute(
                    f"SELECT id, {_JOURNAL_COLUMNS} FROM audit_journal WHERE subject = ? "
                    "ORDER BY id",
                    (subject,),
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise LedgerError(f"reading the read journal failed: {exc}") from None
        return None if owner is None else int(owner[0]), [
            (i, AuditEntry(0, _utc(datetime.fromisoformat(at)), actor, action, who, purpose,
                           None if detail is None else orjson.loads(detail), "", ""))
            for i, at, actor, action, who, purpose, detail in found
        ]  # fmt: skip

    # -- SQLite: the journal in a file of its own --------------------------------------------

    def _chain_from_file(self, limit: int, upto: int | None) -> int:
        reads = self._reads_connection()
        last_id = (1 << 62) if upto is None else upto
        try:
            if reads.execute("SELECT 1 FROM audit_journal WHERE id > ? AND id <= ? LIMIT 1",
                             (self._reads_mark_now(), last_id)).fetchone() is None:  # fmt: skip
                return 0
        except sqlite3.Error as exc:
            raise LedgerError(f"reading the read journal failed: {exc}") from None
        main = self._raw_connection()
        with self.turns:
            try:
                with immediate(main):
                    mark = _mark(main)
                    found = reads.execute(
                        f"SELECT id, {_JOURNAL_COLUMNS} FROM audit_journal "
                        "WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                        (mark, last_id, limit),
                    ).fetchall()
                    if not found:
                        return 0
                    stamps: dict[str, str] = {}
                    entries = []
                    for _id, at, actor, action, subject, purpose, detail in found:
                        stamp = stamps.get(at)
                        if stamp is None:
                            stamp = stamps[at] = _utc(datetime.fromisoformat(at)).isoformat()
                        entries.append((stamp, at, actor, action, subject, purpose, detail))
                    rows, _ = chain_rows(entries, raw_head(main))
                    insert_chained(main, rows, sqlite=True)
                    mark = int(found[-1][0])
                    main.execute("UPDATE ledger_state SET value = ? WHERE name = ?",
                                 (mark, READS_CHAINED_UPTO))  # fmt: skip
            except sqlite3.Error as exc:
                raise LedgerError(f"writing the audit log failed: {exc}") from None
        try:  # in the chain now: out of the journal (left there, they are skipped)
            reads.execute("DELETE FROM audit_journal WHERE id <= ?", (mark,))
        except sqlite3.Error:
            pass  # the next pass deletes them
        return len(found)

    def _reads_mark_now(self) -> int:
        try:
            return _mark(self._raw_connection())
        except sqlite3.Error as exc:
            raise LedgerError(f"reading the audit log failed: {exc}") from None

    def _reads_connection(self) -> sqlite3.Connection:
        """This thread's connection to the read journal's file (made, with its table, on first
        use: its ids start past what the ledger has chained, so none is ever skipped)."""
        conn: sqlite3.Connection | None = getattr(self._local, "reads", None)
        if conn is not None:
            return conn
        path = self.reads_path
        assert path is not None
        try:
            owner = self._ledger_id()
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            _sqlite_connect(conn, None)  # the ledger's settings: WAL, synchronous, busy wait
            with immediate(conn):
                conn.execute(_JOURNAL_DDL)
                conn.execute(_OWNER_DDL)
                found = conn.execute("SELECT ledger_id FROM journal_owner").fetchone()
                if found is None:
                    conn.execute("INSERT INTO journal_owner (ledger_id) VALUES (?)", (owner,))
                foreign = found is not None and int(found[0]) != owner
                mark = self._reads_mark_now()
                seq = conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'audit_journal'"
                ).fetchone()
                if foreign:
                    pass  # left as it is, for the registry it belongs to
                elif seq is None:
                    conn.execute("INSERT INTO sqlite_sequence (name, seq) "
                                 "VALUES ('audit_journal', ?)", (mark,))  # fmt: skip
                elif int(seq[0]) < mark:  # a journal file newer than the ledger's mark
                    conn.execute("UPDATE sqlite_sequence SET seq = ? "
                                 "WHERE name = 'audit_journal'", (mark,))  # fmt: skip
        except sqlite3.Error as exc:
            raise LedgerError(f"opening the read journal {path} failed: {exc}") from None
        if foreign:
            conn.close()
            raise LedgerError(_foreign(path))
        self._local.reads = conn
        with self._raw_lock:
            self._raw.append(conn)
        return conn

    def _ledger_id(self) -> int:
        """This ledger's identity, which its journal's file carries (made on first use): a
        journal file left beside a registry made anew in its place is refused, never
        adopted."""
        main = self._raw_connection()
        ask = "SELECT value FROM ledger_state WHERE name = ?"
        row = main.execute(ask, (LEDGER_ID,)).fetchone()
        if row is None:
            with self.turns, immediate(main):
                main.execute("INSERT OR IGNORE INTO ledger_state (name, value) VALUES (?, ?)",
                             (LEDGER_ID, secrets.randbits(62)))  # fmt: skip
            row = main.execute(ask, (LEDGER_ID,)).fetchone()
        return int(row[0])

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

    # -- the chain's head and insert, on a connection of the engine --------------------------

    def _chain_head(self, conn: Connection) -> tuple[int, str]:
        last = conn.execute(
            sa.select(t_audit_log.c.seq, t_audit_log.c.hash)
            .order_by(t_audit_log.c.seq.desc())
            .limit(1)
        ).first()
        return (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)

    def _insert_chained(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        cursor = conn.connection.cursor()
        dbapi = conn.dialect.loaded_dbapi
        try:
            insert_chained(cursor, rows, self._dialect.sqlite)
        except (dbapi.DataError, dbapi.IntegrityError, ValueError) as exc:
            # what was sent, not the store's state: the same rows will fail again
            raise AuditRejected(f"writing the audit log failed: {exc}") from None
        except dbapi.Error as exc:  # the driver's own, not wrapped
            raise LedgerError(f"writing the audit log failed: {exc}") from None
        finally:
            cursor.close()


LEDGER_ID = "ledger_id"
"""``ledger_state``: a SQLite ledger's identity, carried by its journal's file."""

_OWNER_DDL = "CREATE TABLE IF NOT EXISTS journal_owner (ledger_id INTEGER NOT NULL)"


def _foreign(path: str) -> str:
    return (f"the read journal {path} belongs to another registry (a registry made anew in "
            "the place of one whose journal was left there): move it away, and keep it with "
            "the registry it came from")  # fmt: skip


_JOURNAL_DDL = (
    str(sa.schema.CreateTable(t_audit_journal, if_not_exists=True)
        .compile(dialect=sqlite_dialect.dialect())).strip()
)  # fmt: skip
"""The journal's table in its own file: the definition :mod:`.schema` gives it."""


def _mark(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT value FROM ledger_state WHERE name = ?", (READS_CHAINED_UPTO,)
    ).fetchone()
    if row is None:
        raise sqlite3.OperationalError(f"ledger_state has no {READS_CHAINED_UPTO}")
    return int(row[0])


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction on a connection of the driver's own (``isolation_level=None``):
    ``BEGIN IMMEDIATE`` (the write lock up front), committed at the end, rolled back if
    anything is raised (a rollback that fails keeps the cause)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:  # rolled back already: keep the cause
                pass
        raise
    conn.execute("COMMIT")


def raw_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The chain's last seq and hash, on a connection of the driver's own."""
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)
