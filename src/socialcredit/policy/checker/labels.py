"""What labels give away: protected subjects (SC021) and categories (SC023).

The structural rules trust what a catalog declares: a domain's ``category``, a record type's
``nature``. These rules read what it *calls* things. The ids, titles and descriptions of the
authorities, domains, record types, dimensions, schemes, lists, measures, memoranda, orders and
releases a catalog defines are screened against the lexicon
(:mod:`socialcredit.policy.lexicon`), and so are their legal bases (lists': with their terms'),
for the subjects of :data:`BASIS_SUBJECTS`:

- SC021 (error, both profiles): a label names a protected subject (religion, speech,
  petitioning, family and contacts, health, ethnicity, biometrics, cameras and location, lawful
  purchases, voluntary civic acts, ...), unless the file that defines the item carries a
  reviewed exemption for it (``[[exemptions]]``: who reviewed, when, why). Measures, and the
  memoranda, orders and releases that put them on or lift them, are not screened for purchases
  or civic acts: restricting purchases is what a consumption measure is, and rewarding civic
  acts is what an incentive is. A legal basis is screened with its item: a record of an
  "unregistered gathering" resting on the "Regulations on Religious Affairs" is about
  religion. Voluntary civic acts are expected in a domain of category ``civic``, where SC003
  keeps them incentives only.
- SC023 (error): a measure or a domain whose labels name a category (flights, trains: transport;
  hotels, tourism: consumption; passports: exit control; civil service: employment) but that
  is filed under an unrelated category, so that a flight ban in a "judicial" domain cannot pass
  as related to a court's list.

An exemption that names no defined item is SC012; one without a reviewer or a reason, or in
another file than its item, is an SC021 error; one that exempts nothing is an SC021 warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from socialcredit.policy.checker._base import Context, blank
from socialcredit.policy.lexicon import CATEGORY_WORDS, DIMENSION_TERMS, Hit, screen, words_in
from socialcredit.policy.schema import (
    CATEGORY_RELATED,
    DomainCategory,
    Exemption,
    Nature,
    ProtectedSubject,
    WeightedScheme,
)

#: Subjects a measure's labels are not screened for (see the module docstring).
NOT_FOR_MEASURES: frozenset[ProtectedSubject] = frozenset(
    {ProtectedSubject.lawful_purchases, ProtectedSubject.civic_acts}
)

#: Subjects a legal basis is screened for: a law that regulates them exists only to restrict
#: people for them ("Regulations on Religious Affairs", "Regulations on Letters and Visits").
#: A law named after health, family, donations, purchases, trade unions, genetic or biometric
#: data or cameras is also the basis of ordinary violations of it (a hospital that fails to
#: report an infectious disease, unpaid child support under the Marriage Law, tobacco sold
#: without a licence, a company misusing face data), so those are read in labels only.
BASIS_SUBJECTS: frozenset[ProtectedSubject] = frozenset(
    {
        ProtectedSubject.religion,
        ProtectedSubject.expression,
        ProtectedSubject.petitioning,
        ProtectedSubject.political_opinion,
        ProtectedSubject.ethnicity,
        ProtectedSubject.sex_life,
    }
)

#: Items that are, or put on or lift, measures: screened as measures are.
MEASURE_SECTIONS: frozenset[str] = frozenset({"measures", "memoranda", "orders", "releases"})


@dataclass(frozen=True)
class Item:
    """One labelled item of the catalog, as an exemption names it."""

    section: str
    id: str
    what: str
    location: str
    file: Path | None
    text: str
    civic: bool = False
    """Voluntary civic acts are what this item is declared to be about (a civic domain)."""
    basis: str = ""
    """Its legal basis (or bases), screened for :data:`BASIS_SUBJECTS` only."""

    @property
    def key(self) -> str:
        return f"{self.section}:{self.id}"


def items(ctx: Context) -> Iterator[Item]:
    """Every labelled item, with the file that defines it."""
    ix = ctx.index
    origin = ctx.loaded.origin

    def civic_domain(domain_id: str) -> bool:
        dom = ix.domains.get(domain_id)
        return dom is not None and dom.category is DomainCategory.civic

    for a in ctx.catalog.authorities:
        yield Item(
            "authorities",
            a.id,
            f"authority {a.id} ({a.title})",
            ctx.at("authorities", a.id),
            origin.get(("authorities", a.id)),
            _text(a.id, a.title, a.description),
        )
    for d in ctx.catalog.domains:
        yield Item(
            "domains",
            d.id,
            f"domain {d.id} ({d.title})",
            ctx.at("domains", d.id),
            origin.get(("domains", d.id)),
            _text(d.id, d.title, d.description),
            civic=d.category is DomainCategory.civic,
        )
    for rt in ctx.catalog.record_types:
        yield Item(
            "record_types",
            rt.code,
            f"record type {rt.code} ({rt.title})",
            ctx.at("record_types", rt.code),
            origin.get(("record_types", rt.code)),
            _text(rt.code, rt.title, rt.description),
            civic=rt.nature is Nature.lawful and civic_domain(rt.domain),
            basis=rt.legal_basis,
        )
    for s in ctx.catalog.schemes:
        yield Item(
            "schemes",
            s.id,
            f"scheme {s.id} ({s.title})",
            ctx.at("schemes", s.id),
            origin.get(("schemes", s.id)),
            _text(s.id, s.title, s.description),
            basis=s.legal_basis,
        )
        if isinstance(s, WeightedScheme):
            for dim in s.dimensions:
                yield Item(
                    "dimensions",
                    f"{s.id}/{dim.id}",
                    f"dimension {dim.id} ({dim.title}) of scheme {s.id}",
                    ctx.at("schemes", s.id, f"dimensions[{dim.id}]"),
                    origin.get(("schemes", s.id)),
                    _text(dim.id, dim.title, dim.description),
                    civic=civic_domain(dim.domain),
                )
    for lst in ctx.catalog.lists:
        yield Item(
            "lists",
            lst.id,
            f"list {lst.id} ({lst.title})",
            ctx.at("lists", lst.id),
            origin.get(("lists", lst.id)),
            _text(lst.id, lst.title, lst.description),
            basis=_text(lst.legal_basis, *(t.legal_basis for t in lst.terms)),
        )
    for m in ctx.catalog.measures:
        yield Item(
            "measures",
            m.id,
            f"measure {m.id} ({m.title})",
            ctx.at("measures", m.id),
            origin.get(("measures", m.id)),
            _text(m.id, m.title, m.description),
            basis=m.legal_basis,
        )
    for memo in ctx.catalog.memoranda:
        yield Item(
            "memoranda",
            memo.id,
            f"memorandum {memo.id} ({memo.title})",
            ctx.at("memoranda", memo.id),
            origin.get(("memoranda", memo.id)),
            _text(memo.id, memo.title),
            basis=memo.legal_basis,
        )
    for order in ctx.catalog.orders:
        yield Item(
            "orders",
            order.id,
            f"order {order.id} ({order.title})",
            ctx.at("orders", order.id),
            origin.get(("orders", order.id)),
            _text(order.id, order.title, order.description),
            basis=order.legal_basis,
        )
    for rel in ctx.catalog.releases:
        yield Item(
            "releases",
            rel.id,
            f"release {rel.id} ({rel.title})",
            ctx.at("releases", rel.id),
            origin.get(("releases", rel.id)),
            _text(rel.id, rel.title, rel.description),
            basis=_text(rel.legal_basis, rel.decide_basis),
        )


def _text(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def hits(item: Item) -> list[Hit]:
    """The protected subjects an item's labels name (after the rules of this module), and
    those of :data:`BASIS_SUBJECTS` its legal basis names."""
    found = screen(item.text, DIMENSION_TERMS if item.section == "dimensions" else None)
    named = {h.subject for h in found}
    found += [
        h for h in screen(item.basis) if h.subject in BASIS_SUBJECTS and h.subject not in named
    ]
    if item.section in MEASURE_SECTIONS:
        found = [h for h in found if h.subject not in NOT_FOR_MEASURES]
    if item.civic:
        found = [h for h in found if h.subject is not ProtectedSubject.civic_acts]
    return found


SINGULAR = {
    "authorities": "authority",
    "domains": "domain",
    "record_types": "record type",
    "dimensions": "dimension",
    "schemes": "scheme",
    "lists": "list",
    "measures": "measure",
    "memoranda": "memorandum",
    "orders": "order",
    "releases": "release",
}


def sc021_protected_labels(ctx: Context) -> None:
    defined = {item.key: item for item in items(ctx)}
    valid: dict[str, Exemption] = {}
    for e in ctx.catalog.exemptions:
        item = defined.get(e.key)
        if item is None:
            ctx.unknown(
                ctx.at("exemptions", e.key),
                f"{SINGULAR[e.section]} to exempt",
                e.id,
                [k.split(":", 1)[1] for k in defined if k.startswith(f"{e.section}:")],
                "exemption",
            )
        elif _valid(ctx, e, item):
            valid[e.key] = e
    used: dict[str, set[ProtectedSubject]] = {}
    for item in defined.values():
        exemption = valid.get(item.key)
        for hit in hits(item):
            if exemption is not None and hit.subject in exemption.subjects:
                used.setdefault(item.key, set()).add(hit.subject)
                continue
            ctx.error(
                "SC021",
                item.location,
                f"{item.what} names a protected subject, {hit.subject.value.replace('_', ' ')} "
                f"({hit.word!r}), whatever its category or nature says",
                "remove it; if the label is innocent, add a reviewed exemption for it to the "
                "file that defines it ([[exemptions]]: section, id, subjects, reviewed_by, "
                "reviewed_on, reason)",
            )
    for key, e in valid.items():
        spare = set(e.subjects) - used.get(key, set())
        if spare:
            ctx.warn(
                "SC021",
                ctx.at("exemptions", key),
                f"exemption for {defined[key].what} exempts "
                f"{', '.join(sorted(s.value for s in spare))}, which its labels do not name",
                "remove what it does not need: an exemption is a reviewed judgement about "
                "one label",
            )


def _valid(ctx: Context, e: Exemption, item: Item) -> bool:
    """An exemption counts if it says who reviewed it and why, and sits in the item's file."""
    where = ctx.at("exemptions", e.key)
    ok = True
    if blank(e.reviewed_by) or blank(e.reason):
        ctx.error(
            "SC021",
            where,
            f"exemption for {item.what} does not say who reviewed it and why",
            "give reviewed_by (a person or body) and reason (why the label is innocent)",
        )
        ok = False
    efile = ctx.loaded.origin.get(("exemptions", e.key))
    if efile is not None and item.file is not None and efile != item.file:
        ctx.error(
            "SC021",
            where,
            f"exemption in {efile.name} for {item.what}, which {item.file.name} defines",
            "an item is exempted only by the file that defines it",
        )
        ok = False
    return ok


