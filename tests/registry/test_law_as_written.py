"""The court list as Fa Shi [2017] No. 7 writes it, on the dates the law gives (bundled catalog
court-dishonest-debtors): an Art. 1(1) debtor stays listed until performing, an Art. 1(2)-(6)
listing lasts two years whatever the debtor pays, and the court may delete it early when the
debtor corrects."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
import pytest

from socialcredit.policy.checker import check
from socialcredit.policy.loader import Loaded, load, parse
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record

PERSON = "34052419800101001X"
LIST = "court.judgment_debtor"
REFUSE = "court.dishonest_debtor.refuse_to_perform"
OBSTRUCT = "court.dishonest_debtor.obstruct_enforcement"
DAY = date(2020, 1, 6)


@pytest.fixture(scope="module")
def court() -> Loaded:
    return load("court-dishonest-debtors")


def listed(court: Loaded, facts: list[Fact], on: date) -> bool:
    return any(m.list == LIST for m in evaluate(facts, court, on, subject=PERSON).lists)


def rec(code: str) -> Record:
    return Record("1", PERSON, code, "court", DAY)


def test_a_debtor_able_to_pay_stays_listed_until_paying(court: Loaded) -> None:
    facts: list[Fact] = [rec(REFUSE)]
    assert listed(court, facts, date(2023, 6, 1))  # three and a half years on: no fixed term
    paid = [*facts, LifecycleEvent("1", EventKind.fulfilled, date(2023, 6, 10))]
    assert listed(court, paid, date(2023, 6, 9))
    assert not listed(court, paid, date(2023, 6, 10))  # off on the day of performance
    profile = evaluate(paid, court, date(2023, 6, 10), subject=PERSON)
    assert not any(a.measure == "restrict.flight" for a in profile.measures)
    assert profile.records[0].status == "expired" and not profile.records[0].published


def test_the_creditor_s_request_ends_an_open_listing(court: Loaded) -> None:
    facts: list[Fact] = [rec(REFUSE), LifecycleEvent("1", EventKind.creditor_withdrew,
                                                     date(2021, 3, 1))]  # fmt: skip
    assert listed(court, facts, date(2021, 2, 28))
    assert not listed(court, facts, date(2021, 3, 1))


def test_paying_does_not_end_a_fixed_term_listing(court: Loaded) -> None:
    facts: list[Fact] = [rec(OBSTRUCT), LifecycleEvent("1", EventKind.fulfilled, date(2020, 6, 1))]
    assert listed(court, facts, date(2020, 7, 1))
    assert listed(court, facts, date(2022, 1, 5))
    assert not listed(court, facts, date(2022, 1, 6))  # two years (Art. 2)


def test_the_court_may_delete_a_fixed_term_listing_early(court: Loaded) -> None:
    facts: list[Fact] = [
        rec(OBSTRUCT),
        LifecycleEvent("1", EventKind.repair_applied, date(2020, 2, 20)),
        LifecycleEvent("1", EventKind.repair_granted, date(2020, 3, 2)),
    ]
    assert listed(court, facts, date(2020, 3, 1))
    assert not listed(court, facts, date(2020, 3, 2))  # no 12-month minimum


BASE = {
    "catalog": {"id": "open-terms", "title": "t", "version": "1"},
    "authorities": [{"id": "court", "title": "Court"}],
    "domains": [{"id": "judicial", "title": "Judicial", "category": "judicial"}],
    "record_types": [
        {
            "code": "refuse",
            "title": "Refuses to perform",
            "domain": "judicial",
            "severity": "serious",
            "nature": "default",
            "issuers": ["court"],
            "legal_basis": "Fa Shi [2017] No. 7, Art. 1(1)",
            "publication": {"min_months": 0},
        },
    ],  # fmt: skip
}


def catalog_with(term: dict[str, object]) -> list[str]:
    raw = {
        **BASE,
        "lists": [
            {
                "id": "debtors",
                "title": "Debtors",
                "kind": "blacklist",
                "authority": "court",
                "legal_basis": "Fa Shi [2017] No. 7",
                "entry": {"record_types": ["refuse"]},
                "removal": ["fulfilment", "objection"],
                "terms": [term],
            },
        ],  # fmt: skip
    }
    return sorted({f.code for f in check(Loaded(parse(raw), (), {})) if f.severity == "error"})


def test_an_open_listing_is_admissible_with_performance_as_a_way_off_and_its_basis() -> None:
    term = {"record_types": ["refuse"], "removal": ["fulfilment", "objection"],
            "legal_basis": "Fa Shi [2017] No. 7, Arts. 1(1) and 10"}  # fmt: skip
    assert catalog_with(term) == []


@pytest.mark.parametrize(
    "term",
    [
        {"record_types": ["refuse"], "removal": ["objection"],
         "legal_basis": "Fa Shi [2017] No. 7, Arts. 1(1) and 10"},
        {"record_types": ["refuse"], "removal": ["fulfilment", "objection"]},
        {"record_types": ["refuse"], "removal": ["fulfilment"], "legal_basis": "N/A"},
    ],
)  # fmt: skip
def test_a_list_that_merely_has_no_end_is_still_refused(term: dict[str, object]) -> None:
    codes = catalog_with(term)
    assert "SC006" in codes and "SC011" in codes


def test_a_credit_default_is_kept_five_years_from_repayment_and_never_drops_while_unpaid() -> None:
    credit = load("credit-reporting")
    facts: list[Fact] = [Record("1", PERSON, "lenders.default", "lenders", date(2015, 3, 1))]

    def counted(on: date, facts: list[Fact]) -> bool:
        profile = evaluate(facts, credit, on, subject=PERSON)
        return profile.records[0].status == "in_effect" and bool(profile.schemes)

    assert counted(date(2024, 3, 1), facts)  # unpaid nine years on: still reported
    repaid = [*facts, LifecycleEvent("1", EventKind.fulfilled, date(2020, 6, 1))]
    assert counted(date(2025, 5, 31), repaid)
    assert not counted(date(2025, 6, 1), repaid)  # five years from the end of the conduct


def test_a_minor_is_never_listed_and_the_filing_says_why(court: Loaded) -> None:
    from socialcredit.identifiers import resident_id
    from socialcredit.registry.ledger import RecordChecker

    checker = RecordChecker(court, today=date(2026, 6, 1))
    minor = resident_id(110101, date(2010, 5, 2), 3)
    refused = checker.problems(minor, REFUSE, "court", "2026-01-01", "(2026) Jing 01 Zhi 1")
    assert isinstance(refused, list)
    assert [e.field for e in refused] == ["subject"]
    assert "minor on 2026-01-01" in refused[0].message and LIST in refused[0].message
    # eighteen on the day: listed as anyone
    adult = resident_id(110101, date(2008, 1, 1), 3)
    accepted = checker.problems(adult, REFUSE, "court", "2026-01-01", "(2026) Jing 01 Zhi 2")
    assert not isinstance(accepted, list)
    # an organisation has no age
    company = checker.problems("91110000600037341L", REFUSE, "court", "2026-01-01", "(2026) 3")
    assert not isinstance(company, list)


# --------------------------------------------------------------------------------------------
# Exclusions stated at filing (Fa Shi [2017] No. 7, Art. 3; Fa Fa [2019] No. 35)

ADULT = "34052419800101001X"
ORDER = "court.consumption_restriction_order"
ORDER_TYPE = "court.consumption_order"


def filing(court: Loaded, code: str, facts: object) -> list[str]:
    from socialcredit.registry.ledger import RecordChecker

    checker = RecordChecker(court, today=date(2026, 6, 1))
    out = checker.problems(ADULT, code, "court", "2026-01-05", "(2026) Jing 01 Zhi 7", None,
                           None, facts)  # fmt: skip
    return [f"{e.field}: {e.message}" for e in out] if isinstance(out, list) else []


@pytest.mark.parametrize("fact", ["security_given", "assets_seized", "unable_to_pay"])
def test_an_art_1_1_debtor_with_an_excluding_fact_is_refused_naming_subject_list_and_fact(
    court: Loaded, fact: str
) -> None:
    [problem] = filing(court, REFUSE, [fact])
    assert problem.startswith("excluding_facts: ")
    assert ADULT in problem and f"list {LIST}" in problem and fact in problem
    assert filing(court, REFUSE, fact) == [problem]  # one CSV cell gives the same


def test_art_3_excludes_only_art_1_1_and_a_fact_that_excludes_nothing_is_refused(
    court: Loaded,
) -> None:
    [problem] = filing(court, OBSTRUCT, ["security_given"])
    assert "excludes no list or order that records of type" in problem
    assert filing(court, OBSTRUCT, None) == [] and filing(court, OBSTRUCT, "") == []


def test_a_campus_loan_student_is_neither_listed_nor_restricted(court: Loaded) -> None:
    [listed_] = filing(court, OBSTRUCT, ["campus_loan_student"])
    assert f"list {LIST}" in listed_ and "campus_loan_student" in listed_
    [ordered] = filing(court, ORDER_TYPE, ["campus_loan_student"])
    assert f"order {ORDER}" in ordered


@pytest.mark.parametrize(
    ("facts", "says"),
    [
        (["secuirty_given"], "unknown fact 'secuirty_given' (did you mean 'security_given'?)"),
        (["minors"], "read from the subject's resident ID"),
        (3, "expected a list of names, got int"),
    ],
)
def test_bad_excluding_facts_are_named(court: Loaded, facts: object, says: str) -> None:
    problems = filing(court, REFUSE, facts)
    assert problems and all(p.startswith("excluding_facts: ") for p in problems)
    assert any(says in p for p in problems), problems


def test_records_import_refuses_the_whole_file_when_one_line_is_excluded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from socialcredit.cli import main
    from socialcredit.registry.ledger import Ledger

    db = tmp_path / "court.db"
    lines = [
        {"subject": ADULT, "record_type": OBSTRUCT, "authority": "court",
         "decided_on": "2026-01-05", "decision_ref": "(2026) 1"},
        {"subject": "11010119900307803X", "record_type": REFUSE, "authority": "court",
         "decided_on": "2026-01-05", "decision_ref": "(2026) 2",
         "excluding_facts": ["assets_seized"]},
    ]  # fmt: skip
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines))
    args = ["--db", str(db), "--as-of", "2026-06-01"]

    def cli(*argv: str) -> tuple[int, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, capsys.readouterr().err

    assert cli("db", "init", "--no-catalogs", "--db", str(db))[0] == 0
    for catalog in ("cn-common", "court-dishonest-debtors"):  # the base first: it extends it
        assert cli("catalog", "activate", catalog, "--from", "1949-10-01", "--db",
                   str(db))[0] == 0  # fmt: skip
    code, err = cli("records", "import", str(path), *args)
    assert code == 2, err
    assert "line 2: excluding_facts:" in err and "assets_seized" in err and LIST in err
    with Ledger.open(f"sqlite:///{db}") as ledger:
        assert ledger.count_records() == 0  # nothing half-written
    del lines[1]["excluding_facts"]
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines))
    assert cli("records", "import", str(path), *args)[0] == 0
    with Ledger.open(f"sqlite:///{db}") as ledger:
        assert ledger.count_records() == 2


# --------------------------------------------------------------------------------------------
# Extensions (Art. 2 para. 1)

EXTENDED_2Y = "court.dishonest_debtor.extended_2y"


def test_an_extension_decided_while_listed_adds_its_years_and_paying_does_not_end_it(
    court: Loaded,
) -> None:
    facts: list[Fact] = [
        rec(OBSTRUCT),
        Record("2", PERSON, EXTENDED_2Y, "court", date(2021, 12, 1)),
        LifecycleEvent("1", EventKind.fulfilled, date(2022, 3, 1)),
    ]
    assert listed(court, facts, date(2023, 6, 1))
    assert listed(court, facts, date(2024, 1, 5))
    assert not listed(court, facts, date(2024, 1, 6))  # 24 + 24 months
    profile = evaluate(facts, court, date(2023, 6, 1), subject=PERSON)
    [m] = [m for m in profile.lists if m.list == LIST]
    assert m.until == date(2024, 1, 6)


def test_an_extension_after_the_listing_ended_or_voided_extends_nothing(court: Loaded) -> None:
    late: list[Fact] = [rec(OBSTRUCT), Record("2", PERSON, EXTENDED_2Y, "court", date(2022, 1, 6))]
    assert not listed(court, late, date(2022, 6, 1))
    voided: list[Fact] = [
        rec(OBSTRUCT),
        Record("2", PERSON, EXTENDED_2Y, "court", date(2021, 6, 1)),
        LifecycleEvent("2", EventKind.objection_upheld, date(2021, 7, 1)),
    ]
    assert not listed(court, voided, date(2022, 1, 6))


def test_an_open_listing_is_not_extended(court: Loaded) -> None:
    facts: list[Fact] = [
        rec(REFUSE),
        Record("2", PERSON, EXTENDED_2Y, "court", date(2020, 6, 1)),
        LifecycleEvent("1", EventKind.fulfilled, date(2021, 1, 4)),
    ]
    assert not listed(court, facts, date(2021, 1, 4))  # off on paying, as before


# --------------------------------------------------------------------------------------------
# The consumption restriction order of its own (Fa Shi [2015] No. 17, Arts. 1 and 9)

MARCH = date(2021, 3, 1)


def restricted(court: Loaded, facts: list[Fact], on: date) -> list[str]:
    from socialcredit.registry.evaluate import check

    profile = evaluate(facts, court, on, subject=PERSON)
    decision = check(profile, "restrict.flight", court)
    return [r["code"] for r in decision.reasons] if decision.decision == "deny" else []


def test_an_order_restricts_without_listing_until_paid(court: Loaded) -> None:
    facts: list[Fact] = [Record("1", PERSON, ORDER_TYPE, "court", DAY)]
    assert restricted(court, facts, date(2024, 1, 1)) == ["ORDERED"]
    assert not listed(court, facts, date(2024, 1, 1))
    profile = evaluate(facts, court, date(2024, 1, 1), subject=PERSON)
    assert {a.order for a in profile.measures} == {ORDER}
    assert all(a.until is None and a.list is None for a in profile.measures)
    paid = [*facts, LifecycleEvent("1", EventKind.fulfilled, date(2024, 2, 1))]
    assert restricted(court, paid, date(2024, 1, 31)) == ["ORDERED"]
    assert restricted(court, paid, date(2024, 2, 1)) == []


@pytest.mark.parametrize(
    "events",
    [
        [(EventKind.creditor_withdrew, date(2021, 3, 1))],
        [(EventKind.repair_applied, date(2021, 2, 1)), (EventKind.repair_granted, MARCH)],
        [(EventKind.objection_filed, date(2021, 2, 1)), (EventKind.objection_upheld, MARCH)],
    ],
)
def test_consent_security_or_a_wrong_order_lift_it(
    court: Loaded, events: list[tuple[EventKind, date]]
) -> None:
    facts: list[Fact] = [Record("1", PERSON, ORDER_TYPE, "court", DAY)]
    facts += [LifecycleEvent("1", kind, on) for kind, on in events]
    assert restricted(court, facts, date(2021, 2, 28)) == ["ORDERED"]
    assert restricted(court, facts, date(2021, 3, 1)) == []


def test_a_listed_debtor_under_an_order_is_denied_on_both_grounds(court: Loaded) -> None:
    facts: list[Fact] = [rec(REFUSE), Record("2", PERSON, ORDER_TYPE, "court", DAY)]
    assert sorted(restricted(court, facts, date(2021, 1, 1))) == ["LISTED", "ORDERED"]


# --------------------------------------------------------------------------------------------
# Jinan: the course and test returns the dog and the licence


def test_passing_the_course_returns_the_licence_and_ends_the_hold() -> None:
    jinan = load("jinan-dog")
    offence, course = "jinan.dog.offence", "jinan.dog.course_passed"
    facts: list[Fact] = [
        Record("1", PERSON, offence, "jinan.dog_office", date(2020, 1, 6)),
        Record("2", PERSON, offence, "jinan.dog_office", date(2020, 2, 6)),
        Record("3", PERSON, offence, "jinan.dog_office", date(2020, 3, 6)),
    ]

    def held(facts: list[Fact], on: date) -> bool:
        profile = evaluate(facts, jinan, on, subject=PERSON)
        return any(a.measure == "jinan.dog.held_until_course" for a in profile.measures)

    assert held(facts, date(2020, 4, 1))
    passed = [*facts, Record("4", PERSON, course, "jinan.dog_office", date(2020, 4, 10))]
    assert held(passed, date(2020, 4, 9))
    assert not held(passed, date(2020, 4, 10))
    licence = evaluate(passed, jinan, date(2020, 4, 10), subject=PERSON).schemes
    assert licence["jinan.dog_licence"].score == 12 and not licence["jinan.dog_licence"].exhausted
    again = [*passed, Record("5", PERSON, offence, "jinan.dog_office", date(2020, 5, 1))]
    assert (
        evaluate(again, jinan, date(2020, 5, 1), subject=PERSON).schemes["jinan.dog_licence"].score
        == 9
    )  # counted afresh: a fourth offence in the period costs 3 of 12, not 12


# --------------------------------------------------------------------------------------------
# Objection deadlines of the court list (Art. 12)


def test_a_correction_is_due_in_15_days_and_an_appeal_in_15_more(
    court: Loaded, sqlite_url: str
) -> None:
    from socialcredit.registry import workflows
    from socialcredit.registry.ledger import Ledger, NewRecord

    today = date(2021, 6, 1)
    with Ledger.open(sqlite_url) as ledger:
        ledger.init()
        [filed] = ledger.submit([NewRecord(PERSON, OBSTRUCT, "court", DAY, "(2020) 1")],
                                catalog=court, today=today, actor="court")  # fmt: skip
        pending = workflows.file_objection(ledger, court, filed.id, by=PERSON, grounds="wrong",
                                           on=date(2021, 2, 1), today=today)  # fmt: skip
        assert pending.decide_by == date(2021, 2, 16)
        state = evaluate(ledger.facts(PERSON), court, date(2021, 2, 17), subject=PERSON)
        assert state.to_json()["records"][0]["overdue"]  # escalates once the day has passed
        workflows.decide_objection(
            ledger, court, filed.id, authority="court", upheld=False, reason="listed rightly",
            on=date(2021, 2, 10), today=today,
        )  # fmt: skip
        appeal = workflows.file_objection(ledger, court, filed.id, by=PERSON, grounds="appeal",
                                          on=date(2021, 2, 20), today=today)  # fmt: skip
        assert appeal.decide_by == date(2021, 3, 7)  # within 10 days of the rejection: 15 days
        workflows.decide_objection(
            ledger, court, filed.id, authority="court", upheld=False, reason="confirmed",
            on=date(2021, 3, 1), today=today,
        )  # fmt: skip
        late = workflows.file_objection(ledger, court, filed.id, by=PERSON, grounds="again",
                                        on=date(2021, 4, 1), today=today)  # fmt: skip
        assert late.decide_by == date(2021, 4, 16)  # not an appeal: a new correction


def test_other_records_keep_the_20_day_deadline(sqlite_url: str) -> None:
    from socialcredit.registry import workflows
    from socialcredit.registry.ledger import Ledger, NewRecord

    credit = load("credit-reporting")
    today = date(2021, 6, 1)
    with Ledger.open(sqlite_url) as ledger:
        ledger.init()
        [filed] = ledger.submit(
            [NewRecord(PERSON, "lenders.default", "lenders", DAY, "loan 1")],
            catalog=credit, today=today, actor="lenders",
        )  # fmt: skip
        pending = workflows.file_objection(ledger, credit, filed.id, by=PERSON, grounds="paid",
                                           on=date(2021, 2, 1), today=today)  # fmt: skip
        assert pending.decide_by == date(2021, 2, 21)


def test_a_submission_stating_an_excluding_fact_writes_nothing(
    court: Loaded, sqlite_url: str
) -> None:
    from socialcredit.errors import InputError
    from socialcredit.registry.ledger import Ledger, NewRecord

    with Ledger.open(sqlite_url) as ledger:
        ledger.init()
        good = NewRecord(PERSON, OBSTRUCT, "court", DAY, "(2020) 1")
        bad = NewRecord(
            PERSON, REFUSE, "court", DAY, "(2020) 2", excluding_facts=("unable_to_pay",)
        )
        with pytest.raises(InputError, match="unable_to_pay"):
            ledger.submit([good, bad], catalog=court, today=date(2021, 6, 1), actor="court")
        assert ledger.count_records() == 0


def law_findings(raw: dict[str, object]) -> list[str]:
    return sorted({f"{f.code} {f.message}" for f in check(Loaded(parse({**BASE, **raw}), (), {}))
                   if f.severity == "error"})  # fmt: skip


DEBTORS = {"id": "debtors", "title": "Debtors", "kind": "blacklist", "authority": "court",
           "legal_basis": "Fa Shi [2017] No. 7", "entry": {"record_types": ["refuse"]},
           "removal": ["fulfilment", "objection"]}  # fmt: skip


def test_the_checker_refuses_an_order_that_never_ends_and_one_with_no_basis() -> None:
    measures = [{"id": "m", "title": "No flights", "kind": "restriction", "domain": "judicial",
                 "legal_basis": "Fa Shi [2015] No. 17"}]  # fmt: skip
    order = {"id": "o", "title": "Order", "authority": "court", "record_types": ["refuse"],
             "measures": ["m"], "legal_basis": "Fa Shi [2015] No. 17, Art. 1"}  # fmt: skip
    ok = law_findings({"measures": measures, "orders": [{**order, "removal": ["fulfilment"]}]})
    assert not [f for f in ok if "order o" in f]
    never = law_findings({"measures": measures, "orders": [{**order, "removal": ["objection"]}]})
    assert any(f.startswith("SC006 order o has no fixed term") for f in never)
    no_basis = {**order, "removal": ["fulfilment"], "legal_basis": ""}
    blank = law_findings({"measures": measures, "orders": [no_basis]})
    assert any(f.startswith("SC001 order o") for f in blank)


def test_the_checker_bounds_extensions_and_wants_a_renewed_licence_for_a_course() -> None:
    extension = {"record_type": "refuse2", "months": 36}
    term = {"record_types": ["refuse"], "duration_months": 36, "removal": ["fulfilment"],
            "legal_basis": "Art. 2", "extensions": [extension]}  # fmt: skip
    long_term = {**DEBTORS, "terms": [term]}
    assert any("extendable to 72, more than 60" in f for f in law_findings({"lists": [long_term]}))
    course = {**DEBTORS, "removal": ["fulfilment", "course_passed"]}
    assert any(
        "course_passed" in f and f.startswith("SC007") for f in law_findings({"lists": [course]})
    )


# ---------------------------------------------------------------------------------------------
# Smaller corrections (issue 18, item 8)

ORG = "91110000600037341L"


def test_failing_listed_supervision_blacklists_the_polluter_and_reaches_its_representative() -> (
    None
):
    """Huan Fa [2013] No. 150 and Fa Gai Cai Jin [2016] No. 1580: rectification under listed
    supervision not completed by the deadline is serious dishonesty; the MOU's measures reach
    the enterprise's legal representative."""
    env = load("environment-credit", "court-dishonest-debtors")
    facts: list[Fact] = [
        Record("r", PERSON, "samr.legal_representative", "samr", date(2019, 1, 1), counterpart=ORG),
        Record("o", ORG, "mee.supervision_overdue", "mee", DAY),
    ]
    org = evaluate(facts, env, date(2020, 2, 1), subject=ORG)
    assert [m.list for m in org.lists] == ["mee.serious_dishonesty"]
    assert org.lists[0].until == date(2023, 1, 6)  # 36 months, the serious ceiling
    rep = evaluate(facts, env, date(2020, 2, 1), subject=PERSON)
    assert {a.measure for a in rep.measures if a.via_role == "legal_representative"} >= {
        "restrict.env_permits",
        "restrict.env_procurement",
    }
    # correcting later does not end it (no fulfilment): it is repaired, 12 months on at the
    # earliest
    assert org.lists[0].removal == ("repair", "expiry", "objection")
    assert org.records[0].repairable_from == date(2021, 1, 6)


