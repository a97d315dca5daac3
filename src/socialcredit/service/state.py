"""What the service keeps in memory: the check index, the audit buffer and the key cache.

- :class:`CheckIndex`: the projection (active measures per subject) as a dict, so a consumer's
  check is a point lookup, never a catalog evaluation. Writes made through the service refresh
  the touched subjects at once; writes made elsewhere (the CLI, another server process) are
  picked up by :meth:`CheckIndex.catch_up`, which reads the audit log's new write entries and
  reloads those subjects (the server calls it every second).
- :class:`AuditBuffer`: every read of personal data goes to the hash-chained audit log before
  it is answered. Checks arrive by the thousand per second, so their entries are queued and
  written in groups by one thread (group commit: a group while the previous one commits), and
  each answer waits for the group holding its entry
  (:class:`~socialcredit.registry.checklog.GroupCommit`). A crash loses only entries of reads
  not yet answered.
- :class:`KeyCache`: API keys by token, for ``ttl`` seconds, so authenticating a check is not a
  database read; a revoked key stops working within ``ttl``. Keys in use are re-read in the
  background before they go stale (:meth:`KeyCache.refresh`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson

from socialcredit.errors import LedgerError
from socialcredit.policy.loader import Loaded
from socialcredit.registry.checklog import GroupCommit
from socialcredit.registry.ledger import (
    AccessRow,
    ApiKey,
    Ledger,
    access_row,
    as_day,
)
from socialcredit.rules import decide, in_force
from socialcredit.rules.decide import Ground


@dataclass(frozen=True, slots=True)
class Entry:
    measure: str
    list: str | None
    memorandum: str | None
    since: date | None
    until: date | None

    def in_force(self, on: date) -> bool:
        return in_force(self.since, self.until, on)


class CheckIndex:
    """Subject -> measure -> entries, from the ledger's projection."""

    def __init__(self, ledger: Ledger, catalog: Loaded) -> None:
        self._ledger = ledger
        self._kinds = {mid: m.kind for mid, m in catalog.index.measures.items()}
        self._by_subject: dict[str, dict[str, tuple[Entry, ...]]] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._nobody: dict[tuple[str, date], tuple[bytes, bytes, str]] = {}

    def load(self) -> int:
        """Everything, from scratch; returns how many subjects have a measure."""
        with self._reading:
            seq = self._ledger.last_audit_seq()
            fresh = _group(self._ledger.projection_table())
            with self._lock:
                self._by_subject = fresh
                self._seq = max(self._seq, seq)
        return len(fresh)

    RELOAD_STEP = 5_000
    """Subjects reloaded under one hold of the reload lock: a write through the service
    (which reloads its own subjects at once) waits at most for one step, never for a whole
    import's worth."""

    def reload(self, subjects: Iterable[str]) -> None:
        chosen = sorted(set(subjects))
        # one step at a time, so that a slow one that read before a write (the poller's)
        # cannot put its older rows over those of one that read after it (the writer's own);
        # in bounded steps, so that the writers' own reloads are not held up for long
        for start in range(0, len(chosen), self.RELOAD_STEP):
            step = set(chosen[start : start + self.RELOAD_STEP])
            with self._reading:
                fresh = _group(self._ledger.projection_table(step))
                self._put(step, fresh)

    def _put(self, chosen: set[str], fresh: dict[str, dict[str, tuple[Entry, ...]]]) -> None:
        with self._lock:
            for s in chosen:
                if s in fresh:
                    self._by_subject[s] = fresh[s]
                else:
                    self._by_subject.pop(s, None)

    def catch_up(self) -> int:
        """Reload the subjects written since the last look (each write's audit entry names
        them); returns how many. Only a write from before writes named their subjects makes
        it load everything."""
        seq, touched = self._ledger.changes_since(self._seq)
        if "*" in touched:
            self.load()
            return len(self._by_subject)
        self.reload(touched)
        with self._lock:
            self._seq = max(self._seq, seq)
        return len(touched)

    def decide(self, subject: str, measure: str, on: date) -> dict[str, Any]:
        """The consumer's answer (the rulebook's one decision, :func:`socialcredit.rules.decide`):
        ``deny`` or ``allow``, with reason codes and until when."""
        grounds = [
            Ground(e.list, e.memorandum, None, None, e.until)
            for e in self._by_subject.get(subject, {}).get(measure, ())
            if e.in_force(on)
        ]
        decision, until, reasons = decide(self._kinds[measure].value, grounds)
        return {
            "subject": subject,
            "measure": measure,
            "decision": decision,
            "until": until.isoformat() if until is not None else None,
            "reasons": reasons,
            "as_of": on.isoformat(),
        }

    def answer(self, subject: str, measure: str, on: date) -> tuple[bytes, str]:
        """:meth:`decide` as JSON, and the decision. A subject with nothing in the index (most
        of them) gets the measure's answer for nobody, made once per measure and day, with the
        subject put in."""
        if subject in self._by_subject:
            answer = self.decide(subject, measure, on)
            return orjson.dumps(answer), answer["decision"]
        parts = self._nobody.get((measure, on))
        if parts is None:
            parts = self._for_nobody(measure, on)
        head, tail, decision = parts
        return head + orjson.dumps(subject) + tail, decision

    def _for_nobody(self, measure: str, on: date) -> tuple[bytes, bytes, str]:
        answer = self.decide(_NOBODY, measure, on)
        head, sep, tail = orjson.dumps(answer).partition(orjson.dumps(_NOBODY))
        assert sep and _NOBODY.encode() not in tail
        parts = (head, tail, str(answer["decision"]))
        if len(self._nobody) > 10_000:
            self._nobody.clear()
        self._nobody[(measure, on)] = parts
        return parts

    def subjects_with_lists(self, *, list_id: str | None = None, prefix: str = "") -> list[str]:
        """The subjects on a list (on ``list_id``, if given) whose ID starts with ``prefix``,
        sorted: the candidates for the public lists, which then evaluate only these."""
        with self._lock:
            return sorted(
                s
                for s, by_measure in self._by_subject.items()
                if s.startswith(prefix)
                and any(
                    e.list and (list_id is None or e.list == list_id)
                    for entries in by_measure.values()
                    for e in entries
                )
            )

    def __len__(self) -> int:
        return len(self._by_subject)


