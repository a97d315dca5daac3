"""What the service keeps in memory: the check index, the audit buffer and the key cache.

- :class:`CheckIndex`: the projection (active measures per subject) as a dict, so a consumer's
  check is a point lookup, never a catalog evaluation. Writes made through the service refresh
  the touched subjects at once; writes made elsewhere (the CLI, another server process) are
  picked up by :meth:`CheckIndex.catch_up`, which reads the audit log's new write entries and
  reloads those subjects (the server calls it every second).
- :class:`AuditBuffer`: every read of personal data goes to the hash-chained audit log. Checks
  arrive by the thousand per second, so their entries are queued and written in batches (group
  commit, about ``interval`` seconds apart), and indexed by subject every ``index_every``
  seconds: on SQLite by the event loop itself, in small steps between requests
  (:class:`~socialcredit.registry.checklog.CheckLogWriter`); on PostgreSQL by one background
  thread. A clean shutdown writes what is left. A crash can lose at most the last batch of
  check entries (never a record or an event: those are written in their own transaction).
- :class:`KeyCache`: API keys by token, for ``ttl`` seconds, so authenticating a check is not a
  database read; a revoked key stops working within ``ttl``. Keys in use are re-read in the
  background before they go stale (:meth:`KeyCache.refresh`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from socialcredit.errors import LedgerError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import MeasureKind
from socialcredit.registry.checklog import CheckLogWriter, Flush, Pending
from socialcredit.registry.ledger import (
    AccessRow,
    ApiKey,
    Ledger,
    ProjectedMeasure,
    access_row,
)


@dataclass(frozen=True, slots=True)
class Entry:
    measure: str
    list: str | None
    memorandum: str | None
    since: date | None
    until: date | None

    def in_force(self, on: date) -> bool:
        return (self.since is None or self.since <= on) and (self.until is None or on < self.until)


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
            fresh = _group(self._ledger.projection_rows())
            with self._lock:
                self._by_subject = fresh
                self._seq = max(self._seq, seq)
        return len(fresh)

    def reload(self, subjects: Iterable[str]) -> None:
        chosen = set(subjects)
        if not chosen:
            return
        # one reload at a time, so that a slow one that read before a write (the poller's)
        # cannot put its older rows over those of one that read after it (the writer's own)
        with self._reading:
            fresh = _group(self._ledger.projection_rows(chosen))
            self._put(chosen, fresh)

    def _put(self, chosen: set[str], fresh: dict[str, dict[str, tuple[Entry, ...]]]) -> None:
        with self._lock:
            for s in chosen:
                if s in fresh:
                    self._by_subject[s] = fresh[s]
                else:
                    self._by_subject.pop(s, None)

    def catch_up(self) -> int:
        """Reload the subjects written since the last look; returns how many."""
        seq, touched = self._ledger.changes_since(self._seq)
        if "*" in touched:
            self.load()
            return len(self._by_subject)
        self.reload(touched)
        with self._lock:
            self._seq = max(self._seq, seq)
        return len(touched)

    def decide(self, subject: str, measure: str, on: date) -> dict[str, Any]:
        """The consumer's answer: ``deny`` or ``allow``, with reason codes and until when."""
        entries = [e for e in self._by_subject.get(subject, {}).get(measure, ()) if e.in_force(on)]
        kind = self._kinds[measure]
        reasons = [
            {
                "code": "LISTED" if e.list else "THRESHOLD",
                "list": e.list,
                "memorandum": e.memorandum,
                "until": e.until.isoformat() if e.until else None,
            }
            for e in entries
        ]
        until = None
        if entries and all(e.until is not None for e in entries):
            until = max(e.until for e in entries if e.until is not None).isoformat()
        if kind is MeasureKind.restriction:
            decision = "deny" if entries else "allow"
        else:
            decision = "allow" if entries else "deny"
            if not entries:
                reasons = [{"code": "NOT_ELIGIBLE"}]
        return {
            "subject": subject,
            "measure": measure,
            "decision": decision,
            "until": until if entries else None,
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


def _group(rows: Iterable[tuple[str, ProjectedMeasure]]) -> dict[str, dict[str, tuple[Entry, ...]]]:
    out: dict[str, dict[str, list[Entry]]] = {}
    for subject, m in rows:
        out.setdefault(subject, {}).setdefault(m.measure, []).append(
            Entry(m.measure, m.list, m.memorandum, m.since, m.until)
        )
    return {s: {k: tuple(v) for k, v in d.items()} for s, d in out.items()}


class AuditBuffer:
    """Check entries, written to the audit chain in batches.

    :meth:`add_row` is the check path's: an entry already in its stored shape, appended to a
    deque (thread-safe without a lock; the writer takes entries from the other end).

    Two ways to write them:

    - :meth:`drive` (a SQLite ledger, inside the server's event loop): the loop itself writes,
      a step of about half a millisecond at a time between requests
      (:class:`~socialcredit.registry.checklog.CheckLogWriter`), and a thread of the lowest
      priority checkpoints the WAL every ``checkpoint_every`` seconds;
    - :meth:`start` (PostgreSQL, or no loop): one background thread writes a batch every
      ``interval`` seconds (or ``batch`` entries) and indexes every ``index_every`` seconds.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        interval: float = 0.05,
        batch: int = 2_000,
        index_every: float = 2.0,
        idle: float = 0.005,
        checkpoint_every: float = 1.0,
    ) -> None:
        self._ledger = ledger
        self._interval = interval
        self._index_every = index_every
        self._batch = batch
        self._idle = idle
        self._checkpoint_every = checkpoint_every
        self._pending: Pending = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._written = 0
        # driven by an event loop
        self._writer: CheckLogWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._handle: asyncio.Handle | None = None
        self._failures = 0
        self._checkpointer: threading.Thread | None = None

    @property
    def written(self) -> int:
        """Entries this buffer has written so far."""
        return self._written + (self._writer.written if self._writer is not None else 0)

    def add(self, entry: Mapping[str, Any]) -> None:
        """An entry as :meth:`Ledger.log_accesses` takes it."""
        self.add_row(access_row(entry))

    def add_row(self, row: AccessRow) -> None:
        self._pending.append(row)
        if len(self._pending) == self._batch:
            self._wake.set()

    def flush(self, *, patience: float = 30.0) -> int:
        """Write what is pending, and return once it is written. If the store fails, the
        entries stay pending (in order) and the error is raised."""
        writer = self._writer
        if writer is not None:
            before = writer.written
            if threading.get_ident() == self._loop_thread:
                writer.drain(self._pending, patience=patience)
            else:  # the loop writes up to the marker, then lets us go
                marker = Flush()
                self._pending.append(marker)
                writer.urgent = True
                if not marker.done.wait(patience):
                    raise LedgerError(f"the audit log was not written within {patience:g} s")
            return writer.written - before
        with self._lock:  # one flush at a time (the writer thread, or a reader wanting its log)
            pending = self._pending
            taken = [pending.popleft() for _ in range(len(pending))]
            chunk = [item for item in taken if not isinstance(item, Flush)]
            markers = [item for item in taken if isinstance(item, Flush)]
            if chunk:
                try:
                    self._ledger.append_accesses(chunk)
                except BaseException:
                    pending.extendleft(reversed(taken))  # back, ahead of what arrived meanwhile
                    raise
            self._written += len(chunk)
            for marker in markers:  # left by a reader while the loop was stopping
                marker.done.set()
            return len(chunk)

    # -- written by the event loop -----------------------------------------------------------

    def drive(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Have ``loop`` write the entries, from its own thread (call it there); False, and
        nothing done, if the ledger is not a SQLite file: then use :meth:`start`."""
        if self._writer is not None or self._thread is not None:
            return self._writer is not None
        if self._ledger.sqlite_path is None:
            return False
        self._writer = CheckLogWriter(
            self._ledger, commit_after=self._interval, index_every=self._index_every
        )
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._handle = loop.call_soon(self._pump)
        self._checkpointer = threading.Thread(
            target=self._checkpoints, name="wal-checkpoint", daemon=True
        )
        self._checkpointer.start()
        return True

    def _pump(self) -> None:
        writer, loop = self._writer, self._loop
        if writer is None or loop is None or self._stop.is_set():
            return
        try:
            more = writer.step(self._pending)
        except Exception as exc:  # noqa: BLE001 - the entries are pending again; retried
            self._failures += 1
            _report(self._failures, exc, len(self._pending))
            delay = min(self._idle * 2 ** min(self._failures, 10), 5.0)
            self._handle = loop.call_later(delay, self._pump)
            return
        self._failures = 0
        if more:
            self._handle = loop.call_soon(self._pump)
        else:
            self._handle = loop.call_later(self._idle, self._pump)

    def _checkpoints(self) -> None:
        _lowest_priority()
        while not self._stop.wait(self._checkpoint_every):
            try:
                self._ledger.checkpoint()
            except Exception:  # noqa: BLE001, S112 - the next one copies what this one did not
                continue

    # -- written by a thread -----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None or self._writer is not None:
            return
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is left, index it, and stop (when driven by a loop: from its thread)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        writer = self._writer
        if writer is not None:
            if threading.get_ident() != self._loop_thread:
                raise RuntimeError("stop the audit buffer on the thread of the loop driving it")
            if self._handle is not None:
                self._handle.cancel()
            try:
                writer.drain(self._pending)
            finally:
                self._written += writer.written
                writer.close()
                self._writer = None
            if self._checkpointer is not None:
                self._checkpointer.join(timeout=30)
                self._checkpointer = None
        self.flush()  # what a reader added while the loop was stopping, and its marker
        self._ledger.index_checks()

    def _run(self) -> None:
        failures = 0
        indexed = time.monotonic()
        while not self._stop.is_set():
            # after a failed write (the store busy or away), back off up to 5 s, then retry
            self._wake.wait(min(self._interval * 2 ** min(failures, 10), 5.0))
            self._wake.clear()
            try:
                self.flush()
                if time.monotonic() - indexed >= self._index_every:
                    self._ledger.index_checks()
                    indexed = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - kept pending, retried on the next tick
                failures += 1
                _report(failures, exc, len(self._pending))
            else:
                failures = 0


_log = logging.getLogger("socialcredit.audit")


def _report(failures: int, exc: BaseException, waiting: int) -> None:
    """Say that audit entries cannot be written: at the first failure in a row, then at the
    2nd, 4th, 8th...: a store that stays away is not silent, nor does it flood the log."""
    if failures & (failures - 1) == 0:
        _log.error("writing the audit log failed (%d failures in a row; %d entries waiting): %s",
                   failures, waiting, exc)  # fmt: skip


def _lowest_priority() -> None:
    """The calling thread, and only it, to the lowest priority (nice 19; Linux, where a
    thread's id names the thread alone): it runs when the event loop leaves the core free."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError:  # pragma: no cover - not allowed here: run at the usual priority
        pass


class KeyCache:
    """API keys by token, remembered for ``ttl`` seconds (unknown tokens too, briefly). With
    ``load``, another kind of token: the portal's sessions (``Ledger.session_key``)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        ttl: float = 5.0,
        load: Callable[[str], ApiKey | None] | None = None,
    ) -> None:
        self._load = load or ledger.key_for
        self._ttl = ttl
        self._known: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, token: str) -> ApiKey | None:
        now = time.monotonic()
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
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None

    def refresh(self, limit: int = 1_000) -> int:
        """Re-read the known keys that are half-way to stale (at most ``limit``), so that a busy
        consumer's checks never wait on the database; a key revoked since becomes unknown, within
        ``ttl`` as ever. The server's poller calls it every second; returns how many."""
        now = time.monotonic()
        due = [t for t, (at, key) in list(self._known.items())
               if key is not None and now - at >= self._ttl / 2][:limit]  # fmt: skip
        for token in due:
            self._known[token] = (time.monotonic(), self._load(token))
        return len(due)

    def forget(self, token: str | None = None) -> None:
        """Forget ``token`` (a session signed out here), or every token."""
        if token is None:
            self._known.clear()
        else:
            self._known.pop(token, None)
