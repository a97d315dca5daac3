"""Where records come from (SC010) and who may issue them (SC022).

A record is admissible only as an authority's decision, a court's judgment or a regulated credit
report. SC010 refuses a surveillance source, whether it is declared (``source = "camera"``) or
only betrayed by the labels of the record type or of its issuer (a "face-recognition camera
network" declared as an issuer of ``authority_decision`` records). A declared source is never
exempted; a label is, by the same reviewed exemption that clears it of SC021.

SC022 holds each authority to its declared ``kind``: a private operator runs private schemes and
issues credit reports, never authority decisions or judgments; a private scheme is run by a
private operator on its own records; a court's judgment comes from a court; and no public
restriction, listed or ordered directly, rests only on a private operator's records or is
designated or ordered by one.
"""

from __future__ import annotations

from socialcredit.policy.checker._base import (
    Context,
    feeding_types,
    known_types,
    restrictive,
    rules_of,
)
from socialcredit.policy.lexicon import GOVERNMENT, screen, words_in
from socialcredit.policy.schema import (
    INADMISSIBLE_SOURCES,
    Authority,
    AuthorityKind,
    ListKind,
    MeasureKind,
    ProtectedSubject,
    RecordType,
    Scheme,
    Source,
)

#: Subjects whose words in a label mean the record is read off people, not decided about them.
SURVEILLANCE: frozenset[ProtectedSubject] = frozenset(
    {ProtectedSubject.surveillance, ProtectedSubject.biometrics}
)


def _surveillance_words(ctx: Context, section: str, item_id: str, *texts: str) -> list[str]:
    """Surveillance words in an item's labels that no reviewed exemption clears."""
    return [
        h.word
        for t in texts
        for h in screen(t)
        if h.subject in SURVEILLANCE and not ctx.exempted(section, item_id, h.subject)
    ]


def sc010_sources(ctx: Context) -> None:
    fix = (
        "records come only from authorities' decisions, court judgments or regulated credit "
        "reporting"
    )
    for rt in ctx.catalog.record_types:
        if rt.source in INADMISSIBLE_SOURCES:
            ctx.error(
                "SC010",
                ctx.at("record_types", rt.code, "source"),
                f"record type {rt.code} ({rt.title}) comes from {rt.source.value!r}: "
                "no surveillance input is admissible",
                fix,
            )
            continue
        words = _surveillance_words(ctx, "record_types", rt.code, rt.code, rt.title, rt.description)
        if words:
            ctx.error(
                "SC010",
                ctx.at("record_types", rt.code, "source"),
                f"record type {rt.code} ({rt.title}) is declared {rt.source.value!r} but its "
                f"labels name a surveillance source ({', '.join(words)})",
                fix,
            )
        for issuer in rt.issuers:
            auth = ctx.index.authorities.get(issuer)
            if auth is None:
                continue
            words = _surveillance_words(
                ctx, "authorities", auth.id, auth.id, auth.title, auth.description
            )
            if words:
                ctx.error(
                    "SC010",
                    ctx.at("record_types", rt.code, "issuers"),
                    f"record type {rt.code} is issued by {auth.id} ({auth.title}), a "
                    f"surveillance source ({', '.join(words)}), whatever it is declared as",
                    fix,
                )


def _labels(auth: Authority) -> str:
    return "\n".join((auth.id, auth.title, auth.description))


def _kind(auth: Authority | None) -> AuthorityKind | None:
    return auth.kind if auth is not None else None


def _issuer_problem(ctx: Context, rt: RecordType) -> str:
    kinds = {i: _kind(ctx.index.authorities.get(i)) for i in rt.issuers}
    known = {i: k for i, k in kinds.items() if k is not None}
    if rt.source is Source.court_judgment and known and AuthorityKind.court not in known.values():
        return f"a court judgment issued by no court ({', '.join(sorted(known))})"
    private = sorted(i for i, k in known.items() if k is AuthorityKind.private_operator)
    if rt.source in (Source.authority_decision, Source.court_judgment) and private:
        return (
            f"a {rt.source.value.replace('_', ' ')} issued by a private operator "
            f"({', '.join(private)}): a company decides nothing about anyone in public law"
        )
    return ""


