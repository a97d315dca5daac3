"""Each guardrail code: a minimal catalog that triggers it, and the fixed one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import Writer

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import (
    CODES,
    Finding,
    Profile,
    Severity,
    check,
    check_paths,
    load_admissible,
)
from socialcredit.policy.loader import load


def codes(findings: list[Finding]) -> set[str]:
    """The codes found; the catalog must have loaded (no SC000), or an absence means nothing."""
    found = {f.code for f in findings}
    assert "SC000" not in found, [str(f) for f in findings]
    return found


def test_the_good_catalog_has_no_findings(write: Writer) -> None:
    path = write()
    assert check_paths([path]) == []
    assert check_paths([path], profile=Profile.eu_ai_act) == []
    assert load_admissible(path).id == "t"


SPEECH = """
[[domains]]
id = "speech"
title = "Online speech"
category = "expression"
"""

SCHEME = """
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
"""

LAWFUL = """
[[record_types]]
code = "city.volunteer"
title = "Volunteering"
domain = "civic"
severity = "minor"
nature = "lawful"
legal_basis = "City measures"
issuers = ["rongcheng"]
publication = { published = false, max_months = 12 }
"""

LOW_LIST = """
[[lists]]
id = "low"
title = "Low scorers"
kind = "key_attention"
legal_basis = "List basis"
authority = "court"
entry = { scheme = "score", score_below = 1050 }
removal = ["score_recovery"]
"""

PERK = """
perks = [{ at_least = 900, measures = ["m.priority"] }]

