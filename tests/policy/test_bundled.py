"""The bundled catalogs: the admissible ones pass, the synthetic ones are refused."""

from __future__ import annotations

import pytest

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import Profile, Severity, check, check_paths, load_admissible
from socialcredit.policy.loader import bundled, load, load_bundled
from socialcredit.policy.schema import (
    LEGAL_ROLES,
    PROTECTED_CATEGORIES,
    DomainCategory,
    MeasureKind,
    Nature,
    Removal,
    Source,
)

ADMISSIBLE = [b.id for b in bundled() if not b.synthetic]
SYNTHETIC = [b.id for b in bundled() if b.synthetic]


def test_the_expected_catalogs_are_bundled() -> None:
    assert set(ADMISSIBLE) >= {
        "cn-common",
        "court-dishonest-debtors",
        "joint-punishment-2016",
        "environment-credit",
        "rongcheng",
        "jinan-dog",
        "fuzhou-jasmine",
        "sesame",
        "credit-reporting",
    }
    assert set(SYNTHETIC) == {"unified-score", "sesame-full", "pilot-2018"}
    for b in bundled():
        assert b.id == b.path.stem
        assert b.meta.synthetic is b.synthetic
        assert b.meta.sources, f"{b.id} names no sources"


@pytest.mark.parametrize("catalog_id", ADMISSIBLE)
def test_admissible_catalogs_pass_cn_2021(catalog_id: str) -> None:
    findings = check_paths([catalog_id])
    errors = [str(f) for f in findings if f.severity is Severity.error]
    assert errors == []
    load_admissible(catalog_id)


def test_all_admissible_catalogs_merge_and_pass() -> None:
    loaded = load_bundled()
    assert [f for f in check(loaded) if f.severity is Severity.error] == []
    # nothing in a protected domain, anywhere
    for rt in loaded.catalog.record_types:
        assert loaded.index.domains[rt.domain].category not in PROTECTED_CATEGORIES


def test_everything_merges_for_the_simulator() -> None:
    loaded = load_bundled(synthetic=True)
    assert {"unified.citizen_score", "sesame.full", "sesame.score"} <= set(loaded.index.schemes)


def test_stable_ids_others_rely_on() -> None:
    ix = load("court-dishonest-debtors").index
    assert ix.lists["court.judgment_debtor"].duration_months == 24
    assert ix.measures["restrict.flight"].domain == "transport"
    assert ix.measures["restrict.g_train"].domain == "transport"
    assert "court.dishonest_debtor.refuse_to_perform" in ix.record_types
    memo = ix.memoranda["court.consumption-restrictions"]
    assert {r.value for r in memo.extends_to} == {
        "legal_representative",
        "responsible_person",
        "actual_controller",
    }
    assert ix.record_types["samr.legal_representative"].nature.value == "role"
    jp = load("joint-punishment-2016").index
    assert {"restrict.public_procurement", "restrict.exit"} <= set(jp.measures)


def test_unified_score_is_refused_for_its_content() -> None:
    findings = check_paths(["unified-score"])
    errors = {f.code for f in findings if f.severity is Severity.error}
    assert {
        "SC001",
        "SC002",
        "SC003",
        "SC005",
        "SC006",
        "SC007",
        "SC008",
        "SC010",
        "SC011",
    } <= errors
    with pytest.raises(CatalogRefused) as info:
        load_admissible("unified-score")
    assert "unified-score" in str(info.value)
    assert {f.code for f in info.value.findings} >= {"SC002", "SC008", "SC010", "SC011"}


def test_sesame_full_is_refused_for_its_relationships_dimension() -> None:
    errors = [f for f in check_paths(["sesame-full"]) if f.severity is Severity.error]
    # refused by what the dimension does (SC002, SC008) and by what it is called (SC021)
    assert {f.code for f in errors} == {"SC002", "SC008", "SC021"}
    assert all("relationships" in f.location for f in errors)
    with pytest.raises(CatalogRefused):
        load_admissible("sesame-full")


def test_eu_ai_act_refuses_the_court_consumption_restrictions() -> None:
    findings = check_paths(["court-dishonest-debtors"], profile=Profile.eu_ai_act)
    errors = [f for f in findings if f.severity is Severity.error]
    assert errors and {f.code for f in errors} == {"SC009"}
    flight = [f for f in errors if "restrict.flight" in f.location]
    assert flight and "memoranda[court.consumption-restrictions]" in flight[0].location
    with pytest.raises(CatalogRefused):
        load_admissible("court-dishonest-debtors", profile=Profile.eu_ai_act)
    # the same findings are warnings under cn-2021
    cn = [f for f in check_paths(["court-dishonest-debtors"]) if f.code == "SC009"]
    assert len(cn) == len(errors) and all(f.severity is Severity.warning for f in cn)


