"""What the service keeps in memory: the check index, the audit buffer and the key cache.

- :class:`CheckIndex`: the projection (what each subject is on, and until when) in sorted
  arrays, so a consumer's check is a point lookup, never a catalog evaluation. Writes made
  through the service refresh the touched subjects at once; writes made elsewhere (the CLI,
  another server process) are picked up by :meth:`CheckIndex.catch_up`, which reads the
  audit log's new write entries and reloads those subjects (the server calls it every
  second).
- :class:`AuditBuffer`: every read of personal data goes to the hash-chained audit log before
  it is answered. Checks arrive by the thousand per second, so their entries are queued and
  written in groups by one thread (group commit: a group while the previous one commits) to
  the read journal, which no filing locks, and each answer waits for the group holding its
  entry; a second thread moves them into the chain
  (:class:`~socialcredit.registry.checklog.GroupCommit`). A crash loses only entries of reads
  not yet answered.
- :class:`KeyCache`: API keys by token, for ``ttl`` seconds, so authenticating a check is not a
  database read; a revoked key stops working within ``ttl``. Keys in use are re-read in the
  background before they go stale (:meth:`KeyCache.refresh`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

import numpy as np
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
from socialcredit.registry.ledger.projection import ProjectionGround, ground_id
from socialcredit.rules import decide, in_force
from socialcredit.rules.decide import Ground
from socialcredit.service import arrayfile


@dataclass(frozen=True, slots=True)
class Entry:
    """A subject's ground in the index: what brings ``ground.measures``, and the days."""

    ground: ProjectionGround
    since: date | None
    until: date | None

    def in_force(self, on: date) -> bool:
        return in_force(self.since, self.until, on)


_NO_DAY_BEFORE = np.iinfo(np.int32).min
"""``since`` of an entry with no start day, in the index's arrays."""
_NO_DAY_AFTER = np.iinfo(np.int32).max
"""``until`` of an entry with no end day."""
_EPOCH = date(1970, 1, 1).toordinal()


class _Base:
    """The index as loaded: sorted arrays, about 32 bytes per subject with one ground (the
    subject's ID as bytes, where its entries start, and per entry the ground's number and the
    two days), instead of a dictionary of objects (hundreds of bytes per subject)."""

    def __init__(
        self,
        keys: np.ndarray[Any, Any],
        starts: np.ndarray[Any, Any],
        grounds: np.ndarray[Any, Any],
        since: np.ndarray[Any, Any],
        until: np.ndarray[Any, Any],
        table: Sequence[ProjectionGround],
    ) -> None:
        self.keys = keys
        self.starts = starts
        self.grounds = grounds
        self.since = since
        self.until = until
        self.table = table
        self._days: dict[int, date | None] = {}

    @classmethod
    def empty(cls) -> _Base:
        none = np.zeros(0, dtype=np.int32)
        return cls(np.zeros(0, dtype="S18"), np.zeros(1, dtype=np.int64), none.astype(np.uint16),
                   none, none, [])  # fmt: skip

    @property
    def nbytes(self) -> int:
        arrays = (self.keys, self.starts, self.grounds, self.since, self.until)
        return sum(a.nbytes for a in arrays)

    def __len__(self) -> int:
        return len(self.keys)

    def position(self, subject: str) -> int:
        """The subject's row, or -1."""
        try:
            key = subject.encode("ascii")
        except UnicodeEncodeError:
            return -1
        keys = self.keys
        at = int(keys.searchsorted(key))
        if at < len(keys) and keys[at] == key:
            return at
        return -1

    def _day(self, value: int) -> date | None:
        day = self._days.get(value)
        if day is None and value not in self._days:
            if value not in (_NO_DAY_BEFORE, _NO_DAY_AFTER):
                day = date.fromordinal(value + _EPOCH)
            if len(self._days) > 100_000:
                self._days.clear()
            self._days[value] = day
        return day

    def entries(self, at: int) -> tuple[Entry, ...]:
        lo, hi = int(self.starts[at]), int(self.starts[at + 1])
        table, day = self.table, self._day
        return tuple(
            Entry(table[int(self.grounds[i])], day(int(self.since[i])), day(int(self.until[i])))
            for i in range(lo, hi)
        )


def _days(values: Sequence[Any], missing: int) -> np.ndarray[Any, Any]:
    """ISO dates or dates (or ``None``) as day numbers since 1970, ``missing`` for ``None``."""
    days = np.array([str(v) if v is not None else "NaT" for v in values], dtype="datetime64[D]")
    out = days.astype(np.int64)
    out[np.isnat(days)] = missing
    return out.astype(np.int32)


