"""The catalog schema: policy as data.

A catalog is a TOML file (see ``docs/catalog-format.md``). It is validated here for *shape*
(types, required fields, closed vocabularies); whether it is *admissible* (legal basis, protected
domains, publication windows, a way off every list, ...) is the checker's job
(:mod:`socialcredit.policy.checker`), so that a catalog the checker refuses can still be loaded
by the simulator and measured.

All models are frozen and forbid unknown keys, so a typo in a catalog is an error, not a no-op.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_MONTHS = 600
"""No period in a catalog is longer than 50 years (the checker bounds them far tighter)."""

Id = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainCategory(StrEnum):
    """What a domain is about. The protected categories may never carry a record type."""

    # admissible
    judicial = "judicial"
    financial = "financial"
    tax = "tax"
    commercial = "commercial"
    market_regulation = "market_regulation"
    environment = "environment"
    labour = "labour"
    product_quality = "product_quality"
    public_utilities = "public_utilities"
    transport = "transport"
    traffic = "traffic"
    animal_control = "animal_control"
    procurement = "procurement"
    licensing = "licensing"
    public_service = "public_service"
    consumption = "consumption"
    civic = "civic"  # lawful conduct such as volunteering: incentives only, reported
    exit_control = "exit_control"
    employment = "employment"
    honours_subsidies = "honours_subsidies"
    # protected: never scored
    ethnicity = "ethnicity"
    religion = "religion"
    political_opinion = "political_opinion"
    expression = "expression"  # speech, posts, petitioning
    association = "association"  # family, friends, partners, contacts
    health = "health"
    genetics = "genetics"
    biometrics = "biometrics"
    sex_life = "sex_life"
    union_membership = "union_membership"
    lawful_purchases = "lawful_purchases"


PROTECTED_CATEGORIES: frozenset[DomainCategory] = frozenset(
    {
        DomainCategory.ethnicity,
        DomainCategory.religion,
        DomainCategory.political_opinion,
        DomainCategory.expression,
        DomainCategory.association,
        DomainCategory.health,
        DomainCategory.genetics,
        DomainCategory.biometrics,
        DomainCategory.sex_life,
        DomainCategory.union_membership,
        DomainCategory.lawful_purchases,
    }
)


CATEGORY_RELATED: frozenset[tuple[DomainCategory, DomainCategory]] = frozenset(
    {
        (DomainCategory.financial, DomainCategory.commercial),
        (DomainCategory.commercial, DomainCategory.financial),
        (DomainCategory.market_regulation, DomainCategory.licensing),
        (DomainCategory.environment, DomainCategory.licensing),
        (DomainCategory.product_quality, DomainCategory.licensing),
    }
)
"""Pairs of categories whose domains may be ``related`` (read in one direction: a measure in a
domain of the second category is not unrelated to records in a domain of the first). This is
bundled vocabulary, like the categories themselves: a catalog relates its domains within one
category or along these pairs, never otherwise (checker SC019), so that it cannot silence the
cross-domain finding (SC009) by declaring, say, flights related to court judgments."""


class Severity(StrEnum):
    minor = "minor"
    general = "general"
    serious = "serious"


class Nature(StrEnum):
    """What kind of conduct a record type records."""

    violation = "violation"  # a legal violation found by an authority (administrative, criminal)
    default = "default"  # a legal obligation not performed (judgment, contract, tax, debt)
    lawful = "lawful"  # lawful conduct (volunteering, paying on time): incentives only
    role = "role"
    """A legal organisational role (legal representative, ...), or an authority's decision on
    what reaches a person through one (a release, its application or refusal: see
    :class:`Release`); such a record names the organisation as ``counterpart``; never scored."""


class Source(StrEnum):
    """Where a record comes from. Only authority decisions are admissible."""

    authority_decision = "authority_decision"
    court_judgment = "court_judgment"
    credit_reporting = "credit_reporting"  # a regulated lender's repayment report
    # refused by the checker: no surveillance input
    camera = "camera"
    biometric = "biometric"
    location = "location"
    online_activity = "online_activity"
    informant = "informant"


INADMISSIBLE_SOURCES: frozenset[Source] = frozenset(
    {Source.camera, Source.biometric, Source.location, Source.online_activity, Source.informant}
)

SubjectKind = Literal["person", "organisation"]


class Role(StrEnum):
    """How a score, list or measure may reach beyond the subject of a record."""

    # legally defined organisational roles (admissible)
    legal_representative = "legal_representative"
    responsible_person = "responsible_person"
    actual_controller = "actual_controller"
    # not roles in law: refused by the checker
    family = "family"
    friends = "friends"
    contacts = "contacts"
    household = "household"
    colleagues = "colleagues"


LEGAL_ROLES: frozenset[Role] = frozenset(
    {Role.legal_representative, Role.responsible_person, Role.actual_controller}
)


class AuthorityKind(StrEnum):
    """What an authority is; it bounds what it may do (checker SC022)."""

    court = "court"  # a people's court: judgments and enforcement
    administrative_agency = "administrative_agency"  # a government department or city office
    regulator = "regulator"  # a sector regulator (market, finance, environment, ...)
    private_operator = "private_operator"  # a company: contracts and credit reports only


class ProtectedSubject(StrEnum):
    """What a label may betray (checker SC021): the protected subjects of the lexicon
    (:mod:`socialcredit.policy.lexicon`), named in reviewed exemptions."""

    religion = "religion"  # religion and belief
    expression = "expression"  # speech and opinion, online posts
    petitioning = "petitioning"
    political_opinion = "political_opinion"
    association = "association"  # family, relationships, friends, contacts
    health = "health"
    genetics = "genetics"
    ethnicity = "ethnicity"
    biometrics = "biometrics"
    surveillance = "surveillance"  # cameras and location
    lawful_purchases = "lawful_purchases"
    civic_acts = "civic_acts"  # voluntary civic acts: volunteering, donating blood
    sex_life = "sex_life"
    union_membership = "union_membership"


ExemptSection = Literal[
    "authorities",
    "domains",
    "record_types",
    "dimensions",
    "schemes",
    "lists",
    "measures",
    "memoranda",
    "orders",
    "releases",
]


class Exemption(_Model):
    """A reviewed exemption from label screening (SC021) for one item of the same file.

    ``id`` is the item's id (a record type's code); a dimension is ``"<scheme>/<dimension>"``.
    Who reviewed it and why are required: ``socialcredit policy show`` displays them.
    """

    section: ExemptSection
    id: str = Field(min_length=1, max_length=250)
    subjects: tuple[ProtectedSubject, ...] = Field(min_length=1)
    reviewed_by: str = Field(min_length=1)
    reviewed_on: date
    reason: str = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.section}:{self.id}"


class CatalogMeta(_Model):
    id: Id
    title: str
    version: str
    description: str = ""
    extends: tuple[Id, ...] = ()
    sources: tuple[str, ...] = ()
    synthetic: bool = False
    """True for catalogs that exist only for the simulator (the checker refuses them)."""


class Authority(_Model):
    id: Id
    title: str
    jurisdiction: str = "CN"
    kind: AuthorityKind | None = None
    """Court, administrative agency, regulator or private operator (SC022 reports a missing
    kind; a private scheme must be run by a private operator)."""
    description: str = ""


class Domain(_Model):
    id: Id
    title: str
    category: DomainCategory
    related: tuple[Id, ...] = ()
    """Domains this one is related to (a measure there is not 'an unrelated context'); only
    within its category or along :data:`CATEGORY_RELATED`."""
    description: str = ""


class Publication(_Model):
    """How long a record is public (``published``) and how long it has effect.

    ``min_months``: the earliest repair may end it; ``max_months``: when it ends by itself.
    ``None`` for ``max_months`` means it never ends, which the checker refuses.
    """

    published: bool = True
    min_months: int = Field(default=0, ge=0, le=MAX_MONTHS)
    max_months: int | None = Field(default=None, ge=0, le=MAX_MONTHS)
    effect_months: int | None = Field(default=None, ge=0, le=MAX_MONTHS)
    """How long the record counts in scores and lists; defaults to ``max_months``."""
    after_performance_months: int | None = Field(default=None, ge=0, le=MAX_MONTHS)
    """For a default with no fixed end (no ``max_months`` and no ``effect_months``): how long
    it keeps effect after the obligation is performed or the creditor withdraws (PBOC keeps
    negative credit information 5 years from the day the conduct ends); none: it ends then."""

    @model_validator(mode="after")
    def _ordered(self) -> Publication:
        if self.max_months is not None and self.min_months > self.max_months:
            raise ValueError("min_months must not exceed max_months")
        if self.after_performance_months is not None and self.effect is not None:
            raise ValueError(
                "after_performance_months is for a record with no fixed end: remove max_months "
                "and effect_months, or after_performance_months"
            )
        return self

    @property
    def effect(self) -> int | None:
        return self.effect_months if self.effect_months is not None else self.max_months


class RecordType(_Model):
    code: Id
    title: str
    description: str = ""
    domain: Id
    subject_kinds: tuple[SubjectKind, ...] = ("person", "organisation")
    severity: Severity
    nature: Nature = Nature.violation
    legal_basis: str = ""
    publication: Publication
    issuers: tuple[Id, ...] = ()
    source: Source = Source.authority_decision
    repairable: bool = True
    role: Role | None = None
    """For ``nature = "role"``: the role the subject holds in the organisation named by the
    record's ``counterpart``."""


