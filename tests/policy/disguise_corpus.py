"""A generated corpus of disguised catalogs, for measuring the checker's recall (issue 13).

Each *seed* is one abuse the guardrails exist to refuse (scoring religion, punishing relatives,
a camera as a source, a list everyone is on, a restriction declared an incentive, ...). Each is
written in several *disguises*, the way a red team would try to get it past the checker:

- ``plain``: the abuse said honestly (a religion domain, a ``camera`` source);
- ``recategorised``: the declarations falsified (the domain filed under ``public_service``,
  the record a ``violation`` from an ``authority_decision``), the labels left as they were;
- ``renamed``: recategorised, and the ids made neutral and the titles reworded (synonyms,
  Chinese);
- ``split``: renamed, and spread over two catalogs that only abuse when merged (one defines the
  records, the other scores them or maps their list to measures).

Each variant is a set of files and the file to check (the others are read through ``extends``).
:func:`corpus` yields them all; :func:`benign` yields catalogs that must keep passing, so that
recall is not bought by refusing everything. Both are plain data: the test computes the figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

MODES = ("plain", "recategorised", "renamed", "split")


@dataclass(frozen=True)
class Variant:
    seed: str
    mode: str
    files: dict[str, str]
    """File name -> text; ``check`` is the one checked (it extends the others)."""
    check: str
    profile: str = "cn-2021"
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.seed}/{self.mode}/{self.label}"


def header(cid: str, extends: str = "cn-common") -> str:
    return (
        f'[catalog]\nid = "{cid}"\ntitle = "Catalog {cid}"\nversion = "1"\n'
        f'extends = ["{extends}"]\n'
    )


def domain(did: str, title: str, category: str) -> str:
    return f'\n[[domains]]\nid = "{did}"\ntitle = "{title}"\ncategory = "{category}"\n'


def record(
    code: str,
    title: str,
    dom: str,
    *,
    nature: str = "violation",
    source: str = "authority_decision",
    issuer: str = "rongcheng",
    extra: str = "",
) -> str:
    return f"""
[[record_types]]
code = "{code}"
title = "{title}"
domain = "{dom}"
subject_kinds = ["person"]
severity = "general"
nature = "{nature}"
source = "{source}"
legal_basis = "City credit management measures"
issuers = ["{issuer}"]
publication = {{ min_months = 3, max_months = 12 }}
{extra}"""


def points(sid: str, title: str, rules: str, *, base: int = 1000, extra: str = "") -> str:
    return f"""
