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
    "INNOCENT",
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
        "imam*", "pastor", "pastors", "congregation*", "pilgrim*", "atheis*", "synagogue*",
        "jew", "jews", "jewish", "judaism", "hindu*", "taois*", "daois*", "sikh*", "shaman*",
        "hijab*", "headscarf*", "headscarves", "burqa*", "niqab*", "halal", "kosher", "torah",
        "talmud", "scripture*", "sermon*", "priest*", "rabbi*", "nun", "nuns", "lama", "lamas",
        "dalai", "missionar*", "baptis*", "monaster*", "shrine*", "hajj", "umrah", "ramadan",
        "eid al fitr", "eid al adha", "passover", "diwali", "hanukkah", "yom kippur", "vesak",
        "easter", "christmas",
        "宗教", "信仰", "教会", "教堂", "寺庙", "清真", "礼拜", "佛教", "基督", "伊斯兰", "法轮",
        "邪教", "信徒", "祷告", "祈祷", "穆斯林", "道教", "犹太", "印度教", "天主教",
        "东正教", "喇嘛", "圣经", "古兰经", "可兰经", "斋月", "斋戒", "开斋节", "古尔邦节",
        "圣诞", "念经", "zongjiao", "xinyang", "jiaohui", "zong jiao", "xin yang", "jiao hui",
    ),
    S.expression: (
        "speech*", "political opinion*", "personal opinion*", "opinions expressed",
        "expressed opinion*", "posting", "online post*", "social media post*", "blog*",
        "weibo", "wechat", "tweet*", "social media", "online comment*", "criticis*",
        "criticiz*", "dissent*", "rumour*", "rumor*", "protest*", "slogan*", "censor*",
        "publish* online", "outspoken", "demonstrator*", "street demonstration*",
        "public demonstration*", "mass demonstration*", "political demonstration*",
        "public assembl*", "unlawful assembl*", "illegal assembl*", "freedom of assembly",
        "mass gathering*", "illegal gathering*", "unlawful gathering*", "unregistered gathering*",
        "unauthoris* gathering*", "unauthoriz* gathering*",
        "言论", "发帖", "帖子", "网络评论", "谣言", "抗议", "舆论", "批评", "异议", "微博",
        "朋友圈", "示威", "游行", "集会", "静坐", "yanlun", "fatie",
    ),
    S.petitioning: (
        "petition*", "xinfang", "letters and visits", "complain* to higher",
        "上访", "信访", "越级", "shangfang", "yueji", "shang fang", "xin fang", "yue ji",
    ),
    S.political_opinion: (
        "politic*", "party member*", "ideolog*", "patriot*", "regime critic*", "communist*",
        "voter*",
        "政治", "党员", "思想", "忠诚", "爱国", "共产党", "入党", "党籍",
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
        "interpersonal*", "social ties", "social graph", "people they know", "mother",
        "mothers", "father", "fathers", "child of", "grandparent*", "grandmother*", "grandfather*",
        "grandchild*", "grandson*", "granddaughter*", "uncle", "uncles", "aunt", "aunts",
        "nephew*", "niece*", "stepchild*", "stepmother*", "stepfather*", "colleague*",
        "coworker*", "co worker*", "classmate*", "schoolmate*", "fellow student*",
        "guilt by association", "collective punishment",
        "家庭", "家人", "家属", "亲属", "亲戚", "配偶", "妻子", "丈夫", "父母", "子女", "儿子",
        "女儿", "兄弟", "姐妹", "朋友", "好友", "联系人", "社交", "人脉", "关系网", "婚姻", "离婚",
        "同户", "户主", "邻居", "伴侣", "母亲", "父亲", "妈妈", "爸爸", "孩子", "亲人", "祖父",
        "祖母", "爷爷", "奶奶", "外公", "外婆", "孙子", "孙女", "叔叔", "阿姨", "舅舅", "岳父",
        "岳母", "同事", "同学", "株连", "连坐", "qinshu", "qinqi", "peiou", "jiashu", "jiaren",
        "pengyou", "renmai", "shejiao", "qin shu", "qin qi", "jia shu", "jia ren",
    ),
    S.health: (
        "health*", "medical", "medicine*", "disease*", "illness*", "ill", "sick*",
        "hospital*", "patient*", "diagnos*", "mental*", "psychiatr*", "disabilit*", "disabled",
        "pregnan*", "hiv", "aids", "vaccin*", "therap*", "addict*", "clinic*", "depression",
        "depressive", "cancer*", "tumour*", "tumor*", "abortion*", "covid*", "coronavirus",
        "quarantin*", "diabet*", "hepatitis", "tubercul*", "epilep*", "dementia", "alzheimer*",
        "autis*", "schizophren*", "bipolar", "psycholog*", "infertil*", "contracepti*",
        "nucleic acid", "wheelchair*",
        "健康", "医疗", "疾病", "医院", "病人", "患者", "残疾", "怀孕", "疫苗", "精神病", "病史",
        "抑郁", "诊所", "癌症", "肿瘤", "堕胎", "人工流产", "新冠", "核酸", "居家隔离",
        "集中隔离", "隔离观察", "传染病", "艾滋", "乙肝", "精神障碍", "心理疾病", "自闭症",
        "糖尿病", "jibing", "yiliao", "ji bing", "yi liao",
    ),
    S.genetics: ("genetic*", "gene", "genes", "dna", "genom*", "基因", "遗传"),
    S.ethnicity: (
        "ethnic*", "race", "races", "racial", "minority group*", "national minorit*",
        "uyghur*", "uighur*", "tibetan*", "hui", "nationality", "kazakh*", "kyrgyz*", "uzbek*",
        "tajik*", "han chinese",
        "民族", "种族", "维吾尔", "藏族", "回族", "哈萨克", "柯尔克孜", "塔吉克", "乌孜别克",
        "蒙古族", "壮族", "满族", "苗族", "彝族", "朝鲜族", "土家族", "汉族", "minzu",
        "shaoshu minzu", "min zu",
    ),
    S.biometrics: (
        "biometric*", "facial", "face recognition", "face scan*", "face match*", "face data",
        "fingerprint*", "iris", "voiceprint*", "gait",
        "人脸", "面部", "指纹", "虹膜", "声纹", "生物识别", "步态", "人像识别", "renlian",
        "zhiwen", "ren lian", "zhi wen",
    ),
    S.surveillance: (
        "camera*", "cctv", "surveil*", "video surveil*", "video footage", "video network*",
        "video monitor*", "footage", "gps", "location data", "location trac*", "geolocat*",
        "tracked by", "whereabouts", "movement data", "movements of", "skynet", "sharp eyes",
        "monitor* person*", "phone data", "browsing", "online activit*", "sensor network*",
        "plate recogni*", "anpr", "alpr", "cell tower*", "cell site*", "base station*",
        "chat log*", "chat record*", "chat histor*", "chat message*", "call record*",
        "call log*", "call detail*", "electronic eye*", "dashcam*", "bodycam*", "webcam*",
        "wifi probe*", "wi fi probe*", "imsi", "search histor*", "search record*",
        "摄像", "监控", "天网", "雪亮", "定位", "位置信息", "位置数据", "轨迹", "行踪", "上网记录",
        "电子眼", "抓拍", "卡口", "车牌识别", "基站", "聊天记录", "搜索记录", "通话记录",
        "浏览记录", "jiankong", "shexiang", "tianwang", "xueliang", "jian kong", "she xiang",
        "tian wang", "xue liang",
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
        "juanxian", "cishan", "zhi yuan", "xian xue",
    ),
    S.sex_life: (
        "sexual*", "sex life", "lgbt*", "homosexual*", "gay", "lesbian*", "transgender*",
        "性取向", "同性", "性生活",
    ),
    S.union_membership: (
        "trade union*", "union member*", "unionis*", "on strike", "strikers", "labour strike*",
        "labor strike*", "work stoppage*", "walkout*", "industrial action",
        "工会", "罢工", "罢课", "罢市",
    ),
}
# fmt: on
"""Terms per protected subject. Kept short and concrete; each term is a word a catalog author
would use to name the subject plainly. Words with innocent legal senses are left out or
narrowed ("bad faith", "parent company", "labour relationship", "wastewater treatment",
"minority shareholder", "audit opinion", "face value", "market exit" are not hits): "faith"
alone ("good faith"), "partner" ("business partner"), "strike" ("strike off the register"),
"demonstration" ("demonstration city"), "gathering" ("information gathering"), "assembly"
("assembly line"), "election" and "voting" (a company's board), "epidemic" and "infectious"
(the law on epidemic prevention orders), "sensor" (emission monitoring), region names such
as Xinjiang or Tibet, and "隔离" (also a road's median) are left out or narrowed to the
phrases that name the subject. Chinese terms that occur inside innocent words are read
with :data:`INNOCENT`."""

