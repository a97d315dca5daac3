"""What the numbers do, whatever the catalog calls it (SC017, SC018).

Read with the range analysis of :mod:`.reach`: a score-based list that holds at the base score
needs no record, one with restrictions that only additions reach punishes earning points
(SC017); a perk held at the base and lost by deductions, an incentive granted only to some that
names no advantage over the ordinary service, a perk or redlist that restricts, are
restrictions declared as incentives (SC018).
"""

from __future__ import annotations

from socialcredit.policy.checker._base import Context, fmt, restrictive
from socialcredit.policy.checker.reach import band_ranges, span
from socialcredit.policy.lexicon import ACCESS, ADVANTAGE, RESTRICTIVE, words_in
from socialcredit.policy.schema import ListDef, ListKind, MeasureKind, Scheme

Interval = tuple[float, float]
"""``[low, high)`` of scores."""


def listed_scores(scheme: Scheme, lst: ListDef) -> list[Interval]:
    """The scores at which a score-based list holds (as evaluation decides it), as half-open
    intervals; empty for ``exhausted``, which only deductions reach."""
    entry = lst.entry
    inf = float("inf")
    if entry.exhausted:
        return []
    if entry.grades:
        return [(a, b) for g, a, b in band_ranges(scheme) if g in entry.grades]
    if entry.score_below is not None:
        return [(-inf, entry.score_below)]
    if entry.score_at_least is not None:
        return [(entry.score_at_least, inf)]
    return []


def _holds(intervals: list[Interval], score: float) -> bool:
    return any(a <= score < b for a, b in intervals)


def _meets(intervals: list[Interval], low: float, high: float) -> bool:
    """Whether some score ``low <= s < high`` lies in one of ``intervals``."""
    return any(max(a, low) < min(b, high) for a, b in intervals)


def sc017_lists_by_score(ctx: Context) -> None:
    """A score-based list must be entered by records that count against the subject.

    - If the list holds at the scheme's base score, everyone the scheme scores is on it without
      a record, and score recovery cannot take anyone off: error. (The shape of listing people
      for *not* earning a bonus: a threshold above the base that only additions reach.)
    - A blacklist, key-attention list or list mapped to a restriction that the deductions can
      never reach, but the additions can, punishes earning points: error.
    """
    for lst in ctx.catalog.lists:
        scheme = ctx.index.schemes.get(lst.entry.scheme) if lst.entry.scheme else None
        if scheme is None:
            continue
        s = span(ctx, scheme)
        held = listed_scores(scheme, lst)
        where = ctx.at("lists", lst.id, "entry")
        if _holds(held, s.base) and lst.kind is ListKind.redlist:
            ctx.error(
                "SC017",
                where,
                f"redlist {lst.id} ({lst.title}) holds at the base score {fmt(s.base)} of "
                f"scheme {scheme.id}: everyone with no record is on it, so what it grants is "
                "taken away by deductions, a restriction declared an incentive",
                "enter a redlist above the base score, by lawful conduct that adds points",
            )
        elif _holds(held, s.base):
            ctx.error(
                "SC017",
                where,
                f"list {lst.id} ({lst.title}) holds at the base score {fmt(s.base)} of scheme "
                f"{scheme.id}: a subject with no record is on it, and score recovery can never "
                "take anyone off",
                "enter the list only below the base score, by deductions for violations or "
                "defaults",
            )
        elif (
            restrictive(ctx, lst)
            and not _meets(held, s.low, s.base)
            and _meets(held, s.base, s.high + 1e-9)
        ):
            ctx.error(
                "SC017",
                where,
                f"{lst.kind.value} {lst.id} ({lst.title}) is reached only by earning points "
                f"(above the base {fmt(s.base)} of scheme {scheme.id}, which deductions never "
                "reach): a sanction for lawful conduct",
                "a list with restrictions is entered by deductions for violations or defaults",
            )


