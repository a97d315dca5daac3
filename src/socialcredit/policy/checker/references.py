"""References: every name defined (SC012); every record type issuable and applicable (SC013);
every list and scheme reached only by records about the kinds of subject it holds (SC024); the
ids of bundled catalogs kept for the bundled files (SC020)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from socialcredit.policy.checker._base import Context, rules_of
from socialcredit.policy.loader import CatalogIndex, bundled_paths
from socialcredit.policy.schema import LEGAL_ROLES, LicenceScheme, SubjectKind, WeightedScheme

__all__ = ["KindsBeyond", "kinds_beyond"]


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


@dataclass(frozen=True)
class KindsBeyond:
    """A list or scheme that records may reach about a kind of subject it does not hold.

    ``section`` and ``item`` name the list or scheme (``lists``/``schemes`` and its id),
    ``attr`` the field naming what reaches it, ``feed`` what that is in words (``record type
    X``, ``scheme S``, ...), ``kinds`` the kinds it may bring, ``beyond`` those the list or
    scheme does not hold.
    """

    section: str
    item: str
    attr: str
    feed: str
    kinds: tuple[SubjectKind, ...]
    beyond: tuple[SubjectKind, ...]
    code: str | None = None
    """The record type or scheme reaching it (``None`` for a role's holders)."""


def kinds_beyond(index: CatalogIndex) -> Iterator[KindsBeyond]:
    """Every way a subject of a kind a list or scheme does not hold would reach it.

    No evaluation checks a subject's kind against a list or scheme; only a record's subject is
    checked against its record type's ``subject_kinds`` (at filing in the registry, at
    observation in the simulator). So a list's or scheme's ``subject_kinds`` holds by
    construction, and only if what reaches it is about no other kind:

    - a list entered by records (``entry.record_types``): each type's kinds within the list's;
    - a list entered by a score (``entry.scheme``): the scheme's kinds within the list's (the
      scheme scores only subjects its records reach, which the next two keep within its own);
    - a scheme: the kinds of each record type its rules count for the subject itself and of
      each that renews its licence (``renewed_by``); a rule counting another subject's records
      (``via``) scores the holders of the role instead: for a legal role, the subjects of the
      record types recording it (``role``); for any other link, persons.

    The records of a term's ``extensions`` only lengthen a listing their subject already has:
    they put no one on a list, so their kinds are not held against it.
    """
    cat = index.catalog
    types = index.record_types
    holders: dict[str, set[str]] = {}
    for role_type in cat.record_types:
        if role_type.role is not None:
            holders.setdefault(role_type.role.value, set()).update(role_type.subject_kinds)

    def beyond(
        kinds: tuple[SubjectKind, ...] | set[str], held: tuple[SubjectKind, ...]
    ) -> tuple[SubjectKind, ...]:
        return tuple(k for k in ("person", "organisation") if k in kinds and k not in held)

    for s in cat.schemes:
        for r in rules_of(s):
            rt = types.get(r.rule.record_type)
            if r.via is None:
                if rt is not None and (extra := beyond(rt.subject_kinds, s.subject_kinds)):
                    yield KindsBeyond("schemes", s.id, r.attr, f"record type {rt.code}",
                                      rt.subject_kinds, extra, rt.code)  # fmt: skip
                continue
            role = r.via.value
            reached = holders.get(role, set()) if r.via in LEGAL_ROLES else {"person"}
            if extra := beyond(reached, s.subject_kinds):
                kinds = beyond(reached, ())
                yield KindsBeyond("schemes", s.id, r.attr, f"the holders of {role}", kinds, extra)
        if isinstance(s, LicenceScheme):
            for code in s.renewed_by:
                renewal = types.get(code)
                if renewal is not None and (
                    extra := beyond(renewal.subject_kinds, s.subject_kinds)
                ):
                    yield KindsBeyond("schemes", s.id, "renewed_by", f"record type {code}",
                                      renewal.subject_kinds, extra, code)  # fmt: skip
    for lst in cat.lists:
        for code in lst.entry.record_types:
            feed = types.get(code)
            if feed is not None and (extra := beyond(feed.subject_kinds, lst.subject_kinds)):
                yield KindsBeyond("lists", lst.id, "entry.record_types", f"record type {code}",
                                  feed.subject_kinds, extra, code)  # fmt: skip
        scheme = index.schemes.get(lst.entry.scheme) if lst.entry.scheme is not None else None
        if scheme is not None and (extra := beyond(scheme.subject_kinds, lst.subject_kinds)):
            yield KindsBeyond("lists", lst.id, "entry.scheme", f"scheme {scheme.id}",
                              scheme.subject_kinds, extra, scheme.id)  # fmt: skip


def _plural(kinds: tuple[str, ...]) -> str:
    return " and ".join(f"{k}s" for k in kinds) or "no subjects"


def _only(kinds: tuple[str, ...]) -> str:
    return f"{_plural(kinds)} only" if kinds else "no subjects"


def sc024_kinds_held(ctx: Context) -> None:
    """A list or scheme holds the kinds of subject it declares only if nothing reaching it may
    be about another kind (see :func:`kinds_beyond`); the registry's evaluation and the
    simulator do not check a subject's kind against a list or scheme."""
    for k in kinds_beyond(ctx.index):
        if k.section == "lists":
            lst = ctx.index.lists[k.item]
            what = f"list {lst.id} holds {_only(lst.subject_kinds)}"
            how = "enters it" if k.attr == "entry.record_types" else "puts subjects on it"
            held = lst.subject_kinds
        else:
            scheme = ctx.index.schemes[k.item]
            what = f"scheme {scheme.id} scores {_only(scheme.subject_kinds)}"
            how = "renews its licence" if k.attr == "renewed_by" else "it counts"
            held = scheme.subject_kinds
        wanted = ", ".join(f'"{kind}"' for kind in held)
        if k.code is None:
            message = (
                f"{what}, but a rule of it counts records for {k.feed}, who may be "
                f"{_plural(k.beyond)}: they would be scored"
            )
            fix = (
                f"let the record types recording the role be about {_plural(held)} only, "
                "or give the scheme the kinds of the role's holders"
            )
        elif k.attr == "entry.scheme":
            message = (
                f"{what}, but {k.feed}, which puts subjects on it, scores "
                f"{_plural(k.kinds)}: {_plural(k.beyond)} would be listed"
            )
            fix = f"give the scheme and the list the same subject_kinds ([{wanted}])"
        else:
            rt = ctx.index.record_types[k.code]
            verb = "would be listed" if k.section == "lists" else "would be scored"
            message = (
                f"{what}, but {k.feed} ({rt.title}), which {how}, may be about "
                f"{_plural(k.kinds)}: {_plural(k.beyond)} {verb}"
            )
            fix = (
                f"limit {rt.code} to subject_kinds = [{wanted}] (a record type per kind "
                f"where the law covers both, only the one about {_plural(held)} "
                f"{'entering the list' if k.section == 'lists' else 'counted'}), or give "
                f"the {k.section[:-1]} the kinds the record type may be about"
            )
        ctx.error("SC024", ctx.at(k.section, k.item, k.attr), message, fix)


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
