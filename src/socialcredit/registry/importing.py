"""Bulk import of authorities' records from JSON Lines or CSV, all or nothing.

Each line (JSONL) or row (CSV, with a header) holds one record::

    {"subject": "34052419800101001X", "record_type": "court.refuse", "authority": "court",
     "decided_on": "2024-03-01", "decision_ref": "(2024) Jing 01 Zhi 123", "client_key": "c-1"}

Fields: ``subject``, ``record_type``, ``authority``, ``decided_on`` (ISO date), ``decision_ref``;
optional ``client_key`` (idempotency: a record already present with the same key and content is
skipped), ``counterpart`` (required for role records: the organisation's USCC) and
``subject_name`` (the name a public list shows with the ID; at most 100 characters, no control
characters; an empty CSV cell gives none) and ``excluding_facts`` (facts that exclude the
subject from a list or order the record enters: a JSON list of names, or in CSV one cell of
names separated by ``;``: ``security_given``, ``assets_seized``, ``unable_to_pay``,
``campus_loan_student``; a record whose fact excludes it is refused with the subject, the list
or order and the exclusion, and a fact that excludes nothing for its type is refused too).

Every line is validated (:class:`~socialcredit.registry.ledger.RecordChecker`) before anything
is written; if any line is bad, :class:`~socialcredit.errors.ImportRejected` lists the problems
as ``line N: field: problem`` (the first :data:`MAX_PROBLEMS`, then how many more) and the
ledger is untouched. Otherwise all records go in at once, together with the refreshed
projection of every touched subject (:meth:`~socialcredit.registry.ledger.Ledger.import_staged`).

The file is never held whole: it is cut into chunks of about :data:`CHUNK_BYTES` at line ends,
and each chunk is read, parsed and validated on its own, by ``jobs`` worker processes for a
large file (:data:`PARALLEL_BYTES`), while this process stages the rows of the chunks before
it in the file's order; so memory stays bounded however large the file. A line's fields are
checked in the common case against caches of what the checker accepted (:class:`_Parser`); any
line that case does not cover goes to the checker itself, which also says what is wrong.
"""

from __future__ import annotations

import csv
import gc
import io
import marshal
import multiprocessing
import os
import signal
import time
from array import array
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson

from socialcredit.errors import ImportRejected, InputError
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.registry import subjects as subject_ids
from socialcredit.registry.ledger import (
    MAX_CLIENT_KEY,
    Ledger,
    Projector,
    RecordChecker,
    ValidRecord,
    check_name,
    default_projector,
)
from socialcredit.registry.ledger.checker import INDIVIDUAL_BUSINESS
from socialcredit.registry.ledger.schema import EARLIEST_DECISION
from socialcredit.registry.ledger.values import MAX_REF, text_problem
from socialcredit.registry.staging import StagedRow, Staging
from socialcredit.registry.subjects import ric_shaped

__all__ = [
    "CHUNK_BYTES",
    "EVENT_FIELDS",
    "FIELDS",
    "MAX_PROBLEMS",
    "PARALLEL_BYTES",
    "REQUIRED",
    "ImportReport",
    "RecordFile",
    "check_file",
    "import_events_file",
    "import_file",
    "is_events_file",
    "parse_file",
]

Format = Literal["jsonl", "csv"]
REQUIRED: tuple[str, ...] = ("subject", "record_type", "authority", "decided_on", "decision_ref")
OPTIONAL: tuple[str, ...] = ("client_key", "counterpart", "subject_name", "excluding_facts")
FIELDS: tuple[str, ...] = REQUIRED + OPTIONAL
_REQUIRED = frozenset(REQUIRED)
_ALLOWED = frozenset(FIELDS)
_EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}
Problem = tuple[int, str, str]
Names = dict[tuple[str, str], tuple[str, str]]
"""(subject, record type) -> (published name, the authority that gave it): the name on every
published list that type enters; a later line wins."""

CHUNK_BYTES = 8 << 20
"""A chunk of the file, parsed and validated at once (about 45,000 records of 180 bytes)."""
PARALLEL_BYTES = 32 << 20
"""Files from this size on are parsed by worker processes; below, starting them costs more
than it saves."""
MAX_PROBLEMS = 10_000
"""Problems listed when a file is refused; beyond, one more entry says how many more."""
_SUBJECTS_CACHED = 1 << 20
"""Organisations' IDs a parser remembers as valid, and residents' places and dates of birth
(each about 120 MB at most); then it starts again."""
_SHAPES_CACHED = 1_000
"""Orders of fields a parser remembers as right."""
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_UNSEEN: Any = ("", -1)


