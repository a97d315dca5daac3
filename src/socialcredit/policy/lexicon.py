"""Words that betray what a label hides, in English and Chinese.

A catalog declares what each item is (a domain's ``category``, a record type's ``nature`` and
``source``, a scheme's ``private``), and the checker's structural rules trust those declarations.
A red team does not need to declare anything false about *structure* to score religion: it files
"church attendance" under ``public_service``. So the ids, titles and descriptions of the items a
catalog defines are screened here against a lexicon of protected subjects (checker SC021), and
against the words that name an admissible category (SC023: a flight ban filed under a judicial
domain).

The lexicon is deliberately plain: whole English words (a ``*`` at the end of a term allows
any ending: ``relig*`` matches "religion" and "religious"), compared after lower-casing and
splitting ids at ``.``, ``_`` and ``-``; Chinese terms match as substrings, and the pinyin of
the commonest ones (``zongjiao``, ``shangfang``) as words. It flags, it does not understand: a
hit is an error unless the catalog carries a reviewed exemption for the item (who reviewed,
when, why), which ``socialcredit policy show`` prints.

>>> [h.subject.value for h in screen("x.church_attendance")]
['religion']
>>> [(h.term, h.word) for h in screen("Religious gathering")]
[('relig*', 'religious')]
>>> [h.word for h in screen("不献血")]
['献血']
>>> screen("Able to perform the judgment but refuses")
[]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from socialcredit.policy.schema import DomainCategory, ProtectedSubject

__all__ = [
    "ACCESS",
    "ADVANTAGE",
    "CATEGORY_WORDS",
    "DIMENSION_TERMS",
    "PROTECTED",
    "GOVERNMENT",
    "RESTRICTIVE",
    "Hit",
    "screen",
    "words_in",
]

S = ProtectedSubject

# fmt: off
PROTECTED: Mapping[ProtectedSubject, tuple[str, ...]] = {
    S.religion: (
        "relig*", "faiths", "faith group*", "faith communit*", "faith based", "church*",
        "mosque*", "temple*", "worship*", "pray*", "belief*", "believer*", "spiritual*", "sect",
        "sects", "cult", "cults", "buddhis*", "christian*", "muslim*", "islam*", "catholic*",
        "protestant*", "falun*", "bible*", "quran*", "koran*", "clergy", "monk", "monks",
        "imam*", "pastor", "pastors", "congregation*", "pilgrim*", "atheis*",
        "宗教", "信仰", "教会", "教堂", "寺庙", "清真", "礼拜", "佛教", "基督", "伊斯兰", "法轮",
        "邪教", "信徒", "祷告", "zongjiao", "xinyang", "jiaohui",
    ),
    S.expression: (
        "speech*", "political opinion*", "personal opinion*", "opinions expressed",
        "expressed opinion*", "posting", "online post*", "social media post*", "blog*",
        "weibo", "wechat", "tweet*", "social media", "online comment*", "criticis*",
        "criticiz*", "dissent*", "rumour*", "rumor*", "protest*", "slogan*", "censor*",
        "publish* online", "outspoken",
        "言论", "发帖", "帖子", "网络评论", "谣言", "抗议", "舆论", "批评", "异议", "微博",
        "朋友圈", "yanlun", "fatie",
    ),
    S.petitioning: (
        "petition*", "xinfang", "letters and visits", "complain* to higher",
        "上访", "信访", "越级", "shangfang", "yueji",
    ),
    S.political_opinion: (
        "politic*", "party member*", "ideolog*", "patriot*", "regime critic*",
        "政治", "党员", "思想", "忠诚", "爱国",
    ),
    S.association: (
        "family", "families", "relative", "relatives", "kin", "kinship", "spouse*", "wife",
        "wives", "husband*", "parents", "parent of", "children", "son", "sons", "daughter*",
        "sibling*", "brother*", "sister*", "cousin*", "in law", "in laws", "friend*",
        "contacts", "contact list*", "close contact*", "acquaintance*",
        "personal relationship*", "social relationship*", "family relationship*",
        "intimate relationship*", "relationship status", "marriage*", "marital", "divorc*",
        "married", "social connection*", "social network*", "social circle*", "guanxi",
        "household member*", "same household", "associates", "companion*", "life partner*",
        "domestic partner*", "girlfriend*", "boyfriend*", "neighbour*", "neighbor*", "lineage",
        "interpersonal*", "social ties", "social graph", "people they know",
        "家庭", "家人", "家属", "亲属", "亲戚", "配偶", "妻子", "丈夫", "父母", "子女", "儿子",
        "女儿", "兄弟", "姐妹", "朋友", "好友", "联系人", "社交", "人脉", "关系网", "婚姻", "离婚",
        "同户", "户主", "邻居", "伴侣", "qinshu", "qinqi", "peiou", "jiashu", "jiaren", "pengyou",
        "renmai", "shejiao",
    ),
    S.health: (
        "health*", "medical", "medicine*", "disease*", "illness*", "ill", "sick*",
        "hospital*", "patient*", "diagnos*", "mental*", "psychiatr*", "disabilit*", "disabled",
        "pregnan*", "hiv", "aids", "vaccin*", "therap*", "addict*",
        "健康", "医疗", "疾病", "医院", "病人", "患者", "残疾", "怀孕", "疫苗", "精神病", "病史",
        "jibing", "yiliao",
    ),
    S.genetics: ("genetic*", "gene", "genes", "dna", "genom*", "基因", "遗传"),
    S.ethnicity: (
        "ethnic*", "race", "races", "racial", "minority group*", "national minorit*",
        "uyghur*", "uighur*", "tibetan*", "hui", "nationality",
        "民族", "种族", "维吾尔", "藏族", "回族", "minzu", "shaoshu minzu",
    ),
    S.biometrics: (
        "biometric*", "facial", "face recognition", "face scan*", "face match*", "face data",
        "fingerprint*", "iris", "voiceprint*", "gait",
        "人脸", "面部", "指纹", "虹膜", "声纹", "生物识别", "步态", "renlian", "zhiwen",
    ),
    S.surveillance: (
        "camera*", "cctv", "surveil*", "video surveil*", "video footage", "video network*",
        "video monitor*", "footage", "gps", "location data", "location trac*", "geolocat*",
        "tracked by", "whereabouts", "movement data", "movements of", "skynet", "sharp eyes",
        "monitor* person*", "phone data", "browsing", "online activit*",
        "摄像", "监控", "天网", "雪亮", "定位", "位置信息", "位置数据", "轨迹", "行踪", "上网记录",
        "jiankong", "shexiang", "tianwang", "xueliang",
    ),
    S.lawful_purchases: (
        "purchas*", "bought", "buy", "buys", "buying", "shopping", "shopper*", "spending on",
        "spent on", "alcohol*", "tobacco*", "cigarette*", "video game*", "gaming", "gamer*",
        "lottery", "nappies", "diapers",
        "购买", "购物", "消费记录", "游戏", "烟草", "香烟", "酒精", "饮酒",
    ),
    S.civic_acts: (
        "volunteer*", "blood donation*", "donat*", "charit*", "good deed*", "good samaritan*",
        "filial*", "civic virtue*", "helping others", "elderly care",
        "志愿", "献血", "捐", "慈善", "好人好事", "孝", "义工", "见义勇为", "zhiyuan", "xianxue",
        "juanxian", "cishan",
    ),
    S.sex_life: (
        "sexual*", "sex life", "lgbt*", "homosexual*", "gay", "lesbian*", "transgender*",
        "性取向", "同性", "性生活",
    ),
    S.union_membership: ("trade union*", "union member*", "unionis*", "工会"),
}
# fmt: on
"""Terms per protected subject. Kept short and concrete; each term is a word a catalog author
would use to name the subject plainly. Words with innocent legal senses are left out or
narrowed ("bad faith", "parent company", "labour relationship", "wastewater treatment",
"minority shareholder", "audit opinion", "face value", "market exit" are not hits)."""

# fmt: off
DIMENSION_TERMS: Mapping[ProtectedSubject, tuple[str, ...]] = {
    S.association: (
        "connection*", "network*", "circle*", "relations", "peer*", "ties", "social*",
        "交往", "圈子", "关系",
    ),
}
# fmt: on
"""More terms for the dimensions of a weighted score: a part of a person's score called
"Connections" or "Circle" is about other people, though the same word elsewhere ("illegal water
connections") is not."""

# fmt: off
CATEGORY_WORDS: Mapping[DomainCategory, tuple[str, ...]] = {
    DomainCategory.transport: (
        "flight*", "fly", "flying", "airline*", "air travel", "aircraft", "plane", "planes",
        "airport*", "train", "trains", "train ticket*", "rail", "railway*", "g train*",
        "high speed rail", "high speed train*", "emu", "sleeper*", "ship", "ships", "ferry",
        "ferries", "boat*",
        "航班", "飞机", "乘机", "火车", "高铁", "动车", "铁路", "轮船",
    ),
    DomainCategory.exit_control: (
        "passport*", "leave the country", "leaving the country", "exit the country",
        "exit permit*", "exit ban*", "border exit", "emigrat*", "visa*",
        "出境", "护照", "出国",
    ),
    DomainCategory.consumption: (
        "hotel*", "nightclub*", "golf", "tourism", "holidays", "vacation*", "luxury",
        "private school*", "high fee*",
        "酒店", "宾馆", "旅游", "度假", "高尔夫", "夜总会", "奢侈",
    ),
    DomainCategory.employment: (
        "civil servant*", "public employ*", "hired", "hiring", "recruit*",
        "公务员", "招录", "录用",
    ),
}
# fmt: on
"""Words that name what an admissible category is about. A *measure* whose labels name one of
these categories must sit in a domain of that category (or of one related to it), so that a
flight ban cannot be filed under a judicial domain to look related to a court's list (SC023)."""

# fmt: off
ACCESS: tuple[str, ...] = (
    "access*", "ticket*", "boarding", "board", "travel", "enrol*", "admission*", "admitted",
    "allowed", "permitted", "permission*", "eligib*", "entitle*", "may buy", "may use",
    "may travel", "may board", "may enrol", "may attend", "may leave", "may apply", "service*",
    "准入", "资格", "允许", "准许", "乘坐", "入学", "办理",
)
# fmt: on
"""Words that name access to an ordinary service. An incentive should name an *advantage*
over the ordinary service (:data:`ADVANTAGE`); one that names only access to it is the ordinary
service, withheld from everyone below a threshold (SC018)."""

# fmt: off
ADVANTAGE: tuple[str, ...] = (
    "discount*", "free", "priority", "prioritis*", "prioritiz*", "expedit*", "fast*",
    "faster", "quick*", "green channel*", "waiv*", "without a deposit", "deposit free",
    "no deposit", "not required", "no need", "easier", "preferential", "bonus*", "reward*",
    "reduced", "reduction*", "fewer", "less frequent", "exempt*", "pay after",
    "missing material*", "simplified", "higher limit*", "subsid*", "award*", "honour*",
    "honor*", "extra", "upgrade*", "voucher*", "prize*", "commend*", "prais*", "cashback",
    "优先", "优惠", "免", "绿色通道", "减", "奖励", "便利", "容缺", "简化", "加快", "补贴",
)
# fmt: on
"""Words that name an advantage over the ordinary service (a discount, priority, a waiver)."""


# fmt: off
GOVERNMENT: tuple[str, ...] = (
    "government*", "governmental", "municipal*", "ministry", "ministries", "commission",
    "bureau*", "administration", "court", "courts", "people's", "county", "counties",
    "provincial", "prefecture*", "public security", "police", "department", "state council",
    "party committee*", "credit office", "city office", "district office", "street office",
    "政府", "局", "委员会", "法院", "公安", "厅", "街道办", "信用办", "党委",
)
# fmt: on
"""Words that name a public body. An authority so called is no private operator (SC022)."""


@dataclass(frozen=True)
class Hit:
    subject: ProtectedSubject
    term: str
    """The lexicon's term (``relig*``)."""
    word: str
    """What the text says (``religious``)."""


_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class _Term:
    index: int
    words: tuple[tuple[str, bool], ...]
    """Each word, and whether it may go on (``relig*``)."""


class _Matcher:
    """Finds the terms of one list in a text: English terms word by word (an index on the
    first word, so a label is read once, not once per term), Chinese ones as substrings."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        self.terms = terms
        self.cjk = [(i, term) for i, term in enumerate(terms) if _is_cjk(term)]
        self.by_word: dict[str, list[_Term]] = {}
        self.by_prefix: dict[str, list[_Term]] = {}
        """Terms whose first word may go on, by its first two letters."""
        for i, term in enumerate(terms):
            if _is_cjk(term):
                continue
            words = tuple(
                (w.rstrip("*"), w.endswith("*")) for w in normalise(term).split() if w.strip("*")
            )
            entry = _Term(i, words)
            if words[0][1]:
                self.by_prefix.setdefault(words[0][0][:2], []).append(entry)
            else:
                self.by_word.setdefault(words[0][0], []).append(entry)

    def find(self, norm: str) -> list[tuple[int, int, str]]:
        """``(position, term index, the text matched)`` for every occurrence."""
        tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(norm)]
        out = []
        for k, (start, _, word) in enumerate(tokens):
            candidates = self.by_word.get(word, []) + self.by_prefix.get(word[:2], [])
            for entry in candidates:
                n = len(entry.words)
                if k + n > len(tokens):
                    continue
                if all(
                    tokens[k + j][2].startswith(w) if prefix else tokens[k + j][2] == w
                    for j, (w, prefix) in enumerate(entry.words)
                ):
                    out.append((start, entry.index, norm[start : tokens[k + n - 1][1]]))
        if _is_cjk(norm):
            for i, term in self.cjk:
                pos = norm.find(term)
                if pos >= 0:
                    out.append((pos, i, term))
        return sorted(out)


def _is_cjk(term: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in term)


@cache
def _matcher(terms: tuple[str, ...]) -> _Matcher:
    return _Matcher(terms)


#: Cyrillic and Greek letters that look like Latin ones ("сhurch" with a Cyrillic с).
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏοαεικνρτυχ",
    "aeopcyxijsdhloaeikvptux",
)


#: Traditional characters of the lexicon's Chinese terms, read as simplified ("親屬" as "亲属").
_TRADITIONAL = str.maketrans(
    "親屬獻監論訪臉醫療謠議評網絡發會禮蘭輪禱輿異級黨員誠愛國兒聯繫係脈關離戶鄰侶殘懷遺傳種維爾紋聲識別態攝據軌跡蹤記錄購買費遊戲煙飲願義見為動無償參",
    "亲属献监论访脸医疗谣议评网络发会礼兰轮祷舆异级党员诚爱国儿联系系脉关离户邻侣残怀遗传种维尔纹声识别态摄据轨迹踪记录购买费游戏烟饮愿义见为动无偿参",
)


def normalise(text: str) -> str:
    """Lower case, compatibility forms folded (full-width letters), invisible format characters
    (zero-width spaces) dropped, look-alike Cyrillic and Greek letters read as Latin and
    traditional Chinese characters of the lexicon's terms as simplified, so that a label cannot
    hide a word from the lexicon by how it is typed; ids split at ``.``, ``_``, ``-`` and ``/``
    into words."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = text.lower().translate(_HOMOGLYPHS).translate(_TRADITIONAL)
    return re.sub(r"[._\-/]+", " ", text)


def words_in(text: str, terms: Iterable[str]) -> list[str]:
    """The terms of ``terms`` that occur in ``text`` (each once, in the order given)."""
    terms = tuple(terms)
    found = {i for _, i, _ in _matcher(terms).find(normalise(text))}
    return [t for i, t in enumerate(terms) if i in found]


_ALL_TERMS: tuple[tuple[ProtectedSubject, str], ...] = tuple(
    (subject, term) for subject, terms in PROTECTED.items() for term in terms
)


_ALL_WORDS: tuple[str, ...] = tuple(term for _, term in _ALL_TERMS)


def screen(text: str, extra: Mapping[ProtectedSubject, tuple[str, ...]] | None = None) -> list[Hit]:
    """Every protected subject ``text`` names, with the first word that gave it away; ``extra``
    adds terms for the kind of item read (:data:`DIMENSION_TERMS`)."""
    first: dict[ProtectedSubject, Hit] = {}
    for _, i, said in _matcher(_ALL_WORDS).find(normalise(text)):
        subject, term = _ALL_TERMS[i]
        first.setdefault(subject, Hit(subject, term, said))
    for subject, terms in (extra or {}).items():
        found = _matcher(terms).find(normalise(text))
        if found and subject not in first:
            _, i, said = found[0]
            first[subject] = Hit(subject, terms[i], said)
    return [first[s] for s in PROTECTED if s in first]


# fmt: off
RESTRICTIVE: tuple[str, ...] = (
    "no", "not", "ban", "bans", "banned", "barred", "restrict*", "prohibit*", "refus*",
    "denied", "deny", "denial", "exclud*", "suspend*", "revok*", "stricter", "may not",
    "cannot", "禁止", "限制", "不得", "取消", "拒绝",
)
# fmt: on
"""Words that name a restriction; an incentive named so is one (SC018)."""
