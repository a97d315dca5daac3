"""``compile_catalog(catalog) -> Rulebook``: a loaded catalog as tables, once.

The compilation is cached by the catalog's content (two loads of the same files share it) and
on the index itself. :func:`rules_of` is the one reading of a scheme's rules (with the dimension
they add to and the role they reach through) that the reference evaluation shares.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.policy.schema import (
    LicenceScheme,
    Nature,
    PointsScheme,
    Removal,
    Rule,
    Scheme,
    WeightedScheme,
)
from socialcredit.rules.features import catalog_features
from socialcredit.rules.tables import (
    AT_LEAST,
    BELOW,
    BY_RECORDS,
    COURSE_PASSED,
    CREDITOR_REQUEST,
    EXHAUSTED,
    EXPIRY,
    FULFILMENT,
    GRADES,
    LICENCE,
    NO_LIMIT,
    OBJECTION,
    POINTS,
    REPAIR,
    SCORE_RECOVERY,
    WEIGHTED,
    Lists,
    MemoRow,
    OrderRow,
    Orders,
    PerkRow,
    ReleaseRow,
    Rulebook,
    Rules,
    Schemes,
    Types,
)

__all__ = ["WAYS_OFF", "compile_catalog", "rules_of"]

WAYS_OFF = {
    Removal.fulfilment: FULFILMENT,
    Removal.creditor_request: CREDITOR_REQUEST,
    Removal.repair: REPAIR,
    Removal.expiry: EXPIRY,
    Removal.objection: OBJECTION,
    Removal.score_recovery: SCORE_RECOVERY,
    Removal.course_passed: COURSE_PASSED,
}

_CACHE: dict[str, Rulebook] = {}
_ATTR = "_rulebook"


def rules_of(scheme: Scheme) -> list[tuple[Rule, int, str | None]]:
    """Every rule of a scheme with its dimension index (0 if none) and the role it reaches
    through (``None``: the subject's own records)."""
    if isinstance(scheme, WeightedScheme):
        out: list[tuple[Rule, int, str | None]] = []
        for i, dim in enumerate(scheme.dimensions):
            for rule in dim.rules:
                via = rule.via or dim.via
                out.append((rule, i, via.value if via is not None else None))
        return out
    return [(r, 0, r.via.value if r.via is not None else None) for r in scheme.rules]


def compile_catalog(catalog: Loaded | CatalogIndex) -> Rulebook:
    """The catalog's :class:`Rulebook` (cached by content)."""
    index = catalog.index if isinstance(catalog, Loaded) else catalog
    cached = index.__dict__.get(_ATTR)
    if isinstance(cached, Rulebook):
        return cached
    digest = hashlib.sha256(index.catalog.model_dump_json().encode()).hexdigest()
    book = _CACHE.get(digest)
    if book is None:
        book = _compile(index, digest)
        _CACHE[digest] = book
    index.__dict__[_ATTR] = book
    return book


def _i32(values: list[int]) -> Any:
    return np.array(values, np.int32)


def _f64(values: list[float]) -> Any:
    return np.array(values, np.float64)


def _compile(index: CatalogIndex, digest: str) -> Rulebook:
    cat = index.catalog
    type_ids = {rt.code: i for i, rt in enumerate(cat.record_types)}
    nt = len(type_ids)
    types = Types(
        min_months=_i32([rt.publication.min_months for rt in cat.record_types]),
        effect_months=_i32(
            [
                NO_LIMIT if rt.publication.effect is None else rt.publication.effect
                for rt in cat.record_types
            ]
        ),  # fmt: skip
        repairable=np.array([rt.repairable for rt in cat.record_types], np.bool_),
        performance_ends=np.array(
            [
                rt.publication.effect is None and rt.nature is Nature.default
                for rt in cat.record_types
            ],
            np.bool_,
        ),  # fmt: skip
        after_performance=_i32(
            [rt.publication.after_performance_months or 0 for rt in cat.record_types]
        ),
    )

    schemes = list(cat.schemes)
    scheme_ids = [s.id for s in schemes]
    kind: list[int] = []
    period: list[int] = []
    base: list[float] = []
    floor: list[float] = []
    ceiling: list[float] = []
    low: list[float] = []
    high: list[float] = []
    renewed = np.zeros((len(schemes), max(nt, 1)), np.bool_)
    rule_start, band_start, band_min = [0], [0], []
    dim_start, dim_base, dim_weight = [0], [], []
    grade_names: list[list[str]] = []
    entries: dict[int, list[tuple[int, int]]] = {}
    occ_start, occ_points = [0], []
    links: list[tuple[str, str, str]] = []
    for si, scheme in enumerate(schemes):
        row = [0.0] * 5
        months = 0
        if isinstance(scheme, PointsScheme):
            kind.append(POINTS)
            row[:3] = [scheme.base, scheme.floor, scheme.ceiling]
        elif isinstance(scheme, LicenceScheme):
            kind.append(LICENCE)
            row[0] = scheme.points
            months = scheme.period_months
            for code in scheme.renewed_by:
                if code in type_ids:
                    renewed[si, type_ids[code]] = True
        else:
            kind.append(WEIGHTED)
            row[3:] = [scheme.low, scheme.high]
            dim_base += [d.base for d in scheme.dimensions]
            dim_weight += [d.weight for d in scheme.dimensions]
        dim_start.append(len(dim_base))
        for column, value in zip((base, floor, ceiling, low, high), row, strict=True):
            column.append(value)
        period.append(months)
        bands = sorted(((b.min, b.grade) for b in scheme.bands), reverse=True)
        grade_names.append([g for _, g in bands])
        band_min += [m for m, _ in bands]
        band_start.append(len(band_min))
        for rule, dim, via in rules_of(scheme):
            if via is not None:
                links.append((scheme.id, rule.record_type, via))
                continue
            if rule.record_type not in type_ids:
                continue
            occ_points += [rule.points] if rule.points is not None else list(rule.by_occurrence)
            occ_start.append(len(occ_points))
            key = si * nt + type_ids[rule.record_type]
            entries.setdefault(key, []).append((len(occ_start) - 2, dim))
        rule_start.append(len(occ_start) - 1)
    entry_start, entry_rule, entry_dim = [0], [], []
    for key in range(len(schemes) * nt):
        for r, d in entries.get(key, ()):
            entry_rule.append(r)
            entry_dim.append(d)
        entry_start.append(len(entry_rule))

    lists = list(cat.lists)
    list_ids = [x.id for x in lists]
    scheme_index = {sid: i for i, sid in enumerate(scheme_ids)}
    condition = np.full(len(lists), BY_RECORDS, np.int32)
    threshold = np.zeros(len(lists), np.float64)
    grade_mask = np.zeros((len(lists), max([len(g) for g in grade_names] + [1])), np.bool_)
    list_scheme = np.full(len(lists), -1, np.int32)
    for li, x in enumerate(lists):
        e = x.entry
        if e.scheme is None or e.scheme not in scheme_index:
            continue
        si = scheme_index[e.scheme]
        list_scheme[li] = si
        if e.exhausted:
            condition[li] = EXHAUSTED
        elif e.grades:
            condition[li] = GRADES
            for gi, g in enumerate(grade_names[si]):
                grade_mask[li, gi] = g in e.grades
        elif e.score_below is not None:
            condition[li], threshold[li] = BELOW, e.score_below
        elif e.score_at_least is not None:
            condition[li], threshold[li] = AT_LEAST, e.score_at_least
    by_type: dict[int, list[int]] = {}
    for li, x in enumerate(lists):
        for code in x.entry.record_types:
            if code in type_ids:
                by_type.setdefault(type_ids[code], []).append(li)
    type_start, type_list = [0], []
    for t in range(nt):
        type_list += by_type.get(t, [])
        type_start.append(len(type_list))
    scheme_start, scheme_list = [0], []
    for si in range(len(schemes)):
        scheme_list += sorted(
            (li for li in range(len(lists)) if list_scheme[li] == si), key=lambda i: list_ids[i]
        )
        scheme_start.append(len(scheme_list))
    durations = np.full((len(lists), max(nt, 1)), NO_LIMIT, np.int32)
    ways = np.zeros((len(lists), max(nt, 1)), np.int32)
    ext = np.zeros((len(lists), max(nt, 1), max(nt, 1)), np.int32)
    for li, x in enumerate(lists):
        for code, t in type_ids.items():
            term_months, removal = x.term_for(code)
            durations[li, t] = NO_LIMIT if term_months is None else term_months
            ways[li, t] = sum(WAYS_OFF[r] for r in set(removal))
            for other, months in x.extensions_for(code).items():
                if other in type_ids:
                    ext[li, t, type_ids[other]] = months
    orders = list(cat.orders)
    o_dur = np.full((len(orders), max(nt, 1)), NO_LIMIT, np.int32)
    o_ways = np.zeros((len(orders), max(nt, 1)), np.int32)
    o_by_type: dict[int, list[int]] = {}
    for oi, o in enumerate(orders):
        o_dur[oi, :] = NO_LIMIT if o.duration_months is None else o.duration_months
        o_ways[oi, :] = sum(WAYS_OFF[r] for r in set(o.removal))
        for code in dict.fromkeys(o.record_types):
            if code in type_ids:
                o_by_type.setdefault(type_ids[code], []).append(oi)
    o_start, o_list = [0], []
    for t in range(nt):
        o_list += o_by_type.get(t, [])
        o_start.append(len(o_list))

    return Rulebook(
        type_ids=type_ids,
        scheme_ids=scheme_ids,
        list_ids=list_ids,
        grade_names=grade_names,
        types=types,
        schemes=Schemes(
            kind=_i32(kind),
            base=_f64(base),
            floor=_f64(floor),
            ceiling=_f64(ceiling),
            low=_f64(low),
            high=_f64(high),
            period_months=_i32(period),
            rule_start=_i32(rule_start),
            band_start=_i32(band_start),
            band_min=_f64(band_min),
            dim_start=_i32(dim_start),
            dim_base=_f64(dim_base),
            dim_weight=_f64(dim_weight),
            renewed=renewed,
        ),
        rules=Rules(
            entry_start=_i32(entry_start),
            entry_rule=_i32(entry_rule),
            entry_dim=_i32(entry_dim),
            occ_start=_i32(occ_start),
            occ_points=_f64(occ_points),
        ),
        lists=Lists(
            duration_months=durations,
            min_count=_i32([x.entry.min_count for x in lists]),
            within_months=_i32([x.entry.within_months or NO_LIMIT for x in lists]),
            ways_off=ways,
            scheme=list_scheme,
            condition=condition,
            threshold=threshold,
            grade_mask=grade_mask,
            type_start=_i32(type_start),
            type_list=_i32(type_list),
            scheme_start=_i32(scheme_start),
            scheme_list=_i32(scheme_list),
            extension_months=ext,
            extendable=ext.max(axis=2) > 0 if ext.size else np.zeros(durations.shape, np.bool_),
        ),
        orders=Orders(
            duration_months=o_dur,
            ways_off=o_ways,
            type_start=_i32(o_start),
            type_list=_i32(o_list),
        ),
        order_rows=[
            OrderRow(o.id, tuple(o.measures), tuple(r.value for r in o.extends_to)) for o in orders
        ],
        memoranda=[
            MemoRow(m.id, list_id, tuple(m.measures), tuple(r.value for r in m.extends_to))
            for list_id in list_ids
            for m in index.memoranda_by_list.get(list_id, [])
        ],
        perks=[PerkRow(s.id, p.at_least, tuple(p.measures)) for s in schemes for p in s.perks],
        measure_kinds={m.id: m.kind.value for m in cat.measures},
        role_types=frozenset(
            rt.code
            for rt in cat.record_types
            if rt.role is not None or rt.code in index.release_steps
        ),
        releases=[
            ReleaseRow(r.id, tuple(x.value for x in r.roles), r.lifts, r.record_types)
            for r in cat.releases
        ],
        links=tuple(links),
        features=catalog_features(index),
        digest=digest,
    )