def test_an_unreturned_rental_lowers_the_jasmine_score_below_the_perks() -> None:
    fuzhou = load("fuzhou-jasmine")
    paid = [
        Record(str(i), PERSON, code, "fuzhou", DAY)
        for i, code in enumerate(
            ("fuzhou.bills_on_time", "fuzhou.taxes_on_time", "fuzhou.social_insurance_on_time")
        )
    ]
    # 600 + 5 x 10 = 650: the perks
    paid += [
        Record(f"y{i}", PERSON, code, "fuzhou", date(2020, 2, 6))
        for i, code in enumerate(("fuzhou.bills_on_time", "fuzhou.taxes_on_time"))
    ]
    on = date(2020, 3, 1)
    before = evaluate(paid, fuzhou, on, subject=PERSON)
    assert before.schemes["fuzhou.jasmine"].score == 650
    assert any(a.measure == "incentive.fuzhou.free_rentals" for a in before.measures)
    rental = Record("x", PERSON, "fuzhou.rental_not_returned", "fuzhou", date(2020, 2, 20))
    after = evaluate([*paid, rental], fuzhou, on, subject=PERSON)
    assert after.schemes["fuzhou.jasmine"].score == 600
    assert not any(a.measure == "incentive.fuzhou.free_rentals" for a in after.measures)
    # the deduction counts 12 months (a general record)
    later = evaluate([*paid, rental], fuzhou, date(2021, 2, 20), subject=PERSON)
    assert "x" not in later.schemes["fuzhou.jasmine"].records