[[schemes]]
kind = "points"
id = "{sid}"
title = "{title}"
legal_basis = "City credit management measures"
subject_kinds = ["person"]
base = {base}
floor = 0
ceiling = 1100
rules = [{rules}]
{extra}"""


# --------------------------------------------------------------------------------------------
# Label seeds: a record type whose subject is protected, scored by a deduction


@dataclass(frozen=True)
class LabelSeed:
    name: str
    category: str
    """The honest category of its domain (plain mode)."""
    nature: str
    """The honest nature of its record (plain mode)."""
    titles: tuple[tuple[str, str], ...]
    """``(id stem, title)`` as an honest author writes it."""
    renamed: tuple[str, ...]
    """Reworded titles (synonyms, Chinese) used with neutral ids. The last of each seed is a
    euphemism written without looking at the lexicon: the corpus must show what it misses."""
    source: str = "authority_decision"
    issuer_titles: tuple[str, ...] = field(default=())
    """For a surveillance seed: what the issuing authority is called when it is renamed."""


LABEL_SEEDS: tuple[LabelSeed, ...] = (
    LabelSeed(
        "religion",
        "religion",
        "lawful",
        (
            ("church_absence", "Missed the weekly church service"),
            ("worship_gathering", "Attended an unregistered worship gathering"),
            ("temple_visits", "Temple visits during working hours"),
        ),
        (
            "Irregular attendance at the mosque",
            "参加未登记的宗教活动",
            "Faith group membership",
            "Sunday gathering absence",
        ),
    ),
    LabelSeed(
        "speech",
        "expression",
        "lawful",
        (
            ("critical_post", "Critical online post about officials"),
            ("rumours", "Spread rumours on social media"),
            ("weibo_comment", "Negative Weibo comment"),
        ),
        (
            "Inappropriate opinions expressed online",
            "发布不当网络言论",
            "Protest slogan displayed",
            "Unverified information shared",
        ),
    ),
    LabelSeed(
        "petitioning",
        "expression",
        "lawful",
        (
            ("abnormal_petition", "Petitioned above the prescribed level"),
            ("xinfang", "Repeated letters and visits to higher authorities"),
        ),
        ("越级上访", "Petition lodged in the capital", "Visited the capital to complain"),
    ),
    LabelSeed(
        "relatives",
        "association",
        "default",
        (
            ("relative_default", "Close relative is a listed debtor"),
            ("spouse_debt", "Spouse's unpaid debt"),
            ("family_fine", "Family member fined"),
        ),
        (
            "亲属失信",
            "Debts of the household members",
            "Son or daughter in default",
            "Debts of people at the same address",
        ),
    ),
    LabelSeed(
        "civic-acts",
        "civic",
        "violation",
        (
            ("no_blood_donation", "Did not donate blood this year"),
            ("volunteer_shortfall", "Fewer volunteer hours than expected"),
            ("skipped_charity", "Skipped the charity drive"),
        ),
        (
            "未参加无偿献血",
            "Declined to volunteer",
            "No donations to the community fund",
            "Did not take part in the community blood drive",
        ),
    ),
    LabelSeed(
        "purchases",
        "lawful_purchases",
        "lawful",
        (
            ("alcohol_purchase", "Bought alcohol above the monthly amount"),
            ("video_games", "Hours of video gaming"),
            ("spending", "Spending on imported goods"),
        ),
        (
            "购买游戏点卡",
            "Cigarette purchases",
            "Shopping at luxury stores",
            "Monthly baijiu quantity above norm",
        ),
    ),
    LabelSeed(
        "health",
        "health",
        "lawful",
        (
            ("vaccination_refusal", "Refused vaccination"),
            ("mental_illness", "Registered mental illness"),
            ("hospital_visits", "Frequent hospital visits"),
        ),
        (
            "患有传染疾病",
            "Diagnosed with a chronic disease",
            "Pregnancy outside the plan",
            "Registered at the clinic for depression",
        ),
    ),
    LabelSeed(
        "ethnicity",
        "ethnicity",
        "lawful",
        (("minority_registration", "Ethnic minority residence registration"),),
        ("少数民族身份", "Uyghur household registration", "Residents of Xinjiang origin"),
    ),
    LabelSeed(
        "camera",
        "traffic",
        "violation",
        (
            ("jaywalking_camera", "Jaywalking caught on camera"),
            ("face_match", "Face recognition match at a checkpoint"),
            ("gps_trace", "Location trace outside the permitted area"),
        ),
        (
            "人脸识别抓拍闯红灯",
            "CCTV footage of littering",
            "Whereabouts report",
            "Crossing against the light",
        ),
        source="camera",
        issuer_titles=(
            "Sharp Eyes video network",
            "天网监控中心",
            "City facial recognition office",
            "Smart city perception platform",
        ),
    ),
)


def _label_variants(seed: LabelSeed) -> Iterator[Variant]:
    for stem, title in seed.titles:
        code = f"city.{stem}"
        # plain: an honest domain and nature
        dom = domain("city.conduct", "Conduct", seed.category)
        text = (
            header("plain")
            + dom
            + record(code, title, "city.conduct", nature=seed.nature, source=seed.source)
            + points("city.score", "City score", f'{{ record_type = "{code}", points = -20 }}')
        )
        yield Variant(seed.name, "plain", {"plain.toml": text}, "plain.toml", label=title)
        # recategorised: a neutral domain, a violation from an authority decision
        text = (
            header("recat")
            + domain("city.affairs", "Community affairs", "public_service")
            + record(code, title, "city.affairs")
            + points("city.score", "City score", f'{{ record_type = "{code}", points = -20 }}')
        )
        yield Variant(seed.name, "recategorised", {"recat.toml": text}, "recat.toml", label=title)
    for i, title in enumerate(seed.renamed):
        code = f"city.item_{i:02d}"
        issuer, authority = "rongcheng", ""
        if seed.issuer_titles:
            # the surveillance source is hidden behind a neutral record and a named issuer
            issuer = "city.office"
            authority = (
                f'\n[[authorities]]\nid = "city.office"\ntitle = "{seed.issuer_titles[i]}"\n'
            )
        records = (
            domain("city.affairs", "Community affairs", "public_service")
            + authority
            + record(code, title, "city.affairs", issuer=issuer)
        )
        scheme = points("city.index", "City index", f'{{ record_type = "{code}", points = -20 }}')
        yield Variant(
            seed.name,
            "renamed",
            {"renamed.toml": header("renamed") + records + scheme},
            "renamed.toml",
            label=title,
        )
        yield Variant(
            seed.name,
            "split",
            {
                "base.toml": header("base") + records,
                "scoring.toml": header("scoring", extends="base") + scheme,
            },
            "scoring.toml",
            label=title,
        )


# --------------------------------------------------------------------------------------------
# Structural seeds: the catalog's numbers show the abuse, whatever it is called


def _watch_list(lid: str, title: str, entry: str, kind: str = "key_attention") -> str:
    return f"""
