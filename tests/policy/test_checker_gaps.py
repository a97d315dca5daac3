"""Gaps a review found (inadmissible catalogs that passed): each rule is triggered by a broken
catalog, and a fixed catalog differing only in the broken part does not trigger it."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import Writer

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import Finding, Severity, check_paths, load_admissible


def hits(path: Path, code: str, severity: Severity | None = None) -> list[Finding]:
    """Findings of ``code`` (and ``severity``) for a catalog that loaded (no SC000)."""
    findings = check_paths([path])
    assert "SC000" not in {f.code for f in findings}, [str(f) for f in findings]
    return [f for f in findings if f.code == code and (severity is None or f.severity is severity)]


def refused(path: Path, code: str) -> None:
    with pytest.raises(CatalogRefused) as info:
        load_admissible(path)
    assert code in {f.code for f in info.value.findings if f.severity is Severity.error}


# --------------------------------------------------------------------------------------------
# 1. Unbounded effect and list length; a list must have a real way off

EFFECT = "{ min_months = 12, max_months = 24 }"


@pytest.mark.parametrize(
    ("effect", "expected"),
    [
        (24, None),  # the good catalog: within the serious ceiling (36)
        (36, None),  # at the ceiling
        (37, Severity.warning),  # beyond the serious publication ceiling
        (60, Severity.warning),  # PBOC's 5 years: still only reported
        (61, Severity.error),  # beyond the longest retention in the sources
        (120, Severity.error),
    ],
)
def test_sc011_effect_bounds(write: Writer, effect: int, expected: Severity | None) -> None:
    pub = f"{{ min_months = 12, max_months = 24, effect_months = {effect} }}"
    path = write(replace={EFFECT: pub})
    found = hits(path, "SC011")
    assert [f.severity for f in found] == ([] if expected is None else [expected])
    if expected is Severity.error:
        assert "more than 60" in found[0].message
        refused(path, "SC011")
    elif expected is Severity.warning:
        assert f"{effect} months" in found[0].message and "(36 months)" in found[0].message
        load_admissible(path)


def test_sc011_effect_via_max_months_of_an_unpublished_record(write: Writer) -> None:
    # max_months is the effect when effect_months is absent; unpublished records are not SC005's
    broken = write(replace={EFFECT: "{ published = false, max_months = 72 }"})
    assert [f.severity for f in hits(broken, "SC011")] == [Severity.error]
    fixed = write(replace={EFFECT: "{ published = false, max_months = 36 }"})
    assert hits(fixed, "SC011") == []


@pytest.mark.parametrize(("severity", "ceiling"), [("minor", 3), ("general", 12)])
def test_sc011_ceiling_per_severity(write: Writer, severity: str, ceiling: int) -> None:
    def variant(effect: int) -> Path:
        return write(
            replace={
                'severity = "serious"': f'severity = "{severity}"',
                EFFECT: f"{{ published = false, max_months = {effect} }}",
                'kind = "blacklist"': 'kind = "key_attention"',
            }
        )

    over = hits(variant(ceiling + 1), "SC011")
    assert [f.severity for f in over] == [Severity.warning]
    assert f"a {severity} record" in over[0].message
    assert hits(variant(ceiling), "SC011") == []


def test_sc011_ceiling_does_not_apply_to_lawful_or_role_records(write: Writer) -> None:
    lawful = write(
        replace={
            'nature = "default"': 'nature = "lawful"',
            EFFECT: "{ published = false, max_months = 48 }",
            'kind = "blacklist"': 'kind = "redlist"',
        }
    )
    assert hits(lawful, "SC011") == []
    # the same record as a default is reported
    default = write(
        replace={
            EFFECT: "{ published = false, max_months = 48 }",
            'kind = "blacklist"': 'kind = "redlist"',
        }
    )
    assert [f.severity for f in hits(default, "SC011")] == [Severity.warning]
    role = """