# --------------------------------------------------------------------------------------------
# Officers of a restricted unit (bundled catalog court-officers: Fa Shi [2015] No. 17, Art. 3
# para. 2; Fa Fa [2019] No. 35, item 17(2))

COMPANY = "91110000600037341L"
OFFICER = "11010519491231002X"
OWN_FUNDS = "court.officer_own_funds"
REPLACED = "court.replaced_representative"


@pytest.fixture(scope="module")
def officers() -> Loaded:
    return load("court-officers")


def unit_listed(role: str = "samr.legal_representative") -> list[Fact]:
    return [
        Record("1", COMPANY, REFUSE, "court", DAY),
        Record("2", OFFICER, role, "samr", date(2019, 5, 1), counterpart=COMPANY),
    ]


def officer_restricted(catalog: Loaded, facts: list[Fact], on: date) -> list[str]:
    profile = evaluate(facts, catalog, on, subject=OFFICER)
    return sorted({a.via_role or "" for a in profile.measures if a.measure == "restrict.flight"})


def test_an_officer_allowed_to_spend_personal_funds_is_released_from_the_day_allowed(
    officers: Loaded,
) -> None:
    facts = unit_listed()
    allowed = Record("3", OFFICER, "court.officer_release.own_funds_allowed", "court",
                     date(2021, 3, 10), counterpart=COMPANY)  # fmt: skip
    assert officer_restricted(officers, facts, date(2021, 3, 10)) == ["legal_representative"]
    assert officer_restricted(officers, [*facts, allowed], date(2021, 3, 9)) == [
        "legal_representative"
    ]
    assert officer_restricted(officers, [*facts, allowed], date(2021, 3, 10)) == []
    # the unit itself stays restricted: only the officer is released
    unit = evaluate([*facts, allowed], officers, date(2021, 3, 10), subject=COMPANY)
    assert any(a.measure == "restrict.flight" for a in unit.measures)


