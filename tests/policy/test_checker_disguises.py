"""Issue 13: catalogs that describe themselves falsely. Each structural hole and each trusted
label is shown passing for what it is not, then refused; and the honest version of the same
catalog still passes, so that a rule cannot pass by refusing everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import Writer

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import Finding, Profile, Severity, check_paths, load_admissible
from socialcredit.policy.checker._base import placeholder
from socialcredit.policy.lexicon import screen
from socialcredit.policy.loader import load


def found(path: Path | list[Path], code: str, profile: Profile = Profile.cn_2021) -> list[Finding]:
    """Error findings of ``code`` for catalogs that loaded (no SC000)."""
    paths = path if isinstance(path, list) else [path]
    findings = check_paths(paths, profile=profile)
    assert "SC000" not in {f.code for f in findings}, [str(f) for f in findings]
    return [f for f in findings if f.code == code and f.severity is Severity.error]


def errors(path: Path, profile: Profile = Profile.cn_2021) -> list[str]:
    return [str(f) for f in check_paths([path], profile=profile) if f.severity is Severity.error]


def refused(path: Path, code: str) -> None:
    with pytest.raises(CatalogRefused) as info:
        load_admissible(path)
    assert code in {f.code for f in info.value.findings}


# --------------------------------------------------------------------------------------------
# Structural holes: the catalog's own numbers show the abuse

VOLUNTEER = """
[[record_types]]
code = "city.volunteer"
title = "Registered volunteer service"
domain = "civic"
severity = "minor"
nature = "lawful"
legal_basis = "City volunteering measures"
issuers = ["rongcheng"]
repairable = false
publication = { published = false, max_months = 12 }
"""


def score(rules: str, *, base: int = 100, extra: str = "") -> str:
    return f"""
[[schemes]]
kind = "points"
id = "city"
title = "City score"
legal_basis = "City credit measures"
base = {base}
floor = 0
ceiling = 200
rules = [{rules}]
{extra}
"""


def score_list(entry: str, kind: str = "key_attention") -> str:
    return f"""
[[lists]]
id = "city.low"
title = "Residents under watch"
kind = "{kind}"
legal_basis = "City credit measures"
authority = "rongcheng"
entry = {{ scheme = "city", {entry} }}
removal = ["score_recovery"]
"""


DEDUCT = '{ record_type = "court.refuse", points = -30 }'
ADD = '{ record_type = "city.volunteer", points = 5 }'


@pytest.mark.parametrize(
    ("entry", "rules", "why"),
    [
        # the list holds at the base score: everyone scored is on it, with no record
        ("score_below = 110", DEDUCT, "holds at the base score 100"),
        # listed for *not* earning a bonus: the threshold is above the base, only additions reach it
        ("score_below = 105", f"{DEDUCT}, {ADD}", "holds at the base score 100"),
        ("score_at_least = 50", DEDUCT, "holds at the base score 100"),
        # a key-attention list only additions can reach: punished for volunteering
        ("score_at_least = 120", f"{DEDUCT}, {ADD}", "only by earning points"),
    ],
)
def test_sc017_lists_by_score(write: Writer, entry: str, rules: str, why: str) -> None:
    path = write(extra=VOLUNTEER + score(rules) + score_list(entry))
    hits = found(path, "SC017")
    assert hits and why in hits[0].message, [h.message for h in hits]
    refused(path, "SC017")


def test_sc017_a_redlist_everyone_is_on(write: Writer) -> None:
    path = write(extra=score(DEDUCT) + score_list("score_at_least = 90", kind="redlist"))
    hits = found(path, "SC017")
    assert hits and "a restriction declared an incentive" in hits[0].message


def test_sc017_honest_score_list_passes(write: Writer) -> None:
    honest = write(extra=VOLUNTEER + score(f"{DEDUCT}, {ADD}") + score_list("score_below = 80"))
    assert found(honest, "SC017") == []
    assert errors(honest) == []


def test_sc017_grades_holding_at_base(write: Writer) -> None:
    bands = (
        'bands = [{ grade = "A", min = 150 }, { grade = "B", min = 90 }, { grade = "C", min = 0 }]'
    )
    at_base = write(extra=score(DEDUCT, extra=bands) + score_list('grades = ["B"]'))
    assert found(at_base, "SC017")
    below = write(extra=score(DEDUCT, extra=bands) + score_list('grades = ["C"]'))
    assert found(below, "SC017") == []


WEIGHTED = """
[[schemes]]
kind = "weighted"
id = "city"
title = "City weighted score"
legal_basis = "City credit measures"
low = 0
high = 1000
dimensions = [
  { id = "enforcement", title = "Enforcement", weight = 1, base = 60, domain = "judicial", rules = [
    { record_type = "court.refuse", points = -40 } ] },
  { id = "travel", title = "Travel conduct", weight = 1, base = 60, domain = "transport" },
]
"""


def test_sc017_weighted_base_is_the_weighted_mean_of_dimension_bases(write: Writer) -> None:
    # base 600; deductions reach 400 (the judicial dimension at 0), never below
    at_base = write(extra=WEIGHTED + score_list("score_below = 650"))
    assert found(at_base, "SC017")
    honest = write(extra=WEIGHTED + score_list("score_below = 500"))
    assert found(honest, "SC017") == []


def test_sc009_dimension_without_rules_does_not_make_a_measure_related(write: Writer) -> None:
    memo = """
