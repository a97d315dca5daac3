"""What a catalog uses, feature by feature, and refusals for a driver that cannot run one.

A driver (the registry's batch path, a simulator engine) declares the features it runs. Before
it runs a catalog, :func:`require` compares: a feature the driver does not run is refused with
one line naming the feature and the catalog item that uses it, never approximated.

Feature names (stable; ``<role>`` is a role value such as ``family``):

- ``scheme.points``, ``scheme.licence``, ``scheme.weighted``: a scheme of that kind;
- ``scheme.grades``: bands; ``scheme.perks``: incentives granted above a threshold;
- ``rule.escalation``: points that change with the occurrence (``by_occurrence``);
- ``rule.via.<role>``: a rule or dimension counting another subject's records;
- ``list.by_records``; ``list.min_count`` (more than one record), ``list.within``,
  ``list.duration``; ``list.terms`` (durations and ways off per record type);
- ``record.until_performed``: a default with no fixed end, lasting until it is performed;
- ``list.grades``, ``list.score_below``, ``list.score_at_least``, ``list.exhausted``;
- ``way_off.<removal>``: fulfilment, creditor_request, repair, score_recovery (expiry and
  objection are what every fold does);
- ``memorandum.reach.<role>``: measures extended to holders of a role;
- ``record.role``: records of a legal organisational role;
- ``subject_kinds``: a record type, scheme or list limited to persons or organisations. No
  fold reads it: a record type's kinds are held against each record's subject where records
  are made (the registry refuses a filing about a subject of another kind; the simulator
  refuses a regime observing a process done by a kind the record type is not about), and a
  list's or scheme's hold by construction when every record type reaching it is about no
  other kind (:func:`~socialcredit.policy.checker.references.kinds_beyond`), which the checker
  requires (SC024);
- ``subject_kinds.filter``: a list or scheme that records of a type about a kind it does not
  hold reach (the same function): only passing over each subject of that kind when listing or
  scoring would hold it, which no driver does, so every driver refuses it by name;
- ``list.extension``: records that extend a fixed-term listing (a term's ``extensions``);
- ``order.direct``: measures ordered directly by records (``[[orders]]``), with their ways off;
- ``scheme.renewal``: a licence returned by a renewal record (``renewed_by``: the course and
  test passed), and ``way_off.course_passed``, the list way off it gives;
- ``exclusion.<exclusion>``: who a list, term or order never reaches (``minors``,
  ``security_given``, ...): refused at filing, so only a driver that files records meets it;
- ``order.reach.<role>``: a direct order's measures extended to holders of a role in the
  ordered organisation (``extends_to`` of an order);
- ``release.<role>``: a grant recorded about a holder of the role ends, from its date, what
  a memorandum or an order reaches him with through it (``[[releases]]``).

Three sets tell drivers what the features above ask of them: :data:`FILING_ONLY` concern only
filing (a driver that never files records, such as the simulator, may accept them unread);
:data:`FOLDED_TOO` change outcomes over time and run in :mod:`socialcredit.rules.fold` (a
driver that folds records through those primitives runs them; the others refuse them);
:data:`THROUGH_ROLES` change what reaches a role holder over time (a driver that carries
measures to role holders must run them: the registry's reference does, and its batch path
hands every role holder to it).
"""

from __future__ import annotations

from collections.abc import Iterable

from socialcredit.errors import InputError
from socialcredit.policy.checker.references import kinds_beyond
from socialcredit.policy.loader import CatalogIndex
from socialcredit.policy.schema import (
    LEGAL_ROLES,
    Exclusion,
    LicenceScheme,
    Nature,
    Removal,
    WeightedScheme,
)
from socialcredit.rules.tables import Feature

__all__ = [
    "FILING_ONLY",
    "FOLDED_TOO",
    "THROUGH_ROLES",
    "Unsupported",
    "catalog_features",
    "require",
]

FILING_ONLY: frozenset[str] = frozenset(f"exclusion.{e.value}" for e in Exclusion)
"""Features that concern only filing (the registry refuses the record): nothing to fold."""

FOLDED_TOO: frozenset[str] = frozenset(
    {"list.extension", "order.direct", "scheme.renewal", "way_off.course_passed"}
)
"""Features that change outcomes over time, run by the compiled folds (:mod:`.fold`:
``extended_stretch``, ``order_span`` with ``fold_range``, ``score_at``)."""

THROUGH_ROLES: frozenset[str] = frozenset(
    f"{kind}.{role.value}" for kind in ("order.reach", "release") for role in LEGAL_ROLES
)
"""Features that change what reaches a holder of a legal role: an order's reach, and a
release ending it (or a memorandum's) for one person."""

_BOTH_KINDS = frozenset(("person", "organisation"))
_IMPLIED_WAYS_OFF = {Removal.expiry, Removal.objection}


