"""Time: publication windows by severity (SC005) and how long a record has effect (SC011)."""

from __future__ import annotations

from socialcredit.policy.checker._base import (
    MAX_EFFECT_MONTHS,
    NEGATIVE_NATURES,
    PUBLICATION_BOUNDS,
    Context,
    is_role,
    kept_too_long,
    open_ended_types,
)
from socialcredit.policy.schema import Severity as RecordSeverity


def sc005_publication(ctx: Context) -> None:
    open_ended = open_ended_types(ctx)
    for rt in ctx.catalog.record_types:
        pub = rt.publication
        if not pub.published or (pub.max_months is None and rt.code in open_ended):
            continue
        low, high = PUBLICATION_BOUNDS[rt.severity]
        where = ctx.at("record_types", rt.code, "publication.max_months")
        window = "at most 3 months" if low == 0 else f"between {low} and {high} months"
        if pub.max_months is None:
            ctx.error(
                "SC005",
                where,
                f"record type {rt.code} ({rt.severity.value}) is published with no end",
                f"a {rt.severity.value} record is published for {window}: set max_months",
            )
        elif not low <= pub.max_months <= high:
            ctx.error(
                "SC005",
                where,
                f"record type {rt.code} is {rt.severity.value} but published for "
                f"{pub.max_months} months",
                f"a {rt.severity.value} record is published for {window}"
                + (" (or set `published = false`)" if rt.severity is RecordSeverity.minor else ""),
            )


def sc011_effect(ctx: Context) -> None:
    open_ended = open_ended_types(ctx)
    for rt in ctx.catalog.record_types:
        effect = rt.publication.effect
        where = ctx.at("record_types", rt.code, "publication")
        kept = rt.publication.after_performance_months
        if effect is None and kept_too_long(rt):
            ctx.error(
                "SC011",
                where,
                f"record type {rt.code} ({rt.title}) keeps effect for {kept} months after the "
                f"obligation is performed, more than {MAX_EFFECT_MONTHS}",
                "negative credit information is kept at most 5 years from the day the conduct "
                "ends (PBOC): set after_performance_months to 60 or less",
            )
        elif effect is None and rt.code in open_ended:
            continue  # a default listed until performed: it lasts until then, and a bounded time
        elif effect is None:
            ctx.error(
                "SC011",
                where,
                f"record type {rt.code} ({rt.title}) never stops having effect",
                "set publication.max_months (or effect_months)",
            )
        elif effect > MAX_EFFECT_MONTHS:
            ctx.error(
                "SC011",
                where,
                f"record type {rt.code} has effect for {effect} months, more than "
                f"{MAX_EFFECT_MONTHS}",
                "negative credit information is kept at most 5 years (PBOC), the longest "
                "retention in the sources",
            )
        elif rt.nature in NEGATIVE_NATURES and not is_role(rt):
            ceiling = PUBLICATION_BOUNDS[rt.severity][1]
            if effect > ceiling:
                ctx.warn(
                    "SC011",
                    where,
                    f"record type {rt.code} ({rt.severity.value}) has effect for {effect} "
                    f"months, longer than a {rt.severity.value} record may be published "
                    f"({ceiling} months)",
                    "reported, not refused: a record may count longer than it is published "
                    "(a licence period, credit reporting), but the subject should know",
                )
