"""A list's or scheme's ``subject_kinds`` holds by construction (SC024): nothing evaluates a
subject's kind against a list or scheme, only a record's subject against its record type, so
every record type reaching a list or scheme must be about no kind it does not hold; a driver
refuses, by name, a catalog where one is (``subject_kinds.filter``)."""

from __future__ import annotations

import pytest
from policy_helpers import Writer

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import Finding, check, check_paths, load_admissible
from socialcredit.policy.checker.references import kinds_beyond
from socialcredit.policy.loader import BundledCatalog, bundled, load, load_bundled
from socialcredit.rules.features import Unsupported, catalog_features, require
from socialcredit.sim.folding import RUNS

ORG_LIST = {"duration_months = 24": 'duration_months = 24\nsubject_kinds = ["organisation"]'}
ORG_TYPE = {'issuers = ["court"]': 'issuers = ["court"]\nsubject_kinds = ["organisation"]'}


def sc024(findings: list[Finding]) -> list[Finding]:
    assert "SC000" not in {f.code for f in findings}, [str(f) for f in findings]
    return [f for f in findings if f.code == "SC024"]


def test_a_record_type_about_both_kinds_is_refused_on_a_list_for_organisations(
    write: Writer,
) -> None:
    path = write(replace=ORG_LIST)
    [found] = sc024(check_paths([path]))
    assert found.severity.value == "error"
    assert found.location == "t.toml: lists[debtors].entry.record_types"
    assert found.message == (
        "list debtors holds organisations only, but record type court.refuse (Able to perform "
        "but refuses), which enters it, may be about persons and organisations: persons would "
        "be listed"
    )
    assert 'limit court.refuse to subject_kinds = ["organisation"]' in found.help
    assert "a record type per kind" in found.help
    with pytest.raises(CatalogRefused) as info:
        load_admissible(path)
    assert "SC024" in {f.code for f in info.value.findings}
    # the simulator, which loads catalogs unchecked, refuses it by name too
    with pytest.raises(Unsupported, match="subject_kinds.filter") as refused:
        require(catalog_features(load(path).index), RUNS, driver="the simulator")
    assert "list debtors: record type court.refuse may bring it persons" in str(refused.value)


def test_kinds_aligned_check_clean(write: Writer) -> None:
    path = write(replace={**ORG_LIST, **ORG_TYPE})
    assert check_paths([path]) == []
    names = {f.name for f in catalog_features(load(path).index)}
    assert "subject_kinds" in names and "subject_kinds.filter" not in names
    # a list holding more kinds than its records may be about is held as well
    assert sc024(check_paths([write(replace=ORG_TYPE)])) == []


SCORED = """
[[schemes]]
kind = "points"
id = "score"
title = "Score"
legal_basis = "Scheme basis"
subject_kinds = {scheme}
base = 1000
floor = 0
ceiling = 1000
rules = [{{ record_type = "court.refuse", points = -100 }}]

[[lists]]
id = "low"
title = "Low scorers"
kind = "key_attention"
legal_basis = "List basis"
authority = "court"
subject_kinds = {lst}
entry = {{ scheme = "score", score_below = 950 }}
removal = ["score_recovery"]

[[memoranda]]
id = "memo.low"
title = "Low scorers' measure"
legal_basis = "Memo basis"
lists = ["low"]
measures = ["m.judicial"]
"""


def test_a_score_based_list_holds_the_kinds_its_scheme_scores(write: Writer) -> None:
    both, org = '["person", "organisation"]', '["organisation"]'
    [found] = sc024(check_paths([write(extra=SCORED.format(scheme=both, lst=org))]))
    assert found.location == "t.toml: lists[low].entry.scheme"
    assert "list low holds organisations only, but scheme score" in found.message
    assert "persons would be listed" in found.message
    # all for organisations only, and the record type about them only: held
    aligned = write(replace=ORG_LIST | ORG_TYPE, extra=SCORED.format(scheme=org, lst=org))
    assert sc024(check_paths([aligned])) == []
    # the record type about both kinds: the list it enters and the scheme counting it
    found = sc024(check_paths([write(replace=ORG_LIST, extra=SCORED.format(scheme=org, lst=org))]))
    assert [f.location for f in found] == [
        "t.toml: lists[debtors].entry.record_types",
        "t.toml: schemes[score].rules[court.refuse]",
    ]
    assert found[1].message.startswith("scheme score scores organisations only, but record type")
    assert "persons would be scored" in found[1].message


ROLE = """
[[record_types]]
code = "samr.rep"
title = "Registered legal representative of an organisation"
domain = "market"
severity = "minor"
nature = "role"
role = "legal_representative"
subject_kinds = {kinds}
legal_basis = "Company Law of the PRC (registration of the legal representative)"
issuers = ["samr"]
repairable = false
publication = {{ published = false, max_months = 0, effect_months = 60 }}

[[schemes]]
kind = "points"
id = "officers"
title = "Officers' score"
legal_basis = "Scheme basis"
subject_kinds = ["organisation"]
base = 100
floor = 0
ceiling = 100
rules = [{{ record_type = "court.refuse", points = -10, via = "legal_representative" }}]
"""


