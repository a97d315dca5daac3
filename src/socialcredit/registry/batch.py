"""Evaluation of many subjects at once: the registry's driver of the compiled rulebook.

:func:`socialcredit.registry.evaluate.evaluate` is the reference: one subject, Python objects,
every detail of every record. This module computes what bulk work needs (scores and grades,
list memberships with since/until, measures in force with until) for millions of subjects from
columnar arrays: the catalog compiled once into a :class:`~socialcredit.rules.Rulebook`, each
record's windows from its lifecycle events, and :func:`socialcredit.rules.fold.fold_subjects`
folding every subject in parallel. Tests prove both give the same answers on random catalogs
and histories.

Subjects holding a legal role in an organisation (their profile depends on another subject's
records) are evaluated by the reference instead; they are few.

Days are ``int32`` days since 1970-01-01; "no date" is :data:`NEVER`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import starmap
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from socialcredit.daycount import NEVER, from_day, to_day
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, Record
from socialcredit.rules import Rulebook, compile_catalog
from socialcredit.rules.fold import (
    CHUNK,
    fold_subjects,
    fold_subjects_serial,
    record_windows,
    record_windows_serial,
)
from socialcredit.rules.tables import LICENCE, Folded, Records

__all__ = [
    "EVENT_CODES",
    "SERIAL_RECORDS",
    "BatchResult",
    "Columns",
    "MeasureRow",
    "columns_from_facts",
    "compile_catalog",
    "evaluate_columns",
    "from_day",
    "measures_from_rows",
    "measures_in_force",
    "to_day",
]

I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

EVENT_CODES = {kind: i for i, kind in enumerate(EventKind)}


# ------------------------------------------------------------------------------ the Python side


@dataclass(frozen=True)
class Columns:
    """Records and events as columns. Records sorted by (subject, day, id)."""

    subject: I32  # index into the caller's subject table, non-decreasing
    type: I32  # index into CompiledCatalog.type_ids
    day: I32
    ev_record: I32  # row in the record columns
    ev_kind: I32  # EVENT_CODES
    ev_day: I32
    n_subjects: int


@dataclass(frozen=True)
class BatchResult:
    """Per subject: scheme scores (dense: subjects x schemes), memberships and measures (rows)."""

    compiled: Rulebook
    as_of: date
    score: F64
    grade: I32
    touched: B
    exhausted: B
    m_subject: I32
    m_list: I32
    m_since: I32
    m_until: I32
    m_scheme: I32
    x_subject: I32
    x_measure: npt.NDArray[np.object_]
    x_until: I32
    x_since: I32  # NEVER for perks (they hold while the score does)
    x_list: I32  # -1 for perks
    x_memo: npt.NDArray[np.object_]
    x_scheme: I32  # -1 for list measures
    x_order: I32
    """The order (index into ``compiled.order_rows``) of a measure ordered directly; -1 else."""
    needs_reference: B
    """Subjects holding a legal role: their profile depends on an organisation's records, and
    only the reference evaluation follows that link."""

    def view(self, i: int) -> dict[str, Any]:
        """Subject ``i``'s results in plain values (what the tests compare with ``evaluate``)."""
        c = self.compiled
        schemes = {
            c.scheme_ids[s]: (
                float(self.score[i, s]),
                c.grade_names[s][self.grade[i, s]] if self.grade[i, s] >= 0 else None,
                bool(self.exhausted[i, s]) if c.schemes.kind[s] == LICENCE else None,
            )
            for s in np.flatnonzero(self.touched[i])
        }
        rows = np.flatnonzero(self.m_subject == i)
        lists = sorted(
            (c.list_ids[self.m_list[r]], from_day(self.m_since[r]), from_day(self.m_until[r]))
            for r in rows
        )
        xs = np.flatnonzero(self.x_subject == i)
        measures = sorted(
            (
                (
                    str(self.x_measure[r]),
                    c.list_ids[self.x_list[r]] if self.x_list[r] >= 0 else None,
                    self.x_memo[r],
                    c.scheme_ids[self.x_scheme[r]] if self.x_scheme[r] >= 0 else None,
                    from_day(self.x_until[r]),
                    c.order_rows[self.x_order[r]].order if self.x_order[r] >= 0 else None,
                )
                for r in xs
            ),
            key=repr,
        )
        return {"schemes": schemes, "lists": lists, "measures": measures}


