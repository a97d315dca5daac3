"""The guardrail checker: is a catalog admissible?

The schema (:mod:`socialcredit.policy.schema`) only checks a catalog's *shape*. This module judges
its *content* against the project's guardrails and reports each problem as a :class:`Finding`
with a stable code (``SC000``-``SC016``, documented with their sources in
``docs/guardrails.md``). The registry loads catalogs through :func:`load_admissible`, which
refuses any catalog with an error finding; the simulator loads catalogs without checking them, so
that a refused regime can still be run and measured.

Every rule is a small function over the merged catalog; :func:`check` runs them all and returns
the findings in a deterministic order (by code, then location, then message).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from socialcredit.errors import CatalogError, CatalogRefused
from socialcredit.policy.loader import CatalogIndex, Loaded, did_you_mean, load
from socialcredit.policy.schema import (
    INADMISSIBLE_SOURCES,
    LEGAL_ROLES,
    PROTECTED_CATEGORIES,
    DomainCategory,
    LicenceScheme,
    ListDef,
    ListKind,
    MeasureKind,
    Nature,
    PointsScheme,
    RecordType,
    Removal,
    Role,
    Rule,
    Scheme,
    WeightedScheme,
)
from socialcredit.policy.schema import Severity as RecordSeverity

__all__ = [
    "CODES",
    "Finding",
    "Profile",
    "Severity",
    "check",
    "check_paths",
    "counts",
    "load_admissible",
]

#: Longest a record may keep having effect (SC011, error above it): PBOC keeps negative credit
#: information five years after the conduct ends, the longest retention in the sources.
MAX_EFFECT_MONTHS = 60

#: Longest a list may last (SC006, error above it): the court list's 2 years plus at most 3 more
#: for aggravated cases (the extension is recalled, not seen in the text); the same 5 years.
MAX_LIST_MONTHS = 60

#: Removal ways that take someone whose record is right off a list (SC007). An objection only
#: helps someone whose record is wrong; a creditor's request depends on someone else's goodwill.
WAYS_OFF: frozenset[Removal] = frozenset(
    {Removal.fulfilment, Removal.repair, Removal.expiry, Removal.score_recovery}
)

#: Natures of records that count against their subject (SC011 reports their effect beyond the
#: publication ceiling of their severity).
NEGATIVE_NATURES: frozenset[Nature] = frozenset({Nature.violation, Nature.default})

#: Publication windows by severity, ``(lowest allowed max_months, highest allowed max_months)``
#: (NDRC Credit Repair Management Measures; SAMR Order 107).
PUBLICATION_BOUNDS: dict[RecordSeverity, tuple[int, int]] = {
    RecordSeverity.minor: (0, 3),
    RecordSeverity.general: (3, 12),
    RecordSeverity.serious: (12, 36),
}


class Severity(StrEnum):
    error = "error"
    warning = "warning"


class Profile(StrEnum):
    """The legal profile cross-domain measures (SC009) are judged by."""

    cn_2021 = "cn-2021"
    eu_ai_act = "eu-ai-act"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    location: str
    message: str
    help: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {
            "code": self.code,
            "severity": self.severity.value,
            "location": self.location,
            "message": self.message,
        }
        if self.help:
            out["help"] = self.help
        return out

    def __str__(self) -> str:
        return f"{self.code} {self.severity.value} {self.location}: {self.message}"


#: Every code with a one-line title (``docs/guardrails.md`` has the rule and its source).
CODES: dict[str, str] = {
    "SC000": "catalog cannot be loaded",
    "SC001": "missing legal basis",
    "SC002": "protected domain, or a record type in a consumption domain",
    "SC003": "deduction or blacklist for lawful or civic conduct, or a scored role",
    "SC004": "incentive for lawful conduct",
    "SC005": "publication window out of bounds for severity",
    "SC006": "list without a duration, or lasting more than 60 months",
    "SC007": "list without a usable way off",
    "SC008": "dependence on another subject other than through a legal role",
    "SC009": "cross-domain measure",
    "SC010": "inadmissible record source",
    "SC011": "record that never stops having effect, or has effect too long",
    "SC012": "unknown reference",
    "SC013": "record type that cannot be issued or cannot apply",
    "SC014": "can never apply",
    "SC015": "blacklist fed by records that are not serious",
    "SC016": "inconsistent scoring scheme",
}


# --------------------------------------------------------------------------------------------
# Public API


def check(loaded: Loaded, *, profile: Profile = Profile.cn_2021) -> list[Finding]:
    """Every finding for a loaded (merged) catalog, in a deterministic order."""
    ctx = _Context(loaded, Profile(profile))
    for rule in _RULES:
        rule(ctx)
    unique = set(ctx.findings)
    return sorted(unique, key=lambda f: (f.code, f.location, f.message, f.help))


def check_paths(refs: Sequence[str | Path], *, profile: Profile = Profile.cn_2021) -> list[Finding]:
    """Load ``refs`` (files or bundled ids, merged) and check them.

    A catalog that cannot be loaded gives ``SC000`` findings (one per problem the loader
    reports) instead of an exception.
    """
    try:
        loaded = load(*refs)
    except CatalogError as exc:
        where = str(refs[0]) if refs else "(no catalog)"
        return load_findings(exc, where)
    return check(loaded, profile=profile)


def load_findings(exc: CatalogError, where: str) -> list[Finding]:
    """``SC000`` findings for a loading error; each names the file (and field) at fault."""
    out = []
    for line in str(exc).splitlines() or [str(exc)]:
        location, sep, message = line.partition(": ")
        if not sep or not location.endswith(".toml"):
            location, message = where, line
        out.append(
            Finding(
                "SC000",
                Severity.error,
                location,
                message,
                "fix the file so that it loads (see docs/catalog-format.md)",
            )
        )
    return out


def load_admissible(*refs: str | Path, profile: Profile = Profile.cn_2021) -> Loaded:
    """Load and check; raise :class:`CatalogRefused` if the checker finds any error.

    This is how the registry loads catalogs: it never runs a catalog with an error finding.
    """
    loaded = load(*refs)
    findings = check(loaded, profile=profile)
    errors = [f for f in findings if f.severity is Severity.error]
    if errors:
        shown = "; ".join(f"{f.code} {f.location}: {f.message}" for f in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise CatalogRefused(
            f"catalog {loaded.id!r} refused under {Profile(profile).value}: "
            f"{len(errors)} error(s): {shown}{more}",
            findings,
        )
    return loaded


def counts(findings: Iterable[Finding]) -> tuple[int, int]:
    """``(errors, warnings)``."""
    errors = warnings = 0
    for f in findings:
        if f.severity is Severity.error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


# --------------------------------------------------------------------------------------------
# Machinery


class _Context:
    def __init__(self, loaded: Loaded, profile: Profile) -> None:
        self.loaded = loaded
        self.catalog = loaded.catalog
        self.index: CatalogIndex = loaded.index
        self.profile = profile
        self.findings: list[Finding] = []

    def at(self, section: str, item_id: str, attr: str | None = None) -> str:
        return self.loaded.location(section, item_id, attr)

    def error(self, code: str, location: str, message: str, help: str = "") -> None:
        self.findings.append(Finding(code, Severity.error, location, message, help))

    def warn(self, code: str, location: str, message: str, help: str = "") -> None:
        self.findings.append(Finding(code, Severity.warning, location, message, help))

    def unknown(
        self, location: str, what: str, name: str, options: Iterable[str], owner: str
    ) -> None:
        hint = did_you_mean(name, sorted(options))
        self.error(
            "SC012",
            location,
            f"{owner} names {what} {name!r}, which no loaded catalog defines",
            f"{hint.strip(' ()') or 'define it, or extend the catalog that does'}",
        )


@dataclass(frozen=True)
class _RuleAt:
    """A scoring rule with where it sits."""

    scheme: Scheme
    rule: Rule
    attr: str
    via: Role | None


def _rules(scheme: Scheme) -> Iterator[_RuleAt]:
    if isinstance(scheme, WeightedScheme):
        for dim in scheme.dimensions:
            for rule in dim.rules:
                yield _RuleAt(
                    scheme,
                    rule,
                    f"dimensions[{dim.id}].rules[{rule.record_type}]",
                    rule.via or dim.via,
                )
    else:
        for rule in scheme.rules:
            yield _RuleAt(scheme, rule, f"rules[{rule.record_type}]", rule.via)


def _all_rules(ctx: _Context) -> Iterator[_RuleAt]:
    for scheme in ctx.catalog.schemes:
        yield from _rules(scheme)


def _values(rule: Rule) -> tuple[float, ...]:
    return (rule.points,) if rule.points is not None else rule.by_occurrence


def _is_role(rt: RecordType) -> bool:
    """A record linking a person to an organisation: ``nature = "role"`` or ``role`` set."""
    return rt.nature is Nature.role or rt.role is not None


def _category(ctx: _Context, domain_id: str) -> DomainCategory | None:
    domain = ctx.index.domains.get(domain_id)
    return domain.category if domain is not None else None


def _blank(text: str) -> bool:
    return not text.strip()


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------------------------
# The rules


def _sc001_legal_basis(ctx: _Context) -> None:
    fix = "name the law, regulation or decision that allows it in `legal_basis`"
    for rt in ctx.catalog.record_types:
        if _blank(rt.legal_basis):
            ctx.error(
                "SC001",
                ctx.at("record_types", rt.code, "legal_basis"),
                f"record type {rt.code} ({rt.title}) has no legal basis",
                fix,
            )
    for lst in ctx.catalog.lists:
        if _blank(lst.legal_basis):
            ctx.error(
                "SC001",
                ctx.at("lists", lst.id, "legal_basis"),
                f"list {lst.id} ({lst.title}) has no legal basis",
                fix,
            )
    for memo in ctx.catalog.memoranda:
        if _blank(memo.legal_basis):
            ctx.error(
                "SC001",
                ctx.at("memoranda", memo.id, "legal_basis"),
                f"memorandum {memo.id} ({memo.title}) has no legal basis",
                fix,
            )
    for m in ctx.catalog.measures:
        if _blank(m.legal_basis):
            ctx.error(
                "SC001",
                ctx.at("measures", m.id, "legal_basis"),
                f"measure {m.id} ({m.title}) has no legal basis",
                fix,
            )
    for s in ctx.catalog.schemes:
        if not s.private and _blank(s.legal_basis):
            ctx.error(
                "SC001",
                ctx.at("schemes", s.id, "legal_basis"),
                f"scheme {s.id} ({s.title}) is run by an authority but has no legal basis",
                fix + " (or mark a privately operated, opt-in scheme `private = true`)",
            )


def _sc002_protected(ctx: _Context) -> None:
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


def _sc003_sc004_lawful_and_roles(ctx: _Context) -> None:
    types = ctx.index.record_types
    for r in _all_rules(ctx):
        rt = types.get(r.rule.record_type)
        if rt is None:
            continue
        where = ctx.at("schemes", r.scheme.id, r.attr)
        values = _values(r.rule)
        if _is_role(rt):
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
                    f"adds {', '.join(_fmt(v) for v in values if v > 0)} point(s)",
                    "reported, not refused: incentives for lawful conduct steer lawful behaviour",
                )
        elif _category(ctx, rt.domain) is DomainCategory.civic and any(v < 0 for v in values):
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
            if _is_role(rt):
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
            elif _category(ctx, rt.domain) is DomainCategory.civic and lst.kind in (
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
        if rt.nature in NEGATIVE_NATURES and _category(ctx, rt.domain) is DomainCategory.civic:
            ctx.error(
                "SC003",
                ctx.at("record_types", rt.code, "nature"),
                f"record type {rt.code} ({rt.title}) records a {rt.nature.value} in the civic "
                f"domain {rt.domain}, which is for lawful conduct (volunteering) only",
                'set nature = "lawful", or move the record type to the domain of the law it breaks',
            )


def _sc005_publication(ctx: _Context) -> None:
    for rt in ctx.catalog.record_types:
        pub = rt.publication
        if not pub.published:
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


def _feeding_types(ctx: _Context, lst: ListDef) -> list[RecordType]:
    """The known record types that put someone on a list: its entry's record types, or for a
    score-based list the record types its scheme's rules score (each once, in order)."""
    if lst.entry.scheme is not None:
        scheme = ctx.index.schemes.get(lst.entry.scheme)
        codes = [r.rule.record_type for r in _rules(scheme)] if scheme is not None else []
    else:
        codes = list(lst.entry.record_types)
    out: dict[str, RecordType] = {}
    for code in codes:
        rt = ctx.index.record_types.get(code)
        if rt is not None:
            out.setdefault(code, rt)
    return list(out.values())


