"""``evaluate``: the pure fold of records into scores, lists and measures.

Example-based tests pin each rule; property-based tests (hypothesis) check the laws that must hold
for any history: order does not matter, time only moves forward through expiry, voided records
have no effect, and repair never ends publication before the minimum window.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from histories import CATALOG, ORG, PERSON, START, histories, rec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.errors import NotFound
from socialcredit.policy.loader import Loaded, load
from socialcredit.registry.dates import add_months
from socialcredit.registry.evaluate import Profile, check, evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record


@pytest.fixture(scope="module")
def cat() -> Loaded:
    return load(CATALOG)


def ev(rid: str, kind: EventKind, on: date) -> LifecycleEvent:
    return LifecycleEvent(rid, kind, on)


D = date


# ---------------------------------------------------------------------------- examples


def test_no_records_is_an_empty_profile(cat: Loaded) -> None:
    profile = evaluate([], cat, D(2024, 1, 1), subject=PERSON)
    assert profile.empty
    assert profile.to_json()["schemes"] == {}
    assert check(profile, "restrict.flight", cat).decision == "allow"


def test_debtor_listed_for_duration_and_denied_flights(cat: Loaded) -> None:
    facts = [rec("1", "court.refuse", D(2020, 1, 1))]
    p = evaluate(facts, cat, D(2020, 6, 1), subject=PERSON)
    assert [(m.list, m.since, m.until) for m in p.lists] == [
        ("debtors", D(2020, 1, 1), D(2022, 1, 1))
    ]
    decision = check(p, "restrict.flight", cat)
    assert decision.decision == "deny"
    assert decision.until == D(2022, 1, 1)
    assert decision.reasons[0]["memorandum"] == "consumption"
    # the list ends after 24 months although the record stays published for 36
    later = evaluate(facts, cat, D(2022, 1, 1), subject=PERSON)
    assert later.lists == []
    assert later.records[0].published and later.records[0].published_until == D(2023, 1, 1)
    assert check(later, "restrict.flight", cat).decision == "allow"


def test_fulfilment_lifts_the_listing_but_not_the_record(cat: Loaded) -> None:
    facts: list[Fact] = [
        rec("1", "court.refuse", D(2020, 1, 1)),
        ev("1", EventKind.fulfilled, D(2020, 3, 10)),
    ]
    before = evaluate(facts, cat, D(2020, 3, 9), subject=PERSON)
    after = evaluate(facts, cat, D(2020, 3, 10), subject=PERSON)
    assert [m.until for m in before.lists] == [D(2022, 1, 1)]  # not yet fulfilled
    assert after.lists == [] and after.measures == []
    assert after.records[0].status == "in_effect"
    assert after.records[0].fulfilled_on == D(2020, 3, 10)


def test_points_grades_and_score_based_list(cat: Loaded) -> None:
    facts = [rec(str(i), "city.late_fee", D(2021, 1, 1) + timedelta(days=i)) for i in range(8)]
    p = evaluate(facts, cat, D(2021, 2, 1), subject=PERSON)
    result = p.schemes["city-score"]
    assert result.score == 1000 - 8 * 20 and result.grade == "C"
    watch = next(m for m in p.lists if m.list == "city-watch")
    # C from the 8th fee (score 840 < 850) until the first fee expires (back to 860, grade B)
    assert watch.since == D(2021, 1, 8)
    assert watch.until == add_months(D(2021, 1, 1), 12)
    late = next(m for m in p.lists if m.list == "late-payers")
    assert late.since == D(2021, 1, 3)  # the third fee
    # grade floor and ceiling
    many = [rec(str(i), "court.refuse", D(2021, 1, 1)) for i in range(20)]
    assert evaluate(many, cat, D(2021, 2, 1), subject=PERSON).schemes["city-score"].score == 0


def test_perk_threshold_grants_incentive(cat: Loaded) -> None:
    p = evaluate([rec("1", "city.volunteer", D(2021, 1, 1))], cat, D(2021, 2, 1), subject=PERSON)
    assert p.schemes["city-score"].score == 1005
    assert check(p, "perk.green_channel", cat).decision == "allow"
    low = evaluate([rec("1", "city.late_fee", D(2021, 1, 1))], cat, D(2021, 2, 1), subject=PERSON)
    refused = check(low, "perk.green_channel", cat)
    assert refused.decision == "deny" and refused.reasons[0]["code"] == "NOT_ELIGIBLE"


def test_licence_exhausts_by_occurrence_and_restores(cat: Loaded) -> None:
    leash = [rec(str(i), "dog.leash", D(2020, 1 + i, 1)) for i in range(3)]
    p = evaluate(leash[:2], cat, D(2020, 6, 1), subject=PERSON)
    assert p.schemes["dog-licence"].score == 12 - 3 - 6
    p = evaluate(leash, cat, D(2020, 6, 1), subject=PERSON)
    assert p.schemes["dog-licence"].exhausted
    assert check(p, "dog.confiscation", cat).decision == "deny"
    # volunteering restores, but only what was lost and never above 12
    restored = evaluate(
        [*leash[:1], rec("v", "city.volunteer", D(2020, 3, 1))], cat, D(2020, 6, 1), subject=PERSON
    )
    assert restored.schemes["dog-licence"].score == 12


def test_legal_representative_reached_by_company_listing(cat: Loaded) -> None:
    facts = [
        rec("r", "samr.legal_rep", D(2019, 1, 1), counterpart=ORG),
        rec("c", "court.refuse", D(2020, 6, 1), subject=ORG),
    ]
    p = evaluate(facts, cat, D(2020, 7, 1), subject=PERSON)
    assert p.lists == []  # not listed personally (Fa Fa [2019] 35)
    [measure] = p.measures
    assert (measure.measure, measure.via_role, measure.via_subject) == (
        "restrict.flight",
        "legal_representative",
        ORG,
    )
    # no role, no reach: another person is unaffected by the company's listing
    other = evaluate(facts[1:], cat, D(2020, 7, 1), subject=PERSON)
    assert other.measures == []


def test_objection_upheld_voids_and_rejected_keeps(cat: Loaded) -> None:
    base = [
        rec("1", "court.refuse", D(2020, 1, 1)),
        ev("1", EventKind.objection_filed, D(2020, 2, 1)),
    ]
    pending = evaluate(base, cat, D(2020, 2, 15), subject=PERSON)
    assert pending.records[0].objection == "pending" and pending.lists
    upheld = evaluate(
        [*base, ev("1", EventKind.objection_upheld, D(2020, 2, 20))],
        cat,
        D(2020, 3, 1),
        subject=PERSON,
    )
    assert upheld.records[0].status == "objection_upheld" and not upheld.lists
    rejected = evaluate(
        [*base, ev("1", EventKind.objection_rejected, D(2020, 2, 20))],
        cat,
        D(2020, 3, 1),
        subject=PERSON,
    )
    assert rejected.records[0].objection == "rejected" and rejected.lists


def test_repair_before_minimum_takes_effect_at_minimum(cat: Loaded) -> None:
    facts: list[Fact] = [
        rec("1", "city.late_fee", D(2021, 1, 1)),
        ev("1", EventKind.repair_granted, D(2021, 2, 1)),
    ]
    state = evaluate(facts, cat, D(2021, 3, 1), subject=PERSON).records[0]
    assert state.repairable_from == D(2021, 4, 1)
    assert state.published_until == D(2021, 4, 1)
    assert state.published
    done = evaluate(facts, cat, D(2021, 4, 1), subject=PERSON).records[0]
    assert done.status == "repaired" and not done.published


def test_unknown_measure_is_a_clear_error(cat: Loaded) -> None:
    p = evaluate([], cat, D(2021, 1, 1), subject=PERSON)
    with pytest.raises(NotFound, match="restrict.flights.*did you mean 'restrict.flight'"):
        check(p, "restrict.flights", cat)


def test_future_records_and_events_do_not_exist_yet(cat: Loaded) -> None:
    facts: list[Fact] = [
        rec("1", "court.refuse", D(2020, 1, 1)),
        ev("1", EventKind.revoked, D(2020, 5, 1)),
        rec("2", "court.refuse", D(2020, 9, 1)),
    ]
    p = evaluate(facts, cat, D(2020, 4, 1), subject=PERSON)
    assert [r.record.id for r in p.records] == ["1"] and p.records[0].status == "in_effect"


# ---------------------------------------------------------------------------- properties

as_of_days = st.integers(0, 3000).map(lambda d: START + timedelta(days=d))
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_json(p: Profile) -> dict[str, object]:
    return p.to_json()


@PROPS
@given(histories(), as_of_days, st.randoms(use_true_random=False))
def test_order_of_facts_does_not_matter(
    cat: Loaded, facts: list[Fact], as_of: date, rnd: random.Random
) -> None:
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    assert as_json(evaluate(facts, cat, as_of, subject=PERSON)) == as_json(
        evaluate(shuffled, cat, as_of, subject=PERSON)
    )


@PROPS
@given(histories(), st.integers(0, 2000), st.integers(1, 2000))
def test_as_of_moves_monotonically_through_expiry(
    cat: Loaded, facts: list[Fact], offset: int, step: int
) -> None:
    # once every fact has happened, time only ends things: nothing ended comes back
    last = max([START] + [f.decided_on if isinstance(f, Record) else f.on for f in facts])
    early = last + timedelta(days=offset)
    late = early + timedelta(days=step)
    p1 = evaluate(facts, cat, early, subject=PERSON)
    p2 = evaluate(facts, cat, late, subject=PERSON)
    live1 = {r.record.id for r in p1.records if r.status == "in_effect"}
    live2 = {r.record.id for r in p2.records if r.status == "in_effect"}
    assert live2 <= live1
    pub1 = {r.record.id for r in p1.records if r.published}
    pub2 = {r.record.id for r in p2.records if r.published}
    assert pub2 <= pub1
    record_lists1 = {(m.list, m.via) for m in _record_based(p1)}
    record_lists2 = {(m.list, m.via) for m in _record_based(p2)}
    assert record_lists2 <= record_lists1
    for m in p1.measures:
        if m.until is not None and m.until <= late:
            assert not any(
                x.measure == m.measure
                and x.list == m.list
                and x.via_subject == m.via_subject
                and x.records == m.records
                for x in p2.measures
            )


class _Listed:
    def __init__(self, list_id: str, via: str | None) -> None:
        self.list, self.via = list_id, via


def _record_based(p: Profile) -> list[_Listed]:
    out = [_Listed(m.list, None) for m in p.lists if m.scheme is None]
    out += [_Listed(m.list or "", m.via_subject) for m in p.measures if m.via_subject]
    return out


@PROPS
@given(histories(), as_of_days, st.data())
def test_voided_records_have_no_effect(
    cat: Loaded, facts: list[Fact], as_of: date, data: st.DataObject
) -> None:
    records = [f for f in facts if isinstance(f, Record) and f.decided_on <= as_of]
    if not records:
        return
    target = data.draw(st.sampled_from(records))
    kind = data.draw(st.sampled_from([EventKind.revoked, EventKind.objection_upheld]))
    on = target.decided_on + timedelta(
        days=data.draw(st.integers(0, (as_of - target.decided_on).days))
    )
    voided = evaluate([*facts, LifecycleEvent(target.id, kind, on)], cat, as_of, subject=PERSON)
    without = evaluate(
        [f for f in facts if (f.id if isinstance(f, Record) else f.record_id) != target.id],
        cat,
        as_of,
        subject=PERSON,
    )
    a, b = as_json(voided), as_json(without)
    a["records"] = [r for r in a["records"] if r["id"] != target.id]  # type: ignore[index,union-attr]
    assert a == b


@PROPS
@given(histories(), as_of_days)
def test_repair_ends_publication_early_only_after_minimum(
    cat: Loaded, facts: list[Fact], as_of: date
) -> None:
    p = evaluate(facts, cat, as_of, subject=PERSON)
    for state in p.records:
        rt = cat.index.record_types[state.record.record_type]
        natural = (
            add_months(state.record.decided_on, rt.publication.max_months)
            if rt.publication.max_months is not None
            else None
        )
        if state.published_until is None:
            continue
        assert natural is None or state.published_until <= natural
        if state.repair == "granted" and state.repairable_from is not None:
            assert state.published_until >= state.repairable_from
        elif natural is not None:
            assert state.published_until == natural
        if state.published:
            assert as_of < state.published_until


def test_repair_ends_a_listing_only_where_the_list_allows_it(cat: Loaded) -> None:
    facts: list[Fact] = [
        rec("1", "city.late_fee", D(2021, 1, 1)),
        ev("1", EventKind.repair_granted, D(2021, 4, 1)),
    ]
    p = evaluate(facts, cat, D(2021, 5, 1), subject=PERSON)
    assert p.records[0].status == "repaired"
    # fee-watch only lets people off by expiry: six months from the fee, repair or not
    assert [(m.list, m.until) for m in p.lists] == [("fee-watch", D(2021, 7, 1))]


def test_licence_exhaustion_is_not_undone_by_later_restoration(cat: Loaded) -> None:
    leash = [rec(str(i), "dog.leash", D(2020, 1 + i, 1)) for i in range(3)]
    restored = [*leash, rec("v", "city.volunteer", D(2020, 5, 1))]
    p = evaluate(restored, cat, D(2020, 6, 1), subject=PERSON)
    assert p.schemes["dog-licence"].score == 3  # 12 lost, 3 restored
    assert p.schemes["dog-licence"].exhausted
    assert check(p, "dog.confiscation", cat).decision == "deny"


def test_role_reach_lasts_only_while_the_role_is_held(cat: Loaded) -> None:
    facts = [
        rec("c", "court.refuse", D(2020, 3, 1), subject=ORG),
        rec("r", "samr.legal_rep", D(2020, 6, 1), counterpart=ORG),
    ]
    p = evaluate(facts, cat, D(2020, 7, 1), subject=PERSON)
    [measure] = p.measures
    assert measure.since == D(2020, 6, 1)  # not from the company's listing in March
    # the role record's effect (60 months) outlasts the listing: the listing's end applies
    assert measure.until == D(2022, 3, 1)
    gone = evaluate(facts, cat, D(2025, 6, 2), subject=PERSON)
    assert gone.measures == []


def test_pending_steps_show_their_deadline_and_when_they_are_overdue(cat: Loaded) -> None:
    facts: list[Fact] = [
        rec("1", "court.refuse", D(2020, 1, 1)),
        ev("1", EventKind.objection_filed, D(2020, 2, 3)),
    ]
    on_time = evaluate(facts, cat, D(2020, 2, 23), subject=PERSON).to_json()["records"][0]
    assert (on_time["objection_decide_by"], on_time["overdue"]) == ("2020-02-23", False)
    late = evaluate(facts, cat, D(2020, 2, 24), subject=PERSON).to_json()["records"][0]
    assert late["overdue"] is True
    decided = [*facts, ev("1", EventKind.objection_rejected, D(2020, 3, 1))]
    done = evaluate(decided, cat, D(2020, 3, 2), subject=PERSON).to_json()["records"][0]
    assert (done["objection_decide_by"], done["overdue"]) == (None, False)
    applied = [*decided, ev("1", EventKind.repair_applied, D(2021, 1, 8))]  # a Friday
    state = evaluate(applied, cat, D(2021, 1, 9), subject=PERSON).records[0]
    assert state.repair_decide_by == D(2021, 1, 27)  # 13 working days later