[[measures]]
id = "m.no_trains"
title = "No high speed trains"
kind = "restriction"
domain = "transport"
legal_basis = "City credit measures"

[[memoranda]]
id = "city.memo"
title = "Watch list measures"
legal_basis = "City credit measures"
lists = ["city.low"]
measures = ["m.no_trains"]
"""
    path = write(extra=WEIGHTED + score_list("score_below = 500") + memo)
    eu = found(path, "SC009", Profile.eu_ai_act)
    assert eu and "m.no_trains" in eu[0].message
    warnings = [f for f in check_paths([path]) if f.code == "SC014" and "travel" in f.location]
    assert warnings and "scores no record" in warnings[0].message


PERK_MEASURE = """
[[measures]]
id = "m.perk"
title = "{title}"
kind = "incentive"
domain = "public_service"
legal_basis = "City credit measures"
"""


@pytest.mark.parametrize(
    ("at_least", "title", "why"),
    [
        (90, "Priority handling", "held at the base score"),  # everyone has it until deducted
        (150, "High speed rail tickets", "access to an ordinary service"),
        (150, "Access to public services", "access to an ordinary service"),
        (150, "No fines waiver refused", None),  # names an advantage (waiver): an incentive
        (90, "Library card", "held at the base score"),
        (150, "Not barred from the library", "a restriction"),
        (150, "乘坐高铁", "access to an ordinary service"),
        (150, "Opening a bank account", "no advantage"),
        (150, "Library card", "no advantage"),
    ],
)
def test_sc018_incentives_that_work_as_restrictions(
    write: Writer, at_least: int, title: str, why: str | None
) -> None:
    perks = f'perks = [{{ at_least = {at_least}, measures = ["m.perk"] }}]'
    path = write(
        extra=VOLUNTEER + score(f"{DEDUCT}, {ADD}", extra=perks) + PERK_MEASURE.format(title=title)
    )
    hits = found(path, "SC018")
    if why is None:
        assert hits == []
    else:
        assert hits and why in hits[0].message, [h.message for h in hits]
        refused(path, "SC018")


def test_sc018_an_advantage_above_the_base_is_an_incentive(write: Writer) -> None:
    perks = 'perks = [{ at_least = 150, measures = ["m.perk"] }]'
    path = write(
        extra=VOLUNTEER
        + score(f"{DEDUCT}, {ADD}", extra=perks)
        + PERK_MEASURE.format(title="Discount on public transport")
    )
    assert found(path, "SC018") == []
    assert errors(path) == []


@pytest.mark.parametrize(
    "basis",
    ["none", "None.", "N/A", "-", "TBD", "todo", "Art. 5", "Article 12(3)", "第十条", "无",
     "待定", "the relevant regulations", "Law No. 5", "§ 3", "相关法律法规", "根据有关部门规定",
     "According to law"],
)  # fmt: skip
def test_sc001_placeholder_legal_basis(write: Writer, basis: str) -> None:
    assert placeholder(basis)
    path = write(replace={'"RT basis"': f'"{basis}"'})
    hits = found(path, "SC001")
    assert hits and "placeholder" in hits[0].message


@pytest.mark.parametrize(
    "basis",
    [
        "Fa Shi [2017] No. 7, Art. 1",
        "Guobanfa [2020] 49",
        "《失信被执行人名单信息的若干规定》第一条",
        "Civil Procedure Law, Art. 255",
        "Regulation on the Administration of the Credit Reporting Industry",
    ],
)
def test_sc001_real_legal_basis(basis: str) -> None:
    assert not placeholder(basis)


def test_sc009_placeholder_basis_is_no_basis_for_a_cross_domain_measure(write: Writer) -> None:
    flight = """
