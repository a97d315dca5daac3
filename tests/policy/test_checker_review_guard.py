"""Gaps a guardrail review found (inadmissible catalogs that passed): an order on lawful
conduct, a role or a company's records; an effect unbounded after performance; an open term
with no usable way off; a listing extended for lawful conduct; placeholder legal bases; and
protected subjects typed or worded so that the lexicon missed them. Each is refused now, and
the honest catalog next to it still passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import Writer

from socialcredit.policy.checker import Finding, Profile, Severity, check_paths
from socialcredit.policy.checker._base import _ARTICLE, placeholder
from socialcredit.policy.lexicon import normalise, screen


def findings(path: Path, code: str, profile: Profile = Profile.cn_2021) -> list[Finding]:
    """Findings of ``code`` for a catalog that loaded (no SC000)."""
    out = check_paths([path], profile=profile)
    assert "SC000" not in {f.code for f in out}, [str(f) for f in out]
    return [f for f in out if f.code == code]


def errors(path: Path, code: str, profile: Profile = Profile.cn_2021) -> list[Finding]:
    return [f for f in findings(path, code, profile) if f.severity is Severity.error]


# --------------------------------------------------------------------------------------------
# 1. Orders: the same rules as a list and its memorandum (SC003, SC009, SC022, labels)

FLIGHTS = """
[[measures]]
id = "m.flights"
title = "No flights"
kind = "restriction"
domain = "transport"
legal_basis = "Measure basis"
"""


def order(record_type: str, *, measure: str = "m.judicial", authority: str = "court") -> str:
    return f"""
[[orders]]
id = "o.order"
title = "Order"
legal_basis = "Order basis"
authority = "{authority}"
record_types = ["{record_type}"]
measures = ["{measure}"]
duration_months = 12
removal = ["expiry", "objection"]
"""


def record(code: str, *, nature: str, domain: str = "judicial", extra: str = "") -> str:
    return f"""
[[record_types]]
code = "{code}"
title = "Record {code}"
domain = "{domain}"
severity = "serious"
nature = "{nature}"
legal_basis = "RT basis"
issuers = ["court"]
publication = {{ min_months = 12, max_months = 24 }}
{extra}"""


def test_an_order_on_lawful_conduct_is_refused(write: Writer) -> None:
    lawful = write(extra=record("x.paid", nature="lawful") + order("x.paid"))
    [f] = errors(lawful, "SC003")
    assert "orders[o.order].record_types" in f.location and "lawful conduct" in f.message
    honest = write(extra=record("x.refused", nature="violation") + order("x.refused"))
    assert findings(honest, "SC003") == []


def test_an_order_on_civic_conduct_is_refused(write: Writer) -> None:
    civic = write(extra=record("x.volunteer", nature="lawful", domain="civic")
                  + order("x.volunteer"))  # fmt: skip
    assert [f.severity for f in findings(civic, "SC003")] == [Severity.error]


def test_an_order_on_holding_a_role_is_refused(write: Writer) -> None:
    role = record("x.represents", nature="role", extra='role = "legal_representative"')
    [f] = errors(write(extra=role + order("x.represents")), "SC003")
    assert "a record of a legal role" in f.message and "under a measure" in f.message


def test_an_order_across_domains_is_reported_and_refused_under_the_eu_profile(
    write: Writer,
) -> None:
    path = write(extra=FLIGHTS + order("court.refuse", measure="m.flights"))
    [cn] = findings(path, "SC009")
    assert cn.severity is Severity.warning
    assert "orders[o.order].measures[m.flights]" in cn.location
    assert "order o.order" in cn.message and "unrelated domain transport" in cn.message
    [eu] = findings(path, "SC009", Profile.eu_ai_act)
    assert eu.severity is Severity.error and "EU AI Act" in eu.message
    # without a legal basis for the order, cn-2021 refuses it too
    bare = write(extra=FLIGHTS + order("court.refuse", measure="m.flights").replace(
        'legal_basis = "Order basis"', 'legal_basis = "TBD"'))  # fmt: skip
    assert any("without a legal basis" in f.message for f in errors(bare, "SC009"))
    # within the records' domain: nothing to report
    assert findings(write(extra=order("court.refuse")), "SC009") == []


def test_an_order_on_private_operators_records_is_refused(write: Writer) -> None:
    private = """
