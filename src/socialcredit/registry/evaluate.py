"""``evaluate(facts, catalog, as_of) -> Profile``: a pure fold of records into consequences.

Given every fact about a subject (its records and their lifecycle events, and the records of
organisations in which it holds a legal role), a catalog and a date, compute:

- the state of each record: in effect or not, published or not, until when, from when it can be
  repaired, what became of objections and repair applications;
- per scoring scheme: score and grade (points, licence, weighted);
- list memberships, each with since/until and the records behind it;
- active measures, each with its chain of reasons: measure <- memorandum <- list <- records
  (or measure <- scheme threshold, for perks), and when it ends.

The rules, in one place:

- A record decided after ``as_of`` does not exist yet; events after ``as_of`` have not happened.
- A record whose type the catalog does not define has no effect (``unknown_type``); where the
  caller says the type was retired (``retired``: the catalog version that defined it is no
  longer in force), it is ``retired``, and the profile says on which day and by which version.
- A revoked record, or one whose objection was upheld, has no effect at all: the profile is the
  one it would be without it (it is still listed, with its status, so the subject can see it).
- A record has effect from its decision date for ``publication.effect`` months and is public for
  ``publication.max_months`` (if ``published``). A record of a default with no end of effect
  lasts until the obligation is performed or the creditor withdraws, and
  ``after_performance_months`` more. A granted repair ends
  both on the day it was granted, but never before ``min_months`` (the record's
  ``repairable_from``).
- A record-based list membership runs from the record's date for ``duration_months``, ended
  early by fulfilment, creditor withdrawal or repair where the list allows that way off, and
  never outlasts the record's natural effect. A list's ``terms`` set the duration and the ways
  off per record type (a ground with no fixed term, or one that performing does not end). A
  score-based membership lasts while its condition holds.
- A fixed-term listing is extended by the largest extension (a record of a type the list's
  term names, decided while the listing lasts): its months are added to the term and to the
  record's natural effect (Fa Shi [2017] No. 7, Art. 2).
- A direct order (a court's consumption restriction order) puts its measures on the subject
  from a record's date, for the order's duration (or until a way off), never beyond the
  record's effect, ended early by the order's ways off, as a listing is.
- A licence (points that can be exhausted) is exhausted when its balance reached zero within
  the period: restorations after that do not undo it; it recovers as the offences leave the
  period, or on a renewal (the owner passed the course and test), after which only later
  offences count.
- Measures reached through a legal role last only while the role is held.
- Measures follow memberships through memoranda; memoranda that extend to legal roles reach the
  persons who hold those roles in a listed organisation, and orders that extend to them reach
  the holders of those roles in the ordered organisation (Fa Shi [2015] No. 17, Art. 3 para. 2).
- A release granted to a person (a record of a release's grant naming the organisation) ends,
  from its date, what the release's memoranda and orders reach him with through its roles in
  that organisation. Its application is pending until the authority's grant or refusal about
  the same person and organisation, and is due within the release's ``decide_days``.

Nothing here reads a clock, a database or a file: same inputs, same profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from socialcredit.errors import InputError, NotFound
from socialcredit.policy.loader import CatalogIndex, Loaded
from socialcredit.policy.schema import (
    LicenceScheme,
    ListDef,
    Nature,
    Order,
    PointsScheme,
    Release,
    Removal,
    Rule,
    Scheme,
    WeightedScheme,
)
from socialcredit.registry.dates import (
    OBJECTION_DAYS,
    REPAIR_WORKING_DAYS,
    add_months,
    add_working_days,
)
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.rules import decide, rules_of
from socialcredit.rules.decide import Ground

__all__ = [
    "ActiveMeasure",
    "Decision",
    "Membership",
    "Profile",
    "RecordState",
    "Retirement",
    "SchemeResult",
    "check",
    "evaluate",
]


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Retirement:
    """Why a record type has no effect any more: the catalog version that defined it was
    retired from ``on``. ``catalog`` and ``version`` name the version that took the type out: a
    new version of the same catalog without it, or the retired version itself
    (``retired_version``)."""

    on: date
    catalog: str
    version: str
    retired_version: str

    def why(self) -> str:
        text = f"retired on {self.on} by catalog {self.catalog} v{self.version}"
        if self.version != self.retired_version:
            text += f" (v{self.retired_version} defined it)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), "catalog": self.catalog, "version": self.version,
                "retired_version": self.retired_version, "why": self.why()}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecordState:
    record: Record
    status: str
    """``in_effect``, ``expired``, ``repaired``, ``revoked``, ``objection_upheld``,
    ``unknown_type`` (the loaded catalog does not define its type), ``retired`` (nor does it
    any more: :attr:`retired` says since when and why)."""
    effect_until: date | None
    published: bool
    published_until: date | None
    repairable_from: date | None
    objection: str | None
    """``pending``, ``upheld``, ``rejected`` or ``None``."""
    repair: str | None
    """``applied``, ``granted``, ``refused`` or ``None``."""
    fulfilled_on: date | None
    withdrawn_on: date | None = None
    """When the creditor asked for removal."""
    repaired_on: date | None = None
    """When a granted repair took effect (never before ``repairable_from``)."""
    natural_end: date | None = None
    """When the effect would end without repair."""
    voided: bool = False
    """Revoked, objection upheld, or of an unknown type: it has no effect at all."""
    objection_decide_by: date | None = None
    """For a pending objection: the day the authority must have decided by."""
    repair_decide_by: date | None = None
    """For a pending repair application: the day it must have been decided by."""
    application: str | None = None
    """For the application of a release: ``pending``, ``granted`` or ``refused``."""
    application_decide_by: date | None = None
    """For a pending application of a release: the day it must have been decided by."""
    retired: Retirement | None = None
    """For a record whose type was retired: when, and by which catalog version."""


@dataclass(frozen=True, slots=True)
class SchemeResult:
    scheme: str
    score: float
    grade: str | None
    records: tuple[str, ...]
    exhausted: bool | None = None
    dimensions: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    list: str
    kind: str
    since: date
    until: date | None
    records: tuple[str, ...]
    scheme: str | None = None
    removal: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActiveMeasure:
    measure: str
    kind: str
    since: date | None
    until: date | None
    list: str | None = None
    memorandum: str | None = None
    scheme: str | None = None
    records: tuple[str, ...] = ()
    via_role: str | None = None
    via_subject: str | None = None
    order: str | None = None
    """The direct order (not a list) the measure comes from."""


@dataclass(frozen=True)
class Profile:
    subject: str
    as_of: date
    schemes: dict[str, SchemeResult]
    lists: list[Membership]
    measures: list[ActiveMeasure]
    records: list[RecordState]

    @property
    def empty(self) -> bool:
        return not (self.schemes or self.lists or self.measures or self.records)

    def to_json(self) -> dict[str, Any]:
        """The profile as JSON-ready data (dates as ISO strings)."""
        return {
            "subject": self.subject,
            "as_of": self.as_of.isoformat(),
            "schemes": {
                s.scheme: _drop_none(
                    {
                        "score": s.score,
                        "grade": s.grade,
                        "exhausted": s.exhausted,
                        "dimensions": s.dimensions,
                        "records": list(s.records),
                    }
                )
                for s in self.schemes.values()
            },
            "lists": [
                {
                    "list": m.list,
                    "kind": m.kind,
                    "since": _iso(m.since),
                    "until": _iso(m.until),
                    "records": list(m.records),
                    "scheme": m.scheme,
                    "removal": list(m.removal),
                }
                for m in self.lists
            ],
            "measures": [
                {
                    "measure": a.measure,
                    "kind": a.kind,
                    "list": a.list,
                    "memorandum": a.memorandum,
                    "scheme": a.scheme,
                    "since": _iso(a.since),
                    "until": _iso(a.until),
                    "records": list(a.records),
                    "via_role": a.via_role,
                    "via_subject": a.via_subject,
                    "order": a.order,
                }
                for a in self.measures
            ],
            "records": [
                {
                    "id": r.record.id,
                    "record_type": r.record.record_type,
                    "authority": r.record.authority,
                    "decided_on": r.record.decided_on.isoformat(),
                    "decision_ref": r.record.decision_ref,
                    "status": r.status,
                    "effect_until": _iso(r.effect_until),
                    "published": r.published,
                    "published_until": _iso(r.published_until),
                    "repairable_from": _iso(r.repairable_from),
                    "objection": r.objection,
                    "repair": r.repair,
                    "fulfilled_on": _iso(r.fulfilled_on),
                    "withdrawn_on": _iso(r.withdrawn_on),
                    "objection_decide_by": _iso(r.objection_decide_by),
                    "repair_decide_by": _iso(r.repair_decide_by),
                    "application": r.application,
                    "application_decide_by": _iso(r.application_decide_by),
                    "retired": r.retired.to_json() if r.retired is not None else None,
                    "overdue": any(
                        by is not None and self.as_of > by
                        for by in (
                            r.objection_decide_by,
                            r.repair_decide_by,
                            r.application_decide_by,
                        )
                    ),
                }
                for r in self.records
            ],
        }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# --------------------------------------------------------------------------------------------
# The catalog, compiled once per index into what the fold needs


@dataclass(slots=True)
class _TypeInfo:
    min_months: int
    max_months: int | None
    effect_months: int | None
    after_performance: int
    published: bool
    repairable: bool
    nature: Nature
    role: str | None
    objection_days: int = OBJECTION_DAYS
    """Days the designating authority has to decide an objection (the shortest a list the type
    enters sets; 20 otherwise, PBOC)."""
    appeal: tuple[int, int] | None = None
    """(days after a rejection within which an objection is an appeal, days to decide it)."""
    schemes: list[str] = field(default_factory=list)
    lists: list[ListDef] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


@dataclass(slots=True)
class _CScheme:
    """A scheme compiled for scoring: rules looked up by (role, record type)."""

    scheme: Scheme
    bands: list[tuple[float, str]]  # highest first
    by_type: dict[str | None, dict[str, list[tuple[Rule, int]]]]
    """role (None = the subject's own records) -> record type -> [(rule, dimension index)]."""
    rule_keys: dict[int, int]
    """id(rule) -> a small integer, for counting occurrences per rule."""
    renewed_by: frozenset[str] = frozenset()
    """Licence: record types of a renewal (the course and test passed)."""


@dataclass(slots=True)
class _Compiled:
    types: dict[str, _TypeInfo]
    score_lists: dict[str, list[ListDef]]  # scheme id -> lists entered by a score condition
    schemes: dict[str, _CScheme]


def _compile(index: CatalogIndex) -> _Compiled:
    cached = index.__dict__.get("_evaluate_compiled")
    if isinstance(cached, _Compiled):
        return cached
    types: dict[str, _TypeInfo] = {}
    for rt in index.catalog.record_types:
        pub = rt.publication
        types[rt.code] = _TypeInfo(
            min_months=pub.min_months,
            max_months=pub.max_months,
            effect_months=pub.effect,
            after_performance=pub.after_performance_months or 0,
            published=pub.published,
            repairable=rt.repairable,
            nature=rt.nature,
            role=rt.role.value if rt.role is not None else None,
        )
    schemes: dict[str, _CScheme] = {}
    for scheme in index.catalog.schemes:
        by_type: dict[str | None, dict[str, list[tuple[Rule, int]]]] = {}
        rule_keys: dict[int, int] = {}
        for rule, dim, via in rules_of(scheme):
            by_type.setdefault(via, {}).setdefault(rule.record_type, []).append((rule, dim))
            rule_keys[id(rule)] = len(rule_keys)
            info = types.get(rule.record_type)
            if info is not None and via is None and scheme.id not in info.schemes:
                info.schemes.append(scheme.id)
        bands = sorted(((b.min, b.grade) for b in scheme.bands), reverse=True)
        renewed = frozenset(scheme.renewed_by) if isinstance(scheme, LicenceScheme) else frozenset()
        schemes[scheme.id] = _CScheme(scheme, bands, by_type, rule_keys, renewed)
    score_lists: dict[str, list[ListDef]] = {}
    for lst in index.catalog.lists:
        if lst.entry.scheme is not None:
            score_lists.setdefault(lst.entry.scheme, []).append(lst)
        for code in lst.entry.record_types:
            info = types.get(code)
            if info is not None:
                info.lists.append(lst)
                deadlines = lst.objections
                if deadlines is not None:
                    if info.objection_days == OBJECTION_DAYS or (
                        deadlines.review_days < info.objection_days
                    ):
                        info.objection_days = deadlines.review_days
                    if deadlines.appeal_within_days and deadlines.appeal_decided_days:
                        info.appeal = (deadlines.appeal_within_days, deadlines.appeal_decided_days)
    for order in index.catalog.orders:
        for code in dict.fromkeys(order.record_types):
            info = types.get(code)
            if info is not None:
                info.orders.append(order)
    compiled = _Compiled(types=types, score_lists=score_lists, schemes=schemes)
    index.__dict__["_evaluate_compiled"] = compiled
    return compiled


# --------------------------------------------------------------------------------------------
# Record states


def _record_state(
    rec: Record, events: Sequence[LifecycleEvent], info: _TypeInfo | None, as_of: date
) -> RecordState:
    """The record as seen on ``as_of`` (events are those on or before ``as_of``)."""
    objection = repair = None
    fulfilled_on = withdrawn_on = granted_on = voided_as = None
    objection_filed = repair_applied = rejected_on = None
    appeal = False
    if events:
        for ev in sorted(events, key=_event_order):
            kind = ev.kind
            if kind is EventKind.objection_filed:
                objection = "pending" if objection != "upheld" else objection
                objection_filed = ev.on
                appeal = (
                    info is not None
                    and info.appeal is not None
                    and rejected_on is not None
                    and ev.on <= rejected_on + timedelta(days=info.appeal[0])
                )
            elif kind is EventKind.objection_upheld:
                objection = "upheld"
                voided_as = voided_as or "objection_upheld"
            elif kind is EventKind.objection_rejected:
                objection = "rejected" if objection != "upheld" else objection
                rejected_on = ev.on
            elif kind is EventKind.revoked:
                voided_as = voided_as or "revoked"
            elif kind is EventKind.repair_applied:
                repair = "applied" if repair != "granted" else repair
                repair_applied = ev.on
            elif kind is EventKind.repair_granted:
                if granted_on is None:
                    granted_on = ev.on
                repair = "granted"
            elif kind is EventKind.repair_refused:
                repair = "refused" if repair != "granted" else repair
            elif kind is EventKind.fulfilled:
                fulfilled_on = fulfilled_on or ev.on
            elif kind is EventKind.creditor_withdrew:
                withdrawn_on = withdrawn_on or ev.on
    if info is None:
        return RecordState(
            rec, "unknown_type", None, False, None, None, objection, repair, None, voided=True
        )
    start = rec.decided_on
    repairable_from = add_months(start, info.min_months) if info.repairable else None
    effect_until = add_months(start, info.effect_months) if info.effect_months is not None else None
    published_until = (
        add_months(start, info.max_months)
        if info.max_months is not None and info.published
        else None
    )
    if info.effect_months is None and info.nature is Nature.default:
        # no fixed end: the record lasts until the obligation is performed or the creditor
        # withdraws (a listing the law leaves open until then, Fa Shi [2017] No. 7 Art. 10)
        performed = _min_date(fulfilled_on, withdrawn_on)
        if performed is not None:
            effect_until = add_months(max(performed, start), info.after_performance)
            if info.published and info.max_months is None:
                published_until = effect_until
    natural_end = effect_until
    repaired_on = None
    if granted_on is not None and repairable_from is not None:
        repaired_on = max(granted_on, repairable_from)
        effect_until = repaired_on if effect_until is None else min(effect_until, repaired_on)
        if info.published:
            published_until = (
                repaired_on if published_until is None else min(published_until, repaired_on)
            )
    if voided_as is not None:
        status = voided_as
    elif effect_until is not None and effect_until <= as_of:
        status = "repaired" if repair == "granted" else "expired"
    else:
        status = "in_effect"
    published = (
        info.published
        and status == "in_effect"
        and (published_until is None or as_of < published_until)
    )
    return RecordState(
        rec,
        status,
        effect_until,
        published,
        published_until,
        repairable_from,
        objection,
        repair,
        fulfilled_on,
        withdrawn_on,
        repaired_on,
        natural_end,
        voided_as is not None,
        objection_filed
        + timedelta(days=info.appeal[1] if appeal and info.appeal else info.objection_days)
        if objection == "pending" and objection_filed is not None
        else None,
        add_working_days(repair_applied, REPAIR_WORKING_DAYS)
        if repair == "applied" and repair_applied is not None
        else None,
    )


def _event_order(ev: LifecycleEvent) -> date:
    """Events by day; within a day in the order they were given, which is the order they
    were filed (the ledger reads them by day and id): an objection filed after its
    rejection on the same day (an appeal) is pending, not folded in before the rejection."""
    return ev.on


def _in_effect(state: RecordState, day: date) -> bool:
    if state.voided or state.record.decided_on > day:
        return False
    return state.effect_until is None or day < state.effect_until


# --------------------------------------------------------------------------------------------
# Schemes


def _score_at(
    cs: _CScheme,
    own: Sequence[RecordState],
    via: dict[str, list[RecordState]],
    day: date,
) -> tuple[float, tuple[str, ...], bool | None, dict[str, float] | None]:
    """Score of a scheme on ``day``: (score, records counted, exhausted, dimensions).

    Records are visited in decision order (``own`` and ``via`` are sorted), so the n-th
    occurrence of a type is the n-th in time.
    """
    scheme = cs.scheme
    counts = [0] * len(cs.rule_keys)
    keys = cs.rule_keys
    used: list[str] = []
    if isinstance(scheme, LicenceScheme):
        window_start = add_months(day, -scheme.period_months)
        for s in own:  # a renewal returns the licence: earlier offences no longer count
            if (
                s.record.record_type in cs.renewed_by
                and not s.voided
                and s.record.decided_on <= day
            ):
                window_start = max(window_start, s.record.decided_on)
        table = cs.by_type.get(None, {})
        balance = scheme.points
        exhausted = False
        for s in own:
            entries = table.get(s.record.record_type)
            if entries is None or not _in_effect(s, day) or s.record.decided_on <= window_start:
                continue
            used.append(s.record.id)
            for rule, _dim in entries:
                k = keys[id(rule)]
                counts[k] += 1
                balance = max(0.0, min(scheme.points, balance + rule.points_for(counts[k])))
                # all points lost within the period: later restorations do not undo that
                exhausted = exhausted or balance <= 0
        return balance, tuple(used), exhausted, None

    weighted = isinstance(scheme, WeightedScheme)
    totals = [d.base for d in scheme.dimensions] if isinstance(scheme, WeightedScheme) else [0.0]
    for role, table in cs.by_type.items():
        pool = own if role is None else via.get(role, ())
        for s in pool:
            entries = table.get(s.record.record_type)
            if entries is None or not _in_effect(s, day):
                continue
            used.append(s.record.id)
            for rule, dim in entries:
                k = keys[id(rule)]
                counts[k] += 1
                totals[dim] += rule.points_for(counts[k])
    if isinstance(scheme, PointsScheme):
        score = min(scheme.ceiling, max(scheme.floor, scheme.base + totals[0]))
        return score, tuple(used), None, None
    assert weighted and isinstance(scheme, WeightedScheme)
    dims: dict[str, float] = {}
    acc = 0.0
    total_weight = 0.0
    for dim_def, value in zip(scheme.dimensions, totals, strict=True):
        value = min(100.0, max(0.0, value))
        dims[dim_def.id] = value
        acc += dim_def.weight * value
        total_weight += dim_def.weight
    fraction = acc / (100.0 * total_weight) if total_weight else 0.0
    score = scheme.low + (scheme.high - scheme.low) * fraction
    return round(score, 6), tuple(used), None, dims


def _state_order(s: RecordState) -> tuple[date, int, str]:
    """Decision order; ties by id, shorter ids first, so ledger ids "9" < "10" numerically."""
    rid = s.record.id
    return (s.record.decided_on, len(rid), rid)


def _grade(cs: _CScheme, score: float) -> str | None:
    for low, grade in cs.bands:
        if score >= low:
            return grade
    return None


def _condition(lst: ListDef, cs: _CScheme, score: float, exhausted: bool | None) -> bool:
    entry = lst.entry
    if entry.exhausted:
        return bool(exhausted)
    if entry.grades:
        return _grade(cs, score) in entry.grades
    if entry.score_below is not None:
        return score < entry.score_below
    if entry.score_at_least is not None:
        return score >= entry.score_at_least
    return False


# --------------------------------------------------------------------------------------------
# The fold


def evaluate(
    facts: Iterable[Fact],
    catalog: Loaded | CatalogIndex,
    as_of: date,
    *,
    subject: str | None = None,
    retired: Mapping[str, Retirement] | None = None,
) -> Profile:
    """The profile of ``subject`` on ``as_of`` (see the module docstring for the rules).

    ``retired``: record types the catalog no longer defines, each with its retirement
    (:func:`socialcredit.registry.catalogs.retirements`); a record of one is shown ``retired``
    instead of ``unknown_type``.

    ``facts`` may hold records of other subjects: only the subject's own records count, and the
    records of organisations in which a role record says the subject holds a legal role count
    through that role. Without ``subject``, the subject of the first record is used.
    """
    index = catalog.index if isinstance(catalog, Loaded) else catalog
    compiled = _compile(index)
    records: dict[str, Record] = {}
    events: dict[str, list[LifecycleEvent]] = {}
    for fact in facts:
        if isinstance(fact, Record):
            if fact.decided_on <= as_of:
                records[fact.id] = fact
        elif fact.on <= as_of:
            events.setdefault(fact.record_id, []).append(fact)
    if subject is None:
        if not records:
            raise InputError("subject", "no records and no subject given")
        subject = min(records.values(), key=lambda r: (r.decided_on, r.id)).subject

    by_subject: dict[str, list[RecordState]] = {}
    types = compiled.types
    for rec in records.values():
        info = types.get(rec.record_type)
        state = _record_state(rec, events.get(rec.id, ()), info, as_of)
        if info is None and retired and rec.record_type in retired:
            state = replace(state, status="retired", retired=retired[rec.record_type])
        by_subject.setdefault(rec.subject, []).append(state)
    own = by_subject.get(subject, [])
    own.sort(key=_state_order)

    # legal roles the subject holds on as_of: role -> organisations
    # legal roles the subject holds on as_of: role -> [(organisation, role start, role end)]
    roles: dict[str, list[tuple[str, date, date | None]]] = {}
    for s in own:
        info = types.get(s.record.record_type)
        if info is not None and info.role and s.record.counterpart and _in_effect(s, as_of):
            roles.setdefault(info.role, []).append(
                (s.record.counterpart, s.record.decided_on, s.effect_until)
            )
    via: dict[str, list[RecordState]] = {}
    for role, held in roles.items():
        via[role] = sorted(
            (st for org in {o for o, _, _ in held} for st in by_subject.get(org, ())),
            key=_state_order,
        )

    schemes = _schemes(compiled, own, via, as_of)
    lists = _memberships(compiled, own, via, schemes, as_of)
    measures = _measures(index, lists, as_of) + perks(index, schemes)
    measures += _ordered(index, compiled, own, as_of)
    granted = _releases(index, own)
    for role, held in sorted(roles.items()):
        for org, start, end in sorted(held, key=lambda h: (h[0], h[1])):
            org_states = by_subject.get(org, [])
            org_lists = _memberships(compiled, org_states, {}, {}, as_of)
            reached = _measures(index, org_lists, as_of, role=role, org=org, held=(start, end))
            reached += _ordered(index, compiled, org_states, as_of, role=role, org=org,
                                held=(start, end))  # fmt: skip
            measures += _released(reached, granted.get((role, org), {}))
    if granted or any(s.record.record_type in index.release_steps for s in own):
        own = _applications(index, own)
    return Profile(
        subject=subject, as_of=as_of, schemes=schemes, lists=lists, measures=measures, records=own
    )


def _releases(
    index: CatalogIndex, own: Sequence[RecordState]
) -> dict[tuple[str, str], dict[str, date]]:
    """(role, organisation) -> memorandum or order -> the date of the earliest grant ending
    what it reaches the subject with through that role there."""
    out: dict[tuple[str, str], dict[str, date]] = {}
    for s in own:
        if s.voided or s.record.counterpart is None:
            continue
        for release, step in index.release_steps.get(s.record.record_type, ()):
            if step == "grant":
                _lift(out, release, s.record.counterpart, s.record.decided_on)
    return out


def _lift(
    out: dict[tuple[str, str], dict[str, date]], release: Release, org: str, on: date
) -> None:
    for role in release.roles:
        lifted = out.setdefault((role.value, org), {})
        for item in release.lifts:
            if item not in lifted or on < lifted[item]:
                lifted[item] = on


def _released(reached: list[ActiveMeasure], lifted: dict[str, date]) -> list[ActiveMeasure]:
    """``reached`` without what a grant lifted (a grant decided by ``as_of``: the only ones
    there are)."""
    return [a for a in reached if (a.memorandum or a.order or "") not in lifted]


def _applications(index: CatalogIndex, own: list[RecordState]) -> list[RecordState]:
    """``own`` with each release application's status and deadline: pending until the first
    grant or refusal of the same release by the same authority about the same organisation,
    decided on or after it."""
    out: list[RecordState] = []
    for s in own:
        release = index.release_applied_for(s.record.record_type)
        if release is None or s.voided:
            out.append(s)
            continue
        rec = s.record
        decision = next(
            (
                d
                for d in own
                if not d.voided
                and d.record.counterpart == rec.counterpart
                and d.record.authority == rec.authority
                and d.record.decided_on >= rec.decided_on
                and release.step(d.record.record_type) in ("grant", "refusal")
            ),
            None,
        )
        if decision is None:
            due = rec.decided_on + timedelta(days=release.decide_days or OBJECTION_DAYS)
            out.append(replace(s, application="pending", application_decide_by=due))
        else:
            step = release.step(decision.record.record_type)
            out.append(replace(s, application="granted" if step == "grant" else "refused"))
    return out


def _schemes(
    compiled: _Compiled,
    own: Sequence[RecordState],
    via: dict[str, list[RecordState]],
    as_of: date,
) -> dict[str, SchemeResult]:
    """Every scheme the subject has a record for (own, or reached through a legal role)."""
    touched: set[str] = set()
    types = compiled.types
    for s in own:
        if not s.voided:
            touched.update(types[s.record.record_type].schemes)
    if via:
        for scheme_id, cs in compiled.schemes.items():
            for role, table in cs.by_type.items():
                if role is not None and any(
                    not s.voided and s.record.record_type in table for s in via.get(role, ())
                ):
                    touched.add(scheme_id)
    out: dict[str, SchemeResult] = {}
    for scheme_id in sorted(touched):
        cs = compiled.schemes[scheme_id]
        score, used, exhausted, dims = _score_at(cs, own, via, as_of)
        out[scheme_id] = SchemeResult(scheme_id, score, _grade(cs, score), used, exhausted, dims)
    return out


def _memberships(
    compiled: _Compiled,
    own: Sequence[RecordState],
    via: dict[str, list[RecordState]],
    schemes: dict[str, SchemeResult],
    as_of: date,
) -> list[Membership]:
    by_list: dict[str, list[tuple[date, date | None, RecordState]]] = {}
    lists: dict[str, ListDef] = {}
    for s in own:
        if s.voided:
            continue
        for lst in compiled.types[s.record.record_type].lists:
            start, end = _membership_interval(lst, s, own)
            if start <= as_of and (end is None or as_of < end):
                by_list.setdefault(lst.id, []).append((start, end, s))
                lists[lst.id] = lst
    out: list[Membership] = []
    for list_id, spans in sorted(by_list.items()):
        lst = lists[list_id]
        entry = lst.entry
        if entry.within_months is not None:
            horizon = add_months(as_of, -entry.within_months)
            spans = [
                (a, _min_date(b, add_months(a, entry.within_months)), s)
                for a, b, s in spans
                if a > horizon
            ]
        if len(spans) < entry.min_count:
            continue
        starts = sorted(a for a, _, _ in spans)
        ends = sorted((b for _, b, _ in spans), key=lambda d: (d is None, d), reverse=True)
        out.append(
            Membership(
                list=list_id,
                kind=lst.kind.value,
                since=starts[entry.min_count - 1] if entry.min_count > 1 else starts[0],
                until=ends[entry.min_count - 1],
                records=tuple(
                    s.record.id for _, _, s in sorted(spans, key=lambda t: _state_order(t[2]))
                ),
                # the ways off of the terms that list the subject (a term's own, where one
                # names the record's type), not the list's alone
                removal=tuple(
                    dict.fromkeys(
                        r.value for _, _, s in spans for r in lst.term_for(s.record.record_type)[1]
                    )
                ),
            )
        )
    for scheme_id, result in sorted(schemes.items()):
        cs = compiled.schemes[scheme_id]
        for lst in compiled.score_lists.get(scheme_id, ()):
            if not _condition(lst, cs, result.score, result.exhausted):
                continue
            since, until = _score_span(lst, cs, own, via, as_of)
            out.append(
                Membership(
                    list=lst.id,
                    kind=lst.kind.value,
                    since=since,
                    until=until,
                    records=result.records,
                    scheme=scheme_id,
                    removal=tuple(r.value for r in lst.removal),
                )
            )
    out.sort(key=lambda m: m.list)
    return out


def _min_date(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _membership_interval(
    lst: ListDef, s: RecordState, own: Sequence[RecordState]
) -> tuple[date, date | None]:
    """A record's own stretch on a list: from its date for the list's duration (or its term's,
    where the list sets one for the record's type), never beyond the record's natural effect,
    ended early only by the ways off the list (or the term) allows; a fixed term extended by
    the largest extension among ``own`` decided while it lasts."""
    start = s.record.decided_on
    duration, removal = lst.term_for(s.record.record_type)
    end = _cut(s, start, s.natural_end, duration, removal)
    extends = lst.extensions_for(s.record.record_type)
    if not extends or duration is None:
        return start, end
    months = max(
        (
            extends[o.record.record_type]
            for o in own
            if o.record.record_type in extends
            and not o.voided
            and start <= o.record.decided_on
            and (end is None or o.record.decided_on < end)
        ),
        default=0,
    )
    if months == 0:
        return start, end
    natural = add_months(s.natural_end, months) if s.natural_end is not None else None
    return start, _cut(s, start, natural, duration + months, removal)


def _cut(
    s: RecordState,
    start: date,
    natural: date | None,
    duration: int | None,
    removal: Sequence[Removal],
) -> date | None:
    """The end of a stretch by ``s`` from ``start``: ``duration`` months (``None``: no fixed
    term), never beyond ``natural``, ended early only by the ways off in ``removal``."""
    end = natural
    if duration is not None:
        end = _min_date(end, add_months(start, duration))
    if s.fulfilled_on is not None and Removal.fulfilment in removal:
        end = _min_date(end, max(s.fulfilled_on, start))
    if s.withdrawn_on is not None and Removal.creditor_request in removal:
        end = _min_date(end, max(s.withdrawn_on, start))
    if s.repaired_on is not None and Removal.repair in removal:
        end = _min_date(end, s.repaired_on)
    return end


def _ordered(
    index: CatalogIndex,
    compiled: _Compiled,
    own: Sequence[RecordState],
    as_of: date,
    *,
    role: str | None = None,
    org: str | None = None,
    held: tuple[date, date | None] | None = None,
) -> list[ActiveMeasure]:
    """Measures ordered directly by the subject's records in force on ``as_of``: per order,
    since the earliest start and until the latest end of the records' stretches (:func:`_cut`
    with the order's duration and ways off). Through a ``role`` held in ``org`` during
    ``held`` (``own`` being the organisation's records): only orders that extend to the role,
    and only while it is held."""
    spans: dict[str, list[tuple[date, date | None, RecordState]]] = {}
    orders: dict[str, Order] = {}
    for s in own:
        if s.voided:
            continue
        for order in compiled.types[s.record.record_type].orders:
            if role is not None and role not in {r.value for r in order.extends_to}:
                continue
            start = s.record.decided_on
            end = _cut(s, start, s.natural_end, order.duration_months, order.removal)
            if start <= as_of and (end is None or as_of < end):
                spans.setdefault(order.id, []).append((start, end, s))
                orders[order.id] = order
    out: list[ActiveMeasure] = []
    for order_id, stretches in sorted(spans.items()):
        since = min(a for a, _, _ in stretches)
        ends = [b for _, b, _ in stretches]
        until = None if any(b is None for b in ends) else max(b for b in ends if b is not None)
        if held is not None:
            since, until = max(since, held[0]), _min_date(until, held[1])
        records = tuple(
            s.record.id for _, _, s in sorted(stretches, key=lambda h: _state_order(h[2]))
        )
        out += _active(index, orders[order_id].measures, since=since, until=until,
                       records=records, order=order_id, via_role=role, via_subject=org)  # fmt: skip
    return out


def _active(index: CatalogIndex, measure_ids: Iterable[str], **why: Any) -> list[ActiveMeasure]:
    """An :class:`ActiveMeasure` per measure the catalog defines, each with the same reasons."""
    out: list[ActiveMeasure] = []
    for measure_id in measure_ids:
        measure = index.measures.get(measure_id)
        if measure is not None:
            out.append(ActiveMeasure(measure=measure_id, kind=measure.kind.value, **why))
    return out


def _score_span(
    lst: ListDef,
    cs: _CScheme,
    own: Sequence[RecordState],
    via: dict[str, list[RecordState]],
    as_of: date,
) -> tuple[date, date | None]:
    """When a score condition that holds on ``as_of`` started holding, and when it will stop
    (with no new records), judged from the facts known on ``as_of``."""
    scheme = cs.scheme
    points: set[date] = set()
    pools = [own, *via.values()]
    for pool in pools:
        for s in pool:
            if s.voided:
                continue
            points.add(s.record.decided_on)
            if s.effect_until is not None:
                points.add(s.effect_until)
            if isinstance(scheme, LicenceScheme):
                leaves = add_months(s.record.decided_on, scheme.period_months)
                points.update((leaves, leaves + _ONE_DAY))

    def holds(day: date) -> bool:
        score, _, exhausted, _ = _score_at(cs, own, via, day)
        return _condition(lst, cs, score, exhausted)

    # the earliest day it has held continuously: the latest change point at or before as_of
    # from which it holds through as_of
    past = sorted(p for p in points if p <= as_of)
    since = as_of
    for day in reversed(past):
        if holds(day):
            since = day
        else:
            break
    until = None
    for day in sorted(p for p in points if p > as_of):
        if not holds(day):
            until = day
            break
    return since, until


_ONE_DAY = date(2000, 1, 2) - date(2000, 1, 1)


def _measures(
    index: CatalogIndex,
    lists: Sequence[Membership],
    as_of: date,
    *,
    role: str | None = None,
    org: str | None = None,
    held: tuple[date, date | None] | None = None,
) -> list[ActiveMeasure]:
    """Measures of the memoranda on ``lists``; through a ``role`` held in ``org`` during
    ``held``, only those the memorandum extends to that role, and only while it is held."""
    out: list[ActiveMeasure] = []
    for m in lists:
        since, until = m.since, m.until
        if held is not None:
            since = max(since, held[0])
            until = _min_date(until, held[1])
        for memo in index.memoranda_by_list.get(m.list, ()):
            if role is not None and role not in {r.value for r in memo.extends_to}:
                continue
            out += _active(
                index,
                memo.measures,
                since=since,
                until=until,
                list=m.list,
                memorandum=memo.id,
                records=m.records,
                via_role=role,
                via_subject=org,
            )
    return out


def perks(index: CatalogIndex, schemes: dict[str, SchemeResult]) -> list[ActiveMeasure]:
    """Incentives granted by score thresholds (Fuzhou's >= 650)."""
    out: list[ActiveMeasure] = []
    for scheme_id, result in sorted(schemes.items()):
        for perk in index.schemes[scheme_id].perks:
            if result.score >= perk.at_least:
                out += _active(index, perk.measures, since=None, until=None, scheme=scheme_id,
                               records=result.records)  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# Check: all a consumer may see


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str  # "allow" | "deny"
    measure: str
    until: date | None
    reasons: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "measure": self.measure,
            "until": _iso(self.until),
            "reasons": list(self.reasons),
        }


def check(profile: Profile, measure: str, catalog: Loaded | CatalogIndex) -> Decision:
    """May ``profile``'s subject have what ``measure`` governs on ``profile.as_of``?

    A restriction in force -> ``deny`` until its latest end. An incentive -> ``allow`` while the
    subject qualifies, ``deny`` otherwise. Reasons name the chain, not the records' contents.
    """
    index = catalog.index if isinstance(catalog, Loaded) else catalog
    known = index.measures.get(measure)
    if known is None:
        from socialcredit.policy.loader import did_you_mean

        raise NotFound(f"measure: no measure {measure!r}{did_you_mean(measure, index.measures)}")
    active = [a for a in profile.measures if a.measure == measure]
    grounds = [Ground(a.list, a.memorandum, a.scheme, a.via_role, a.until, a.order) for a in active]
    decision, until, reasons = decide(known.kind.value, grounds)
    return Decision(decision, measure, until, tuple(reasons))