def test_a_release_ends_only_the_roles_it_names_in_that_unit(officers: Loaded) -> None:
    facts = [
        *unit_listed(),
        Record("3", OFFICER, "samr.actual_controller", "samr", date(2019, 5, 1),
               counterpart=COMPANY),
        Record("4", OFFICER, "court.officer_release.replaced_lifted", "court",
               date(2021, 3, 10), counterpart=COMPANY),
    ]  # fmt: skip
    # the replaced representative's release lifts the representative's reach, not the
    # controller's (Fa Fa [2019] No. 35, item 17(2) releases no actual controller)
    assert officer_restricted(officers, facts, date(2021, 4, 1)) == ["actual_controller"]
    revoked = [*facts, LifecycleEvent("4", EventKind.revoked, date(2021, 5, 1))]
    assert officer_restricted(officers, revoked, date(2021, 6, 1)) == [
        "actual_controller",
        "legal_representative",
    ]


@pytest.mark.parametrize("url", ["sqlite_url", "pg_url"])
def test_a_replaced_representative_applies_and_the_court_decides_within_15_days(
    officers: Loaded, url: str, request: pytest.FixtureRequest
) -> None:
    from socialcredit.errors import WorkflowError
    from socialcredit.registry import workflows
    from socialcredit.registry.ledger import Ledger, NewRecord

    today = date(2021, 6, 1)
    with Ledger.open(request.getfixturevalue(url)) as ledger:
        ledger.init()
        ledger.submit([NewRecord(COMPANY, REFUSE, "court", DAY, "(2020) 1")],
                      catalog=officers, today=today, actor="court")  # fmt: skip
        ledger.submit([NewRecord(OFFICER, "samr.legal_representative", "samr",
                                 date(2019, 5, 1), "reg 1", counterpart=COMPANY)],
                      catalog=officers, today=today, actor="samr")  # fmt: skip
        with pytest.raises(WorkflowError, match="nothing release"):
            workflows.apply_for_release(ledger, officers, REPLACED, by=OFFICER,
                                        organisation=COMPANY, reference="(2021) 7",
                                        on=date(2019, 12, 1), today=today)  # fmt: skip
        pending = workflows.apply_for_release(ledger, officers, REPLACED, by=OFFICER,
                                              organisation=COMPANY, reference="(2021) 7",
                                              on=date(2021, 2, 1), today=today)  # fmt: skip
        assert pending.kind == "release" and pending.decide_by == date(2021, 2, 16)
        for on in (date(2021, 2, 2), date(2020, 6, 1)):  # dated before it: it is seen too
            with pytest.raises(WorkflowError, match="already has an application"):
                workflows.apply_for_release(ledger, officers, REPLACED, by=OFFICER,
                                            organisation=COMPANY, reference="(2021) 8",
                                            on=on, today=today)  # fmt: skip
        late = evaluate(ledger.facts(OFFICER), officers, date(2021, 2, 17), subject=OFFICER)
        [application] = [r for r in late.to_json()["records"] if r["application"]]
        assert application["application"] == "pending" and application["overdue"]
        with pytest.raises(WorkflowError, match="only court"):
            workflows.decide_release(ledger, officers, pending.record_id, authority="samr",
                                     granted=True, reason="x", on=date(2021, 2, 20),
                                     today=today)  # fmt: skip
        workflows.decide_release(ledger, officers, pending.record_id, authority="court",
                                 granted=True, reason="(2021) 7 ruling", on=date(2021, 2, 20),
                                 today=today)  # fmt: skip
        facts = ledger.facts(OFFICER)
        assert officer_restricted(officers, facts, date(2021, 2, 19)) == ["legal_representative"]
        assert officer_restricted(officers, facts, date(2021, 2, 20)) == []
        done = evaluate(facts, officers, date(2021, 3, 1), subject=OFFICER).to_json()
        assert [r["application"] for r in done["records"] if r["application"]] == ["granted"]
        assert not any(r["overdue"] for r in done["records"])
        # the check path's projection follows the grant
        assert not [m for m in ledger.active_measures(OFFICER, on=date(2021, 3, 1))
                    if m.measure == "restrict.flight"]  # fmt: skip