[[record_types]]
code = "x.late"
title = "Repayment overdue"
domain = "financial"
severity = "minor"
nature = "default"
source = "credit_reporting"
legal_basis = "Loan contract"
issuers = ["lenders"]
publication = { published = false, max_months = 3 }
"""
    measure = FLIGHTS.replace('domain = "transport"', 'domain = "financial"').replace(
        "No flights", "No loans"
    )
    path = write(extra=private + measure + order("x.late", measure="m.flights",
                                                  authority="lenders"))  # fmt: skip
    where = {f.location.split(": ")[1] for f in errors(path, "SC022")}
    assert where == {"orders[o.order].record_types", "orders[o.order].authority"}
    # the same order by a court on a court's records is admissible
    honest = write(extra=measure.replace('domain = "financial"', 'domain = "judicial"')
                   + order("court.refuse", measure="m.flights"))  # fmt: skip
    assert findings(honest, "SC022") == []


def test_order_and_release_labels_are_screened(write: Writer) -> None:
    named = order("court.refuse").replace('title = "Order"', 'title = "Order on church members"')
    [f] = errors(write(extra=named), "SC021")
    assert "orders[o.order]" in f.location and "religion" in f.message
    exemption = """
[[exemptions]]
section = "orders"
id = "o.order"
subjects = ["religion"]
reviewed_by = "Reviewer"
reviewed_on = 2026-01-01
reason = "a test"
"""
    assert errors(write(extra=named + exemption), "SC021") == []


# --------------------------------------------------------------------------------------------
# 2. after_performance_months is bounded by SC011 also for a default listed on an open term

OPEN_TERM = """
[[lists.terms]]
record_types = ["court.refuse"]
removal = ["fulfilment", "objection"]
legal_basis = "Term basis"
"""


@pytest.mark.parametrize(("months", "refused"), [(600, True), (61, True), (60, False)])
def test_effect_after_performance_is_bounded_under_an_open_term(
    write: Writer, months: int, refused: bool
) -> None:
    path = write(
        replace={
            "{ min_months = 12, max_months = 24 }": (
                f"{{ published = false, after_performance_months = {months} }}"
            ),
            'removal = ["fulfilment", "repair", "expiry"]': 'removal = ["fulfilment"]',
            "duration_months = 24\n": "",
        },
        extra="",
    )
    # the open term belongs to the list: insert it right after the list's removal
    text = path.read_text(encoding="utf-8").replace(
        'removal = ["fulfilment"]\n', 'removal = ["fulfilment"]\n' + OPEN_TERM, 1
    )
    path.write_text(text, encoding="utf-8")
    found = errors(path, "SC011")
    assert bool(found) is refused
    if refused:
        assert f"{months} months after the obligation is performed" in found[0].message


# --------------------------------------------------------------------------------------------
# 4. A term's ways off must be usable (SC007), as a list's are

TERM_LIST = """
[[record_types]]
code = "x.unlicensed"
title = "Trading without a licence"
domain = "market"
severity = "serious"
nature = "{nature}"
legal_basis = "RT basis"
issuers = ["samr"]
repairable = false
publication = {{ min_months = 12, max_months = 36 }}

[[lists]]
id = "x.traders"
title = "Unlicensed traders"
kind = "blacklist"
legal_basis = "List basis"
authority = "samr"
entry = {{ record_types = ["x.unlicensed"] }}
duration_months = 12
removal = ["expiry", "objection"]