class CheckIndex:
    """Subject -> entries (ground and days), from the ledger's projection.

    What the load reads is kept in sorted arrays (:class:`_Base`); what changes afterwards
    (a write through the service, the poller's reloads) goes to a dictionary that shadows the
    arrays (an empty tuple: the subject has nothing any more), merged into new arrays once it
    grows past :attr:`MERGE_AT` subjects."""

    MERGE_AT = 200_000
    """Subjects changed since the last load or merge before they are merged into the arrays."""

    MAX_AGE = 5.0
    """Seconds: no check is answered from a state older than this. A subject's state is as
    old as the last look for writes that has been applied to it (the poller looks every
    0.25 s); past the bound (a poller stuck on a lost database, a reload still under way
    for the subjects an import wrote) the subject's checks are refused (:meth:`age`)."""

    SNAPSHOT_FORMAT = 1
    """The layout of the snapshot's arrays and meta; a snapshot of another is not read."""

    SAMPLE = 200
    """Subjects of a snapshot compared with the projection before it is used."""

    def __init__(
        self,
        ledger: Ledger,
        catalog: Loaded,
        *,
        clock: Callable[[], float] = time.monotonic,
        snapshot: Path | None | Literal["auto"] = "auto",
    ) -> None:
        """``snapshot``: the file the index is kept in between starts (``auto``: beside a
        SQLite database, ``<file>-checkindex``; none for PostgreSQL)."""
        if snapshot == "auto":
            where = ledger.sqlite_path
            snapshot = Path(f"{where}-checkindex") if where else None
        self._snapshot = snapshot
        self._ledger = ledger
        self._kinds = {mid: m.kind for mid, m in catalog.index.measures.items()}
        self._base = _Base.empty()
        self._changed: dict[str, tuple[Entry, ...]] = {}
        self._grounds: dict[int, ProjectionGround] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._nobody: dict[tuple[str, date], tuple[bytes, bytes, str]] = {}
        self._clock = clock
        self._as_of = float("-inf")
        """Every write committed before this moment (``clock``) is in the index, except
        those of the subjects in ``_pending``."""
        self._pending: set[str] = set()
        """Subjects a look found written whose reload has not finished yet."""
        self._pending_as_of = float("-inf")
        """What ``_as_of`` is for the subjects in ``_pending``."""
        self._saving = threading.Lock()

    def load(self, *, from_snapshot: bool = True) -> int:
        """Everything; returns how many subjects have a measure. From the snapshot, if there
        is one of this ledger's history that agrees with the projection on a sample of its
        subjects, brought up to date by a look for the writes made since (ten million
        subjects: a second, not a minute); otherwise from the projection, and the snapshot
        written for the next start."""
        if from_snapshot and self._snapshot is not None:
            with self._reading:
                found = self._read_snapshot(self._snapshot)
                if found is not None:
                    base, seq, grounds = found
                    with self._lock:
                        self._grounds = grounds
                        self._base = base
                        self._changed = {}
                        self._seq = seq
                        self._as_of = float("-inf")  # as of the look just below
                        self._pending = set()
            if found is not None:
                self.catch_up()
                return len(self)
        with self._reading:
            looked = self._clock()
            seq = self._ledger.last_audit_seq()
            grounds = self._ledger.projection_grounds()
            base = _load_base(self._ledger.projection_table(), grounds)
            with self._lock:
                self._grounds = grounds
                self._base = base
                self._changed = {}
                self._seq = max(self._seq, seq)
                self._as_of = looked
                self._pending = set()
        self._save(base, seq)
        return len(base)

    def _read_snapshot(self, path: Path) -> tuple[_Base, int, dict[int, ProjectionGround]] | None:
        """The snapshot at ``path`` and its audit seq, or ``None`` when there is none, it is
        not readable, it is of another history or layout, or a sampled subject's entries
        differ from the projection's."""
        try:
            arrays, meta = arrayfile.read(path)
        except (OSError, arrayfile.ArrayFileError):
            return None
        if meta.get("format") != self.SNAPSHOT_FORMAT:
            return None
        try:
            seq = int(meta["seq"])
        except (KeyError, TypeError, ValueError):
            return None
        if seq <= 0 or self._ledger.audit_hash(seq) != meta.get("hash"):
            return None
        grounds = self._ledger.projection_grounds()
        try:
            table = [grounds[int(gid)] for gid in arrays["ground_ids"]]
            base = _Base(arrays["keys"], arrays["starts"], arrays["grounds"], arrays["since"],
                         arrays["until"], table)  # fmt: skip
        except KeyError:
            return None
        if len(base.starts) != len(base) + 1 or int(base.starts[-1]) != len(base.grounds):
            return None
        if len(base) and int(base.grounds.max(initial=0)) >= len(table):
            return None
        # a sample of the subjects no write has touched since must be as the projection has
        # them (a snapshot damaged, or of a projection recomputed without an audit entry)
        _seq, touched = self._ledger.changes_since(seq)
        if "*" in touched:
            return None
        picks = np.unique(np.linspace(0, max(len(base) - 1, 0), min(len(base), self.SAMPLE)))
        sample = [base.keys[int(i)].decode("ascii") for i in picks]
        sample = [k for k in sample if k not in touched]
        stored = _group(list(self._ledger.projection_table(sample)), grounds)
        for key in sample:
            at = base.position(key)
            if at < 0 or base.entries(at) != stored.get(key, ()):
                return None
        return base, seq, grounds

    def _save(self, base: _Base, seq: int) -> None:
        """Keep ``base`` (everything up to audit entry ``seq``) for the next start; a failure
        to write it costs the next start its speed, nothing else."""
        path = self._snapshot
        if path is None or seq <= 0:
            return
        try:
            digest = self._ledger.audit_hash(seq)
            if digest is None:
                return
            arrays = {"keys": base.keys, "starts": base.starts, "grounds": base.grounds,
                      "since": base.since, "until": base.until,
                      "ground_ids": np.array([ground_id(g) for g in base.table],
                                             dtype=np.int64)}  # fmt: skip
            arrayfile.write(path, arrays, {"format": self.SNAPSHOT_FORMAT, "seq": seq,
                                           "hash": digest, "subjects": len(base)})  # fmt: skip
        except (OSError, LedgerError):
            path.with_name(f"{path.name}.{os.getpid()}.tmp").unlink(missing_ok=True)

    def use_catalog(self, catalog: Loaded) -> None:
        """Decide by ``catalog``'s measures from now on: the index decides by a measure's kind,
        so the new measures' kinds join those it has (kept: a check of a retired measure
        already on its way still gets an answer), and the answers made for nobody, which
        name a measure's kind, are made again."""
        kinds = {mid: m.kind for mid, m in catalog.index.measures.items()}
        self._kinds = {**self._kinds, **kinds}
        self._nobody = {}

    def age(self, subject: str) -> float:
        """Seconds since the moment up to which every write about ``subject`` is known to be
        in the index (``inf`` before the first load)."""
        with self._lock:
            as_of = self._pending_as_of if subject in self._pending else self._as_of
        return self._clock() - as_of

    def fresh(self, subject: str) -> bool:
        """Whether a check about ``subject`` may be answered (:attr:`MAX_AGE`)."""
        return self.age(subject) <= self.MAX_AGE

    @property
    def nbytes(self) -> int:
        """Bytes held by the loaded arrays (not counting the subjects changed since)."""
        return self._base.nbytes

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
            step = chosen[start : start + self.RELOAD_STEP]
            with self._reading:
                rows = list(self._ledger.projection_table(step))
                if any(r[1] not in self._grounds for r in rows):
                    self._grounds = self._ledger.projection_grounds()
                fresh = _group(rows, self._grounds)
                with self._lock:
                    for s in step:
                        self._changed[s] = fresh.get(s, ())
                    self._pending.difference_update(step)
        if len(self._changed) > self.MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        """The changed subjects into new arrays (built while checks go on, swapped at once),
        kept as the snapshot for the next start."""
        with self._reading:
            with self._lock:
                changed = dict(self._changed)
                base = self._base
                seq = self._seq  # every look up to this one is applied in ``changed``
            merged = _merged(base, changed, self._grounds)
            with self._lock:
                self._base = merged
                for s, entries in changed.items():
                    if self._changed.get(s) is entries:
                        del self._changed[s]
        # written beside (hundreds of megabytes at national size): a merge may come at the
        # end of a filing's own reload, which should not wait for it; one at a time
        if self._saving.acquire(blocking=False):

            def save() -> None:
                try:
                    self._save(merged, seq)
                finally:
                    self._saving.release()

            threading.Thread(target=save, name="check-index-snapshot", daemon=True).start()

    def catch_up(self) -> int:
        """Reload the subjects written since the last look (each write's audit entry names
        them); returns how many. Only a write from before writes named their subjects makes
        it load everything."""
        looked = self._clock()
        seq, touched = self._ledger.changes_since(self._seq)
        if "*" in touched:
            return self.load(from_snapshot=False)
        with self._lock:
            # the subjects this look found are as old as the look before it until reloaded
            # (those of a look that failed half-way, older still); the others are as of now
            if not self._pending:
                self._pending_as_of = self._as_of
            self._pending.update(touched)
            self._as_of = looked
        self.reload(touched)
        with self._lock:
            self._seq = max(self._seq, seq)
        return len(touched)

    def entries(self, subject: str) -> tuple[Entry, ...]:
        """The subject's entries (none for most subjects)."""
        found = self._changed.get(subject)
        if found is not None:
            return found
        base = self._base
        at = base.position(subject)
        return base.entries(at) if at >= 0 else ()

    def decide(self, subject: str, measure: str, on: date) -> dict[str, Any]:
        """The consumer's answer (the rulebook's one decision, :func:`socialcredit.rules.decide`):
        ``deny`` or ``allow``, with reason codes and until when."""
        return self._decide(subject, measure, on, self.entries(subject))

    def _decide(
        self, subject: str, measure: str, on: date, entries: tuple[Entry, ...]
    ) -> dict[str, Any]:
        grounds = [
            Ground(e.ground.list, e.ground.memorandum, None, e.ground.via_role, e.until)
            for e in entries
            if measure in e.ground.measures and e.in_force(on)
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
        entries = self.entries(subject)
        if entries:
            answer = self._decide(subject, measure, on, entries)
            return orjson.dumps(answer), answer["decision"]
        parts = self._nobody.get((measure, on))
        if parts is None:
            parts = self._for_nobody(measure, on)
        head, tail, decision = parts
        return head + orjson.dumps(subject) + tail, decision

    def _for_nobody(self, measure: str, on: date) -> tuple[bytes, bytes, str]:
        answer = self._decide(_NOBODY, measure, on, ())
        head, sep, tail = orjson.dumps(answer).partition(orjson.dumps(_NOBODY))
        assert sep and _NOBODY.encode() not in tail
        parts = (head, tail, str(answer["decision"]))
        if len(self._nobody) > 10_000:
            self._nobody.clear()
        self._nobody[(measure, on)] = parts
        return parts

    def subjects_with_lists(self, lists: Collection[str], *, prefix: str = "") -> list[str]:
        """The subjects on one of ``lists`` whose ID starts with ``prefix``, sorted: the
        candidates for the public lists, which then evaluate only these."""
        with self._lock:
            base, changed = self._base, dict(self._changed)

        def listed(g: ProjectionGround) -> bool:
            return g.list is not None and g.list in lists

        wanted = np.array([listed(g) for g in base.table] or [False], dtype=bool)
        found: set[str] = set()
        if len(base.grounds):
            rows = np.flatnonzero(wanted[base.grounds])
            at = np.unique(np.searchsorted(base.starts, rows, side="right") - 1)
            keys = base.keys[at]
            if prefix:
                keys = keys[np.char.startswith(keys, prefix.encode("ascii", "replace"))]
            found.update(k.decode("ascii") for k in keys.tolist())
        for s, entries in changed.items():
            if any(listed(e.ground) for e in entries) and s.startswith(prefix):
                found.add(s)
            else:
                found.discard(s)
        return sorted(found)

    def __len__(self) -> int:
        """Subjects with an entry."""
        with self._lock:
            base, changed = self._base, dict(self._changed)
        count = len(base)
        for s, entries in changed.items():
            count += bool(entries) - (base.position(s) >= 0)
        return count


_NOBODY = "<no subject>"
"""Stands for the subject in an answer made for nobody (never a valid ID)."""


def _group(
    rows: Iterable[tuple[str, int, Any, Any]], grounds: Mapping[int, ProjectionGround]
) -> dict[str, tuple[Entry, ...]]:
    """Projection rows ordered by subject as ``subject -> entries``; equal entries are one
    object (never changed in place), so a reload of many alike subjects builds few objects."""
    out: dict[str, tuple[Entry, ...]] = {}
    made: dict[tuple[Any, ...], Entry] = {}
    for subject, group in groupby(rows, key=itemgetter(0)):
        entries = []
        for row in group:
            key = row[1:]
            entry = made.get(key)
            if entry is None:
                entry = made[key] = Entry(grounds[row[1]], as_day(row[2]), as_day(row[3]))
            entries.append(entry)
        out[subject] = tuple(entries)
        if len(made) > 100_000:  # distinct entries: stop remembering, keep going
            made.clear()
    return out


def _load_base(
    rows: Iterable[tuple[str, int, Any, Any]], grounds: Mapping[int, ProjectionGround]
) -> _Base:
    """Rows ordered by subject, streamed, into arrays (a chunk of rows at a time: the rows
    are never all Python objects at once)."""
    table = list(grounds.values())
    number = {gid: i for i, gid in enumerate(grounds)}
    if len(table) > np.iinfo(np.uint16).max:
        raise LedgerError(f"projection: {len(table)} grounds, more than the index holds")
    parts: list[tuple[np.ndarray[Any, Any], ...]] = []
    chunk: list[tuple[str, int, Any, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == 100_000:
            parts.append(_arrays(chunk, number))
            chunk = []
    if chunk:
        parts.append(_arrays(chunk, number))
    if not parts:
        return _Base.empty()
    subjects, ground_no, since, until = (np.concatenate(p) for p in zip(*parts, strict=True))
    return _from_rows(subjects, ground_no, since, until, table)


def _arrays(
    chunk: Sequence[tuple[str, int, Any, Any]], number: Mapping[int, int]
) -> tuple[np.ndarray[Any, Any], ...]:
    subjects = np.array([r[0] for r in chunk], dtype="S18")
    ground_no = np.array([number[r[1]] for r in chunk], dtype=np.uint16)
    since = _days([r[2] for r in chunk], _NO_DAY_BEFORE)
    until = _days([r[3] for r in chunk], _NO_DAY_AFTER)
    return subjects, ground_no, since, until


def _from_rows(
    subjects: np.ndarray[Any, Any],
    ground_no: np.ndarray[Any, Any],
    since: np.ndarray[Any, Any],
    until: np.ndarray[Any, Any],
    table: Sequence[ProjectionGround],
) -> _Base:
    """Rows sorted by subject (stably: a subject's rows keep their order) into a base."""
    if len(subjects) and bool((subjects[1:] < subjects[:-1]).any()):
        order = np.argsort(subjects, kind="stable")
        subjects, ground_no, since, until = (a[order] for a in (subjects, ground_no, since, until))
    first = np.ones(len(subjects), dtype=bool)
    first[1:] = subjects[1:] != subjects[:-1]
    heads = np.flatnonzero(first)
    starts = np.append(heads, len(subjects)).astype(np.int64)
    return _Base(subjects[heads], starts, ground_no, since, until, table)


def _merged(
    base: _Base, changed: Mapping[str, tuple[Entry, ...]], grounds: Mapping[int, ProjectionGround]
) -> _Base:
    """``base`` with the changed subjects' entries put in place of theirs."""
    table = list(base.table)
    number = {id(g): i for i, g in enumerate(table)}
    for g in grounds.values():
        if id(g) not in number:
            number[id(g)] = len(table)
            table.append(g)
    gone = np.array(sorted(changed), dtype="S18")
    owner = np.repeat(base.keys, np.diff(base.starts))
    keep = ~np.isin(owner, gone)
    rows = [(s, e) for s in sorted(changed) for e in changed[s]]
    for _s, e in rows:  # a ground of an entry made before the grounds were re-read
        if id(e.ground) not in number:
            number[id(e.ground)] = len(table)
            table.append(e.ground)
    new_subjects = np.array([s for s, _e in rows], dtype="S18")
    new_grounds = np.array([number[id(e.ground)] for _s, e in rows], dtype=np.uint16)
    new_since = _days([e.since for _s, e in rows], _NO_DAY_BEFORE)
    new_until = _days([e.until for _s, e in rows], _NO_DAY_AFTER)
    return _from_rows(
        np.concatenate([owner[keep], new_subjects]),
        np.concatenate([base.grounds[keep], new_grounds]),
        np.concatenate([base.since[keep], new_since]),
        np.concatenate([base.until[keep], new_until]),
        table,
    )


AUDIT_PATIENCE = 5.0
"""Seconds a read waits for its audit entry to be durable before it is refused (503): a
check's answer, a subject's access log, the administrator's verification. The audit writer
commits to the read journal, which no writer of the ledger locks, so under any load this is
reached only when the database is away."""


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