def _unusable_ways(ctx: _Context, lst: ListDef) -> dict[Removal, str]:
    """Removal ways a list names that can never be used, each with why."""
    removal = set(lst.removal)
    by_score = lst.entry.scheme is not None
    out: dict[Removal, str] = {}
    if Removal.expiry in removal and lst.duration_months is None:
        out[Removal.expiry] = "the list has no duration_months, so nothing expires"
    if Removal.score_recovery in removal and not by_score:
        out[Removal.score_recovery] = "the list is entered by records, not by a score"
    types = _feeding_types(ctx, lst)
    if not types:
        return out  # nothing known feeds it (SC012 reports the unknown names)
    fed = "the record types its scheme scores" if by_score else "the record types entering it"
    codes = ", ".join(rt.code for rt in types)
    if Removal.repair in removal and not any(rt.repairable for rt in types):
        out[Removal.repair] = f"none of {fed} ({codes}) is repairable"
    if not any(rt.nature is Nature.default for rt in types):
        for way in (Removal.fulfilment, Removal.creditor_request):
            if way in removal:
                out[way] = (
                    f'none of {fed} ({codes}) is a default (nature = "default"), so there is '
                    "no obligation to perform and no creditor"
                )
    return out


def _sc006_sc007_lists(ctx: _Context) -> None:
    for lst in ctx.catalog.lists:
        by_score = lst.entry.scheme is not None
        if not by_score and lst.duration_months is None:
            ctx.error(
                "SC006",
                ctx.at("lists", lst.id, "duration_months"),
                f"list {lst.id} ({lst.title}) is entered by records but has no duration",
                "set duration_months (serious-dishonesty lists: at most 36)",
            )
        elif lst.duration_months is not None and lst.duration_months > MAX_LIST_MONTHS:
            ctx.error(
                "SC006",
                ctx.at("lists", lst.id, "duration_months"),
                f"list {lst.id} ({lst.title}) lasts {lst.duration_months} months, more than "
                f"{MAX_LIST_MONTHS}",
                "the court list lasts 2 years, plus at most 3 for aggravated cases; "
                "serious records are published at most 36 months",
            )
        where = ctx.at("lists", lst.id, "removal")
        ways = list(dict.fromkeys(lst.removal))
        unusable = _unusable_ways(ctx, lst)
        usable = [w for w in ways if w in WAYS_OFF and w not in unusable]
        if not ways:
            ctx.error(
                "SC007",
                where,
                f"list {lst.id} ({lst.title}) has no way off",
                'give removal ways, e.g. ["fulfilment", "repair", "expiry", "objection"]',
            )
        elif not any(w in WAYS_OFF for w in ways):
            ctx.error(
                "SC007",
                where,
                f"list {lst.id} ({lst.title}) has no way off for someone whose record is right: "
                f"{' and '.join(w.value for w in ways)} only",
                "an objection only corrects a wrong record and a creditor's request is someone "
                "else's choice: add fulfilment, repair, expiry or score_recovery",
            )
        elif not usable:
            why = "; ".join(f"{w.value}: {unusable[w]}" for w in ways if w in unusable)
            ctx.error(
                "SC007",
                where,
                f"list {lst.id} ({lst.title}) has no usable way off ({why})",
                "add a way off that can be used (expiry with a duration, repair of repairable "
                "records, fulfilment of defaults)",
            )
        else:
            for w in ways:
                if w in unusable:
                    ctx.warn(
                        "SC007",
                        where,
                        f"list {lst.id} names {w.value} as a way off, but it can never be used: "
                        f"{unusable[w]}",
                        f"remove {w.value} from removal, or fix the record types; other ways "
                        f"off remain ({', '.join(x.value for x in usable)})",
                    )
        if ways and by_score and Removal.score_recovery not in lst.removal:
            ctx.error(
                "SC007",
                where,
                f"list {lst.id} is entered by a score but does not end when the score recovers",
                'add "score_recovery" to removal',
            )
        if lst.authority is None:
            ctx.error(
                "SC007",
                ctx.at("lists", lst.id, "authority"),
                f"list {lst.id} ({lst.title}) names no designating authority, so no one can "
                "hear an objection or grant repair",
                "set authority (whoever designates, repairs)",
            )