def test_the_actual_controller_is_not_released_as_a_replaced_representative(
    officers: Loaded, sqlite_url: str
) -> None:
    from socialcredit.errors import WorkflowError
    from socialcredit.registry import workflows
    from socialcredit.registry.ledger import Ledger, NewRecord

    today = date(2021, 6, 1)
    with Ledger.open(sqlite_url) as ledger:
        ledger.init()
        ledger.submit([NewRecord(COMPANY, REFUSE, "court", DAY, "(2020) 1")],
                      catalog=officers, today=today, actor="court")  # fmt: skip
        for code in ("samr.legal_representative", "samr.actual_controller"):
            ledger.submit([NewRecord(OFFICER, code, "samr", date(2019, 5, 1), "reg",
                                     counterpart=COMPANY)],
                          catalog=officers, today=today, actor="samr")  # fmt: skip
        pending = workflows.apply_for_release(ledger, officers, REPLACED, by=OFFICER,
                                              organisation=COMPANY, reference="(2021) 7",
                                              on=date(2021, 2, 1), today=today)  # fmt: skip
        with pytest.raises(WorkflowError, match="actual_controller of .* bars"):
            workflows.decide_release(ledger, officers, pending.record_id, authority="court",
                                     granted=True, reason="ruling", on=date(2021, 2, 10),
                                     today=today)  # fmt: skip
        workflows.decide_release(ledger, officers, pending.record_id, authority="court",
                                 granted=False, reason="controls the unit",
                                 on=date(2021, 2, 10), today=today)  # fmt: skip
        facts = ledger.facts(OFFICER)
        assert officer_restricted(officers, facts, date(2021, 3, 1)) == [
            "actual_controller",
            "legal_representative",
        ]
        refused = evaluate(facts, officers, date(2021, 3, 1), subject=OFFICER).records
        assert [s.application for s in refused if s.application] == ["refused"]