class Parsed(NamedTuple):
    rows: list[ValidRecord]
    lines: list[int]
    """The line of each row."""
    names: Names


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    skipped: int
    """Lines whose record was already present (same authority, client key and content)."""
    lines: int
    subjects: int
    """Subjects whose projection was refreshed."""
    seconds: float

    @property
    def rate(self) -> float:
        """Records read per second (imported and skipped), validation and projection included."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0


def default_jobs() -> int:
    """Worker processes for a large file: one per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def import_file(
    ledger: Ledger,
    path: str | Path,
    *,
    catalog: Loaded,
    as_of: date,
    fmt: Format | None = None,
    actor: str = "import",
    project: Projector | None = None,
    batch_size: int = 20_000,
    jobs: int | None = None,
) -> ImportReport:
    """Validate every line of ``path``, then import all records at once (see the module).

    ``jobs``: worker processes parsing a large file (default: one per core; 1 parses here).
    ``batch_size`` is kept for callers of old; the chunks are :data:`CHUNK_BYTES` of the file.
    Raises :class:`ImportRejected` (nothing written) when any line is bad, :class:`InputError`
    when the file cannot be read at all.
    """
    del batch_size
    started = time.perf_counter()
    projector = project or default_projector(catalog, as_of)
    source = RecordFile(path, catalog=catalog, as_of=as_of, fmt=fmt, jobs=jobs,
                        project=projector)  # fmt: skip
    with _collector_paused():
        result = ledger.import_staged(
            source.batches(),
            actor=actor,
            as_of=as_of,
            project=projector,
            source=source.path.name,
            names=source.names,
            unique_keys=source.unique_keys,
        )
    return ImportReport(
        imported=result.imported,
        skipped=result.skipped,
        lines=source.records,
        subjects=result.subjects,
        seconds=time.perf_counter() - started,
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the length of an import, as in the workers:
    the staged rows come and go a chunk at a time and hold no cycle, so a collection finds
    nothing, yet the rows of a chunk alive across collections are moved to the oldest
    generation, whose collections walk every object of this process (about 1.5 s of 20 at a
    million records). What is freed is freed by reference counts as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_file(
    path: str | Path,
    *,
    catalog: Loaded | CatalogIndex,
    as_of: date,
    fmt: Format | None = None,
    jobs: int | None = 1,
) -> Parsed:
    """Every record of the file, validated, with its line number, and the names given; or
    :class:`ImportRejected`. Holds every record: for a file of any size,
    :func:`check_file` counts them instead."""
    source = RecordFile(path, catalog=catalog, as_of=as_of, fmt=fmt, jobs=jobs)
    rows: list[ValidRecord] = []
    lines: list[int] = []
    for batch in source.batches():
        for s, kind, rtype, authority, day, ref, other, key, _t, _d, line in batch:
            rows.append(ValidRecord(s, kind, rtype, authority, date.fromisoformat(day), ref,
                                    other, key))  # fmt: skip
            lines.append(line)
    return Parsed(rows, lines, source.names)


def check_file(
    path: str | Path,
    *,
    catalog: Loaded | CatalogIndex,
    as_of: date,
    fmt: Format | None = None,
    jobs: int | None = None,
) -> int:
    """How many records the file holds, every line validated as :func:`import_file` does,
    nothing kept (a dry run); or :class:`ImportRejected`."""
    source = RecordFile(path, catalog=catalog, as_of=as_of, fmt=fmt, jobs=jobs)
    for _batch in source.batches():
        pass
    if not source.unique_keys():  # two records may share a key: the import's own check
        problems = _keys_given_twice(
            RecordFile(path, catalog=catalog, as_of=as_of, fmt=fmt, jobs=jobs)
        )
        if problems:
            raise ImportRejected(problems)
    return source.records


def _keys_given_twice(source: RecordFile) -> list[Problem]:
    """The lines that give an ``(authority, client_key)`` an earlier line gave a different
    record (what the import refuses), found as the import finds them
    (:meth:`Staging.duplicates`): the rows staged in a throwaway SQLite file."""
    import tempfile

    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="socialcredit-dry-run-") as folder:
        engine = sa.create_engine(f"sqlite:///{folder}/stage.db")
        try:
            with engine.connect() as conn:
                staging = Staging(conn, sqlite=True, columns=())
                with conn.begin():
                    staging.create(1)
                    for batch in source.batches():
                        staging.add(batch)
                    return staging.duplicates(ledger_empty=True)[1]
        finally:
            engine.dispose()


EVENT_FIELDS: tuple[str, ...] = ("record", "event", "on", "note")
"""A lifecycle event's line: ``record`` (the record's ``client_key``), ``event`` (a kind of
:class:`~socialcredit.registry.model.EventKind`), ``on`` (ISO date), optional ``note``."""