def _sc008_roles(ctx: _Context) -> None:
    def bad(role: Role | None) -> bool:
        return role is not None and role not in LEGAL_ROLES

    legal = ", ".join(sorted(r.value for r in LEGAL_ROLES))
    fix = f"only legal organisational roles may reach another subject: {legal}"
    for rt in ctx.catalog.record_types:
        if rt.nature is Nature.role and rt.role is None:
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
        for r in _rules(s):
            if bad(r.rule.via):
                assert r.rule.via is not None
                ctx.error(
                    "SC008",
                    ctx.at("schemes", s.id, r.attr + ".via"),
                    f"scheme {s.id} scores {r.rule.record_type} records of the subject's "
                    f"{r.rule.via.value}",
                    fix,
                )
    for memo in ctx.catalog.memoranda:
        for role in memo.extends_to:
            if bad(role):
                ctx.error(
                    "SC008",
                    ctx.at("memoranda", memo.id, "extends_to"),
                    f"memorandum {memo.id} extends its measures to the listed subject's "
                    f"{role.value}",
                    fix,
                )


def _feeding_domains(ctx: _Context, scheme: Scheme) -> set[str]:
    out = {
        rt.domain
        for r in _rules(scheme)
        if (rt := ctx.index.record_types.get(r.rule.record_type)) is not None
    }
    if isinstance(scheme, WeightedScheme):
        out.update(d.domain for d in scheme.dimensions)
    return out