[[measures]]
id = "m.flight"
title = "No air travel"
kind = "restriction"
domain = "transport"
legal_basis = "N/A"
"""
    path = write(replace={'measures = ["m.judicial"]': 'measures = ["m.judicial", "m.flight"]'},
                 extra=flight)  # fmt: skip
    hits = found(path, "SC009")
    assert hits and "without a legal basis" in hits[0].message


def test_sc019_related_across_categories(write: Writer) -> None:
    # records in a local judicial domain "related" to transport would hide a flight ban
    domains = """
[[domains]]
id = "enforcement"
title = "Court enforcement"
category = "judicial"
related = ["transport"]
"""
    path = write(replace={'domain = "judicial"': 'domain = "enforcement"'}, extra=domains)
    hits = found(path, "SC019")
    assert hits and "enforcement" in hits[0].location
    same = write(
        replace={'domain = "judicial"': 'domain = "enforcement"'},
        extra=domains.replace('related = ["transport"]', 'related = ["judicial"]'),
    )
    assert found(same, "SC019") == []
    # the bundled relation between categories (financial -> commercial) is kept
    assert not [f for f in check_paths(["cn-common"]) if f.code == "SC019"]


CN_COMMON_SHADOW = """
[catalog]
id = "cn-common"
title = "Shadow"
version = "1"

[[domains]]
id = "judicial"
title = "Judicial"
category = "judicial"

[[domains]]
id = "faith"
title = "Community life"
category = "public_service"

[[authorities]]
id = "court"
title = "Court"
kind = "court"
"""


def test_sc020_a_local_cn_common_does_not_shadow_the_bundled_one(write: Writer) -> None:
    shadow = write(text=CN_COMMON_SHADOW, name="cn-common.toml")
    path = write()
    loaded = load(path)
    # the bundled vocabulary is what was read, not the file beside the catalog
    assert "faith" not in loaded.index.domains and "transport" in loaded.index.domains
    assert loaded.shadowed == (shadow.resolve(),)
    hits = found(path, "SC020")
    assert hits and "cn-common.toml" in hits[0].location
    refused(path, "SC020")


def test_sc020_a_local_file_with_a_bundled_id(write: Writer) -> None:
    own = write(text=CN_COMMON_SHADOW, name="vocabulary.toml")
    hits = found(own, "SC020")
    assert hits and "'cn-common'" in hits[0].message
    # the bundled file itself is fine, by id or by path
    assert not [f for f in check_paths(["cn-common"]) if f.code == "SC020"]
    bundled = load("cn-common").files[0]
    assert not [f for f in check_paths([bundled]) if f.code == "SC020"]


# --------------------------------------------------------------------------------------------
# Trusted labels: only ids and titles show the abuse

FAITH = """
[[domains]]
id = "community"
title = "Faith community life"
category = "public_service"

