"""Check entries into the audit chain in small steps, for a caller that must never wait long:
the service's event loop.

A consumer's check leaves an audit entry, thousands a second. Written by a thread beside the
event loop, on the one core the server has, the writes came in bursts that held the loop up
for whole scheduler ticks (4 ms at 250 Hz; a kernel that preempts only on its tick lets a
thread that has the core keep it) while requests waited. :class:`CheckLogWriter` instead does
the writing on the loop itself, between requests, in steps of about half a millisecond:

- *append*: chain ``step_rows`` pending entries to the log's head and insert them, inside a
  transaction that stays open across steps until ``commit_rows`` entries or ``commit_after``
  seconds (a commit writes the dirty pages once, not once per step);
- *index*: every ``index_every`` seconds, the new check entries go into
  ``audit_check_index``. They are first collected, a range of sequence numbers per step, into
  a sorted temporary table; then added in subject order, ``index_rows`` per step, each step
  its own short transaction. Each step touches its own run of index pages, so the pages are
  written once each, as one big transaction would write them, but with no long commit. The
  mark (``check_index_upto``) moves only when all are in; readers use the index up to the
  mark and scan past it, so a half-done pass (or one cut short by a crash) hides nothing, and
  the next pass skips the rows already there.

It never waits for a lock: when another writer holds the database (an authority filing, the
CLI), the step does nothing and says so, and the entries wait in memory. And it leaves the lock
to others: it commits and stands aside while a writer of this process waits for it
(:attr:`Ledger.writers_waiting`), and keeps off it for ``gap_after_commit`` after each commit,
so that a writer of another process, whose busy handler only polls, gets its turn. Nor does it
checkpoint the WAL on its commits (a checkpoint copies megabytes): :meth:`Ledger.checkpoint`
does, from a thread of low priority.

SQLite only. On PostgreSQL the database works in its own processes, and the service writes
from a thread (:class:`~socialcredit.service.state.AuditBuffer`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain

from socialcredit.errors import LedgerError
from socialcredit.registry.ledger import (
    CHECK_INDEX_UPTO,
    GENESIS,
    AccessRow,
    Ledger,
    _audit_insert,
    _now,
    _sqlite_connect,
    _sqlite_datetime,
    _utc,
    chain_entries,
)


class Flush:
    """A marker put among pending entries by a thread that wants everything before it written:
    the writer commits up to the marker, then sets ``done``."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


Pending = deque[AccessRow | Flush]