def _list_domains(ctx: _Context, lst: ListDef) -> set[str]:
    if lst.entry.scheme is not None:
        scheme = ctx.index.schemes.get(lst.entry.scheme)
        return _feeding_domains(ctx, scheme) if scheme is not None else set()
    return {
        rt.domain
        for code in lst.entry.record_types
        if (rt := ctx.index.record_types.get(code)) is not None
    }


def _related(ctx: _Context, domains: set[str]) -> set[str]:
    out = set(domains)
    for d in domains:
        dom = ctx.index.domains.get(d)
        if dom is not None:
            out.update(dom.related)
    return out


def _sc009_cross_domain(ctx: _Context) -> None:
    eu = ctx.profile is Profile.eu_ai_act
    for memo in ctx.catalog.memoranda:
        for list_id in memo.lists:
            lst = ctx.index.lists.get(list_id)
            if lst is None:
                continue
            feeding = _list_domains(ctx, lst)
            if not feeding:
                continue
            allowed = _related(ctx, feeding)
            for measure_id in memo.measures:
                measure = ctx.index.measures.get(measure_id)
                if measure is None or measure.domain not in ctx.index.domains:
                    continue
                if measure.domain in allowed:
                    continue
                fed = ", ".join(sorted(feeding))
                message = (
                    f"memorandum {memo.id} maps list {lst.id} (records in {fed}) to "
                    f"{measure.kind.value} {measure.id} in the unrelated domain {measure.domain}"
                )
                where = ctx.at("memoranda", memo.id, f"measures[{measure.id}]")
                if eu:
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
                elif _blank(memo.legal_basis) or _blank(measure.legal_basis):
                    ctx.error(
                        "SC009",
                        where,
                        message + ", without a legal basis for it",
                        "cn-2021 accepts cross-domain measures only with a legal basis for both "
                        "the memorandum and the measure",
                    )
                else:
                    ctx.warn(
                        "SC009",
                        where,
                        message,
                        "reported: accepted under cn-2021 with a legal basis; refused under "
                        "eu-ai-act if it is a restriction",
                    )
    for scheme in ctx.catalog.schemes:
        feeding = _feeding_domains(ctx, scheme)
        if not feeding:
            continue
        allowed = _related(ctx, feeding)
        for perk in scheme.perks:
            for measure_id in perk.measures:
                measure = ctx.index.measures.get(measure_id)
                if measure is None or measure.domain not in ctx.index.domains:
                    continue
                if measure.domain in allowed:
                    continue
                message = (
                    f"scheme {scheme.id} grants {measure.kind.value} {measure.id} in the "
                    f"unrelated domain {measure.domain} at {_fmt(perk.at_least)} points"
                )
                where = ctx.at(
                    "schemes", scheme.id, f"perks[{_fmt(perk.at_least)}].measures[{measure.id}]"
                )
                if measure.kind is MeasureKind.restriction and (eu or _blank(measure.legal_basis)):
                    ctx.error(
                        "SC009", where, message, "a perk should be an incentive in a related domain"
                    )
                else:
                    ctx.warn("SC009", where, message, "reported: a score-based perk")


