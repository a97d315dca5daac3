"""What the law as written adds to lists and measures: direct orders (SC006, SC007, SC012,
SC001), extensions of fixed-term listings (SC006, SC012), a licence returned by a course
(SC007, SC012) and releases of a role holder (SC001, SC007, SC012, SC013, SC014).

The rules that judge what records lead to hold for orders and extensions where they are
written, as for lists: SC003 (``conduct``), SC009 (``domains``), SC022 (``sources``) and the
labels (``labels``)."""

from __future__ import annotations

from socialcredit.policy.checker._base import MAX_LIST_MONTHS, Context, blank
from socialcredit.policy.schema import LicenceScheme, Nature, Removal


def sc_orders(ctx: Context) -> None:
    """An order names known record types, measures and authority, its legal basis, and a way
    off in the subject's hands; with no fixed term, it ends on performance of a default."""
    ix = ctx.index
    for order in ctx.catalog.orders:
        where = f"order {order.id}"
        _basis(ctx, "orders", order.id, order.title, order.legal_basis,
               "cite the law that lets the authority order the measures directly")  # fmt: skip
        for code in order.record_types:
            if code not in ix.record_types:
                ctx.unknown(ctx.at("orders", order.id, "record_types"), "record type", code,
                            ix.record_types, where)  # fmt: skip
        for m in order.measures:
            if m not in ix.measures:
                ctx.unknown(ctx.at("orders", order.id, "measures"), "measure", m, ix.measures,
                            where)  # fmt: skip
        _authority(ctx, "orders", order.id, order.authority,
                   "so no one can lift it or hear an objection",
                   "set authority (whoever orders, lifts)")  # fmt: skip
        types = [ix.record_types[c] for c in order.record_types if c in ix.record_types]
        defaults = any(rt.nature is Nature.default for rt in types)
        held = (Removal.fulfilment in order.removal and defaults) or (
            Removal.repair in order.removal and any(rt.repairable for rt in types)
        )
        if order.duration_months is None and not (Removal.fulfilment in order.removal
                                                   and defaults):  # fmt: skip
            ctx.error(
                "SC006",
                ctx.at("orders", order.id, "duration_months"),
                f"order {order.id} has no fixed term and does not end when a default it orders "
                "on is performed",
                "an order with no fixed term must be lifted on performance (fulfilment of a "
                "default: Fa Shi [2015] No. 17, Art. 9); otherwise set duration_months",
            )
        elif order.duration_months is not None and order.duration_months > MAX_LIST_MONTHS:
            ctx.error(
                "SC006",
                ctx.at("orders", order.id, "duration_months"),
                f"order {order.id} lasts {order.duration_months} months, more than "
                f"{MAX_LIST_MONTHS}",
                "no measure in the sources lasts longer than five years",
            )
        if not held and order.duration_months is None:
            pass  # SC006 above says it
        elif not held and Removal.expiry not in order.removal:
            ctx.error(
                "SC007",
                ctx.at("orders", order.id, "removal"),
                f"order {order.id} has no way off for its subject (performing a default, "
                "repair of a repairable record, or expiry)",
                'add "fulfilment" (with a default), "repair" or "expiry"',
            )


def sc_extensions_and_courses(ctx: Context) -> None:
    """Extensions name known record types and stay within the longest listing; a list that a
    course ends reads a licence that a renewal returns."""
    ix = ctx.index
    for lst in ctx.catalog.lists:
        for k, term in enumerate(lst.terms):
            for ext in term.extensions:
                if ext.record_type not in ix.record_types:
                    ctx.unknown(ctx.at("lists", lst.id, f"terms[{k}].extensions"),
                                "record type", ext.record_type, ix.record_types,
                                f"list {lst.id}")  # fmt: skip
            longest = max((e.months for e in term.extensions), default=0)
            if term.duration_months is not None and term.duration_months + longest > (
                MAX_LIST_MONTHS
            ):
                ctx.error(
                    "SC006",
                    ctx.at("lists", lst.id, f"terms[{k}].extensions"),
                    f"list {lst.id} lists {', '.join(term.record_types)} for "
                    f"{term.duration_months} months, extendable to "
                    f"{term.duration_months + longest}, more than {MAX_LIST_MONTHS}",
                    "the court list lasts 2 years, plus at most 3 for aggravated cases "
                    "(Fa Shi [2017] No. 7, Art. 2)",
                )
        if Removal.course_passed in lst.removal:
            scheme = ix.schemes.get(lst.entry.scheme) if lst.entry.scheme else None
            if not (isinstance(scheme, LicenceScheme) and scheme.renewed_by):
                ctx.error(
                    "SC007",
                    ctx.at("lists", lst.id, "removal"),
                    f"list {lst.id} names course_passed as a way off, but it does not read a "
                    "licence that a renewal returns",
                    "enter the list by a licence scheme with renewed_by (the record types of "
                    "the course and test passed)",
                )
    for scheme in ctx.catalog.schemes:
        if not isinstance(scheme, LicenceScheme):
            continue
        for code in scheme.renewed_by:
            if code not in ix.record_types:
                ctx.unknown(ctx.at("schemes", scheme.id, "renewed_by"), "record type", code,
                            ix.record_types, f"scheme {scheme.id}")  # fmt: skip