[[lists]]
id = "{lid}"
title = "{title}"
kind = "{kind}"
legal_basis = "City credit management measures"
authority = "rongcheng"
subject_kinds = ["person"]
entry = {{ scheme = "city.score", {entry} }}
removal = ["score_recovery"]
"""


OFFENCE = record("city.offence", "Administrative penalty", "market")
VOLUNTEER = record("city.volunteer", "Registered volunteer service", "civic", nature="lawful")


def _structural() -> Iterator[Variant]:
    deduct = '{ record_type = "city.offence", points = -30 }'
    add = '{ record_type = "city.volunteer", points = 5 }'
    names = (
        ("city.watch", "Residents under watch"),
        ("city.list_b", "List B"),
        ("city.zdgz", "重点关注对象"),
    )
    # a list everyone scored is on, with no record
    for mode, (lid, title) in zip(("plain", "renamed", "renamed"), names, strict=True):
        scheme = OFFENCE + points("city.score", "City score", deduct)
        lst = _watch_list(lid, title, "score_below = 1010")
        yield Variant(
            "list-at-base", mode, {"a.toml": header("a") + scheme + lst}, "a.toml", label=title
        )
    scheme = OFFENCE + points("city.score", "City score", deduct)
    yield Variant(
        "list-at-base",
        "split",
        {
            "base.toml": header("base") + scheme,
            "lists.toml": header("lists", "base")
            + _watch_list("city.b", "B", "score_below = 1010"),
        },
        "lists.toml",
    )
    # listed for not earning a bonus: the threshold above the base, only additions reach it
    for mode, (lid, title) in zip(("plain", "renamed", "renamed"), names, strict=True):
        scheme = VOLUNTEER + points("city.score", "Civic score", add)
        lst = _watch_list(lid, title, "score_below = 1005")
        yield Variant(
            "no-bonus-list", mode, {"a.toml": header("a") + scheme + lst}, "a.toml", label=title
        )
    yield Variant(
        "no-bonus-list",
        "split",
        {
            "base.toml": header("base") + VOLUNTEER + points("city.score", "Civic score", add),
            "lists.toml": header("lists", "base")
            + _watch_list("city.b", "B", "score_below = 1005"),
        },
        "lists.toml",
    )
    # a restriction declared as an incentive, held at the base and lost by deductions
    for mode, title in (
        ("plain", "Permission to buy train tickets"),
        ("renamed", "Priority boarding"),
        ("renamed", "City card"),
    ):
        perk = 'perks = [{ at_least = 950, measures = ["city.perk"] }]'
        measure = f"""