[[measures]]
id = "m.priority"
title = "Priority handling"
kind = "incentive"
domain = "judicial"
legal_basis = "Measure basis"
"""

# code, severity, replacements, extra text, a word the message must contain
CASES: list[tuple[str, Severity, dict[str, str], str, str]] = [
    ("SC001", Severity.error, {'"RT basis"': '"  "'}, "", "court.refuse"),
    ("SC001", Severity.error, {'"List basis"': '""'}, "", "list debtors"),
    ("SC001", Severity.error, {'"Memo basis"': '""'}, "", "memorandum memo"),
    ("SC001", Severity.error, {'"Measure basis"': '""'}, "", "measure m.judicial"),
    ("SC001", Severity.error, {'"RT basis"': '"N/A"'}, "", "placeholder"),
    ("SC001", Severity.error, {'"List basis"': '"Art. 5"'}, "", "placeholder"),
    ("SC001", Severity.error, {}, SCHEME.replace('legal_basis = "Scheme basis"', ""), "score"),
    ("SC002", Severity.error, {'domain = "judicial"': 'domain = "speech"'}, SPEECH, "expression"),
    ("SC003", Severity.error, {'nature = "default"': 'nature = "lawful"'}, "", "lawful"),
    (
        "SC003",
        Severity.error,
        {},
        LAWFUL
        + SCHEME.replace(
            'rules = [{ record_type = "court.refuse", points = -100 }]',
            'rules = [{ record_type = "city.volunteer", points = -5 }]',
        ),
        "deducts",
    ),
    (
        "SC003",
        Severity.error,
        {'nature = "default"': 'nature = "role"\nrole = "legal_representative"'},
        "",
        "role",
    ),
    (
        "SC004",
        Severity.warning,
        {},
        LAWFUL
        + SCHEME.replace(
            'rules = [{ record_type = "court.refuse", points = -100 }]',
            'rules = [{ record_type = "city.volunteer", points = 5 }]',
        ),
        "rewards lawful conduct",
    ),
    ("SC005", Severity.error, {"max_months = 24": "max_months = 48"}, "", "48 months"),
    (
        "SC005",
        Severity.error,
        {'severity = "serious"': 'severity = "minor"'},
        "",
        "minor",
    ),
    ("SC006", Severity.error, {"duration_months = 24\n": ""}, "", "no duration"),
    ("SC007", Severity.error, {'["fulfilment", "repair", "expiry"]': "[]"}, "", "no way off"),
    ("SC007", Severity.error, {'authority = "court"\n': ""}, "", "designating authority"),
    ("SC008", Severity.error, {}, '\nextends_to = ["family"]\n', "family"),
    (
        "SC010",
        Severity.error,
        {'issuers = ["court"]': 'issuers = ["court"]\nsource = "camera"'},
        "",
        "camera",
    ),
    (
        "SC011",
        Severity.error,
        {"{ min_months = 12, max_months = 24 }": "{ published = false }"},
        "",
        "never stops",
    ),
    (
        "SC011",
        Severity.error,
        {"max_months = 24 }": "max_months = 24, effect_months = 72 }"},
        "",
        "72 months",
    ),
    (
        "SC011",
        Severity.warning,
        {"max_months = 24 }": "max_months = 24, effect_months = 48 }"},
        "",
        "longer than a serious record may be published",
    ),
    ("SC012", Severity.error, {'issuers = ["court"]': 'issuers = ["courtt"]'}, "", "courtt"),
    (
        "SC012",
        Severity.error,
        {'measures = ["m.judicial"]': 'measures = ["m.judical"]'},
        "",
        "m.judical",
    ),
    ("SC012", Severity.error, {'domain = "judicial"': 'domain = "judicail"'}, "", "judicail"),
    ("SC013", Severity.error, {'issuers = ["court"]': "issuers = []"}, "", "no authority"),
    (
        "SC013",
        Severity.error,
        {'issuers = ["court"]': 'issuers = ["court"]\nsubject_kinds = []'},
        "",
        "no kind of subject",
    ),
    (
        "SC014",
        Severity.warning,
        {},
        '\n[[measures]]\nid = "m.unused"\ntitle = "Unused"\nkind = "restriction"\n'
        'domain = "judicial"\nlegal_basis = "Civil Procedure Law, Art. 255"\n',
        "m.unused",
    ),
    (
        "SC015",
        Severity.warning,
        {
            'severity = "serious"': 'severity = "general"',
            "min_months = 12, max_months = 24": "max_months = 12",
        },
        "",
        "general record",
    ),
    ("SC016", Severity.error, {}, SCHEME.replace("base = 1000", "base = 1200"), "floor <= base"),
    ("SC017", Severity.error, {}, SCHEME + LOW_LIST, "holds at the base score 1000"),
    ("SC018", Severity.error, {}, SCHEME.rstrip() + PERK, "held at the base score"),
    (
        "SC019",
        Severity.error,
        {},
        '\n[[domains]]\nid = "enforcement"\ntitle = "Enforcement"\ncategory = "judicial"\n'
        'related = ["transport"]\n',
        "category transport",
    ),
    ("SC020", Severity.error, {'id = "t"': 'id = "jinan-dog"'}, "", "bundled catalog"),
    (
        "SC021",
        Severity.error,
        {'title = "Dishonest debtors"': 'title = "Dishonest debtors and their families"'},
        "",
        "association",
    ),
    (
        "SC022",
        Severity.warning,
        {},
        '\n[[authorities]]\nid = "x.office"\ntitle = "Office"\n',
        "declares no kind",
    ),
    (
        "SC022",
        Severity.error,
        {'issuers = ["court"]': 'issuers = ["samr"]\nsource = "court_judgment"'},
        "",
        "issued by no court",
    ),
    (
        "SC023",
        Severity.error,
        {'title = "Enforcement measure"': 'title = "No flights"'},
        "",
        "names transport",
    ),
    (  # a record type about both kinds entering a list for organisations only
        "SC024",
        Severity.error,
        {"duration_months = 24": 'duration_months = 24\nsubject_kinds = ["organisation"]'},
        "",
        "list debtors holds organisations only, but record type court.refuse",
    ),
    (  # one about persons only entering a list for organisations only
        "SC024",
        Severity.error,
        {
            'issuers = ["court"]': 'issuers = ["court"]\nsubject_kinds = ["person"]',
            "duration_months = 24": 'duration_months = 24\nsubject_kinds = ["organisation"]',
        },
        "",
        "may be about persons: persons would be listed",
    ),
    (  # a scheme for persons only counting records about organisations too
        "SC024",
        Severity.error,
        {},
        SCHEME.replace(
            'legal_basis = "Scheme basis"',
            'legal_basis = "Scheme basis"\nsubject_kinds = ["person"]',
        ),
        "scheme score scores persons only, but record type court.refuse",
    ),
    (
        "SC016",
        Severity.error,
        {},
        SCHEME.replace(
            '{ grade = "A", min = 960 }, { grade = "B", min = 0 }',
            '{ grade = "A", min = 960 }, { grade = "B", min = 1000 }, { grade = "C", min = 0 }',
        ),
        "not sorted",
    ),
    (
        "SC016",
        Severity.error,
        {},
        SCHEME.replace('{ grade = "A", min = 960 }', '{ grade = "A", min = 1500 }'),
        "never be reached",
    ),
]


@pytest.mark.parametrize(
    ("code", "severity", "replace", "extra", "word"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_each_code_is_triggered(
    write: Writer,
    code: str,
    severity: Severity,
    replace: dict[str, str],
    extra: str,
    word: str,
) -> None:
    findings = check_paths([write(replace=replace, extra=extra)])
    hits = [f for f in findings if f.code == code and f.severity is severity]
    assert hits, f"expected {code} {severity}, got {[str(f) for f in findings]}"
    assert any(word in f.message for f in hits), [f.message for f in hits]
    assert all(
        f.location.startswith("t.toml: ") or f.location.startswith("cn-common.toml: ") for f in hits
    )
    if severity is Severity.error:
        with pytest.raises(CatalogRefused) as info:
            load_admissible(write(replace=replace, extra=extra))
        assert code in {f.code for f in info.value.findings}
    else:
        load_admissible(write(replace=replace, extra=extra))


def test_every_code_is_tested_and_documented() -> None:
    tested = {c[0] for c in CASES} | {"SC000", "SC009"}
    assert tested == set(CODES)


def test_private_scheme_needs_no_legal_basis(write: Writer) -> None:
    private = SCHEME.replace('legal_basis = "Scheme basis"', "private = true")
    assert "SC001" not in codes(check_paths([write(extra=private)]))


def test_sc008_via_on_rules_and_dimensions(write: Writer) -> None:
    weighted = """