def sc018_incentives(ctx: Context) -> None:
    """An incentive is an advantage some subjects earn; one that works as a restriction is
    judged as what it does.

    - A perk held at the base score that deductions take away is had by everyone until records
      take it away: a restriction declared an incentive (error).
    - An incentive granted only to some (through a list, or a perk above the base score) must
      name the advantage it gives over the ordinary service (a discount, priority, a waiver):
      one that names none, or only access to the service (a ticket, admission, eligibility),
      or a ban, withholds the service from everyone who has not earned it, people with no
      records included (error).
    - A perk that grants a restriction, or a redlist mapped to one (error): it restricts the
      subjects with the best records.
    """
    for s in ctx.catalog.schemes:
        sp = span(ctx, s)
        for perk in s.perks:
            if perk.at_least <= sp.base and sp.low < perk.at_least:
                ctx.error(
                    "SC018",
                    ctx.at("schemes", s.id, f"perks[{fmt(perk.at_least)}]"),
                    f"perk at {fmt(perk.at_least)} of scheme {s.id} is held at the base score "
                    f"{fmt(sp.base)} and lost by deductions: "
                    f"{', '.join(perk.measures)} work as restrictions",
                    'declare the measures kind = "restriction" and map them from a list, so '
                    "that they are judged as restrictions",
                )
        for perk in s.perks:
            for mid in perk.measures:
                measure = ctx.index.measures.get(mid)
                if measure is not None and measure.kind is MeasureKind.restriction:
                    ctx.error(
                        "SC018",
                        ctx.at("schemes", s.id, f"perks[{fmt(perk.at_least)}]"),
                        f"perk at {fmt(perk.at_least)} of scheme {s.id} grants restriction "
                        f"{mid}: it applies to everyone at or above the threshold",
                        "perks are incentives; a restriction is mapped from a list by a memorandum",
                    )
    for memo in ctx.catalog.memoranda:
        for list_id in memo.lists:
            lst = ctx.index.lists.get(list_id)
            if lst is None or lst.kind is not ListKind.redlist:
                continue
            for mid in memo.measures:
                measure = ctx.index.measures.get(mid)
                if measure is not None and measure.kind is MeasureKind.restriction:
                    ctx.error(
                        "SC018",
                        ctx.at("memoranda", memo.id, f"measures[{mid}]"),
                        f"memorandum {memo.id} maps redlist {lst.id} to restriction {mid}: a "
                        "redlist is for the trustworthy, and carries incentives only",
                        "map the redlist to incentives, or enter a blacklist by violations",
                    )
    withheld = _withheld_incentives(ctx)
    for m in ctx.catalog.measures:
        if m.kind is not MeasureKind.incentive or m.id not in withheld:
            continue
        text = "\n".join((m.id, m.title, m.description))
        if words_in(text, ADVANTAGE):
            continue
        banned = words_in(text, RESTRICTIVE)
        access = words_in(text, ACCESS)
        if banned:
            what = f"a restriction ({', '.join(w.rstrip('*') for w in banned)})"
        elif access:
            what = (
                f"access to an ordinary service ({', '.join(w.rstrip('*') for w in access)}) "
                "and no advantage over it"
            )
        else:
            what = "no advantage over an ordinary service"
        ctx.error(
            "SC018",
            ctx.at("measures", m.id, "kind"),
            f"incentive {m.id} ({m.title}) names {what}: it is withheld from everyone who has "
            f"not earned it ({withheld[m.id]}), people with no records included",
            'declare it kind = "restriction", or name the advantage it gives over the ordinary '
            "service (a discount, priority, a waiver, no deposit)",
        )


def _withheld_incentives(ctx: Context) -> dict[str, str]:
    """Measures granted only to some: mapped from a list (no one with no records is on a
    list; SC017 refuses a score-based one that holds at the base), or a perk above the base
    score. ``measure id -> how it is granted``."""
    out: dict[str, str] = {}
    for memo in ctx.catalog.memoranda:
        for mid in memo.measures:
            out.setdefault(mid, f"granted through memorandum {memo.id}")
    for s in ctx.catalog.schemes:
        base = span(ctx, s).base
        for perk in s.perks:
            if perk.at_least > base:
                for mid in perk.measures:
                    out.setdefault(
                        mid, f"a perk at {fmt(perk.at_least)}, above the base score {fmt(base)}"
                    )
    return out