[[measures]]
id = "city.perk"
title = "{title}"
kind = "incentive"
domain = "public_service"
legal_basis = "City credit management measures"
"""
        body = OFFENCE + points("city.score", "City score", deduct, extra=perk) + measure
        yield Variant(
            "incentive-at-base", mode, {"a.toml": header("a") + body}, "a.toml", label=title
        )
    # an ordinary service withheld as an "incentive" above the base
    for mode, title in (
        ("plain", "Access to high-speed rail tickets"),
        ("renamed", "Eligible to enrol children in public school"),
        ("renamed", "允许乘坐高铁"),
    ):
        perk = 'perks = [{ at_least = 1020, measures = ["city.perk"] }]'
        measure = f"""
[[measures]]
id = "city.perk"
title = "{title}"
kind = "incentive"
domain = "public_service"
legal_basis = "City credit management measures"
"""
        body = (
            OFFENCE
            + VOLUNTEER
            + points("city.score", "City score", f"{deduct}, {add}", extra=perk)
            + measure
        )
        yield Variant(
            "service-as-incentive", mode, {"a.toml": header("a") + body}, "a.toml", label=title
        )
    # a placeholder legal basis for a cross-domain restriction
    for basis in ("N/A", "TBD", "Art. 3", "无", "-", "the relevant regulations"):
        memo = f"""
[[measures]]
id = "city.flight"
title = "No air travel"
kind = "restriction"
domain = "transport"
legal_basis = "{basis}"

[[memoranda]]
id = "city.memo"
title = "Travel restrictions for listed debtors"
legal_basis = "{basis}"
lists = ["court.judgment_debtor"]
measures = ["city.flight"]
"""
        yield Variant(
            "placeholder-basis",
            "renamed",
            {"a.toml": header("a", "court-dishonest-debtors") + memo},
            "a.toml",
            label=basis,
        )
    yield from _silenced_cross_domain()
    yield from _private_and_roles()


def _silenced_cross_domain() -> Iterator[Variant]:
    """A restriction in an unrelated context, made to look related (judged under eu-ai-act)."""
    debt = record(
        "city.debt", "Refuses to perform a judgment", "city.enforcement", nature="default"
    )
    lst = """
[[lists]]
id = "city.debtors"
title = "Debtors"
kind = "blacklist"
legal_basis = "City credit management measures"
authority = "court"
entry = { record_types = ["city.debt"] }
duration_months = 24
removal = ["fulfilment", "expiry"]
"""
    flight = """
[[measures]]
id = "city.flight"
title = "{title}"
kind = "restriction"
domain = "{domain}"
legal_basis = "City credit management measures"

[[memoranda]]
id = "city.memo"
title = "Measures"
legal_basis = "City credit management measures"
lists = ["city.debtors"]
measures = ["city.flight"]
"""
    # 1. the records' domain declared related to transport
    enforcement = domain("city.enforcement", "Enforcement", "judicial")
    related = enforcement.rstrip("\n") + '\nrelated = ["transport"]\n'
    for title in ("No air travel", "No G-series trains", "禁止乘坐飞机"):
        body = related + debt + lst + flight.format(title=title, domain="transport")
        yield Variant(
            "related-silencing", "renamed", {"a.toml": header("a") + body}, "a.toml", "eu-ai-act",
            title,
        )  # fmt: skip
    body_a = related + debt + lst
    yield Variant(
        "related-silencing",
        "split",
        {
            "base.toml": header("base") + body_a,
            "memo.toml": header("memo", "base")
            + flight.format(title="No flights", domain="transport"),
        },
        "memo.toml",
        "eu-ai-act",
    )
    # 2. the measure filed in a domain of the records' own category
    for title in ("No air travel", "No seat on high-speed trains", "禁止乘坐高铁"):
        body = (
            enforcement
            + domain("city.enforcement_measures", "Enforcement measures", "judicial")
            + debt.replace('domain = "city.enforcement"', 'domain = "city.enforcement"')
            + lst
            + flight.format(title=title, domain="city.enforcement")
        )
        yield Variant(
            "recategorised-measure", "recategorised", {"a.toml": header("a") + body}, "a.toml",
            "eu-ai-act", title,
        )  # fmt: skip
    # 3. a weighted scheme whose rule-less dimension sits in the measure's domain
    weighted = """