SERIAL_RECORDS = 1 << 16
"""Below this many records the windows are computed on the calling thread (see
:func:`evaluate_columns`)."""


@dataclass(frozen=True)
class _Measures:
    """A rulebook's measure rows as arrays, built once per rulebook (:func:`_measures`).

    Row ``k`` is the ``k``-th (memorandum or order or perk, measure) pair in catalog order
    (memoranda, then orders, then perks, each with its measures in order); results are ordered
    by it, then by subject. Each row has a ground: a membership of list ``li`` (ground ``li``),
    an order ``o`` in force (ground ``n_lists + o``), or perk ``p``'s threshold reached
    (ground ``n_lists + n_orders + p``)."""

    ground: npt.NDArray[np.int64]
    measure: npt.NDArray[np.object_]
    memo: npt.NDArray[np.object_]
    list: I32
    order: I32
    scheme: I32
    """The perk's scheme; -1 for a row of a memorandum or an order."""
    n_grounds: int
    perk_scheme: I32
    perk_at_least: F64
    """Per perk."""
    role_type: B
    """Record types that make their subject one for the reference (a legal role)."""


_MEASURES: dict[str, _Measures] = {}


def _measures(c: Rulebook) -> _Measures:
    """The rulebook's :class:`_Measures` (cached by its digest, as the rulebook is)."""
    found = _MEASURES.get(c.digest)
    if found is not None:
        return found
    nl, no = len(c.list_ids), len(c.order_rows)
    list_index = {lid: i for i, lid in enumerate(c.list_ids)}
    scheme_index = {sid: i for i, sid in enumerate(c.scheme_ids)}
    # ground, measure, memorandum, list, order, scheme
    rows: list[tuple[int, str, str | None, int, int, int]] = []
    for memo_id, list_id, measures, _reach in c.memoranda:
        li = list_index[list_id]
        rows += [(li, measure, memo_id, li, -1, -1) for measure in measures]
    for oi, (_order_id, measures, _reach) in enumerate(c.order_rows):
        rows += [(nl + oi, measure, None, -1, oi, -1) for measure in measures]
    for pi, (scheme_id, _at_least, measures) in enumerate(c.perks):
        si = scheme_index[scheme_id]
        rows += [(nl + no + pi, measure, None, -1, -1, si) for measure in measures]

    def objects(values: Sequence[str | None]) -> npt.NDArray[np.object_]:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    role_type = np.zeros(max(c.n_types, 1), np.bool_)
    role_type[[c.type_ids[t] for t in c.role_types if t in c.type_ids]] = True
    found = _Measures(
        ground=np.array([r[0] for r in rows], np.int64),
        measure=objects([r[1] for r in rows]),
        memo=objects([r[2] for r in rows]),
        list=np.array([r[3] for r in rows], np.int32),
        order=np.array([r[4] for r in rows], np.int32),
        scheme=np.array([r[5] for r in rows], np.int32),
        n_grounds=nl + no + len(c.perks),
        perk_scheme=np.array([scheme_index[p.scheme] for p in c.perks], np.int32),
        perk_at_least=np.array([p.at_least for p in c.perks], np.float64),
        role_type=role_type,
    )
    _MEASURES[c.digest] = found
    return found