[[lists.terms]]
record_types = ["x.unlicensed"]
removal = {removal}
legal_basis = "Term basis"
{duration}"""


@pytest.mark.parametrize(
    ("nature", "removal", "duration", "problem"),
    [
        ("violation", '["fulfilment", "objection"]', "", "no usable way off"),
        ("violation", '["repair", "objection"]', "duration_months = 24", "no usable way off"),
        ("default", '["fulfilment", "expiry"]', "", "can never be used"),
        ("default", '["fulfilment", "objection"]', "", None),
        ("violation", '["expiry", "objection"]', "duration_months = 24", None),
    ],
)
def test_a_terms_ways_off_must_be_usable(
    write: Writer, nature: str, removal: str, duration: str, problem: str | None
) -> None:
    text = TERM_LIST.format(nature=nature, removal=removal, duration=duration)
    found = findings(write(extra=text), "SC007")
    if problem is None:
        assert found == []
        return
    [f] = found
    assert "lists[x.traders].terms[0].removal" in f.location and problem in f.message
    expected = Severity.error if problem == "no usable way off" else Severity.warning
    assert f.severity is expected


# --------------------------------------------------------------------------------------------
# 5. A term's extensions are grounds too: SC003 for lawful, civic and role records

EXTENDED = """
[[lists.terms]]
record_types = ["court.refuse"]
duration_months = 24
removal = ["fulfilment", "repair", "expiry"]
legal_basis = "Term basis"
extensions = [{ record_type = "x.extender", months = 12 }]
"""


@pytest.mark.parametrize(
    ("nature", "domain", "extra", "refused"),
    [
        ("lawful", "judicial", "", True),
        ("role", "judicial", 'role = "legal_representative"', True),
        ("lawful", "civic", "", True),
        ("violation", "judicial", "", False),
    ],
)
def test_a_listing_is_extended_only_for_violations_or_defaults(
    write: Writer, nature: str, domain: str, extra: str, refused: bool
) -> None:
    path = write(
        replace={'removal = ["fulfilment", "repair", "expiry"]\n': (
            'removal = ["fulfilment", "repair", "expiry"]\n' + EXTENDED)},
        extra=record("x.extender", nature=nature, domain=domain, extra=extra),
    )  # fmt: skip
    found = [f for f in errors(path, "SC003") if "terms[0].extensions" in f.location]
    assert bool(found) is refused
    if found:
        assert "is extended by x.extender" in found[0].message


# --------------------------------------------------------------------------------------------
# 6. Placeholder legal bases

PLACEHOLDER_BASES = [
    "No legal basis",
    "Not applicable",
    "To be determined",
    "不适用",
    "not yet determined",
    "Unspecified",
    "none yet",
    "no basis yet",
    "Pending review",
    "尚未确定",
    "暂缺",
    "没有",
]


@pytest.mark.parametrize("basis", PLACEHOLDER_BASES)
def test_sc001_placeholders_in_words(write: Writer, basis: str) -> None:
    assert placeholder(basis)
    path = write(replace={'legal_basis = "List basis"': f'legal_basis = "{basis}"'})
    [f] = errors(path, "SC001")
    assert "lists[debtors].legal_basis" in f.location and "only a placeholder" in f.message


def test_an_article_number_stands_on_its_own() -> None:
    assert _ARTICLE.findall("no legal basis") == []
    assert _ARTICLE.findall("No civil law") == []
    assert _ARTICLE.findall("Fa Shi [2017] No. 7, Art. 1(1); Art. IV; § 3") == [
        "No. 7",
        "Art. 1(1)",
        "Art. IV",
        "§ 3",
    ]


@pytest.mark.parametrize(
    "basis",
    [
        "Civil Procedure Law (2017), Art. 255",
        "Administrative Reconsideration Law, Art. 9",
        "Law on the Review of Pending Cases",
        "Regulations on Unlicensed Business, Art. 13",
        "《无线电管理条例》第十条",
    ],
)
def test_a_real_basis_is_not_a_placeholder(basis: str) -> None:
    assert not placeholder(basis)


# --------------------------------------------------------------------------------------------
# 3. The lexicon: how a word is typed, plain words, legal bases


@pytest.mark.parametrize(
    ("label", "subject"),
    [
        ("Attended an unregistered relıgious gathering", "religion"),  # Turkish dotless ı
        ("re\u0301ligion", "religion"),  # a combining accent
        ("Went to an unregistered \u13dfhurch", "religion"),  # Cherokee
        ("\u1d04hurch attendance", "religion"),  # a small capital
        ("\u03f9hurch attendance", "religion"),  # a Greek lunate sigma
        ("\ua4dahurch attendance", "religion"),  # Lisu
        ("参加宗 教活动", "religion"),
        ("上·访", "petitioning"),
        ("宗\u3000教", "religion"),
        ("宗敎活动", "religion"),  # a variant character
        ("shàngfǎng to Beijing", "petitioning"),  # pinyin with tone marks
        ("x.zong_jiao", "religion"),  # pinyin in two syllables
        ("Road electronic-eye snapshot platform", "surveillance"),
        ("电子眼抓拍平台", "surveillance"),
    ],
)
def test_how_a_word_is_typed_does_not_hide_it(label: str, subject: str) -> None:
    assert subject in {h.subject.value for h in screen(label)}, normalise(label)


@pytest.mark.parametrize(
    ("label", "subject"),
    [
        ("Child of a mother or father listed as a debtor", "association"),
        ("Colleague or classmate of a dishonest person", "association"),
        ("同事、同学", "association"),
        ("母亲 父亲 孩子 亲人", "association"),
        ("株连", "association"),
        ("Grandparent or uncle in arrears", "association"),
        ("Synagogue attendance", "religion"),
        ("Ramadan observance", "religion"),
        ("Jewish, Hindu or Taoist", "religion"),
        ("Wears a hijab", "religion"),
        ("穆斯林", "religion"),
        ("道教活动", "religion"),
        ("圣经 古兰经 斋月", "religion"),
        ("Took part in a street demonstration", "expression"),
        ("游行示威", "expression"),
        ("未经批准集会", "expression"),
        ("Went on strike", "union_membership"),
        ("罢工", "union_membership"),
        ("Treated at a clinic for depression", "health"),
        ("抑郁", "health"),
        ("Cancer, abortion, COVID or quarantine", "health"),
        ("Kazakh origin", "ethnicity"),
        ("哈萨克", "ethnicity"),
        ("Joined the Communist Party", "political_opinion"),
        ("Urban sensor network", "surveillance"),
        ("Licence plate recognition", "surveillance"),
        ("Cell tower records", "surveillance"),
        ("Chat logs and search history", "surveillance"),
        ("基站 聊天记录 搜索记录 车牌识别 卡口", "surveillance"),
    ],
)
def test_plain_words_for_protected_subjects(label: str, subject: str) -> None:
    assert subject in {h.subject.value for h in screen(label)}


@pytest.mark.parametrize(
    "label",
    [
        "Private contract with the rental partner",  # a commercial partner
        "Acted in good faith",
        "Struck off the register",
        "Social credit demonstration city",
        "Information gathering for the credit file",
        "Election of the board of directors",
        "Employing child labour",
        "共同事项",  # common matters, not colleagues
        "相同学历",
        "旅游行业",  # the tourism industry, not a march
        "召集会议",  # convening a meeting, not an assembly
        "新闻报道教育",
    ],
)
def test_innocent_senses_of_the_new_words_are_not_hits(label: str) -> None:
    assert screen(label) == []


def test_a_legal_basis_naming_religion_is_screened(write: Writer) -> None:
    basis = "Regulations on Religious Affairs (2017), Art. 71 (宗教事务条例)"
    path = write(replace={'legal_basis = "RT basis"': f'legal_basis = "{basis}"'})
    [f] = errors(path, "SC021")
    assert "record_types[court.refuse]" in f.location and "religion" in f.message


def test_a_legal_basis_naming_a_regulated_field_is_not_a_label(write: Writer) -> None:
    # a law on infectious diseases or trade unions is the basis of ordinary violations of it
    basis = "Law on Prevention and Control of Infectious Diseases; Trade Union Law"
    path = write(replace={'legal_basis = "RT basis"': f'legal_basis = "{basis}"'})
    assert findings(path, "SC021") == []