def is_events_file(path: str | Path) -> bool:
    """Whether a JSON Lines file holds lifecycle events (its first line has ``event``)."""
    try:
        with Path(path).open("rb") as f:
            for raw in f:  # the first line that is not blank: never the whole file
                if raw.strip():
                    try:
                        first = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        return False
                    return isinstance(first, dict) and "event" in first and "subject" not in first
    except OSError:
        _read(Path(path))  # says why, as an InputError
    return False


def import_events_file(
    ledger: Ledger,
    path: str | Path,
    *,
    catalog: Loaded,
    as_of: date,
    actor: str = "import",
    project: Projector | None = None,
) -> ImportReport:
    """Lifecycle events of records already filed (one JSON object a line, :data:`EVENT_FIELDS`),
    all or nothing: every line is checked (fields, kind, date not after ``as_of`` nor before
    its record's decision, note), every record found by its ``client_key``, and requests and
    decisions taken in the workflows' order (:func:`~socialcredit.registry.workflows.
    step_refusal`: no decision without its request) before anything is written; an event the
    record has already is skipped; each event is the record's authority's. What
    ``socialcredit simulate --trace`` writes as ``events.jsonl`` loads unchanged, after its
    ``records.jsonl``."""
    from socialcredit.registry.ledger import MAX_CLIENT_KEY, MAX_NOTE, check_text
    from socialcredit.registry.model import EventKind, LifecycleEvent

    started = time.perf_counter()
    rows: list[tuple[int, str, LifecycleEvent]] = []
    problems: list[Problem] = []
    kinds = {k.value for k in EventKind}
    for n, raw in enumerate(_read(Path(path)).split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.append((n, "line", f"not valid JSON: {_json_reason(exc)}"))
            continue
        if type(obj) is not dict:
            problems.append((n, "line", f"expected a JSON object, got {_json_type(obj)}"))
            continue
        missing = [k for k in EVENT_FIELDS[:3] if k not in obj]
        extra = sorted(set(obj) - set(EVENT_FIELDS))
        if missing or extra:
            field = (missing or extra)[0]
            problems.append((n, field, "missing" if missing else "not a field of an event"))
            continue
        kind, on = obj["event"], obj["on"]
        try:  # the registry's one rule for text
            key = check_text(obj["record"], "record", max_len=MAX_CLIENT_KEY)
            note = check_text(obj.get("note", ""), "note", max_len=MAX_NOTE, multiline=True,
                              required=False)  # fmt: skip
        except InputError as exc:
            problems.append((n, exc.field or "line", exc.message))
            continue
        if kind not in kinds:
            problems.append((n, "event", f"{kind!r} is not one of {', '.join(sorted(kinds))}"))
            continue
        try:
            day = date.fromisoformat(on) if isinstance(on, str) and len(on) == 10 else None
        except ValueError:
            day = None
        if day is None:
            problems.append((n, "on", f"{on!r} is not a date (YYYY-MM-DD)"))
            continue
        if day > as_of:
            problems.append((n, "on", f"{day} is after {as_of}"))
            continue
        rows.append((n, key, LifecycleEvent(key, EventKind(kind), day, note=note)))
    if problems:
        raise ImportRejected(problems)
    from socialcredit.registry.workflows import step_refusal

    done = ledger.import_events(
        rows, actor=actor, project=project or default_projector(catalog, as_of),
        source=Path(path).name,
        # requests and decisions in the workflows' order: no decision without its request
        check=lambda rid, earlier, ev: step_refusal(rid, earlier, ev.kind, ev.on),
    )  # fmt: skip
    return ImportReport(
        imported=done,
        skipped=len(rows) - done,
        lines=len(rows),
        subjects=0,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------
# A file of records, read a chunk at a time


class _Spec(NamedTuple):
    """What a parser needs (sent once to each worker process)."""

    path: str
    fmt: Format
    catalog: Loaded | CatalogIndex
    as_of: date
    fields: tuple[str, ...]
    """CSV: the header's names, in order; JSONL: empty."""
    type_ids: Mapping[str, int]
    """The projector's rulebook's number of each record type (staged with the rows)."""


class _Chunk(NamedTuple):
    """What a chunk of the file holds: its valid records as staged rows, the problems of the
    others (at most :data:`MAX_PROBLEMS`, and how many more), the names given."""

    rows: list[StagedRow]
    problems: list[Problem]
    more: int
    last: int
    """The line of the last problem (0: none)."""
    names: Names
    keys: bytes = b""
    """The rows' ``hash((authority, client_key))`` (those with a key), as 64-bit integers."""
    packed: bytes = b""
    """From a worker process: the rows, marshalled (``rows`` is then empty); see
    :func:`_parse_in_worker`."""

    def unpacked(self) -> _Chunk:
        """The chunk with its rows, as the worker had them."""
        if not self.packed:
            return self
        return self._replace(rows=marshal.loads(self.packed), packed=b"")


class RecordFile:
    """A JSONL or CSV file of records, read a chunk at a time (:meth:`batches`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        catalog: Loaded | CatalogIndex,
        as_of: date,
        fmt: Format | None = None,
        jobs: int | None = None,
        project: Projector | None = None,
        chunk_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.fmt: Format = fmt or _format_of(self.path)
        self.size = _check_readable(self.path)
        self.jobs = default_jobs() if jobs is None else max(1, jobs)
        self.chunk_bytes = max(1, chunk_bytes or CHUNK_BYTES)
        self.catalog = catalog
        self.as_of = as_of
        self.project = project
        self.names: Names = {}
        """The names given, complete once :meth:`batches` is done."""
        self.records = 0
        """Valid records read so far."""
        self._keys: list[bytes] | None = []
        """Each chunk's hashes of its keys (``None``: hashed in processes that disagree)."""

    def _type_ids(self) -> Mapping[str, int]:
        """The projector's rulebook's numbers of the record types (none without one: a dry
        run projects nothing)."""
        if self.project is None:
            return {}
        from socialcredit.rules import compile_catalog

        return compile_catalog(self.project.catalog).type_ids

    def batches(self) -> Iterator[list[StagedRow]]:
        """The valid records, a chunk at a time in the file's order, as staged rows
        (:data:`~socialcredit.registry.staging.STAGED_COLUMNS`, type numbers of the
        projector's rulebook). After the last: :class:`ImportRejected` if any line was bad (no
        rows are given after the first bad one), :class:`InputError` if there was no record."""
        start, first_line = 0, 1
        fields: tuple[str, ...] = ()
        if self.fmt == "csv":
            start, fields = self._header()
            first_line = 2
        spec = _Spec(str(self.path), self.fmt, self.catalog, self.as_of, fields,
                     dict(self._type_ids()))  # fmt: skip
        problems: list[Problem] = []
        more, last = 0, 0
        for chunk in self._chunks(spec, start, first_line):
            room = MAX_PROBLEMS - len(problems)
            problems += chunk.problems[:room]
            dropped = chunk.problems[room:]
            more += chunk.more + len(dropped)
            if chunk.more or dropped:
                last = max(last, chunk.last)
            if problems:
                continue  # nothing will be written: read on only to report every problem
            self.records += len(chunk.rows)
            self.names.update(chunk.names)
            if self._keys is not None:
                self._keys.append(chunk.keys)
            yield chunk.rows
        if problems:
            problems.sort(key=lambda p: p[0])
            if more:
                problems.append((last, "file", f"and {more:,} more problem(s) on the lines "
                                 f"after those listed, up to line {last}"))  # fmt: skip
            raise ImportRejected(problems)
        if not self.records:
            raise InputError("file", f"{self.path.name} holds no records")

    def unique_keys(self) -> bool:
        """Whether no two records read share their ``(authority, client_key)``, known from
        their hashes without comparing the keys (``False``: some may; once every batch is
        read)."""
        import numpy as np

        if self._keys is None:
            return False
        hashes = np.concatenate([np.frombuffer(k, np.int64) for k in self._keys] or
                                [np.zeros(0, np.int64)])  # fmt: skip
        self._keys = None
        hashes.sort()
        return not bool((hashes[1:] == hashes[:-1]).any())

    def _chunks(self, spec: _Spec, start: int, first_line: int) -> Iterator[_Chunk]:
        ranges = self._ranges(start, first_line)
        if self.jobs == 1 or self.size - start < PARALLEL_BYTES:
            parser = _Parser(spec)
            try:
                for task in ranges:
                    yield parser.parse(*task)
            finally:
                parser.close()
            return
        context = _context()
        if context.get_start_method() != "fork":
            self._keys = None  # a process started afresh hashes strings with a seed of its own
        pool = context.Pool(self.jobs, initializer=_start_worker, initargs=(spec,))
        try:
            pending: deque[Any] = deque()
            for task in ranges:  # a few chunks ahead of the one staged, never the whole file
                pending.append(pool.apply_async(_parse_in_worker, (task,)))
                if len(pending) > 2 * self.jobs:
                    yield pending.popleft().get().unpacked()
            while pending:
                yield pending.popleft().get().unpacked()
        finally:
            pool.terminate()
            pool.join()

    def _ranges(self, start: int, first_line: int) -> Iterator[tuple[int, int, int]]:
        """``(start, end, first line)`` of each chunk: byte ranges cut after a line end. Read
        with ``pread`` a chunk at a time (a memory map of the file would count every page of
        it in this process's resident memory by the end)."""
        size = self.size
        if start >= size:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            pos, line = start, first_line
            while pos < size:
                end = _line_end(fd, pos + self.chunk_bytes, size)
                yield pos, end, line
                line += os.pread(fd, end - pos, pos).count(b"\n")
                pos = end
        finally:
            os.close(fd)

    def _header(self) -> tuple[int, tuple[str, ...]]:
        """Where a CSV file's records start, and its header's names; or the header's
        problems (:class:`ImportRejected`)."""
        with self.path.open("rb") as f:
            raw = f.readline()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRejected([(1, "line", "not UTF-8 text")]) from None
        problems: list[Problem] = []
        if "\r" in text.rstrip("\r\n"):  # the whole file read as its first line
            raise ImportRejected([(1, "line", "lines end in a carriage return alone (CR): "
                                   "save the file with LF or CRLF line ends")])  # fmt: skip
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), strict=True), None)
        except csv.Error as exc:
            header, problems = None, [(1, "header", f"malformed CSV: {exc}")]
        if not problems and (header is None or not any(h.strip() for h in header)):
            problems = [(1, "header", "missing: the first line must name the fields")]
        names = [h.strip() for h in header or ()]
        if not problems:
            problems = [(1, name or f"column {i}", "no name" if not name else
                         f"unknown field (expected {', '.join(FIELDS)})")
                        for i, name in enumerate(names, start=1)
                        if name not in _ALLOWED]  # fmt: skip
            problems += [(1, name, "missing column") for name in REQUIRED if name not in names]
            problems += [(1, name, "column given twice")
                         for name in sorted(set(names)) if names.count(name) > 1]  # fmt: skip
        if problems:  # a file that is not UTF-8 says so first
            raise ImportRejected(_first_not_utf8(self.path) or problems)
        return len(raw), tuple(names)