def evaluate_columns(
    cols: Columns, catalog: Loaded | CatalogIndex, as_of: date, *, parallel: bool | None = None
) -> BatchResult:
    """Evaluate every subject in ``cols`` on ``as_of``.

    ``parallel``: fold on Numba's worker threads (:func:`~socialcredit.rules.fold.fold_subjects`)
    or on the calling thread (:func:`~socialcredit.rules.fold.fold_subjects_serial`, the same
    kernels); by default in parallel only for more subjects than one parallel task takes
    (:data:`~socialcredit.rules.fold.CHUNK`) or records than :data:`SERIAL_RECORDS`: waking
    the workers costs milliseconds on a busy machine, and a filing folds one subject.
    """
    c = compile_catalog(catalog)
    day0 = to_day(as_of)
    keep = cols.day <= day0
    if not keep.all():
        remap = np.cumsum(keep) - 1
        ev_keep = keep[cols.ev_record]
        subj, typ, rday = cols.subject[keep], cols.type[keep], cols.day[keep]
        ev_record = remap[cols.ev_record[ev_keep]].astype(np.int32)
        ev_kind, ev_day = cols.ev_kind[ev_keep], cols.ev_day[ev_keep]
    else:
        subj, typ, rday = cols.subject, cols.type, cols.day
        ev_record, ev_kind, ev_day = cols.ev_record, cols.ev_kind, cols.ev_day
    n_rec = typ.shape[0]
    happened = ev_day <= day0
    voided = np.zeros(n_rec, np.bool_)
    for kind in (EventKind.revoked, EventKind.objection_upheld):
        voided[ev_record[happened & (ev_kind == EVENT_CODES[kind])]] = True
    firsts = {}
    for kind in (EventKind.repair_granted, EventKind.fulfilled, EventKind.creditor_withdrew):
        col = np.full(n_rec, NEVER, np.int32)
        sel = happened & (ev_kind == EVENT_CODES[kind])
        if sel.any():
            np.minimum.at(col, ev_record[sel], ev_day[sel])
        firsts[kind] = col
    eff_until = np.empty(n_rec, np.int32)
    eff_nat = np.empty(n_rec, np.int32)
    repaired = np.empty(n_rec, np.int32)
    performed = np.minimum(firsts[EventKind.fulfilled], firsts[EventKind.creditor_withdrew])
    n = cols.n_subjects
    if parallel is None:
        parallel = n > CHUNK or n_rec >= SERIAL_RECORDS
    windows = record_windows if parallel else record_windows_serial
    windows(
        c.types, typ, rday, firsts[EventKind.repair_granted], performed, eff_until, eff_nat,
        repaired,
    )  # fmt: skip
    recs = Records(
        type=typ,
        day=rday,
        voided=voided,
        effect_until=eff_until,
        natural_end=eff_nat,
        fulfilled=firsts[EventKind.fulfilled],
        withdrawn=firsts[EventKind.creditor_withdrew],
        repaired=repaired,
    )
    starts = np.searchsorted(subj, np.arange(n + 1)).astype(np.int64)
    ns = len(c.scheme_ids)
    per_type = np.diff(c.lists.type_start).astype(np.int64) + np.diff(c.orders.type_start)
    running = np.zeros(n_rec + 1, np.int64)
    np.cumsum(per_type[typ], out=running[1:])
    cap = running[starts[1:]] - running[starts[:-1]] + len(c.lists.scheme_list)
    m_off = np.zeros(n + 1, np.int64)
    np.cumsum(cap, out=m_off[1:])
    total = int(m_off[-1])
    m_list = np.empty(total, np.int32)
    m_since = np.empty(total, np.int32)
    m_until = np.empty(total, np.int32)
    m_scheme = np.empty(total, np.int32)
    m_count = np.zeros(n, np.int32)
    score = np.zeros((n, ns), np.float64)
    grade = np.full((n, ns), -1, np.int32)
    touched = np.zeros((n, ns), np.bool_)
    exhausted = np.zeros((n, ns), np.bool_)
    out = Folded(score, grade, touched, exhausted, m_off, m_list, m_since, m_until, m_scheme,
                 m_count)  # fmt: skip
    fold = fold_subjects if parallel else fold_subjects_serial
    fold(c.schemes, c.rules, c.lists, c.orders, c.n_types, recs, starts, day0, out)
    used = np.zeros(total, np.bool_)
    idx = np.repeat(m_off[:-1], m_count) + (
        np.arange(int(m_count.sum())) - np.repeat(np.cumsum(m_count) - m_count, m_count)
    )
    used[idx] = True
    m_subject = np.repeat(np.arange(n, dtype=np.int32), m_count)
    m_list, m_since, m_until, m_scheme = m_list[used], m_since[used], m_until[used], m_scheme[used]

    # measures: memberships through memoranda, orders in force, and perks from scores; each
    # ground's subjects in order, then each measure row takes those of its ground
    x = _measures(c)
    hit = touched[:, x.perk_scheme] & (score[:, x.perk_scheme] >= x.perk_at_least)
    p_subject, p_perk = np.nonzero(hit)
    nevers = np.full(p_subject.size, NEVER, np.int32)
    ground = np.concatenate((m_list, len(c.list_ids) + len(c.order_rows) + p_perk))
    g_subject = np.concatenate((m_subject, p_subject.astype(np.int32)))
    g_since = np.concatenate((m_since, nevers))
    g_until = np.concatenate((m_until, nevers))
    small = x.n_grounds <= 1 << 16  # a radix sort
    by_ground = np.argsort(ground.astype(np.uint16) if small else ground, kind="stable")
    count = np.bincount(ground, minlength=x.n_grounds)
    sizes = count[x.ground]
    skip = np.repeat((np.cumsum(count) - count)[x.ground] - (np.cumsum(sizes) - sizes), sizes)
    which = by_ground[skip + np.arange(skip.size)]

    nl = len(c.list_ids)
    by_list = m_list < nl
    needs_reference = np.zeros(n, np.bool_)
    needs_reference[subj[x.role_type[typ] & ~voided]] = True
    return BatchResult(
        compiled=c,
        as_of=as_of,
        score=score,
        grade=grade,
        touched=touched,
        exhausted=exhausted,
        m_subject=m_subject[by_list],
        m_list=m_list[by_list],
        m_since=m_since[by_list],
        m_until=m_until[by_list],
        m_scheme=m_scheme[by_list],
        x_subject=g_subject[which],
        x_measure=np.repeat(x.measure, sizes),
        x_until=g_until[which],
        x_since=g_since[which],
        x_list=np.repeat(x.list, sizes),
        x_memo=np.repeat(x.memo, sizes),
        x_scheme=np.repeat(x.scheme, sizes),
        x_order=np.repeat(x.order, sizes),
        needs_reference=needs_reference,
    )