def test_an_order_on_a_unit_reaches_its_officers_by_role_while_they_hold_it(
    officers: Loaded,
) -> None:
    """The court's consumption-restriction order on a unit reaches its legal representative,
    principal and directly responsible persons and actual controller (Fa Shi [2015] No. 17,
    Art. 3 para. 2), each through his role while he holds it; it ends for them when the unit
    pays, and a release allowed to one of them ends it for him from its date."""
    order = Record("1", COMPANY, "court.consumption_order", "court", DAY)
    role = Record("2", OFFICER, "samr.legal_representative", "samr", date(2019, 5, 1),
                  counterpart=COMPANY)  # fmt: skip
    principal = Record("3", OFFICER, "samr.responsible_person", "samr", date(2019, 5, 1),
                       counterpart=COMPANY)  # fmt: skip
    facts: list[Fact] = [order, role, principal]
    profile = evaluate(facts, officers, date(2020, 2, 1), subject=OFFICER)
    reached = [a for a in profile.measures
               if a.order == "court.consumption_restriction_order"
               and a.measure == "restrict.flight"]  # fmt: skip
    assert sorted((a.via_role, a.via_subject, a.since) for a in reached) == [
        ("legal_representative", COMPANY, DAY),
        ("responsible_person", COMPANY, DAY),
    ]
    assert {a.until for a in reached} == {date(2024, 5, 1)}  # the roles' 60 months
    paid = [*facts, LifecycleEvent("1", EventKind.fulfilled, date(2020, 9, 1))]
    assert officer_restricted(officers, paid, date(2020, 9, 1)) == []
    allowed = Record("4", OFFICER, "court.officer_release.own_funds_allowed", "court",
                     date(2020, 4, 1), counterpart=COMPANY)  # fmt: skip
    assert officer_restricted(officers, [*facts, allowed], date(2020, 3, 31)) == [
        "legal_representative",
        "responsible_person",
    ]
    assert officer_restricted(officers, [*facts, allowed], date(2020, 4, 1)) == []


