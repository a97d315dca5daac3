"""Evaluation of many subjects at once: the same rules as :func:`evaluate`, compiled.

:func:`socialcredit.registry.evaluate.evaluate` is the reference: one subject, Python objects,
every detail of every record. This module computes what bulk work needs (scores and grades,
list memberships with since/until, measures in force with until) for millions of subjects from
columnar arrays, with the catalog compiled into flat tables and a Numba kernel that folds each
subject's records in parallel. Tests prove both give the same answers on random histories.

Subjects holding a legal role in an organisation (their profile depends on another subject's
records) are evaluated by the reference instead; they are few.

Days are ``int32`` days since 1970-01-01; "no date" is :data:`NEVER`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from socialcredit.daycount import EPOCH_ORDINAL, NEVER, from_day, to_day
from socialcredit.daycount import add_months as _add_months
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.policy.schema import LicenceScheme, PointsScheme, Removal, WeightedScheme
from socialcredit.registry.evaluate import _rules_of, evaluate
from socialcredit.registry.model import EventKind, Fact, Record

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

EVENT_CODES = {kind: i for i, kind in enumerate(EventKind)}


# ----------------------------------------------------------------------- the catalog as tables


@dataclass(frozen=True)
class CompiledCatalog:
    """A catalog flattened into arrays (CSR tables) for the kernel."""

    type_ids: dict[str, int]
    scheme_ids: list[str]
    list_ids: list[str]
    grade_names: list[list[str]]
    arrays: dict[str, np.ndarray[Any, Any]]
    memoranda: list[tuple[str, str, list[str]]]  # (memo id, list id, measures)
    perk_measures: list[tuple[str, float, list[str]]]  # (scheme id, at_least, measures)
    role_types: frozenset[str]


def compile_catalog(catalog: Loaded | CatalogIndex) -> CompiledCatalog:
    index = catalog.index if isinstance(catalog, Loaded) else catalog
    cached = index.__dict__.get("_batch_compiled")
    if isinstance(cached, CompiledCatalog):
        return cached
    cat = index.catalog
    type_ids = {rt.code: i for i, rt in enumerate(cat.record_types)}
    nt = len(type_ids)
    t_min = np.array([rt.publication.min_months for rt in cat.record_types], np.int32)
    t_eff = np.array(
        [-1 if rt.publication.effect is None else rt.publication.effect for rt in cat.record_types],
        np.int32,
    )
    t_repairable = np.array([rt.repairable for rt in cat.record_types], np.bool_)

    # schemes
    schemes = list(cat.schemes)
    scheme_ids = [s.id for s in schemes]
    s_kind = np.zeros(len(schemes), np.int32)
    s_num = np.zeros((len(schemes), 5), np.float64)  # base/points, floor, ceiling, low, high
    s_period = np.zeros(len(schemes), np.int32)
    band_start, band_min, band_grade = [0], [], []
    dim_start, dim_base, dim_weight = [0], [], []
    grade_names: list[list[str]] = []
    # (scheme, type) -> rule entries: CSR over scheme*nt + type
    entries: dict[int, list[tuple[int, int]]] = {}
    occ_start, occ_vals = [0], []
    rule_count = 0
    s_rule_base = np.zeros(len(schemes) + 1, np.int32)
    for si, scheme in enumerate(schemes):
        if isinstance(scheme, PointsScheme):
            s_kind[si] = 0
            s_num[si, :3] = (scheme.base, scheme.floor, scheme.ceiling)
        elif isinstance(scheme, LicenceScheme):
            s_kind[si] = 1
            s_num[si, 0] = scheme.points
            s_period[si] = scheme.period_months
        else:
            assert isinstance(scheme, WeightedScheme)
            s_kind[si] = 2
            s_num[si, 3:] = (scheme.low, scheme.high)
            for dim in scheme.dimensions:
                dim_base.append(dim.base)
                dim_weight.append(dim.weight)
        dim_start.append(len(dim_base))
        bands = sorted(((b.min, b.grade) for b in scheme.bands), reverse=True)
        grade_names.append([g for _, g in bands])
        for gi, (low, _g) in enumerate(bands):
            band_min.append(low)
            band_grade.append(gi)
        band_start.append(len(band_min))
        s_rule_base[si] = rule_count
        for rule, dim_index, via in _rules_of(scheme):
            if via is not None or rule.record_type not in type_ids:
                continue  # rules through roles: those subjects go to the reference
            values = [rule.points] if rule.points is not None else list(rule.by_occurrence)
            occ_vals += values
            occ_start.append(len(occ_vals))
            entries.setdefault(si * nt + type_ids[rule.record_type], []).append(
                (rule_count, dim_index)
            )
            rule_count += 1
    s_rule_base[len(schemes)] = rule_count
    st_start = [0]
    st_rule, st_dim = [], []
    for key in range(len(schemes) * nt):
        for r, d in entries.get(key, ()):
            st_rule.append(r)
            st_dim.append(d)
        st_start.append(len(st_rule))

    # lists
    lists = list(cat.lists)
    list_ids = [x.id for x in lists]
    scheme_index = {sid: i for i, sid in enumerate(scheme_ids)}
    l_dur = np.array([x.duration_months or -1 for x in lists], np.int32)
    l_min_count = np.array([x.entry.min_count for x in lists], np.int32)
    l_within = np.array([x.entry.within_months or -1 for x in lists], np.int32)
    l_fulfil = np.array([Removal.fulfilment in x.removal for x in lists], np.bool_)
    l_creditor = np.array([Removal.creditor_request in x.removal for x in lists], np.bool_)
    l_scheme = np.array(
        [scheme_index.get(x.entry.scheme, -1) if x.entry.scheme else -1 for x in lists], np.int32
    )
    # condition: 0 none, 1 exhausted, 2 grades, 3 below, 4 at least
    l_cond = np.zeros(len(lists), np.int32)
    l_thresh = np.zeros(len(lists), np.float64)
    l_grade_mask = np.zeros((len(lists), max([len(g) for g in grade_names] + [1])), np.bool_)
    for li, x in enumerate(lists):
        e = x.entry
        if e.scheme is None or e.scheme not in scheme_index:
            continue
        if e.exhausted:
            l_cond[li] = 1
        elif e.grades:
            l_cond[li] = 2
            names = grade_names[scheme_index[e.scheme]]
            for gi, g in enumerate(names):
                l_grade_mask[li, gi] = g in e.grades
        elif e.score_below is not None:
            l_cond[li], l_thresh[li] = 3, e.score_below
        elif e.score_at_least is not None:
            l_cond[li], l_thresh[li] = 4, e.score_at_least
    tl: dict[int, list[int]] = {}
    for li, x in enumerate(lists):
        for code in x.entry.record_types:
            if code in type_ids:
                tl.setdefault(type_ids[code], []).append(li)
    tl_start, tl_list = [0], []
    for t in range(nt):
        tl_list += tl.get(t, [])
        tl_start.append(len(tl_list))
    sl: dict[int, list[int]] = {}
    for li in range(len(lists)):
        if l_scheme[li] >= 0:
            sl.setdefault(int(l_scheme[li]), []).append(li)
    sl_start, sl_list = [0], []
    for si in range(len(schemes)):
        sl_list += sorted(sl.get(si, []), key=lambda i: list_ids[i])
        sl_start.append(len(sl_list))

    memoranda = [
        (m.id, list_id, list(m.measures))
        for list_id in list_ids
        for m in index.memoranda_by_list.get(list_id, [])
    ]
    perk_measures = [(s.id, p.at_least, list(p.measures)) for s in schemes for p in s.perks]
    role_types = frozenset(rt.code for rt in cat.record_types if rt.role is not None)
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "t_min": t_min,
        "t_eff": t_eff,
        "t_repairable": t_repairable,
        "s_kind": s_kind,
        "s_num": s_num,
        "s_period": s_period,
        "band_start": np.array(band_start, np.int32),
        "band_min": np.array(band_min, np.float64),
        "dim_start": np.array(dim_start, np.int32),
        "dim_base": np.array(dim_base, np.float64),
        "dim_weight": np.array(dim_weight, np.float64),
        "st_start": np.array(st_start, np.int32),
        "st_rule": np.array(st_rule, np.int32),
        "st_dim": np.array(st_dim, np.int32),
        "occ_start": np.array(occ_start, np.int32),
        "occ_vals": np.array(occ_vals, np.float64),
        "l_dur": l_dur,
        "l_min_count": l_min_count,
        "l_within": l_within,
        "l_fulfil": l_fulfil,
        "l_creditor": l_creditor,
        "l_repair": np.array([Removal.repair in x.removal for x in lists], np.bool_),
        "l_cond": l_cond,
        "l_thresh": l_thresh,
        "l_grade_mask": l_grade_mask,
        "tl_start": np.array(tl_start, np.int32),
        "tl_list": np.array(tl_list, np.int32),
        "sl_start": np.array(sl_start, np.int32),
        "sl_list": np.array(sl_list, np.int32),
        "l_scheme": l_scheme,
        "s_rule_base": s_rule_base,
    }
    compiled = CompiledCatalog(
        type_ids, scheme_ids, list_ids, grade_names, arrays, memoranda, perk_measures, role_types
    )
    index.__dict__["_batch_compiled"] = compiled
    return compiled


# ------------------------------------------------------------------------------ the kernel


@njit(cache=True, nogil=True)
def _in_effect(r: int, day: int, rday: I32, voided: B, eff_until: I32) -> bool:  # pragma: no cover
    return (not voided[r]) and rday[r] <= day and day < eff_until[r]


@njit(cache=True, nogil=True)
def _score_at(  # pragma: no cover - compiled
    si: int,
    a: int,
    b: int,
    day: int,
    nt: int,
    typ: I32,
    rday: I32,
    voided: B,
    eff_until: I32,
    s_kind: I32,
    s_num: F64,
    s_period: I32,
    s_rule_base: I32,
    dim_start: I32,
    dim_base: F64,
    dim_weight: F64,
    st_start: I32,
    st_rule: I32,
    st_dim: I32,
    occ_start: I32,
    occ_vals: F64,
) -> tuple[float, bool]:
    base_rule = s_rule_base[si]
    counts = np.zeros(s_rule_base[si + 1] - base_rule, np.int32)
    kind = s_kind[si]
    if kind == 1:
        points = s_num[si, 0]
        window_start = _add_months(day, -s_period[si])
        balance = points
        hit = False
        for r in range(a, b):
            key = si * nt + typ[r]
            e0, e1 = st_start[key], st_start[key + 1]
            if e0 == e1 or not _in_effect(r, day, rday, voided, eff_until):
                continue
            if rday[r] <= window_start:
                continue
            for e in range(e0, e1):
                rule = st_rule[e]
                k = rule - base_rule
                counts[k] += 1
                o0, o1 = occ_start[rule], occ_start[rule + 1]
                pts = occ_vals[o0 + min(counts[k], o1 - o0) - 1]
                balance = max(0.0, min(points, balance + pts))
                if balance <= 0:
                    hit = True
        return balance, hit
    d0, d1 = dim_start[si], dim_start[si + 1]
    ndim = max(d1 - d0, 1)
    totals = np.zeros(ndim, np.float64)
    if kind == 2:
        for j in range(d1 - d0):
            totals[j] = dim_base[d0 + j]
    for r in range(a, b):
        key = si * nt + typ[r]
        e0, e1 = st_start[key], st_start[key + 1]
        if e0 == e1 or not _in_effect(r, day, rday, voided, eff_until):
            continue
        for e in range(e0, e1):
            rule = st_rule[e]
            k = rule - base_rule
            counts[k] += 1
            o0, o1 = occ_start[rule], occ_start[rule + 1]
            totals[st_dim[e]] += occ_vals[o0 + min(counts[k], o1 - o0) - 1]
    if kind == 0:
        return min(s_num[si, 2], max(s_num[si, 1], s_num[si, 0] + totals[0])), False
    acc = 0.0
    wsum = 0.0
    for j in range(d1 - d0):
        v = min(100.0, max(0.0, totals[j]))
        acc += dim_weight[d0 + j] * v
        wsum += dim_weight[d0 + j]
    frac = acc / (100.0 * wsum) if wsum > 0 else 0.0
    low, high = s_num[si, 3], s_num[si, 4]
    return np.round(low + (high - low) * frac, 6), False


@njit(cache=True, nogil=True)
def _grade(si: int, score: float, band_start: I32, band_min: F64) -> int:  # pragma: no cover
    for g in range(band_start[si + 1] - band_start[si]):
        if score >= band_min[band_start[si] + g]:
            return g
    return -1


@njit(cache=True, nogil=True)
def _holds(
    li: int, score: float, grade: int, exhausted: bool, l_cond: I32, l_thresh: F64, l_grade_mask: B
) -> bool:  # pragma: no cover - compiled
    c = l_cond[li]
    if c == 1:
        return exhausted
    if c == 2:
        return grade >= 0 and bool(l_grade_mask[li, grade])
    if c == 3:
        return bool(score < l_thresh[li])
    if c == 4:
        return bool(score >= l_thresh[li])
    return False


@njit(parallel=True, cache=True)
def _kernel(  # noqa: PLR0913  # pragma: no cover - compiled
    starts: I64,
    typ: I32,
    rday: I32,
    voided: B,
    eff_until: I32,
    fulfilled: I32,
    withdrawn: I32,
    eff_nat: I32,
    repaired: I32,
    as_of: int,
    nt: int,
    s_kind: I32,
    s_num: F64,
    s_period: I32,
    s_rule_base: I32,
    band_start: I32,
    band_min: F64,
    dim_start: I32,
    dim_base: F64,
    dim_weight: F64,
    st_start: I32,
    st_rule: I32,
    st_dim: I32,
    occ_start: I32,
    occ_vals: F64,
    l_dur: I32,
    l_min_count: I32,
    l_within: I32,
    l_fulfil: B,
    l_creditor: B,
    l_repair: B,
    l_cond: I32,
    l_thresh: F64,
    l_grade_mask: B,
    tl_start: I32,
    tl_list: I32,
    sl_start: I32,
    sl_list: I32,
    out_score: F64,
    out_grade: I32,
    out_touched: B,
    out_exhausted: B,
    m_off: I64,
    m_list: I32,
    m_since: I32,
    m_until: I32,
    m_scheme: I32,
    m_count: I32,
) -> None:
    n = starts.shape[0] - 1
    ns = s_kind.shape[0]
    nl = l_dur.shape[0]
    for i in prange(n):
        a, b = starts[i], starts[i + 1]
        w = m_off[i]
        # ---- record-based lists
        cap = 0
        for r in range(a, b):
            cap += tl_start[typ[r] + 1] - tl_start[typ[r]]
        sp_list = np.empty(cap, np.int32)
        sp_start = np.empty(cap, np.int32)
        sp_end = np.empty(cap, np.int32)
        ns_ = 0
        for r in range(a, b):
            if voided[r]:
                continue
            t = typ[r]
            for j in range(tl_start[t], tl_start[t + 1]):
                li = tl_list[j]
                start = rday[r]
                end = eff_nat[r]
                if l_dur[li] >= 0:
                    end = min(end, _add_months(start, l_dur[li]))
                if fulfilled[r] != 2147483647 and l_fulfil[li]:
                    end = min(end, max(fulfilled[r], start))
                if withdrawn[r] != 2147483647 and l_creditor[li]:
                    end = min(end, max(withdrawn[r], start))
                if repaired[r] != 2147483647 and l_repair[li]:
                    end = min(end, repaired[r])
                if start <= as_of and as_of < end:
                    sp_list[ns_] = li
                    sp_start[ns_] = start
                    sp_end[ns_] = end
                    ns_ += 1
        for li in range(nl):
            cnt = 0
            for k in range(ns_):
                if sp_list[k] == li:
                    cnt += 1
            if cnt == 0:
                continue
            st = np.empty(cnt, np.int32)
            en = np.empty(cnt, np.int32)
            c = 0
            within = l_within[li]
            horizon = _add_months(as_of, -within) if within >= 0 else 0
            for k in range(ns_):
                if sp_list[k] != li:
                    continue
                if within >= 0:
                    if sp_start[k] <= horizon:
                        continue
                    st[c] = sp_start[k]
                    en[c] = min(sp_end[k], _add_months(sp_start[k], within))
                else:
                    st[c] = sp_start[k]
                    en[c] = sp_end[k]
                c += 1
            mc = l_min_count[li]
            if c < mc:
                continue
            st2 = np.sort(st[:c])
            en2 = np.sort(en[:c])[::-1]
            m_list[w] = li
            m_since[w] = st2[mc - 1]
            m_until[w] = en2[mc - 1]
            m_scheme[w] = -1
            w += 1
        # ---- schemes and score-based lists
        for si in range(ns):
            touched = False
            for r in range(a, b):
                key = si * nt + typ[r]
                if not voided[r] and st_start[key + 1] > st_start[key]:
                    touched = True
                    break
            if not touched:
                continue
            score, exhausted = _score_at(
                si,
                a,
                b,
                as_of,
                nt,
                typ,
                rday,
                voided,
                eff_until,
                s_kind,
                s_num,
                s_period,
                s_rule_base,
                dim_start,
                dim_base,
                dim_weight,
                st_start,
                st_rule,
                st_dim,
                occ_start,
                occ_vals,
            )
            grade = _grade(si, score, band_start, band_min)
            out_touched[i, si] = True
            out_score[i, si] = score
            out_grade[i, si] = grade
            out_exhausted[i, si] = exhausted
            for j in range(sl_start[si], sl_start[si + 1]):
                li = sl_list[j]
                if not _holds(li, score, grade, exhausted, l_cond, l_thresh, l_grade_mask):
                    continue
                # change points: record dates, effect ends, licence window exits
                pts = np.empty(4 * (b - a), np.int32)
                npts = 0
                for r in range(a, b):
                    if voided[r]:
                        continue
                    pts[npts] = rday[r]
                    npts += 1
                    if eff_until[r] != 2147483647:
                        pts[npts] = eff_until[r]
                        npts += 1
                    if s_kind[si] == 1:
                        leaves = _add_months(rday[r], s_period[si])
                        pts[npts] = leaves
                        pts[npts + 1] = leaves + 1
                        npts += 2
                pts = np.unique(pts[:npts])
                holds = np.empty(pts.shape[0], np.bool_)
                for q in range(pts.shape[0]):
                    sc, ex = _score_at(
                        si, a, b, pts[q], nt, typ, rday, voided, eff_until, s_kind, s_num,
                        s_period, s_rule_base, dim_start, dim_base, dim_weight, st_start,
                        st_rule, st_dim, occ_start, occ_vals,
                    )  # fmt: skip
                    g = _grade(si, sc, band_start, band_min)
                    holds[q] = _holds(li, sc, g, ex, l_cond, l_thresh, l_grade_mask)
                # since: the earliest change point from which it has held through as_of
                since = as_of
                for q in range(pts.shape[0] - 1, -1, -1):
                    if pts[q] > as_of:
                        continue
                    if not holds[q]:
                        break
                    since = pts[q]
                # until: the first later change point at which it stops holding
                until = 2147483647
                for q in range(pts.shape[0]):
                    if pts[q] > as_of and not holds[q]:
                        until = pts[q]
                        break
                m_list[w] = li
                m_since[w] = since
                m_until[w] = until
                m_scheme[w] = si
                w += 1
        m_count[i] = w - m_off[i]


@njit(parallel=True, cache=True)
def _record_windows(  # pragma: no cover - compiled
    typ: I32,
    rday: I32,
    granted: I32,
    t_min: I32,
    t_eff: I32,
    t_repairable: B,
    eff_until: I32,
    eff_nat: I32,
    repaired: I32,
) -> None:
    """Per record: effect end with and without repair, and when a repair took effect."""
    for r in prange(typ.shape[0]):
        t = typ[r]
        e = t_eff[t]
        until = _add_months(rday[r], e) if e >= 0 else 2147483647
        eff_nat[r] = until
        repaired[r] = 2147483647
        if granted[r] != 2147483647 and t_repairable[t]:
            repaired[r] = max(granted[r], _add_months(rday[r], t_min[t]))
            until = min(until, repaired[r])
        eff_until[r] = until


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

    compiled: CompiledCatalog
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
                bool(self.exhausted[i, s]) if c.arrays["s_kind"][s] == 1 else None,
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
                str(self.x_measure[r]),
                c.list_ids[self.x_list[r]] if self.x_list[r] >= 0 else None,
                self.x_memo[r],
                c.scheme_ids[self.x_scheme[r]] if self.x_scheme[r] >= 0 else None,
                from_day(self.x_until[r]),
            )
            for r in xs
        )
        return {"schemes": schemes, "lists": lists, "measures": measures}


def evaluate_columns(cols: Columns, catalog: Loaded | CatalogIndex, as_of: date) -> BatchResult:
    """Evaluate every subject in ``cols`` on ``as_of``."""
    c = compile_catalog(catalog)
    A = c.arrays
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
        np.minimum.at(col, ev_record[sel], ev_day[sel])
        firsts[kind] = col
    eff_until = np.empty(n_rec, np.int32)
    eff_nat = np.empty(n_rec, np.int32)
    repaired = np.empty(n_rec, np.int32)
    _record_windows(
        typ,
        rday,
        firsts[EventKind.repair_granted],
        A["t_min"],
        A["t_eff"],
        A["t_repairable"],
        eff_until,
        eff_nat,
        repaired,
    )
    n = cols.n_subjects
    starts = np.searchsorted(subj, np.arange(n + 1)).astype(np.int64)
    nt = len(c.type_ids)
    ns = len(c.scheme_ids)
    per_type = np.diff(A["tl_start"]).astype(np.int64)
    running = np.zeros(n_rec + 1, np.int64)
    np.cumsum(per_type[typ], out=running[1:])
    cap = running[starts[1:]] - running[starts[:-1]] + len(A["sl_list"])
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
    s_rule_base = A["s_rule_base"]
    _kernel(
        starts,
        typ,
        rday,
        voided,
        eff_until,
        firsts[EventKind.fulfilled],
        firsts[EventKind.creditor_withdrew],
        eff_nat,
        repaired,
        day0,
        nt,
        A["s_kind"],
        A["s_num"],
        A["s_period"],
        s_rule_base,
        A["band_start"],
        A["band_min"],
        A["dim_start"],
        A["dim_base"],
        A["dim_weight"],
        A["st_start"],
        A["st_rule"],
        A["st_dim"],
        A["occ_start"],
        A["occ_vals"],
        A["l_dur"],
        A["l_min_count"],
        A["l_within"],
        A["l_fulfil"],
        A["l_creditor"],
        A["l_repair"],
        A["l_cond"],
        A["l_thresh"],
        A["l_grade_mask"],
        A["tl_start"],
        A["tl_list"],
        A["sl_start"],
        A["sl_list"],
        score,
        grade,
        touched,
        exhausted,
        m_off,
        m_list,
        m_since,
        m_until,
        m_scheme,
        m_count,
    )
    used = np.zeros(total, np.bool_)
    idx = np.repeat(m_off[:-1], m_count) + (
        np.arange(int(m_count.sum())) - np.repeat(np.cumsum(m_count) - m_count, m_count)
    )
    used[idx] = True
    m_subject = np.repeat(np.arange(n, dtype=np.int32), m_count)
    m_list, m_since, m_until, m_scheme = m_list[used], m_since[used], m_until[used], m_scheme[used]

    # measures: memberships through memoranda, and perks from scores
    list_index = {lid: i for i, lid in enumerate(c.list_ids)}
    x_subject_l: list[I32] = []
    x_measure_l: list[npt.NDArray[np.object_]] = []
    x_until_l: list[I32] = []
    x_since_l: list[I32] = []
    x_list_l: list[I32] = []
    x_memo_l: list[npt.NDArray[np.object_]] = []
    x_scheme_l: list[I32] = []
    for memo_id, list_id, measures in c.memoranda:
        sel = np.flatnonzero(m_list == list_index[list_id])
        for measure in measures:
            x_subject_l.append(m_subject[sel])
            x_measure_l.append(np.full(sel.size, measure, dtype=object))
            x_until_l.append(m_until[sel])
            x_since_l.append(m_since[sel])
            x_list_l.append(m_list[sel])
            x_memo_l.append(np.full(sel.size, memo_id, dtype=object))
            x_scheme_l.append(np.full(sel.size, -1, np.int32))
    scheme_index = {sid: i for i, sid in enumerate(c.scheme_ids)}
    for scheme_id, at_least, measures in c.perk_measures:
        si = scheme_index[scheme_id]
        who = np.flatnonzero(touched[:, si] & (score[:, si] >= at_least)).astype(np.int32)
        for measure in measures:
            x_subject_l.append(who)
            x_measure_l.append(np.full(who.size, measure, dtype=object))
            x_until_l.append(np.full(who.size, NEVER, np.int32))
            x_since_l.append(np.full(who.size, NEVER, np.int32))
            x_list_l.append(np.full(who.size, -1, np.int32))
            x_memo_l.append(np.full(who.size, None, dtype=object))
            x_scheme_l.append(np.full(who.size, si, np.int32))

    def cat_(xs: Sequence[np.ndarray[Any, Any]], dtype: Any) -> Any:
        return np.concatenate(xs) if xs else np.zeros(0, dtype)

    role_type_ids = [c.type_ids[t] for t in c.role_types if t in c.type_ids]
    needs_reference = np.zeros(n, np.bool_)
    if role_type_ids:
        needs_reference[subj[np.isin(typ, role_type_ids) & ~voided]] = True
    return BatchResult(
        compiled=c,
        as_of=as_of,
        score=score,
        grade=grade,
        touched=touched,
        exhausted=exhausted,
        m_subject=m_subject,
        m_list=m_list,
        m_since=m_since,
        m_until=m_until,
        m_scheme=m_scheme,
        x_subject=cat_(x_subject_l, np.int32),
        x_measure=cat_(x_measure_l, object),
        x_until=cat_(x_until_l, np.int32),
        x_since=cat_(x_since_l, np.int32),
        x_list=cat_(x_list_l, np.int32),
        x_memo=cat_(x_memo_l, object),
        x_scheme=cat_(x_scheme_l, np.int32),
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


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """One measure in force for a subject: what the check path's projection holds."""

    measure: str
    list: str | None
    memorandum: str | None
    since: date | None
    until: date | None


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
    out: dict[str, list[MeasureRow]] = {s: [] for s in subjects}
    c = result.compiled
    for i, m, memo, lst, since, until in zip(
        result.x_subject.tolist(),
        result.x_measure.tolist(),
        result.x_memo.tolist(),
        result.x_list.tolist(),
        result.x_since.tolist(),
        result.x_until.tolist(),
        strict=True,
    ):
        out[subjects[i]].append(
            MeasureRow(
                m,
                c.list_ids[lst] if lst >= 0 else None,
                memo,
                from_day(since),
                from_day(until),
            )
        )
    for i in np.flatnonzero(result.needs_reference).tolist():
        subject = subjects[i]
        profile = evaluate(facts_by_subject[subject], catalog, as_of, subject=subject)
        out[subject] = [
            MeasureRow(a.measure, a.list, a.memorandum, a.since, a.until) for a in profile.measures
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
    lists = [*c.list_ids, None]
    return [
        (
            str(names[i]),
            measure,
            lists[li],
            memo,
            None if since >= NEVER else date.fromordinal(since + EPOCH_ORDINAL),
            None if until >= NEVER else date.fromordinal(until + EPOCH_ORDINAL),
        )
        for i, measure, memo, li, since, until in zip(
            result.x_subject.tolist(),
            result.x_measure.tolist(),
            result.x_memo.tolist(),
            result.x_list.tolist(),
            result.x_since.tolist(),
            result.x_until.tolist(),
            strict=True,
        )
    ]