[[record_types]]
code = "community.missed_service"
title = "Missed the weekly service"
domain = "community"
severity = "general"
nature = "violation"
legal_basis = "Community management measures"
issuers = ["rongcheng"]
publication = { min_months = 3, max_months = 12 }
"""


def test_sc021_a_domain_category_is_not_trusted(write: Writer) -> None:
    path = write(extra=FAITH)
    hits = found(path, "SC021")
    assert any("domains[community]" in h.location and "religion" in h.message for h in hits)
    refused(path, "SC021")


@pytest.mark.parametrize(
    ("replace", "subject"),
    [
        # not donating blood, filed as a violation in the judicial domain
        ({'title = "Able to perform but refuses"': 'title = "Did not donate blood"'}, "civic acts"),
        # a relative given their own default record
        ({'title = "Able to perform but refuses"': 'title = "Relative of a debtor in default"'},
         "association"),
        ({'code = "court.refuse"': 'code = "court.spouse_default"'}, "association"),
        # speech and petitioning
        ({'title = "Able to perform but refuses"': 'title = "Posted rumours on Weibo"'},
         "expression"),
        ({'title = "Able to perform but refuses"': 'title = "Petitioned in Beijing"'},
         "petitioning"),
        # Chinese labels
        ({'title = "Able to perform but refuses"': 'title = "未献血"'}, "civic acts"),
        ({'title = "Able to perform but refuses"': 'title = "宗教活动"'}, "religion"),
        ({'title = "Able to perform but refuses"': 'title = "网络言论不当"'}, "expression"),
        ({'title = "Able to perform but refuses"': 'title = "亲属失信"'}, "association"),
        ({'title = "Able to perform but refuses"': 'title = "上访"'}, "petitioning"),
        # lawful purchases
        ({'title = "Able to perform but refuses"': 'title = "Bought too much alcohol"'},
         "lawful purchases"),
        # health and ethnicity
        ({'title = "Able to perform but refuses"': 'title = "Refused vaccination"'}, "health"),
        ({'title = "Able to perform but refuses"': 'title = "Uyghur residents"'}, "ethnicity"),
    ],
)  # fmt: skip
def test_sc021_record_type_labels(write: Writer, replace: dict[str, str], subject: str) -> None:
    path = write(replace=replace)
    hits = found(path, "SC021")
    assert any(subject in h.message for h in hits), [h.message for h in hits]
    refused(path, "SC021")


def test_sc021_a_role_that_is_really_a_spouse(write: Writer) -> None:
    role = """
[[record_types]]
code = "samr.representative_spouse"
title = "Spouse of a company's legal representative"
domain = "market"
severity = "minor"
nature = "role"
role = "legal_representative"
legal_basis = "Company registration rules"
issuers = ["samr"]
repairable = false
publication = { published = false, max_months = 12 }
"""
    path = write(extra=role)
    assert any("association" in h.message for h in found(path, "SC021"))


@pytest.mark.parametrize("title", ["Social circle", "Connections", "Network", "Peers", "圈子"])
def test_sc021_a_dimension_named_like_social_connections(write: Writer, title: str) -> None:
    dims = WEIGHTED.replace(
        '{ id = "travel", title = "Travel conduct"', f'{{ id = "d2", title = "{title}"'
    )
    path = write(extra=dims)
    hits = found(path, "SC021")
    assert any("dimensions[d2]" in h.location for h in hits)
    # the same word elsewhere is not about people
    assert screen("Illegal water connections") == []


def test_sc010_a_camera_network_declared_as_an_authority(write: Writer) -> None:
    camera = """