def _categories(text: str) -> list[DomainCategory]:
    return [c for c, terms in CATEGORY_WORDS.items() if words_in(text, terms)]


def _fits(named: DomainCategory, declared: DomainCategory) -> bool:
    return named is declared or (declared, named) in CATEGORY_RELATED


def sc023_category_labels(ctx: Context) -> None:
    for m in ctx.catalog.measures:
        dom = ctx.index.domains.get(m.domain)
        if dom is None:
            continue  # SC012
        named = _categories(_text(m.id, m.title, m.description))
        if named and not any(_fits(c, dom.category) for c in named):
            ctx.error(
                "SC023",
                ctx.at("measures", m.id, "domain"),
                f"measure {m.id} ({m.title}) names {_names(named)} but sits in domain "
                f"{dom.id} of category {dom.category.value}",
                f"put it in a domain of category {named[0].value}; a cross-domain measure is "
                "reported (SC009), not hidden",
            )
    for d in ctx.catalog.domains:
        named = _categories(_text(d.id, d.title, d.description))
        if named and not any(_fits(c, d.category) for c in named):
            ctx.error(
                "SC023",
                ctx.at("domains", d.id, "category"),
                f"domain {d.id} ({d.title}) names {_names(named)} but declares category "
                f"{d.category.value}",
                f"declare category {named[0].value}",
            )


def _names(categories: list[DomainCategory]) -> str:
    return " and ".join(c.value.replace("_", " ") for c in categories)