def release_findings(tmp_path: Path, release: dict[str, object], more: str = "") -> list[str]:
    lines = "\n".join(f"{k} = {orjson.dumps(v).decode()}" for k, v in release.items())
    path = tmp_path / "release.toml"
    path.write_text(
        '[catalog]\nid = "release"\ntitle = "r"\nversion = "1"\nextends = ["court-officers"]\n'
        f"\n[[releases]]\n{lines}\n{more}"
    )
    return [f"{f.code} {f.message}" for f in check(load(path)) if f.code != "SC009"]


def test_the_checker_wants_a_release_that_can_lift_something_with_role_steps(
    tmp_path: Path,
) -> None:
    base: dict[str, object] = {
        "id": "x", "title": "x", "legal_basis": "Fa Shi [2015] No. 17, Art. 3",
        "authority": "court", "roles": ["legal_representative"],
        "lifts": ["court.consumption-restrictions"],
        "record_types": ["court.officer_release.own_funds_allowed"],
    }  # fmt: skip
    assert release_findings(tmp_path, base) == []
    found = release_findings(tmp_path, {**base, "record_types": [REFUSE]})
    assert any(f.startswith("SC013") and "must name the organisation" in f for f in found)
    unit_only = (
        '\n[[orders]]\nid = "unit_only"\ntitle = "u"\nauthority = "court"\n'
        'legal_basis = "Fa Shi [2015] No. 17, Art. 1"\nrecord_types = ["court.consumption_order"]\n'
        'measures = ["restrict.flight"]\nremoval = ["fulfilment"]\n'
    )
    found = release_findings(tmp_path, {**base, "lifts": ["unit_only"]}, unit_only)
    assert any(f.startswith("SC014") and "can never lift" in f for f in found)
    found = release_findings(tmp_path, {**base, "legal_basis": "", "roles": ["family"]})
    assert any(f.startswith("SC001") for f in found) and any(f.startswith("SC008") for f in found)
    found = release_findings(tmp_path, {**base, "lifts": ["nothing.here"]})
    assert any(f.startswith("SC012") for f in found)
    found = release_findings(tmp_path, {**base, "applications": [
        "court.officer_release.replaced_applied"], "decide_days": 15})  # fmt: skip
    assert any(f.startswith("SC001") and "no basis for that deadline" in f for f in found)


