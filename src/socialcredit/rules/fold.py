"""The compiled folds: a subject's records -> scores, grades, list memberships.

Each function states one rule of :mod:`socialcredit.registry.evaluate` (the readable reference)
over the tables of a :class:`~socialcredit.rules.tables.Rulebook` and a subject's records
``a .. b`` in :class:`~socialcredit.rules.tables.Records`. They are plain Numba functions, so a
driver can call them from its own kernel: the registry folds every subject at one date
(:func:`fold_subjects`); the simulator re-folds the subjects an event touched.

Each names its own setting of Numba's reference counting (``_nrt``): a function that names
none is compiled with the setting of whichever caller compiles it first, and cached so, whoever
calls it later. The folds that allocate (``score_at``'s counts, ``membership``'s stretches,
``score_span``'s change points) and the registry's drivers name it on; those that allocate
nothing and that the simulator's kernels call (``record_window``, ``stretches``,
``extended_stretch``, ``order_span``) name it off, sparing each call a reference to each array
it is given. Functions inlined into their callers (``inline="always"``) compile as part of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from socialcredit.daycount import NEVER, add_months
from socialcredit.rules.tables import (
    AT_LEAST,
    BELOW,
    CREDITOR_REQUEST,
    EXHAUSTED,
    FULFILMENT,
    GRADES,
    LICENCE,
    NO_LIMIT,
    POINTS,
    REPAIR,
    Folded,
    Lists,
    Orders,
    Records,
    Rules,
    Schemes,
    Types,
)

__all__ = [
    "cut",
    "grade",
    "holds",
    "in_effect",
    "order_span",
    "record_windows",
    "score_at",
    "score_span",
    "stretch",
    "fold_subjects",
    "fold_subjects_serial",
    "record_windows_serial",
]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_NEVER = int(NEVER)

_njit: Any = njit  # Numba's type stubs do not name ``_nrt``
_F = TypeVar("_F", bound=Callable[..., Any])


def compiled(*, nrt: bool, parallel: bool = False) -> Callable[[_F], _F]:
    """Compiles a fold, or a kernel calling folds (cached; releasing the GIL, or spread over
    Numba's workers where ``parallel``), with Numba's reference counting as ``nrt`` names,
    whoever calls it (the simulator's kernels are compiled by this too)."""
    options: dict[str, Any] = {"parallel": True} if parallel else {"nogil": True}
    return cast(Callable[[_F], _F], _njit(cache=True, _nrt=nrt, **options))


@njit(cache=True, nogil=True, inline="always")
def in_effect(recs: Records, r: int, day: int) -> bool:  # pragma: no cover - compiled
    """A record counts on ``day``: not voided, decided, its effect not ended."""
    return (not recs.voided[r]) and recs.day[r] <= day and day < recs.effect_until[r]


@compiled(nrt=False)
def record_window(
    types: Types, t: int, day: int, granted: int, performed: int = _NEVER
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """(effect end, natural end, repaired on) of a record of type ``t`` decided on ``day``:
    effect for ``effect_months`` (a default with no fixed end: until ``performed``, the day
    the obligation was performed or the creditor withdrew, and ``after_performance`` months
    more); a granted repair ends it on the day
    it was granted, never before ``min_months``."""
    e = types.effect_months[t]
    natural = add_months(day, e) if e != NO_LIMIT else _NEVER
    if e == NO_LIMIT and types.performance_ends[t] and performed != _NEVER:
        natural = add_months(max(performed, day), types.after_performance[t])
    until = natural
    repaired = _NEVER
    if granted != _NEVER and types.repairable[t]:
        repaired = max(granted, add_months(day, types.min_months[t]))
        until = min(until, repaired)
    return until, natural, repaired


@compiled(nrt=True, parallel=True)
def record_windows(
    types: Types,
    typ: I32,
    day: I32,
    granted: I32,
    performed: I32,
    until: I32,
    natural: I32,
    repaired: I32,
) -> None:  # pragma: no cover - compiled
    """:func:`record_window` for every record, in parallel (see :func:`record_windows_serial`)."""
    for r in prange(typ.shape[0]):
        until[r], natural[r], repaired[r] = record_window(
            types, typ[r], day[r], granted[r], performed[r]
        )


@compiled(nrt=True)
def record_windows_serial(
    types: Types,
    typ: I32,
    day: I32,
    granted: I32,
    performed: I32,
    until: I32,
    natural: I32,
    repaired: I32,
) -> None:  # pragma: no cover - compiled
    """:func:`record_windows` on the calling thread: for a few records, waking the parallel
    workers costs far more than the work (milliseconds on a busy machine)."""
    for r in range(typ.shape[0]):
        until[r], natural[r], repaired[r] = record_window(
            types, typ[r], day[r], granted[r], performed[r]
        )


@njit(cache=True, nogil=True, inline="always")
def points_for(rules: Rules, rule: int, occurrence: int) -> float:  # pragma: no cover
    """Points of the ``occurrence``-th (1-based) record a rule counts (the last value repeats)."""
    o0, o1 = rules.occ_start[rule], rules.occ_start[rule + 1]
    return float(rules.occ_points[o0 + min(occurrence, o1 - o0) - 1])


@compiled(nrt=True)
def score_at(
    schemes: Schemes,
    rules: Rules,
    nt: int,
    si: int,
    recs: Records,
    a: int,
    b: int,
    day: int,
    extra: float = 0.0,
) -> tuple[float, bool]:  # pragma: no cover - compiled
    """Scheme ``si``'s score on ``day`` from records ``a .. b`` (in decision order, so the
    n-th occurrence is the n-th in time), and for a licence whether it was exhausted.

    Points: base plus every counted rule (plus ``extra``, the points other people's records
    give through links), clamped to [floor, ceiling]. Licence: from its points,
    each record within the rolling period moves the balance within [0, points]; reaching 0 is
    exhaustion, which later restorations do not undo. Weighted: each dimension from its base,
    clamped to [0, 100], weighted onto [low, high].
    """
    base_rule = schemes.rule_start[si]
    counts = np.zeros(schemes.rule_start[si + 1] - base_rule, np.int32)
    kind = schemes.kind[si]
    if kind == LICENCE:
        points = schemes.base[si]
        window_start = add_months(day, -schemes.period_months[si])
        for r in range(a, b):  # a renewal returns the licence: earlier offences stop counting
            if schemes.renewed[si, recs.type[r]] and not recs.voided[r] and recs.day[r] <= day:
                window_start = max(window_start, recs.day[r])
        balance = points
        hit = False
        for r in range(a, b):
            key = si * nt + recs.type[r]
            e0, e1 = rules.entry_start[key], rules.entry_start[key + 1]
            if e0 == e1 or not in_effect(recs, r, day) or recs.day[r] <= window_start:
                continue
            for e in range(e0, e1):
                rule = rules.entry_rule[e]
                counts[rule - base_rule] += 1
                pts = points_for(rules, rule, counts[rule - base_rule])
                balance = max(0.0, min(points, balance + pts))
                if balance <= 0:
                    hit = True
        return balance, hit
    d0, d1 = schemes.dim_start[si], schemes.dim_start[si + 1]
    totals = np.zeros(max(d1 - d0, 1), np.float64)
    for j in range(d1 - d0):
        totals[j] = schemes.dim_base[d0 + j]
    for r in range(a, b):
        key = si * nt + recs.type[r]
        e0, e1 = rules.entry_start[key], rules.entry_start[key + 1]
        if e0 == e1 or not in_effect(recs, r, day):
            continue
        for e in range(e0, e1):
            rule = rules.entry_rule[e]
            counts[rule - base_rule] += 1
            totals[rules.entry_dim[e]] += points_for(rules, rule, counts[rule - base_rule])
    if kind == POINTS:
        score = schemes.base[si] + totals[0] + extra
        return min(schemes.ceiling[si], max(schemes.floor[si], score)), False
    acc = 0.0
    wsum = 0.0
    for j in range(d1 - d0):
        acc += schemes.dim_weight[d0 + j] * min(100.0, max(0.0, totals[j]))
        wsum += schemes.dim_weight[d0 + j]
    frac = acc / (100.0 * wsum) if wsum > 0 else 0.0
    low, high = schemes.low[si], schemes.high[si]
    return np.round(low + (high - low) * frac, 6), False


@njit(cache=True, nogil=True, inline="always")
def grade(schemes: Schemes, si: int, score: float) -> int:  # pragma: no cover - compiled
    """The grade index (highest band first) of ``score``, or -1 below every band."""
    b0 = schemes.band_start[si]
    for g in range(schemes.band_start[si + 1] - b0):
        if score >= schemes.band_min[b0 + g]:
            return g
    return -1


@njit(cache=True, nogil=True, inline="always")
def holds(
    lists: Lists, li: int, score: float, g: int, exhausted: bool
) -> bool:  # pragma: no cover - compiled
    """Whether a score-based list's condition holds for this score, grade and exhaustion."""
    c = lists.condition[li]
    if c == EXHAUSTED:
        return exhausted
    if c == GRADES:
        return g >= 0 and bool(lists.grade_mask[li, g])
    if c == BELOW:
        return bool(score < lists.threshold[li])
    if c == AT_LEAST:
        return bool(score >= lists.threshold[li])
    return False


@njit(cache=True, nogil=True, inline="always")
def cut(
    start: int, natural: int, duration: int, ways: int, recs: Records, r: int
) -> int:  # pragma: no cover - compiled
    """The end of a stretch by record ``r`` from ``start``: ``duration`` months
    (:data:`NO_LIMIT`: no fixed term), never beyond ``natural``, ended early only by the ways
    off (bits) in ``ways``."""
    end = natural
    if duration != NO_LIMIT:
        end = min(end, add_months(start, duration))
    if recs.fulfilled[r] != _NEVER and ways & FULFILMENT:
        end = min(end, max(recs.fulfilled[r], start))
    if recs.withdrawn[r] != _NEVER and ways & CREDITOR_REQUEST:
        end = min(end, max(recs.withdrawn[r], start))
    if recs.repaired[r] != _NEVER and ways & REPAIR:
        end = min(end, recs.repaired[r])
    return end


@njit(cache=True, nogil=True, inline="always")
def stretch(lists: Lists, li: int, recs: Records, r: int) -> tuple[int, int]:  # pragma: no cover
    """Record ``r``'s own stretch on list ``li``: from its date for the listing's duration (the
    list's, or its term's for the record's type), never beyond the record's natural effect,
    ended early only by the ways off the listing allows."""
    t = recs.type[r]
    start = recs.day[r]
    end = cut(start, recs.natural_end[r], lists.duration_months[li, t], lists.ways_off[li, t],
              recs, r)  # fmt: skip
    return start, end


@compiled(nrt=False)
def extended_stretch(
    lists: Lists, li: int, recs: Records, r: int, a: int, b: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    """:func:`stretch`, extended by the largest extension (a record of the subject's ``a .. b``
    of a type extending it, not voided, decided while the stretch lasts): its months are
    added to the term and to the record's natural effect (Fa Shi [2017] No. 7, Art. 2)."""
    start, end = stretch(lists, li, recs, r)
    t = recs.type[r]
    if not lists.extendable[li, t]:
        return start, end
    months = 0
    for e in range(a, b):
        m = lists.extension_months[li, t, recs.type[e]]
        if m > months and not recs.voided[e] and start <= recs.day[e] < end:
            months = m
    if months == 0:
        return start, end
    natural = recs.natural_end[r]
    if natural != _NEVER:
        natural = add_months(natural, months)
    return start, cut(start, natural, lists.duration_months[li, t] + months,
                      lists.ways_off[li, t], recs, r)  # fmt: skip


@compiled(nrt=False)
def stretches(
    lists: Lists, recs: Records, a: int, b: int, day: int, sp_list: I32, sp_start: I32, sp_end: I32
) -> int:  # pragma: no cover - compiled
    """Every record's stretch on every list it enters that holds on ``day``, as rows of
    ``sp_*`` (room for one row per record and list entered); returns the number of rows."""
    n = 0
    for r in range(a, b):
        if recs.voided[r]:
            continue
        t = recs.type[r]
        for j in range(lists.type_start[t], lists.type_start[t + 1]):
            li = lists.type_list[j]
            start, end = extended_stretch(lists, li, recs, r, a, b)
            if start <= day < end:
                sp_list[n], sp_start[n], sp_end[n] = li, start, end
                n += 1
    return n


@compiled(nrt=True)
def membership(
    lists: Lists, li: int, day: int, sp_list: I32, sp_start: I32, sp_end: I32, n: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    """A list entered by records: (since, until) of the membership on ``day`` from the
    stretches in force (:func:`stretches`), or (NEVER, NEVER) if not on it. ``min_count``
    stretches (started within ``within_months`` of ``day`` when set, and cut to that) put the
    subject on it: since the ``min_count``-th start, until the ``min_count``-th latest end."""
    c = 0
    for k in range(n):
        if sp_list[k] == li:
            c += 1
    mc = lists.min_count[li]
    if c < mc:
        return _NEVER, _NEVER
    st = np.empty(c, np.int32)
    en = np.empty(c, np.int32)
    c = 0
    within = lists.within_months[li]
    horizon = add_months(day, -within) if within != NO_LIMIT else 0
    for k in range(n):
        if sp_list[k] != li:
            continue
        start, end = sp_start[k], sp_end[k]
        if within != NO_LIMIT:
            if start <= horizon:
                continue
            end = min(end, add_months(start, within))
        st[c] = start
        en[c] = end
        c += 1
    if c < mc:
        return _NEVER, _NEVER
    starts = np.sort(st[:c])
    ends = np.sort(en[:c])[::-1]
    return starts[mc - 1], ends[mc - 1]


@compiled(nrt=False)
def order_span(
    orders: Orders, o: int, recs: Records, a: int, b: int, day: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Order ``o`` on ``day``, from the subject's records ``a .. b``: (since, until) over the
    records ordering it whose stretch (:func:`cut`) holds on ``day`` (the earliest start, the
    latest end), or (NEVER, NEVER) if none does."""
    since = _NEVER
    until = -1
    for r in range(a, b):
        if recs.voided[r]:
            continue
        t = recs.type[r]
        orders_it = False
        for j in range(orders.type_start[t], orders.type_start[t + 1]):
            if orders.type_list[j] == o:
                orders_it = True
        if not orders_it:
            continue
        start = recs.day[r]
        end = cut(start, recs.natural_end[r], orders.duration_months[o, t],
                  orders.ways_off[o, t], recs, r)  # fmt: skip
        if start <= day < end:
            since = min(since, start)
            until = max(until, end)
    if since == _NEVER:
        return _NEVER, _NEVER
    return since, until


@compiled(nrt=True)
def score_span(
    schemes: Schemes,
    rules: Rules,
    lists: Lists,
    nt: int,
    si: int,
    li: int,
    recs: Records,
    a: int,
    b: int,
    day: int,
) -> tuple[int, int]:  # pragma: no cover - compiled
    """When a score condition that holds on ``day`` started holding (the earliest change point
    from which it held through ``day``) and when it stops with no new records (the first later
    change point at which it does not hold). Change points: record dates, effect ends and, for a
    licence, the days a record leaves the rolling period."""
    pts = np.empty(4 * (b - a), np.int32)
    npts = 0
    for r in range(a, b):
        if recs.voided[r]:
            continue
        pts[npts] = recs.day[r]
        npts += 1
        if recs.effect_until[r] != _NEVER:
            pts[npts] = recs.effect_until[r]
            npts += 1
        if schemes.kind[si] == LICENCE:
            leaves = add_months(recs.day[r], schemes.period_months[si])
            pts[npts] = leaves
            pts[npts + 1] = leaves + 1
            npts += 2
    pts = np.unique(pts[:npts])
    ok = np.empty(pts.shape[0], np.bool_)
    for q in range(pts.shape[0]):
        sc, ex = score_at(schemes, rules, nt, si, recs, a, b, pts[q])
        ok[q] = holds(lists, li, sc, grade(schemes, si, sc), ex)
    since = day
    for q in range(pts.shape[0] - 1, -1, -1):
        if pts[q] > day:
            continue
        if not ok[q]:
            break
        since = pts[q]
    until = _NEVER
    for q in range(pts.shape[0]):
        if pts[q] > day and not ok[q]:
            until = pts[q]
            break
    return since, until


@njit(cache=True, nogil=True, inline="always")
def touches(
    rules: Rules, nt: int, si: int, recs: Records, a: int, b: int
) -> bool:  # pragma: no cover
    """Whether any of the subject's non-voided records counts in scheme ``si``."""
    for r in range(a, b):
        key = si * nt + recs.type[r]
        if not recs.voided[r] and rules.entry_start[key + 1] > rules.entry_start[key]:
            return True
    return False


@compiled(nrt=True)
def fold_range(
    schemes: Schemes,
    rules: Rules,
    lists: Lists,
    orders: Orders,
    nt: int,
    recs: Records,
    starts: I64,
    day: int,
    out: Folded,
    lo: int,
    hi: int,
) -> None:  # pragma: no cover - compiled
    """Subjects ``lo .. hi`` (records ``starts[i] .. starts[i + 1]``) on ``day``: scores,
    grades and exhaustion per scheme, memberships from row ``out.m_off[i]`` on (then the
    orders in force, as rows ``nl + o``)."""
    nl = lists.min_count.shape[0]
    no = orders.duration_months.shape[0]
    ns = schemes.kind.shape[0]
    for i in range(lo, hi):
        a, b = starts[i], starts[i + 1]
        w = out.m_off[i]
        room = 0
        for r in range(a, b):
            room += lists.type_start[recs.type[r] + 1] - lists.type_start[recs.type[r]]
        sp_list = np.empty(room, np.int32)
        sp_start = np.empty(room, np.int32)
        sp_end = np.empty(room, np.int32)
        n = stretches(lists, recs, a, b, day, sp_list, sp_start, sp_end)
        for li in range(nl if n > 0 else 0):
            if lists.scheme[li] >= 0:
                continue
            since, until = membership(lists, li, day, sp_list, sp_start, sp_end, n)
            if since == _NEVER:
                continue
            out.m_list[w], out.m_since[w], out.m_until[w], out.m_scheme[w] = li, since, until, -1
            w += 1
        for o in range(no if b > a else 0):
            since, until = order_span(orders, o, recs, a, b, day)
            if since == _NEVER:
                continue
            out.m_list[w], out.m_since[w], out.m_until[w], out.m_scheme[w] = (
                nl + o,
                since,
                until,
                -1,
            )
            w += 1
        for si in range(ns):
            if not touches(rules, nt, si, recs, a, b):
                continue
            sc, ex = score_at(schemes, rules, nt, si, recs, a, b, day)
            g = grade(schemes, si, sc)
            out.touched[i, si] = True
            out.score[i, si] = sc
            out.grade[i, si] = g
            out.exhausted[i, si] = ex
            for j in range(lists.scheme_start[si], lists.scheme_start[si + 1]):
                li = lists.scheme_list[j]
                if not holds(lists, li, sc, g, ex):
                    continue
                since, until = score_span(schemes, rules, lists, nt, si, li, recs, a, b, day)
                out.m_list[w], out.m_since[w], out.m_until[w], out.m_scheme[w] = (
                    li, since, until, si
                )  # fmt: skip
                w += 1
        out.m_count[i] = w - out.m_off[i]


CHUNK = 4096
"""Subjects per parallel task: :func:`fold_subjects` on fewer is :func:`fold_subjects_serial`
with a thread launch added."""


@compiled(nrt=True, parallel=True)
def fold_subjects(
    schemes: Schemes,
    rules: Rules,
    lists: Lists,
    orders: Orders,
    nt: int,
    recs: Records,
    starts: I64,
    day: int,
    out: Folded,
) -> None:  # pragma: no cover - compiled
    """:func:`fold_range` over every subject, in parallel chunks of :data:`CHUNK`."""
    n = starts.shape[0] - 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        fold_range(schemes, rules, lists, orders, nt, recs, starts, day, out, c * CHUNK,
                   min(n, (c + 1) * CHUNK))  # fmt: skip


@compiled(nrt=True)
def fold_subjects_serial(
    schemes: Schemes,
    rules: Rules,
    lists: Lists,
    orders: Orders,
    nt: int,
    recs: Records,
    starts: I64,
    day: int,
    out: Folded,
) -> None:  # pragma: no cover - compiled
    """:func:`fold_subjects` on the calling thread, for a few subjects (a filing's): the same
    :func:`fold_range`, without waking the parallel workers."""
    fold_range(schemes, rules, lists, orders, nt, recs, starts, day, out, 0, starts.shape[0] - 1)
