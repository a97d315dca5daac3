"""Records and their lifecycle events: filing, bulk imports (staged, see
:mod:`socialcredit.registry.staging`), published names, reads."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from socialcredit.errors import Conflict, ImportRejected, InputError, NotFound, SocialCreditError
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.registry.ledger.checker import RecordChecker
from socialcredit.registry.ledger.dialect import WRITE_WAIT_MS, _translated
from socialcredit.registry.ledger.facts import _event, _facts_bulk, _record
from socialcredit.registry.ledger.projection import (
    ProjectionGround,
    ProjectionStore,
    _ensure_grounds,
    _write_compact,
    compact,
    ground_id,
)
from socialcredit.registry.ledger.schema import (
    _EVENT_SELECT,
    _RECORD_COLUMNS,
    _RECORD_SELECT,
    NOT_A_CHECK,
    RECORD_CONTENT,
    named_subjects,
    t_audit_log,
    t_events,
    t_records,
    t_subject_names,
)
from socialcredit.registry.ledger.util import CHUNK, _chunks, _iso, _now, _parse_id
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
from socialcredit.registry.staging import StagedRow, Staging

_log = logging.getLogger("socialcredit.registry")

EventCheck = Callable[[str, Sequence[LifecycleEvent], LifecycleEvent], SocialCreditError | None]
"""Why an event cannot follow the record's events before it (the record's id, those events,
the event), or ``None``: :func:`socialcredit.registry.workflows.step_refusal`'s shape."""

if TYPE_CHECKING:
    from socialcredit.registry.batch import BatchResult

NEVER = 2**31 - 1
"""A day number meaning "no date" (:data:`socialcredit.daycount.NEVER`, without importing the
compiler here)."""


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
PLAIN_ROWS = 250_000
"""Staged rows projected together in bulk (a few tens of megabytes of arrays)."""
SUBJECTS_PAGE = 10_000
"""Subjects :meth:`RecordStore.subjects` reads a page."""
REBUILD_AT = 100_000
"""An import of at least this many records, and at least as many as the ledger holds, drops
the records' secondary indexes and builds them again after the rows are in (one sort instead
of an insert at random per row and index)."""
REBUILD_LOCK_PATIENCE = 5.0
"""Seconds such an import asks, a little at a time, to have the records table to itself
(PostgreSQL: :meth:`Staging.records_alone`) before it inserts into the indexes instead, as a
smaller import does: a reader's long transaction (a backup) neither fails the import after
the write lock's wait, losing what it staged, nor is every later reader held up behind it."""


def staged_rows(
    rows: Sequence[ValidRecord], lines: Sequence[int], type_ids: Mapping[str, int]
) -> list[StagedRow]:
    """Checked records as staged rows (:data:`~socialcredit.registry.staging.STAGED_COLUMNS`):
    ``type_ids`` the projector's rulebook's numbers of the record types, ``lines[i]`` the line
    each came from."""
    return [
        (r.subject, r.subject_kind, r.record_type, r.authority, r.decided_on.isoformat(),
         r.decision_ref, r.counterpart, r.client_key,
         type_ids.get(r.record_type, -1), r.decided_on.toordinal() - _EPOCH_ORDINAL,
         line)
        for r, line in zip(rows, lines, strict=True)
    ]  # fmt: skip


