"""Reaching other subjects only through legal organisational roles (SC008)."""

from __future__ import annotations

from socialcredit.policy.checker._base import Context, rules_of
from socialcredit.policy.schema import LEGAL_ROLES, Nature, Role, WeightedScheme


def sc008_roles(ctx: Context) -> None:
    def bad(role: Role | None) -> bool:
        return role is not None and role not in LEGAL_ROLES

    legal = ", ".join(sorted(r.value for r in LEGAL_ROLES))
    fix = f"only legal organisational roles may reach another subject: {legal}"
    for rt in ctx.catalog.record_types:
        if rt.nature is Nature.role and rt.role is None and rt.code not in ctx.index.release_steps:
            ctx.error(
                "SC008",
                ctx.at("record_types", rt.code, "role"),
                f"role record type {rt.code} ({rt.title}) names no role, so it is unclear how "
                "it links its subject to another",
                f"set role to a legal organisational role ({legal})",
            )
        elif bad(rt.role):
            assert rt.role is not None
            ctx.error(
                "SC008",
                ctx.at("record_types", rt.code, "role"),
                f"record type {rt.code} ({rt.title}) links its subject to another as "
                f"{rt.role.value}, which is not a legal organisational role",
                fix,
            )
        if rt.role is not None and rt.nature is not Nature.role:
            ctx.error(
                "SC008",
                ctx.at("record_types", rt.code, "nature"),
                f"record type {rt.code} ({rt.title}) sets role = {rt.role.value!r} but its "
                f"nature is {rt.nature.value!r}: a record that links two subjects is a role "
                "record, never also conduct",
                'set nature = "role", or drop `role` and record the conduct in its own record type',
            )
    for s in ctx.catalog.schemes:
        if isinstance(s, WeightedScheme):
            for dim in s.dimensions:
                if bad(dim.via):
                    assert dim.via is not None
                    ctx.error(
                        "SC008",
                        ctx.at("schemes", s.id, f"dimensions[{dim.id}].via"),
                        f"dimension {dim.id} ({dim.title}) of scheme {s.id} scores the records "
                        f"of the subject's {dim.via.value}",
                        fix,
                    )
        for r in rules_of(s):
            if bad(r.rule.via):
                assert r.rule.via is not None
                ctx.error(
                    "SC008",
                    ctx.at("schemes", s.id, r.attr + ".via"),
                    f"scheme {s.id} scores {r.rule.record_type} records of the subject's "
                    f"{r.rule.via.value}",
                    fix,
                )
    reaches: list[tuple[str, str, str, tuple[Role, ...], str]] = [
        ("memoranda", m.id, "extends_to", m.extends_to,
         f"memorandum {m.id} extends its measures to the listed subject's")
        for m in ctx.catalog.memoranda
    ] + [
        ("orders", o.id, "extends_to", o.extends_to,
         f"order {o.id} extends its measures to the ordered subject's")
        for o in ctx.catalog.orders
    ] + [
        ("releases", r.id, "roles", r.roles, f"release {r.id} releases the")
        for r in ctx.catalog.releases
    ]  # fmt: skip
    for section, item_id, attr, roles, says in reaches:
        for role in roles:
            if bad(role):
                ctx.error("SC008", ctx.at(section, item_id, attr), f"{says} {role.value}", fix)