# fmt: off
INNOCENT: Mapping[str, tuple[str, ...]] = {
    "同事": ("共同事", "相同事", "不同事", "如同事", "同事项", "同事务", "同事业", "同事件",
             "同事实", "同事由"),
    "同学": ("共同学", "相同学", "不同学", "同学历"),
    "游行": ("旅游行", "出游行", "上游行", "下游行", "中游行", "网游行", "手游行", "游行业",
             "游行为"),
    "集会": ("召集会", "集会议", "募集会", "收集会", "采集会", "汇集会", "征集会", "搜集会",
             "密集会"),
    "道教": ("报道教", "知道教", "渠道教", "街道教", "通道教", "轨道教", "频道教", "管道教",
             "人道教", "车道教", "航道教", "隧道教", "赛道教", "味道教", "难道教"),
}
# fmt: on
"""Chinese words that contain a term without naming its subject ("共同事项", common matters,
contains 同事, colleague; "旅游行业", the tourism industry, contains 游行, a march): an
occurrence of the term inside one of them is not a hit."""

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
                while pos >= 0 and _innocent(norm, pos, term):
                    pos = norm.find(term, pos + 1)
                if pos >= 0:
                    out.append((pos, i, term))
        return sorted(out)


def _innocent(text: str, pos: int, term: str) -> bool:
    """Whether the term at ``pos`` is part of a word of :data:`INNOCENT`."""
    for word in INNOCENT.get(term, ()):
        start = pos - word.find(term)
        if start >= 0 and text.startswith(word, start):
            return True
    return False


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