[[schemes]]
kind = "weighted"
id = "city.w"
title = "City weighted score"
legal_basis = "City credit management measures"
subject_kinds = ["person"]
low = 0
high = 1000
dimensions = [
  { id = "enf", title = "Enforcement", weight = 1, base = 60, domain = "city.enforcement", rules = [
    { record_type = "city.debt", points = -40 } ] },
  { id = "mobility", title = "Mobility", weight = 1, base = 60, domain = "transport" },
]

[[lists]]
id = "city.low"
title = "Low scorers"
kind = "key_attention"
legal_basis = "City credit management measures"
authority = "rongcheng"
subject_kinds = ["person"]
entry = { scheme = "city.w", score_below = 500 }
removal = ["score_recovery"]

[[measures]]
id = "city.flight"
title = "Travel measure"
kind = "restriction"
domain = "transport"
legal_basis = "City credit management measures"

[[memoranda]]
id = "city.memo"
title = "Measures"
legal_basis = "City credit management measures"
lists = ["city.low"]
measures = ["city.flight"]
"""
    yield Variant(
        "dimension-silencing", "renamed", {"a.toml": header("a") + enforcement + debt + weighted},
        "a.toml", "eu-ai-act",
    )  # fmt: skip
    # 4. a local cn-common beside the catalog relating judicial to transport
    shadow = (
        '[catalog]\nid = "cn-common"\ntitle = "Shared"\nversion = "1"\n'
        + domain("judicial", "Judicial", "judicial").rstrip("\n")
        + '\nrelated = ["transport"]\n'
        + domain("transport", "Transport", "transport")
        + domain("market", "Market", "market_regulation")
        + '\n[[authorities]]\nid = "court"\ntitle = "Court"\n'
        + '\n[[authorities]]\nid = "rongcheng"\ntitle = "City"\n'
    )
    body = (
        record("city.debt", "Refuses to perform a judgment", "judicial", nature="default")
        + lst
        + flight.format(title="Travel measure", domain="transport")
    )
    yield Variant(
        "shadowed-vocabulary", "split",
        {"cn-common.toml": shadow, "a.toml": header("a") + body}, "a.toml", "eu-ai-act",
    )  # fmt: skip


def _private_and_roles() -> Iterator[Variant]:
    # a government score marked private, to need no legal basis
    for title in ("City civility score", "Neighbourhood index", "市民文明积分"):
        scheme = points("city.score", title, '{ record_type = "city.offence", points = -30 }')
        scheme = scheme.replace('legal_basis = "City credit management measures"', "private = true")
        yield Variant(
            "private-government-score", "renamed", {"a.toml": header("a") + OFFENCE + scheme},
            "a.toml", label=title,
        )  # fmt: skip
    # the same, one step earlier: the city's office declared a private operator, issuing the
    # records itself (the last name gives nothing away)
    for title in ("Municipal credit bureau", "市信用办", "Civility points company"):
        office = (
            f'\n[[authorities]]\nid = "city.scores"\ntitle = "{title}"\nkind = "private_operator"\n'
        )
        offence = record(
            "city.offence2", "Administrative penalty", "market", source="credit_reporting",
            issuer="city.scores",
        )  # fmt: skip
        scheme = points(
            "city.score", "City score", '{ record_type = "city.offence2", points = -30 }'
        )
        scheme = scheme.replace(
            'legal_basis = "City credit management measures"',
            'private = true\noperator = "city.scores"',
        )
        yield Variant(
            "private-government-score", "recategorised",
            {"a.toml": header("a") + office + offence + scheme}, "a.toml", label=title,
        )  # fmt: skip
    # a restriction for the best records: granted as a perk, or mapped from a redlist
    perk = 'perks = [{ at_least = 1050, measures = ["city.limit"] }]'
    limit = """
