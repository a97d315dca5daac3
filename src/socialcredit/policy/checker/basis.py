"""Legal basis (SC001).

Every record type, list, memorandum and measure names its legal basis, and so does every
scheme run by an authority. A placeholder is no basis: "none", "N/A", "-", "TBD", or only an
article number with no instrument ("Art. 5", "第十条") is reported as missing
(:func:`socialcredit.policy.checker._base.placeholder`).
"""

from __future__ import annotations

from socialcredit.policy.checker._base import Context, blank

FIX = "name the law, regulation or decision that allows it in `legal_basis`"


def _missing(ctx: Context, location: str, what: str, basis: str, fix: str = FIX) -> None:
    if not blank(basis):
        return
    if basis.strip():
        message = f"{what} has only a placeholder for a legal basis ({basis.strip()!r})"
        fix += ": the instrument, not only an article number"
    else:
        message = f"{what} has no legal basis"
    ctx.error("SC001", location, message, fix)


def sc001_legal_basis(ctx: Context) -> None:
    for rt in ctx.catalog.record_types:
        where = ctx.at("record_types", rt.code, "legal_basis")
        _missing(ctx, where, f"record type {rt.code} ({rt.title})", rt.legal_basis)
    for lst in ctx.catalog.lists:
        where = ctx.at("lists", lst.id, "legal_basis")
        _missing(ctx, where, f"list {lst.id} ({lst.title})", lst.legal_basis)
    for memo in ctx.catalog.memoranda:
        where = ctx.at("memoranda", memo.id, "legal_basis")
        _missing(ctx, where, f"memorandum {memo.id} ({memo.title})", memo.legal_basis)
    for m in ctx.catalog.measures:
        where = ctx.at("measures", m.id, "legal_basis")
        _missing(ctx, where, f"measure {m.id} ({m.title})", m.legal_basis)
    for s in ctx.catalog.schemes:
        if s.private:
            continue
        _missing(
            ctx,
            ctx.at("schemes", s.id, "legal_basis"),
            f"scheme {s.id} ({s.title}) is run by an authority but",
            s.legal_basis,
            FIX + " (or mark a privately operated, opt-in scheme `private = true`)",
        )
