"""References: every name defined (SC012); every record type issuable and applicable (SC013);
the ids of bundled catalogs kept for the bundled files (SC020)."""

from __future__ import annotations

from socialcredit.policy.checker._base import Context, rules_of
from socialcredit.policy.loader import bundled_paths
from socialcredit.policy.schema import ListDef, WeightedScheme


def sc012_references(ctx: Context) -> None:
    ix = ctx.index
    for dom in ctx.catalog.domains:
        for other in dom.related:
            if other not in ix.domains:
                ctx.unknown(
                    ctx.at("domains", dom.id, "related"), "domain", other, ix.domains, dom.id
                )
    for rt in ctx.catalog.record_types:
        if rt.domain not in ix.domains:
            ctx.unknown(
                ctx.at("record_types", rt.code, "domain"),
                "domain",
                rt.domain,
                ix.domains,
                f"record type {rt.code}",
            )
        for issuer in rt.issuers:
            if issuer not in ix.authorities:
                ctx.unknown(
                    ctx.at("record_types", rt.code, "issuers"),
                    "authority",
                    issuer,
                    ix.authorities,
                    f"record type {rt.code}",
                )
    for s in ctx.catalog.schemes:
        for r in rules_of(s):
            if r.rule.record_type not in ix.record_types:
                ctx.unknown(
                    ctx.at("schemes", s.id, r.attr),
                    "record type",
                    r.rule.record_type,
                    ix.record_types,
                    f"scheme {s.id}",
                )
        if isinstance(s, WeightedScheme):
            for dim in s.dimensions:
                if dim.domain not in ix.domains:
                    ctx.unknown(
                        ctx.at("schemes", s.id, f"dimensions[{dim.id}].domain"),
                        "domain",
                        dim.domain,
                        ix.domains,
                        f"dimension {dim.id} of scheme {s.id}",
                    )
        for perk in s.perks:
            for perk_measure in perk.measures:
                if perk_measure not in ix.measures:
                    ctx.unknown(
                        ctx.at("schemes", s.id, "perks"),
                        "measure",
                        perk_measure,
                        ix.measures,
                        f"a perk of scheme {s.id}",
                    )
    for lst in ctx.catalog.lists:
        owner = f"list {lst.id}"
        for code in lst.entry.record_types:
            if code not in ix.record_types:
                ctx.unknown(
                    ctx.at("lists", lst.id, "entry.record_types"),
                    "record type",
                    code,
                    ix.record_types,
                    owner,
                )
        if lst.entry.scheme is not None:
            scheme = ix.schemes.get(lst.entry.scheme)
            if scheme is None:
                ctx.unknown(
                    ctx.at("lists", lst.id, "entry.scheme"),
                    "scheme",
                    lst.entry.scheme,
                    ix.schemes,
                    owner,
                )
            else:
                grades = [b.grade for b in scheme.bands]
                for grade in lst.entry.grades:
                    if grade not in grades:
                        ctx.unknown(
                            ctx.at("lists", lst.id, "entry.grades"),
                            f"grade (scheme {scheme.id} has {', '.join(grades) or 'no bands'})",
                            grade,
                            grades,
                            owner,
                        )
        if lst.authority is not None and lst.authority not in ix.authorities:
            ctx.unknown(
                ctx.at("lists", lst.id, "authority"),
                "authority",
                lst.authority,
                ix.authorities,
                owner,
            )
    for m in ctx.catalog.measures:
        if m.domain not in ix.domains:
            ctx.unknown(
                ctx.at("measures", m.id, "domain"),
                "domain",
                m.domain,
                ix.domains,
                f"measure {m.id}",
            )
    for memo in ctx.catalog.memoranda:
        owner = f"memorandum {memo.id}"
        for list_id in memo.lists:
            if list_id not in ix.lists:
                ctx.unknown(ctx.at("memoranda", memo.id, "lists"), "list", list_id, ix.lists, owner)
        for measure_id in memo.measures:
            if measure_id not in ix.measures:
                ctx.unknown(
                    ctx.at("memoranda", memo.id, "measures"),
                    "measure",
                    measure_id,
                    ix.measures,
                    owner,
                )


def sc013_issuable(ctx: Context) -> None:
    feeds: dict[str, list[ListDef]] = {}
    for lst in ctx.catalog.lists:
        for code in lst.entry.record_types:
            feeds.setdefault(code, []).append(lst)
    for rt in ctx.catalog.record_types:
        if not rt.issuers:
            ctx.error(
                "SC013",
                ctx.at("record_types", rt.code, "issuers"),
                f"record type {rt.code} ({rt.title}) names no authority that may issue it",
                "list the authorities whose mandate covers it in `issuers`",
            )
        if not rt.subject_kinds:
            ctx.error(
                "SC013",
                ctx.at("record_types", rt.code, "subject_kinds"),
                f"record type {rt.code} applies to no kind of subject",
                'set subject_kinds to ["person"], ["organisation"] or both',
            )
            continue
        for lst in feeds.get(rt.code, ()):
            if not set(rt.subject_kinds) & set(lst.subject_kinds):
                ctx.error(
                    "SC013",
                    ctx.at("lists", lst.id, "entry.record_types"),
                    f"list {lst.id} accepts {', '.join(lst.subject_kinds) or 'no subjects'} "
                    f"but is fed by {rt.code}, which is only about "
                    f"{', '.join(rt.subject_kinds)}",
                    "align subject_kinds of the list and the record type",
                )


def sc012_operators(ctx: Context) -> None:
    for s in ctx.catalog.schemes:
        if s.operator is not None and s.operator not in ctx.index.authorities:
            ctx.unknown(
                ctx.at("schemes", s.id, "operator"),
                "authority",
                s.operator,
                ctx.index.authorities,
                f"scheme {s.id}",
            )


def sc020_bundled_ids(ctx: Context) -> None:
    """The id of a bundled catalog names the bundled file only: a local file may neither carry
    it nor sit beside a catalog under its name (where ``extends`` would once have read it
    instead of the shared vocabulary, and redefined the categories of its domains)."""
    shipped = bundled_paths()
    fix = "give the file an id of its own; extend the bundled catalog instead of copying it"
    for path, catalog_id in ctx.loaded.ids.items():
        bundled_path = shipped.get(catalog_id)
        if bundled_path is not None and path.resolve() != bundled_path:
            ctx.error(
                "SC020",
                f"{path.name}: catalog.id",
                f"{path.name} declares the id {catalog_id!r} of a bundled catalog",
                fix,
            )
    for path in ctx.loaded.shadowed:
        ctx.error(
            "SC020",
            f"{path.name}: catalog.id",
            f"{path.name} is named like the bundled catalog {path.stem!r}: `extends` reads the "
            "bundled one, never a local copy",
            fix + "; rename or remove the local file",
        )