def _line_end(fd: int, cut: int, size: int) -> int:
    """Where the line that byte ``cut - 1`` is on ends (just after its newline), or ``size``."""
    pos = cut - 1
    while pos < size:
        block = os.pread(fd, 1 << 16, pos)
        found = block.find(b"\n")
        if found >= 0:
            return pos + found + 1
        if not block:  # the file shrank under us
            break
        pos += len(block)
    return size


def _check_readable(path: Path) -> int:
    """The file's size; or why it cannot be imported (:class:`InputError`)."""
    try:
        with path.open("rb") as f:
            head = f.read(65536)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise InputError("file", f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError("file", f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError("file", f"{path}: cannot read: {exc.strerror or exc}") from None
    if b"\x00" in head:
        raise InputError("file", f"{path.name} is not a text file (it holds binary data)")
    return size


def _first_not_utf8(path: Path) -> list[Problem]:
    """The line where the file stops being UTF-8 text, as a problem (none if it is)."""
    line = 1
    with path.open("rb") as f:
        pending = b""
        while block := f.read(1 << 20):
            data = pending + block
            try:
                data.decode("utf-8")
                pending = b""
            except UnicodeDecodeError as exc:
                if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                    pending = data[exc.start :]  # a character cut by the block's end
                    data = data[: exc.start]
                else:
                    return [(line + data.count(b"\n", 0, exc.start), "line", "not UTF-8 text")]
            line += data.count(b"\n")
    return [(line, "line", "not UTF-8 text")] if pending else []


# --------------------------------------------------------------------------------------------
# Parsing and validating a chunk (in a worker process, or here)

_WORKER: _Parser | None = None


def _context() -> Any:
    """How worker processes start: forked where the system can (at once, sharing what this
    process has imported, and without running the caller's main module again, which
    ``spawn`` does and which fails where a script calls :func:`import_file` without an
    ``if __name__ == "__main__"`` guard). A worker only parses and validates: it touches no
    database connection, lock or thread of this process, and leaves by ``os._exit``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _start_worker(spec: _Spec) -> None:
    global _WORKER
    # the pool ends its workers with SIGTERM, which must kill them outright: a handler the
    # importing process set for itself, inherited through the fork, would run at the
    # worker's next Python instruction, and one taken just before the worker waits on the
    # task queue's lock would leave it waiting there for ever (and the import with it)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER = _Parser(spec)
    # what a worker makes is freed chunk by chunk and holds no cycle: the collector would only
    # walk the objects inherited from this process, again and again
    gc.disable()


def _parse_in_worker(task: tuple[int, int, int]) -> _Chunk:
    """A chunk parsed, its rows marshalled: tuples of text, bytes, integers and ``None``,
    which :mod:`marshal` writes in a third of the time pickle takes (pickle keeps a memo
    entry for every text and tuple) and reads back no slower, sharing what the rows share
    (a record type, a day). Both ends run the same Python, as marshal asks. Rows holding
    anything else (none do: a subclass of text, say) go pickled, as they are."""
    assert _WORKER is not None
    chunk = _WORKER.parse(*task)
    try:
        return chunk._replace(rows=[], packed=marshal.dumps(chunk.rows))
    except ValueError:  # "unmarshallable object"
        return chunk


class _Parser:
    """Parses and validates chunks of one file. A line goes to the
    :class:`~socialcredit.registry.ledger.RecordChecker` unless :meth:`_accept` finds it
    plainly valid from what it has seen before: a known pair of record type and authority
    within its mandate, a subject ID of a kind the type allows (a resident ID with its check
    character, of a place and date of birth seen valid before; an organisation's ID
    validated before), a date
    in range, a decision reference and key of printable text, no counterpart but where a role
    needs one, no excluding facts, and a subject no minor on the decision day. Such a line
    is one the checker accepts, normalised the same way (a test compares them on many
    lines); anything else, the checker decides and explains."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.checker = RecordChecker(spec.catalog, today=spec.as_of)
        self.type_ids = spec.type_ids
        index = self.checker.index
        # (record type, authority) -> (the type, the authority, whether the type is of persons,
        # whether of organisations, whether a role, its number)
        self.pairs: dict[tuple[str, str], tuple[str, str, bool, bool, bool, int]] = {}
        for authority, codes in index.mandate.items():
            for code in codes:
                rt = index.record_types.get(code)
                if rt is not None:
                    self.pairs[(code, authority)] = (
                        code, authority, "person" in rt.subject_kinds,
                        "organisation" in rt.subject_kinds, rt.nature.value == "role",
                        spec.type_ids.get(code, -1),
                    )  # fmt: skip
        self.subjects: dict[str, str] = {}
        """An organisation's ID valid as given -> "" (a resident's ID: see :attr:`births`)."""
        self.births: dict[str, str] = {}
        """A resident ID's first 14 digits (region and birth date) -> the day its holder turns
        18 (ISO), "" if no such place and date: shared by the IDs of one place and day."""
        self.orgs: dict[str, str | None] = {}
        self.days: dict[str, tuple[str, int] | None] = {}
        """A decision date as given -> ISO text and day number, ``None`` if the checker's."""
        self.shapes: set[tuple[str, ...]] = set()
        """The fields of JSON lines seen to name every required field and no other, in the
        order given (lines of one file mostly give them alike)."""
        self.first_day = EARLIEST_DECISION
        self.fd = os.open(spec.path, os.O_RDONLY)

    def close(self) -> None:
        os.close(self.fd)

    def parse(self, start: int, end: int, first_line: int) -> _Chunk:
        data = os.pread(self.fd, end - start, start)
        out = _Chunk([], [], 0, 0, {})
        if self.spec.fmt == "jsonl":
            self._jsonl(data, first_line, out)
        else:
            self._csv(data, first_line, out)
        if not out.problems:
            keys = array("q", [hash((r[3], r[7])) for r in out.rows if r[7] is not None])
            return out._replace(keys=keys.tobytes())
        last = max(p[0] for p in out.problems)
        more = max(0, len(out.problems) - MAX_PROBLEMS)
        del out.problems[MAX_PROBLEMS:]
        return out._replace(more=more, last=last)

    def _jsonl(self, data: bytes, first_line: int, out: _Chunk) -> None:
        loads = orjson.loads
        accept, checked = self._accept, self._checked
        rows, problems = out.rows, out.problems
        required, allowed, shapes = _REQUIRED, _ALLOWED, self.shapes
        for n, raw in enumerate(data.split(b"\n"), start=first_line):
            if not raw or raw.isspace():
                continue
            try:
                obj: Any = loads(raw)
            except orjson.JSONDecodeError as exc:
                problems.append((n, "line", f"not valid JSON: {_json_reason(exc)}"))
                continue
            if type(obj) is not dict:
                problems.append((n, "line", f"expected a JSON object, got {_json_type(obj)}"))
                continue
            shape = tuple(obj)
            if shape not in shapes:
                keys = obj.keys()
                if not (required <= keys and keys <= allowed):
                    problems += _field_problems(n, keys)
                    continue
                if len(shapes) < _SHAPES_CACHED:
                    shapes.add(shape)
            get = obj.get
            given = get("subject_name")
            name = None if given is None else self._name(n, given, problems)
            row = accept(obj["subject"], obj["record_type"], obj["authority"], obj["decided_on"],
                         obj["decision_ref"], get("counterpart"), get("client_key"),
                         get("excluding_facts"), n)  # fmt: skip
            if row is None:
                row = checked(obj["subject"], obj["record_type"], obj["authority"],
                              obj["decided_on"], obj["decision_ref"], get("counterpart"),
                              get("client_key"), get("excluding_facts"), n, problems)  # fmt: skip
            if row is not None and name is not False:
                rows.append(row)
                if name is not None:
                    out.names[(row[0], row[2])] = (name, row[3])

    def _csv(self, data: bytes, first_line: int, out: _Chunk) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = first_line + data.count(b"\n", 0, exc.start)
            out.problems.append((line, "line", "not UTF-8 text"))
            return
        names = self.spec.fields
        width = len(names)
        i_subject, i_type, i_authority, i_date, i_ref = (names.index(f) for f in REQUIRED)
        i_key = names.index("client_key") if "client_key" in names else -1
        i_counterpart = names.index("counterpart") if "counterpart" in names else -1
        i_name = names.index("subject_name") if "subject_name" in names else -1
        i_facts = names.index("excluding_facts") if "excluding_facts" in names else -1
        accept, checked = self._accept, self._checked
        rows, problems = out.rows, out.problems
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        before = first_line - 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.append((before + reader.line_num, "line", f"malformed CSV: {exc}"))
                break  # the reader cannot resynchronise reliably after a quoting error
            n = before + reader.line_num
            if len(cells) != width:
                if not any(c.strip() for c in cells):
                    continue  # a blank line
                problems.append((n, "line", f"has {len(cells)} fields, the header names {width}"))
                continue
            given = cells[i_name] if i_name >= 0 else ""
            name = None if given == "" else self._name(n, given, problems)
            args = (cells[i_subject], cells[i_type], cells[i_authority], cells[i_date],
                    cells[i_ref], cells[i_counterpart] if i_counterpart >= 0 else None,
                    cells[i_key] if i_key >= 0 else None,
                    cells[i_facts] if i_facts >= 0 else None, n)  # fmt: skip
            row = accept(*args) or checked(*args, problems)
            if row is not None and name is not False:
                rows.append(row)
                if name is not None:
                    out.names[(row[0], row[2])] = (name, row[3])

    @staticmethod
    def _name(n: int, value: object, problems: list[Problem]) -> str | None | Literal[False]:
        """The published name given on line ``n`` (``None``: none, once normalised), or
        ``False`` with its problem."""
        name, bad = _name(n, value)
        if bad:
            problems.extend(bad)
            return False
        return name

    def _accept(
        self,
        subject: object,
        record_type: object,
        authority: object,
        decided_on: object,
        decision_ref: object,
        counterpart: object,
        client_key: object,
        excluding_facts: object,
        n: int,
    ) -> StagedRow | None:
        """The line's staged row if it is plainly valid (see the class), else ``None``."""
        try:
            pair = self.pairs.get((record_type, authority))  # type: ignore[arg-type]
        except TypeError:  # a JSON array or object given as either: the checker's
            return None
        if pair is None or type(subject) is not str or type(decided_on) is not str:
            return None
        rtype, issuer, of_persons, of_organisations, role, type_no = pair
        adult: str | None = None
        if ric_shaped(subject):  # most lines: a resident ID whose birth was seen before
            adult = self.births.get(subject[:14])
        if not adult:
            adult = self.subjects.get(subject)
            if adult is None:
                adult = self._subject(subject)
                if adult is None:
                    return None
        if not (of_persons if adult else of_organisations):
            return None
        day = self.days.get(decided_on, _UNSEEN)
        if day is _UNSEEN:
            day = self._day(decided_on)
        if day is None:
            return None
        iso, day_no = day
        if iso < adult:  # a minor that day, or unsure (born on 29 February): the checker's
            return None
        if type(decision_ref) is not str:
            return None
        ref = decision_ref.strip()
        if not ref or len(ref) > MAX_REF or not (ref.isprintable() or text_problem(ref) is None):
            return None
        other: str | None = None
        if role:
            if type(counterpart) is not str or not counterpart:
                return None
            other = self.orgs.get(counterpart, "")
            if other == "":
                other = self._org(counterpart)
            if other is None:
                return None
        elif counterpart is not None and counterpart != "":
            return None
        key: str | None = None
        if client_key is not None and client_key != "":
            if type(client_key) is not str or len(client_key) > MAX_CLIENT_KEY:
                return None
            if not client_key.isprintable() and text_problem(client_key) is not None:
                return None
            key = client_key
        if excluding_facts is not None and excluding_facts != "":
            return None
        kind = "person" if adult else "organisation"
        return (subject, kind, rtype, issuer, iso, ref, other, key, type_no, day_no, n)

    def _subject(self, value: str) -> str | None:
        """A subject ID valid as given: the ISO day its holder turns 18 ("" for an
        organisation, remembered); ``None`` if the checker is to look at it. A resident ID
        valid as it stands is :func:`~socialcredit.registry.subjects.validate`'s shortcut
        (``_plain_ric``) taken in two steps: its shape and check character, then its place
        and date of birth, remembered for the IDs of the same (:attr:`births`); so a
        resident's ID itself is not remembered, only its birth's answer."""
        if ric_shaped(value):
            head = value[:14]
            adult = self.births.get(head)
            if adult is None:
                adult = self._birth(head)
            if adult:
                return adult
        # not a resident ID as it stands: the validator's long way
        try:
            number, kind = subject_ids.validate(value, field="subject")
        except InputError:
            return None
        if number != value or kind == "person":
            # normalised (spaces, a lower-case x), or a person the shortcut did not take
            # (none is, but the checker would say): the checker's way
            return None
        if len(self.subjects) >= _SUBJECTS_CACHED:
            self.subjects.clear()
        self.subjects[value] = ""
        return ""

    def _birth(self, head: str) -> str:
        """The ISO day a resident born at ``head`` (an ID's first 14 digits) turns 18, "" if
        there is no such place and date; remembered. The string compares as the day: 29
        February, where the 18th year has none, comes after the 28th, so such a subject goes
        to the checker on the 28th."""
        adult = ""
        if subject_ids.born_in_known_place(head):
            adult = f"{int(head[6:10]) + 18:04d}-{head[10:12]}-{head[12:14]}"
        if len(self.births) >= _SUBJECTS_CACHED:
            self.births.clear()
        self.births[head] = adult
        return adult

    def _org(self, value: str) -> str | None:
        try:
            number = subject_ids.validate(value, field="counterpart", kind="organisation")[0]
        except InputError:
            number = None
        if number is not None and (number != value or number.startswith(INDIVIDUAL_BUSINESS)):
            number = None
        if len(self.orgs) >= _SUBJECTS_CACHED:
            self.orgs.clear()
        self.orgs[value] = number
        return number

    def _day(self, value: str) -> tuple[str, int] | None:
        found: tuple[str, int] | None = None
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                day = date.fromisoformat(value)
            except ValueError:
                day = None
            if day is not None and self.first_day <= day <= self.spec.as_of:
                found = (day.isoformat(), day.toordinal() - _EPOCH_ORDINAL)
        if len(self.days) < 100_000:
            self.days[value] = found
        return found

    def _checked(
        self,
        subject: object,
        record_type: object,
        authority: object,
        decided_on: object,
        decision_ref: object,
        counterpart: object,
        client_key: object,
        excluding_facts: object,
        n: int,
        problems: list[Problem],
    ) -> StagedRow | None:
        """The checker's verdict on a line: its staged row, or ``None`` and its problems."""
        result = self.checker.problems(
            subject, record_type, authority, decided_on, decision_ref, counterpart, client_key,
            excluding_facts,
        )  # fmt: skip
        if isinstance(result, ValidRecord):
            s, kind, rtype, issuer, day, ref, other, key = result
            return (s, kind, rtype, issuer, day.isoformat(), ref, other, key,
                    self.type_ids.get(rtype, -1), day.toordinal() - _EPOCH_ORDINAL, n)  # fmt: skip
        problems.extend((n, e.field, e.message) for e in result)
        return None


# --------------------------------------------------------------------------------------------
# Reading


def _format_of(path: Path) -> Format:
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InputError(
            "format",
            f"cannot tell the format of {path.name!r} from its extension; "
            "give --format jsonl or --format csv",
        )
    return found


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file", f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError("file", f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError("file", f"{path}: cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data[:65536]:
        raise InputError("file", f"{path.name} is not a text file (it holds binary data)")
    return data


def _name(n: int, value: object) -> tuple[str | None, list[Problem]]:
    """The published name given on line ``n`` (None if none), or the problem with it."""
    if value is None:
        return None, []
    if not isinstance(value, str):
        return None, [(n, "subject_name", f"expected text, got {_json_type(value)}")]
    try:
        return check_name(value), []
    except InputError as exc:
        return None, [(n, exc.field or "subject_name", exc.message)]


def _field_problems(n: int, keys: Any) -> list[Problem]:
    out: list[Problem] = [(n, f, "missing") for f in REQUIRED if f not in keys]
    out += [
        (n, str(k), f"unknown field (expected {', '.join(FIELDS)})")
        for k in keys
        if k not in _ALLOWED
    ]
    return out


def _json_reason(exc: orjson.JSONDecodeError) -> str:
    return str(exc.msg) if getattr(exc, "msg", None) else str(exc)


def _json_type(obj: object) -> str:
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, str):
        return "a string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    return "a number"