class Band(_Model):
    grade: str
    min: float


class Rule(_Model):
    """Points a record of ``record_type`` adds (positive) or deducts (negative).

    ``by_occurrence`` gives different points for the 1st, 2nd, 3rd, ... occurrence within the
    scheme's period (the last value repeats). ``via`` reaches records of *another* subject; only
    legal organisational roles are admissible.
    """

    record_type: Id
    points: float | None = None
    by_occurrence: tuple[float, ...] = ()
    via: Role | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Rule:
        if (self.points is None) == (not self.by_occurrence):
            raise ValueError("give exactly one of points or by_occurrence")
        return self

    def points_for(self, occurrence: int) -> float:
        """Points for the ``occurrence``-th (1-based) record of this type."""
        if self.points is not None:
            return self.points
        return self.by_occurrence[min(occurrence, len(self.by_occurrence)) - 1]


class Perk(_Model):
    """Incentive measures granted while the score is at or above ``at_least``."""

    at_least: float
    measures: tuple[Id, ...]


class Dimension(_Model):
    id: Id
    title: str
    description: str = ""
    weight: float = Field(gt=0)
    domain: Id
    base: float = Field(default=50.0, ge=0, le=100)
    rules: tuple[Rule, ...] = ()
    via: Role | None = None
    """A dimension computed from other subjects' records (e.g. "personal relationships")."""