def _sc010_sources(ctx: _Context) -> None:
    for rt in ctx.catalog.record_types:
        if rt.source in INADMISSIBLE_SOURCES:
            ctx.error(
                "SC010",
                ctx.at("record_types", rt.code, "source"),
                f"record type {rt.code} ({rt.title}) comes from {rt.source.value!r}: "
                "no surveillance input is admissible",
                "records come only from authorities' decisions, court judgments or regulated "
                "credit reporting",
            )


def _sc011_effect(ctx: _Context) -> None:
    for rt in ctx.catalog.record_types:
        effect = rt.publication.effect
        where = ctx.at("record_types", rt.code, "publication")
        if effect is None:
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
        elif rt.nature in NEGATIVE_NATURES and not _is_role(rt):
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


def _sc012_references(ctx: _Context) -> None:
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
        for r in _rules(s):
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


def _sc013_issuable(ctx: _Context) -> None:
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


def _reach(ctx: _Context, scheme: Scheme) -> tuple[float, float]:
    """The lowest and highest score a scheme can reach, given its rules' signs."""
    values = [
        v
        for r in _rules(scheme)
        if r.rule.record_type in ctx.index.record_types
        for v in _values(r.rule)
    ]
    down, up = any(v < 0 for v in values), any(v > 0 for v in values)
    if isinstance(scheme, PointsScheme):
        return (scheme.floor if down else scheme.base), (scheme.ceiling if up else scheme.base)
    if isinstance(scheme, LicenceScheme):
        return (0.0 if down else scheme.points), scheme.points
    return scheme.low, scheme.high


