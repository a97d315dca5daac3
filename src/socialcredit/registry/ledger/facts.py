"""A subject's facts (records and their events) read back from the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from socialcredit.registry.ledger.schema import _EVENT_SELECT, _RECORD_SELECT, t_events, t_records
from socialcredit.registry.ledger.util import CHUNK, _chunks
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record


def _among(column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``, or ``column = value`` for one: a filing touches one subject,
    and an ``IN`` list is compiled afresh on every execution (SQLAlchemy's expanding
    parameters), an equality once."""
    return column == values[0] if len(values) == 1 else column.in_(values)


def _record(row: Sequence[Any]) -> Record:
    rid, subject, rtype, authority, decided_on, ref, counterpart = row
    return Record(str(rid), subject, rtype, authority, decided_on, ref, counterpart)


def _event(row: Sequence[Any]) -> LifecycleEvent:
    rid, kind, on, actor, note = row
    return LifecycleEvent(str(rid), EventKind(kind), on, actor, note)


def _facts_bulk(conn: Connection, subjects: Sequence[str]) -> dict[str, list[Fact]]:
    """Facts of many subjects at once (see :meth:`Ledger.facts`)."""
    own: dict[str, list[Record]] = {s: [] for s in subjects}
    orgs_of: dict[str, set[str]] = {}
    for chunk in _chunks(list(subjects), CHUNK):
        query = sa.select(*_RECORD_SELECT).where(_among(t_records.c.subject, chunk))
        rows = conn.execute(query).all()
        for row in rows:
            rec = _record(row)
            own[rec.subject].append(rec)
            if rec.counterpart is not None:
                orgs_of.setdefault(rec.subject, set()).add(rec.counterpart)
    org_records: dict[str, list[Record]] = {}
    wanted = {o for orgs in orgs_of.values() for o in orgs}
    for org in wanted:
        if org in own:
            org_records[org] = own[org]
    missing = sorted(wanted - org_records.keys())
    for chunk in _chunks(missing, CHUNK):
        query = sa.select(*_RECORD_SELECT).where(_among(t_records.c.subject, chunk))
        for org_row in conn.execute(query):
            rec = _record(org_row)
            org_records.setdefault(rec.subject, []).append(rec)
    # events of every record gathered
    by_record: dict[str, list[LifecycleEvent]] = {}
    involved = sorted({*subjects, *missing})
    for chunk in _chunks(involved, CHUNK):
        query = (
            sa.select(*_EVENT_SELECT)
            .join(t_records, t_records.c.id == t_events.c.record_id)
            .where(_among(t_records.c.subject, chunk))
            .order_by(t_events.c.id)  # filing order: the order of a day's events
        )
        for ev_row in conn.execute(query):
            ev = _event(ev_row)
            by_record.setdefault(ev.record_id, []).append(ev)

    out: dict[str, list[Fact]] = {}
    for subject in subjects:
        recs = list(own[subject])
        for org in sorted(orgs_of.get(subject, ())):
            if org != subject:
                recs += org_records.get(org, [])
        recs.sort(key=lambda r: (r.decided_on, int(r.id)))
        facts: list[Fact] = list(recs)
        if by_record:
            evs = [e for r in recs for e in by_record.get(r.id, ())]
            evs.sort(key=lambda e: e.on)
            facts += evs
        out[subject] = facts
    return out