class _SchemeBase(_Model):
    id: Id
    title: str
    description: str = ""
    legal_basis: str = ""
    subject_kinds: tuple[SubjectKind, ...] = ("person", "organisation")
    bands: tuple[Band, ...] = ()
    perks: tuple[Perk, ...] = ()
    private: bool = False
    """Operated by a private company on opt-in data (Sesame), not by an authority."""
    operator: Id | None = None
    """The authority that runs the scheme; a ``private`` scheme's must be a private operator."""


class PointsScheme(_SchemeBase):
    """A points score with a base, floor and ceiling (Rongcheng 1000, Fuzhou 0-1000)."""

    kind: Literal["points"]
    base: float
    floor: float
    ceiling: float
    rules: tuple[Rule, ...]


class LicenceScheme(_SchemeBase):
    """A licence of points that can be exhausted within a period (Jinan's 12-point dog licence).

    Deductions count within a rolling ``period_months``; ``rules`` with positive points restore,
    never above ``points``. The licence is exhausted when the balance reaches zero.
    """

    kind: Literal["licence"]
    points: float = Field(gt=0)
    period_months: int = Field(gt=0, le=MAX_MONTHS)
    rules: tuple[Rule, ...]
    renewed_by: tuple[Id, ...] = ()
    """Record types of a renewal (Jinan: the owner passed the course and test): a record of one
    returns the licence with its full points; offences decided on or before it no longer
    count."""


class WeightedScheme(_SchemeBase):
    """A weighted multi-dimension score mapped onto ``[low, high]`` (Sesame 350-950)."""

    kind: Literal["weighted"]
    low: float
    high: float
    dimensions: tuple[Dimension, ...]


Scheme = Annotated[PointsScheme | LicenceScheme | WeightedScheme, Field(discriminator="kind")]


class ListKind(StrEnum):
    blacklist = "blacklist"  # serious dishonesty: restrictions
    redlist = "redlist"  # trustworthy: incentives
    key_attention = "key_attention"  # closer supervision


