"""Records and their lifecycle events: filing, bulk imports (staged, see
:mod:`socialcredit.registry.staging`), published names, reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from socialcredit.errors import Conflict, ImportRejected, InputError, NotFound
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.registry.ledger.checker import RecordChecker
from socialcredit.registry.ledger.dialect import _sqlite_datetime, _translated
from socialcredit.registry.ledger.facts import _event, _facts_bulk, _record
from socialcredit.registry.ledger.projection import ProjectionStore
from socialcredit.registry.ledger.schema import (
    _EVENT_SELECT,
    _RECORD_COLUMNS,
    _RECORD_SELECT,
    NOT_A_CHECK,
    t_audit_log,
    t_audit_subjects,
    t_events,
    t_records,
    t_subject_names,
    t_subjects,
)
from socialcredit.registry.ledger.util import CHUNK, _chunks, _now, _parse_id
from socialcredit.registry.ledger.values import (
    MAX_NOTE,
    ImportResult,
    NewRecord,
    Projector,
    SubmitResult,
    ValidRecord,
    check_name,
    check_text,
    default_projector,
    text_problem,
)
from socialcredit.registry.model import EventKind, LifecycleEvent, Record
from socialcredit.registry.staging import Staging


def _subject_kinds(rows: Iterable[ValidRecord]) -> dict[str, str]:
    """Each subject the rows name, with its kind (a counterpart is an organisation)."""
    seen: dict[str, str] = {}
    for rec in rows:
        seen.setdefault(rec.subject, rec.subject_kind)
        if rec.counterpart is not None:
            seen.setdefault(rec.counterpart, "organisation")
    return seen


def _fresh_rows(
    rows: Sequence[ValidRecord],
    existing: Mapping[tuple[str, str], tuple[int, str]],
    lines: Sequence[int] | None,
) -> tuple[list[ValidRecord], int]:
    """The rows to insert and how many are skipped: a row whose ``(authority, client_key)``
    is stored, or earlier in ``rows``, with the same content is skipped; with other content the
    whole import is refused (:class:`ImportRejected`, naming ``lines[i]`` or the position)."""
    fresh: list[ValidRecord] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    problems: list[tuple[int, str, str]] = []
    skipped = 0
    for i, rec in enumerate(rows):
        if not rec.client_key:
            fresh.append(rec)
            continue
        key = (rec.authority, rec.client_key)
        line = lines[i] if lines is not None else i + 1
        found = existing.get(key)
        if found is not None:
            if found[1] == rec.content_hash:
                skipped += 1
            else:
                why = (f"{rec.client_key!r} already names record {found[0]} of "
                       f"{rec.authority!r} with different content")  # fmt: skip
                problems.append((line, "client_key", why))
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = (line, rec.content_hash)
            fresh.append(rec)
        elif first[1] == rec.content_hash:
            skipped += 1
        else:
            problems.append((line, "client_key", f"{rec.client_key!r} of {rec.authority!r} is "
                             f"used on line {first[0]} for a different record"))  # fmt: skip
    if problems:
        raise ImportRejected(problems)
    return fresh, skipped


def _check_keys_since(
    conn: Connection, first_id: int, fresh: Sequence[ValidRecord], lines: Sequence[int] | None
) -> None:
    """Refuse the import if a record filed while it was staged (ids from ``first_id`` on)
    holds one of its ``(authority, client_key)``: the import is to be run again, and will then
    skip or refuse that line as usual."""
    keys = {(r.authority, r.client_key): i for i, r in enumerate(fresh) if r.client_key}
    if not keys:
        return
    query = sa.select(t_records.c.authority, t_records.c.client_key, t_records.c.id).where(
        t_records.c.id >= first_id, t_records.c.client_key.is_not(None)
    )
    problems = []
    for authority, key, rid in conn.execute(query):
        i = keys.get((authority, key))
        if i is not None:
            line = lines[i] if lines is not None else i + 1
            problems.append((line, "client_key", f"{key!r} of {authority!r} was filed as record "
                             f"{rid} while this import ran: import the file again"))  # fmt: skip
    if problems:
        raise ImportRejected(sorted(problems))


def _subjects_written_since(conn: Connection, seq: int) -> set[str]:
    """Subjects that audit entries after ``seq`` name (the subjects a write touched, and the
    subject of every entry other than a check): a superset of those whose facts changed."""
    named = set(
        conn.execute(
            sa.select(t_audit_subjects.c.subject).where(t_audit_subjects.c.seq > seq)
        ).scalars()
    )
    named.update(
        conn.execute(
            sa.select(t_audit_log.c.subject).where(
                t_audit_log.c.seq > seq, sa.text(NOT_A_CHECK), t_audit_log.c.subject.is_not(None)
            )
        ).scalars()
    )
    return {str(s) for s in named}


def _published_lists(catalog: Loaded | CatalogIndex) -> dict[str, frozenset[str]]:
    """Each list with the published record types that put a subject on it: the records under
    which a subject is shown on that public list, by name."""
    index = catalog.index if isinstance(catalog, Loaded) else catalog
    lists = {
        code: frozenset(
            t
            for t in lst.entry.record_types
            if t in index.record_types and index.record_types[t].publication.published
        )
        for code, lst in index.lists.items()
    }
    return {code: types for code, types in lists.items() if types}


class RecordStore(ProjectionStore):
    """Records and their lifecycle events: filing, bulk imports (staged, see"""

    def submit(
        self,
        records: Sequence[NewRecord],
        *,
        catalog: Loaded,
        today: date,
        actor: str,
        project: Projector | None = None,
    ) -> list[SubmitResult]:
        """File records, all or nothing; returns their ids in order.

        Every record is validated first (a single bad record raises its own error, several an
        :class:`ImportRejected` naming each by position). A ``client_key`` already used by the
        same authority returns the existing id (``created=False``) if the content is the same,
        and raises :class:`Conflict` otherwise. Projections of the touched subjects are
        refreshed in the same transaction (with ``project`` or the catalog evaluated on
        ``today``).
        """
        self._check_ready()
        checker = RecordChecker(catalog, today=today)
        valid: list[ValidRecord] = []
        names: dict[tuple[str, str], tuple[str, str]] = {}
        problems: list[tuple[int, InputError]] = []
        for n, new in enumerate(records, start=1):
            checked = checker.problems(
                new.subject,
                new.record_type,
                new.authority,
                new.decided_on,
                new.decision_ref,
                new.counterpart,
                new.client_key,
                new.excluding_facts or None,
            )
            try:
                name = check_name(new.subject_name)
            except InputError as exc:
                problems.append((n, exc))
                name = None
            if isinstance(checked, ValidRecord):
                valid.append(checked)
                if name is not None:
                    names[(checked.subject, checked.record_type)] = (name, checked.authority)
            else:
                problems += [(n, e) for e in checked]
        if problems:
            if len(records) == 1 and len(problems) == 1:
                raise problems[0][1]
            raise ImportRejected([(n, e.field, e.message) for n, e in problems])
        projector = project or default_projector(catalog, today)
        out: list[SubmitResult] = []
        with _translated("filing records"), self._write() as conn:
            existing = self._existing_keys(conn, valid)
            seen: dict[tuple[str, str], SubmitResult] = {}
            now = _now()
            touched: set[str] = set()
            for rec in valid:
                key = (rec.authority, rec.client_key) if rec.client_key else None
                if key is not None:
                    if key in seen:
                        out.append(SubmitResult(seen[key].id, False))
                        continue
                    found = existing.get(key)
                    if found is not None:
                        if found[1] != rec.content_hash:
                            raise Conflict(
                                f"client_key {rec.client_key!r} of authority {rec.authority!r} "
                                f"already names record {found[0]} with different content"
                            )
                        out.append(SubmitResult(str(found[0]), False))
                        continue
                row = dict(zip(_RECORD_COLUMNS, (*rec[:8], now, rec.content_hash), strict=True))
                new_id = conn.execute(t_records.insert().values(row)).inserted_primary_key
                assert new_id is not None
                filed = SubmitResult(str(new_id[0]), True)
                if key is not None:
                    seen[key] = filed
                out.append(filed)
                touched.add(rec.subject)
            if names:
                self._name(conn, names, now, lists=_published_lists(catalog), actor=actor)
            created = [r for r in out if r.created]
            if created:
                self._add_subjects(conn, valid, now)
                refreshed: set[str] = set()
                self._refresh(conn, touched, projector, today, refreshed=refreshed)
                self._audit(
                    conn,
                    actor=actor,
                    action="records.submit",
                    subject=next(iter(touched)) if len(touched) == 1 else None,
                    purpose="filing",
                    detail={"records": [r.id for r in created]},
                    subjects=refreshed,
                )
        return out

    def import_records(
        self,
        rows: Sequence[ValidRecord],
        *,
        actor: str,
        as_of: date,
        project: Projector,
        lines: Sequence[int] | None = None,
        batch_size: int = 20_000,
        source: str | None = None,
        names: Mapping[tuple[str, str], tuple[str, str]] | None = None,
    ) -> ImportResult:
        """Bulk-insert records checked by :class:`RecordChecker`, all or nothing, without
        holding other writers up for the length of the import.

        ``names``: (subject, record type) -> (published name, checked by :func:`check_name`;
        the authority that gave it), the name on every published list that type enters
        (:meth:`_name`), kept in the same transaction.

        Rows whose ``(authority, client_key)`` is already present with the same content are
        skipped; with different content the whole import is refused (:class:`ImportRejected`
        naming ``lines[i]``, else the 1-based position). The projection of every touched
        subject (and of every person holding a role in a touched organisation) is refreshed on
        ``as_of``.

        In two steps (:class:`Staging`): first the rows are written, and the touched subjects
        projected, into temporary tables of the import's own connection, reading the ledger as
        of one snapshot and holding no lock that writers take (the audit writer of a serving
        registry keeps its turns however long the import); then one short write transaction,
        the swap, moves rows and projection into the ledger with set statements, re-projects
        the touched subjects another writer changed in between, and appends the import's audit
        entry. Readers see nothing of an import until the swap commits, and everything after;
        a process killed at any point leaves nothing of it (temporary tables die with their
        connection).
        """
        self._check_ready()
        with _translated("importing records"), self._engine.connect() as conn:
            staging = Staging(conn, sqlite=self._dialect.sqlite, columns=_RECORD_COLUMNS)
            try:
                return self._import_staged(
                    conn, staging, rows, actor=actor, as_of=as_of, project=project,
                    lines=lines, source=source, names=names,
                )  # fmt: skip
            finally:
                # the temporary tables and view die with the connection, never back to the pool
                conn.invalidate()

    def _import_staged(
        self,
        conn: Connection,
        staging: Staging,
        rows: Sequence[ValidRecord],
        *,
        actor: str,
        as_of: date,
        project: Projector,
        lines: Sequence[int] | None,
        source: str | None,
        names: Mapping[tuple[str, str], tuple[str, str]] | None,
    ) -> ImportResult:
        with staging.snapshot():
            existing = self._existing_keys(conn, rows)
            fresh, skipped = _fresh_rows(rows, existing, lines)
            since_seq = int(conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar() or 0)
            last_id = conn.execute(sa.select(sa.func.max(t_records.c.id))).scalar()
            first_new_id = int(last_id or 0) + 1
            now = _now()
            staging.create()
            staging.add_records(self._record_values(fresh, now), first_new_id)
            staging.add_subjects(_subject_kinds(fresh))
            touched = {r.subject for r in fresh}
            refreshed: set[str] = set()
            with staging.shadowing():  # records read with the staged rows, projection staged
                self._refresh(conn, touched, project, as_of, first_new_id=first_new_id,
                              refreshed=refreshed)  # fmt: skip
            staging.add_refreshed(refreshed)
        with self._write_on(conn):
            shift = staging.id_shift(first_new_id)
            if shift:  # records filed since the snapshot: none may hold one of the import's keys
                _check_keys_since(conn, first_new_id, fresh, lines)
            staging.move(shift, self._dialect.timestamp(now))
            changed = _subjects_written_since(conn, since_seq) & refreshed
            if changed:  # another writer changed a touched subject since the snapshot
                self._refresh(conn, changed, project, as_of)
            if names:
                self._name(conn, names, now, lists=_published_lists(project.catalog),
                           actor=actor)  # fmt: skip
            detail: dict[str, Any] = {"imported": len(fresh), "skipped": skipped}
            if source is not None:
                detail["source"] = source
            self._audit(
                conn,
                actor=actor,
                action="records.import",
                subject=None,
                purpose="filing",
                detail=detail,
                subjects=refreshed,
                staged=staging,
            )
        return ImportResult(len(fresh), skipped, len(touched))

    def _existing_keys(
        self, conn: Connection, rows: Sequence[ValidRecord]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """``(authority, client_key) -> (id, content_hash)`` for the keys already stored."""
        by_authority: dict[str, list[str]] = {}
        for rec in rows:
            if rec.client_key:
                by_authority.setdefault(rec.authority, []).append(rec.client_key)
        found: dict[tuple[str, str], tuple[int, str]] = {}
        if not by_authority:
            return found
        if conn.execute(sa.select(t_records.c.id).limit(1)).first() is None:
            return found  # an empty ledger: nothing to look up
        for authority, keys in by_authority.items():
            for chunk in _chunks(keys, CHUNK):
                query = sa.select(
                    t_records.c.id, t_records.c.client_key, t_records.c.content_hash
                ).where(t_records.c.authority == authority, t_records.c.client_key.in_(chunk))
                for rid, key, digest in conn.execute(query):
                    found[(authority, key)] = (rid, digest)
        return found

    def _record_values(self, rows: Sequence[ValidRecord], now: datetime) -> list[tuple[Any, ...]]:
        """The rows' values in ``_RECORD_COLUMNS`` order, as the driver stores them."""
        if self._dialect.sqlite:
            at = _sqlite_datetime(now)
            return [(s, k, t, a, d.isoformat(), ref, c, key, at, h)
                    for s, k, t, a, d, ref, c, key, h in rows]  # fmt: skip
        return [(s, k, t, a, d, ref, c, key, now, h) for s, k, t, a, d, ref, c, key, h in rows]

    def _name(
        self,
        conn: Connection,
        names: Mapping[tuple[str, str], tuple[str, str]],
        now: datetime,
        *,
        lists: Mapping[str, frozenset[str]],
        actor: str,
    ) -> None:
        """Record the names subjects are published under, per list. ``names``: (subject,
        record type) -> (name, the authority giving it), given with a record of that type; the
        name is for every published list the type enters (``lists``: list -> the published
        record types entering it). On each such list, a subject's name is given by the
        authority that filed the subject's first record of a type entering that list, and by
        no other: anyone else giving one is refused (an :class:`InputError` on
        ``subject_name``, so the write is undone). A name given with a record of a type that
        enters no published list is refused likewise. Giving a name, or changing it, is an
        audit entry (``subject.name``, with the list and the previous name)."""
        if not lists:
            raise InputError("subject_name", "no record type of the catalogs is published")
        for (subject, record_type), (name, authority) in sorted(names.items()):
            entered = sorted(code for code, types in lists.items() if record_type in types)
            if not entered:
                raise InputError(
                    "subject_name",
                    f"a record of type {record_type!r} puts no one on a published list: a "
                    "name is given only with a record that publishes the subject on a list",
                )
            for code in entered:
                first = conn.execute(
                    sa.select(t_records.c.authority)
                    .where(t_records.c.subject == subject,
                           t_records.c.record_type.in_(sorted(lists[code])))
                    .order_by(t_records.c.id)
                    .limit(1)
                ).scalar()  # fmt: skip
                if first != authority:
                    raise InputError(
                        "subject_name",
                        f"a subject's name on list {code!r} is given only by the authority "
                        "that first published them on that list",
                    )
                here = (t_subject_names.c.subject == subject) & (t_subject_names.c.list == code)
                before = conn.execute(sa.select(t_subject_names.c.name).where(here)).scalar()
                if before == name:
                    continue
                if before is not None:
                    conn.execute(t_subject_names.delete().where(here))
                row = {"subject": subject, "list": code, "name": name, "authority": authority,
                       "given_at": now}  # fmt: skip
                conn.execute(t_subject_names.insert().values(row))
                detail = {"list": code, "name": name, "previous": before}
                self._audit(conn, actor=actor, action="subject.name", subject=subject,
                            purpose="publishing", detail=detail)  # fmt: skip

    def names(self, entries: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The published name of each ``(subject, list)`` of ``entries`` that has one (a name
        given before names were kept per list stands for every list without its own)."""
        self._check_ready()
        wanted = set(entries)
        chosen = sorted({s for s, _l in wanted})
        found: dict[tuple[str, str], str] = {}
        with _translated("reading names"), self._read() as conn:
            for chunk in _chunks(chosen, CHUNK):
                rows = conn.execute(
                    sa.select(
                        t_subject_names.c.subject, t_subject_names.c.list, t_subject_names.c.name
                    ).where(t_subject_names.c.subject.in_(chunk))
                )
                found.update({(str(r[0]), str(r[1])): str(r[2]) for r in rows})
        out: dict[tuple[str, str], str] = {}
        for subject, code in wanted:
            name = found.get((subject, code), found.get((subject, "")))
            if name is not None:
                out[(subject, code)] = name
        return out

    def _add_subjects(self, conn: Connection, rows: Iterable[ValidRecord], now: datetime) -> None:
        seen = _subject_kinds(rows)
        if not seen:
            return
        at = self._dialect.timestamp(now)
        ph = self._dialect.mark
        sql = (
            f"INSERT INTO subjects (subject, kind, first_seen) VALUES ({ph}, {ph}, {ph}) "
            "ON CONFLICT (subject) DO NOTHING"
        )
        items = [(s, k, at) for s, k in seen.items()]
        for chunk in _chunks(items, 50_000):
            conn.exec_driver_sql(sql, chunk)

    def record(self, record_id: str) -> Record:
        """The record with this id, or :class:`NotFound`."""
        self._check_ready()
        rid = _parse_id(record_id)
        with _translated("reading a record"), self._read() as conn:
            row = conn.execute(sa.select(*_RECORD_SELECT).where(t_records.c.id == rid)).first()
        if row is None:
            raise NotFound(f"record: no record {record_id!r}")
        return _record(row)

    def events_for(self, record_id: str) -> list[LifecycleEvent]:
        """The record's lifecycle events in the order they happened."""
        self._check_ready()
        rid = _parse_id(record_id)
        with _translated("reading events"), self._read() as conn:
            rows = conn.execute(
                sa.select(*_EVENT_SELECT)
                .where(t_events.c.record_id == rid)
                .order_by(t_events.c.on_date, t_events.c.id)
            ).all()
        return [_event(r) for r in rows]

    def append_event(
        self,
        event: LifecycleEvent,
        *,
        client_key: str | None = None,
        project: Projector | None = None,
    ) -> LifecycleEvent:
        """Append a lifecycle event to its record (idempotent per ``(actor, client_key)``);
        with ``project``, the projection of the record's subject (and of persons holding a role
        in it) is refreshed in the same transaction."""
        self._check_ready()
        rid = _parse_id(event.record_id)
        kind = EventKind(event.kind)
        if event.note:
            check_text(event.note, "note", max_len=MAX_NOTE, multiline=True, required=False)
        if client_key and (why := text_problem(client_key)) is not None:
            raise InputError("client_key", why)
        with _translated("appending an event"), self._write() as conn:
            subject = conn.execute(
                sa.select(t_records.c.subject).where(t_records.c.id == rid)
            ).scalar_one_or_none()
            if subject is None:
                raise NotFound(f"record: no record {event.record_id!r}")
            if client_key:
                prior = conn.execute(
                    sa.select(*_EVENT_SELECT).where(
                        t_events.c.actor == event.actor, t_events.c.client_key == client_key
                    )
                ).first()
                if prior is not None:
                    old = _event(prior)
                    if (old.record_id, old.kind, old.on, old.note) != (
                        str(rid),
                        kind,
                        event.on,
                        event.note,
                    ):
                        raise Conflict(
                            f"client_key {client_key!r} of {event.actor!r} already names "
                            "a different event"
                        )
                    return old
            conn.execute(
                t_events.insert().values(
                    record_id=rid,
                    kind=kind.value,
                    on_date=event.on,
                    actor=event.actor,
                    note=event.note,
                    client_key=client_key or None,
                    entered_at=_now(),
                )
            )
            refreshed: set[str] = {subject}
            if project is not None:
                self._refresh(conn, {subject}, project, project.as_of, refreshed=refreshed)
            self._audit(
                conn,
                actor=event.actor or "unknown",
                action=f"event.{kind.value}",
                subject=subject,
                purpose="due process",
                detail={"record": str(rid), "on": event.on.isoformat()},
                subjects=refreshed,
            )
        return LifecycleEvent(str(rid), kind, event.on, event.actor, event.note)

    def import_events(
        self,
        rows: Sequence[tuple[int, str, LifecycleEvent]],
        *,
        actor: str,
        project: Projector,
        source: str | None = None,
    ) -> int:
        """Lifecycle events of records already filed, each named by its record's
        ``client_key`` (``rows``: line number, the key, the event with its kind, day and note),
        in ONE transaction: every key must name exactly one record and each event is appended
        as that record's authority's; then the projection of every touched subject is
        refreshed. A key naming no record, or several, refuses the whole import
        (:class:`ImportRejected`, nothing written). Returns the events appended."""
        self._check_ready()
        with _translated("importing events"), self._write() as conn:
            keys = sorted({key for _n, key, _e in rows})
            found: dict[str, list[tuple[int, str, str]]] = {}
            for chunk in range(0, len(keys), 500):
                part = keys[chunk : chunk + 500]
                for rid, key, authority, subject in conn.execute(
                    sa.select(t_records.c.id, t_records.c.client_key, t_records.c.authority,
                              t_records.c.subject).where(t_records.c.client_key.in_(part))
                ):  # fmt: skip
                    found.setdefault(key, []).append((rid, authority, subject))
            problems: list[tuple[int, str, str]] = []
            for n, key, _e in rows:
                hits = found.get(key, [])
                if not hits:
                    problems.append((n, "record", f"no record with client_key {key!r}"))
                elif len(hits) > 1:
                    problems.append((n, "record", f"client_key {key!r} names several records "
                                                  "(of different authorities)"))  # fmt: skip
            if problems:
                raise ImportRejected(problems)
            subjects: set[str] = set()
            now = _now()
            values = []
            for _n, key, ev in rows:
                rid, authority, subject = found[key][0]
                subjects.add(subject)
                values.append({"record_id": rid, "kind": EventKind(ev.kind).value,
                               "on_date": ev.on, "actor": authority, "note": ev.note,
                               "client_key": None, "entered_at": now})  # fmt: skip
            for chunk in range(0, len(values), 20_000):
                conn.execute(t_events.insert(), values[chunk : chunk + 20_000])
            refreshed = set(subjects)
            self._refresh(conn, subjects, project, project.as_of, refreshed=refreshed)
            self._audit(
                conn,
                actor=actor,
                action="events.import",
                subject=None,
                purpose="bulk import of lifecycle events",
                detail={"events": len(values), "source": source or ""},
                subjects=refreshed,
            )
        return len(values)

    def facts(self, subject: str) -> list[Record | LifecycleEvent]:
        """The subject's records and their events, and those of every organisation in which
        the subject holds a legal role (its role records name the organisation as
        ``counterpart``)."""
        self._check_ready()
        with _translated("reading facts"), self._read() as conn:
            return _facts_bulk(conn, [subject]).get(subject, [])

    def reproject(
        self, *, project: Projector, as_of: date, actor: str, why: str, step: int = 5_000
    ) -> int:
        """Recompute every subject's projection with ``project`` (the catalogs in force have
        changed), ``step`` subjects a transaction, each step an audit entry naming the
        subjects it changed (``records.reproject``), so that running servers reload them;
        returns how many subjects were re-projected."""
        done = 0
        chunk: list[str] = []
        for subject in chain(self.subjects(), [None]):  # None: the last step's turn
            if subject is not None:
                chunk.append(subject)
                if len(chunk) < step:
                    continue
            if not chunk:
                break
            with _translated("re-projecting"), self._write() as conn:
                refreshed: set[str] = set()
                self._refresh(conn, set(chunk), project, as_of, refreshed=refreshed)
                self._audit(conn, actor=actor, action="records.reproject", subject=None,
                            purpose=why, detail={"as_of": as_of.isoformat()},
                            subjects=refreshed)  # fmt: skip
            done += len(chunk)
            chunk = []
        return done

    def subjects(self) -> Iterator[str]:
        """Every subject the ledger has seen, in order (read page by page)."""
        self._check_ready()
        after = ""
        while True:
            with _translated("listing subjects"), self._read() as conn:
                page = (
                    conn.execute(
                        sa.select(t_subjects.c.subject)
                        .where(t_subjects.c.subject > after)
                        .order_by(t_subjects.c.subject)
                        .limit(10_000)
                    )
                    .scalars()
                    .all()
                )
            yield from page
            if len(page) < 10_000:
                return
            after = page[-1]

    def role_holders(self, organisations: Iterable[str]) -> list[str]:
        """Persons whose role records name one of ``organisations`` as counterpart."""
        self._check_ready()
        orgs = sorted(set(organisations))
        found: set[str] = set()
        with _translated("reading roles"), self._read() as conn:
            for batch in _chunks(orgs, CHUNK):
                found.update(
                    conn.execute(
                        sa.select(t_records.c.subject).where(t_records.c.counterpart.in_(batch))
                    ).scalars()
                )
        return sorted(found)

    def requested_records(self, authority: str | None) -> list[str]:
        """Records of ``authority`` (of every authority, if None) with an objection or a
        repair application (decided or not), oldest first: where the authority's desk, or the
        administrator watching deadlines, looks for what awaits a decision."""
        self._check_ready()
        requests = (EventKind.objection_filed.value, EventKind.repair_applied.value)
        query = (
            sa.select(t_records.c.id)
            .join(t_events, t_events.c.record_id == t_records.c.id)
            .where(t_events.c.kind.in_(requests))
            .group_by(t_records.c.id)
            .order_by(t_records.c.id)
        )
        if authority is not None:
            query = query.where(t_records.c.authority == authority)
        with _translated("reading requests"), self._read() as conn:
            return [str(i) for i in conn.execute(query).scalars()]

    def count_records(self) -> int:
        self._check_ready()
        with _translated("counting records"), self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t_records)).scalar_one())
