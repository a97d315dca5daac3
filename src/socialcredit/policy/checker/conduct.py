"""Lawful conduct and roles: no deduction, blacklist, extension of a listing or ordered
restriction for lawful or civic conduct, no role scored, listed or ordered on (SC003);
incentives for lawful conduct reported (SC004)."""

from __future__ import annotations

from dataclasses import dataclass

from socialcredit.policy.checker._base import (
    NEGATIVE_NATURES,
    Context,
    all_rules,
    category,
    fmt,
    is_role,
    points_of,
)
from socialcredit.policy.schema import DomainCategory, ListKind, MeasureKind, Nature


def sc003_sc004_lawful_and_roles(ctx: Context) -> None:
    types = ctx.index.record_types
    for r in all_rules(ctx):
        rt = types.get(r.rule.record_type)
        if rt is None:
            continue
        where = ctx.at("schemes", r.scheme.id, r.attr)
        values = points_of(r.rule)
        if is_role(rt):
            ctx.error(
                "SC003",
                where,
                f"scheme {r.scheme.id} scores {rt.code}, a record of a legal role "
                f"({rt.role.value if rt.role else 'role'}); holding a role is never scored",
                'score the organisation\'s records through `via = "<role>"` instead',
            )
        elif rt.nature is Nature.lawful:
            if any(v < 0 for v in values):
                ctx.error(
                    "SC003",
                    where,
                    f"scheme {r.scheme.id} deducts points for {rt.code} ({rt.title}), "
                    "which records lawful conduct",
                    "deductions only for legal violations or defaults (nature violation/default)",
                )
            if any(v > 0 for v in values):
                ctx.warn(
                    "SC004",
                    where,
                    f"scheme {r.scheme.id} rewards lawful conduct: {rt.code} ({rt.title}) "
                    f"adds {', '.join(fmt(v) for v in values if v > 0)} point(s)",
                    "reported, not refused: incentives for lawful conduct steer lawful behaviour",
                )
        elif category(ctx, rt.domain) is DomainCategory.civic and any(v < 0 for v in values):
            ctx.error(
                "SC003",
                where,
                f"scheme {r.scheme.id} deducts points for {rt.code} ({rt.title}), a record in "
                f"the civic domain {rt.domain}",
                "civic conduct (volunteering) earns incentives only; record a legal violation "
                "in the domain of the law it breaks",
            )
    for lst in ctx.catalog.lists:
        restricts = lst.kind in (ListKind.blacklist, ListKind.key_attention)
        owner, plain = f"{lst.kind.value} {lst.id}", f"list {lst.id}"
        where = ctx.at("lists", lst.id, "entry.record_types")
        _grounds(
            ctx, Ground(where, owner, plain, "is entered by", restricts, lst.entry.record_types)
        )
        for k, term in enumerate(lst.terms):
            # an extension lengthens a listing: the same ground as entering it (Fa Shi [2017]
            # No. 7, Art. 2 extends for violent obstruction, never for using a remedy)
            where = ctx.at("lists", lst.id, f"terms[{k}].extensions")
            codes = tuple(e.record_type for e in term.extensions)
            _grounds(ctx, Ground(where, owner, plain, "is extended by", restricts, codes))
    for order in ctx.catalog.orders:
        restricts = any(
            (m := ctx.index.measures.get(mid)) is not None and m.kind is MeasureKind.restriction
            for mid in order.measures
        )
        name, where = f"order {order.id}", ctx.at("orders", order.id, "record_types")
        _grounds(ctx, Ground(where, name, name, "rests on", restricts, order.record_types))
    for rt in ctx.catalog.record_types:
        if rt.nature in NEGATIVE_NATURES and category(ctx, rt.domain) is DomainCategory.civic:
            ctx.error(
                "SC003",
                ctx.at("record_types", rt.code, "nature"),
                f"record type {rt.code} ({rt.title}) records a {rt.nature.value} in the civic "
                f"domain {rt.domain}, which is for lawful conduct (volunteering) only",
                'set nature = "lawful", or move the record type to the domain of the law it breaks',
            )


@dataclass(frozen=True)
class Ground:
    """Records that put measures on their subject: entering a list, extending a listing, or an
    order (measures with no list in between). The same test holds for each (SC003, SC004)."""

    where: str
    owner: str
    """What they lead to, as findings name it ("blacklist x", "redlist x", "order x")."""
    plain: str
    """The same without its kind ("list x")."""
    how: str
    """How the records lead to it ("is entered by", "is extended by", "rests on")."""
    restricts: bool
    """A blacklist, a key-attention list, or an order of a restriction (else: an incentive)."""
    codes: tuple[str, ...]


def _grounds(ctx: Context, g: Ground) -> None:
    """No one is restricted for lawful or civic conduct, and no one for holding a role
    (SC003); an incentive for lawful conduct is reported (SC004)."""
    onto = "on a list" if g.plain.startswith("list ") else "under a measure"
    for code in g.codes:
        rt = ctx.index.record_types.get(code)
        if rt is None:
            continue
        if is_role(rt):
            ctx.error(
                "SC003",
                g.where,
                f"{g.plain} {g.how} {rt.code}, a record of a legal role; holding a role never "
                f"puts anyone {onto}",
                "rest it on the organisation's records; memoranda and orders reach roles "
                "through `extends_to`",
            )
        elif rt.nature is Nature.lawful:
            if g.restricts:
                ctx.error(
                    "SC003",
                    g.where,
                    f"{g.owner} {g.how} {rt.code} ({rt.title}), which records lawful conduct",
                    "blacklists, key-attention lists and restrictions only for legal violations "
                    "or defaults",
                )
            else:
                ctx.warn(
                    "SC004",
                    g.where,
                    f"{g.owner} {g.how} lawful conduct: {rt.code} ({rt.title})",
                    "reported, not refused: incentives for lawful conduct",
                )
        elif category(ctx, rt.domain) is DomainCategory.civic and g.restricts:
            ctx.error(
                "SC003",
                g.where,
                f"{g.owner} {g.how} {rt.code} ({rt.title}), a record in the civic domain "
                f"{rt.domain}",
                "civic conduct earns incentives only (a redlist at most)",
            )
