"""Due process on a real ledger (SQLite and PostgreSQL): who may object and repair, when,
and what each decision does to the subject's profile and checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from histories import CATALOG, PERSON

from socialcredit.errors import InputError, WorkflowError
from socialcredit.policy.loader import Loaded, load
from socialcredit.registry import workflows
from socialcredit.registry.evaluate import check, evaluate
from socialcredit.registry.ledger import Ledger, NewRecord

TODAY = date(2021, 6, 1)
OTHER = "11010119900307803X"


@pytest.fixture(scope="module")
def cat() -> Loaded:
    return load(CATALOG)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    led = Ledger.open(url)
    led.init()
    yield led
    led.close()


def file(ledger: Ledger, cat: Loaded, rtype: str, on: date, authority: str = "court") -> str:
    [result] = ledger.submit(
        [NewRecord(PERSON, rtype, authority, on, f"{authority}/{rtype}/{on}")],
        catalog=cat,
        today=TODAY,
        actor=authority,
    )
    return result.id


def flight(ledger: Ledger, cat: Loaded, on: date) -> str:
    return check(
        evaluate(ledger.facts(PERSON), cat, on, subject=PERSON), "restrict.flight", cat
    ).decision


def test_upheld_objection_lifts_the_restriction(ledger: Ledger, cat: Loaded) -> None:
    rid = file(ledger, cat, "court.refuse", date(2021, 1, 4))
    assert flight(ledger, cat, TODAY) == "deny"
    assert [m.measure for m in ledger.active_measures(PERSON)] == ["restrict.flight"]
    pending = workflows.file_objection(
        ledger, cat, rid, by=PERSON, grounds="I paid", on=date(2021, 2, 1), today=TODAY
    )
    assert pending.decide_by == date(2021, 2, 21) and pending.authority == "court"
    with pytest.raises(WorkflowError, match="already has an objection"):
        workflows.file_objection(
            ledger, cat, rid, by=PERSON, grounds="x", on=date(2021, 2, 2), today=TODAY
        )
    with pytest.raises(WorkflowError, match="only court"):
        workflows.decide_objection(
            ledger,
            cat,
            rid,
            authority="city",
            upheld=True,
            reason="r",
            on=date(2021, 2, 5),
            today=TODAY,
        )
    workflows.decide_objection(
        ledger,
        cat,
        rid,
        authority="court",
        upheld=True,
        reason="receipt verified",
        on=date(2021, 2, 5),
        today=TODAY,
    )
    assert flight(ledger, cat, date(2021, 2, 4)) == "deny"  # history is kept
    assert flight(ledger, cat, date(2021, 2, 5)) == "allow"
    # the check path's projection followed the decision in the same transaction
    assert [m.measure for m in ledger.active_measures(PERSON)] == []
    with pytest.raises(WorkflowError, match="objection upheld"):
        workflows.file_objection(
            ledger, cat, rid, by=PERSON, grounds="x", on=date(2021, 3, 1), today=TODAY
        )


def test_only_the_subject_objects_and_never_in_the_future(ledger: Ledger, cat: Loaded) -> None:
    rid = file(ledger, cat, "court.refuse", date(2021, 1, 4))
    with pytest.raises(WorkflowError, match="only the subject"):
        workflows.file_objection(
            ledger, cat, rid, by=OTHER, grounds="x", on=date(2021, 2, 1), today=TODAY
        )
    with pytest.raises(InputError, match="on: 2021-07-01 is in the future"):
        workflows.file_objection(
            ledger, cat, rid, by=PERSON, grounds="x", on=date(2021, 7, 1), today=TODAY
        )
    for grounds in (" ", "paid\x1b", "x" * 4001):  # named as given, not as the event's note
        with pytest.raises(InputError, match="grounds"):
            workflows.file_objection(
                ledger, cat, rid, by=PERSON, grounds=grounds, on=date(2021, 2, 1), today=TODAY
            )
    with pytest.raises(WorkflowError, match="no objection"):
        workflows.decide_objection(
            ledger,
            cat,
            rid,
            authority="court",
            upheld=False,
            reason="r",
            on=date(2021, 2, 5),
            today=TODAY,
        )
    assert ledger.events_for(rid) == []  # nothing half-written


def test_repair_needs_minimum_period_fulfilment_and_commitment(ledger: Ledger, cat: Loaded) -> None:
    today = date(2022, 6, 1)
    rid = file(ledger, cat, "court.refuse", date(2021, 1, 4))
    with pytest.raises(WorkflowError, match="repaired from 2022-01-04"):
        workflows.apply_repair(
            ledger, cat, rid, by=PERSON, commitment=True, on=date(2021, 6, 1), today=today
        )
    with pytest.raises(InputError, match="commitment"):
        workflows.apply_repair(
            ledger, cat, rid, by=PERSON, commitment=False, on=date(2022, 2, 1), today=today
        )
    with pytest.raises(WorkflowError, match="must be fulfilled"):
        workflows.apply_repair(
            ledger, cat, rid, by=PERSON, commitment=True, on=date(2022, 2, 1), today=today
        )
    workflows.record_fulfilment(
        ledger, cat, rid, authority="court", on=date(2022, 1, 10), today=today
    )
    # performance alone lifts the listing (its own way off the list)
    assert flight(ledger, cat, date(2022, 1, 10)) == "allow"
    profile = evaluate(ledger.facts(PERSON), cat, date(2022, 2, 1), subject=PERSON)
    assert profile.records[0].published  # but the record stays public until repaired
    workflows.apply_repair(
        ledger, cat, rid, by=PERSON, commitment=True, on=date(2022, 2, 1), today=today
    )
    workflows.decide_repair(
        ledger,
        cat,
        rid,
        authority="court",
        granted=True,
        reason="performed",
        on=date(2022, 2, 3),
        today=today,
    )
    after = evaluate(ledger.facts(PERSON), cat, date(2022, 2, 3), subject=PERSON).records[0]
    assert (after.status, after.published, after.published_until) == (
        "repaired",
        False,
        date(2022, 2, 3),
    )
    with pytest.raises(WorkflowError):
        workflows.apply_repair(
            ledger, cat, rid, by=PERSON, commitment=True, on=date(2022, 3, 1), today=today
        )


def test_unrepairable_and_refused_repairs(ledger: Ledger, cat: Loaded) -> None:
    today = date(2022, 6, 1)
    rid = file(ledger, cat, "city.volunteer", date(2021, 1, 4), authority="city")
    with pytest.raises(WorkflowError, match="cannot be repaired"):
        workflows.apply_repair(
            ledger, cat, rid, by=PERSON, commitment=True, on=date(2021, 3, 1), today=today
        )
    late = file(ledger, cat, "dog.leash", date(2021, 1, 4), authority="city")
    workflows.apply_repair(
        ledger, cat, late, by=PERSON, commitment=True, on=date(2021, 5, 1), today=today
    )
    workflows.decide_repair(
        ledger,
        cat,
        late,
        authority="city",
        granted=False,
        reason="repeat offence",
        on=date(2021, 5, 3),
        today=today,
    )
    state = evaluate(ledger.facts(PERSON), cat, date(2021, 6, 1), subject=PERSON).records[1]
    assert (state.repair, state.status) == ("refused", "in_effect")


def test_a_request_made_again_the_day_it_was_refused_awaits_a_decision(
    ledger: Ledger, cat: Loaded
) -> None:
    """An objection filed again on the day its first was rejected (an appeal), and a repair
    applied for again on the day its first was refused, are pending (on the desk, decidable),
    not folded in before the decision that answered the one before; a request dated before
    that decision is refused, naming the date, and nothing is written."""
    today = date(2022, 6, 1)
    rid = file(ledger, cat, "court.refuse", date(2021, 1, 4))

    def state(on: date) -> tuple[str | None, str | None, date | None, date | None]:
        s = evaluate(ledger.facts(PERSON), cat, on, subject=PERSON).records[0]
        return s.objection, s.repair, s.objection_decide_by, s.repair_decide_by

    day = date(2021, 2, 1)
    workflows.file_objection(ledger, cat, rid, by=PERSON, grounds="paid", on=day, today=today)
    workflows.decide_objection(ledger, cat, rid, authority="court", upheld=False,
                               reason="no receipt", on=day, today=today)  # fmt: skip
    again = workflows.file_objection(ledger, cat, rid, by=PERSON, grounds="the receipt",
                                     on=day, today=today)  # fmt: skip
    assert state(day)[0] == "pending" and state(day)[2] == again.decide_by
    with pytest.raises(WorkflowError, match="already has an objection"):
        workflows.file_objection(ledger, cat, rid, by=PERSON, grounds="x", on=day, today=today)
    workflows.decide_objection(ledger, cat, rid, authority="court", upheld=False,
                               reason="the receipt is of another debt", on=date(2021, 2, 5),
                               today=today)  # fmt: skip
    assert state(date(2021, 2, 5))[0] == "rejected"
    events = len(ledger.events_for(rid))
    late = "on: a new objection cannot be dated before the last objection or decision on one"
    with pytest.raises(InputError, match=f"{late}, of 2021-02-05"):
        workflows.file_objection(ledger, cat, rid, by=PERSON, grounds="late", on=date(2021, 2, 4),
                                 today=today)  # fmt: skip

    workflows.record_fulfilment(ledger, cat, rid, authority="court", on=date(2022, 1, 10),
                                today=today)  # fmt: skip
    day = date(2022, 2, 1)
    workflows.apply_repair(ledger, cat, rid, by=PERSON, commitment=True, on=day, today=today)
    workflows.decide_repair(ledger, cat, rid, authority="court", granted=False,
                            reason="commitment not published", on=day, today=today)  # fmt: skip
    pending = workflows.apply_repair(ledger, cat, rid, by=PERSON, commitment=True, on=day,
                                     today=today)  # fmt: skip
    assert state(day)[1] == "applied" and state(day)[3] == pending.decide_by
    workflows.decide_repair(ledger, cat, rid, authority="court", granted=False,
                            reason="still not published", on=date(2022, 2, 3),
                            today=today)  # fmt: skip
    with pytest.raises(InputError, match="on: a new repair application cannot be dated before"):
        workflows.apply_repair(ledger, cat, rid, by=PERSON, commitment=True, on=date(2022, 2, 2),
                               today=today)  # fmt: skip
    # one pending: another dated before it would not see it as of its day
    workflows.apply_repair(ledger, cat, rid, by=PERSON, commitment=True, on=date(2022, 2, 10),
                           today=today)  # fmt: skip
    with pytest.raises(InputError, match="on: a new repair application cannot be dated before "
                                         "the last repair application or decision on one, of "
                                         "2022-02-10"):  # fmt: skip
        workflows.apply_repair(ledger, cat, rid, by=PERSON, commitment=True, on=date(2022, 2, 5),
                               today=today)  # fmt: skip
    assert len(ledger.events_for(rid)) == events + 6  # the refused requests wrote nothing
