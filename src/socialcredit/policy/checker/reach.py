"""What a scheme's own numbers allow: the range analysis.

From a scheme's base, floor, ceiling, dimensions and the signs of its rules (:func:`span`), the
checker knows the score of a subject with no records and the scores deductions and additions
can reach. This module reports what can never apply (SC014) and inconsistent schemes (SC016);
:mod:`.shapes` reads the same range to refuse lists and incentives that do what their
declarations deny (SC017, SC018).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from socialcredit.policy.checker._base import (
    Context,
    RuleAt,
    all_rules,
    fmt,
    is_role,
    points_of,
    rules_of,
)
from socialcredit.policy.schema import (
    LEGAL_ROLES,
    LicenceScheme,
    PointsScheme,
    Scheme,
    WeightedScheme,
)


@dataclass(frozen=True)
class Span:
    """What a scheme's own numbers allow: the score of a subject with no records (``base``), and
    the lowest and highest scores its rules can reach (``low`` by deductions, ``high`` by
    additions; any number of records)."""

    base: float
    low: float
    high: float


def span(ctx: Context, scheme: Scheme) -> Span:
    """The reachable scores of a scheme, computed as evaluation computes a score.

    A points score is ``base`` plus the rules' points, clamped to ``floor..ceiling``; it reaches
    the floor only if some rule deducts, the ceiling only if some rule adds. A licence starts
    full and is exhausted at zero. A weighted score maps the weighted mean of its dimensions
    (each ``base`` plus its rules' points, clamped to 0..100) onto ``low..high``: a dimension
    without a deducting rule never goes below its base, one without an adding rule never above.
    Rules naming undefined record types are left out (SC012 reports them).
    """

    def moves(rules: Iterable[RuleAt]) -> tuple[bool, bool]:
        pts = [
            v
            for r in rules
            if r.rule.record_type in ctx.index.record_types
            for v in points_of(r.rule)
        ]
        return any(v < 0 for v in pts), any(v > 0 for v in pts)

    if isinstance(scheme, PointsScheme):
        down, up = moves(rules_of(scheme))
        base = min(scheme.ceiling, max(scheme.floor, scheme.base))
        return Span(base, scheme.floor if down else base, scheme.ceiling if up else base)
    if isinstance(scheme, LicenceScheme):
        down, _ = moves(rules_of(scheme))
        return Span(scheme.points, 0.0 if down else scheme.points, scheme.points)
    weight = sum(d.weight for d in scheme.dimensions)
    if weight <= 0:
        return Span(scheme.low, scheme.low, scheme.low)  # SC016 reports it
    spans = []
    for dim in scheme.dimensions:
        down, up = moves(r for r in rules_of(scheme) if r.dimension == dim.id)
        b = min(100.0, max(0.0, dim.base))
        spans.append((dim.weight, b, 0.0 if down else b, 100.0 if up else b))

    def score(pick: int) -> float:
        mean = sum(s[0] * s[pick] for s in spans) / (100.0 * weight)
        return round(scheme.low + (scheme.high - scheme.low) * mean, 6)

    return Span(score(1), score(2), score(3))


def reach(ctx: Context, scheme: Scheme) -> tuple[float, float]:
    """The lowest and highest score a scheme can reach."""
    s = span(ctx, scheme)
    return s.low, s.high


def sc014_never_applies(ctx: Context) -> None:
    ix = ctx.index
    used_measures = {m for memo in ctx.catalog.memoranda for m in memo.measures}
    used_measures |= {m for s in ctx.catalog.schemes for p in s.perks for m in p.measures}
    used_measures |= {m for o in ctx.catalog.orders for m in o.measures}
    for m in ctx.catalog.measures:
        if m.id not in used_measures:
            ctx.warn(
                "SC014",
                ctx.at("measures", m.id),
                f"measure {m.id} ({m.title}) can never apply: no memorandum, perk or order uses it",
                "map a list to it in a memorandum, or remove it",
            )
    for lst in ctx.catalog.lists:
        entry = lst.entry
        scheme = ix.schemes.get(entry.scheme) if entry.scheme is not None else None
        if scheme is None:
            continue
        lo, hi = reach(ctx, scheme)
        where = ctx.at("lists", lst.id, "entry")
        why = ""
        if entry.exhausted and not isinstance(scheme, LicenceScheme):
            why = f"scheme {scheme.id} is not a licence and is never exhausted"
        elif entry.exhausted and lo > 0:
            why = f"no rule of scheme {scheme.id} deducts points, so it is never exhausted"
        elif entry.score_below is not None and entry.score_below <= lo:
            why = f"scheme {scheme.id} never goes below {fmt(lo)}"
        elif entry.score_at_least is not None and entry.score_at_least > hi:
            why = f"scheme {scheme.id} never goes above {fmt(hi)}"
        elif entry.grades:
            reachable = reachable_grades(scheme, lo, hi)
            known = [g for g in entry.grades if g in {b.grade for b in scheme.bands}]
            if known and not any(g in reachable for g in known):
                why = (
                    f"grade(s) {', '.join(known)} of scheme {scheme.id} are never "
                    f"reached (scores run {fmt(lo)}..{fmt(hi)})"
                )
        if why:
            ctx.warn(
                "SC014",
                where,
                f"list {lst.id} can never have anyone on it: {why}",
                "fix the entry condition or the scheme's rules",
            )
    for s in ctx.catalog.schemes:
        lo, hi = reach(ctx, s)
        for perk in s.perks:
            if perk.at_least > hi:
                ctx.warn(
                    "SC014",
                    ctx.at("schemes", s.id, "perks"),
                    f"perk at {fmt(perk.at_least)} of scheme {s.id} can never apply: the score "
                    f"never goes above {fmt(hi)}",
                    "lower the threshold or add rewarding rules",
                )
    for s in ctx.catalog.schemes:
        if not isinstance(s, WeightedScheme):
            continue
        for dim in s.dimensions:
            if not dim.rules:
                ctx.warn(
                    "SC014",
                    ctx.at("schemes", s.id, f"dimensions[{dim.id}]"),
                    f"dimension {dim.id} ({dim.title}) of scheme {s.id} scores no record: it "
                    f"only adds its base with weight {fmt(dim.weight)}, and its domain "
                    f"{dim.domain} feeds nothing (SC009 does not count it)",
                    "give it rules, or remove it",
                )
    for memo in ctx.catalog.memoranda:
        if memo.lists and all(x not in ix.lists for x in memo.lists):
            ctx.warn(
                "SC014",
                ctx.at("memoranda", memo.id, "lists"),
                f"memorandum {memo.id} can never apply: none of its lists is defined",
                "name defined lists",
            )
    scored = {r.rule.record_type for r in all_rules(ctx)}
    listed = {code for lst in ctx.catalog.lists for code in lst.entry.record_types}
    listed |= {e.record_type for lst in ctx.catalog.lists for t in lst.terms for e in t.extensions}
    listed |= {code for o in ctx.catalog.orders for code in o.record_types}
    listed |= {c for s in ctx.catalog.schemes if isinstance(s, LicenceScheme) for c in s.renewed_by}
    roles_used = {r.via for r in all_rules(ctx) if r.via is not None}
    roles_used |= {role for memo in ctx.catalog.memoranda for role in memo.extends_to}
    for rt in ctx.catalog.record_types:
        if is_role(rt):
            # a role record naming no role, or not a legal one, is SC008
            if rt.role is not None and rt.role in LEGAL_ROLES and rt.role not in roles_used:
                ctx.warn(
                    "SC014",
                    ctx.at("record_types", rt.code),
                    f"role record type {rt.code} is unused: no rule or memorandum reaches "
                    f"the {rt.role.value}",
                    "info: it links people to organisations but nothing uses the link",
                )
        elif rt.code not in scored and rt.code not in listed:
            ctx.warn(
                "SC014",
                ctx.at("record_types", rt.code),
                f"record type {rt.code} ({rt.title}) is unused: no scheme scores or renews by it, "
                "no list is entered or extended by it and no order is made by it",
                "info: a record with no consequence (it is still shown to its subject)",
            )


def band_ranges(scheme: Scheme) -> list[tuple[str, float, float]]:
    """``(grade, low, high)`` per band, high exclusive (``inf`` for the top band)."""
    ordered = sorted(scheme.bands, key=lambda b: b.min)
    out = []
    for i, band in enumerate(ordered):
        top = ordered[i + 1].min if i + 1 < len(ordered) else float("inf")
        out.append((band.grade, band.min, top))
    return out


def reachable_grades(scheme: Scheme, lo: float, hi: float) -> set[str]:
    return {g for g, a, b in band_ranges(scheme) if a <= hi and b > lo}


def bounds(scheme: Scheme) -> tuple[float, float]:
    if isinstance(scheme, PointsScheme):
        return scheme.floor, scheme.ceiling
    if isinstance(scheme, LicenceScheme):
        return 0.0, scheme.points
    return scheme.low, scheme.high


def sc016_schemes(ctx: Context) -> None:
    for s in ctx.catalog.schemes:
        where = ctx.at("schemes", s.id)
        if isinstance(s, PointsScheme):
            if not s.floor <= s.base <= s.ceiling or s.floor >= s.ceiling:
                ctx.error(
                    "SC016",
                    where,
                    f"points scheme {s.id} needs floor <= base <= ceiling and floor < ceiling "
                    f"(has floor {fmt(s.floor)}, base {fmt(s.base)}, "
                    f"ceiling {fmt(s.ceiling)})",
                    "reorder floor, base and ceiling",
                )
        elif isinstance(s, WeightedScheme):
            if sum(d.weight for d in s.dimensions) <= 0:
                ctx.error(
                    "SC016",
                    ctx.at("schemes", s.id, "dimensions"),
                    f"weighted scheme {s.id} has no dimensions (weights sum to 0)",
                    "add at least one dimension with a positive weight",
                )
            if s.low >= s.high:
                ctx.error(
                    "SC016",
                    where,
                    f"weighted scheme {s.id} maps onto an empty range {fmt(s.low)}..{fmt(s.high)}",
                    "low must be below high",
                )
            dims = [d.id for d in s.dimensions]
            for dup in sorted({d for d in dims if dims.count(d) > 1}):
                ctx.error(
                    "SC016",
                    ctx.at("schemes", s.id, f"dimensions[{dup}]"),
                    f"weighted scheme {s.id} defines dimension {dup} more than once",
                    "give each dimension a distinct id",
                )
        if not s.bands:
            continue
        battr = ctx.at("schemes", s.id, "bands")
        grades = [b.grade for b in s.bands]
        mins = [b.min for b in s.bands]
        for dup in sorted({g for g in grades if grades.count(g) > 1}):
            ctx.error(
                "SC016", battr, f"scheme {s.id} has grade {dup!r} twice", "grades must be distinct"
            )
        pairs = list(zip(mins, mins[1:], strict=False))
        if pairs and not (all(a > b for a, b in pairs) or all(a < b for a, b in pairs)):
            ctx.error(
                "SC016",
                battr,
                f"scheme {s.id} bands are not sorted by min "
                f"({', '.join(f'{b.grade} {fmt(b.min)}' for b in s.bands)})",
                "list bands from the highest min to the lowest, each min distinct",
            )
        low, high = bounds(s)
        for band in s.bands:
            if not low <= band.min <= high:
                ctx.error(
                    "SC016",
                    battr,
                    f"grade {band.grade} of scheme {s.id} starts at {fmt(band.min)}, outside the "
                    f"score range {fmt(low)}..{fmt(high)}: it can never be reached",
                    "bands must start within the scheme's range",
                )