def test_a_listing_alone_bars_no_one_from_leaving_an_exit_order_does_until_paid() -> None:
    """Exit bans need a court decision (Civil Procedure Law Art. 255; Exit and Entry
    Administration Law Art. 12(3)): the 2016 memorandum's listing carries none; the court's
    exit restriction order does, until the debtor performs."""
    jp = load("joint-punishment-2016")

    def exit_banned(facts: list[Fact], on: date) -> bool:
        profile = evaluate(facts, jp, on, subject=PERSON)
        return any(a.measure == "restrict.exit" for a in profile.measures)

    listing: list[Fact] = [rec(REFUSE)]
    assert any(m.list == LIST for m in evaluate(listing, jp, DAY, subject=PERSON).lists)
    assert not exit_banned(listing, date(2021, 1, 1))
    ordered: list[Fact] = [*listing, Record("2", PERSON, "court.exit_order", "court", DAY)]
    assert exit_banned(ordered, date(2021, 1, 1))
    paid = [*ordered, LifecycleEvent("2", EventKind.fulfilled, date(2021, 3, 1))]
    assert exit_banned(paid, date(2021, 2, 28)) and not exit_banned(paid, date(2021, 3, 1))


def test_the_profile_names_the_ways_off_of_the_term_that_lists_the_subject(court: Loaded) -> None:
    """A debtor who refuses to perform comes off by performing (Art. 1(1)'s term), one listed
    for obstructing execution does not (two years, Art. 2): the profile names the term's ways
    off, not the list's."""
    refuse = evaluate([Record("1", PERSON, REFUSE, "court", DAY)], court, DAY, subject=PERSON)
    assert refuse.lists[0].removal == ("fulfilment", "creditor_request", "objection")
    obstruct = evaluate([Record("1", PERSON, OBSTRUCT, "court", DAY)], court, DAY, subject=PERSON)
    assert obstruct.lists[0].removal == ("repair", "expiry", "objection")