[[record_types]]
code = "reg.legal_rep"
title = "Legal representative"
domain = "market"
severity = "minor"
nature = "role"
role = "legal_representative"
legal_basis = "Company Law"
issuers = ["samr"]
repairable = false
publication = { published = false, max_months = 0, effect_months = 60 }
"""
    assert hits(write(extra=role), "SC011") == []
    # but no role link counts more than 60 months either
    longer = role.replace("effect_months = 60", "effect_months = 61")
    assert [f.severity for f in hits(write(extra=longer), "SC011")] == [Severity.error]


@pytest.mark.parametrize(("months", "bad"), [(24, False), (60, False), (61, True), (600, True)])
def test_sc006_list_duration_at_most_60_months(write: Writer, months: int, bad: bool) -> None:
    path = write(replace={"duration_months = 24": f"duration_months = {months}"})
    found = hits(path, "SC006", Severity.error)
    if bad:
        assert found and f"{months} months" in found[0].message
        assert found[0].location == "t.toml: lists[debtors].duration_months"
        refused(path, "SC006")
    else:
        assert found == []


WAYS = '["fulfilment", "repair", "expiry"]'


@pytest.mark.parametrize(
    "removal",
    ['["objection"]', '["creditor_request"]', '["objection", "creditor_request"]'],
)
def test_sc007_objection_or_creditor_request_alone_is_no_way_off(
    write: Writer, removal: str
) -> None:
    path = write(replace={WAYS: removal})
    found = hits(path, "SC007", Severity.error)
    assert found and "no way off for someone whose record is right" in found[0].message
    refused(path, "SC007")
    for fixed in ('["objection", "expiry"]', '["creditor_request", "fulfilment"]'):
        assert hits(write(replace={WAYS: fixed}), "SC007") == []


# --------------------------------------------------------------------------------------------
# 2. A way off that can never be used


def test_sc007_repair_of_unrepairable_records(write: Writer) -> None:
    unrepairable = {'issuers = ["court"]': 'issuers = ["court"]\nrepairable = false'}
    # another way off remains: a warning
    path = write(replace=unrepairable)
    found = hits(path, "SC007")
    assert [f.severity for f in found] == [Severity.warning]
    assert "repair" in found[0].message and "court.refuse" in found[0].message
    load_admissible(path)
    # repair was the only way off: an error
    only = write(replace={**unrepairable, WAYS: '["repair", "objection"]'})
    found = hits(only, "SC007")
    assert [f.severity for f in found] == [Severity.error]
    assert "no usable way off" in found[0].message
    refused(only, "SC007")
    # fixed: the record is repairable (the default)
    assert hits(write(replace={WAYS: '["repair", "objection"]'}), "SC007") == []


def test_sc007_repair_counts_any_repairable_record_type(write: Writer) -> None:
    second = """
[[record_types]]
code = "court.evade"
title = "Evades enforcement"
domain = "judicial"
severity = "serious"
nature = "violation"
legal_basis = "RT basis"
issuers = ["court"]
publication = { min_months = 12, max_months = 24 }
"""
    both = {
        'issuers = ["court"]': 'issuers = ["court"]\nrepairable = false',
        'entry = { record_types = ["court.refuse"] }': (
            'entry = { record_types = ["court.refuse", "court.evade"] }'
        ),
    }
    assert hits(write(replace=both, extra=second), "SC007") == []
    unrepairable = second.replace('issuers = ["court"]', 'issuers = ["court"]\nrepairable = false')
    found = hits(write(replace=both, extra=unrepairable), "SC007")
    assert [f.severity for f in found] == [Severity.warning]


@pytest.mark.parametrize("way", ["fulfilment", "creditor_request"])
def test_sc007_fulfilment_without_an_obligation(write: Writer, way: str) -> None:
    violation = {'nature = "default"': 'nature = "violation"'}
    path = write(replace={**violation, WAYS: f'["{way}", "expiry"]'})
    found = hits(path, "SC007")
    assert [f.severity for f in found] == [Severity.warning]
    assert way in found[0].message and "no obligation to perform" in found[0].message
    # fixed: the record is a default
    assert hits(write(replace={WAYS: f'["{way}", "expiry"]'}), "SC007") == []


def test_sc007_fulfilment_as_the_only_way_off_a_violation_list(write: Writer) -> None:
    path = write(
        replace={'nature = "default"': 'nature = "violation"', WAYS: '["fulfilment", "objection"]'}
    )
    found = hits(path, "SC007")
    assert [f.severity for f in found] == [Severity.error]
    assert "no usable way off" in found[0].message
    refused(path, "SC007")


def test_sc007_expiry_needs_a_duration_and_score_recovery_a_score(write: Writer) -> None:
    # a record-based list cannot end by score recovery
    path = write(replace={WAYS: '["fulfilment", "score_recovery"]'})
    found = hits(path, "SC007")
    assert [f.severity for f in found] == [Severity.warning]
    assert "score_recovery" in found[0].message
    only = write(replace={WAYS: '["score_recovery", "objection"]'})
    assert [f.severity for f in hits(only, "SC007")] == [Severity.error]
    # a score-based list has no duration to expire
    scheme = """
