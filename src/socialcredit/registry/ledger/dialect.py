"""Where SQLite and PostgreSQL differ for the ledger: the URL, the engine and its
connections (pragmas, BEGIN IMMEDIATE, synchronous commits), the writers' lock
(:class:`Turns` and SQLite's write lock; PostgreSQL's advisory lock), parameter
marks and how a timestamp is passed to the driver, and database errors translated."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from socialcredit.errors import LedgerError
from socialcredit.registry.ledger.util import _utc

DEFAULT_DB = "sqlite:///./socialcredit.db"


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


WRITE_WAIT_MS = 30_000
"""How long a write waits for a lock (the ledger's write lock, or on PostgreSQL any lock its
transaction then needs) before it fails with an error naming the wait, which the service
answers with 503: SQLite's busy timeout, PostgreSQL's ``lock_timeout`` for the transaction.
Unbounded, a filing would hang behind a long write (an import's swap) for as long as it
lasts."""


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


_AUDIT_LOCK = 0x5C1ED6E5  # pg_advisory_xact_lock key serialising audit-chain appends


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
        cursor.execute(f"PRAGMA busy_timeout = {WRITE_WAIT_MS}")
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


def _sqlite_datetime(at: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime type stores (UTC, without the offset)."""
    return _utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn any database error into a LedgerError (our own errors pass through)."""
    try:
        yield
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        detail = str(orig) if orig is not None else str(exc).split("\n", 1)[0]
        if _waited_too_long(orig):
            detail = (f"another write held the registry's lock for more than "
                      f"{WRITE_WAIT_MS / 1000:g} s ({detail.strip()}): try again")  # fmt: skip
        raise LedgerError(f"{what} failed: {detail}") from None


def _waited_too_long(error: object) -> bool:
    """Whether the driver's ``error`` is a lock not granted within :data:`WRITE_WAIT_MS`
    (PostgreSQL's lock_not_available; SQLite's busy)."""
    if getattr(error, "sqlstate", None) == "55P03":
        return True
    return getattr(error, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT")


class Turns:
    """A lock taken in turns (first come, first served), unlike :class:`threading.Lock`, which
    a thread that releases and re-takes it at once can keep for ever. The ledger's writers of
    one process queue on it before they ask SQLite for its write lock, so that the chainer,
    moving reads into the audit chain every tenth of a second, is never starved by filing
    authorities (nor they by it).

    One thread may be preferred (:meth:`prefer`: the chainer, so that the read journal stays
    short): it goes to the head of the queue, so it waits at most for the writer holding the
    lock, and the others still get every other turn while it is busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False
        self._preferred: threading.Thread | None = None
        """The preferred thread itself, not its id: a thread started after it ends may be
        given the same id, and would go ahead of the others in its place."""

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def prefer(self) -> None:
        """The calling thread goes ahead of the others waiting (one thread at a time)."""
        self._preferred = threading.current_thread()

    def acquire(self) -> None:
        with self._lock:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            if threading.current_thread() is self._preferred:
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


class Dialect:
    """What the ledger does differently on SQLite and on PostgreSQL, for one engine: every
    other module asks this instead of testing the database's name."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        """The driver's parameter mark (``?`` for sqlite3, ``%s`` for psycopg)."""

    def marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)

    def timestamp(self, at: datetime) -> Any:
        """A timestamp as a parameter of raw SQL (SQLite stores the text SQLAlchemy would)."""
        return _sqlite_datetime(at) if self.sqlite else at

    def insert_ignoring(self, table: sa.Table) -> Any:
        """An INSERT that skips rows whose key is there already."""
        insert = sqlite_insert if self.sqlite else pg_insert
        return insert(table).on_conflict_do_nothing()

    @property
    def sqlite_path(self) -> str | None:
        """The database file, for a SQLite ledger on disk; otherwise ``None``."""
        url = self.engine.url
        database = url.database
        if not self.sqlite or not database or database == ":memory:" or url.query.get("uri"):
            return None  # a URI filename (``?uri=true``) is not a plain path: not handled here
        return database

    def checkpoint(self) -> None:
        """SQLite's passive checkpoint (the WAL copied into the file as far as readers allow);
        nothing on PostgreSQL."""
        if not self.sqlite:
            return
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()

    @contextmanager
    def write_on(self, conn: Connection, turns: Turns) -> Iterator[Connection]:
        """A write transaction on ``conn`` holding the ledger's write lock: on SQLite this
        process's turn (``turns``) and then SQLite's write lock (``BEGIN IMMEDIATE``); on
        PostgreSQL the audit chain's advisory lock (one writer at a time appends to the
        chain, granted in the order asked for)."""
        if self.sqlite:
            with turns:
                conn.execution_options(ledger_write=True)
                with conn.begin():
                    yield conn
            return
        with conn.begin():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(WRITE_WAIT_MS)}")
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK)))
            yield conn
