"""Domains: nothing recorded in a protected or consumption domain (SC002); cross-domain measures
judged by the profile (SC009); ``related`` only within a category or along the bundled
relation between categories (SC019)."""

from __future__ import annotations

from socialcredit.policy.checker._base import (
    Context,
    blank,
    feeding_domains,
    fmt,
    known_types,
    list_domains,
    related,
)
from socialcredit.policy.findings import Profile
from socialcredit.policy.schema import (
    CATEGORY_RELATED,
    PROTECTED_CATEGORIES,
    DomainCategory,
    MeasureKind,
    WeightedScheme,
)


def sc002_protected(ctx: Context) -> None:
    for rt in ctx.catalog.record_types:
        domain = ctx.index.domains.get(rt.domain)
        if domain is not None and domain.category in PROTECTED_CATEGORIES:
            ctx.error(
                "SC002",
                ctx.at("record_types", rt.code, "domain"),
                f"record type {rt.code} ({rt.title}) is in domain {domain.id}, whose category "
                f"{domain.category.value!r} is protected: it may never be recorded or scored",
                "remove the record type; protected categories are listed in docs/guardrails.md",
            )
        elif domain is not None and domain.category is DomainCategory.consumption:
            ctx.error(
                "SC002",
                ctx.at("record_types", rt.code, "domain"),
                f"record type {rt.code} ({rt.title}) is in domain {domain.id}, whose category "
                "'consumption' is where restrictions apply, never what is recorded: lawful "
                "purchases are protected",
                "record the violation or default behind it in its own domain (a court order "
                "violated is judicial); consumption domains carry only measures",
            )
    for s in ctx.catalog.schemes:
        if not isinstance(s, WeightedScheme):
            continue
        for dim in s.dimensions:
            domain = ctx.index.domains.get(dim.domain)
            if domain is not None and domain.category in PROTECTED_CATEGORIES:
                ctx.error(
                    "SC002",
                    ctx.at("schemes", s.id, f"dimensions[{dim.id}].domain"),
                    f"dimension {dim.id} ({dim.title}) of scheme {s.id} scores domain "
                    f"{domain.id}, whose category {domain.category.value!r} is protected",
                    "remove the dimension (the remaining weights are renormalised)",
                )
            elif domain is not None and domain.category is DomainCategory.consumption:
                ctx.error(
                    "SC002",
                    ctx.at("schemes", s.id, f"dimensions[{dim.id}].domain"),
                    f"dimension {dim.id} ({dim.title}) of scheme {s.id} scores domain "
                    f"{domain.id}, whose category 'consumption' is never scored: lawful "
                    "purchases are protected",
                    "remove the dimension (the remaining weights are renormalised)",
                )


def sc009_cross_domain(ctx: Context) -> None:
    """A measure reached from records in unrelated domains, through a memorandum's list or
    directly by an order, judged by the profile (:func:`_cross_domain`); a perk likewise."""
    eu = ctx.profile is Profile.eu_ai_act
    for memo in ctx.catalog.memoranda:
        for list_id in memo.lists:
            lst = ctx.index.lists.get(list_id)
            if lst is None:
                continue
            feeding = list_domains(ctx, lst)
            for measure_id in memo.measures:
                _cross_domain(
                    ctx,
                    feeding,
                    measure_id,
                    where=ctx.at("memoranda", memo.id, f"measures[{measure_id}]"),
                    maps=f"memorandum {memo.id} maps list {lst.id}",
                    by="memorandum",
                    basis=memo.legal_basis,
                )
    for order in ctx.catalog.orders:
        feeding = {rt.domain for rt in known_types(ctx, order.record_types)}
        for measure_id in order.measures:
            _cross_domain(
                ctx,
                feeding,
                measure_id,
                where=ctx.at("orders", order.id, f"measures[{measure_id}]"),
                maps=f"order {order.id} maps its records",
                by="order",
                basis=order.legal_basis,
            )
    for scheme in ctx.catalog.schemes:
        feeding = feeding_domains(ctx, scheme)
        if not feeding:
            continue
        allowed = related(ctx, feeding)
        for perk in scheme.perks:
            for measure_id in perk.measures:
                measure = ctx.index.measures.get(measure_id)
                if measure is None or measure.domain not in ctx.index.domains:
                    continue
                if measure.domain in allowed:
                    continue
                message = (
                    f"scheme {scheme.id} grants {measure.kind.value} {measure.id} in the "
                    f"unrelated domain {measure.domain} at {fmt(perk.at_least)} points"
                )
                where = ctx.at(
                    "schemes", scheme.id, f"perks[{fmt(perk.at_least)}].measures[{measure.id}]"
                )
                if measure.kind is MeasureKind.restriction and (eu or blank(measure.legal_basis)):
                    ctx.error(
                        "SC009", where, message, "a perk should be an incentive in a related domain"
                    )
                else:
                    ctx.warn("SC009", where, message, "reported: a score-based perk")