[[schemes]]
kind = "points"
id = "score"
title = "Score"
legal_basis = "Scheme basis"
base = 1000
floor = 0
ceiling = 1100
rules = [{ record_type = "court.refuse", points = -100 }]
bands = [{ grade = "A", min = 960 }, { grade = "B", min = 0 }]

[[lists]]
id = "low"
title = "Low"
kind = "key_attention"
legal_basis = "x"
authority = "court"
entry = { scheme = "score", grades = ["B"] }
removal = ["score_recovery", "expiry"]
"""
    found = [f for f in hits(write(extra=scheme), "SC007") if "lists[low]" in f.location]
    assert [f.severity for f in found] == [Severity.warning]
    assert "expiry" in found[0].message
    fixed = scheme.replace('removal = ["score_recovery", "expiry"]', 'removal = ["score_recovery"]')
    assert hits(write(extra=fixed), "SC007") == []


LICENCE = """
[[record_types]]
code = "dog.offence"
title = "Dog offence"
domain = "dogs"
subject_kinds = ["person"]
severity = "minor"
nature = "violation"
legal_basis = "Dog rules"
issuers = ["jinan.dog_office"]
repairable = false
publication = { published = false, max_months = 3 }

[[schemes]]
kind = "licence"
id = "dog"
title = "Dog licence"
legal_basis = "Dog rules"
subject_kinds = ["person"]
points = 12
period_months = 24
rules = [{ record_type = "dog.offence", by_occurrence = [-3, -6, -12] }]

[[lists]]
id = "exhausted"
title = "Exhausted licences"
kind = "key_attention"
legal_basis = "Dog rules"
authority = "jinan.dog_office"
subject_kinds = ["person"]
entry = { scheme = "dog", exhausted = true }
removal = ["score_recovery", "repair", "objection"]
"""


def test_sc007_repair_on_a_score_list_looks_at_the_schemes_record_types(write: Writer) -> None:
    found = [f for f in hits(write(extra=LICENCE), "SC007") if "lists[exhausted]" in f.location]
    assert [f.severity for f in found] == [Severity.warning]
    assert "dog.offence" in found[0].message and "its scheme scores" in found[0].message
    for fixed in (
        LICENCE.replace('"score_recovery", "repair", "objection"', '"score_recovery", "objection"'),
        LICENCE.replace("repairable = false\n", ""),
    ):
        assert [f for f in hits(write(extra=fixed), "SC007") if "exhausted" in f.location] == []


# --------------------------------------------------------------------------------------------
# 3. Lawful purchases and civic conduct behind neutral-looking domains


def test_sc002_record_type_in_a_consumption_domain(write: Writer) -> None:
    path = write(replace={'domain = "judicial"': 'domain = "consumption"'})
    found = hits(path, "SC002", Severity.error)
    assert [f.location for f in found] == ["t.toml: record_types[court.refuse].domain"]
    assert "consumption" in found[0].message
    refused(path, "SC002")
    # consumption may carry measures (Fa Shi [2015] No. 17): the good catalog with one there
    fixed = write(
        replace={
            'domain = "judicial"\nlegal_basis = "Measure basis"': (
                'domain = "consumption"\nlegal_basis = "Measure basis"'
            )
        }
    )
    assert hits(fixed, "SC002") == []


def test_sc002_dimension_scoring_a_consumption_domain(write: Writer) -> None:
    weighted = """
