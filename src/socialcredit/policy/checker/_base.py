"""What every rule module shares: the context findings are collected in, and small readings of
the catalog (the rules of a scheme, the record types and domains feeding a list)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from socialcredit.policy.findings import Finding, Profile, Severity
from socialcredit.policy.loader import CatalogIndex, Loaded, did_you_mean
from socialcredit.policy.schema import (
    CATEGORY_RELATED,
    DomainCategory,
    ListDef,
    ListKind,
    MeasureKind,
    Nature,
    ProtectedSubject,
    RecordType,
    Removal,
    Role,
    Rule,
    Scheme,
    Term,
    WeightedScheme,
)
from socialcredit.policy.schema import Severity as RecordSeverity

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
#: (NDRC Credit Repair Management Measures, NDRC Order No. 36, in force 2026-04-01, repealing
#: Order No. 58; SAMR Order 107).
PUBLICATION_BOUNDS: dict[RecordSeverity, tuple[int, int]] = {
    RecordSeverity.minor: (0, 3),
    RecordSeverity.general: (3, 12),
    RecordSeverity.serious: (12, 36),
}


class Context:
    """One check of one merged catalog: what the rules read, and the findings they add."""

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

    def exempted(self, section: str, item_id: str, subject: ProtectedSubject) -> bool:
        """Whether the file defining the item carries a reviewed exemption for ``subject``
        (with a reviewer and a reason; SC021 reports exemptions that are not)."""
        key = f"{section}:{item_id}"
        owner = "schemes" if section == "dimensions" else section
        owner_id = item_id.split("/", 1)[0] if section == "dimensions" else item_id
        for ex in self.catalog.exemptions:
            if ex.key != key or subject not in ex.subjects:
                continue
            if blank(ex.reviewed_by) or blank(ex.reason):
                return False
            origin = self.loaded.origin
            return origin.get(("exemptions", key)) == origin.get((owner, owner_id))
        return False

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
class RuleAt:
    """A scoring rule with where it sits."""

    scheme: Scheme
    rule: Rule
    attr: str
    via: Role | None
    dimension: str | None = None
    """The dimension of a weighted scheme the rule belongs to."""


def rules_of(scheme: Scheme) -> Iterator[RuleAt]:
    if isinstance(scheme, WeightedScheme):
        for dim in scheme.dimensions:
            for rule in dim.rules:
                yield RuleAt(
                    scheme,
                    rule,
                    f"dimensions[{dim.id}].rules[{rule.record_type}]",
                    rule.via or dim.via,
                    dim.id,
                )
    else:
        for rule in scheme.rules:
            yield RuleAt(scheme, rule, f"rules[{rule.record_type}]", rule.via)


def all_rules(ctx: Context) -> Iterator[RuleAt]:
    for scheme in ctx.catalog.schemes:
        yield from rules_of(scheme)


def points_of(rule: Rule) -> tuple[float, ...]:
    return (rule.points,) if rule.points is not None else rule.by_occurrence


def is_role(rt: RecordType) -> bool:
    """A record linking a person to an organisation: ``nature = "role"`` or ``role`` set."""
    return rt.nature is Nature.role or rt.role is not None


def category(ctx: Context, domain_id: str) -> DomainCategory | None:
    domain = ctx.index.domains.get(domain_id)
    return domain.category if domain is not None else None


def blank(text: str) -> bool:
    """No usable legal basis: empty, or a placeholder (:func:`placeholder`)."""
    return not text.strip() or placeholder(text)


#: Whole legal bases that name nothing ("none", "N/A", "TBD", "relevant regulations").
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "none", "n/a", "na", "n.a.", "nil", "null", "-", "--", "—", "?", "x", "xx", "xxx",
        "tbd", "tba", "tbc", "todo", "to do", "fixme", "unknown", "pending", "various", "misc",
        "other", "see above", "same as above", "ditto", "placeholder", "lorem ipsum", "example",
        "not applicable", "to be determined", "unspecified", "undetermined",
        "无", "暂无", "待定", "不详", "未知", "略", "同上", "有关规定", "相关规定", "相关法律法规",
        "依法", "法律规定", "不适用", "尚未确定", "暂缺", "没有", "未定", "待确定", "空",
    }
)  # fmt: skip

#: Words that name no instrument on their own ("the relevant law", "Article 5 of the regulation",
#: "not yet determined", "pending review").
GENERIC_WORDS: frozenset[str] = frozenset(
    {
        "legal", "basis", "law", "laws", "regulation", "regulations", "rule", "rules", "the",
        "of", "and", "or", "per", "see", "as", "by", "under", "according", "to", "in", "a", "an",
        "relevant", "applicable", "provision", "provisions", "national", "local", "policy",
        "policies", "document", "documents", "normative", "article", "articles", "art",
        "section", "sec", "paragraph", "para", "clause", "item", "no", "number", "chapter",
        "tbd", "none", "na", "todo", "unknown", "pending", "et", "seq", "ff", "etc",
        "not", "yet", "be", "is", "are", "been", "being", "has", "have", "there", "any",
        "nothing", "determined", "undetermined", "decided", "undecided", "specified",
        "unspecified", "confirmed", "unconfirmed", "stated", "given", "known", "available",
        "unavailable", "missing", "required", "needed", "review", "reviewed", "awaiting",
        "await", "later", "currently", "tba", "tbc", "applies", "apply", "blank", "empty",
    }
)  # fmt: skip

_ARTICLE = re.compile(
    r"(?:\b(?:articles?|art|sections?|sec|paragraphs?|para|clauses?|items?|no|chapter)|§)"
    r"\.?\s*(?:[0-9]+|c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})(?<=[ivxlc]))\b"
    r"(?:\s*\([0-9a-z]+\))*",
    re.IGNORECASE,
)
"""An article number standing on its own ("Art. 5", "No. 7", "Article 12(3)", "Art. IV"): a
number or a roman numeral as a whole word, so that "no legal" is not "No. L" and leaves
"egal"."""
_ARTICLE_ZH = re.compile(r"第[一二三四五六七八九十百千零〇0-9]+[条款项章节]")
_GENERIC_ZH = (
    "法律", "法规", "规定", "相关", "有关", "依据", "根据", "按照", "依照", "条例", "文件", "政策",
    "依法", "部门", "国家", "地方", "适用", "确定", "尚未", "暂缺", "暂无", "没有", "待定", "待",
    "不", "无", "未", "暂", "缺", "空", "详",
)  # fmt: skip


def placeholder(text: str) -> bool:
    """A legal basis that names no instrument: a placeholder ("none", "N/A", "-", "TBD", "Not
    applicable", "不适用"), or only generic words and article numbers ("Art. 5", "Article
    12(3)", "第十条", "the relevant regulations", "No legal basis", "not yet determined",
    "尚未确定"). A real basis names its instrument ("Fa Shi [2017] No. 7, Art. 1")."""
    norm = " ".join(text.lower().split()).strip(" .;:,")
    if norm in PLACEHOLDERS:
        return True
    rest = _ARTICLE_ZH.sub(" ", _ARTICLE.sub(" ", norm))
    for word in _GENERIC_ZH:
        rest = rest.replace(word, " ")
    if len(re.findall(r"[\u3400-\u9fff]", rest)) >= 2:
        return False
    words = re.findall(r"[a-z][a-z']*", rest)
    return not any(len(w) >= 2 and w not in GENERIC_WORDS for w in words)


def fmt(x: float) -> str:
    return f"{x:g}"


def known_types(ctx: Context, codes: Iterable[str]) -> list[RecordType]:
    """The record types of ``codes`` that are defined (SC012 reports the others)."""
    return [rt for code in codes if (rt := ctx.index.record_types.get(code)) is not None]


def feeding_types(ctx: Context, lst: ListDef) -> list[RecordType]:
    """The known record types that put someone on a list: its entry's record types, or for a
    score-based list the record types its scheme's rules score (each once, in order)."""
    if lst.entry.scheme is not None:
        scheme = ctx.index.schemes.get(lst.entry.scheme)
        codes = [r.rule.record_type for r in rules_of(scheme)] if scheme is not None else []
    else:
        codes = list(lst.entry.record_types)
    out: dict[str, RecordType] = {}
    for code in codes:
        rt = ctx.index.record_types.get(code)
        if rt is not None:
            out.setdefault(code, rt)
    return list(out.values())