def _sc014_never_applies(ctx: _Context) -> None:
    ix = ctx.index
    used_measures = {m for memo in ctx.catalog.memoranda for m in memo.measures}
    used_measures |= {m for s in ctx.catalog.schemes for p in s.perks for m in p.measures}
    for m in ctx.catalog.measures:
        if m.id not in used_measures:
            ctx.warn(
                "SC014",
                ctx.at("measures", m.id),
                f"measure {m.id} ({m.title}) can never apply: no memorandum or perk uses it",
                "map a list to it in a memorandum, or remove it",
            )
    for lst in ctx.catalog.lists:
        entry = lst.entry
        scheme = ix.schemes.get(entry.scheme) if entry.scheme is not None else None
        if scheme is None:
            continue
        lo, hi = _reach(ctx, scheme)
        where = ctx.at("lists", lst.id, "entry")
        why = ""
        if entry.exhausted and not isinstance(scheme, LicenceScheme):
            why = f"scheme {scheme.id} is not a licence and is never exhausted"
        elif entry.exhausted and lo > 0:
            why = f"no rule of scheme {scheme.id} deducts points, so it is never exhausted"
        elif entry.score_below is not None and entry.score_below <= lo:
            why = f"scheme {scheme.id} never goes below {_fmt(lo)}"
        elif entry.score_at_least is not None and entry.score_at_least > hi:
            why = f"scheme {scheme.id} never goes above {_fmt(hi)}"
        elif entry.grades:
            reachable = _reachable_grades(scheme, lo, hi)
            known = [g for g in entry.grades if g in {b.grade for b in scheme.bands}]
            if known and not any(g in reachable for g in known):
                why = (
                    f"grade(s) {', '.join(known)} of scheme {scheme.id} are never "
                    f"reached (scores run {_fmt(lo)}..{_fmt(hi)})"
                )
        if why:
            ctx.warn(
                "SC014",
                where,
                f"list {lst.id} can never have anyone on it: {why}",
                "fix the entry condition or the scheme's rules",
            )
    for s in ctx.catalog.schemes:
        lo, hi = _reach(ctx, s)
        for perk in s.perks:
            if perk.at_least > hi:
                ctx.warn(
                    "SC014",
                    ctx.at("schemes", s.id, "perks"),
                    f"perk at {_fmt(perk.at_least)} of scheme {s.id} can never apply: the score "
                    f"never goes above {_fmt(hi)}",
                    "lower the threshold or add rewarding rules",
                )
    for memo in ctx.catalog.memoranda:
        if memo.lists and all(x not in ix.lists for x in memo.lists):
            ctx.warn(
                "SC014",
                ctx.at("memoranda", memo.id, "lists"),
                f"memorandum {memo.id} can never apply: none of its lists is defined",
                "name defined lists",
            )
    scored = {r.rule.record_type for r in _all_rules(ctx)}
    listed = {code for lst in ctx.catalog.lists for code in lst.entry.record_types}
    roles_used = {r.via for r in _all_rules(ctx) if r.via is not None}
    roles_used |= {role for memo in ctx.catalog.memoranda for role in memo.extends_to}
    for rt in ctx.catalog.record_types:
        if _is_role(rt):
            # a role record naming no role, or not a legal one, is SC008
            if rt.role is not None and rt.role in LEGAL_ROLES and rt.role not in roles_used:
                ctx.warn(
                    "SC014",
                    ctx.at("record_types", rt.code),
                    f"role record type {rt.code} is unused: no rule or memorandum reaches "
                    f"the {rt.role.value}",
                    "info: it links people to organisations but nothing uses the link",
                )
        elif rt.code not in scored and rt.code not in listed:
            ctx.warn(
                "SC014",
                ctx.at("record_types", rt.code),
                f"record type {rt.code} ({rt.title}) is unused: no scheme scores it and no list "
                "is entered by it",
                "info: a record with no consequence (it is still shown to its subject)",
            )


