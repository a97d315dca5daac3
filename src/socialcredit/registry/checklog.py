"""Audit entries for reads, written in groups before the reads are answered (group commit).

A read of personal data (a consumer's check, a subject's profile, an authority's desk) is
answered only once its audit entry is durable: "every read is logged" must hold exactly when
the registry is busy, and after a crash. Committing each of thousands of checks a second
alone would cost a commit each; so entries queue (:meth:`GroupCommit.add` returns the entry's
*ticket*, its place in the queue), and one thread writes whatever is queued in one
transaction, commits, and then says how far the log is durable (:attr:`GroupCommit.durable`:
every ticket up to it). While one group commits the next gathers, so a group takes as long as
a commit (about a millisecond or two under load) and a lone entry does not wait for a timer.

The groups go to the read journal (:mod:`socialcredit.registry.ledger.journal`), whose
commits wait for no writer of the ledger: a check waits for its own group's commit, never for
a filing's transaction. A second thread, the *chainer*, moves the journal's entries into the
hash chain (:meth:`Ledger.chain_reads`) every ``chain_every`` seconds, taking its turn for the
ledger's write lock like every other writer of the process
(:class:`~socialcredit.registry.ledger.Turns` on SQLite, the advisory lock on PostgreSQL),
at the head of the queue: it waits at most for the writer holding the lock, and the others
still get every other turn, so neither filing authorities nor the chainer starve the other.

An entry the store refuses for its content (:class:`~socialcredit.registry.ledger.
AuditRejected`: a NUL, a text too long for its column) would fail again however often it
were retried: the group is then written entry by entry, the refused entry is set aside in the
dead-letter table (escaped, so that it fits; :meth:`Ledger.dead_letter`), an error is logged,
and the entries behind it go on. Any other failure (the database locked by another process,
or away) is retried with a growing pause, the entries kept in order; it is reported at the
1st, 2nd, 4th, 8th... failure in a row.

Every ``index_every`` seconds the chainer also adds the new check entries to the subject index
for checks (:meth:`Ledger.index_checks`), at most ``index_rows`` log entries per transaction,
so that no transaction holds the writers' lock for long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from socialcredit.registry.ledger import AccessRow, AuditRejected, Ledger
from socialcredit.registry.ledger.journal import CHAIN_ROWS

_log = logging.getLogger("socialcredit.audit")


CHAIN_EVERY = 0.1
"""Seconds between the chainer's passes. Nothing answered waits for it (a subject's access
log shows the reads still in the journal), and each pass costs a transaction of the ledger and a
commit of the journal whatever it moves: a pass every 0.1 s moves about 1,000 entries at
10,000 checks a second; one after every group moved 16 at 2.7 ms (measured at 7,400/s)."""


class GroupCommit:
    """See the module's docstring. :meth:`add` from any thread; :meth:`start` runs the writer
    and the chainer; :meth:`wait` blocks until an entry is durable; ``on_durable`` (if given)
    is called from the writer thread with the new :attr:`durable` after each group."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        max_group: int = 5_000,
        index_every: float = 2.0,
        index_rows: int = 2_000,
        chain_every: float = CHAIN_EVERY,
        on_durable: Callable[[int], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self.max_group = max_group
        self.chain_every = chain_every
        self.index_every = index_every
        self.index_rows = index_rows
        self.on_durable = on_durable
        self._pending: deque[AccessRow] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._asleep = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._chainer: threading.Thread | None = None
        self._wake = threading.Event()
        """Wakes the chainer before its time (at start, to chain what a crash left; at stop)."""
        self.added = 0
        """Tickets given so far (the last entry added has this ticket)."""
        self.durable = 0
        """Every entry with a ticket up to this one is written (or set aside)."""
        self.written = 0
        """Entries written to the audit log (the read journal, then the chain)."""
        self.set_aside = 0
        """Entries the store refused, kept in the dead-letter table."""
        self.failures = 0
        """Failed writes in a row (0 while the store takes them)."""
        self.chain_failures = 0
        """Failed moves from the journal into the chain in a row."""
        self._indexed_at = time.monotonic()

    @property
    def waiting(self) -> int:
        """Entries added and not yet durable."""
        return self.added - self.durable

    def add(self, row: AccessRow) -> int:
        """Queue ``row``; returns its ticket."""
        with self._cond:
            self._pending.append(row)
            self.added += 1
            ticket = self.added
            if self._asleep:
                self._cond.notify()
        return ticket

    def wait(self, ticket: int, timeout: float | None) -> bool:
        """Block until the entry with ``ticket`` is durable; False if ``timeout`` passed first."""
        if self.durable >= ticket:
            return True
        with self._cond:
            return self._cond.wait_for(lambda: self.durable >= ticket, timeout)

    # -- the writer and the chainer ----------------------------------------------------------

    def start(self) -> None:
        """Run the writer and the chainer (nothing if they run already). Refused while those
        of a :meth:`stop` that ran out of patience are still at work: two writers would give
        tickets out of order."""
        threads = [t for t in (self._thread, self._chainer) if t is not None]
        if threads and self._stop:
            if any(t.is_alive() for t in threads):
                raise RuntimeError(
                    "the audit writer stopped before is still writing; start again once it "
                    "has ended"
                )
            self._thread = self._chainer = None
        if self._thread is None:
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._chainer = threading.Thread(target=self._chain_run, name="audit-chainer",
                                             daemon=True)  # fmt: skip
            self._wake.set()  # reads a crash left in the journal: chained at once
            self._thread.start()
            self._chainer.start()

    def stop(self, *, patience: float = 30.0) -> None:
        """Write what is queued, chain it, and stop both threads (waiting up to
        ``patience``); the caller indexes what was chained. A writer still in a group after
        that keeps the queue: nothing is written beside it (the tickets' order would break),
        and what it has not taken stays queued, unanswered (an answer waits for its entry)."""
        thread, chainer = self._thread, self._chainer
        if thread is not None:
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            self._wake.set()
            thread.join(timeout=patience)
            if chainer is not None:
                chainer.join(timeout=patience)
            if thread.is_alive() or (chainer is not None and chainer.is_alive()):
                _log.warning(
                    "the audit writer did not stop within %g s; %d entries stay queued",
                    patience, len(self._pending),
                )  # fmt: skip
                return
            self._thread = self._chainer = None
        self.write_pending(patience=patience)
        try:
            self._ledger.chain_all_reads()
        except Exception as exc:  # noqa: BLE001 - durable in the journal: the next start chains
            _log.warning("chaining the read journal at stop failed: %s", exc)

    def write_pending(self, *, patience: float = 30.0) -> None:
        """Write what is queued now, from the calling thread (no writer thread running)."""
        deadline = time.monotonic() + patience
        while self._pending and time.monotonic() < deadline:
            self._group(deadline)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._asleep = True
                    self._cond.wait()
                    self._asleep = False
                if self._stop:
                    return  # stop() writes the rest from its own thread
            try:
                self._group(None)
            except Exception:  # a bug, not the store (its failures are retried inside): say
                _log.exception("the audit writer failed; it goes on")  # so, and keep writing
                time.sleep(0.1)

    def _chain_run(self) -> None:
        self._ledger.turns.prefer()  # the journal kept short: ahead of the other writers
        while not self._stop:
            self._wake.wait(max(min(self.chain_every, self._index_due_in()), 0.0))
            self._wake.clear()
            if self._stop:
                return  # stop() chains the rest from its own thread
            try:  # one pass a wake, and more only while passes come back full
                while self._ledger.chain_reads(CHAIN_ROWS) == CHAIN_ROWS:
                    pass
                self.chain_failures = 0
            except Exception as exc:  # noqa: BLE001 - durable in the journal: retried
                self.chain_failures += 1
                _report(self.chain_failures, exc, self._ledger_waiting())
                time.sleep(min(0.005 * 2 ** min(self.chain_failures, 10), 2.0))
                continue
            if self._index_due_in() <= 0:
                self._index()

    def _ledger_waiting(self) -> int:
        try:
            return self._ledger.reads_waiting()
        except Exception:  # noqa: BLE001 - only for the report
            return -1

    def _index_due_in(self) -> float:
        return self._indexed_at + self.index_every - time.monotonic()

    def _index(self) -> None:
        try:
            added = self._ledger.index_checks(limit=self.index_rows)
        except Exception as exc:  # noqa: BLE001 - the next pass picks the rows up
            _log.warning("indexing the audit log failed: %s", exc)
            added = 0
        # caught up: the next pass in index_every; else at the chainer's next wake
        wait = self.index_every if added == 0 else min(self.chain_every, self.index_every)
        self._indexed_at = time.monotonic() - self.index_every + wait

    def _group(self, deadline: float | None) -> None:
        """Write one group: everything queued, up to ``max_group``; retried until written
        (or, with ``deadline``, until then: what is not written stays queued, in order)."""
        with self._cond:
            size = min(len(self._pending), self.max_group)
            group = [self._pending.popleft() for _ in range(size)]
        if not group:
            return
        while True:
            try:
                self._ledger.journal_reads(group)
            except AuditRejected:
                self._one_by_one(group)
                break
            except Exception as exc:  # noqa: BLE001 - kept, in order, and retried
                self.failures += 1
                _report(self.failures, exc, len(group) + len(self._pending))
                pause = min(0.005 * 2 ** min(self.failures, 10), 2.0)
                if deadline is not None:
                    pause = min(pause, deadline - time.monotonic())
                if pause <= 0 or (deadline is None and self._stop):
                    with self._cond:  # back, ahead of what arrived meanwhile
                        self._pending.extendleft(reversed(group))
                    return
                time.sleep(pause)
                continue
            self.written += len(group)
            break
        self.failures = 0
        self._settle(len(group))

    def _one_by_one(self, group: list[AccessRow]) -> None:
        """The group held an entry the store refuses: each alone, the refused set aside."""
        for row in group:
            while True:
                try:
                    self._ledger.journal_reads([row])
                    self.written += 1
                except AuditRejected as exc:
                    self._ledger_dead_letter(row, str(exc))
                except Exception as exc:  # noqa: BLE001 - retried, as for a group
                    self.failures += 1
                    _report(self.failures, exc, len(self._pending) + 1)
                    time.sleep(min(0.005 * 2 ** min(self.failures, 10), 2.0))
                    continue
                break

    def _ledger_dead_letter(self, row: AccessRow, error: str) -> None:
        while True:
            try:
                self._ledger.dead_letter(row, error)
            except Exception as exc:  # noqa: BLE001 - the store away: retried
                self.failures += 1
                _report(self.failures, exc, len(self._pending) + 1)
                time.sleep(min(0.005 * 2 ** min(self.failures, 10), 2.0))
                continue
            break
        self.set_aside += 1
        _log.error("an audit entry was refused and set aside (audit_dead_letter): %s; "
                   "actor %r, action %r", error, row[0], row[1])  # fmt: skip

    def _settle(self, count: int) -> None:
        with self._cond:
            self.durable += count
            durable = self.durable
            self._cond.notify_all()
        if self.on_durable is not None:
            self.on_durable(durable)


def _report(failures: int, exc: BaseException, waiting: int) -> None:
    """Say that audit entries cannot be written: at the first failure in a row, then at the
    2nd, 4th, 8th...: a store that stays away is not silent, nor does it flood the log."""
    if failures & (failures - 1) == 0:
        _log.error("writing the audit log failed (%d failures in a row; %d entries waiting): %s",
                   failures, waiting, exc)  # fmt: skip