def sc022_authority_kinds(ctx: Context) -> None:
    kinds = ", ".join(k.value for k in AuthorityKind)
    for auth in ctx.catalog.authorities:
        body = words_in(_labels(auth), GOVERNMENT)
        if auth.kind is AuthorityKind.private_operator and body:
            ctx.error(
                "SC022",
                ctx.at("authorities", auth.id, "kind"),
                f"authority {auth.id} ({auth.title}) is declared a private operator but its "
                f"labels name a public body ({', '.join(w.rstrip('*') for w in body)})",
                "a public body is a court, an administrative agency or a regulator; its scores "
                "need a legal basis (SC001)",
            )
        if auth.kind is None:
            ctx.warn(
                "SC022",
                ctx.at("authorities", auth.id, "kind"),
                f"authority {auth.id} ({auth.title}) declares no kind",
                f"set kind ({kinds}): what an authority is bounds what it may issue",
            )
    for rt in ctx.catalog.record_types:
        problem = _issuer_problem(ctx, rt)
        if problem:
            ctx.error(
                "SC022",
                ctx.at("record_types", rt.code, "issuers"),
                f"record type {rt.code} ({rt.title}) is {problem}",
                "court judgments come from courts, authority decisions from agencies and "
                'regulators; a private operator reports (source = "credit_reporting")',
            )
    for s in ctx.catalog.schemes:
        if not s.private:
            continue
        where = ctx.at("schemes", s.id, "operator")
        operator = ctx.index.authorities.get(s.operator) if s.operator else None
        if s.operator is None:
            ctx.error(
                "SC022",
                where,
                f"scheme {s.id} ({s.title}) is marked private but names no operator",
                "set operator to the private operator that runs it; a scheme run by an "
                "authority is not private and needs a legal basis (SC001)",
            )
        elif operator is not None and operator.kind is not AuthorityKind.private_operator:
            ctx.error(
                "SC022",
                where,
                f"scheme {s.id} ({s.title}) is marked private but is run by {operator.id} "
                f"({operator.title}), which is {_a(operator.kind)}",
                "only a private operator's opt-in scheme is private; an authority's score "
                "needs a legal basis (SC001)",
            )
        public: set[str] = set()
        for r in rules_of(s):
            scored = ctx.index.record_types.get(r.rule.record_type)
            if scored is None:
                continue
            for issuer in scored.issuers:
                if _kind(ctx.index.authorities.get(issuer)) is not AuthorityKind.private_operator:
                    public.add(f"{scored.code} from {issuer}")
        if public:
            ctx.error(
                "SC022",
                ctx.at("schemes", s.id, "private"),
                f"scheme {s.id} ({s.title}) is marked private but scores records issued by "
                f"authorities that are not private operators: {', '.join(sorted(public))}",
                "a private scheme scores only its operators' own (opt-in) records",
            )
    for lst in ctx.catalog.lists:
        scheme = ctx.index.schemes.get(lst.entry.scheme) if lst.entry.scheme else None
        if restrictive(ctx, lst):
            _public_restriction(
                ctx,
                ctx.at("lists", lst.id, "entry"),
                f"{lst.kind.value} {lst.id} ({lst.title}) carries restrictions but is entered",
                feeding_types(ctx, lst),
                scheme if scheme is not None and scheme.private else None,
            )
        if lst.kind is not ListKind.redlist:
            _private_authority(ctx, ctx.at("lists", lst.id, "authority"),
                               f"{lst.kind.value} {lst.id} is designated by", lst.authority,
                               "only a court or an authority designates blacklists and "
                               "key-attention lists")  # fmt: skip
    for order in ctx.catalog.orders:
        measures = [ctx.index.measures.get(m) for m in order.measures]
        if not any(m is not None and m.kind is MeasureKind.restriction for m in measures):
            continue  # an order of incentives only, as a redlist
        types = known_types(ctx, order.record_types)
        _public_restriction(ctx, ctx.at("orders", order.id, "record_types"),
                            f"order {order.id} ({order.title}) orders restrictions but rests",
                            types, None)  # fmt: skip
        _private_authority(ctx, ctx.at("orders", order.id, "authority"),
                           f"order {order.id} is ordered by", order.authority,
                           "only a court or an authority orders restrictions")  # fmt: skip


def _public_restriction(
    ctx: Context, where: str, what: str, types: list[RecordType], private: Scheme | None
) -> None:
    """SC022: a restriction that only private operators' records, or a private scheme's score,
    lead to (``what`` says what restricts, up to "entered" or "rests")."""
    private_only = bool(types) and all(
        rt.issuers
        and all(
            _kind(ctx.index.authorities.get(i)) is AuthorityKind.private_operator
            for i in rt.issuers
        )
        for rt in types
    )
    if private is None and not private_only:
        return
    ctx.error(
        "SC022",
        where,
        f"{what} "
        + (
            f"by the private scheme {private.id}"
            if private is not None
            else "only by records of private operators"
        ),
        "a company's opt-in records and scores put no one under public restrictions; "
        "only an authority's decisions or a court's judgments do",
    )


def _private_authority(
    ctx: Context, where: str, what: str, authority: str | None, help: str
) -> None:
    """SC022: a restriction designated or ordered by a private operator (``what`` says what,
    up to "designated by" or "ordered by")."""
    auth = ctx.index.authorities.get(authority) if authority else None
    if auth is not None and auth.kind is AuthorityKind.private_operator:
        ctx.error("SC022", where, f"{what} {auth.id} ({auth.title}), a private operator", help)


def _a(kind: AuthorityKind | None) -> str:
    if kind is None:
        return "of no declared kind"
    word = kind.value.replace("_", " ")
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"