[[authorities]]
id = "city.watch"
title = "City face-recognition camera network"
kind = "administrative_agency"
"""
    path = write(replace={'issuers = ["court"]': 'issuers = ["court", "city.watch"]'}, extra=camera)
    hits = found(path, "SC010")
    assert hits and "whatever it is declared as" in hits[0].message
    refused(path, "SC010")
    located = write(replace={'title = "Able to perform but refuses"': 'title = "GPS tracking"'})
    assert found(located, "SC010")


def test_sc022_a_government_score_marked_private(write: Writer) -> None:
    private = score(DEDUCT).replace('legal_basis = "City credit measures"', "private = true")
    path = write(extra=private)
    messages = [h.message for h in found(path, "SC022")]
    assert any("names no operator" in m for m in messages)
    assert any("court.refuse from court" in m for m in messages)
    run_by_city = write(
        extra=private.replace("private = true", 'private = true\noperator = "rongcheng"')
    )
    assert any("administrative agency" in h.message for h in found(run_by_city, "SC022"))
    # a private operator's own records: admissible (as the bundled Sesame score)
    assert not [f for f in check_paths(["sesame"]) if f.code == "SC022"]


def test_sc022_private_operators_decide_nothing(write: Writer) -> None:
    path = write(replace={'issuers = ["court"]': 'issuers = ["ant_group"]'})
    hits = found(path, "SC022")
    assert any("private operator" in h.message for h in hits)
    blacklist = write(replace={'authority = "court"': 'authority = "ant_group"'})
    assert any("designated by ant_group" in h.message for h in found(blacklist, "SC022"))


def test_sc023_a_flight_ban_filed_under_a_judicial_domain(write: Writer) -> None:
    path = write(replace={'title = "Enforcement measure"': 'title = "No seat on G-series trains"'})
    hits = found(path, "SC023")
    assert hits and "transport" in hits[0].message
    domain = write(
        extra='\n[[domains]]\nid = "trips"\ntitle = "Flights and hotels"\ncategory = "judicial"\n'
    )
    assert found(domain, "SC023")


# --------------------------------------------------------------------------------------------
# Reviewed exemptions


EXEMPTION = """
[[exemptions]]
section = "lists"
id = "debtors"
subjects = ["association"]
reviewed_by = "{who}"
reviewed_on = 2026-12-01
reason = "{why}"
"""

FAMILY_LIST = {'title = "Dishonest debtors"': 'title = "Dishonest debtors (family firms)"'}


def test_a_reviewed_exemption_clears_the_label(write: Writer) -> None:
    path = write(
        replace=FAMILY_LIST,
        extra=EXEMPTION.format(who="A. Reviewer, legal team", why="family firms are companies"),
    )
    assert found(path, "SC021") == []
    assert load_admissible(path).catalog.exemptions[0].reviewed_by == "A. Reviewer, legal team"


@pytest.mark.parametrize(("who", "why"), [("N/A", "a reason"), ("-", "a reason"), ("Ann", "TBD")])
def test_an_exemption_says_who_reviewed_it_and_why(write: Writer, who: str, why: str) -> None:
    path = write(replace=FAMILY_LIST, extra=EXEMPTION.format(who=who, why=why))
    messages = [h.message for h in found(path, "SC021")]
    assert any("who reviewed it and why" in m for m in messages)
    assert any("association" in m for m in messages)  # and it exempts nothing


def test_an_empty_reviewer_does_not_load(write: Writer) -> None:
    path = write(replace=FAMILY_LIST, extra=EXEMPTION.format(who="", why="a reason"))
    (finding,) = check_paths([path])
    assert finding.code == "SC000" and "reviewed_by" in finding.message


def test_an_exemption_only_in_the_items_own_file(write: Writer) -> None:
    base = write(replace=FAMILY_LIST, name="base.toml")
    other = write(
        text='[catalog]\nid = "other"\ntitle = "Other"\nversion = "1"\nextends = ["base"]\n'
        + EXEMPTION.format(who="Ann", why="family firms are companies"),
        name="other.toml",
    )
    assert base.exists()
    messages = [h.message for h in found(other, "SC021")]
    assert any("which base.toml defines" in m for m in messages)


def test_stale_and_unknown_exemptions(write: Writer) -> None:
    stale = write(extra=EXEMPTION.format(who="Ann", why="family firms are companies"))
    warnings = [f for f in check_paths([stale]) if f.code == "SC021"]
    assert warnings and all(f.severity is Severity.warning for f in warnings)
    unknown = write(
        extra=EXEMPTION.format(who="Ann", why="why").replace('id = "debtors"', 'id = "debtor"')
    )
    hits = found(unknown, "SC012")
    assert hits and "debtors" in hits[0].help


def test_bundled_exemptions_are_reviewed() -> None:
    for catalog_id, item in (
        ("court-dishonest-debtors", "restrict.private_school"),
        ("fuzhou-jasmine", "incentive.fuzhou.pay_after_treatment"),
    ):
        loaded = load(catalog_id)
        (exemption,) = [e for e in loaded.catalog.exemptions if e.id == item]
        assert exemption.reviewed_by and len(exemption.reason) > 40
        assert not [f for f in check_paths([catalog_id]) if f.code == "SC021"]


# --------------------------------------------------------------------------------------------
# The lexicon itself


def test_the_lexicon_reads_ids_and_both_languages() -> None:
    assert [h.subject.value for h in screen("x.church_attendance")] == ["religion"]
    assert [h.subject.value for h in screen("friends-of-debtors")] == ["association"]
    assert [h.subject.value for h in screen("city.zongjiao_huodong")] == ["religion"]
    assert [h.subject.value for h in screen("x.qinshu-shixin")] == ["association"]
    assert [h.subject.value for h in screen("人脸识别摄像头")] == ["biometrics", "surveillance"]
    # how a word is typed does not hide it: full-width, zero-width spaces, Cyrillic look-alikes
    for typed in ("ｃｈｕｒｃｈ", "chu\u200brch", "\u0441hurch", "WORSHIP"):
        assert [h.subject.value for h in screen(typed)] == ["religion"], typed
    # traditional characters read as simplified
    assert [h.subject.value for h in screen("親屬失信")] == ["association"]
    assert [h.subject.value for h in screen("未參加無償獻血")] == ["civic_acts"]
    assert [h.subject.value for h in screen("發表網絡言論")] == ["expression"]
    assert [h.subject.value for h in screen("人臉識別")] == ["biometrics"]
    # whole words: no hit inside another word
    assert screen("ownership of a sectional title") == []
    assert screen("Public employment and senior posts") == []


@pytest.mark.parametrize(
    "label",
    [
        "Acted in bad faith in a contract",
        "Parent company failed to pay",
        "Breach of labour relationship obligations",
        "Bypassed wastewater treatment facilities",
        "Oppressed minority shareholders",
        "Qualified audit opinion concealed",
        "Face value of bonds misstated",
        "Employing child labour",
        "Associated enterprises evaded tax",
        "Damaged critical infrastructure",
        "非法买卖野生动物",
    ],
)
def test_innocent_legal_senses_are_not_hits(label: str) -> None:
    assert screen(label) == []


def test_no_bundled_admissible_label_is_flagged_without_review() -> None:
    for catalog_id in ("cn-common", "rongcheng", "jinan-dog", "environment-credit", "sesame",
                       "credit-reporting", "joint-punishment-2016"):  # fmt: skip
        assert not [f for f in check_paths([catalog_id]) if f.code in {"SC021", "SC023"}]


def test_an_innocent_location_label_may_be_exempted_but_not_a_camera_source(
    write: Writer,
) -> None:
    title = {'title = "Able to perform but refuses"': 'title = "Ignored a GPS tracking order"'}
    exemption = """
