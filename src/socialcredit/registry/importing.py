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

Every line is validated before anything is written (:class:`~socialcredit.registry.ledger.
RecordChecker`); if any line is bad, :class:`~socialcredit.errors.ImportRejected` lists every
problem as ``line N: field: problem`` and the ledger is untouched. Otherwise all records go in
one transaction, in batches, together with the refreshed projection of every touched subject.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson

from socialcredit.errors import ImportRejected, InputError
from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import (
    Ledger,
    Projector,
    RecordChecker,
    ValidRecord,
    check_name,
    default_projector,
)

__all__ = [
    "EVENT_FIELDS",
    "FIELDS",
    "REQUIRED",
    "ImportReport",
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
) -> ImportReport:
    """Validate every line of ``path``, then import all records in one transaction.

    Raises :class:`ImportRejected` (nothing written) when any line is bad, :class:`InputError`
    when the file cannot be read at all.
    """
    started = time.perf_counter()
    rows, lines, names = parse_file(path, catalog=catalog, as_of=as_of, fmt=fmt)
    result = ledger.import_records(
        rows,
        actor=actor,
        as_of=as_of,
        project=project or default_projector(catalog, as_of),
        lines=lines,
        batch_size=batch_size,
        source=Path(path).name,
        names=names,
    )
    return ImportReport(
        imported=result.imported,
        skipped=result.skipped,
        lines=len(rows),
        subjects=result.subjects,
        seconds=time.perf_counter() - started,
    )


EVENT_FIELDS: tuple[str, ...] = ("record", "event", "on", "note")
"""A lifecycle event's line: ``record`` (the record's ``client_key``), ``event`` (a kind of
:class:`~socialcredit.registry.model.EventKind`), ``on`` (ISO date), optional ``note``."""


def is_events_file(path: str | Path) -> bool:
    """Whether a JSON Lines file holds lifecycle events (its first line has ``event``)."""
    for raw in _read(Path(path)).split(b"\n"):
        if raw.strip():
            try:
                first = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return False
            return isinstance(first, dict) and "event" in first and "subject" not in first
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
    all or nothing: every line is checked (fields, kind, date not after ``as_of``, note) and
    every record found by its ``client_key`` before anything is written; each event is the
    record's authority's. What ``socialcredit simulate --trace`` writes as ``events.jsonl``
    loads unchanged, after its ``records.jsonl``."""
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
    done = ledger.import_events(
        rows, actor=actor, project=project or default_projector(catalog, as_of),
        source=Path(path).name,
    )  # fmt: skip
    return ImportReport(
        imported=done,
        skipped=0,
        lines=len(rows),
        subjects=0,
        seconds=time.perf_counter() - started,
    )


def parse_file(
    path: str | Path, *, catalog: Loaded, as_of: date, fmt: Format | None = None
) -> Parsed:
    """Every record of the file, validated, with its line number, and the names given; or
    :class:`ImportRejected`."""
    path = Path(path)
    chosen = fmt or _format_of(path)
    data = _read(path)
    checker = RecordChecker(catalog, today=as_of)
    names: Names = {}
    if chosen == "jsonl":
        rows, lines, problems = _parse_jsonl(data, checker, names)
    else:
        rows, lines, problems = _parse_csv(data, checker, names)
    if problems:
        problems.sort(key=lambda p: p[0])
        raise ImportRejected(problems)
    if not rows:
        raise InputError("file", f"{path.name} holds no records")
    return Parsed(rows, lines, names)


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


def _parse_jsonl(
    data: bytes, checker: RecordChecker, names: Names
) -> tuple[list[ValidRecord], list[int], list[Problem]]:
    rows: list[ValidRecord] = []
    lines: list[int] = []
    problems: list[Problem] = []
    loads = orjson.loads
    check = checker.problems
    required, allowed = _REQUIRED, _ALLOWED
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj: Any = loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.append((n, "line", f"not valid JSON: {_json_reason(exc)}"))
            continue
        if type(obj) is not dict:
            problems.append((n, "line", f"expected a JSON object, got {_json_type(obj)}"))
            continue
        keys = obj.keys()
        if not (required <= keys and keys <= allowed):
            problems += _field_problems(n, keys)
            continue
        result = check(
            obj["subject"],
            obj["record_type"],
            obj["authority"],
            obj["decided_on"],
            obj["decision_ref"],
            obj.get("counterpart"),
            obj.get("client_key"),
            obj.get("excluding_facts"),
        )
        name, bad_name = _name(n, obj.get("subject_name"))
        problems += bad_name
        if type(result) is ValidRecord:
            if not bad_name:
                rows.append(result)
                lines.append(n)
                if name is not None:
                    names[(result.subject, result.record_type)] = (name, result.authority)
        else:
            assert isinstance(result, list)
            problems += [(n, e.field, e.message) for e in result]
    return rows, lines, problems


def _parse_csv(
    data: bytes, checker: RecordChecker, given: Names
) -> tuple[list[ValidRecord], list[int], list[Problem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [], [], [(line, "line", "not UTF-8 text")]
    rows: list[ValidRecord] = []
    lines: list[int] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [], [(1, "header", f"malformed CSV: {exc}")]
    if header is None or not any(h.strip() for h in header):
        return [], [], [(1, "header", "missing: the first line must name the fields")]
    names = [h.strip() for h in header]
    header_problems = [
        (1, name, f"unknown field (expected {', '.join(FIELDS)})")
        for name in names
        if name not in _ALLOWED
    ]
    header_problems += [(1, name, "missing column") for name in REQUIRED if name not in names]
    header_problems += [
        (1, name, "column given twice") for name in sorted(set(names)) if names.count(name) > 1
    ]
    if header_problems:
        return [], [], header_problems
    width = len(names)
    i_subject, i_type, i_authority, i_date, i_ref = (names.index(f) for f in REQUIRED)
    i_key = names.index("client_key") if "client_key" in names else -1
    i_counterpart = names.index("counterpart") if "counterpart" in names else -1
    i_name = names.index("subject_name") if "subject_name" in names else -1
    i_facts = names.index("excluding_facts") if "excluding_facts" in names else -1
    check = checker.problems
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((reader.line_num, "line", f"malformed CSV: {exc}"))
            break  # the reader cannot resynchronise reliably after a quoting error
        n = reader.line_num
        if len(cells) != width:
            if not any(c.strip() for c in cells):
                continue  # a blank line
            problems.append((n, "line", f"has {len(cells)} fields, the header names {width}"))
            continue
        result = check(
            cells[i_subject],
            cells[i_type],
            cells[i_authority],
            cells[i_date],
            cells[i_ref],
            cells[i_counterpart] if i_counterpart >= 0 else None,
            cells[i_key] if i_key >= 0 else None,
            cells[i_facts] if i_facts >= 0 else None,
        )
        name, bad_name = _name(n, cells[i_name] if i_name >= 0 else None)
        problems += bad_name
        if type(result) is ValidRecord:
            if not bad_name:
                rows.append(result)
                lines.append(n)
                if name is not None:
                    given[(result.subject, result.record_type)] = (name, result.authority)
        else:
            assert isinstance(result, list)
            problems += [(n, e.field, e.message) for e in result]
    return rows, lines, problems


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