def _band_ranges(scheme: Scheme) -> list[tuple[str, float, float]]:
    """``(grade, low, high)`` per band, high exclusive (``inf`` for the top band)."""
    ordered = sorted(scheme.bands, key=lambda b: b.min)
    out = []
    for i, band in enumerate(ordered):
        top = ordered[i + 1].min if i + 1 < len(ordered) else float("inf")
        out.append((band.grade, band.min, top))
    return out


def _reachable_grades(scheme: Scheme, lo: float, hi: float) -> set[str]:
    return {g for g, a, b in _band_ranges(scheme) if a <= hi and b > lo}


def _bounds(scheme: Scheme) -> tuple[float, float]:
    if isinstance(scheme, PointsScheme):
        return scheme.floor, scheme.ceiling
    if isinstance(scheme, LicenceScheme):
        return 0.0, scheme.points
    return scheme.low, scheme.high


def _sc015_blacklist_severity(ctx: _Context) -> None:
    for lst in ctx.catalog.lists:
        if lst.kind is not ListKind.blacklist:
            continue
        for code in lst.entry.record_types:
            rt = ctx.index.record_types.get(code)
            if rt is not None and rt.severity is not RecordSeverity.serious:
                ctx.warn(
                    "SC015",
                    ctx.at("lists", lst.id, "entry.record_types"),
                    f"blacklist {lst.id} is entered by {rt.code}, a {rt.severity.value} record",
                    "serious-dishonesty lists only for serious cases (Guobanfa [2020] 49); use a "
                    "key_attention list or make the record type serious",
                )