class _Codes(dict[Any, int]):
    """Small integers for the few distinct values of an object array, in order of first sight."""

    def __missing__(self, key: Any) -> int:
        code = self[key] = len(self)
        return code

    def of(self, values: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
        return np.fromiter(map(self.__getitem__, values.tolist()), np.int64, values.size)


def _iso_days(days: npt.NDArray[np.int32]) -> list[str | None]:
    """Day numbers as ISO dates (:data:`NEVER`: ``None``), all at once."""
    text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    text[days >= NEVER] = None
    return text.tolist()  # type: ignore[no-any-return]


def compact_result(
    result: BatchResult, names: npt.NDArray[np.object_], as_of: date
) -> tuple[list[tuple[Any, ...]], dict[int, ProjectionGround]]:
    """The measures in force of a batch evaluation (subject ``i`` is ``names[i]``) as
    projection rows ``(subject, ground id, since, until, computed_as_of)`` (dates as ISO text)
    and the grounds they use: what :func:`~socialcredit.registry.ledger.projection.compact`
    makes of the same measures, grouped with arrays instead of a dictionary per measure."""
    xs = result.x_subject
    if xs.size == 0:
        return [], {}
    measures, memos = _Codes(), _Codes()
    m_code = measures.of(result.x_measure)
    memo = memos.of(result.x_memo)
    if len(measures) > 63:  # pragma: no cover - no catalog has so many measures
        rows, found = compact(
            zip(names[xs].tolist(), result.x_measure.tolist(),
                _list_ids(result)[result.x_list].tolist(), result.x_memo.tolist(),
                _dates_of(result.x_since), _dates_of(result.x_until), strict=True)
        )  # fmt: skip
        stamp = as_of.isoformat()
        return [(s, g, _iso(a), _iso(b), stamp) for s, g, a, b in rows], found
    lst, since, until = result.x_list, result.x_since, result.x_until
    order = np.lexsort((until, since, memo, lst, xs))
    xs, lst, memo, since, until = xs[order], lst[order], memo[order], since[order], until[order]
    bits = np.left_shift(np.uint64(1), m_code[order].astype(np.uint64))
    new = np.empty(xs.size, np.bool_)
    new[0] = True
    new[1:] = (
        (xs[1:] != xs[:-1]) | (lst[1:] != lst[:-1]) | (memo[1:] != memo[:-1])
        | (since[1:] != since[:-1]) | (until[1:] != until[:-1])
    )  # fmt: skip
    starts = np.flatnonzero(new)
    mask = np.bitwise_or.reduceat(bits, starts)
    keys = np.stack((lst[starts].astype(np.int64), memo[starts], mask.view(np.int64)), axis=1)
    distinct, which = np.unique(keys, axis=0, return_inverse=True)
    list_ids = _list_ids(result)
    measure_of = list(measures)
    memo_of = list(memos)
    grounds: dict[int, ProjectionGround] = {}
    gids = np.empty(len(distinct), np.int64)
    for k, (li, mi, bitmask) in enumerate(distinct.tolist()):
        held = frozenset(m for j, m in enumerate(measure_of) if (bitmask >> j) & 1)
        ground = ProjectionGround(list_ids[li], memo_of[mi], held)
        gids[k] = gid = ground_id(ground)
        grounds[gid] = ground
    stamp = as_of.isoformat()
    return (
        list(
            zip(
                names[xs[starts]].tolist(),
                gids[which.reshape(-1)].tolist(),
                _iso_days(since[starts]),
                _iso_days(until[starts]),
                [stamp] * starts.size,
                strict=True,
            )
        ),
        grounds,
    )


def _list_ids(result: BatchResult) -> npt.NDArray[np.object_]:
    """List ids by index, and ``None`` at index -1 (no list)."""
    ids = result.compiled.list_ids
    out = np.empty(len(ids) + 1, dtype=object)
    out[: len(ids)] = ids
    return out


def _dates_of(days: npt.NDArray[np.int32]) -> list[date | None]:  # pragma: no cover
    return [None if d >= NEVER else date.fromordinal(int(d) + _EPOCH_ORDINAL) for d in days]


def project_plain(
    rows: Sequence[tuple[str, int, int]], project: Projector, as_of: date
) -> tuple[list[tuple[Any, ...]], dict[int, ProjectionGround]]:
    """Projection rows (as :func:`compact_result`) of subjects whose only facts are the given
    staged rows ``(subject, type_no, day_no)``, sorted by subject, day and id (no events, no
    legal roles), evaluated in bulk by the projector's rulebook."""
    from socialcredit.registry.batch import Columns, evaluate_columns

    if not rows:
        return [], {}
    n = len(rows)
    subject = np.empty(n, dtype=object)
    subject[:] = [r[0] for r in rows]
    new = np.empty(n, np.bool_)
    new[0] = True
    np.not_equal(subject[1:], subject[:-1], out=new[1:])
    index = (np.cumsum(new) - 1).astype(np.int32)
    names = subject[new]
    typ = np.array([r[1] for r in rows], np.int32)
    day = np.array([r[2] for r in rows], np.int32)
    known = typ >= 0  # a type the validating catalog has and the projector's rulebook has not
    if not known.all():
        index, typ, day = index[known], typ[known], day[known]
    none = np.zeros(0, np.int32)
    cols = Columns(subject=index, type=typ, day=day, ev_record=none, ev_kind=none,
                   ev_day=none, n_subjects=len(names))  # fmt: skip
    result = evaluate_columns(cols, project.catalog, project.as_of)
    return compact_result(result, names, as_of)


def _content(rec: ValidRecord) -> tuple[Any, ...]:
    """A record's content as idempotency compares it (:data:`RECORD_CONTENT`'s fields)."""
    return tuple(getattr(rec, c) for c in RECORD_CONTENT)


def _subjects_written_since(conn: Connection, seq: int) -> set[str]:
    """Subjects that audit entries after ``seq`` name (the subjects a write touched, and the
    subject of every entry other than a check): a superset of those whose facts changed."""
    since = named_subjects(lambda s: s > seq).subquery()
    named = set(conn.execute(sa.select(since.c.subject)).scalars())
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
                        if found[1] != _content(rec):
                            raise Conflict(
                                f"client_key: {rec.client_key!r} of authority {rec.authority!r} "
                                f"already names record {found[0]} with different content"
                            )
                        out.append(SubmitResult(str(found[0]), False))
                        continue
                row = dict(zip(_RECORD_COLUMNS, (*rec, now), strict=True))
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
        holding other writers up for the length of the import: :meth:`import_staged` of the
        rows (``lines[i]``, else the 1-based position, the line each came from), in batches
        of ``batch_size``."""
        from socialcredit.rules import compile_catalog

        type_ids = compile_catalog(project.catalog).type_ids
        at = lines if lines is not None else range(1, len(rows) + 1)
        size = max(1, batch_size)
        batches = (
            staged_rows(rows[start : start + size], at[start : start + size], type_ids)
            for start in range(0, len(rows), size)
        )
        return self.import_staged(batches, actor=actor, as_of=as_of, project=project,
                                  source=source, names=names)  # fmt: skip

    def import_staged(
        self,
        batches: Iterable[Sequence[StagedRow]],
        *,
        actor: str,
        as_of: date,
        project: Projector,
        source: str | None = None,
        names: Mapping[tuple[str, str], tuple[str, str]] | None = None,
        unique_keys: Callable[[], bool] | None = None,
    ) -> ImportResult:
        """Import checked records as they stream in, all or nothing, without holding other
        writers up for the length of the import.

        ``batches``: the records as staged rows (:data:`~socialcredit.registry.staging.
        STAGED_COLUMNS`, the type numbers of the projector's rulebook), in the order they take
        their ids; an exception raised while they are read (a bad line of the file) undoes
        everything. ``names``: (subject, record type) -> (published name, checked by
        :func:`check_name`; the authority that gave it), the name on every published list that
        type enters (:meth:`_name`), kept in the same transaction; read once every batch is in.
        ``unique_keys``: called once every batch is in; ``True`` when no two of the rows share
        ``(authority, client_key)`` (then the stage is not searched for such pairs).

        Rows whose ``(authority, client_key)`` is already present with the same content are
        skipped; with different content the whole import is refused (:class:`ImportRejected`
        naming the line). The projection of every touched subject (and of every person holding
        a role in a touched organisation) is refreshed on ``as_of``.

        In two steps (:class:`Staging`): first the rows are written, and the touched subjects
        projected, into temporary tables of the import's own connection, reading the ledger as
        of one snapshot and holding no lock that writers take (the chainer of a serving
        registry keeps its turns however long the import); then one short write transaction,
        the swap, moves rows and projection into the ledger with set statements, re-projects
        the touched subjects another writer changed in between, and appends the import's audit
        entry. Readers see nothing of an import until the swap commits, and everything after;
        a process killed at any point leaves nothing of it (temporary tables die with their
        connection). Nothing in memory grows with the number of rows: subjects that had no
        records before, hold no legal role and are named by no role record are projected from
        their staged rows in bulk, the others (few) a chunk at a time from all their facts.
        """
        self._check_ready()
        with _translated("importing records"), self._engine.connect() as conn:
            staging = Staging(conn, sqlite=self._dialect.sqlite, columns=_RECORD_COLUMNS)
            try:
                return self._import_staged(
                    conn, staging, batches, actor=actor, as_of=as_of, project=project,
                    source=source, names=names, unique_keys=unique_keys,
                )  # fmt: skip
            finally:
                # the temporary tables and view die with the connection, never back to the pool
                conn.invalidate()

    def _import_staged(
        self,
        conn: Connection,
        staging: Staging,
        batches: Iterable[Sequence[StagedRow]],
        *,
        actor: str,
        as_of: date,
        project: Projector,
        source: str | None,
        names: Mapping[tuple[str, str], tuple[str, str]] | None,
        unique_keys: Callable[[], bool] | None,
    ) -> ImportResult:
        with staging.snapshot():
            since_seq = int(conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar() or 0)
            last_id = int(conn.execute(sa.select(sa.func.max(t_records.c.id))).scalar() or 0)
            empty = last_id == 0
            now = _now()
            staging.create(first_id=last_id + 1)
            for batch in batches:
                staging.add(batch)
            unique = unique_keys is not None and unique_keys()
            skipped, problems = staging.duplicates(ledger_empty=empty, unique=unique)
            if problems:
                raise ImportRejected(problems)
            imported = staging.count()
            staging.index()
            later = staging.lists_while_projecting(ledger_empty=empty)
            touched = 0 if later else staging.fill_subjects()
            holders = staging.role_holders(ledger_empty=empty)
            staging.fill_full(holders, ledger_empty=empty)
            entered = "NULL" if self._dialect.sqlite else "CAST(NULL AS TIMESTAMP WITH TIME ZONE)"
            with staging.shadowing(entered):  # records read with the staged rows
                self._project_staged(conn, staging, project, as_of, list_subjects=later)
            if later:
                touched = staging.list_full()
            staging.add_refreshed(holders)
        with self._write_on(conn):
            shift = staging.id_shift()
            if shift:  # records filed since the snapshot: none may hold one of the import's keys
                filed = staging.keys_filed_since(shift)
                if filed:
                    raise ImportRejected(filed)
            at = self._dialect.timestamp(now)
            # the import at least doubles the records: build their indexes once, after
            rebuild = imported >= max(last_id + shift, REBUILD_AT)
            if rebuild and not staging.records_alone(REBUILD_LOCK_PATIENCE,
                                                     restore_ms=WRITE_WAIT_MS):  # fmt: skip
                rebuild = False
                _log.warning(
                    "the records table stayed in use by another transaction for %g s: the "
                    "import inserts into its indexes instead of rebuilding them after the load "
                    "(about twice as long for a large load)", REBUILD_LOCK_PATIENCE,
                )  # fmt: skip
            staging.move(shift, at, rebuild=rebuild)
            changed = staging.refreshed(_subjects_written_since(conn, since_seq))
            if changed:  # another writer changed a touched subject since the snapshot
                self._refresh(conn, changed, project, as_of)
            if names:
                self._name(conn, names, now, lists=_published_lists(project.catalog),
                           actor=actor)  # fmt: skip
            detail: dict[str, Any] = {"imported": imported, "skipped": skipped}
            if source is not None:
                detail["source"] = source
            count, digest = staging.refreshed_digest()
            if count:  # the subjects are named from the staged table, not held here
                detail.update(subjects=count, subjects_sha256=digest)
            entry = self._audit(conn, actor=actor, action="records.import", subject=None,
                                purpose="filing", detail=detail)  # fmt: skip
            if count:
                staging.name_in_audit(entry.seq, shift, imported)
        return ImportResult(imported, skipped, touched)

    def _project_staged(
        self, conn: Connection, staging: Staging, project: Projector, as_of: date, *,
        list_subjects: bool,
    ) -> None:  # fmt: skip
        """The staged subjects' projection, into the shadowing ``projection``: those of
        ``staged_full`` from all their facts, a chunk at a time; the others from their staged
        rows alone, in bulk (:func:`project_plain`), listed as touched as they go where
        ``list_subjects`` (:meth:`Staging.lists_while_projecting`)."""
        for chunk in staging.full_subjects(CHUNK):
            computed = project(_facts_bulk(conn, chunk))
            rows, grounds = compact(
                (s, m.measure, m.list, m.memorandum, m.since, m.until, m.via_role)
                for s, ms in computed.items()
                for m in ms
            )
            _write_compact(conn, rows, grounds, as_of)
        for plain in staging.plain_rows(PLAIN_ROWS, list_subjects=list_subjects):
            projected, grounds = project_plain(plain, project, as_of)
            _ensure_grounds(conn, grounds)
            staging.add_projection(projected)

    def _existing_keys(
        self, conn: Connection, rows: Sequence[ValidRecord]
    ) -> dict[tuple[str, str], tuple[int, tuple[Any, ...]]]:
        """``(authority, client_key) -> (id, content)`` for the keys already stored (the
        content: :data:`RECORD_CONTENT`'s columns, as :func:`_content` gives a record's)."""
        by_authority: dict[str, list[str]] = {}
        for rec in rows:
            if rec.client_key:
                by_authority.setdefault(rec.authority, []).append(rec.client_key)
        found: dict[tuple[str, str], tuple[int, tuple[Any, ...]]] = {}
        if not by_authority:
            return found
        if conn.execute(sa.select(t_records.c.id).limit(1)).first() is None:
            return found  # an empty ledger: nothing to look up
        content = [t_records.c[c] for c in RECORD_CONTENT]
        for authority, keys in by_authority.items():
            for chunk in _chunks(keys, CHUNK):
                query = sa.select(t_records.c.id, t_records.c.client_key, *content).where(
                    t_records.c.authority == authority, t_records.c.client_key.in_(chunk)
                )
                for rid, key, *stored in conn.execute(query):
                    found[(authority, key)] = (rid, tuple(stored))
        return found

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
                            f"client_key: {client_key!r} of {event.actor!r} already names "
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
        check: EventCheck | None = None,
    ) -> int:
        """Lifecycle events of records already filed, each named by its record's
        ``client_key`` (``rows``: line number, the key, the event with its kind, day and note),
        in ONE transaction: every key must name exactly one record and each event is appended
        as that record's authority's; then the projection of every touched subject is
        refreshed. A key naming no record, or several, or an event dated before its record's
        decision, refuses the whole import (:class:`ImportRejected`, nothing written). An
        event the record has already (the same kind, day and note; each stored event matches
        one line) is skipped: a file imported twice adds nothing the second time. ``check``
        (record id, the record's events before, the event) says why an event cannot follow
        those before it (the workflows' order of requests and decisions), refusing the
        import at that line. Returns the events appended."""
        self._check_ready()
        with _translated("importing events"), self._write() as conn:
            keys = sorted({key for _n, key, _e in rows})
            found: dict[str, list[tuple[int, str, str, date]]] = {}
            for chunk in range(0, len(keys), 500):
                part = keys[chunk : chunk + 500]
                for rid, key, authority, subject, decided in conn.execute(
                    sa.select(t_records.c.id, t_records.c.client_key, t_records.c.authority,
                              t_records.c.subject, t_records.c.decided_on)
                    .where(t_records.c.client_key.in_(part))
                ):  # fmt: skip
                    found.setdefault(key, []).append((rid, authority, subject, decided))
            problems: list[tuple[int, str, str]] = []
            for n, key, ev in rows:
                hits = found.get(key, [])
                if not hits:
                    problems.append((n, "record", f"no record with client_key {key!r}"))
                elif len(hits) > 1:
                    problems.append((n, "record", f"client_key {key!r} names several records "
                                                  "(of different authorities)"))  # fmt: skip
                elif ev.on < hits[0][3]:
                    problems.append((n, "on", f"{ev.on} is before the decision date of record "
                                              f"{hits[0][0]} ({hits[0][3]})"))  # fmt: skip
            if problems:
                raise ImportRejected(problems)
            ids = sorted({found[key][0][0] for _n, key, _e in rows})
            seen: Counter[tuple[int, str, date, str]] = Counter()
            before: dict[int, list[LifecycleEvent]] = {}
            for chunk in range(0, len(ids), 500):
                part_ids = ids[chunk : chunk + 500]
                for ev_row in conn.execute(
                    sa.select(*_EVENT_SELECT).where(t_events.c.record_id.in_(part_ids))
                    .order_by(t_events.c.on_date, t_events.c.id)
                ):  # fmt: skip
                    stored = _event(ev_row)
                    rid = int(stored.record_id)
                    seen[(rid, stored.kind.value, stored.on, stored.note or "")] += 1
                    before.setdefault(rid, []).append(stored)
            subjects: set[str] = set()
            now = _now()
            values = []
            for n, key, ev in rows:
                rid, authority, subject, _decided = found[key][0]
                event = (rid, EventKind(ev.kind).value, ev.on, ev.note or "")
                if seen[event]:  # stored already: each stored event matches one line
                    seen[event] -= 1
                    continue
                earlier = before.setdefault(rid, [])
                refusal = check(str(rid), earlier, ev) if check is not None else None
                if isinstance(refusal, InputError):
                    problems.append((n, refusal.field or "event", refusal.message))
                    continue
                if refusal is not None:
                    problems.append((n, "event", str(refusal)))
                    continue
                earlier.append(LifecycleEvent(str(rid), EventKind(ev.kind), ev.on, authority,
                                              ev.note))  # fmt: skip
                subjects.add(subject)
                values.append({"record_id": rid, "kind": EventKind(ev.kind).value,
                               "on_date": ev.on, "actor": authority, "note": ev.note,
                               "client_key": None, "entered_at": now})  # fmt: skip
            if problems:
                raise ImportRejected(problems)
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
        """Every subject the ledger has seen (of a record, or named as a role record's
        organisation), in order, read page by page from the records' two indexes."""
        self._check_ready()
        page_size = SUBJECTS_PAGE

        def page(column: sa.Column[Any], after: str) -> sa.Subquery:
            # DISTINCT in index order with a limit: the index is read up to the page's end
            return (
                sa.select(column.label("subject"))
                .where(column > after)
                .distinct()
                .order_by(column)
                .limit(page_size)
                .subquery()
            )

        after = ""
        while True:
            own, named = page(t_records.c.subject, after), page(t_records.c.counterpart, after)
            both = sa.union(sa.select(own.c.subject), sa.select(named.c.subject)).subquery()
            query = sa.select(both.c.subject).order_by(both.c.subject).limit(page_size)
            with _translated("listing subjects"), self._read() as conn:
                found = [str(s) for s in conn.execute(query).scalars()]
            yield from found
            if len(found) < page_size:
                return
            after = found[-1]

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

    def records_of_types(self, record_types: Iterable[str], authority: str | None) -> list[str]:
        """Records of ``record_types`` designated by ``authority`` (every authority, if None),
        oldest first: the applications for a release awaiting a decision are among them."""
        self._check_ready()
        chosen = sorted(set(record_types))
        if not chosen:
            return []
        query = (
            sa.select(t_records.c.id)
            .where(t_records.c.record_type.in_(chosen))
            .order_by(t_records.c.id)
        )
        if authority is not None:
            query = query.where(t_records.c.authority == authority)
        with _translated("reading applications"), self._read() as conn:
            return [str(i) for i in conn.execute(query).scalars()]

    def count_records(self) -> int:
        self._check_ready()
        with _translated("counting records"), self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t_records)).scalar_one())
