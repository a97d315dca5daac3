"""What the service keeps in memory: the check index, the audit buffer and the key cache.

- :class:`CheckIndex`: the projection (active measures per subject) as a dict, so a consumer's
  check is a point lookup, never a catalog evaluation. Writes made through the service refresh
  the touched subjects at once; writes made elsewhere (the CLI, another server process) are
  picked up by :meth:`CheckIndex.catch_up`, which reads the audit log's new write entries and
  reloads those subjects (the server calls it every second).
- :class:`AuditBuffer`: every read of personal data goes to the hash-chained audit log. Checks
  arrive by the thousand per second, so their entries are written in batches (group commit, at
  most ``interval`` seconds or ``batch`` entries apart) by one background thread; a clean
  shutdown flushes what is left. A crash can lose at most the last ``interval`` of check
  entries (never a record or an event: those are written in their own transaction). Every
  ``index_every`` seconds the same thread adds the new check entries to the subject index for
  checks (:meth:`Ledger.index_checks`), sorted, in one go.
- :class:`KeyCache`: API keys by token, for ``ttl`` seconds, so authenticating a check is not a
  database read; a revoked key stops working within ``ttl``. Keys in use are re-read in the
  background before they go stale (:meth:`KeyCache.refresh`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import MeasureKind
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
        self._nobody: dict[tuple[str, date], tuple[bytes, bytes, str]] = {}

    def load(self) -> int:
        """Everything, from scratch; returns how many subjects have a measure."""
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
        fresh = _group(self._ledger.projection_rows(chosen))
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

    def subjects_with_lists(self) -> list[str]:
        with self._lock:
            return sorted(
                s
                for s, by_measure in self._by_subject.items()
                if any(e.list for entries in by_measure.values() for e in entries)
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
    """Check entries, written to the audit chain in batches by one thread.

    :meth:`add_row` is the check path's: an entry already in its stored shape, appended to a
    deque (thread-safe without a lock; the writer takes entries from the other end)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        interval: float = 0.05,
        batch: int = 2_000,
        index_every: float = 2.0,
    ) -> None:
        self._ledger = ledger
        self._interval = interval
        self._index_every = index_every
        self._batch = batch
        self._pending: deque[AccessRow] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def add(self, entry: Mapping[str, Any]) -> None:
        """An entry as :meth:`Ledger.log_accesses` takes it."""
        self.add_row(access_row(entry))

    def add_row(self, row: AccessRow) -> None:
        self._pending.append(row)
        if len(self._pending) == self._batch:
            self._wake.set()

    def flush(self) -> int:
        """Write what is pending; if the store fails, the entries stay pending (in order) and
        the error is raised."""
        with self._lock:  # one flush at a time (the writer thread, or a reader wanting its log)
            pending = self._pending
            chunk = [pending.popleft() for _ in range(len(pending))]
            if not chunk:
                return 0
            try:
                self._ledger.append_accesses(chunk)
            except BaseException:
                pending.extendleft(reversed(chunk))  # back, ahead of whatever arrived meanwhile
                raise
            self.written += len(chunk)
            return len(chunk)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()
        self._ledger.index_checks()

    def _run(self) -> None:
        failures = 0
        indexed = time.monotonic()
        while not self._stop.is_set():
            # after a failed write (the store busy or away), back off up to 5 s, then retry
            self._wake.wait(min(self._interval * 2**failures, 5.0))
            self._wake.clear()
            try:
                self.flush()
                if time.monotonic() - indexed >= self._index_every:
                    self._ledger.index_checks()
                    indexed = time.monotonic()
            except Exception:  # noqa: BLE001 - kept pending, retried on the next tick
                failures = min(failures + 1, 10)
            else:
                failures = 0


class KeyCache:
    """API keys by token, remembered for ``ttl`` seconds (unknown tokens too, briefly)."""

    def __init__(self, ledger: Ledger, *, ttl: float = 5.0) -> None:
        self._ledger = ledger
        self._ttl = ttl
        self._known: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, token: str) -> ApiKey | None:
        now = time.monotonic()
        hit = self._known.get(token)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        key = self._ledger.key_for(token)
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
            self._known[token] = (time.monotonic(), self._ledger.key_for(token))
        return len(due)

    def forget(self) -> None:
        self._known.clear()