[[exemptions]]
section = "record_types"
id = "court.refuse"
subjects = ["surveillance"]
reviewed_by = "Ann, court liaison"
reviewed_on = 2026-12-01
reason = "the record is the court's finding that an order was ignored, not a location trace"
"""
    assert found(write(replace=title), "SC010")
    assert found(write(replace=title, extra=exemption), "SC010") == []
    camera = dict(title, **{'issuers = ["court"]': 'issuers = ["court"]\nsource = "camera"'})
    assert found(write(replace=camera, extra=exemption), "SC010")


def test_the_lexicon_docstring_examples() -> None:
    import doctest

    from socialcredit.policy import lexicon

    result = doctest.testmod(lexicon)
    assert result.attempted >= 3 and result.failed == 0


def test_sc022_a_city_office_declared_a_private_operator(write: Writer) -> None:
    office = """
[[authorities]]
id = "city.scores"
title = "Municipal credit bureau"
kind = "private_operator"
"""
    private = score(DEDUCT).replace(
        'legal_basis = "City credit measures"', 'private = true\noperator = "city.scores"'
    )
    path = write(extra=office + private)
    messages = [h.message for h in found(path, "SC022")]
    assert any("public body (municipal, bureau)" in m for m in messages)
    honest = write(extra=office.replace("Municipal credit bureau", "Zhima scoring company"))
    assert found(honest, "SC022") == []


def test_sc018_perks_and_redlists_never_restrict(write: Writer) -> None:
    perks = 'perks = [{ at_least = 150, measures = ["m.judicial"] }]'
    path = write(extra=VOLUNTEER + score(f"{DEDUCT}, {ADD}", extra=perks))
    assert any("grants restriction m.judicial" in h.message for h in found(path, "SC018"))
    redlist = write(replace={'kind = "blacklist"': 'kind = "redlist"'})
    assert any("redlist debtors" in h.message for h in found(redlist, "SC018"))


def test_sc021_memoranda_are_screened(write: Writer) -> None:
    path = write(
        replace={'title = "Memorandum"': 'title = "Measures for debtors and their families"'}
    )
    hits = found(path, "SC021")
    assert hits and "memoranda[memo]" in hits[0].location


def test_a_forbidden_relation_is_refused_and_the_measure_still_reported(write: Writer) -> None:
    domains = """