[[schemes]]
kind = "weighted"
id = "w"
title = "W"
private = true
low = 350
high = 950

[[schemes.dimensions]]
id = "own"
title = "Own"
weight = 95
domain = "judicial"
rules = [{ record_type = "court.refuse", points = -10 }]

[[schemes.dimensions]]
id = "friends"
title = "Friends"
weight = 5
domain = "judicial"
via = "friends"
rules = [{ record_type = "court.refuse", points = -10, via = "legal_representative" }]
"""
    found = [f for f in check_paths([write(extra=weighted)]) if f.code == "SC008"]
    assert [f.location for f in found] == ["t.toml: schemes[w].dimensions[friends].via"]
    legal = weighted.replace('via = "friends"\n', "")
    assert "SC008" not in codes(check_paths([write(extra=legal)]))


def test_sc009_depends_on_profile_and_legal_basis(write: Writer) -> None:
    measure = 'domain = "judicial"\nlegal_basis = "Measure basis"'
    cross = {measure: measure.replace("judicial", "transport")}
    path = write(replace=cross)
    cn = [f for f in check_paths([path]) if f.code == "SC009"]
    assert [f.severity for f in cn] == [Severity.warning]
    assert "m.judicial" in cn[0].message and "transport" in cn[0].message
    eu = [f for f in check_paths([path], profile=Profile.eu_ai_act) if f.code == "SC009"]
    assert [f.severity for f in eu] == [Severity.error]
    assert "Art. 5(1)(c)" in eu[0].message
    # an incentive across domains is only reported, even under eu-ai-act
    incentive = write(replace={**cross, 'kind = "restriction"': 'kind = "incentive"'})
    eu = [f for f in check_paths([incentive], profile=Profile.eu_ai_act) if f.code == "SC009"]
    assert [f.severity for f in eu] == [Severity.warning]
    # cn-2021 refuses a cross-domain measure without a legal basis
    bare = write(replace={**cross, '"Memo basis"': '""'})
    cn = [f for f in check_paths([bare]) if f.code == "SC009"]
    assert [f.severity for f in cn] == [Severity.error]
    # a related domain is not an unrelated context (within the bundled relation between
    # categories: financial -> commercial)
    to_commercial = {measure: measure.replace("judicial", "commercial")}
    related = write(
        replace=to_commercial,
        extra='\n[[domains]]\nid = "f2"\ntitle = "F2"\ncategory = "financial"\n'
        'related = ["commercial"]\n',
    )
    related_text = related.read_text().replace('domain = "judicial"', 'domain = "f2"', 1)
    related.write_text(related_text)
    assert "SC009" not in codes(check_paths([related], profile=Profile.eu_ai_act))
    # a relation across categories the bundled vocabulary does not relate is refused (SC019)
    # and hides nothing
    forbidden = write(
        replace=cross,
        extra='\n[[domains]]\nid = "j2"\ntitle = "J2"\ncategory = "judicial"\n'
        'related = ["transport"]\n',
    )
    forbidden.write_text(forbidden.read_text().replace('domain = "judicial"', 'domain = "j2"', 1))
    assert {"SC009", "SC019"} <= codes(check_paths([forbidden], profile=Profile.eu_ai_act))


def test_sc012_suggests_the_closest_name(write: Writer) -> None:
    found = [
        f
        for f in check_paths([write(replace={'issuers = ["court"]': 'issuers = ["courtt"]'})])
        if f.code == "SC012"
    ]
    assert found[0].location == "t.toml: record_types[court.refuse].issuers"
    assert "did you mean 'court'" in found[0].help


def test_sc012_unknown_grade(write: Writer) -> None:
    lst = """