def test_eu_ai_act_keeps_same_domain_measures() -> None:
    # the dog licence's measures stay within dog keeping: nothing to refuse
    findings = check_paths(["jinan-dog"], profile=Profile.eu_ai_act)
    assert [f for f in findings if f.severity is Severity.error] == []


def test_expected_warnings_are_reported() -> None:
    assert "SC004" in {f.code for f in check_paths(["rongcheng"])}
    assert "SC004" in {f.code for f in check_paths(["jinan-dog"])}
    court = load("court-dishonest-debtors")
    restrictions = [m for m in court.catalog.measures if m.kind is MeasureKind.restriction]
    sc009 = [f for f in check(court) if f.code == "SC009"]
    # each restriction once through the list's memorandum, once through the court's order
    by_memo = [f for f in sc009 if "memoranda[court.consumption-restrictions]" in f.location]
    by_order = [f for f in sc009 if "orders[court.consumption_restriction_order]" in f.location]
    assert len(by_memo) == len(by_order) == len(restrictions) and len(sc009) == 2 * len(by_memo)
    assert all(f.severity is Severity.warning for f in sc009)


def test_bundled_catalogs_close_the_review_gaps() -> None:
    loaded = load_bundled()
    ix = loaded.index
    findings = check(loaded)
    # every way off a bundled list can be used, and nothing has effect beyond 60 months
    assert [str(f) for f in findings if f.code == "SC007"] == []
    assert all(f.severity is Severity.warning for f in findings if f.code in {"SC006", "SC011"})
    for rt in loaded.catalog.record_types:
        category = ix.domains[rt.domain].category
        assert category is not DomainCategory.consumption, rt.code
        if category is DomainCategory.civic:
            assert rt.nature is Nature.lawful, rt.code
        if rt.code in ix.release_steps:  # a release's step: about a role, linking no one
            assert rt.nature is Nature.role and rt.role is None, rt.code
        elif rt.nature is Nature.role or rt.role is not None:
            assert rt.nature is Nature.role and rt.role in LEGAL_ROLES, rt.code
    for lst in loaded.catalog.lists:
        assert lst.duration_months is None or lst.duration_months <= 60


def test_catalog_content_fixes() -> None:
    # PBOC: negative information kept 5 years, no early deletion
    credit = load("credit-reporting").catalog.record_types
    assert credit and not any(rt.repairable for rt in credit)
    # the dog licence's course and test is a consequence, not a repair of unrepairable records
    dog = load("jinan-dog").index.lists["jinan.dog.licence_exhausted"]
    assert Removal.repair not in dog.removal and Removal.score_recovery in dog.removal
    # Ant Group is no authority
    ident = load("sesame").index.record_types["sesame.identity_verified"]
    assert ident.source is Source.credit_reporting
    court = load("court-dishonest-debtors").index
    assert "air travel" in court.measures["restrict.flight"].title
    # exit bans need a court decision: the articles are confirmed and named
    exit_basis = load("joint-punishment-2016").index.measures["restrict.exit"].legal_basis
    assert "Art. 12(3)" in exit_basis and "Art. 255" in exit_basis
    assert "UNCONFIRMED" not in exit_basis
    rongcheng = next(b.path for b in bundled() if b.id == "rongcheng").read_text(encoding="utf-8")
    for words in ("rewards first", "warnings before punishments", "ASSUMPTION / ILLUSTRATIVE"):
        assert words in rongcheng
    rc = load("rongcheng").index
    assert "illustrative" in rc.lists["rongcheng.key_attention"].title
    assert "illustrative" in rc.lists["rongcheng.redlist"].title
    assert "ASSUMPTION" in rc.measures["rongcheng.key_supervision"].legal_basis


def test_bundled_catalogs_pass_what_they_do_not_only_what_they_say() -> None:
    """Issue 13: the codes that judge what a catalog does and what its labels give away."""
    loaded = load_bundled()
    findings = check(loaded)
    new = {"SC017", "SC018", "SC019", "SC020", "SC021", "SC022", "SC023"}
    assert [str(f) for f in findings if f.code in new] == []
    assert all(a.kind is not None for a in loaded.catalog.authorities)
    private = [s for s in loaded.catalog.schemes if s.private]
    assert {s.operator for s in private} == {"ant_group", "lenders"}
    # the synthetic catalogs are refused for their labels too
    for name in ("unified-score", "pilot-2018", "sesame-full"):
        codes = {f.code for f in check_paths([name]) if f.severity is Severity.error}
        assert "SC021" in codes, name
