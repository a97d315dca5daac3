"""The projection: the check path's table of measures per subject, refreshed from
the subjects' facts in the transaction that changes them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from socialcredit.registry.ledger.core import LedgerCore
from socialcredit.registry.ledger.dialect import _translated
from socialcredit.registry.ledger.facts import _facts_bulk
from socialcredit.registry.ledger.schema import t_projection, t_records
from socialcredit.registry.ledger.util import CHUNK, _chunks, _iso
from socialcredit.registry.ledger.values import ProjectedMeasure, Projector
from socialcredit.registry.model import Fact


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
        conn.execute(t_projection.delete().where(t_projection.c.subject.in_(chunk)))
    items = [
        {
            "subject": s,
            "measure": m.measure,
            "list": m.list,
            "memorandum": m.memorandum,
            "since": m.since,
            "until": m.until,
            "computed_as_of": as_of,
        }
        for s, ms in rows.items()
        for m in ms
    ]
    for batch in _chunks(items, 20_000):
        conn.execute(t_projection.insert(), batch)


class ProjectionStore(LedgerCore):
    """The projection: the check path's table of measures per subject, refreshed from"""

    def projection_rows(
        self, subjects: Iterable[str] | None = None
    ) -> Iterator[tuple[str, ProjectedMeasure]]:
        """``(subject, measure)`` for the given subjects, or for everyone (streamed)."""
        self._check_ready()
        cols = (
            t_projection.c.subject,
            t_projection.c.measure,
            t_projection.c.list,
            t_projection.c.memorandum,
            t_projection.c.since,
            t_projection.c.until,
            t_projection.c.computed_as_of,
        )
        chosen = None if subjects is None else sorted(set(subjects))
        batches = [None] if chosen is None else list(_chunks(chosen, CHUNK))
        for batch in batches:
            query = sa.select(*cols).order_by(t_projection.c.subject, t_projection.c.id)
            if batch is not None:
                query = query.where(t_projection.c.subject.in_(batch))
            with _translated("reading the projection"), self._read() as conn:
                for row in conn.execute(query):
                    yield row[0], ProjectedMeasure(*row[1:])

    def projection_table(
        self, subjects: Iterable[str] | None = None
    ) -> Iterator[tuple[str, str, str | None, str | None, Any, Any]]:
        """:meth:`projection_rows` as the driver gives them, ordered by subject, streamed:
        ``(subject, measure, list, memorandum, since, until)`` with the dates as ISO text
        (SQLite) or dates (PostgreSQL); :func:`as_day` reads either. SQLAlchemy's row
        processing cost most of a reload (480,000 rows: several seconds)."""
        self._check_ready()
        ph = self._dialect.mark
        sql = "SELECT subject, measure, list, memorandum, since, until FROM projection_measures"
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
        """The subject's projected measures; with ``on``, only those in force that day."""
        self._check_ready()
        query = sa.select(
            t_projection.c.measure,
            t_projection.c.list,
            t_projection.c.memorandum,
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
            rows = conn.execute(query.order_by(t_projection.c.measure, t_projection.c.id)).all()
        return [ProjectedMeasure(*r) for r in rows]

    def _insert_projection_rows(
        self,
        conn: Connection,
        rows: Sequence[tuple[str, str, str | None, str | None, date | None, date | None]],
        as_of: date,
    ) -> None:
        if not rows:
            return
        ph = self._dialect.marks(7)
        sql = (
            "INSERT INTO projection_measures "
            f"(subject, measure, list, memorandum, since, until, computed_as_of) VALUES ({ph})"
        )
        if self._dialect.sqlite:
            items: list[tuple[Any, ...]] = [
                (s, m, li, memo, _iso(since), _iso(until), as_of.isoformat())
                for s, m, li, memo, since, until in rows
            ]
        else:
            items = [(*r, as_of) for r in rows]
        for chunk in _chunks(items, 20_000):
            conn.exec_driver_sql(sql, chunk)

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
                        .where(t_records.c.counterpart.in_(chunk))
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
