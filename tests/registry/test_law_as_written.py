"""The court list as Fa Shi [2017] No. 7 writes it, on the dates the law gives (bundled catalog
court-dishonest-debtors): an Art. 1(1) debtor stays listed until performing, an Art. 1(2)-(6)
listing lasts two years whatever the debtor pays, and the court may delete it early when the
debtor corrects."""

from __future__ import annotations

from datetime import date

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