def feeding_domains(ctx: Context, scheme: Scheme) -> set[str]:
    """The domains of the records a scheme scores. A weighted scheme's dimensions count only
    through their rules: a dimension's own ``domain`` is a label, and a dimension with no rules
    feeds nothing (it must not make a measure in its domain look related)."""
    return {
        rt.domain
        for r in rules_of(scheme)
        if (rt := ctx.index.record_types.get(r.rule.record_type)) is not None
    }


def restrictive(ctx: Context, lst: ListDef) -> bool:
    """A blacklist or key-attention list, or any list a memorandum maps to a restriction."""
    if lst.kind in (ListKind.blacklist, ListKind.key_attention):
        return True
    return any(
        (m := ctx.index.measures.get(mid)) is not None and m.kind is MeasureKind.restriction
        for memo in ctx.index.memoranda_by_list.get(lst.id, ())
        for mid in memo.measures
    )


def list_domains(ctx: Context, lst: ListDef) -> set[str]:
    if lst.entry.scheme is not None:
        scheme = ctx.index.schemes.get(lst.entry.scheme)
        return feeding_domains(ctx, scheme) if scheme is not None else set()
    return {
        rt.domain
        for code in lst.entry.record_types
        if (rt := ctx.index.record_types.get(code)) is not None
    }