class Unsupported(InputError):
    """A catalog feature the driver at hand cannot run (the catalog is refused, not run)."""

    def __init__(self, driver: str, feature: Feature) -> None:
        super().__init__(
            "catalog",
            f"{driver} cannot run {feature.name} (used by {feature.item}); "
            "refused rather than approximated",
        )
        self.driver = driver
        self.feature = feature


def catalog_features(index: CatalogIndex) -> tuple[Feature, ...]:
    """Every feature the catalog uses and each item using it, in catalog order."""
    cat = index.catalog
    out: list[Feature] = []
    for rt in cat.record_types:
        if rt.role is not None:
            out.append(Feature("record.role", f"record type {rt.code}"))
        if rt.publication.effect is None and rt.nature is Nature.default:
            out.append(Feature("record.until_performed", f"record type {rt.code}"))
        if set(rt.subject_kinds) != _BOTH_KINDS:
            out.append(Feature("subject_kinds", f"record type {rt.code}"))
    for scheme in cat.schemes:
        where = f"scheme {scheme.id}"
        out.append(Feature(f"scheme.{scheme.kind}", where))
        if isinstance(scheme, LicenceScheme) and scheme.renewed_by:
            out.append(Feature("scheme.renewal", where))
        if scheme.bands:
            out.append(Feature("scheme.grades", where))
        if scheme.perks:
            out.append(Feature("scheme.perks", where))
        if set(scheme.subject_kinds) != _BOTH_KINDS:
            out.append(Feature("subject_kinds", where))
        if isinstance(scheme, WeightedScheme):
            for dim in scheme.dimensions:
                for rule in dim.rules:
                    via = rule.via or dim.via
                    out += _rule_features(rule.by_occurrence, via, f"{where}, dimension {dim.id}, "
                                          f"rule for {rule.record_type}")  # fmt: skip
        else:
            for rule in scheme.rules:
                out += _rule_features(
                    rule.by_occurrence, rule.via, f"{where}, rule for {rule.record_type}"
                )
    for lst in cat.lists:
        where = f"list {lst.id}"
        e = lst.entry
        if e.record_types:
            out.append(Feature("list.by_records", where))
        if e.min_count > 1:
            out.append(Feature("list.min_count", where))
        if e.within_months is not None:
            out.append(Feature("list.within", where))
        if lst.duration_months is not None:
            out.append(Feature("list.duration", where))
        if lst.terms:
            out.append(Feature("list.terms", where))
        if any(t.extensions for t in lst.terms):
            out.append(Feature("list.extension", where))
        for code in lst.entry.record_types:
            for exclusion in lst.exclusions_for(code):
                out.append(Feature(f"exclusion.{exclusion.value}", where))
        if e.grades:
            out.append(Feature("list.grades", where))
        if e.score_below is not None:
            out.append(Feature("list.score_below", where))
        if e.score_at_least is not None:
            out.append(Feature("list.score_at_least", where))
        if e.exhausted:
            out.append(Feature("list.exhausted", where))
        for way in lst.removal:
            if way not in _IMPLIED_WAYS_OFF:
                out.append(Feature(f"way_off.{way.value}", where))
        if set(lst.subject_kinds) != _BOTH_KINDS:
            out.append(Feature("subject_kinds", where))
    for k in kinds_beyond(index):
        kinds = " and ".join(f"{kind}s" for kind in k.beyond)
        where = f"{k.section[:-1]} {k.item}: {k.feed} may bring it {kinds}"
        out.append(Feature("subject_kinds.filter", where))
    for memo in cat.memoranda:
        for role in memo.extends_to:
            out.append(Feature(f"memorandum.reach.{role.value}", f"memorandum {memo.id}"))
    for order in cat.orders:
        where = f"order {order.id}"
        out.append(Feature("order.direct", where))
        for exclusion in order.excludes:
            out.append(Feature(f"exclusion.{exclusion.value}", where))
        for role in order.extends_to:
            out.append(Feature(f"order.reach.{role.value}", where))
    for release in cat.releases:
        for role in release.roles:
            out.append(Feature(f"release.{role.value}", f"release {release.id}"))
    return tuple(dict.fromkeys(out))


def _rule_features(by_occurrence: tuple[float, ...], via: object, where: str) -> Iterable[Feature]:
    if len(set(by_occurrence)) > 1:
        yield Feature("rule.escalation", where)
    if via is not None:
        yield Feature(f"rule.via.{getattr(via, 'value', via)}", where)


def require(features: Iterable[Feature], runs: Iterable[str], *, driver: str) -> None:
    """Refuse (:class:`Unsupported`) the first feature in ``features`` that ``driver`` does not
    run. ``runs`` holds feature names; a name ending in ``.*`` covers a family
    (``rule.via.*``)."""
    exact = set()
    families = []
    for name in runs:
        if name.endswith(".*"):
            families.append(name[:-1])
        else:
            exact.add(name)
    for f in features:
        if f.name not in exact and not any(f.name.startswith(p) for p in families):
            raise Unsupported(driver, f)