_NOBODY = "<no subject>"
"""Stands for the subject in an answer made for nobody (never a valid ID)."""


def _group(
    rows: Iterable[tuple[str, str, str | None, str | None, Any, Any]],
) -> dict[str, dict[str, tuple[Entry, ...]]]:
    """Rows ordered by subject as ``subject -> measure -> entries``. Subjects with the same
    rows (a bulk import's debtors, decided the same day) share one mapping, and equal entries
    one object: never changed in place (a reload replaces a subject's mapping), so sharing is
    safe, and a reload of many alike subjects builds few objects."""
    out: dict[str, dict[str, tuple[Entry, ...]]] = {}
    alike: dict[tuple[Any, ...], dict[str, tuple[Entry, ...]]] = {}
    entries: dict[tuple[Any, ...], Entry] = {}
    for subject, group in groupby(rows, key=itemgetter(0)):
        key = tuple(row[1:] for row in group)
        by_measure = alike.get(key)
        if by_measure is None:
            building: dict[str, list[Entry]] = {}
            for part in key:
                entry = entries.get(part)
                if entry is None:
                    measure, lst, memo, since, until = part
                    entry = Entry(measure, lst, memo, as_day(since), as_day(until))
                    entries[part] = entry
                building.setdefault(part[0], []).append(entry)
            by_measure = alike[key] = {m: tuple(v) for m, v in building.items()}
            if len(alike) > 100_000:  # distinct histories: stop remembering, keep going
                alike.clear()
        out[subject] = by_measure
    return out


AUDIT_PATIENCE = 5.0
"""Seconds a read waits for its audit entry to be durable before it is refused (503): a
check's answer, a subject's access log, the administrator's verification. The audit writer
takes its turn among the writers first come, first served, so under any load this is reached
only when the database is away or held by another process (a bulk import)."""