def related(ctx: Context, domains: set[str]) -> set[str]:
    """The domains and those they are ``related`` to, following only relations the bundled
    vocabulary allows (within a category or along ``CATEGORY_RELATED``; SC019 refuses others,
    and SC009 still reports the measure)."""
    out = set(domains)
    for d in domains:
        dom = ctx.index.domains.get(d)
        if dom is None:
            continue
        for other_id in dom.related:
            other = ctx.index.domains.get(other_id)
            if other is not None and (
                other.category is dom.category or (dom.category, other.category) in CATEGORY_RELATED
            ):
                out.add(other_id)
    return out


def open_term_problem(term: Term) -> str | None:
    """Why a listing with no fixed term (``duration_months`` unset) is not acceptable, or
    ``None`` if it is: a way off in the subject's hands (fulfilment) and its own legal basis.
    (Whether fulfilment can be used for the term's record types is SC007's question.)"""
    if Removal.fulfilment not in term.removal:
        return "no way off in the subject's hands (fulfilment)"
    if blank(term.legal_basis):
        return "no legal basis of its own for listing with no fixed term"
    return None


def kept_too_long(rt: RecordType) -> bool:
    """A record that keeps effect longer after performance than any record may have effect
    (``after_performance_months`` above :data:`MAX_EFFECT_MONTHS`; SC011)."""
    kept = rt.publication.after_performance_months
    return kept is not None and kept > MAX_EFFECT_MONTHS


def open_ended_types(ctx: Context) -> set[str]:
    """Record types of defaults that may have no fixed end of effect (they last until performed,
    then ``after_performance_months`` more): those whose every listing is an accepted open term
    (Fa Shi [2017] No. 7, Art. 10), and unpublished ones entering no list, which must say how
    long they are kept after the conduct ends. Either way SC011 bounds that time
    (:func:`kept_too_long`; PBOC: 5 years from the day the conduct ends)."""
    ok: set[str] = set()
    for rt in ctx.catalog.record_types:
        if rt.nature is not Nature.default:
            continue
        entering = [lst for lst in ctx.catalog.lists if rt.code in lst.entry.record_types]
        pub = rt.publication
        if not entering:
            # kept a bounded time after the conduct ends, unpublished (PBOC: 5 years)
            if not pub.published and pub.after_performance_months is not None:
                ok.add(rt.code)
            continue
        terms = [next((t for t in lst.terms if rt.code in t.record_types), None)
                 for lst in entering]  # fmt: skip
        if all(
            t is not None and t.duration_months is None and open_term_problem(t) is None
            for t in terms
        ):
            ok.add(rt.code)
    return ok