[[domains]]
id = "enforcement"
title = "Court enforcement"
category = "judicial"
related = ["transport"]

[[measures]]
id = "m.flight"
title = "No air travel"
kind = "restriction"
domain = "transport"
legal_basis = "Fa Shi [2015] No. 17, Art. 3"
"""
    path = write(
        replace={
            'domain = "judicial"': 'domain = "enforcement"',
            'measures = ["m.judicial"]': 'measures = ["m.judicial", "m.flight"]',
        },
        extra=domains,
    )
    assert found(path, "SC019")
    assert found(path, "SC009", Profile.eu_ai_act)


def test_the_public_surface_of_the_checker() -> None:
    from socialcredit.policy import checker

    assert sorted(checker.__all__) == sorted(
        name for name in checker.__all__ if hasattr(checker, name)
    )
    for name in ("CODES", "Finding", "Profile", "Severity", "check", "check_paths", "counts",
                 "load_admissible", "load_findings"):  # fmt: skip
        assert name in checker.__all__
    from socialcredit.errors import CatalogRefused
    from socialcredit.policy.findings import Finding as LeafFinding

    assert checker.Finding is LeafFinding
    assert CatalogRefused("x", []).findings == []


def test_a_dimension_exemption(write: Writer) -> None:
    dims = WEIGHTED.replace(
        '{ id = "travel", title = "Travel conduct"', '{ id = "circle", title = "Social circle"'
    )
    exemption = """
[[exemptions]]
section = "dimensions"
id = "city/circle"
subjects = ["association"]
reviewed_by = "Ann, legal team"
reviewed_on = 2026-12-01
reason = "it scores nobody's connections: it has no rules and only adds its base"
"""
    assert found(write(extra=dims), "SC021")
    assert found(write(extra=dims + exemption), "SC021") == []
    wrong = exemption.replace('id = "city/circle"', 'id = "city/circles"')
    assert found(write(extra=dims + wrong), "SC012")


def test_sc022_private_records_put_no_one_under_restrictions(write: Writer) -> None:
    # a company's records entering a blacklist mapped to public restrictions
    path = write(
        replace={'issuers = ["court"]': 'issuers = ["lenders"]\nsource = "credit_reporting"'}
    )
    hits = found(path, "SC022")
    assert any("only by records of private operators" in h.message for h in hits)
    # a private score's low band mapped to a restriction
    app = """
[[authorities]]
id = "app"
title = "Points app company"
kind = "private_operator"

[[record_types]]
code = "app.bill"
title = "App bill unpaid"
domain = "commercial"
severity = "general"
nature = "default"
source = "credit_reporting"
legal_basis = "App user agreement"
issuers = ["app"]
publication = { published = false, max_months = 12 }

[[schemes]]
kind = "points"
id = "app.score"
title = "App score"
private = true
operator = "app"
base = 600
floor = 0
ceiling = 900
rules = [{ record_type = "app.bill", points = -50 }]

[[lists]]
id = "app.low"
title = "Low app scores"
kind = "key_attention"
legal_basis = "App user agreement"
authority = "court"
entry = { scheme = "app.score", score_below = 400 }
removal = ["score_recovery"]
"""
    hits = found(write(extra=app), "SC022")
    assert any("by the private scheme app.score" in h.message for h in hits)


def test_every_protected_subject_has_english_and_chinese_terms() -> None:
    from socialcredit.policy.lexicon import PROTECTED
    from socialcredit.policy.schema import ProtectedSubject

    assert set(PROTECTED) == set(ProtectedSubject)
    for subject, terms in PROTECTED.items():
        assert any(t.isascii() for t in terms), subject
        assert any(not t.isascii() for t in terms), subject
        for term in terms:  # every term finds itself
            assert subject in {h.subject for h in screen(term.replace("*", ""))}, term