class Removal(StrEnum):
    """Ways off a list."""

    fulfilment = "fulfilment"  # the obligation was performed
    repair = "repair"  # credit repair granted after the minimum period
    expiry = "expiry"  # the duration ran out
    creditor_request = "creditor_request"
    objection = "objection"  # the record behind it was objected to successfully
    score_recovery = "score_recovery"  # a score-based list: the score recovered
    course_passed = "course_passed"
    """A licence list: the owner passed the course and test, which returns the licence with its
    full points (the scheme's ``renewed_by`` record types record that)."""


class Entry(_Model):
    """How a subject gets onto a list: by records, or by a score condition."""

    record_types: tuple[Id, ...] = ()
    min_count: int = Field(default=1, ge=1)
    within_months: int | None = Field(default=None, gt=0, le=MAX_MONTHS)
    scheme: Id | None = None
    grades: tuple[str, ...] = ()
    score_below: float | None = None
    score_at_least: float | None = None
    exhausted: bool = False
    """For a licence scheme: on the list when the licence is exhausted."""

    @model_validator(mode="after")
    def _one_way(self) -> Entry:
        by_records = bool(self.record_types)
        by_score = self.scheme is not None
        if by_records == by_score:
            raise ValueError("an entry names either record_types or a scheme, not both or neither")
        if by_score and not (
            self.grades
            or self.score_below is not None
            or self.score_at_least is not None
            or self.exhausted
        ):
            raise ValueError(
                "a scheme entry needs grades, score_below, score_at_least or exhausted"
            )
        return self


class Exclusion(StrEnum):
    """Who a list (or a direct order) never reaches, whatever the record says; a record that
    would is refused at filing with the reason. ``minors`` is read from the subject's resident
    ID; the others are facts the filing states (``excluding_facts`` in the import format)."""

    minors = "minors"  # a person under 18 on the decision date (Fa Shi [2017] No. 7, Art. 4)
    security_given = "security_given"  # sufficient and effective security (Art. 3(1))
    assets_seized = "assets_seized"  # assets seized, impounded or frozen cover the debt (Art. 3(2))
    unable_to_pay = "unable_to_pay"  # not able to perform (Art. 3(4): not "able but refuses")
    campus_loan_student = "campus_loan_student"
    """A full-time student who is a debtor in a campus-loan dispute (Fa Fa [2019] No. 35:
    "generally" not listed nor restricted in consumption)."""


STATED_EXCLUSIONS: frozenset[Exclusion] = frozenset(Exclusion) - {Exclusion.minors}
"""Exclusions a filing states as facts (minority is read from the resident ID)."""


class Extension(_Model):
    """A record type whose record extends a fixed-term listing decided while it lasts, and by
    how many months (Fa Shi [2017] No. 7, Art. 2: by one to three years for violent or
    threatening obstruction, or several dishonest acts)."""

    record_type: Id
    months: int = Field(gt=0, le=MAX_MONTHS)


class Term(_Model):
    """How long a listing lasts and how it ends for records of some of the types entering a
    list, where the law sets that per ground (Fa Shi [2017] No. 7: a debtor able to perform who
    refuses, Art. 1(1), stays listed until the obligation is performed or another Art. 10 ground
    applies; the grounds of Art. 1(2)-(6) list for two years, Art. 2, and performing does not end
    that, Art. 10 para. 2).

    ``duration_months = None`` is a listing with no fixed term: it lasts until one of its ways
    off, which the checker accepts only when a way off is in the subject's hands (fulfilment) and
    the term names its legal basis.
    """

    record_types: tuple[Id, ...]
    duration_months: int | None = Field(default=None, gt=0, le=MAX_MONTHS)
    removal: tuple[Removal, ...]
    legal_basis: str = ""
    excludes: tuple[Exclusion, ...] = ()
    """Who is never listed on these grounds (Art. 3 excludes, for Art. 1(1) only, a debtor who
    gave security, whose seized assets cover the debt, or who cannot pay)."""
    extensions: tuple[Extension, ...] = ()
    """Record types that extend a listing on these grounds (a fixed term only): the largest
    extension decided while the listing lasts adds its months to the term."""

    @model_validator(mode="after")
    def _extensions_of_a_fixed_term(self) -> Term:
        if self.extensions and self.duration_months is None:
            raise ValueError("extensions extend a fixed term: set duration_months")
        seen: set[str] = set()
        for ext in self.extensions:
            if ext.record_type in self.record_types:
                raise ValueError(f"{ext.record_type!r} both enters and extends the listing")
            if ext.record_type in seen:
                raise ValueError(f"{ext.record_type!r} is given twice in extensions")
            seen.add(ext.record_type)
        return self