class CheckLogWriter:
    """See the module's docstring. Use from one thread only (the event loop's)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        step_rows: int = 64,
        commit_rows: int = 800,
        commit_after: float = 0.05,
        index_every: float = 2.0,
        index_rows: int = 250,
        collect_seqs: int = 500,
        pass_seqs: int = 100_000,
        gap_after_commit: float = 0.01,
        backlog: int = 20_000,
    ) -> None:
        path = ledger.sqlite_path
        if path is None:
            raise LedgerError("the stepwise check log writer needs a SQLite ledger")
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _sqlite_connect(self._conn, None)
        for pragma in ("busy_timeout = 0", "wal_autocheckpoint = 0", "temp_store = MEMORY"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS check_index_batch (subject TEXT NOT NULL, "
            "seq INTEGER NOT NULL, PRIMARY KEY (subject, seq)) WITHOUT ROWID"
        )
        self.step_rows = step_rows
        self.commit_rows = commit_rows
        self.commit_after = commit_after
        self.index_every = index_every
        self.index_rows = index_rows
        self.collect_seqs = collect_seqs
        self.pass_seqs = pass_seqs
        self.gap_after_commit = gap_after_commit
        self.backlog = backlog
        self.urgent = False
        """Set by a thread waiting on a :class:`Flush` marker: appends go before indexing."""
        self._ledger = ledger
        self._resume_at = 0.0
        self.written = 0
        """Entries committed so far."""
        self.indexed = 0
        """Check entries added to the index so far."""
        self._txn: list[AccessRow] = []
        self._in_txn = False
        self._since = 0.0
        self._head: tuple[int, str] = (0, GENESIS)
        self._flushes: list[Flush] = []
        self._index_at = time.monotonic()
        self._pass: _Pass | None = None

    # -- the step ----------------------------------------------------------------------------

    def step(self, pending: Pending) -> bool:
        """Do one small piece of work; True if there is more to do at once. Entries are taken
        from the left of ``pending``; whatever cannot be written (the database is busy, or
        fails) goes back there, in order. A failure other than a busy database is raised."""
        return self._guarded(pending, self._next)

    def _next(self, pending: Pending) -> bool:
        if self._in_txn:
            return self._append(pending)
        # a reader waiting for its log, or a backlog building up, goes before indexing
        first = bool(pending) and (self.urgent or len(pending) > self.backlog)
        if self._pass is not None and not first:
            return self._index_step()
        if (
            not first
            and time.monotonic() - self._index_at >= self.index_every
            and self._begin_pass()
        ):
            return True
        return self._append(pending)

    def _guarded(self, pending: Pending, work: Callable[[Pending], bool]) -> bool:
        """``work``, with whatever it took put back on failure: False if the database was busy;
        a database failure raised as :class:`LedgerError`, any other as it is."""
        try:
            return work(pending)
        except sqlite3.Error as exc:
            busy = isinstance(exc, sqlite3.OperationalError) and _busy(exc)
            self._abort(pending, keep_pass=busy)
            if busy:
                return False
            raise LedgerError(f"writing the audit log failed: {exc}") from None
        except BaseException:
            self._abort(pending, keep_pass=True)  # nothing half-committed, whatever failed
            raise

    def drain(self, pending: Pending, *, patience: float = 30.0) -> None:
        """Write everything pending and commit, now (waiting up to ``patience`` seconds for
        another writer's lock): for a shutdown, or a reader on the loop's own thread."""
        deadline = time.monotonic() + patience
        while pending or self._in_txn:
            if not self._drain_step(pending):
                if time.monotonic() > deadline:
                    raise LedgerError("writing the audit log failed: the database stayed locked")
                time.sleep(0.01)

    def close(self) -> None:
        """Close the connection; what is not committed is rolled back (:meth:`drain` first)."""
        if self._in_txn:
            self._conn.execute("ROLLBACK")
            self._in_txn = False
        self._conn.close()

    # -- appending ---------------------------------------------------------------------------

    def _append(self, pending: Pending, *, urgent: bool = False) -> bool:
        waiting = self._ledger.writers_waiting > 0
        if not self._in_txn:
            if not pending:
                return False
            # leave the database to other writers for a moment after each commit, and while
            # one of this process's is waiting for it (SQLite's busy handler only polls)
            if not urgent and (waiting or (not self.urgent and time.monotonic() < self._resume_at)):
                return False
            self._conn.execute("BEGIN IMMEDIATE")  # raises at once if another writer has it
            self._in_txn = True
            self._since = time.monotonic()
            last = self._conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            self._head = (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)
        due = bool(self._flushes) or (
            bool(self._txn)
            and (
                waiting
                or len(self._txn) >= self.commit_rows
                or time.monotonic() - self._since >= self.commit_after
            )
        )
        if pending and not due:
            self._insert(pending)
            return bool(pending) or bool(self._flushes)
        if due or urgent or (not pending and self._flushes):
            self._commit()
            return bool(pending)
        return False

    def _insert(self, pending: Pending) -> None:
        part: list[AccessRow] = []
        while pending and len(part) < self.step_rows:
            item = pending.popleft()
            if isinstance(item, Flush):
                self._flushes.append(item)
                break
            part.append(item)
        if not part:
            return
        self._txn.extend(part)  # first: if the insert fails, they go back
        now = _now()
        rows, head = chain_entries(part, self._head, _utc(now).isoformat(), _sqlite_datetime(now))
        self._conn.execute(_audit_insert(len(rows)), list(chain.from_iterable(rows)))
        self._head = head

    def _commit(self) -> None:
        self._conn.execute("COMMIT")
        self._in_txn = False
        self._resume_at = time.monotonic() + self.gap_after_commit
        self.written += len(self._txn)
        self._txn.clear()
        if self._flushes:
            self.urgent = False
            for marker in self._flushes:
                marker.done.set()
            self._flushes.clear()

    def _abort(self, pending: Pending, *, keep_pass: bool = False) -> None:
        if self._in_txn:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._in_txn = False
        # back to the front, in order, with the markers that were waiting on them
        pending.extendleft(reversed([*self._txn, *self._flushes]))
        self._txn.clear()
        self._flushes.clear()
        if self._pass is not None and not keep_pass:  # the next pass starts over
            self._pass = None

    def _drain_step(self, pending: Pending) -> bool:
        def work(pending: Pending) -> bool:
            if pending or self._in_txn:
                self._append(pending, urgent=True)
            return True

        return self._guarded(pending, work)

    # -- indexing ----------------------------------------------------------------------------

    def _begin_pass(self) -> bool:
        self._index_at = time.monotonic()
        upto = self._conn.execute(
            "SELECT value FROM ledger_state WHERE name = ?", (CHECK_INDEX_UPTO,)
        ).fetchone()
        newest = self._conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
        if upto is None or newest is None or newest <= upto[0]:
            return False
        newest = min(int(newest), int(upto[0]) + self.pass_seqs)  # a long way behind: in turns
        self._conn.execute("DELETE FROM temp.check_index_batch")
        self._pass = _Pass(newest=newest, collected=int(upto[0]))
        return True

    def _index_step(self) -> bool:
        run = self._pass
        assert run is not None
        newest, collected, after = run.newest, run.collected, run.after
        if collected < newest:  # collect the next range, sorted, into the temporary table
            high = min(collected + self.collect_seqs, newest)
            self._conn.execute(
                "INSERT INTO temp.check_index_batch (subject, seq) SELECT subject, seq "
                "FROM audit_log WHERE seq > ? AND seq <= ? AND action LIKE 'check %' "
                "AND subject IS NOT NULL",
                (collected, high),
            )
            run.collected = high
            return True
        if self._ledger.writers_waiting > 0:
            return False  # after them
        last = self._conn.execute(
            "SELECT subject, seq FROM temp.check_index_batch WHERE (subject, seq) > (?, ?) "
            "ORDER BY subject, seq LIMIT 1 OFFSET ?",
            (*after, self.index_rows - 1),
        ).fetchone()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            added = self._conn.execute(
                "INSERT OR IGNORE INTO audit_check_index (subject, seq) SELECT subject, seq "
                "FROM temp.check_index_batch WHERE (subject, seq) > (?, ?)"
                + (" AND (subject, seq) <= (?, ?)" if last is not None else "")
                + " ORDER BY subject, seq",
                (*after, *last) if last is not None else after,
            ).rowcount
            if last is None:  # the last part: move the mark (never backwards)
                self._conn.execute(
                    "UPDATE ledger_state SET value = ? WHERE name = ? AND value < ?",
                    (newest, CHECK_INDEX_UPTO, newest),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:  # rolled back already (the failure did it): keep the cause
                pass
            raise
        self.indexed += max(added, 0)
        if last is None:
            self._pass = None
            self._conn.execute("DELETE FROM temp.check_index_batch")
            return False
        run.after = (str(last[0]), int(last[1]))
        return True


@dataclass(slots=True)
class _Pass:
    """An indexing pass under way."""

    newest: int
    """The last seq it covers."""
    collected: int
    """Collected into the temporary table up to this seq."""
    after: tuple[str, int] = ("", 0)
    """The last (subject, seq) added to the index."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
