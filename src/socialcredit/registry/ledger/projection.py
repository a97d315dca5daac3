"""The projection: the check path's table of what each subject is on, refreshed from the
subjects' facts in the transaction that changes them.

A subject's measures in force come in groups that share a ground (a list through a memorandum,
or a record type's own measures) and the same days: a listed debtor is under the two dozen
measures of the memoranda for the same days. The table keeps one row per subject and ground
(``projection``: subject, ground, since, until) and the grounds once (``projection_grounds``:
list, memorandum, the measures), so that a listed debtor costs one row, not one per measure.
:func:`compact` and :func:`expand` are the two directions, and the only place that knows the
shape."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from socialcredit.registry.ledger.core import LedgerCore
from socialcredit.registry.ledger.dialect import _translated
from socialcredit.registry.ledger.facts import _among, _facts_bulk
from socialcredit.registry.ledger.schema import t_projection, t_projection_grounds, t_records
from socialcredit.registry.ledger.util import CHUNK, _chunks, _iso, as_day
from socialcredit.registry.ledger.values import ProjectedMeasure, Projector
from socialcredit.registry.model import Fact


@dataclass(frozen=True, slots=True)
class ProjectionGround:
    """What puts a subject under ``measures``: ``list`` through ``memorandum`` (both ``None``
    for a record type's own measures); ``via_role``: the role held in the listed organisation
    it reaches the subject through (``None``: the subject's own)."""

    list: str | None
    memorandum: str | None
    measures: frozenset[str]
    via_role: str | None = None

    @property
    def key(self) -> tuple[str | None, str | None, tuple[str, ...], str | None]:
        return (self.list, self.memorandum, tuple(sorted(self.measures)), self.via_role)


def ground_id(ground: ProjectionGround) -> int:
    """The ground's id: a digest of its content (a signed 64-bit integer), the same in every
    process, so that rows staged apart and the ledger agree on it (a subject's own ground
    has the id it had before grounds named a role)."""
    lst, memo, measures, role = ground.key
    parts = (lst or "", memo or "", " ".join(measures), *((role,) if role else ()))
    text = "\x1f".join(parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


CompactRow = tuple[str, int, date | None, date | None]
"""``(subject, ground id, since, until)``: a row of ``projection``."""


MeasureTuple = tuple[str, str, str | None, str | None, date | None, date | None]
"""``(subject, measure, list, memorandum, since, until)``: one measure in force."""


def compact(
    rows: Iterable[
        MeasureTuple | tuple[str, str, str | None, str | None, date | None, date | None, str | None]
    ],
) -> tuple[list[CompactRow], dict[int, ProjectionGround]]:
    """Measure rows ``(subject, measure, list, memorandum, since, until)``, and ``via_role``
    after them where a role brings the measure, as projection rows and the grounds they
    use; the rows of one subject may come in any order."""
    groups: dict[tuple[str, str | None, str | None, date | None, date | None, str | None],
                 list[str]] = {}  # fmt: skip
    for subject, measure, lst, memo, since, until, *role in rows:
        key = (subject, lst, memo, since, until, role[0] if role else None)
        groups.setdefault(key, []).append(measure)
    grounds: dict[tuple[str | None, str | None, frozenset[str], str | None],
                  tuple[int, ProjectionGround]] = {}  # fmt: skip
    out: list[CompactRow] = []
    for (subject, lst, memo, since, until, via), measures in groups.items():
        ground_key = (lst, memo, frozenset(measures), via)
        known = grounds.get(ground_key)
        if known is None:
            ground = ProjectionGround(lst, memo, ground_key[2], via)
            known = grounds[ground_key] = (ground_id(ground), ground)
        out.append((subject, known[0], since, until))
    return out, dict(grounds.values())


def expand(
    rows: Iterable[tuple[str, int, Any, Any]], grounds: Mapping[int, ProjectionGround]
) -> Iterator[tuple[str, ProjectedMeasure]]:
    """Projection rows as ``(subject, measure)``, the measures of a subject in order of their
    ids (as :meth:`ProjectionStore.active_measures` gives them)."""
    for subject, gid, since, until in rows:
        ground = grounds[gid]
        day_since, day_until = as_day(since), as_day(until)
        for measure in sorted(ground.measures):
            yield (
                subject,
                ProjectedMeasure(
                    measure,
                    ground.list,
                    ground.memorandum,
                    day_since,
                    day_until,
                    via_role=ground.via_role,
                ),
            )


def _ensure_grounds(conn: Connection, grounds: Mapping[int, ProjectionGround]) -> None:
    """Add the grounds not yet in ``projection_grounds`` (whichever table that name finds on
    this connection: the ledger's, or an import's staged one)."""
    if not grounds:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO projection_grounds (id, list, memorandum, measures, via_role) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT (id) DO NOTHING",
        [
            (gid, g.list, g.memorandum, " ".join(sorted(g.measures)), g.via_role)
            for gid, g in sorted(grounds.items())
        ],
    )


def _read_grounds(conn: Connection) -> dict[int, ProjectionGround]:
    rows = conn.execute(
        sa.select(
            t_projection_grounds.c.id,
            t_projection_grounds.c.list,
            t_projection_grounds.c.memorandum,
            t_projection_grounds.c.measures,
            t_projection_grounds.c.via_role,
        )
    ).all()
    return {
        int(gid): ProjectionGround(lst, memo, frozenset(measures.split()), role)
        for gid, lst, memo, measures, role in rows
    }


def _write_compact(
    conn: Connection,
    rows: Sequence[CompactRow],
    grounds: Mapping[int, ProjectionGround],
    as_of: date,
) -> None:
    _ensure_grounds(conn, grounds)
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = (
        "INSERT INTO projection (subject, ground, since, until, computed_as_of) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})"
    )
    # in index order: each page of the subject index is written once
    ordered = sorted(rows, key=lambda r: r[0])
    if sqlite:
        stamp = as_of.isoformat()
        items: list[tuple[Any, ...]] = [
            (s, g, _iso(since), _iso(until), stamp) for s, g, since, until in ordered
        ]
    else:
        items = [(*r, as_of) for r in ordered]
    for chunk in _chunks(items, 20_000):
        conn.exec_driver_sql(sql, chunk)


def _replace_projection(
    conn: Connection,
    rows: Mapping[str, Sequence[ProjectedMeasure]],
    as_of: date,
    *,
    cleared: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Replace the projection rows of every subject in ``rows`` (those in ``cleared`` have
    had theirs deleted already)."""
    subjects = [s for s in rows if s not in cleared]
    for chunk in _chunks(subjects, CHUNK):
        conn.execute(t_projection.delete().where(_among(t_projection.c.subject, chunk)))
    compacted, grounds = compact(
        (s, m.measure, m.list, m.memorandum, m.since, m.until, m.via_role)
        for s, ms in rows.items()
        for m in ms
    )
    _write_compact(conn, compacted, grounds, as_of)


class ProjectionStore(LedgerCore):
    """The projection: what each subject is on, for the check path (see the module)."""

    def projection_grounds(self) -> dict[int, ProjectionGround]:
        """Every ground by id (few: one per list, memorandum and set of measures in use)."""
        self._check_ready()
        with _translated("reading the projection"), self._read() as conn:
            return _read_grounds(conn)

    def projection_rows(
        self, subjects: Iterable[str] | None = None
    ) -> Iterator[tuple[str, ProjectedMeasure]]:
        """``(subject, measure)`` for the given subjects, or for everyone (streamed)."""
        grounds = self.projection_grounds()
        return expand(self.projection_table(subjects), grounds)

    def projection_table(
        self, subjects: Iterable[str] | None = None
    ) -> Iterator[tuple[str, int, Any, Any]]:
        """The projection's rows as the driver gives them, ordered by subject, streamed:
        ``(subject, ground id, since, until)`` with the dates as ISO text (SQLite) or dates
        (PostgreSQL); :func:`as_day` reads either, :meth:`projection_grounds` the grounds.
        SQLAlchemy's row processing would cost most of a reload."""
        self._check_ready()
        ph = self._dialect.mark
        sql = "SELECT subject, ground, since, until FROM projection"
        order = " ORDER BY subject, id"
        chosen = None if subjects is None else sorted(set(subjects))
        batches: list[Sequence[str] | None] = (
            [None] if chosen is None else list(_chunks(chosen, CHUNK))
        )
        for batch in batches:
            where = "" if batch is None else f" WHERE subject IN ({', '.join([ph] * len(batch))})"
            with _translated("reading the projection"), self._read() as conn:
                cursor = conn.connection.cursor()
                try:
                    cursor.execute(sql + where + order, list(batch or ()))
                    while rows := cursor.fetchmany(20_000):
                        yield from rows
                finally:
                    cursor.close()

    def replace_projection(
        self, subject: str, rows: Iterable[ProjectedMeasure], *, as_of: date
    ) -> None:
        """Replace the subject's projected measures with ``rows`` (computed on ``as_of``)."""
        self._check_ready()
        with _translated("writing the projection"), self._write() as conn:
            _replace_projection(conn, {subject: list(rows)}, as_of)

    def refresh_projections(
        self, subjects: Iterable[str], *, project: Projector, as_of: date
    ) -> int:
        """Recompute the projection of ``subjects`` (and of persons holding a role in them) from
        their facts; returns how many subjects were refreshed."""
        self._check_ready()
        with _translated("refreshing the projection"), self._write() as conn:
            return self._refresh(conn, set(subjects), project, as_of)

    def active_measures(self, subject: str, *, on: date | None = None) -> list[ProjectedMeasure]:
        """The subject's projected measures, in order of measure; with ``on``, only those in
        force that day."""
        self._check_ready()
        query = sa.select(
            t_projection.c.ground,
            t_projection.c.since,
            t_projection.c.until,
            t_projection.c.computed_as_of,
        ).where(t_projection.c.subject == subject)
        if on is not None:
            query = query.where(
                sa.or_(t_projection.c.since.is_(None), t_projection.c.since <= on),
                sa.or_(t_projection.c.until.is_(None), t_projection.c.until > on),
            )
        with _translated("reading the projection"), self._read() as conn:
            rows = conn.execute(query.order_by(t_projection.c.id)).all()
            grounds = _read_grounds(conn) if rows else {}
        out = [
            ProjectedMeasure(m, g.list, g.memorandum, since, until, as_of, g.via_role)
            for gid, since, until, as_of in rows
            for g in (grounds[gid],)
            for m in sorted(g.measures)
        ]
        return sorted(out, key=lambda m: m.measure)

    def _insert_projection_rows(
        self,
        conn: Connection,
        rows: Sequence[tuple[str, str, str | None, str | None, date | None, date | None]],
        as_of: date,
    ) -> None:
        """Measure rows ``(subject, measure, list, memorandum, since, until)`` of subjects
        that have none yet, compacted."""
        if rows:
            compacted, grounds = compact(rows)
            _write_compact(conn, compacted, grounds, as_of)

    def _refresh(
        self,
        conn: Connection,
        touched: set[str],
        project: Projector,
        as_of: date,
        *,
        first_new_id: int | None = None,
        refreshed: set[str] | None = None,
    ) -> int:
        """Recompute the projection of ``touched`` subjects and of persons holding a role in
        them (added to ``refreshed``, if given). With ``first_new_id`` (a bulk insert just made
        every record from that id on), the subjects that had no earlier records and no role
        links take their facts from one range scan of the new rows instead of a lookup each."""
        if not touched:
            return 0
        new_rows = t_records.c.id >= first_new_id if first_new_id is not None else None
        touched_q = sa.select(t_records.c.subject).where(new_rows) if new_rows is not None else None
        holders: set[str] = set()
        if touched_q is not None:
            holders.update(
                conn.execute(
                    sa.select(t_records.c.subject)
                    .distinct()
                    .where(t_records.c.counterpart.in_(touched_q))
                ).scalars()
            )
        else:
            for chunk in _chunks(sorted(touched), CHUNK):
                holders.update(
                    conn.execute(
                        sa.select(t_records.c.subject)
                        .distinct()
                        .where(_among(t_records.c.counterpart, chunk))
                    ).scalars()
                )
        if refreshed is not None:
            refreshed.update(touched)
            refreshed.update(holders)
        facts: dict[str, list[Fact]] = {}
        fresh_rows: list[tuple[str, str, str | None, str | None, date | None, date | None]] = []
        full = set(touched) | holders
        replaced = set(full)
        if new_rows is not None and touched_q is not None:
            older = set(
                conn.execute(
                    sa.select(t_records.c.subject)
                    .distinct()
                    .where(~new_rows, t_records.c.subject.in_(touched_q))
                ).scalars()
            )
            full = older | holders
            replaced = set(full)
            ph = self._dialect.mark
            new = conn.exec_driver_sql(
                "SELECT id, subject, record_type, decided_on, counterpart FROM records "
                f"WHERE id >= {ph} ORDER BY id",
                (first_new_id,),
            ).fetchall()
            full.update(subject for _i, subject, _t, _d, counterpart in new if counterpart)
            plain = [row for row in new if row[1] not in full]
            fresh_rows = project.from_rows(
                [r[0] for r in plain],
                [r[1] for r in plain],
                [r[2] for r in plain],
                [r[3] for r in plain],
            )
        for chunk in _chunks(sorted(full), CHUNK):
            facts.update(_facts_bulk(conn, chunk))
        computed = {s: list(ms) for s, ms in project(facts).items()}
        if touched_q is None:
            _replace_projection(conn, computed, as_of)
            return len(computed)
        # a bulk insert: clear every touched subject's rows at once, then write them all
        conn.execute(t_projection.delete().where(t_projection.c.subject.in_(touched_q)))
        _replace_projection(conn, computed, as_of, cleared=set(computed) - replaced)
        self._insert_projection_rows(conn, fresh_rows, as_of)
        return len(computed) + len({r[0] for r in fresh_rows})