[[lists]]
id = "low"
title = "Low"
kind = "key_attention"
legal_basis = "x"
authority = "court"
entry = { scheme = "score", grades = ["Z"] }
removal = ["score_recovery"]
"""
    found = [f for f in check_paths([write(extra=SCHEME + lst)]) if f.code == "SC012"]
    assert found and "'Z'" in found[0].message


def test_sc014_unreachable_lists(write: Writer) -> None:
    lists = """
[[lists]]
id = "below-floor"
title = "Below the floor"
kind = "key_attention"
legal_basis = "x"
authority = "court"
entry = { scheme = "score", score_below = 0 }
removal = ["score_recovery"]

[[lists]]
id = "too-high"
title = "Above the base with no rewards"
kind = "redlist"
legal_basis = "x"
authority = "court"
entry = { scheme = "score", grades = ["A"] }
removal = ["score_recovery"]
"""
    base_above = SCHEME.replace('{ grade = "A", min = 960 }', '{ grade = "A", min = 1050 }')
    found = {
        f.location for f in check_paths([write(extra=base_above + lists)]) if f.code == "SC014"
    }
    assert found == {"t.toml: lists[below-floor].entry", "t.toml: lists[too-high].entry"}


def test_sc007_score_list_needs_score_recovery(write: Writer) -> None:
    lst = """
[[lists]]
id = "low"
title = "Low"
kind = "key_attention"
legal_basis = "x"
authority = "court"
entry = { scheme = "score", grades = ["B"] }
removal = ["repair"]
"""
    found = [f for f in check_paths([write(extra=SCHEME + lst)]) if f.code == "SC007"]
    assert found and "score recovers" in found[0].message
    fixed = lst.replace('["repair"]', '["repair", "score_recovery"]')
    assert "SC007" not in codes(check_paths([write(extra=SCHEME + fixed)]))


def test_findings_are_deterministic(write: Writer) -> None:
    path = write(replace={'"RT basis"': '""', "duration_months = 24\n": ""}, extra=SPEECH)
    a = check(load(path))
    b = check(load(path))
    assert a == b
    assert a == sorted(a, key=lambda f: (f.code, f.location, f.message, f.help))


def test_sc000_for_malformed_toml_and_typos(write: Writer) -> None:
    bad = write(text="[catalog\nid = 'x'\n", name="broken.toml")
    found = check_paths([bad])
    assert [f.code for f in found] == ["SC000"]
    assert found[0].location == "broken.toml"
    assert "not valid TOML" in found[0].message

    typo = write(replace={'severity = "serious"': 'severty = "serious"'}, name="typo.toml")
    found = check_paths([typo])
    assert {f.code for f in found} == {"SC000"}
    assert all(f.location == "typo.toml" for f in found)
    assert any("record_types[court.refuse].severty" in f.message for f in found)

    missing = check_paths(["no-such-catalog"])
    assert [f.code for f in missing] == ["SC000"]
    assert missing[0].location == "no-such-catalog"


def test_sc000_for_duplicates_and_bad_extends(write: Writer) -> None:
    dup = write(
        extra='\n[[domains]]\nid = "judicial"\ntitle = "Again"\ncategory = "judicial"\n',
        name="dup.toml",
    )
    found = check_paths([dup])
    assert [f.code for f in found] == ["SC000"]
    assert "already defined in cn-common.toml" in found[0].message
    ext = write(replace={'extends = ["cn-common"]': 'extends = ["cn-comon"]'}, name="ext.toml")
    found = check_paths([ext])
    assert [f.code for f in found] == ["SC000"]
    assert "did you mean 'cn-common'" in found[0].message


def test_every_code_has_a_section_in_the_guardrails_doc() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "guardrails.md").read_text(encoding="utf-8")
    for code in CODES:
        assert f"\n## {code}: " in doc, code
        assert f"\n| {code} | " in doc, code