[[measures]]
id = "city.limit"
title = "Special handling"
kind = "restriction"
domain = "public_service"
legal_basis = "City credit management measures"
"""
    volunteer_scheme = points(
        "city.score", "City score", '{ record_type = "city.volunteer", points = 5 }', extra=perk
    )
    yield Variant(
        "restriction-for-the-best", "renamed",
        {"a.toml": header("a") + VOLUNTEER + volunteer_scheme + limit}, "a.toml",
    )  # fmt: skip
    redlist = """
[[lists]]
id = "city.good"
title = "Trustworthy residents"
kind = "redlist"
legal_basis = "City credit management measures"
authority = "rongcheng"
entry = { record_types = ["city.volunteer"] }
duration_months = 12
removal = ["expiry"]

[[memoranda]]
id = "city.memo"
title = "Measures"
legal_basis = "City credit management measures"
lists = ["city.good"]
measures = ["city.limit"]
"""
    yield Variant(
        "restriction-for-the-best", "split",
        {"base.toml": header("base") + VOLUNTEER + redlist.split("[[memoranda]]")[0],
         "memo.toml": header("memo", "base") + limit + "\n[[memoranda]]"
         + redlist.split("[[memoranda]]")[1]},
        "memo.toml",
    )  # fmt: skip
    # a role record that is really a family tie
    for title in (
        "Spouse of a company's legal representative",
        "法定代表人的配偶",
        "Household member of the controller",
    ):
        role = f"""
[[record_types]]
code = "city.link"
title = "{title}"
domain = "market"
subject_kinds = ["person"]
severity = "minor"
nature = "role"
role = "legal_representative"
legal_basis = "Company registration rules"
issuers = ["samr"]
repairable = false
publication = {{ published = false, max_months = 12 }}
"""
        memo = """
[[memoranda]]
id = "city.reach"
title = "Reach"
legal_basis = "Fa Shi [2015] No. 17"
lists = ["court.judgment_debtor"]
measures = ["restrict.flight"]
extends_to = ["legal_representative"]
"""
        yield Variant(
            "role-is-family", "renamed",
            {"a.toml": header("a", "court-dishonest-debtors") + role + memo}, "a.toml",
            label=title,
        )  # fmt: skip
    # a dimension that scores social connections, called something else
    for title in ("Personal relationships", "Social circle quality", "人脉关系"):
        dims = f"""