def columns_from_facts(
    histories: Sequence[Sequence[Fact]], catalog: Loaded | CatalogIndex
) -> Columns:
    """Columns for subjects 0..n-1 from each one's own facts (records of unknown types are
    left out: the reference reports them as ``unknown_type`` with no effect)."""
    c = compile_catalog(catalog)
    rows: list[tuple[int, int, int, int, str]] = []
    events: list[tuple[str, int, int]] = []
    for i, facts in enumerate(histories):
        for f in facts:
            if isinstance(f, Record):
                t = c.type_ids.get(f.record_type)
                if t is not None:
                    rows.append((i, to_day(f.decided_on), len(f.id), t, f.id))
            else:
                events.append((f.record_id, EVENT_CODES[f.kind], to_day(f.on)))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[4]))
    position = {(r[0], r[4]): k for k, r in enumerate(rows)}
    by_id: dict[str, list[int]] = {}
    for (_i, rid), k in position.items():
        by_id.setdefault(rid, []).append(k)
    ev = [(k, kind, d) for rid, kind, d in events for k in by_id.get(rid, ())]
    return Columns(
        subject=np.array([r[0] for r in rows], np.int32),
        type=np.array([r[3] for r in rows], np.int32),
        day=np.array([r[1] for r in rows], np.int32),
        ev_record=np.array([e[0] for e in ev], np.int32),
        ev_kind=np.array([e[1] for e in ev], np.int32),
        ev_day=np.array([e[2] for e in ev], np.int32),
        n_subjects=len(histories),
    )


class MeasureRow(NamedTuple):
    """One measure in force for a subject: what the check path's projection holds (a named
    tuple: a batch makes tens of thousands, and a dataclass costs several times as much)."""

    measure: str
    list: str | None
    memorandum: str | None
    since: date | None
    until: date | None
    via_role: str | None = None
    """The role held in the listed organisation it reaches the subject through."""


