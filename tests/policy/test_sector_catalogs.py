"""The tax and market regulation catalogs: admissible, and what the registry makes of an
enterprise's records under them (on the list with its measures; off after the term, a repair
or the filing)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from socialcredit.policy.checker import Profile, Severity, check_paths, load_admissible
from socialcredit.policy.loader import bundled, bundled_paths, load
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record

ORG = "91110000600037341L"  # FACTS.md: a valid USCC
REP = "34052419800101001X"  # FACTS.md: a valid resident ID
SECTORS = ("tax-credit", "market-credit")


@pytest.mark.parametrize("catalog_id", SECTORS)
def test_the_sector_catalogs_are_bundled_and_admissible(catalog_id: str) -> None:
    assert catalog_id in {b.id for b in bundled() if not b.synthetic}
    findings = check_paths([catalog_id])
    assert [str(f) for f in findings if f.severity is Severity.error] == []
    # what is reported: measures in other domains (joint punishment) and, for the market list
    # under SAIC Order No. 83, a listing longer than a serious record's publication
    assert {f.code for f in findings} <= {"SC009", "SC011"}
    load_admissible(catalog_id)
    # detrimental treatment in unrelated contexts: refused under the EU AI Act's profile
    strict = check_paths([catalog_id], profile=Profile.eu_ai_act)
    assert any(f.severity is Severity.error and f.code == "SC009" for f in strict)


def test_the_registry_runs_them_with_the_other_admissible_catalogs() -> None:
    index = registry_catalog().index
    assert {"sat.major_tax_dishonesty", "sat.credit_grade_d", "samr.abnormal_operations",
            "samr.serious_illegal_dishonest"} <= set(index.lists)  # fmt: skip


def test_terms_follow_the_rules_in_force() -> None:
    tax = load("tax-credit").index
    major = tax.lists["sat.major_tax_dishonesty"]
    assert major.term_for("sat.major_violation") == (36, ("expiry", "objection"))
    assert major.term_for("sat.major_dishonesty") == (36, ("repair", "expiry", "objection"))
    # a person's case: the same terms
    assert major.term_for("sat.major_violation_person") == (36, ("expiry", "objection"))
    assert major.term_for("sat.major_dishonesty_person") == (36, ("repair", "expiry",
                                                                   "objection"))  # fmt: skip
    assert tax.lists["sat.credit_grade_d"].duration_months == 24
    market = load("market-credit").index
    serious = market.lists["samr.serious_illegal_dishonest"]
    assert serious.term_for("samr.serious_violation") == (60, ("expiry", "objection"))
    assert serious.term_for("samr.serious_illegal_dishonest") == (36, ("repair", "expiry",
                                                                       "objection"))  # fmt: skip
    # the abnormal list lasts until the report is filed
    abnormal = market.lists["samr.abnormal_operations"]
    assert abnormal.term_for("samr.annual_report_missed") == (None, ("fulfilment", "objection"))
    for rt in (*tax.record_types.values(), *market.record_types.values()):
        if rt.code.startswith(("sat.", "samr.")) and rt.nature.value != "role":
            assert rt.legal_basis and rt.issuers[0] in {"sat", "samr"}


def lists_on(facts: list[Fact], catalog: str, day: date, subject: str = ORG) -> set[str]:
    return {m.list for m in evaluate(facts, load(catalog).index, day, subject=subject).lists}


def measures_on(facts: list[Fact], catalog: str, day: date, subject: str = ORG) -> set[str]:
    profile = evaluate(facts, load(catalog).index, day, subject=subject)
    return {a.measure for a in profile.measures}


def test_an_enterprise_with_a_major_tax_violation_is_listed_for_three_years() -> None:
    """Under the 2014-2018 measures: three years on the list, two with the D grade; no early
    removal (a granted repair changes nothing)."""
    facts: list[Fact] = [
        Record("t1", ORG, "sat.major_violation", "sat", date(2016, 3, 1)),
        LifecycleEvent("t1", EventKind.repair_granted, date(2017, 6, 1)),
    ]
    assert lists_on(facts, "tax-credit", date(2016, 3, 2)) == {"sat.major_tax_dishonesty",
                                                               "sat.credit_grade_d"}  # fmt: skip
    joint = {"restrict.tax.procurement", "restrict.tax.subsidies"}
    assert measures_on(facts, "tax-credit", date(2016, 3, 2)) == joint | {
        "restrict.tax.inspections"
    }
    assert lists_on(facts, "tax-credit", date(2018, 3, 2)) == {"sat.major_tax_dishonesty"}
    assert lists_on(facts, "tax-credit", date(2019, 3, 1)) == set()
    assert measures_on(facts, "tax-credit", date(2019, 3, 1)) == set()


def test_a_dishonest_entity_under_order_54_leaves_early_by_repair() -> None:
    facts: list[Fact] = [Record("t2", ORG, "sat.major_dishonesty", "sat", date(2022, 3, 1))]
    assert "sat.major_tax_dishonesty" in lists_on(facts, "tax-credit", date(2022, 3, 1))
    repaired = [*facts, LifecycleEvent("t2", EventKind.repair_granted, date(2023, 4, 1))]
    assert lists_on(repaired, "tax-credit", date(2023, 4, 2)) == {"sat.credit_grade_d"}
    assert lists_on(facts, "tax-credit", date(2023, 4, 2)) == {"sat.major_tax_dishonesty",
                                                               "sat.credit_grade_d"}  # fmt: skip
    assert lists_on(facts, "tax-credit", date(2025, 3, 1)) == set()


def test_the_d_grade_rates_enterprises_and_a_person_s_case_lists_the_person() -> None:
    """The tax credit evaluation rates enterprises (SAT Announcement 2014 No. 40): a record
    type per rule and kind; a person's case enters the major tax violation list with its joint
    punishment, never the D grade, which holds organisations only."""
    tax = load("tax-credit").index
    grade, major = tax.lists["sat.credit_grade_d"], tax.lists["sat.major_tax_dishonesty"]
    assert grade.subject_kinds == ("organisation",)
    assert set(grade.entry.record_types) == {"sat.major_violation", "sat.major_dishonesty"}
    assert set(major.subject_kinds) == {"person", "organisation"}
    assert set(major.entry.record_types) == {
        "sat.major_violation", "sat.major_violation_person",
        "sat.major_dishonesty", "sat.major_dishonesty_person",
    }  # fmt: skip
    for code in major.entry.record_types:
        kind = "person" if code.endswith("_person") else "organisation"
        assert tax.record_types[code].subject_kinds == (kind,), code
        assert tax.record_types[code].legal_basis, code
    for code, day in (("sat.major_violation_person", date(2016, 3, 1)),
                      ("sat.major_dishonesty_person", date(2022, 3, 1))):  # fmt: skip
        facts: list[Fact] = [Record("p1", REP, code, "sat", day)]
        assert lists_on(facts, "tax-credit", day, REP) == {"sat.major_tax_dishonesty"}, code
        assert measures_on(facts, "tax-credit", day, REP) == {
            "restrict.tax.procurement", "restrict.tax.subsidies"}  # fmt: skip


def test_a_person_s_case_entering_the_d_grade_is_refused(tmp_path: Path) -> None:
    """SC024: the D grade holds organisations; a person's record type entering it would grade
    persons, and the checker says so."""
    text = bundled_paths()["tax-credit"].read_text(encoding="utf-8")
    old = 'entry = { record_types = ["sat.major_violation", "sat.major_dishonesty"] }'
    assert text.count(old) == 1 and text.count('id = "tax-credit"') == 1
    text = text.replace('id = "tax-credit"', 'id = "tax-grade"')
    bad = tmp_path / "tax-grade.toml"
    bad.write_text(text.replace(old, old.replace('"sat.major_dishonesty"',
                                                 '"sat.major_dishonesty_person"')))  # fmt: skip
    errors = [f for f in check_paths([bad]) if f.severity is Severity.error]
    assert [(f.code, f.location) for f in errors] == [
        ("SC024", "tax-grade.toml: lists[sat.credit_grade_d].entry.record_types")]  # fmt: skip
    assert "sat.major_dishonesty_person" in errors[0].message
    assert "persons would be listed" in errors[0].message


def test_a_non_filer_is_on_the_abnormal_list_until_it_files() -> None:
    facts: list[Fact] = [Record("m1", ORG, "samr.annual_report_missed", "samr",
                                date(2015, 7, 1))]  # fmt: skip
    assert lists_on(facts, "market-credit", date(2019, 7, 1)) == {"samr.abnormal_operations"}
    assert measures_on(facts, "market-credit", date(2019, 7, 1)) == {
        "restrict.market.procurement", "restrict.market.honours"}  # fmt: skip
    filed = [*facts, LifecycleEvent("m1", EventKind.fulfilled, date(2016, 1, 10))]
    assert lists_on(filed, "market-credit", date(2016, 1, 9)) == {"samr.abnormal_operations"}
    assert lists_on(filed, "market-credit", date(2016, 1, 10)) == set()


@pytest.mark.parametrize(
    ("record_type", "decided", "off"),
    [
        ("samr.serious_violation", date(2017, 1, 1), date(2022, 1, 1)),  # Order No. 83: 5 years
        ("samr.serious_illegal_dishonest", date(2022, 1, 1), date(2025, 1, 1)),  # No. 44: 3
    ],
)
def test_a_seriously_illegal_enterprise_and_its_legal_representative(
    record_type: str, decided: date, off: date
) -> None:
    facts: list[Fact] = [
        # a role record has effect 60 months: filed shortly before
        Record(
            "role",
            REP,
            "samr.legal_representative",
            "samr",
            date(decided.year - 1, 1, 1),
            counterpart=ORG,
        ),  # fmt: skip
        Record("s1", ORG, record_type, "samr", decided),
    ]
    index = registry_catalog().index  # the role record comes from the court's catalog
    during = date(decided.year + 1, 6, 1)
    last = date(off.year - 1, 12, 31)  # the last day of the term
    assert [m.list for m in evaluate(facts, index, last, subject=ORG).lists] == [
        "samr.serious_illegal_dishonest"]  # fmt: skip
    org = evaluate(facts, index, during, subject=ORG)
    assert [m.list for m in org.lists] == ["samr.serious_illegal_dishonest"]
    assert {a.measure for a in org.measures} >= {"restrict.market.procurement",
                                                 "restrict.market.inspections"}  # fmt: skip
    rep = evaluate(facts, index, during, subject=REP)
    assert not rep.lists  # the representative is not listed, but barred from such posts
    assert [(a.measure, a.via_role) for a in rep.measures] == [
        ("restrict.market.officer_posts", "legal_representative")]  # fmt: skip
    assert not evaluate(facts, index, off, subject=ORG).lists
    assert not evaluate(facts, index, off, subject=REP).measures
    # repair: only under Order No. 44, and not before a year
    repaired = [*facts, LifecycleEvent("s1", EventKind.repair_granted,
                                       date(decided.year + 1, 3, 1))]  # fmt: skip
    listed = evaluate(repaired, index, date(decided.year + 1, 3, 2), subject=ORG).lists
    assert bool(listed) is (record_type == "samr.serious_violation")