class Objections(_Model):
    """The deadlines a list's law sets for objections to a listing (Fa Shi [2017] No. 7, Art.
    12: a written application for correction is reviewed within 15 days; against a rejection,
    an appeal to the next higher court within 10 days of its service, decided within 15 days).
    The registry's objection deadlines follow them for records entering the list (otherwise
    20 days, PBOC)."""

    review_days: int = Field(gt=0, le=365)
    appeal_within_days: int | None = Field(default=None, gt=0, le=365)
    """An objection filed within this many days of a rejection is an appeal."""
    appeal_decided_days: int | None = Field(default=None, gt=0, le=365)
    legal_basis: str = ""

    @model_validator(mode="after")
    def _appeal_both(self) -> Objections:
        if (self.appeal_within_days is None) != (self.appeal_decided_days is None):
            raise ValueError("give both appeal_within_days and appeal_decided_days, or neither")
        return self


class ListDef(_Model):
    id: Id
    title: str
    description: str = ""
    kind: ListKind
    legal_basis: str = ""
    authority: Id | None = None
    """The designating authority ('whoever designates, repairs')."""
    entry: Entry
    duration_months: int | None = Field(default=None, gt=0, le=MAX_MONTHS)
    removal: tuple[Removal, ...] = ()
    terms: tuple[Term, ...] = ()
    """Per-ground durations and ways off; a record type with no term takes the list's."""
    excludes: tuple[Exclusion, ...] = ()
    """Who the list never lists: a record entering it about such a subject is refused at
    filing, naming the reason."""
    subject_kinds: tuple[SubjectKind, ...] = ("person", "organisation")
    public: bool = True
    objections: Objections | None = None
    """Deadlines for deciding objections to records entering the list, where its law sets
    them."""

    @model_validator(mode="after")
    def _terms_of_entering_types(self) -> ListDef:
        seen: set[str] = set()
        for term in self.terms:
            for code in term.record_types:
                if code not in self.entry.record_types:
                    raise ValueError(f"term names {code!r}, which does not enter the list")
                if code in seen:
                    raise ValueError(f"{code!r} is in two terms")
                seen.add(code)
        return self

    def term_for(self, record_type: str) -> tuple[int | None, tuple[Removal, ...]]:
        """(duration in months, ways off) of a listing by a record of ``record_type``."""
        for term in self.terms:
            if record_type in term.record_types:
                return term.duration_months, term.removal
        return self.duration_months, self.removal

    def extensions_for(self, record_type: str) -> dict[str, int]:
        """Record type -> months, of the records that extend a listing by ``record_type``."""
        for term in self.terms:
            if record_type in term.record_types:
                return {e.record_type: e.months for e in term.extensions}
        return {}

    def exclusions_for(self, record_type: str) -> tuple[Exclusion, ...]:
        """Who a record of ``record_type`` may not list: the list's and its term's."""
        own = next((t.excludes for t in self.terms if record_type in t.record_types), ())
        return tuple(dict.fromkeys((*self.excludes, *own)))


class Order(_Model):
    """Measures ordered directly by a record, not through a list: a court's consumption
    restriction order (Fa Shi [2015] No. 17, Art. 1) restricts a debtor who did not pay within
    the enforcement notice's period. The order lasts ``duration_months`` (``None``: until a way
    off) from the record's date, never beyond the record's effect, and ends early by its
    ``removal`` ways (fulfilment: the debt paid; creditor_request: the creditor consents;
    repair: the court lifts it early, e.g. on security given; objection: a wrong record)."""

    id: Id
    title: str
    description: str = ""
    legal_basis: str = ""
    authority: Id | None = None
    record_types: tuple[Id, ...] = Field(min_length=1)
    measures: tuple[Id, ...] = Field(min_length=1)
    duration_months: int | None = Field(default=None, gt=0, le=MAX_MONTHS)
    removal: tuple[Removal, ...] = ()
    excludes: tuple[Exclusion, ...] = ()
    """Who the order never reaches (refused at filing, as a list's)."""
    extends_to: tuple[Role, ...] = ()
    """Roles the measures also reach, as a memorandum's do: an order on a company restricts its
    legal representative, principal, directly responsible persons and actual controller too
    (Fa Shi [2015] No. 17, Art. 3 para. 2), while they hold the role."""

    @model_validator(mode="after")
    def _ways_of_an_order(self) -> Order:
        for way in (Removal.score_recovery, Removal.course_passed):
            if way in self.removal:
                raise ValueError(f"{way.value} ends a score-based list, not an order")
        return self


