"""Lists: a duration (SC006), a usable way off and a designating authority (SC007), and
blacklists only for serious records (SC015)."""

from __future__ import annotations

from socialcredit.policy.checker._base import (
    MAX_LIST_MONTHS,
    WAYS_OFF,
    Context,
    feeding_types,
    known_types,
    open_term_problem,
)
from socialcredit.policy.schema import ListDef, ListKind, Nature, Removal, Term
from socialcredit.policy.schema import Severity as RecordSeverity


def unusable_ways(ctx: Context, lst: ListDef, term: Term | None = None) -> dict[Removal, str]:
    """Removal ways a list names that can never be used, each with why; with ``term``, the
    ways that term names for its record types (they leave the list by the term's ways, and
    under its duration, not the list's)."""
    by_score = lst.entry.scheme is not None and term is None
    if term is None:
        removal, duration, types = set(lst.removal), lst.duration_months, feeding_types(ctx, lst)
        what = "the list"
        fed = "the record types its scheme scores" if by_score else "the record types entering it"
    else:
        removal, duration = set(term.removal), term.duration_months
        types = known_types(ctx, term.record_types)
        what, fed = "the term", "its record types"
    out: dict[Removal, str] = {}
    if Removal.expiry in removal and duration is None:
        out[Removal.expiry] = f"{what} has no duration_months, so nothing expires"
    if Removal.score_recovery in removal and not by_score:
        out[Removal.score_recovery] = f"{what} is entered by records, not by a score"
    if not types:
        return out  # nothing known feeds it (SC012 reports the unknown names)
    codes = ", ".join(rt.code for rt in types)
    if Removal.repair in removal and not any(rt.repairable for rt in types):
        out[Removal.repair] = f"none of {fed} ({codes}) is repairable"
    if not any(rt.nature is Nature.default for rt in types):
        for way in (Removal.fulfilment, Removal.creditor_request):
            if way in removal:
                out[way] = (
                    f'none of {fed} ({codes}) is a default (nature = "default"), so there is '
                    "no obligation to perform and no creditor"
                )
    return out


def _ways_off(
    ctx: Context,
    where: str,
    name: str,
    ways: list[Removal],
    unusable: dict[Removal, str],
    short: str,
) -> None:
    """SC007 for one set of ways off (a list's, or one of its terms'): at least one way off
    for someone whose record is right, and one that can be used; each unusable way reported.
    ``name`` says whose ways they are in full, ``short`` in a sentence of its own."""
    usable = [w for w in ways if w in WAYS_OFF and w not in unusable]
    if not ways:
        ctx.error(
            "SC007",
            where,
            f"{name} has no way off",
            'give removal ways, e.g. ["fulfilment", "repair", "expiry", "objection"]',
        )
    elif not any(w in WAYS_OFF for w in ways):
        ctx.error(
            "SC007",
            where,
            f"{name} has no way off for someone whose record is right: "
            f"{' and '.join(w.value for w in ways)} only",
            "an objection only corrects a wrong record and a creditor's request is someone "
            "else's choice: add fulfilment, repair, expiry or score_recovery",
        )
    elif not usable:
        why = "; ".join(f"{w.value}: {unusable[w]}" for w in ways if w in unusable)
        ctx.error(
            "SC007",
            where,
            f"{name} has no usable way off ({why})",
            "add a way off that can be used (expiry with a duration, repair of repairable "
            "records, fulfilment of defaults)",
        )
    else:
        for w in ways:
            if w in unusable:
                ctx.warn(
                    "SC007",
                    where,
                    f"{short} names {w.value} as a way off, but it can never be used: "
                    f"{unusable[w]}",
                    f"remove {w.value} from removal, or fix the record types; other ways "
                    f"off remain ({', '.join(x.value for x in usable)})",
                )


def sc006_sc007_lists(ctx: Context) -> None:
    for lst in ctx.catalog.lists:
        by_score = lst.entry.scheme is not None
        termed = {code for t in lst.terms for code in t.record_types}
        for k, term in enumerate(lst.terms):
            problem = open_term_problem(term) if term.duration_months is None else None
            if problem is not None:
                ctx.error(
                    "SC006",
                    ctx.at("lists", lst.id, f"terms[{k}]"),
                    f"list {lst.id} lists {', '.join(term.record_types)} with no fixed term and "
                    f"{problem}",
                    "an open listing must end when the subject performs (fulfilment) and cite "
                    "the law that leaves it open (Fa Shi [2017] No. 7, Arts. 1(1) and 10); "
                    "otherwise set duration_months",
                )
            elif term.duration_months is not None and term.duration_months > MAX_LIST_MONTHS:
                ctx.error(
                    "SC006",
                    ctx.at("lists", lst.id, f"terms[{k}].duration_months"),
                    f"list {lst.id} lists {', '.join(term.record_types)} for "
                    f"{term.duration_months} months, more than {MAX_LIST_MONTHS}",
                    "the court list lasts 2 years, plus at most 3 for aggravated cases",
                )
        untermed = [c for c in lst.entry.record_types if c not in termed]
        if not by_score and lst.duration_months is None and untermed:
            ctx.error(
                "SC006",
                ctx.at("lists", lst.id, "duration_months"),
                f"list {lst.id} ({lst.title}) is entered by records but has no duration",
                "set duration_months (serious-dishonesty lists: at most 36), or a term per "
                "record type",
            )
        elif lst.duration_months is not None and lst.duration_months > MAX_LIST_MONTHS:
            ctx.error(
                "SC006",
                ctx.at("lists", lst.id, "duration_months"),
                f"list {lst.id} ({lst.title}) lasts {lst.duration_months} months, more than "
                f"{MAX_LIST_MONTHS}",
                "the court list lasts 2 years, plus at most 3 for aggravated cases; "
                "serious records are published at most 36 months",
            )
        where = ctx.at("lists", lst.id, "removal")
        ways = list(dict.fromkeys(lst.removal))
        _ways_off(ctx, where, f"list {lst.id} ({lst.title})", ways, unusable_ways(ctx, lst),
                  f"list {lst.id}")  # fmt: skip
        for k, term in enumerate(lst.terms):
            codes = ", ".join(term.record_types)
            _ways_off(
                ctx,
                ctx.at("lists", lst.id, f"terms[{k}].removal"),
                f"list {lst.id} ({lst.title}), for {codes},",
                list(dict.fromkeys(term.removal)),
                unusable_ways(ctx, lst, term),
                f"list {lst.id}'s term for {codes}",
            )
        if ways and by_score and Removal.score_recovery not in lst.removal:
            ctx.error(
                "SC007",
                where,
                f"list {lst.id} is entered by a score but does not end when the score recovers",
                'add "score_recovery" to removal',
            )
        if lst.authority is None:
            ctx.error(
                "SC007",
                ctx.at("lists", lst.id, "authority"),
                f"list {lst.id} ({lst.title}) names no designating authority, so no one can "
                "hear an objection or grant repair",
                "set authority (whoever designates, repairs)",
            )


def sc015_blacklist_severity(ctx: Context) -> None:
    for lst in ctx.catalog.lists:
        if lst.kind is not ListKind.blacklist:
            continue
        for code in lst.entry.record_types:
            rt = ctx.index.record_types.get(code)
            if rt is not None and rt.severity is not RecordSeverity.serious:
                ctx.warn(
                    "SC015",
                    ctx.at("lists", lst.id, "entry.record_types"),
                    f"blacklist {lst.id} is entered by {rt.code}, a {rt.severity.value} record",
                    "serious-dishonesty lists only for serious cases (Guobanfa [2020] 49); use a "
                    "key_attention list or make the record type serious",
                )