def _dates(days: I32) -> list[date | None]:
    """Day numbers as dates (:data:`NEVER`: ``None``), all at once."""
    as_dates = days.astype("datetime64[D]")
    as_dates[days >= NEVER] = np.datetime64("NaT")
    return as_dates.tolist()  # type: ignore[no-any-return]


def _list_names(c: Rulebook) -> npt.NDArray[np.object_]:
    """List ids by index, and ``None`` at index -1 (no list)."""
    names = np.empty(len(c.list_ids) + 1, dtype=object)
    names[:-1] = c.list_ids
    return names


def measures_in_force(
    facts_by_subject: Mapping[str, Sequence[Fact]], catalog: Loaded | CatalogIndex, as_of: date
) -> dict[str, list[MeasureRow]]:
    """Measures in force on ``as_of`` for every subject: the batch kernel for most, the
    reference :func:`evaluate` for those holding a legal role (their facts include their
    organisations' records)."""
    subjects = list(facts_by_subject)
    own = [
        [f for f in facts_by_subject[s] if not isinstance(f, Record) or f.subject == s]
        for s in subjects
    ]
    result = evaluate_columns(columns_from_facts(own, catalog), catalog, as_of)
    by_subject = np.argsort(result.x_subject, kind="stable")  # each one's in catalog order
    bounds = np.searchsorted(result.x_subject[by_subject], np.arange(len(subjects) + 1)).tolist()
    rows = list(
        starmap(  # MeasureRow._make would want via_role too: the batch's subjects hold no role
            MeasureRow,
            zip(
                result.x_measure[by_subject].tolist(),
                _list_names(result.compiled)[result.x_list[by_subject]].tolist(),
                result.x_memo[by_subject].tolist(),
                _dates(result.x_since[by_subject]),
                _dates(result.x_until[by_subject]),
                strict=True,
            ),
        )
    )
    out = {s: rows[bounds[i] : bounds[i + 1]] for i, s in enumerate(subjects)}
    for i in np.flatnonzero(result.needs_reference).tolist():
        subject = subjects[i]
        profile = evaluate(facts_by_subject[subject], catalog, as_of, subject=subject)
        out[subject] = [
            MeasureRow(a.measure, a.list, a.memorandum, a.since, a.until, a.via_role)
            for a in profile.measures
        ]
    return out


def measures_from_rows(
    ids: Sequence[int],
    subjects: Sequence[str],
    types: Sequence[str],
    decided: Sequence[Any],
    catalog: Loaded | CatalogIndex,
    as_of: date,
) -> list[tuple[str, str, str | None, str | None, date | None, date | None]]:
    """``(subject, measure, list, memorandum, since, until)`` for subjects whose only facts
    are the given records (no lifecycle events, no legal roles): the bulk import's new
    subjects, evaluated straight from the rows just inserted. ``decided`` holds dates or ISO
    strings."""
    if not ids:
        return []
    c = compile_catalog(catalog)
    names, subject_index = np.unique(np.asarray(subjects, dtype=object), return_inverse=True)
    type_index = np.fromiter((c.type_ids.get(t, -1) for t in types), np.int32, len(types))
    days = np.asarray(decided, dtype="datetime64[D]").astype(np.int64).astype(np.int32)
    id_arr = np.asarray(ids, dtype=np.int64)
    known = type_index >= 0
    order = np.lexsort((id_arr[known], days[known], subject_index[known]))
    cols = Columns(
        subject=subject_index[known][order].astype(np.int32),
        type=type_index[known][order],
        day=days[known][order],
        ev_record=np.zeros(0, np.int32),
        ev_kind=np.zeros(0, np.int32),
        ev_day=np.zeros(0, np.int32),
        n_subjects=len(names),
    )
    result = evaluate_columns(cols, catalog, as_of)
    return list(
        zip(
            map(str, names[result.x_subject].tolist()),
            result.x_measure.tolist(),
            _list_names(c)[result.x_list].tolist(),
            result.x_memo.tolist(),
            _dates(result.x_since),
            _dates(result.x_until),
            strict=True,
        )
    )