def _sc016_schemes(ctx: _Context) -> None:
    for s in ctx.catalog.schemes:
        where = ctx.at("schemes", s.id)
        if isinstance(s, PointsScheme):
            if not s.floor <= s.base <= s.ceiling or s.floor >= s.ceiling:
                ctx.error(
                    "SC016",
                    where,
                    f"points scheme {s.id} needs floor <= base <= ceiling and floor < ceiling "
                    f"(has floor {_fmt(s.floor)}, base {_fmt(s.base)}, "
                    f"ceiling {_fmt(s.ceiling)})",
                    "reorder floor, base and ceiling",
                )
        elif isinstance(s, WeightedScheme):
            if sum(d.weight for d in s.dimensions) <= 0:
                ctx.error(
                    "SC016",
                    ctx.at("schemes", s.id, "dimensions"),
                    f"weighted scheme {s.id} has no dimensions (weights sum to 0)",
                    "add at least one dimension with a positive weight",
                )
            if s.low >= s.high:
                ctx.error(
                    "SC016",
                    where,
                    f"weighted scheme {s.id} maps onto an empty range "
                    f"{_fmt(s.low)}..{_fmt(s.high)}",
                    "low must be below high",
                )
            dims = [d.id for d in s.dimensions]
            for dup in sorted({d for d in dims if dims.count(d) > 1}):
                ctx.error(
                    "SC016",
                    ctx.at("schemes", s.id, f"dimensions[{dup}]"),
                    f"weighted scheme {s.id} defines dimension {dup} more than once",
                    "give each dimension a distinct id",
                )
        if not s.bands:
            continue
        battr = ctx.at("schemes", s.id, "bands")
        grades = [b.grade for b in s.bands]
        mins = [b.min for b in s.bands]
        for dup in sorted({g for g in grades if grades.count(g) > 1}):
            ctx.error(
                "SC016", battr, f"scheme {s.id} has grade {dup!r} twice", "grades must be distinct"
            )
        pairs = list(zip(mins, mins[1:], strict=False))
        if pairs and not (all(a > b for a, b in pairs) or all(a < b for a, b in pairs)):
            ctx.error(
                "SC016",
                battr,
                f"scheme {s.id} bands are not sorted by min "
                f"({', '.join(f'{b.grade} {_fmt(b.min)}' for b in s.bands)})",
                "list bands from the highest min to the lowest, each min distinct",
            )
        low, high = _bounds(s)
        for band in s.bands:
            if not low <= band.min <= high:
                ctx.error(
                    "SC016",
                    battr,
                    f"grade {band.grade} of scheme {s.id} starts at {_fmt(band.min)}, outside the "
                    f"score range {_fmt(low)}..{_fmt(high)}: it can never be reached",
                    "bands must start within the scheme's range",
                )


_RULES = (
    _sc001_legal_basis,
    _sc002_protected,
    _sc003_sc004_lawful_and_roles,
    _sc005_publication,
    _sc006_sc007_lists,
    _sc008_roles,
    _sc009_cross_domain,
    _sc010_sources,
    _sc011_effect,
    _sc012_references,
    _sc013_issuable,
    _sc014_never_applies,
    _sc015_blacklist_severity,
    _sc016_schemes,
)