def _cross_domain(
    ctx: Context, feeding: set[str], measure_id: str, *, where: str, maps: str, by: str, basis: str
) -> None:
    """SC009 for one measure reached from records in ``feeding`` domains by a memorandum or an
    order (``by``, whose legal basis is ``basis``): reported if its domain is not related to
    theirs; an error under eu-ai-act for a restriction, and under cn-2021 without a legal basis
    for both the ``by`` and the measure."""
    measure = ctx.index.measures.get(measure_id)
    if not feeding or measure is None or measure.domain not in ctx.index.domains:
        return
    if measure.domain in related(ctx, feeding):
        return
    fed = ", ".join(sorted(feeding))
    message = (
        f"{maps} (records in {fed}) to {measure.kind.value} {measure.id} in the unrelated "
        f"domain {measure.domain}"
    )
    if ctx.profile is Profile.eu_ai_act:
        if measure.kind is MeasureKind.restriction:
            ctx.error(
                "SC009",
                where,
                message + ": detrimental treatment in an unrelated context "
                "(EU AI Act Art. 5(1)(c))",
                f"keep restrictions within {fed}, or declare the domains related "
                "only where the measure truly is the same context",
            )
        else:
            ctx.warn(
                "SC009",
                where,
                message,
                "reported: withholding an incentive can also be unfavourable treatment",
            )
    elif blank(basis) or blank(measure.legal_basis):
        ctx.error(
            "SC009",
            where,
            message + ", without a legal basis for it",
            "cn-2021 accepts cross-domain measures only with a legal basis for both "
            f"the {by} and the measure",
        )
    else:
        ctx.warn(
            "SC009",
            where,
            message,
            "reported: accepted under cn-2021 with a legal basis; refused under "
            "eu-ai-act if it is a restriction",
        )


def sc019_related_categories(ctx: Context) -> None:
    """A domain may be ``related`` only to domains of its own category, or of a category the
    bundled vocabulary relates to it (``schema.CATEGORY_RELATED``): otherwise a catalog could
    silence SC009 by declaring flights related to court judgments."""
    for dom in ctx.catalog.domains:
        for other_id in dom.related:
            other = ctx.index.domains.get(other_id)
            if other is None or other.category is dom.category:
                continue  # unknown: SC012
            if (dom.category, other.category) in CATEGORY_RELATED:
                continue
            allowed = sorted(b.value for a, b in CATEGORY_RELATED if a is dom.category)
            ctx.error(
                "SC019",
                ctx.at("domains", dom.id, "related"),
                f"domain {dom.id} (category {dom.category.value}) declares domain {other.id} "
                f"(category {other.category.value}) related: a catalog relates domains only "
                "within a category or along the bundled relation between categories",
                "remove it from `related`; a measure in an unrelated domain is reported (SC009), "
                "not hidden"
                + (
                    f" ({dom.category.value} may relate to {', '.join(allowed)})" if allowed else ""
                ),
            )