# fmt: off
_LOOKALIKES: Mapping[str, str] = {
    "a": "\u0251\u0391\u03b1\u0410\u0430\u13aa\u15c5\ua4ee",
    "b": "\u0184\u0392\u0412\u042c\u13cf\u13f4\u15af\u15f7\ua4d0\ua7b4",
    "c": "\u03f2\u03f9\u0421\u0441\u13df\u1d04\u2ca4\u2ca5\ua4da\uabaf",
    "d": "\u0501\u13a0\u13e7\u146f\u15de\u15ea\ua4d2\ua4d3",
    "e": "\u0395\u0415\u0435\u04bd\u13ac\u2d39\ua4f0\uab32",
    "f": "\u03dc\u0584\u1574\u1e9d\ua4dd\ua798\ua799\uab35",
    "g": "\u018d\u0261\u050c\u0581\u13c0\u13f3\u1d83\ua4d6",
    "h": "\u0397\u041d\u04bb\u0570\u13bb\u13c2\u157c\u2c8e\ua4e7",
    "i": "\u0131\u0196\u0269\u026a\u0399\u03b9\u0406\u0456\u04c0\u04cf\u13a5\u1fbe"
         "\u2c92\ua647\uab75",
    "j": "\u037f\u03f3\u0408\u0458\u13ab\u148d\ua4d9\ua7b2",
    "k": "\u039a\u041a\u13e6\u16d5\u2c94\ua4d7",
    "l": "\u01c0\u13de\u14aa\u16c1\u2cd0\u2d4f\ua4e1\ua4f2",
    "m": "\u039c\u03fa\u041c\u13b7\u15f0\u16d6\u2c98\ua4df",
    "n": "\u039d\u0578\u057c\u2c9a\ua4e0",
    "o": "\u039f\u03bf\u03c3\u041e\u043e\u0555\u0585\u1d0f\u1d11\u2c9e\u2c9f\u2d54"
         "\ua4f3\uab3d",
    "p": "\u03a1\u03c1\u03f1\u0420\u0440\u13e2\u146d\u2ca2\u2ca3\ua4d1",
    "q": "\u051b\u0563\u0566\u2d55",
    "r": "\u01a6\u0433\u13a1\u13d2\u1587\u1d26\u2c85\ua4e3\uab47\uab48\uab81",
    "s": "\u01bd\u0405\u0455\u054f\u13d5\u13da\ua4e2\ua731\uabaa",
    "t": "\u03a4\u0422\u13a2\u2ca6\ua4d4",
    "u": "\u028b\u03c5\u054d\u057d\u144c\u1d1c\ua4f4\ua79f\uab4e\uab52",
    "v": "\u03bd\u0474\u0475\u13d9\u142f\u1d20\u2d38\ua4e6\uaba9",
    "w": "\u026f\u0461\u051c\u051d\u0561\u13b3\u13d4\u1d21\ua4ea\uab83",
    "x": "\u03a7\u0425\u0445\u1541\u157d\u16b7\u2cac\u2d5d\ua4eb\ua7b3",
    "y": "\u0263\u028f\u03a5\u03b3\u03d2\u0423\u0443\u04ae\u04af\u13a9\u13bd\u1d8c"
         "\u1eff\u2ca8\ua4ec\uab5a",
    "z": "\u0396\u13c3\u1d22\ua4dc\uab93",
}
# fmt: on
"""Letters of other scripts that look like Latin ones, from Unicode's confusables (UTS #39,
``confusables.txt``: Greek, Cyrillic, Armenian, Cherokee, Lisu, Coptic, Canadian syllabics,
Latin small capitals and the Turkish dotless ı), with the remaining Latin small capitals
(:func:`_small_capitals`): "Ꮯhurch" (Cherokee), "ᴄhurch" (a small capital), "Ϲhurch" (a Greek
lunate sigma) and "relıgion" read as Latin."""


