"""Lawful conduct and roles: no deduction or blacklist for lawful or civic conduct, no scored
role (SC003); incentives for lawful conduct reported (SC004)."""

from __future__ import annotations

from socialcredit.policy.checker._base import (
    NEGATIVE_NATURES,
    Context,
    all_rules,
    category,
    fmt,
    is_role,
    points_of,
)
from socialcredit.policy.schema import DomainCategory, ListKind, Nature


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
        for code in lst.entry.record_types:
            rt = types.get(code)
            if rt is None:
                continue
            where = ctx.at("lists", lst.id, "entry.record_types")
            if is_role(rt):
                ctx.error(
                    "SC003",
                    where,
                    f"list {lst.id} is entered by {rt.code}, a record of a legal role; "
                    "holding a role never puts anyone on a list",
                    "enter the list by the organisation's records; memoranda reach roles "
                    "through `extends_to`",
                )
            elif rt.nature is Nature.lawful:
                if lst.kind in (ListKind.blacklist, ListKind.key_attention):
                    ctx.error(
                        "SC003",
                        where,
                        f"{lst.kind.value} {lst.id} is entered by {rt.code} ({rt.title}), "
                        "which records lawful conduct",
                        "blacklists and key-attention lists only for legal violations or defaults",
                    )
                else:
                    ctx.warn(
                        "SC004",
                        where,
                        f"redlist {lst.id} is entered by lawful conduct: {rt.code} ({rt.title})",
                        "reported, not refused: incentives for lawful conduct",
                    )
            elif category(ctx, rt.domain) is DomainCategory.civic and lst.kind in (
                ListKind.blacklist,
                ListKind.key_attention,
            ):
                ctx.error(
                    "SC003",
                    where,
                    f"{lst.kind.value} {lst.id} is entered by {rt.code} ({rt.title}), a record in "
                    f"the civic domain {rt.domain}",
                    "civic conduct earns incentives only (a redlist at most)",
                )
    for rt in ctx.catalog.record_types:
        if rt.nature in NEGATIVE_NATURES and category(ctx, rt.domain) is DomainCategory.civic:
            ctx.error(
                "SC003",
                ctx.at("record_types", rt.code, "nature"),
                f"record type {rt.code} ({rt.title}) records a {rt.nature.value} in the civic "
                f"domain {rt.domain}, which is for lawful conduct (volunteering) only",
                'set nature = "lawful", or move the record type to the domain of the law it breaks',
            )