def sc_releases(ctx: Context) -> None:
    """A release names its basis, who decides and within how long, known record types of
    role nature for its steps (a record about the person naming the organisation), and
    memoranda or orders that do reach its roles (otherwise it can never lift anything)."""
    ix = ctx.index
    for release in ctx.catalog.releases:
        where = f"release {release.id}"
        _basis(ctx, "releases", release.id, release.title, release.legal_basis,
               "cite the law that lets the person apply and the authority lift it")  # fmt: skip
        _authority(ctx, "releases", release.id, release.authority,
                   "so no one can decide an application",
                   "set authority (the one that restricted the organisation)")  # fmt: skip
        if release.applications and blank(release.decide_basis):
            ctx.error(
                "SC001",
                ctx.at("releases", release.id, "decide_basis"),
                f"release {release.id} sets {release.decide_days} days to decide an "
                "application but names no basis for that deadline",
                "cite the law that sets it (decide_basis)",
            )
        for code in (*release.applications, *release.record_types, *release.refusals):
            rt = ix.record_types.get(code)
            if rt is None:
                ctx.unknown(ctx.at("releases", release.id, "record_types"), "record type",
                            code, ix.record_types, where)  # fmt: skip
            elif rt.nature is not Nature.role or rt.role is not None:
                ctx.error(
                    "SC013",
                    ctx.at("record_types", code, "nature"),
                    f"record type {code} is a step of release {release.id}, so its record "
                    "must name the organisation, which only a role record does",
                    'set nature = "role" and no role (it links no one: the release says what '
                    "it lifts)",
                )
            elif release.authority is not None and release.authority not in rt.issuers:
                ctx.error(
                    "SC013",
                    ctx.at("record_types", code, "issuers"),
                    f"record type {code} is a step of release {release.id}, which "
                    f"{release.authority} decides, but {release.authority} may not issue it",
                    f"add {release.authority!r} to its issuers",
                )
        roles = set(release.roles)
        for item in release.lifts:
            memo, order = ix.memoranda.get(item), ix.orders.get(item)
            if memo is None and order is None:
                ctx.unknown(ctx.at("releases", release.id, "lifts"), "memorandum or order",
                            item, [*ix.memoranda, *ix.orders], where)  # fmt: skip
                continue
            reach = memo.extends_to if memo is not None else order.extends_to if order else ()
            if not roles & set(reach):
                ctx.warn(
                    "SC014",
                    ctx.at("releases", release.id, "lifts"),
                    f"release {release.id} lifts what {item} reaches "
                    f"{', '.join(sorted(r.value for r in roles))} with, but {item} reaches "
                    "none of them: it can never lift anything there",
                    "extend it to the roles (extends_to), or drop it from lifts",
                )


def _basis(ctx: Context, section: str, item_id: str, title: str, basis: str, help: str) -> None:
    if blank(basis):
        what = section.rstrip("s")
        ctx.error("SC001", ctx.at(section, item_id, "legal_basis"),
                  f"{what} {item_id} ({title}) names no legal basis", help)  # fmt: skip


def _authority(
    ctx: Context, section: str, item_id: str, authority: str | None, why: str, help: str
) -> None:
    what = section.rstrip("s")
    if authority is None:
        ctx.error("SC007", ctx.at(section, item_id, "authority"),
                  f"{what} {item_id} names no authority, {why}", help)  # fmt: skip
    elif authority not in ctx.index.authorities:
        ctx.unknown(ctx.at(section, item_id, "authority"), "authority", authority,
                    ctx.index.authorities, f"{what} {item_id}")  # fmt: skip