def _small_capitals() -> dict[int, str]:
    """Every ``LATIN LETTER SMALL CAPITAL X`` as ``x`` (ɢ, ʜ, ᴍ, ...)."""
    out = {}
    for cp in (*range(0x0250, 0x02B0), *range(0x1D00, 0x1D80), *range(0xA720, 0xA800)):
        name = unicodedata.name(chr(cp), "")
        if name.startswith("LATIN LETTER SMALL CAPITAL ") and len(name.split()[-1]) == 1:
            out[cp] = name.split()[-1].lower()
    return out


_CONFUSABLES: dict[int, str] = _small_capitals() | {
    ord(ch): latin for latin, chars in _LOOKALIKES.items() for ch in chars
}


#: Traditional and variant characters of the lexicon's Chinese terms, read as simplified
#: ("親屬" as "亲属", the variant "敎" as "教").
_TRADITIONAL = str.maketrans(
    "親屬獻監論訪臉醫療謠議評網絡發會禮蘭輪禱輿異級黨員誠愛國兒聯繫係脈關離戶鄰侶殘懷遺傳種維爾紋聲識別態攝據軌跡蹤記錄購買費遊戲煙飲願義見為動無償參"
    "敎鬱薩學電車罷聖經齋連猶診腫墮產靜媽爺孫瀏覽話",
    "亲属献监论访脸医疗谣议评网络发会礼兰轮祷舆异级党员诚爱国儿联系系脉关离户邻侣残怀遗传种维尔纹声识别态摄据轨迹踪记录购买费游戏烟饮愿义见为动无偿参"
    "教郁萨学电车罢圣经斋连犹诊肿堕产静妈爷孙浏览话",
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

#: Spaces and punctuation between two Chinese characters ("宗 教", "上·访").
_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[^\w{_CJK}]+(?=[{_CJK}])")


def normalise(text: str) -> str:
    """Lower case, compatibility forms folded (full-width letters), combining marks dropped
    (accents, pinyin tone marks: "réligion", "shàngfǎng"), invisible format characters
    (zero-width spaces) dropped, letters of other scripts that look like Latin ones read as
    Latin (:data:`_LOOKALIKES`) and traditional or variant Chinese characters of the lexicon's
    terms as simplified, so that a label cannot hide a word from the lexicon by how it is
    typed; ids split at ``.``, ``_``, ``-`` and ``/`` into words, and spaces or punctuation
    between Chinese characters dropped ("宗 教" is "宗教")."""
    text = text.translate(_CONFUSABLES)  # before NFKC folds a lunate sigma (Ϲ) into Σ
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    text = unicodedata.normalize("NFC", text)
    text = text.lower().translate(_HOMOGLYPHS).translate(_CONFUSABLES).translate(_TRADITIONAL)
    text = re.sub(r"[._\-/]+", " ", text)
    return _BETWEEN_CJK.sub("", text)


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