class MeasureKind(StrEnum):
    restriction = "restriction"
    incentive = "incentive"


class Measure(_Model):
    id: Id
    title: str
    description: str = ""
    kind: MeasureKind
    domain: Id
    legal_basis: str = ""


class Memorandum(_Model):
    """A joint punishment or incentive memorandum: lists -> measures across agencies."""

    id: Id
    title: str
    legal_basis: str = ""
    signatories: tuple[str, ...] = ()
    lists: tuple[Id, ...]
    measures: tuple[Id, ...]
    extends_to: tuple[Role, ...] = ()
    """Roles the measures also reach (a company debtor's legal representative, ...)."""


class Release(_Model):
    """How a person reached through a legal role in an organisation has what reaches him that
    way lifted for himself: he applies, and the authority decides within ``decide_days``.

    Each step is a record about the person naming the organisation as ``counterpart`` (record
    types of ``nature = "role"`` and no ``role``): the application as the authority registered
    it (``applications``), and its decision, a grant (``record_types``) or a refusal
    (``refusals``). A grant ends, from its date, the measures of the memoranda and orders in
    ``lifts`` that reach the person through one of ``roles`` in that organisation (Fa Shi
    [2015] No. 17, Art. 3 para. 2: an officer of a restricted unit spending personal funds for
    private consumption, allowed on application; Fa Fa [2019] No. 35, item 17(2): a replaced
    legal representative who is neither the actual controller nor directly responsible). What
    reaches him through another role, or from another organisation, is untouched."""

    id: Id
    title: str
    description: str = ""
    legal_basis: str = ""
    authority: Id | None = None
    """Who decides (the court that restricted the organisation)."""
    roles: tuple[Role, ...] = Field(min_length=1)
    lifts: tuple[Id, ...] = Field(min_length=1)
    """Memoranda and orders whose reach through ``roles`` a grant ends."""
    record_types: tuple[Id, ...] = Field(min_length=1)
    """The grant."""
    applications: tuple[Id, ...] = ()
    refusals: tuple[Id, ...] = ()
    decide_days: int | None = Field(default=None, gt=0, le=365)
    """Days the authority has to decide an application (pending after that: overdue)."""
    decide_basis: str = ""
    barred_by: tuple[Role, ...] = ()
    """Roles in the organisation that bar a grant (a replaced representative must not be the
    actual controller): the registry's workflow refuses to grant to a holder of one."""

    @model_validator(mode="after")
    def _steps(self) -> Release:
        if self.applications and self.decide_days is None:
            raise ValueError("an application is decided within decide_days: set it")
        steps = [*self.record_types, *self.applications, *self.refusals]
        if len(set(steps)) != len(steps):
            raise ValueError("a record type is one step only (application, grant or refusal)")
        return self

    def step(self, record_type: str) -> str | None:
        """``application``, ``grant``, ``refusal`` or ``None`` for a record of the type."""
        if record_type in self.record_types:
            return "grant"
        if record_type in self.applications:
            return "application"
        if record_type in self.refusals:
            return "refusal"
        return None


class Catalog(_Model):
    """One catalog file, or several merged (see :func:`socialcredit.policy.loader.load`)."""

    catalog: CatalogMeta
    authorities: tuple[Authority, ...] = ()
    domains: tuple[Domain, ...] = ()
    record_types: tuple[RecordType, ...] = ()
    schemes: tuple[Scheme, ...] = ()
    lists: tuple[ListDef, ...] = ()
    measures: tuple[Measure, ...] = ()
    memoranda: tuple[Memorandum, ...] = ()
    orders: tuple[Order, ...] = ()
    releases: tuple[Release, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