def test_a_rule_through_a_role_scores_the_role_holders(write: Writer) -> None:
    """A rule counting an organisation's records for its legal representative scores the
    representative: the role's record types say what kind he is."""
    [found] = sc024(check_paths([write(replace=ORG_TYPE, extra=ROLE.format(kinds='["person"]'))]))
    assert found.location == "t.toml: schemes[officers].rules[court.refuse]"
    assert "counts records for the holders of legal_representative" in found.message
    assert "who may be persons" in found.message
    held = write(replace=ORG_TYPE, extra=ROLE.format(kinds='["organisation"]'))
    assert sc024(check_paths([held])) == []


LICENCE = """
[[record_types]]
code = "dog.course"
title = "Course and test passed"
domain = "dogs"
severity = "minor"
nature = "lawful"
legal_basis = "Dog rules"
issuers = ["court"]
publication = {{ published = false, max_months = 3 }}

[[record_types]]
code = "dog.offence"
title = "Dog offence"
domain = "dogs"
subject_kinds = ["person"]
severity = "minor"
legal_basis = "Dog rules"
issuers = ["court"]
publication = {{ max_months = 3 }}

[[schemes]]
kind = "licence"
id = "dog"
title = "Dog licence"
legal_basis = "Dog rules"
subject_kinds = ["person"]
points = 12
period_months = 12
rules = [{{ record_type = "dog.offence", points = -12 }}]
renewed_by = {renewed}
"""


def test_a_licence_renewal_is_about_the_licence_holders_kinds(write: Writer) -> None:
    found = sc024(check_paths([write(extra=LICENCE.format(renewed='["dog.course"]'))]))
    assert [f.location for f in found] == ["t.toml: schemes[dog].renewed_by"]
    assert "which renews its licence, may be about persons and organisations" in found[0].message
    assert sc024(check_paths([write(extra=LICENCE.format(renewed="[]"))])) == []


EXTENSION = """
[[record_types]]
code = "court.violent"
title = "Violent obstruction"
domain = "judicial"
severity = "serious"
legal_basis = "RT basis"
issuers = ["court"]
publication = { min_months = 12, max_months = 36 }

[[lists.terms]]
record_types = ["court.refuse"]
duration_months = 24
removal = ["fulfilment", "repair", "expiry"]
legal_basis = "Term basis"
extensions = [{ record_type = "court.violent", months = 12 }]
"""


def test_an_extension_puts_no_one_on_a_list(write: Writer) -> None:
    """A term's extension lengthens a listing its subject already has: its kinds are not held
    against the list (a record about a person extends no organisation's listing)."""
    catalog = write(replace=ORG_LIST | ORG_TYPE).read_text(encoding="utf-8")
    head, tail = catalog.split("[[measures]]", 1)
    path = write(text=head + EXTENSION + "\n[[measures]]" + tail)
    loaded = load(path)
    assert loaded.index.lists["debtors"].extensions_for("court.refuse") == {"court.violent": 12}
    assert list(kinds_beyond(loaded.index)) == []
    assert sc024(check(loaded)) == []


@pytest.mark.parametrize("entry", bundled(), ids=lambda b: b.id)
def test_every_bundled_catalog_holds_its_kinds_by_construction(entry: BundledCatalog) -> None:
    """Admissible and synthetic alike: no list or scheme a record may reach about a kind it
    does not hold, so every driver runs them (none is refused for subject_kinds.filter)."""
    loaded = load(entry.path)
    assert list(kinds_beyond(loaded.index)) == []
    assert sc024(check(loaded)) == []
    assert "subject_kinds.filter" not in {f.name for f in catalog_features(loaded.index)}


def test_the_bundled_catalogs_together_hold_their_kinds() -> None:
    loaded = load_bundled()
    assert list(kinds_beyond(loaded.index)) == []
    tax = load("tax-credit").index
    assert set(tax.lists["sat.major_tax_dishonesty"].subject_kinds) == {"person", "organisation"}
    # the D grade rates enterprises: reached by the organisations' record types only
    grade = tax.lists["sat.credit_grade_d"]
    assert grade.subject_kinds == ("organisation",)
    for code in grade.entry.record_types:
        assert tax.record_types[code].subject_kinds == ("organisation",), code
    market = load("market-credit").index
    for lst in market.lists.values():
        assert lst.subject_kinds == ("organisation",), lst.id
    for rt in market.record_types.values():
        if rt.domain == "market" and rt.nature.value != "role":
            assert rt.subject_kinds == ("organisation",), rt.code