class AuditBuffer:
    """Audit entries for reads, written in groups before the reads are answered (see
    :mod:`socialcredit.registry.checklog`).

    :meth:`add_row` (or :meth:`add`) queues an entry and returns its ticket; the read is
    answered once the entry is durable:

    - on the event loop, :meth:`when_durable` calls back (the check protocol holds its answer
      until then), or ``await`` :meth:`durable`;
    - on a thread, :meth:`wait`; :meth:`flush` waits for everything added so far (a reader of
      the access log, so that it sees its own reads).

    Each waits at most ``patience`` seconds, then is told no (a 503 to the client; the entry
    is still written when the store comes back, so the log holds a read that was refused, never
    the reverse).
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        patience: float = AUDIT_PATIENCE,
        index_every: float = 2.0,
        max_group: int = 5_000,
        index_rows: int = 2_000,
    ) -> None:
        self._ledger = ledger
        self.patience = patience
        self._queue = GroupCommit(
            ledger,
            max_group=max_group,
            index_every=index_every,
            index_rows=index_rows,
            on_durable=self._durable_now,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: deque[tuple[int, float, Callable[[bool], None]]] = deque()
        self._release_due = False
        self._sweep: asyncio.TimerHandle | None = None

    @property
    def written(self) -> int:
        """Entries written so far."""
        return self._queue.written

    @property
    def set_aside(self) -> int:
        """Entries the store refused, kept in the dead-letter table, since start."""
        return self._queue.set_aside

    @property
    def waiting(self) -> int:
        """Entries queued and not yet durable."""
        return self._queue.waiting

    def add(self, entry: Mapping[str, Any]) -> int:
        """An entry as :meth:`Ledger.log_accesses` takes it; returns its ticket."""
        return self._queue.add(access_row(entry))

    def add_row(self, row: AccessRow) -> int:
        """An entry in its stored shape; returns its ticket."""
        return self._queue.add(row)

    # -- waiting on a thread -----------------------------------------------------------------

    def wait(self, ticket: int, *, patience: float | None = None) -> None:
        """Return once the entry with ``ticket`` is durable; :class:`LedgerError` after
        ``patience`` seconds (default :attr:`patience`)."""
        limit = self.patience if patience is None else patience
        if self._queue._thread is None:  # no writer running (a test, a shutdown): write now
            self._queue.write_pending(patience=limit)
        if not self._queue.wait(ticket, limit):
            raise LedgerError(f"audit: the audit log was not written within {limit:g} s")

    def flush(self, *, patience: float | None = None) -> None:
        """Return once every entry added so far is durable (see :meth:`wait`)."""
        self.wait(self._queue.added, patience=patience)

    # -- waiting on the event loop -----------------------------------------------------------

    def when_durable(self, ticket: int, callback: Callable[[bool], None]) -> None:
        """Call ``callback(True)`` on the loop once the entry with ``ticket`` is durable, or
        ``callback(False)`` after :attr:`patience` seconds. From the loop's thread."""
        loop = self._loop
        assert loop is not None, "attach() the loop first"
        if self._queue.durable >= ticket and not self._waiters:
            callback(True)
            return
        self._waiters.append((ticket, loop.time() + self.patience, callback))
        if self._sweep is None:
            self._sweep = loop.call_later(self.patience / 4, self._expire)
        if self._queue.durable >= ticket:
            # written between the look above and the append: the writer, seeing no one
            # waiting, may not have woken the loop for it
            self._release()

    async def durable(self, ticket: int) -> None:
        """Return once the entry with ``ticket`` is durable; :class:`LedgerError` after
        :attr:`patience` seconds."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            await asyncio.to_thread(self.wait, ticket)
            return
        done: asyncio.Future[bool] = loop.create_future()

        def settle(ok: bool) -> None:
            if not done.done():
                done.set_result(ok)

        self.when_durable(ticket, settle)
        if not await done:
            raise LedgerError(f"audit: the audit log was not written within {self.patience:g} s")

    def _durable_now(self, durable: int) -> None:
        # the writer thread, after each group: wake the loop once, if anyone waits there
        loop = self._loop
        if loop is None or self._release_due or not self._waiters:
            return
        self._release_due = True
        try:
            loop.call_soon_threadsafe(self._release)
        except RuntimeError:  # the loop is closed: nobody left to answer
            self._release_due = False

    def _release(self) -> None:
        self._release_due = False
        durable = self._queue.durable
        waiters = self._waiters
        while waiters and waiters[0][0] <= durable:
            waiters.popleft()[2](True)

    def _expire(self) -> None:
        self._sweep = None
        self._release()
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        waiters = self._waiters
        while waiters and waiters[0][1] <= now:
            waiters.popleft()[2](False)
        if waiters:
            self._sweep = loop.call_later(self.patience / 4, self._expire)

    # -- lifecycle ---------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Answer :meth:`when_durable` on ``loop``."""
        self._loop = loop

    def start(self) -> None:
        self._queue.start()

    def stop(self) -> None:
        """Write what is left, index it, and stop."""
        self._queue.stop(patience=30.0)
        if self._loop is not None:
            try:
                self._release()
            except RuntimeError:
                pass
        self._ledger.index_checks()


class KeyCache:
    """API keys by token, remembered for ``ttl`` seconds (unknown tokens too, briefly). With
    ``load``, another kind of token: the portal's sessions (``Ledger.session_key``)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        ttl: float = 5.0,
        load: Callable[[str], ApiKey | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load or ledger.key_for
        self._ttl = ttl
        self._clock = clock
        """Seconds, for the ages of entries (a test passes its own)."""
        self._known: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, token: str) -> ApiKey | None:
        now = self._clock()
        hit = self._known.get(token)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        key = self._load(token)
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[token] = (now, key)
        return key

    def cached(self, token: str) -> ApiKey | None:
        """The key if it is remembered and fresh; never reads the database (an unknown or
        stale token is ``None``: ask :meth:`get`)."""
        hit = self._known.get(token)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit[1]
        return None

    def refresh(self, limit: int = 1_000) -> int:
        """Re-read the known keys that are half-way to stale (at most ``limit``), so that a busy
        consumer's checks never wait on the database; a key revoked since becomes unknown, within
        ``ttl`` as ever. The server's poller calls it every second; returns how many."""
        now = self._clock()
        due = [t for t, (at, key) in list(self._known.items())
               if key is not None and now - at >= self._ttl / 2][:limit]  # fmt: skip
        for token in due:
            self._known[token] = (self._clock(), self._load(token))
        return len(due)

    def forget(self, token: str | None = None) -> None:
        """Forget ``token`` (a session signed out here), or every token."""
        if token is None:
            self._known.clear()
        else:
            self._known.pop(token, None)