[[schemes]]
kind = "weighted"
id = "w"
title = "W"
private = true
low = 350
high = 950
dimensions = [
  { id = "own", title = "Own", weight = 90, domain = "judicial", rules = [
    { record_type = "court.refuse", points = -10 },
  ] },
  { id = "shopping", title = "Shopping", weight = 10, domain = "consumption" },
]
"""
    found = hits(write(extra=weighted), "SC002", Severity.error)
    assert [f.location for f in found] == ["t.toml: schemes[w].dimensions[shopping].domain"]
    fixed = weighted.replace(
        '  { id = "shopping", title = "Shopping", weight = 10, domain = "consumption" },\n', ""
    )
    assert hits(write(extra=fixed), "SC002") == []


@pytest.mark.parametrize("nature", ["violation", "default"])
def test_sc003_civic_record_must_be_lawful(write: Writer, nature: str) -> None:
    civic = {
        'domain = "judicial"': 'domain = "civic"',
        'nature = "default"': f'nature = "{nature}"',
    }
    path = write(replace=civic)
    found = hits(path, "SC003", Severity.error)
    locations = {f.location for f in found}
    # the record type itself, and the blacklist it enters
    assert "t.toml: record_types[court.refuse].nature" in locations
    assert "t.toml: lists[debtors].entry.record_types" in locations
    refused(path, "SC003")


@pytest.mark.parametrize("kind", ["blacklist", "key_attention"])
def test_sc003_civic_record_on_a_blacklist_or_key_attention_list(write: Writer, kind: str) -> None:
    # nature lawful in a civic domain is already refused on a blacklist; a role is refused too;
    # what is left is a civic record whose nature says violation: both findings
    civic = {
        'domain = "judicial"': 'domain = "civic"',
        'nature = "default"': 'nature = "violation"',
        'kind = "blacklist"': f'kind = "{kind}"',
    }
    found = [
        f
        for f in hits(write(replace=civic), "SC003", Severity.error)
        if f.location == "t.toml: lists[debtors].entry.record_types"
    ]
    assert found and "civic domain" in found[0].message
    # fixed: a redlist fed by lawful civic conduct is an incentive, only reported (SC004)
    redlist = {
        'domain = "judicial"': 'domain = "civic"',
        'nature = "default"': 'nature = "lawful"',
        'kind = "blacklist"': 'kind = "redlist"',
    }
    path = write(replace=redlist)
    assert hits(path, "SC003") == []
    assert [f.severity for f in hits(path, "SC004")] == [Severity.warning]


def test_sc003_deduction_for_a_civic_record(write: Writer) -> None:
    scheme = """
[[record_types]]
code = "city.civic"
title = "Civic record"
domain = "civic"
subject_kinds = ["person"]
severity = "minor"
nature = "violation"
legal_basis = "City measures"
issuers = ["rongcheng"]
publication = { published = false, max_months = 3 }

[[schemes]]
kind = "points"
id = "score"
title = "Score"
legal_basis = "Scheme basis"
base = 1000
floor = 0
ceiling = 1100
rules = [{ record_type = "city.civic", points = -5 }]
"""
    found = hits(write(extra=scheme), "SC003", Severity.error)
    assert {f.location for f in found} == {
        "t.toml: record_types[city.civic].nature",
        "t.toml: schemes[score].rules[city.civic]",
    }
    assert any("deducts points" in f.message and "civic" in f.message for f in found)
    fixed = scheme.replace('nature = "violation"', 'nature = "lawful"').replace(
        "points = -5", "points = 5"
    )
    assert hits(write(extra=fixed), "SC003") == []


# --------------------------------------------------------------------------------------------
# 4. Role record types must name a legal organisational role

ROLE = """
[[record_types]]
code = "reg.link"
title = "Linked person"
domain = "market"
subject_kinds = ["person"]
severity = "minor"
nature = "role"
role = "legal_representative"
legal_basis = "Company Law"
issuers = ["samr"]
repairable = false
publication = { published = false, max_months = 0, effect_months = 60 }

[[memoranda]]
id = "memo2"
title = "Reaches the legal representative"
legal_basis = "Memo basis"
lists = ["debtors"]
measures = ["m.judicial"]
extends_to = ["legal_representative"]
"""


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({'role = "legal_representative"\nlegal_basis': 'role = "family"\nlegal_basis'}, "family"),
        (
            {'role = "legal_representative"\nlegal_basis': 'role = "contacts"\nlegal_basis'},
            "contacts",
        ),
        ({'role = "legal_representative"\n': ""}, "names no role"),
        ({'nature = "role"\n': ""}, "nature is 'violation'"),
    ],
)
def test_sc008_role_record_types(write: Writer, change: dict[str, str], word: str) -> None:
    broken = ROLE
    for old, new in change.items():
        assert old in broken
        broken = broken.replace(old, new, 1)
    path = write(extra=broken)
    found = hits(path, "SC008", Severity.error)
    assert found and all("record_types[reg.link]" in f.location for f in found)
    assert any(word in f.message for f in found), [f.message for f in found]
    refused(path, "SC008")
    # fixed: a legal role with nature = "role"
    assert hits(write(extra=ROLE), "SC008") == []
    assert check_paths([write(extra=ROLE)]) == []


def test_a_record_with_a_role_is_never_scored_whatever_its_nature(write: Writer) -> None:
    scored = (
        ROLE.replace('nature = "role"\n', "")
        + """
[[schemes]]
kind = "points"
id = "score"
title = "Score"
legal_basis = "Scheme basis"
base = 1000
floor = 0
ceiling = 1100
rules = [{ record_type = "reg.link", points = -100 }]
"""
    )
    found = hits(write(extra=scored), "SC003", Severity.error)
    assert [f.location for f in found] == ["t.toml: schemes[score].rules[reg.link]"]