[[schemes]]
kind = "weighted"
id = "city.w"
title = "City weighted score"
legal_basis = "City credit management measures"
subject_kinds = ["person"]
low = 0
high = 1000
dimensions = [
  {{ id = "conduct", title = "Conduct", weight = 3, base = 60, domain = "market", rules = [
    {{ record_type = "city.offence", points = -40 }} ] }},
  {{ id = "d2", title = "{title}", weight = 1, base = 60, domain = "market", rules = [
    {{ record_type = "city.offence", points = -40 }} ] }},
]
"""
        yield Variant(
            "connections-dimension", "renamed", {"a.toml": header("a") + OFFENCE + dims},
            "a.toml", label=title,
        )  # fmt: skip


#: Renamed by how the words are typed: a pinyin id under a neutral title, traditional
#: characters, a Cyrillic look-alike letter, a zero-width space inside the word.
TYPED: tuple[tuple[str, str, str], ...] = (
    ("religion", "city.zongjiao_01", "Attendance"),
    ("religion", "city.item_t1", "參加未登記的宗教活動"),
    ("religion", "city.item_t2", "Missed the weekly \u0441hurch service"),
    ("religion", "city.item_t3", "Wor\u200bship gathering"),
    ("relatives", "city.qinshu_01", "Linked debtor"),
    ("relatives", "city.item_t4", "親屬失信"),
    ("relatives", "city.item_t5", "Debt of a \u0455pouse"),
    ("petitioning", "city.shangfang_01", "Visit"),
    ("petitioning", "city.item_t6", "越級上訪"),
    ("civic-acts", "city.item_t7", "未參加無償獻血"),
    ("civic-acts", "city.xianxue_01", "Annual participation"),
    ("camera", "city.item_t8", "人臉識別抓拍"),
)


def _typed_variants() -> Iterator[Variant]:
    for seed, code, title in TYPED:
        body = (
            domain("city.affairs", "Community affairs", "public_service")
            + record(code, title, "city.affairs")
            + points("city.index", "City index", f'{{ record_type = "{code}", points = -20 }}')
        )
        yield Variant(seed, "renamed", {"a.toml": header("a") + body}, "a.toml", label=title)


def corpus() -> Iterator[Variant]:
    """Every disguised variant the checker should refuse."""
    for seed in LABEL_SEEDS:
        yield from _label_variants(seed)
    yield from _typed_variants()
    yield from _structural()


def benign() -> Iterator[Variant]:
    """Catalogs that must keep passing: honest counterparts of the seeds, renamed and split."""
    deduct = '{ record_type = "city.offence", points = -30 }'
    add = '{ record_type = "city.volunteer", points = 5 }'
    for title in ("Administrative penalty", "Unlicensed street vending", "无证经营"):
        body = record("city.offence", title, "market") + points("city.score", "City score", deduct)
        yield Variant(
            "honest-score", "renamed", {"a.toml": header("a") + body}, "a.toml", label=title
        )
        yield Variant(
            "honest-score",
            "split",
            {
                "base.toml": header("base") + record("city.offence", title, "market"),
                "scoring.toml": header("scoring", "base") + points("city.score", "S", deduct),
            },
            "scoring.toml",
            label=title,
        )
    # a private operator's own opt-in score
    operator = (
        '\n[[authorities]]\nid = "city.app"\ntitle = "Points app company"\n'
        'kind = "private_operator"\n'
    )
    own = record(
        "city.app_bill", "App bill unpaid", "commercial", nature="default",
        source="credit_reporting", issuer="city.app",
    )  # fmt: skip
    private = points(
        "city.app_score", "App score", '{ record_type = "city.app_bill", points = -30 }'
    )
    private = private.replace(
        'legal_basis = "City credit management measures"', 'private = true\noperator = "city.app"'
    )
    yield Variant("honest-private", "plain", {"a.toml": header("a") + operator + own + private},
                  "a.toml")  # fmt: skip
    lst = _watch_list("city.watch", "Residents under watch", "score_below = 900")
    body = OFFENCE + VOLUNTEER + points("city.score", "City score", f"{deduct}, {add}") + lst
    yield Variant("honest-list", "plain", {"a.toml": header("a") + body}, "a.toml")
    for title in ("Discount on public transport", "Priority handling", "办事优先"):
        perk = 'perks = [{ at_least = 1020, measures = ["city.perk"] }]'
        measure = f"""
[[measures]]
id = "city.perk"
title = "{title}"
kind = "incentive"
domain = "public_service"
legal_basis = "City credit management measures"
"""
        body = (
            OFFENCE
            + VOLUNTEER
            + points("city.score", "City score", f"{deduct}, {add}", extra=perk)
            + measure
        )
        yield Variant(
            "honest-incentive", "renamed", {"a.toml": header("a") + body}, "a.toml", label=title
        )
