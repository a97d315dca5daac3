"""One engine for any catalog: conduct becomes records, and the rulebook folds them.

A regime here is a list of catalogs and nothing more. The catalogs compile into a
:class:`~socialcredit.rules.Rulebook`; every day, conduct (the scenario's rates per record type
and income tier) becomes records in a per-agent log, and each agent whose facts changed is
folded again with the very functions the registry's batch path runs
(:mod:`socialcredit.rules.fold`): scores and grades of every scheme, every list entered by
records or by a score condition with its duration and ways off, every memorandum's measures.
Nothing about a list, a scheme or a measure is written here; a catalog feature this engine
cannot run is refused by name before the run starts (:func:`socialcredit.rules.require`).

What an agent's log holds per record: its type, its day, and its future, drawn when it is made
(whether it was attributed to the wrong person; when an objection was upheld; when the
obligation was fulfilled; when a repair was granted). A fold on day ``d`` sees only what has
happened by ``d``, exactly as :func:`socialcredit.registry.evaluate.evaluate` does on ``as_of``.

Work is proportional to events: records are sampled per (region, tier) group as a Poisson count
then that many agents; an agent is folded when a record of its own (or of a person its scores
reach through a link) is made, and again on the next day anything in its facts changes (an
effect ends, a list stretch ends, an objection is upheld...), kept in time-bucketed queues.
Random numbers come from SplitMix64 streams keyed by (seed, record type, region, day).

Links between people exist only for synthetic catalogs (the checker refuses them): a household
is consecutive agents, an agent's friends the next agents in index order. A rule ``via`` family
or household counts the records of the agent's household, ``via`` friends those of its friends;
a memorandum extended to family or household restricts the whole household of a listed agent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import prange
from pydantic import Field, field_validator, model_validator

from socialcredit.daycount import NEVER, add_months, from_day, to_day
from socialcredit.errors import InputError
from socialcredit.identifiers import RETIRED_COUNTY, organisation_code, resident_id
from socialcredit.policy.loader import Loaded, load
from socialcredit.policy.schema import INADMISSIBLE_SOURCES, Nature
from socialcredit.rules import Feature, Rulebook, Unsupported, compile_catalog, require, rules_of
from socialcredit.rules.features import FILING_ONLY, THROUGH_ROLES
from socialcredit.rules.fold import (
    compiled,
    grade,
    holds,
    membership,
    order_span,
    record_window,
    score_at,
    stretches,
)
from socialcredit.rules.tables import (
    LICENCE,
    NO_LIMIT,
    WEIGHTED,
    Lists,
    Orders,
    Records,
    Rules,
    Schemes,
    Types,
)
from socialcredit.sim.common import Frozen, gini, validated, write_outputs
from socialcredit.sim.population import NATIONAL_2020, Layout, layout
from socialcredit.sim.streams import below, geometric, mix, poisson, stream_key, uniform
from socialcredit.sim.world import (
    Cameras,
    DueProcess,
    ObservationRow,
    Observe,
    ProcessRow,
    Tier,
    World,
    observed_processes,
    rate_in,
    refuse_doers_beyond,
    stream_key_of,
)

__all__ = [
    "CAUSES",
    "RUNS",
    "ConductScenario",
    "FoldRegime",
    "FoldRun",
    "Partition",
    "counted_against",
    "load_fold_regime",
]

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
B1 = npt.NDArray[np.bool_]

RUNS = (
    "scheme.points", "scheme.licence", "scheme.weighted", "scheme.grades", "scheme.perks",
    "rule.escalation", "rule.via.family", "rule.via.household", "rule.via.friends",
    "list.by_records",
    "list.terms",
    "record.until_performed", "list.min_count", "list.within", "list.duration", "list.grades",
    "list.score_below", "list.score_at_least", "list.exhausted", "way_off.fulfilment",
    "way_off.repair", "way_off.creditor_request", "way_off.score_recovery",
    "memorandum.reach.family", "memorandum.reach.household",
    "memorandum.reach.legal_representative", "memorandum.reach.responsible_person",
    "memorandum.reach.actual_controller", "record.role", "subject_kinds",
    "list.extension", "order.direct", "scheme.renewal", "way_off.course_passed",
    *sorted(FILING_ONLY),
    *sorted(THROUGH_ROLES),
)  # fmt: skip
"""The catalog features this engine runs. Reach to legal roles (a list's memoranda, an order's
``extends_to``) runs when the scenario has organisations (each with a legal representative;
what reaches a responsible person or an actual controller reaches the representative, the one
role this world gives a person); role records themselves are not made as conduct, so neither
are a release's application and grant: no representative of a run is released (the rule runs,
its event never happens). Links to contacts or colleagues are refused (this world has no such
relation)."""

# per-agent flags
GUILTY, EVER_LISTED = 1, 2
MAX_LISTS = 63
UNSCORED = -2  # grade of an agent no record of which counts in the scheme
PARTITION_AGENTS = 50_000_000
"""Agents a partition holds at most by default (about 2.5 GB of state for a small catalog)."""
REPAIR_DECIDED_AFTER = 19
"""Days from a repair application to its grant: the registry's 13 working days."""
PARALLEL_FOLDS = 8192
"""Folds of one day below which they run on the calling thread: waking the workers costs more
than such a day's folds (a fold takes a microsecond or two), up to milliseconds a day on a busy
machine. The same bytes either way (each fold writes its own row)."""


_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(fn: _F) -> _F:
    """Compiles one of the engine's kernels (cached, releasing the GIL) without Numba's reference
    counting: they allocate nothing and only borrow arrays the run holds throughout. With it,
    every call of a kernel taking the run's NamedTuples of arrays took and gave back a reference
    to each of their arrays (two atomic operations per array, hundreds per call): most of the
    cost of a record and of applying a fold. A kernel that allocates does not compile this way
    (keep its scratch in :class:`Work`). The rulebook's folds it calls name their own setting
    (:mod:`socialcredit.rules.fold`: on for those that allocate), so they compile the same
    whichever caller compiles them first; a function that names none would take its first
    caller's."""
    return compiled(nrt=False)(fn)


def kernel_on_every_worker(fn: _F) -> _F:
    """:func:`kernel` for a kernel with a ``prange`` loop, spread over Numba's workers."""
    return compiled(nrt=False, parallel=True)(fn)


_NEVER = int(NEVER)
_ROLES = {"legal_representative", "responsible_person", "actual_controller", "principal"}


# --------------------------------------------------------------------------------------------
# The scenario: conduct, links, due process, use of services


class Organisations(Frozen):
    """Organisations in each region, after its persons, each with a legal representative: a
    person of its region fixed by its position (:meth:`Layout.representative`)."""

    per_person: float = Field(ge=0, le=1)
    """Organisations per person (0: none)."""
    records_factor: dict[str, float] = Field(default_factory=dict)
    """Record type -> an organisation's rate of such records, as a multiple of the average
    person's (records of types not named here are never about an organisation)."""


class ConductScenario(Frozen):
    kind: str = "conduct"
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    represented: int = Field(default=NATIONAL_2020, gt=0)
    tiers: dict[str, Tier]
    records_per_year: dict[str, float | dict[int, float]]
    """Record type -> records per person per year: one rate, or a table by year (the rate of
    the latest year listed at or before a day's year; none before the first)."""
    records_from: dict[str, date] = Field(default_factory=dict)
    concentration: dict[str, float] = Field(default_factory=dict)
    """Record type -> the share of each group among whom its records fall."""
    repeat_factor: dict[str, float] = Field(default_factory=dict)
    """Record type -> how each earlier record of that type multiplies a person's rate
    (0.5: every offence halves the rate of the next)."""
    enrolled: float = Field(default=1.0, gt=0, le=1)
    """Share of each group that opted in to the catalogs' private schemes (``private = true``):
    records of the types those schemes count are made by the enrolled only, at
    ``records_per_year`` per enrolled person."""
    among_scored: dict[str, str] = Field(default_factory=dict)
    """Record type -> a scheme: records of the type are made only by people whom that scheme
    already scores (Jinan's owners who lost points volunteer), at the given rate per such
    person."""
    camera_coverage: float = Field(default=1.0, ge=0, le=1)
    """Share of conduct recorded by cameras (records of types whose source is a camera) that
    the cameras catch."""
    camera_misattribution: float = Field(default=0.0, ge=0, le=1)
    """Share of the cameras' records that name someone other than the person who did it."""
    household_size: int = Field(default=1, ge=1, le=255)
    friends: int = Field(default=0, ge=0, le=255)
    organisations: Organisations | None = None
    due_process: DueProcess = Field(default_factory=DueProcess)

    def rate_in(self, code: str, year: int) -> float:
        """Records of type ``code`` per person per year in ``year``."""
        return rate_in(self.records_per_year.get(code, 0.0), year)

    @model_validator(mode="after")
    def _consistent(self) -> ConductScenario:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        total = sum(t.share for t in self.tiers.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"tier shares must sum to 1 (they sum to {total:g})")
        for field in ("records_from", "concentration", "repeat_factor", "among_scored"):
            extra = set(getattr(self, field)) - set(self.records_per_year)
            if extra:
                raise ValueError(f"{field} names record types without a rate: {sorted(extra)}")
        for code, share in self.concentration.items():
            if not 0 < share <= 1:
                raise ValueError(f"concentration of {code} must be in (0, 1]")
        for code, factor in self.repeat_factor.items():
            if not 0 < factor <= 1:
                raise ValueError(f"repeat_factor of {code} must be in (0, 1]")
        for code, rate in self.records_per_year.items():
            values = rate.values() if isinstance(rate, dict) else [rate]
            if any(v < 0 for v in values):
                raise ValueError(f"records_per_year.{code} must not be negative")
        if self.organisations is not None:
            extra = set(self.organisations.records_factor) - set(self.records_per_year)
            if extra:
                raise ValueError(
                    f"organisations.records_factor names record types without a rate: "
                    f"{sorted(extra)}"
                )
        return self


def counted_against(index: Any) -> set[str]:
    """The record types of lawful conduct that a catalog of ``index`` counts against the person:
    a scheme's rule deducting points for it, or a list it enters."""
    counted = {
        rule.record_type
        for scheme in index.schemes.values()
        for rule, _dim, _via in rules_of(scheme)
        if any(p < 0 for p in ([rule.points] if rule.points is not None else rule.by_occurrence))
    } | {code for lst in index.lists.values() for code in lst.entry.record_types}
    return {
        code for code in counted
        if code in index.record_types and index.record_types[code].nature is Nature.lawful
    }  # fmt: skip


def load_conduct_scenario(raw: dict[str, Any], source: str) -> ConductScenario:
    return validated(ConductScenario, raw, source=source, field="scenario")


# --------------------------------------------------------------------------------------------
# The regime: catalogs


class FoldRegimeFile(Frozen):
    name: str
    description: str = ""
    catalogs: tuple[str, ...]
    observe: tuple[Observe, ...] = ()
    """Over a world: which conduct becomes which record type, where and from when."""
    services: dict[str, str] = Field(default_factory=dict)
    """Over a world: measure id -> the service of the world's tiers whose uses it can deny."""
    cameras: Cameras | None = None
    """Over a world: the cameras that make the records of camera-made types."""
    deterrence: dict[str, float] = Field(default_factory=dict)
    """Over a world: process -> a person's rate of it while any restriction holds them, as a
    multiple of the rate otherwise (in place of the world's ``deterred``)."""

    @field_validator("deterrence")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        for name, factor in value.items():
            if not 0 <= factor <= 1:
                raise ValueError(f"{name}: {factor} is not a share in [0, 1]")
        return value


@dataclass(frozen=True)
class FoldRegime:
    spec: FoldRegimeFile
    loaded: Loaded
    book: Rulebook

    @property
    def name(self) -> str:
        return self.spec.name

    @classmethod
    def of(cls, loaded: Loaded, name: str) -> FoldRegime:
        """A regime of one loaded catalog (refused if it uses a feature this engine lacks)."""
        book = compile_catalog(loaded)
        require(book.features, RUNS, driver=f"the simulator (regime {name})")
        if len(book.list_ids) > MAX_LISTS:
            raise InputError("regime.catalogs", f"more than {MAX_LISTS} lists in the catalogs")
        return cls(FoldRegimeFile(name=name, catalogs=(loaded.id,)), loaded, book)


def load_fold_regime(raw: dict[str, Any], source: str, *, base: Path | None = None) -> FoldRegime:
    """A regime: its catalogs (bundled names, or paths relative to the file naming them)."""
    spec = validated(FoldRegimeFile, raw, source=source, field="regime")
    refs: list[str | Path] = []
    for ref in spec.catalogs:
        if ref.endswith(".toml") and base is not None and not Path(ref).is_absolute():
            refs.append(base / ref)
        else:
            refs.append(ref)
    regime = FoldRegime.of(load(*refs), spec.name)
    return FoldRegime(spec, regime.loaded, regime.book)


# --------------------------------------------------------------------------------------------
# Tables the kernel reads


class Conduct(NamedTuple):
    """What people do (per conduct process, regime-free) and what the regime records of it
    (observations, per process), with the groups of the partition.

    A process's events are drawn from streams keyed by the process and the group, and each
    event draws its whole future from a stream of its own (who is named by mistake, whether an
    objection would be upheld, when the obligation is performed), so the same seed gives the
    same people doing the same things under every regime: what differs is what the regime's
    observations make of them (common random numbers)."""

    rate: F64
    """[process, tier, period] events per person per day (debtor factor applied); the
    organisations' column follows the tiers."""
    period: I32
    """[day index] the period (a calendar year of the run) whose rates hold that day."""
    first_day: I32
    """[process]: the first day index of its events."""
    last_day: I32
    """[process]: the last day index of its events."""
    share: F64
    """[process]: the share of each group among whom its events fall (spread evenly over the
    group, so that a city or the enrolled hold their share of them)."""
    repeat: F64
    """[process]: rate multiplier per earlier record it led to (1: none)."""
    deterred: F64
    """[process]: rate multiplier while a restriction holds the person (1: none)."""
    lawful: B1
    """[process]: lawful conduct (what a restriction deters of it is counted apart)."""
    key: I64
    """[process]: its stream key (a hash of its name: the same under every regime)."""
    obs_start: I32
    """[process + 1]: its observations, rows ``obs_start[p] .. obs_start[p + 1]`` of ``obs_*``."""
    obs_type: I32
    """[observation]: the record type an observed event becomes."""
    obs_detect: F64
    """[observation]: the share of events in its area and period that are recorded."""
    obs_region: I32
    """[observation]: the region (whole population's index) it covers, -1: every region."""
    obs_lo: F64
    obs_hi: F64
    """[observation]: the fractions ``[lo, hi)`` of each group of that region it covers (a
    city's agents, the enrolled among them); 0 and 1: all."""
    obs_from: I32
    obs_until: I32
    """[observation]: the day indexes it is in force, both included."""
    obs_key: I64
    """[observation]: its detection stream key (a hash of the record type's code)."""
    obs_mis: F64
    """[observation]: the share of its records that name someone other than the person who did
    it (a camera's misidentification: someone of the same group)."""
    obs_scored: I32
    """[observation]: a scheme whose scored people alone make the event (-1: everyone)."""
    obs_listed: I32
    """[observation]: a list whose members alone make the event (-1: everyone)."""
    nature: I32
    """[type]: 0 violation, 1 default, 2 lawful, 3 role."""
    against: B1
    """[type]: lawful conduct that a rule of the regime counts against the person (points
    deducted, or a list entered by it)."""
    group_start: I64
    """[group + 1] the first agent of each group of the partition (partition-local index)."""
    group_tier: I32
    group_region: I32
    """[group] the group's region, partition-local."""
    group_key: I64
    """[group] the group's index in the whole population (keys its random streams)."""
    region_key: I64
    """[region] the region's index in the whole population."""
    region_tier_n: I64
    """[region, tier] persons (and organisations in the last column, if any)."""
    area_start: I64
    """[region + 1] its areas, rows ``area_start[r] .. area_start[r + 1]`` of ``area_*`` and of
    the tallies: first the region outside its cities, then each city of the world in it."""
    area_lo: F64
    area_hi: F64
    """[area] the fractions ``[lo, hi)`` of each group of its region a city holds (0, 0 for the
    rest of the region: whatever no city holds)."""
    area_key: I64
    """[area] the area's index in the whole population (keys its random streams)."""
    area_tier_n: I64
    """[area, tier] persons (and organisations in the last column, if any)."""
    agent0: int
    """The partition's first agent in the whole population."""
    org_tier: int
    """The tier number of organisation groups (-1: none)."""


@kernel
def _group_of(conduct: Conduct, i: int) -> int:  # pragma: no cover - compiled
    """The partition-local group of agent ``i``."""
    return int(np.searchsorted(conduct.group_start, i, side="right")) - 1


@kernel
def _observed(conduct: Conduct, j: int, g: int, a: int) -> bool:  # pragma: no cover - compiled
    """Whether agent ``a`` of group ``g`` lives where observation ``j`` looks."""
    region = conduct.obs_region[j]
    if region >= 0 and conduct.region_key[conduct.group_region[g]] != region:
        return False
    lo, hi = conduct.obs_lo[j], conduct.obs_hi[j]
    if lo <= 0.0 and hi >= 1.0:
        return True
    g0, g1 = conduct.group_start[g], conduct.group_start[g + 1]
    return bool(lo * (g1 - g0) <= a - g0 < hi * (g1 - g0))


@kernel
def _area(conduct: Conduct, g: int, i: int) -> int:  # pragma: no cover - compiled
    """The area (tally row) of agent ``i`` of group ``g``: the city of its region holding its
    place in the group (as an observation of that city sees it), else the region's rest."""
    r = conduct.group_region[g]
    a0 = conduct.area_start[r]
    g0, g1 = conduct.group_start[g], conduct.group_start[g + 1]
    for a in range(a0 + 1, conduct.area_start[r + 1]):
        if conduct.area_lo[a] * (g1 - g0) <= i - g0 < conduct.area_hi[a] * (g1 - g0):
            return a
    return int(a0)


@kernel
def _representative(conduct: Conduct, i: int) -> int:  # pragma: no cover - compiled
    """The legal representative of organisation ``i``: a person of its region fixed by a hash
    of its place in the whole population (as :meth:`Layout.representative`); -1 if none."""
    g = _group_of(conduct, i)
    first = conduct.group_start[g - conduct.group_tier[g]]
    persons = conduct.group_start[g] - first
    if persons <= 0:
        return -1
    h = np.uint64(conduct.agent0 + i) * np.uint64(0x9E3779B97F4A7C15)
    return int(first + (h >> np.uint64(11)) % np.uint64(persons))


@kernel
def _household(conduct: Conduct, hh: int, i: int) -> tuple[int, int]:  # pragma: no cover
    """The agents of ``i``'s household: ``hh`` consecutive agents of its group."""
    g = _group_of(conduct, i)
    g0, g1 = conduct.group_start[g], conduct.group_start[g + 1]
    first = g0 + ((i - g0) // hh) * hh
    return first, min(first + hh, g1)


@kernel
def _friends(conduct: Conduct, n: int, i: int) -> tuple[int, int]:  # pragma: no cover
    """``i``'s friends: the ``n`` agents after it in its group."""
    g = _group_of(conduct, i)
    return i + 1, min(i + 1 + n, conduct.group_start[g + 1])


@kernel
def _befriended(conduct: Conduct, n: int, i: int) -> tuple[int, int]:  # pragma: no cover
    """Those whose friend ``i`` is: the ``n`` agents before it in its group."""
    g = _group_of(conduct, i)
    return max(conduct.group_start[g], i - n), i


class DueTables(NamedTuple):
    wrong: float
    objected_innocent: float
    upheld_innocent: float
    objected_guilty: float
    upheld_guilty: float
    decided_after: int
    fulfil_daily: float
    repair_share: float


class Links(NamedTuple):
    """Rules that count other people's records: [scheme, type] points by kind of link."""

    household_points: F64
    friends_points: F64
    household: int
    friends: int
    any_household: bool
    any_friends: bool
    house_type: B1
    """[type] a record of the type counts for the rest of the household."""
    friend_type: B1


class Reach(NamedTuple):
    """Measures each list's memoranda carry, as bits per list; those extended to the
    household too."""

    own: U64
    household: U64
    roles: U64
    """[list] measures its memoranda extend to an organisation's legal roles."""
    ordered: U64
    """[order] the measures an order in force holds its subject to."""
    order_roles: U64
    """[order] those of them it extends to the ordered organisation's legal roles."""
    perk_scheme: I32
    perk_at_least: F64
    perk_measure: I32
    restriction: B1
    """[measure]: a restriction (a use is denied while in force); else an incentive."""
    mask: np.uint64
    """The bits of the restrictions."""
    key: I64
    """[measure]: its uses' stream key (a hash of its id: the same draws under every regime
    that carries it, whatever its place among the regime's measures)."""


# The log of every record made in the run: one row per record (one cache line), newest of an
# agent at ``State.head[agent]``, each row pointing at the agent's one before (``L_PREV``), with
# its future drawn when it was made.
(L_TYPE, L_DAY, L_PREV, L_WRONG, L_VOIDED, L_FULFILLED, L_GRANTED, L_NATURAL, L_REPAIRED,
 L_NEXT, L_LINK_PREV) = range(11)  # fmt: skip
"""Columns: type; day; previous row of the agent (-1: none); attributed to the wrong person;
objection upheld on; fulfilled on; repair granted on; effect's natural end; the end a granted
repair gives (never before the minimum); its next change point after the last day asked; for a
record of a type that counts for other people (links), the agent's previous such record."""
LOG_COLUMNS = 11


class Queue(NamedTuple):
    """Agents to fold on a later day: a linked list of nodes per day index."""

    head: I64
    node_agent: I64
    node_next: I64
    pushed: I64
    """[day index] nodes pushed for that day (to size the day's work)."""
    used: I64
    """[0] log rows used, [1] queue nodes used."""


class State(NamedTuple):
    head: I32
    """[agent] newest record in the log, -1 if none (a partition holds under 2**31 records)."""
    link_head: I32
    """[agent] newest record of a type that counts for other people, -1 if none (every agent
    if some rule counts other people's records; one slot otherwise)."""
    due: I32
    """[agent] the day index of its next scheduled fold (NEVER: none)."""
    folded: I32
    """[agent] the day index it was last folded (-1: never)."""
    lists: npt.NDArray[np.uint64]
    """[agent] bits of the lists it is on."""
    grades: I8
    """[agent, scheme] its grade (UNSCORED: no record counts)."""
    scores: F32
    """[agent, scheme] its score when last scored."""
    bottom: B1
    """[agent, scheme] it has been in the scheme's lowest grade."""
    own: npt.NDArray[np.uint64]
    """[agent] bits of the measures its own lists and scores give it."""
    reached: U8
    """[agent, measure] listed household members (or organisations it represents) whose
    measures reach it."""
    by_role: U8
    """[agent] listed organisations it represents (what reaches it that way is its due, not an
    innocent's)."""
    flags: U8
    causes: U8
    """[agent] while it is a restricted innocent, the causes it is counted under (``C_*``
    bits); 0 otherwise."""
    to_roles: U64
    """[agent] the measures its orders in force carry to its legal representative (every
    agent if some order extends to roles; one slot otherwise)."""


class Tally(NamedTuple):
    """Running counts per area of the partition (a region outside its cities, or a city:
    ``Conduct.area_*``), read every day for the metrics."""

    base: I64
    """[area, M_*] the day's flows and the running stocks."""
    on_list: I64
    """[area, list] agents on it now."""
    entered: I64
    """[area, list] agents who came onto it today."""
    held: I64
    """[measure, area, tier] agents it holds now (restrictions: restricted; incentives:
    granted)."""
    held_innocent: I64
    grades: I64
    """[scheme, area, tier, grade + 2] agents per grade (column 0: unscored)."""
    happens: I64
    """[event, area, day index]: objections upheld, obligations fulfilled, repairs granted,
    counted on their day when the record is made (its future is drawn then)."""


class Work(NamedTuple):
    """Scratch space per worker, the day's list of agents to fold, and what each fold found."""

    scratch: I32
    """[worker, column, row]: a fold's records (type, day, effect end, natural end, fulfilled,
    withdrawn, repaired)."""
    voided: B1
    """[worker, row]"""
    sp: I32
    """[worker, 3, row]: stretches on lists."""
    touched: I64
    n_touched: I64
    rng: npt.NDArray[np.uint64]
    ev: U64
    """[1] an event's own stream."""
    future: F64
    """[4] an event's future, as :func:`_make_record` takes it."""
    parallel_from: int
    """Folds of a day from which they run on every worker (:data:`PARALLEL_FOLDS`)."""
    found_lists: U64
    """[k] the lists the k-th folded agent is on."""
    found_own: U64
    found_roles: U64
    """[k] the measures the k-th folded organisation's orders in force carry to its legal
    roles."""
    found_next: I64
    found_grades: I8
    """[k, scheme]"""
    found_scores: F32


class Book(NamedTuple):
    schemes: Schemes
    rules: Rules
    lists: Lists
    orders: Orders
    types: Types
    nt: int
    every: B1
    """[type] all True: an agent's own records of every type count."""


# metric columns of the day row (then lists, measures, schemes x tiers x grades follow)
(M_RECORDS, M_WRONG, M_UPHELD, M_FULFILLED, M_REPAIRED, M_NEWLY, M_DELISTED, M_LISTED_NOW,
 M_LISTED_EVER, M_RESTRICTED_NOW, M_INNOCENTS_NOW, M_DENIALS, M_INNOCENT_DENIALS,
 M_FOLDS, M_MISATTRIBUTED, M_DETERRED, M_DETERRED_LAWFUL, M_CAUSE) = range(18)  # fmt: skip
CAUSES = ("wrong_record", "relative_or_contact", "camera_misattribution", "lawful_conduct")
"""Why a restricted innocent is restricted, in the order of their bits (``C_*``) and of their
columns from ``M_CAUSE`` on: a record of someone else's conduct attributed to the person by an
authority; a household member's listing, or a relative's or friend's records counted in the
person's score; a camera's record of someone else's conduct; the person's own lawful conduct
counted against them. Counted by what is there among what the rules count for the person on the
day (records not annulled by an objection): a person with several is counted under each, so
the causes can add up to more than the innocents."""
C_WRONG, C_RELATIVE, C_CAMERA, C_LAWFUL = 1, 2, 4, 8
BASE_METRICS = (
    "records", "false_records", "objections_upheld", "fulfilled", "repairs_granted",
    "newly_listed", "delisted", "listed_now", "listed_ever", "restricted_now",
    "restricted_innocents", "denials", "innocent_denials", "folds", "misattributed_records",
    "deterred", "deterred_lawful", *(f"restricted_innocents.{c}" for c in CAUSES),
)  # fmt: skip
STOCKS = {"listed_now", "listed_ever", "restricted_now", "restricted_innocents",
          *(f"restricted_innocents.{c}" for c in CAUSES)}  # fmt: skip


# --------------------------------------------------------------------------------------------
# The kernel


@kernel
def _gather(
    log: I32,
    head: I32,
    agent: int,
    d: int,
    only: B1,
    types: Types,
    out: Records,
    at: int,
    prev: int = L_PREV,
) -> int:  # pragma: no cover - compiled
    """Append ``agent``'s records of the types ``only`` marks (as known on day number ``d``) to
    ``out`` from row ``at``, in decision order; returns the next free row (-1: no room)."""
    if at < 0:
        return -1
    n = 0
    r = head[agent]
    while r >= 0:
        if only[log[r, L_TYPE]]:
            n += 1
        r = log[r, prev]
    if at + n > out.type.shape[0]:
        return -1
    r = head[agent]
    k = at + n - 1
    while r >= 0:
        t = log[r, L_TYPE]
        if not only[t]:
            r = log[r, prev]
            continue
        out.type[k] = t
        out.day[k] = log[r, L_DAY]
        out.voided[k] = log[r, L_VOIDED] <= d
        natural = log[r, L_NATURAL]
        if types.performance_ends[t] and log[r, L_FULFILLED] <= d:  # performed: it ends now
            natural = record_window(types, t, log[r, L_DAY], _NEVER, log[r, L_FULFILLED])[1]
        out.natural_end[k] = natural
        if log[r, L_GRANTED] <= d:
            out.repaired[k] = log[r, L_REPAIRED]
            out.effect_until[k] = min(natural, log[r, L_REPAIRED])
        else:
            out.repaired[k] = _NEVER
            out.effect_until[k] = natural
        out.fulfilled[k] = log[r, L_FULFILLED] if log[r, L_FULFILLED] <= d else _NEVER
        out.withdrawn[k] = _NEVER
        k -= 1
        r = log[r, prev]
    return at + n


@kernel
def _leaves(start: int, months: int) -> int:  # pragma: no cover - compiled
    """The first day ``x`` with ``add_months(x, -months) >= start``: the day a record of
    ``start`` falls out of a rolling window of ``months`` (``within``, a licence's period)."""
    x = add_months(start, months) - 3
    while add_months(x, -months) < start:
        x += 1
    return x


@kernel
def _record_change(
    log: I32, r: int, d: int, types: Types, schemes: Schemes, lists: Lists, orders: Orders
) -> int:  # pragma: no cover - compiled
    """The first day number after ``d`` on which record ``r``'s part in any fold changes: an
    event (objection upheld, fulfilment, repair), the end of its effect, the end of its stretch
    on a list, its leaving a rolling window (``within``, a licence's period)."""
    best = _NEVER
    day = log[r, L_DAY]
    for when in (log[r, L_VOIDED], log[r, L_FULFILLED], log[r, L_GRANTED], log[r, L_NATURAL]):
        if d < when < best:
            best = when
    if log[r, L_GRANTED] < _NEVER and d < log[r, L_REPAIRED] < best:
        best = log[r, L_REPAIRED]
    t = log[r, L_TYPE]
    if types.performance_ends[t] and log[r, L_FULFILLED] < _NEVER:
        kept = record_window(types, t, day, _NEVER, log[r, L_FULFILLED])[1]
        if d < kept < best:
            best = kept
    for j in range(lists.type_start[t], lists.type_start[t + 1]):
        li = lists.type_list[j]
        if lists.duration_months[li, t] != NO_LIMIT:
            end = add_months(day, lists.duration_months[li, t])
            if d < end < best:
                best = end
            if lists.extendable[li, t]:  # the ends an extension may give
                for e in range(lists.extension_months.shape[2]):
                    m = lists.extension_months[li, t, e]
                    if m > 0:
                        for end in (add_months(day, lists.duration_months[li, t] + m),
                                    add_months(log[r, L_NATURAL], m)):  # fmt: skip
                            if d < end < best:
                                best = end
        if lists.within_months[li] != NO_LIMIT:
            end = _leaves(day, lists.within_months[li])
            if d < end < best:
                best = end
    for j in range(orders.type_start[t], orders.type_start[t + 1]):
        o = orders.type_list[j]
        if orders.duration_months[o, t] != NO_LIMIT:
            end = add_months(day, orders.duration_months[o, t])
            if d < end < best:
                best = end
    for si in range(schemes.kind.shape[0]):
        if schemes.kind[si] == LICENCE:
            leaves = _leaves(day, schemes.period_months[si])
            if d < leaves < best:
                best = leaves
    return best


@kernel
def _next_change(
    log: I32,
    head: I32,
    agent: int,
    d: int,
    only: B1,
    types: Types,
    schemes: Schemes,
    lists: Lists,
    orders: Orders,
    prev: int = L_PREV,
) -> int:  # pragma: no cover - compiled
    """The first day number after ``d`` on which anything in the agent's facts (of the types
    ``only`` marks) changes."""
    best = _NEVER
    r = head[agent]
    while r >= 0:
        if only[log[r, L_TYPE]]:
            nc = log[r, L_NEXT]
            if nc <= d:
                nc = _record_change(log, r, d, types, schemes, lists, orders)
                log[r, L_NEXT] = nc
            if nc < best:
                best = nc
        r = log[r, prev]
    return best


@kernel
def _holding(st: State, i: int, nm: int) -> np.uint64:  # pragma: no cover - compiled
    """Bits of the measures that hold agent ``i`` now (its own, or reached)."""
    h: np.uint64 = st.own[i]
    for m in range(nm):
        if st.reached[i, m] > 0:
            h |= np.uint64(1) << np.uint64(m)
    return h


@kernel
def _answerable(st: State, i: int) -> bool:  # pragma: no cover - compiled
    """Whether what holds agent ``i`` is its due: its own conduct, or a role in a listed
    organisation; otherwise it is an innocent."""
    return bool(st.flags[i] & GUILTY) or st.by_role[i] > 0


@kernel
def _causes(
    st: State, log: I32, links: Links, conduct: Conduct, i: int, dn: int
) -> int:  # pragma: no cover - compiled
    """The causes (``C_*`` bits, see :data:`CAUSES`) found for agent ``i`` on day ``dn``: its
    records not annulled by then, wrong or misattributed or of lawful conduct counted against
    it; a household member's list reaching it; records of its household or friends that its
    scores count."""
    c = 0
    for m in range(st.reached.shape[1]):
        if st.reached[i, m] > 0:  # not a role (it is innocent): a household member's list
            c |= C_RELATIVE
    r = st.head[i]
    while r >= 0:
        if log[r, L_VOIDED] > dn:
            w = log[r, L_WRONG]
            if w == 1:
                c |= C_WRONG
            elif w == 2:
                c |= C_CAMERA
            elif conduct.against[log[r, L_TYPE]]:
                c |= C_LAWFUL
        r = log[r, L_PREV]
    if links.any_household and links.household > 1:
        first, last = _household(conduct, links.household, i)
        for j in range(first, last):
            if j != i and st.link_head[j] >= 0:
                c |= C_RELATIVE
    if links.any_friends:
        f0, f1 = _friends(conduct, links.friends, i)
        for j in range(f0, f1):
            if st.link_head[j] >= 0:
                c |= C_RELATIVE
    return c


class Why(NamedTuple):
    """What :func:`_retally` reads to find an innocent's causes."""

    log: I32
    links: Links
    dn: int


@kernel
def _retally(
    st: State,
    tally: Tally,
    reach: Reach,
    conduct: Conduct,
    i: int,
    old: np.uint64,
    new: np.uint64,
    guilty_before: bool,
    why: Why,
) -> None:  # pragma: no cover - compiled
    """Move agent ``i``'s counts from holding ``old`` (innocent unless ``guilty_before``) to
    holding ``new`` (innocent unless it is guilty now), its causes with them."""
    guilty_now = _answerable(st, i)
    g = _group_of(conduct, i)
    tier, region = conduct.group_tier[g], _area(conduct, g, i)
    restricted_before = restricted_now = False
    for m in range(reach.restriction.shape[0]):
        bit = np.uint64(1) << np.uint64(m)
        was, now = bool(old & bit), bool(new & bit)
        if was:
            tally.held[m, region, tier] -= 1
            if not guilty_before:
                tally.held_innocent[m, region, tier] -= 1
            restricted_before |= reach.restriction[m]
        if now:
            tally.held[m, region, tier] += 1
            if not guilty_now:
                tally.held_innocent[m, region, tier] += 1
            restricted_now |= reach.restriction[m]
    tally.base[region, M_RESTRICTED_NOW] += int(restricted_now) - int(restricted_before)
    tally.base[region, M_INNOCENTS_NOW] += int(restricted_now and not guilty_now) - int(
        restricted_before and not guilty_before
    )
    _recount(st, tally, conduct, i, region, restricted_now and not guilty_now, why)


@kernel
def _recount(
    st: State, tally: Tally, conduct: Conduct, i: int, region: int, innocent: bool, why: Why
) -> None:  # pragma: no cover - compiled
    """Count restricted innocent ``i`` (``innocent``) under the causes found for it today,
    instead of those it was counted under."""
    new = _causes(st, why.log, why.links, conduct, i, why.dn) if innocent else 0
    old = int(st.causes[i])
    if new != old:
        for b in range(len(CAUSES)):
            tally.base[region, M_CAUSE + b] += ((new >> b) & 1) - ((old >> b) & 1)
        st.causes[i] = new


@kernel
def _compute(
    i: int,
    dn: int,
    book: Book,
    links: Links,
    reach: Reach,
    log: I32,
    head: I32,
    link_head: I32,
    recs: Records,
    sp: I32,
    conduct: Conduct,
    grades_row: I8,
    scores_row: F32,
) -> tuple[int, np.uint64, np.uint64, np.uint64]:  # pragma: no cover - compiled
    """Fold agent ``i`` from its facts as known on day number ``dn``: its grades and scores
    into the rows given; returns (the day number of its next change or NEVER, -1 if its records
    outgrew the scratch; the lists it is on; the measures its own lists and scores give it).
    Reads the log and writes nothing another fold reads, so folds run in parallel."""
    schemes, rules, lists, nt = book.schemes, book.rules, book.lists, book.nt
    end = _gather(log, head, i, dn, book.every, book.types, recs, 0)
    own_end = end
    hh = links.household
    first, last = _household(conduct, max(hh, 1), i)
    f0, f1 = _friends(conduct, links.friends, i)
    if links.any_household and hh > 1:
        for j in range(first, last):
            if j != i and end >= 0:
                end = _gather(log, link_head, j, dn, links.house_type, book.types, recs, end,
                              L_LINK_PREV)  # fmt: skip
    house_end = end
    if links.any_friends:
        for j in range(f0, f1):
            if end >= 0:
                end = _gather(log, link_head, j, dn, links.friend_type, book.types, recs, end,
                              L_LINK_PREV)  # fmt: skip
    if end < 0 or own_end < 0:
        return -1, np.uint64(0), np.uint64(0), np.uint64(0)
    new_lists = np.uint64(0)
    n = stretches(lists, recs, 0, own_end, dn, sp[0], sp[1], sp[2])
    for li in range(lists.min_count.shape[0] if n > 0 else 0):
        if lists.scheme[li] < 0:
            since, _until = membership(lists, li, dn, sp[0], sp[1], sp[2], n)
            if since != _NEVER:
                new_lists |= np.uint64(1) << np.uint64(li)
    new_own = np.uint64(0)
    for si in range(schemes.kind.shape[0]):
        counted = False
        for r in range(own_end):
            key = si * nt + recs.type[r]
            if not recs.voided[r] and rules.entry_start[key + 1] > rules.entry_start[key]:
                counted = True
                break
        extra = 0.0
        for r in range(own_end, end):
            if recs.voided[r] or dn >= recs.effect_until[r]:
                continue
            pts = links.household_points[si, recs.type[r]] if r < house_end else (
                links.friends_points[si, recs.type[r]])  # fmt: skip
            if pts != 0.0:
                extra += pts
                counted = True
        g = UNSCORED
        if counted:
            sc, ex = score_at(schemes, rules, nt, si, recs, 0, own_end, dn, extra)
            scores_row[si] = sc
            g = grade(schemes, si, sc)
            for j in range(lists.scheme_start[si], lists.scheme_start[si + 1]):
                li = lists.scheme_list[j]
                if holds(lists, li, sc, g, ex):
                    new_lists |= np.uint64(1) << np.uint64(li)
            for p in range(reach.perk_scheme.shape[0]):
                if reach.perk_scheme[p] == si and sc >= reach.perk_at_least[p]:
                    new_own |= np.uint64(1) << np.uint64(reach.perk_measure[p])
        grades_row[si] = g
    for li in range(lists.min_count.shape[0]):
        if new_lists & (np.uint64(1) << np.uint64(li)):
            new_own |= reach.own[li]
    to_roles = np.uint64(0)
    for o in range(book.orders.duration_months.shape[0] if own_end > 0 else 0):
        since, _until = order_span(book.orders, o, recs, 0, own_end, dn)
        if since != _NEVER:
            new_own |= reach.ordered[o]
            to_roles |= reach.order_roles[o]
    nxt = _next_change(log, head, i, dn, book.every, book.types, schemes, lists, book.orders)
    if links.any_household and hh > 1:
        for j in range(first, last):
            if j != i:
                nxt = min(nxt, _next_change(log, link_head, j, dn, links.house_type, book.types,
                                            schemes, lists, book.orders, L_LINK_PREV))  # fmt: skip
    if links.any_friends:
        for j in range(f0, f1):
            nxt = min(nxt, _next_change(log, link_head, j, dn, links.friend_type, book.types,
                                        schemes, lists, book.orders, L_LINK_PREV))  # fmt: skip
    return nxt, new_lists, new_own, to_roles


@kernel
def _compute_share(
    w: int,
    workers: int,
    n: int,
    dn: int,
    book: Book,
    links: Links,
    reach: Reach,
    log: I32,
    head: I32,
    link_head: I32,
    agents: I64,
    scratch: I32,
    voided: B1,
    sp: I32,
    conduct: Conduct,
    found_lists: U64,
    found_own: U64,
    found_roles: U64,
    found_next: I64,
    found_grades: I8,
    found_scores: F32,
) -> None:  # pragma: no cover - compiled
    """:func:`_compute` for worker ``w``'s share of ``agents[:n]`` (every ``workers``-th), with
    its scratch; what each finds goes to its row of ``found_*``."""
    recs = Records(scratch[w, 0], scratch[w, 1], voided[w], scratch[w, 2], scratch[w, 3],
                   scratch[w, 4], scratch[w, 5], scratch[w, 6])  # fmt: skip
    for k in range(w, n, workers):
        nxt, lists_, own, roles = _compute(agents[k], dn, book, links, reach, log, head,
                                           link_head, recs, sp[w], conduct, found_grades[k],
                                           found_scores[k])  # fmt: skip
        found_next[k] = nxt
        found_lists[k] = lists_
        found_own[k] = own
        found_roles[k] = roles


@kernel_on_every_worker
def _compute_all(
    n: int,
    dn: int,
    schemes: Schemes,
    rules: Rules,
    lists: Lists,
    orders: Orders,
    types: Types,
    every: B1,
    links: Links,
    reach: Reach,
    log: I32,
    head: I32,
    link_head: I32,
    agents: I64,
    scratch: I32,
    voided: B1,
    sp: I32,
    conduct: Conduct,
    found_lists: U64,
    found_own: U64,
    found_roles: U64,
    found_next: I64,
    found_grades: I8,
    found_scores: F32,
) -> None:  # pragma: no cover - compiled
    """:func:`_compute_share` of every worker, on every worker (each with its scratch)."""
    workers = scratch.shape[0]
    nt = every.shape[0]
    for w in prange(workers):
        book = Book(schemes, rules, lists, orders, types, nt, every)
        _compute_share(w, workers, n, dn, book, links, reach, log, head, link_head, agents,
                       scratch, voided, sp, conduct, found_lists, found_own, found_roles,
                       found_next, found_grades, found_scores)  # fmt: skip


@kernel
def _apply(
    i: int,
    d: int,
    k: int,
    book: Book,
    reach: Reach,
    st: State,
    work: Work,
    tally: Tally,
    conduct: Conduct,
    household: int,
    why: Why,
) -> None:  # pragma: no cover - compiled
    """Agent ``i``'s fold (row ``k`` of what the folds found) into its state and the tallies,
    and the household its lists' measures reach."""
    schemes, lists = book.schemes, book.lists
    group = _group_of(conduct, i)
    tier, region = conduct.group_tier[group], _area(conduct, group, i)
    for si in range(schemes.kind.shape[0]):
        g = work.found_grades[k, si]
        if g != UNSCORED:
            st.scores[i, si] = work.found_scores[k, si]
        old = st.grades[i, si]
        if g != old:
            tally.grades[si, region, tier, old + 2] -= 1
            tally.grades[si, region, tier, g + 2] += 1
            st.grades[i, si] = g
            bottom = schemes.band_start[si + 1] - schemes.band_start[si] - 1
            if bottom >= 0 and g == bottom:
                st.bottom[i, si] = True
    new_lists, new_own = work.found_lists[k], work.found_own[k]
    old_lists = st.lists[i]
    hh = household
    first, last = _household(conduct, max(hh, 1), i)
    for li in range(lists.min_count.shape[0]):
        bit = np.uint64(1) << np.uint64(li)
        now, before = bool(new_lists & bit), bool(old_lists & bit)
        if now == before:
            continue
        tally.on_list[region, li] += 1 if now else -1
        if now:
            tally.entered[region, li] += 1
        if hh > 1 and reach.household[li] != 0:
            for j in range(first, last):
                if j == i:
                    continue
                held_before = _holding(st, j, reach.restriction.shape[0])
                for m in range(reach.restriction.shape[0]):
                    if reach.household[li] & (np.uint64(1) << np.uint64(m)):
                        st.reached[j, m] += 1 if now else -1
                guilty = _answerable(st, j)
                _retally(st, tally, reach, conduct, j, held_before,
                         _holding(st, j, reach.restriction.shape[0]), guilty, why)  # fmt: skip
        if reach.roles[li] != 0 and tier == conduct.org_tier:
            j = _representative(conduct, i)
            if j >= 0:
                held_before = _holding(st, j, reach.restriction.shape[0])
                guilty = _answerable(st, j)
                for m in range(reach.restriction.shape[0]):
                    if reach.roles[li] & (np.uint64(1) << np.uint64(m)):
                        st.reached[j, m] += 1 if now else -1
                st.by_role[j] += 1 if now else -1
                _retally(st, tally, reach, conduct, j, held_before,
                         _holding(st, j, reach.restriction.shape[0]), guilty, why)  # fmt: skip
    new_roles = work.found_roles[k]
    old_roles = st.to_roles[i] if st.to_roles.shape[0] > 1 else np.uint64(0)
    if new_roles != old_roles and tier == conduct.org_tier:  # an order reaching its roles
        st.to_roles[i] = new_roles
        j = _representative(conduct, i)
        if j >= 0:
            held_before = _holding(st, j, reach.restriction.shape[0])
            guilty = _answerable(st, j)
            for m in range(reach.restriction.shape[0]):
                bit = np.uint64(1) << np.uint64(m)
                if (new_roles & bit) != (old_roles & bit):
                    st.reached[j, m] += 1 if new_roles & bit else -1
            if (new_roles != 0) != (old_roles != 0):
                st.by_role[j] += 1 if new_roles else -1
            _retally(st, tally, reach, conduct, j, held_before,
                     _holding(st, j, reach.restriction.shape[0]), guilty, why)  # fmt: skip
    if new_lists != old_lists:
        if new_lists and not old_lists:
            tally.base[region, M_NEWLY] += 1
            tally.base[region, M_LISTED_NOW] += 1
            if not st.flags[i] & EVER_LISTED:
                st.flags[i] |= EVER_LISTED
                tally.base[region, M_LISTED_EVER] += 1
        elif old_lists and not new_lists:
            tally.base[region, M_DELISTED] += 1
            tally.base[region, M_LISTED_NOW] -= 1
        st.lists[i] = new_lists
    if new_own != st.own[i]:
        held_before = _holding(st, i, reach.restriction.shape[0])
        st.own[i] = new_own
        guilty = _answerable(st, i)
        _retally(st, tally, reach, conduct, i, held_before,
                 _holding(st, i, reach.restriction.shape[0]), guilty, why)  # fmt: skip
    elif st.causes[i] != 0 or (
        not _answerable(st, i) and _holding(st, i, reach.restriction.shape[0]) & reach.mask
    ):  # the same measures, perhaps for other reasons now
        _recount(st, tally, conduct, i, region, True, why)
    tally.base[region, M_FOLDS] += 1


@kernel
def _touch(work: Work, i: int) -> None:  # pragma: no cover - compiled
    k = work.n_touched[0]
    work.touched[k] = i
    work.n_touched[0] = k + 1


@kernel
def _make_record(
    i: int,
    t: int,
    d: int,
    dn: int,
    conduct: Conduct,
    due: DueTables,
    book: Book,
    log: I32,
    queue: Queue,
    st: State,
    work: Work,
    tally: Tally,
    links: Links,
    reach: Reach,
    wrong: int,
    future: F64,
) -> None:  # pragma: no cover - compiled
    """Agent ``i`` gets a record of type ``t`` today, with its future as the event drew it
    (``future``: whether an objection is filed and upheld, two uniforms; days until the
    obligation is performed; a uniform for repair). ``wrong``: 0, about the person who did it;
    1, attributed to ``i`` by an authority's error; 2, by a camera's misidentification."""
    r = queue.used[0]
    queue.used[0] = r + 1
    log[r, L_TYPE] = t
    log[r, L_DAY] = dn
    log[r, L_PREV] = st.head[i]
    if links.house_type[t] or links.friend_type[t]:
        log[r, L_LINK_PREV] = st.link_head[i]
        st.link_head[i] = r
    log[r, L_WRONG] = wrong
    st.head[i] = r
    nature = conduct.nature[t]
    region = _area(conduct, _group_of(conduct, i), i)
    voided = fulfilled = granted = _NEVER
    if wrong:
        tally.base[region, M_WRONG] += 1
        tally.base[region, M_MISATTRIBUTED] += wrong == 2
        if future[0] < due.objected_innocent and future[1] < due.upheld_innocent:
            voided = dn + due.decided_after
    elif future[0] < due.objected_guilty and future[1] < due.upheld_guilty:
        voided = dn + due.decided_after
    if nature == 1 and due.fulfil_daily > 0:
        fulfilled = dn + int(future[2])
    if book.types.repairable[t] and future[3] < due.repair_share:
        apply = add_months(dn, book.types.min_months[t])
        if nature == 1:
            apply = max(apply, fulfilled)
        if apply < _NEVER - REPAIR_DECIDED_AFTER:
            granted = apply + REPAIR_DECIDED_AFTER
    log[r, L_VOIDED] = voided
    log[r, L_FULFILLED] = fulfilled
    log[r, L_GRANTED] = granted
    days = tally.happens.shape[2]
    for e, when in enumerate((voided, fulfilled, granted)):
        if when < _NEVER and when - dn + d < days:
            tally.happens[e, region, when - dn + d] += 1
    _until, natural, repaired = record_window(book.types, t, dn, granted)
    log[r, L_NATURAL] = natural
    log[r, L_REPAIRED] = repaired
    log[r, L_NEXT] = dn
    tally.base[region, M_RECORDS] += 1
    if not wrong and (nature == 0 or nature == 1) and not st.flags[i] & GUILTY:
        held = _holding(st, i, reach.restriction.shape[0])
        before = _answerable(st, i)
        st.flags[i] |= GUILTY
        _retally(st, tally, reach, conduct, i, held, held, before, Why(log, links, dn))
    _touch(work, i)
    hh = links.household
    if links.house_type[t] and hh > 1:
        first, last = _household(conduct, hh, i)
        for j in range(first, last):
            if j != i:
                _touch(work, j)
    if links.any_friends and links.friend_type[t]:
        b0, b1 = _befriended(conduct, links.friends, i)
        for j in range(b0, b1):
            _touch(work, j)


@kernel
def _day(
    d: int,
    dn: int,
    seed: int,
    conduct: Conduct,
    due: DueTables,
    book: Book,
    links: Links,
    reach: Reach,
    log: I32,
    queue: Queue,
    st: State,
    work: Work,
    tally: Tally,
) -> int:  # pragma: no cover - compiled
    """One day: agents due today, then today's conduct as records, then one fold of every
    agent whose facts changed. Returns 0, or -1 if an agent's records outgrew the scratch."""
    rng = work.rng
    work.n_touched[0] = 0
    node = queue.head[d]
    while node >= 0:
        a = queue.node_agent[node]
        if st.due[a] == d:
            _touch(work, a)
        node = queue.node_next[node]
    n_groups = conduct.group_tier.shape[0]
    nm = reach.restriction.shape[0]
    future, ev = work.future, work.ev
    for p in range(conduct.key.shape[0]):
        if d < conduct.first_day[p] or d > conduct.last_day[p]:
            continue
        o0, o1 = conduct.obs_start[p], conduct.obs_start[p + 1]
        live = False
        for j in range(o0, o1):
            live |= conduct.obs_from[j] <= d <= conduct.obs_until[j]
        if not live:  # no regime observes it today: nothing to record (its draws are its own)
            continue
        for g in range(n_groups):
            lam = conduct.rate[p, conduct.group_tier[g], conduct.period[d]]
            g0, g1 = conduct.group_start[g], conduct.group_start[g + 1]
            size = g1 - g0
            if lam <= 0.0 or size <= 0:
                continue
            here = False  # does anything record this process in this group's region today?
            for j in range(o0, o1):
                region = conduct.obs_region[j]
                here |= conduct.obs_from[j] <= d <= conduct.obs_until[j] and (
                    region < 0 or region == conduct.region_key[conduct.group_region[g]]
                )
            if not here:
                continue
            among = max(1, int(size * conduct.share[p]))
            rng[0] = stream_key(seed, conduct.key[p] * 65536 + conduct.group_key[g], d)
            k = poisson(rng, lam * among)
            base = rng[0]
            for e in range(k):
                # the event's own stream: the same draws whatever the regime records
                ev[0] = mix(base ^ (np.uint64(e + 1) * np.uint64(0xD6E8FEB86659FD93)))
                a = g0 + min(size - 1, int((below(ev, among) + 0.5) * size / among))
                wrong = uniform(ev) < due.wrong
                other = g0 + below(ev, size)
                future[0], future[1] = uniform(ev), uniform(ev)
                future[2] = geometric(ev, due.fulfil_daily) if due.fulfil_daily > 0 else 0
                future[3] = uniform(ev)
                repeat = uniform(ev)
                event = ev[0]
                if conduct.repeat[p] != 1.0:  # a response to sanctions: earlier records
                    earlier = 0
                    r = st.head[a]
                    while r >= 0:
                        if not log[r, L_WRONG]:
                            for j in range(o0, o1):
                                earlier += log[r, L_TYPE] == conduct.obs_type[j]
                        r = log[r, L_PREV]
                    if repeat >= conduct.repeat[p] ** earlier:
                        continue
                if conduct.deterred[p] < 1.0 and _holding(st, a, nm) & reach.mask:
                    ev[0] = mix(event ^ np.uint64(0x9E6C63D0676A9A99))  # a draw of its own
                    if uniform(ev) >= conduct.deterred[p]:  # not done: the restriction deters
                        area = _area(conduct, g, a)
                        tally.base[area, M_DETERRED] += 1
                        tally.base[area, M_DETERRED_LAWFUL] += conduct.lawful[p]
                        continue
                for j in range(o0, o1):
                    if not conduct.obs_from[j] <= d <= conduct.obs_until[j]:
                        continue
                    if not _observed(conduct, j, g, a):
                        continue
                    si, li = conduct.obs_scored[j], conduct.obs_listed[j]
                    if si >= 0 and st.grades[a, si] == UNSCORED:
                        continue
                    if li >= 0 and not st.lists[a] & (np.uint64(1) << np.uint64(li)):
                        continue
                    ev[0] = mix(event ^ np.uint64(conduct.obs_key[j]))
                    if uniform(ev) >= conduct.obs_detect[j]:
                        continue
                    kind = 1 if wrong else 0
                    if not wrong and conduct.obs_mis[j] > 0.0 and uniform(ev) < conduct.obs_mis[j]:
                        kind = 2  # the observation names someone else of the group
                    _make_record(other if kind else a, conduct.obs_type[j], d, dn, conduct, due,
                                 book, log, queue, st, work, tally, links, reach, kind,
                                 future)  # fmt: skip
    # every agent whose facts changed, once: folded (in parallel on a busy day), applied in
    # order
    u = 0
    for k in range(work.n_touched[0]):
        a = work.touched[k]
        if st.folded[a] != d:
            st.folded[a] = d
            work.touched[u] = a
            u += 1
    if u >= work.parallel_from and work.scratch.shape[0] > 1:
        _compute_all(u, dn, book.schemes, book.rules, book.lists, book.orders, book.types,
                     book.every, links, reach, log, st.head, st.link_head, work.touched,
                     work.scratch, work.voided, work.sp, conduct, work.found_lists,
                     work.found_own, work.found_roles, work.found_next, work.found_grades,
                     work.found_scores)  # fmt: skip
    else:
        _compute_share(0, 1, u, dn, book, links, reach, log, st.head, st.link_head,
                       work.touched, work.scratch, work.voided, work.sp, conduct,
                       work.found_lists, work.found_own, work.found_roles, work.found_next,
                       work.found_grades, work.found_scores)  # fmt: skip
    days = queue.head.shape[0]
    dn0 = dn - d
    why = Why(log, links, dn)
    for k in range(u):
        a = work.touched[k]
        nxt = work.found_next[k]
        if nxt == -1:
            return -1
        _apply(a, d, k, book, reach, st, work, tally, conduct, links.household, why)
        if nxt >= _NEVER:
            continue
        idx = nxt - dn0
        if idx >= days or (st.due[a] > d and st.due[a] <= idx):
            continue
        node = queue.used[1]
        queue.used[1] = node + 1
        queue.node_agent[node] = a
        queue.node_next[node] = queue.head[idx]
        queue.head[idx] = node
        queue.pushed[idx] += 1
        st.due[a] = idx
    return 0


@kernel
def _days(
    d0: int,
    d1: int,
    dn0: int,
    seed: int,
    conduct: Conduct,
    due: DueTables,
    book: Book,
    links: Links,
    reach: Reach,
    log: I32,
    queue: Queue,
    st: State,
    work: Work,
    tally: Tally,
    uses: F64,
    grades_of: I32,
    room: int,
    rows: I64,
) -> int:  # pragma: no cover - compiled
    """Days ``d0 .. d1``, each written to its row of ``rows``. Returns the day it stopped
    before because the log, the queue or the day's list may lack room for ``room`` more
    records (``d1`` when done), or ``-1 - d`` if an agent's records outgrew the scratch."""
    nl = book.lists.duration_months.shape[0]
    nm = reach.restriction.shape[0]
    n_areas, n_tiers = conduct.area_tier_n.shape[0], conduct.area_tier_n.shape[1]
    fan = (
        1
        + (links.household if links.any_household else 0)
        + (links.friends if links.any_friends else 0)
    )
    rng = work.rng
    for d in range(d0, d1):
        need = room * fan + queue.pushed[d] + 16
        if (queue.used[0] + room > log.shape[0] or queue.used[1] + need > queue.node_agent.shape[0]
                or need > work.touched.shape[0]):  # fmt: skip
            return d
        for c in (M_RECORDS, M_WRONG, M_UPHELD, M_FULFILLED, M_REPAIRED, M_NEWLY, M_DELISTED,
                  M_FOLDS, M_MISATTRIBUTED, M_DETERRED, M_DETERRED_LAWFUL):  # fmt: skip
            tally.base[:, c] = 0
        tally.entered[:, :] = 0
        status = _day(d, dn0 + d, seed, conduct, due, book, links, reach, log, queue, st, work,
                      tally)  # fmt: skip
        if status < 0:
            return -1 - d
        for r in range(n_areas):
            row = rows[d, r]
            # uses denied: a restriction denies those it holds, an incentive everyone else
            total = innocent_total = 0
            k = len(BASE_METRICS) + 2 * nl
            for m in range(nm):
                den = inn = held = held_inn = 0
                for t in range(n_tiers):
                    h, hi = tally.held[m, r, t], tally.held_innocent[m, r, t]
                    held += h
                    held_inn += hi
                    if uses[m, t] <= 0.0:
                        continue
                    # per region, so that any split into partitions draws the same
                    rng[0] = stream_key(seed, 0x40000000 + (reach.key[m] * 64 + t) * 4096
                                        + conduct.area_key[r], d)  # fmt: skip
                    if reach.restriction[m]:
                        # an innocent's denial is one of the denials: drawn apart
                        wrongly = poisson(rng, hi * uses[m, t])
                        den += wrongly + poisson(rng, (h - hi) * uses[m, t])
                        inn += wrongly
                    else:
                        den += poisson(rng, (conduct.area_tier_n[r, t] - h) * uses[m, t])
                row[k], row[k + 1], row[k + 2], row[k + 3] = held, held_inn, den, inn
                k += 4
                total += den
                innocent_total += inn
            tally.base[r, M_DENIALS] = total
            tally.base[r, M_UPHELD] = tally.happens[0, r, d]
            tally.base[r, M_FULFILLED] = tally.happens[1, r, d]
            tally.base[r, M_REPAIRED] = tally.happens[2, r, d]
            tally.base[r, M_INNOCENT_DENIALS] = innocent_total
            for c in range(len(BASE_METRICS)):
                row[c] = tally.base[r, c]
            for li in range(nl):
                row[len(BASE_METRICS) + 2 * li] = tally.on_list[r, li]
                row[len(BASE_METRICS) + 2 * li + 1] = tally.entered[r, li]
            for si in range(grades_of.shape[0]):
                for t in range(n_tiers):
                    row[k] = tally.grades[si, r, t, 0]
                    k += 1
                    for g in range(grades_of[si]):
                        row[k] = tally.grades[si, r, t, g + 2]
                        k += 1
    return d1


# --------------------------------------------------------------------------------------------
# The run


def _iso_day(day: int) -> str:
    d = from_day(day)
    assert d is not None
    return d.isoformat()


SCRATCH = 1 << 16
"""Records one fold may read (an agent's own and its linked people's)."""


def _grow(arr: Any, need: int, fill: Any) -> Any:
    """``arr`` with room for ``need`` rows (doubling), the new rows set to ``fill``."""
    if arr.shape[0] >= need:
        return arr
    new = np.full((max(need, 2 * arr.shape[0]), *arr.shape[1:]), fill, arr.dtype)
    new[: arr.shape[0]] = arr
    return new


def _merged(parts: list[tuple[F64, I64, int, int]]) -> tuple[F64, I64, int, int]:
    """Parts of a scheme's inequality figures (distinct scores with their counts, those ever
    at the bottom, those of them out of it) as one."""
    values, where = np.unique(np.concatenate([p[0] for p in parts]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([p[1] for p in parts]))
    return values, counts.astype(np.int64), sum(p[2] for p in parts), sum(p[3] for p in parts)


class Partition(NamedTuple):
    """What a partition's run gives back (:meth:`FoldRun.run_partition`)."""

    r0: int
    r1: int
    rows: I64
    """[day, area of the partition (its regions, each outside its cities then its cities),
    column]"""
    traced: dict[int, dict[str, Any]]
    spread: list[tuple[F64, I64, int, int]]


@dataclass
class FoldRun:
    """A regime's catalogs over a population with a scenario's conduct, day by day."""

    scenario: ConductScenario | World
    regime: FoldRegime
    population: int
    seed: int
    trace_k: int = 0
    start: date | None = None
    end: date | None = None
    partitions: int = 0
    """Region partitions run one after another (0: as many as keep each within
    ``PARTITION_AGENTS``); the outputs are the same bytes for any number."""
    parallel_folds: int = PARALLEL_FOLDS
    """Folds of a day from which they run on every worker; the same bytes for any value."""

    def __post_init__(self) -> None:
        sc, book = self.scenario, self.regime.book
        self.first = self.start or sc.start
        self.last = self.end or sc.end
        self.days = (self.last - self.first).days + 1
        org_per_person = sc.organisations.per_person if sc.organisations else 0.0
        orgs = org_per_person > 0
        self.tiers = list(sc.tiers) + (["organisations"] if orgs else [])
        self.layout: Layout = layout(
            self.population,
            {k: t.share for k, t in sc.tiers.items()},
            represented=sc.represented,
            organisations_per_person=org_per_person,
        )
        lay = self.layout
        idx = self.regime.loaded.index
        years = list(range(self.first.year, self.last.year + 1))
        if isinstance(sc, World):
            camera_types = frozenset(c for c, rt in idx.record_types.items()
                                     if rt.source.value == "camera")  # fmt: skip
            spec = self.regime.spec
            kinds = {c: rt.subject_kinds for c, rt in idx.record_types.items()}
            rows = observed_processes(sc, spec.observe, book, years, self.regime.name,
                                      camera_types, spec.cameras, spec.deterrence,
                                      subject_kinds=kinds)  # fmt: skip
        else:
            rows = self._conduct_rows(years)
        measures = sorted({m for memo in book.memoranda for m in memo.measures}
                          | {m for p in book.perks for m in p.measures}
                          | {m for o in book.order_rows for m in o.measures})  # fmt: skip
        if len(measures) > 64:
            raise InputError("regime.catalogs", "more than 64 measures carried by lists or perks")
        self.measures = measures
        m_index = {m: k for k, m in enumerate(measures)}
        nt, ns, nl, nm = book.n_types, len(book.scheme_ids), len(book.list_ids), len(measures)
        n_tiers = len(self.tiers)
        period = np.array(
            [(self.first + timedelta(days=d)).year - self.first.year for d in range(self.days)],
            np.int32,
        )
        n_proc = len(rows)
        rate = np.zeros((n_proc, n_tiers, len(years)))
        first_day = np.zeros(n_proc, np.int32)
        last_day = np.full(n_proc, self.days, np.int32)
        obs: list[tuple[int, ObservationRow]] = []
        obs_start = np.zeros(n_proc + 1, np.int32)
        debtor = [t.debtor_factor for t in sc.tiers.values()]
        for p, row in enumerate(rows):
            for y, year in enumerate(years):
                per_day = row.rate_in[year] / 365.0 / row.concentration
                for k, factor in enumerate(debtor):
                    rate[p, k, y] = per_day * (factor if row.default else 1.0) * row.persons
                if orgs:
                    rate[p, -1, y] = per_day * row.organisations
            if row.since is not None:
                first_day[p] = max(0, (row.since - self.first).days)
            if row.until is not None:
                last_day[p] = (row.until - self.first).days
            obs += [(p, o) for o in row.observations]
            obs_start[p + 1] = len(obs)

        def day_of(when: date | None, default: int) -> int:
            return default if when is None else (when - self.first).days

        scheme_index = {s: k for k, s in enumerate(book.scheme_ids)}
        list_index = {lid: k for k, lid in enumerate(book.list_ids)}
        natures = {Nature.violation: 0, Nature.default: 1, Nature.lawful: 2, Nature.role: 3}
        nature = np.zeros(nt, np.int32)
        for code, t in book.type_ids.items():
            nature[t] = natures[idx.record_types[code].nature]
        against = np.zeros(nt, np.bool_)
        for code in counted_against(idx) & set(book.type_ids):
            against[book.type_ids[code]] = True
        groups = lay.group_start.shape[0] - 1
        group_tier = np.array([g % lay.per_region for g in range(groups)], np.int32)
        sizes = np.diff(lay.group_start).astype(np.int64)
        self.conduct = Conduct(
            rate=rate,
            period=period,
            first_day=first_day,
            last_day=last_day,
            share=np.array([r.concentration for r in rows], np.float64),
            repeat=np.array([r.repeat for r in rows], np.float64),
            deterred=np.array([r.deterred for r in rows], np.float64),
            lawful=np.array([r.lawful for r in rows], np.bool_),
            key=np.array([r.key for r in rows], np.int64),
            obs_start=obs_start,
            obs_type=np.array([book.type_ids[o.record_type] for _p, o in obs], np.int32),
            obs_detect=np.array([o.detection for _p, o in obs], np.float64),
            obs_region=np.array([o.region for _p, o in obs], np.int32),
            obs_lo=np.array([o.lo for _p, o in obs], np.float64),
            obs_hi=np.array([o.hi for _p, o in obs], np.float64),
            obs_from=np.array([day_of(o.since, 0) for _p, o in obs], np.int32),
            obs_until=np.array([day_of(o.until, self.days) for _p, o in obs], np.int32),
            obs_key=np.array([o.key for _p, o in obs], np.int64),
            obs_mis=np.array([o.misattribution for _p, o in obs], np.float64),
            obs_scored=np.array([scheme_index.get(o.scored or "", -1) for _p, o in obs], np.int32),
            obs_listed=np.array([list_index.get(o.listed or "", -1) for _p, o in obs], np.int32),
            nature=nature,
            against=against,
            group_start=lay.group_start.astype(np.int64),
            group_tier=group_tier,
            group_region=np.array([g // lay.per_region for g in range(groups)], np.int32),
            group_key=np.arange(groups, dtype=np.int64),
            region_key=np.arange(lay.n_regions, dtype=np.int64),
            region_tier_n=sizes.reshape(lay.n_regions, lay.per_region).copy(),
            **self._areas(sizes),
            agent0=0,
            org_tier=len(sc.tiers) if orgs else -1,
        )
        dp = sc.due_process
        self.due = DueTables(
            wrong=dp.wrong_share,
            objected_innocent=dp.objected_innocent,
            upheld_innocent=dp.upheld_innocent,
            objected_guilty=dp.objected_guilty,
            upheld_guilty=dp.upheld_guilty,
            decided_after=dp.decided_after_days,
            fulfil_daily=dp.fulfilment_per_year / 365.0,
            repair_share=dp.repair_share,
        )
        house = np.zeros((max(ns, 1), nt))
        friends = np.zeros((max(ns, 1), nt))
        scheme_index = {s: k for k, s in enumerate(book.scheme_ids)}
        for scheme_id, code, via in book.links:
            if code not in book.type_ids:
                continue
            scheme = idx.schemes[scheme_id]
            for rule, _dim, rule_via in rules_of(scheme):
                if rule.record_type != code or rule_via != via:
                    continue
                where = f"scheme {scheme_id}, rule for {code} via {via}"
                if scheme.kind != "points":
                    raise Unsupported(
                        "the simulator", Feature(f"rule.via.{via} in a {scheme.kind} scheme", where)
                    )
                if len(set(rule.by_occurrence)) > 1:
                    raise Unsupported("the simulator", Feature("rule.escalation via a link", where))
                target = friends if via == "friends" else house
                target[scheme_index[scheme_id], book.type_ids[code]] += rule.points_for(1)
        self.links = Links(
            household_points=house,
            friends_points=friends,
            household=sc.household_size,
            friends=sc.friends,
            any_household=bool(house.any()),
            any_friends=bool(friends.any()) and sc.friends > 0,
            house_type=(house != 0).any(axis=0),
            friend_type=(friends != 0).any(axis=0),
        )
        own = np.zeros(max(nl, 1), np.uint64)
        household = np.zeros(max(nl, 1), np.uint64)
        to_roles = np.zeros(max(nl, 1), np.uint64)
        list_index = {lid: k for k, lid in enumerate(book.list_ids)}
        for memo in book.memoranda:
            bits = np.uint64(0)
            for m in memo.measures:
                if m in m_index:
                    bits |= np.uint64(1) << np.uint64(m_index[m])
            li = list_index[memo.list]
            own[li] |= bits
            if {"family", "household"} & set(memo.extends_to):
                household[li] |= bits
            if _ROLES & set(memo.extends_to):
                to_roles[li] |= bits
        perks = [(scheme_index[p.scheme], p.at_least, m_index[m]) for p in book.perks
                 for m in p.measures]  # fmt: skip
        ordered = np.zeros(max(len(book.order_rows), 1), np.uint64)
        order_roles = np.zeros(max(len(book.order_rows), 1), np.uint64)
        for o, order in enumerate(book.order_rows):
            for m in order.measures:
                ordered[o] |= np.uint64(1) << np.uint64(m_index[m])
            if _ROLES & set(order.extends_to):
                order_roles[o] = ordered[o]
        self.reach = Reach(
            ordered=ordered,
            order_roles=order_roles,
            own=own,
            household=household,
            roles=to_roles,
            perk_scheme=np.array([p[0] for p in perks], np.int32),
            perk_at_least=np.array([p[1] for p in perks], np.float64),
            perk_measure=np.array([p[2] for p in perks], np.int32),
            restriction=np.array(
                [book.measure_kinds[m] == "restriction" for m in measures] or [False], np.bool_
            )[: max(nm, 0) or 0],
            key=np.array([stream_key_of(m) for m in measures] or [0], np.int64),
            mask=np.uint64(sum(1 << k for k, m in enumerate(measures)
                               if book.measure_kinds[m] == "restriction")),
        )  # fmt: skip
        self.book = Book(
            book.schemes, book.rules, book.lists, book.orders, book.types, nt,
            np.ones(nt, np.bool_),
        )  # fmt: skip
        self.uses = np.zeros((max(nm, 1), n_tiers))  # organisations: as the world says
        for m, k, per_year in self._uses():
            if m in m_index:
                self.uses[m_index[m], k] = per_year / 365.0
        self.tier_n = self.conduct.area_tier_n.sum(axis=0)
        self.n_grades = max([len(g) for g in book.grade_names] + [0])

    def _areas(self, sizes: I64) -> dict[str, Any]:
        """The tallies' areas (``Conduct.area_*``): each region outside its cities, then each of
        the world's cities in it, in the world's order (a conduct scenario has none). Sets
        ``area_names``: (region index, city or None) per area."""
        lay, sc = self.layout, self.scenario
        cities: dict[int, list[tuple[str, float, float]]] = {}
        if isinstance(sc, World):
            for name in sc.cities:
                region, lo, hi = sc.area(name)
                cities.setdefault(region, []).append((name, lo, hi))
        start, lo_, hi_ = [0], [], []
        names: list[tuple[int, str | None]] = []
        counts = []
        per = lay.per_region
        for r in range(lay.n_regions):
            group_sizes = sizes[r * per : (r + 1) * per]
            rest = group_sizes.copy()
            mine = []
            for name, lo, hi in cities.get(r, []):
                n = group_sizes.astype(np.float64)
                # the agents at places lo*n <= pos < hi*n of each group (as _area sees them)
                held = np.maximum(np.ceil(hi * n) - np.ceil(lo * n), 0).astype(np.int64)
                rest -= held
                mine.append((name, lo, hi, held))
            names.append((r, None))
            lo_.append(0.0)
            hi_.append(0.0)
            counts.append(rest)
            for name, lo, hi, held in mine:
                names.append((r, name))
                lo_.append(lo)
                hi_.append(hi)
                counts.append(held)
            start.append(len(names))
        self.area_names = names
        return {
            "area_start": np.array(start, np.int64),
            "area_lo": np.array(lo_, np.float64),
            "area_hi": np.array(hi_, np.float64),
            "area_key": np.arange(len(names), dtype=np.int64),
            "area_tier_n": np.array(counts, np.int64).reshape(len(names), per),
        }

    def _conduct_rows(self, years: list[int]) -> list[ProcessRow]:
        """A conduct scenario's rates as processes, one per record type, each recorded as
        itself everywhere (cameras catching ``camera_coverage`` of camera-recorded conduct;
        private schemes' records made by the enrolled only)."""
        sc, book = self.scenario, self.regime.book
        assert isinstance(sc, ConductScenario)
        idx = self.regime.loaded.index
        unknown = sorted(set(sc.records_per_year) - set(book.type_ids))
        if unknown:
            raise InputError(
                "scenario.records_per_year", f"no record type {unknown[0]!r} in the catalogs"
            )
        roles = sorted(c for c in sc.records_per_year if c in book.role_types)
        if roles:
            raise InputError(
                f"scenario.records_per_year.{roles[0]}",
                "records a legal role in an organisation; roles come from the organisations",
            )
        for code, scheme in sc.among_scored.items():
            if scheme not in book.scheme_ids:
                raise InputError(f"scenario.among_scored.{code}", f"no scheme {scheme!r} in the "
                                 "catalogs")  # fmt: skip
        private = {r.record_type for sch in idx.catalog.schemes if sch.private
                   for r, _dim, _via in rules_of(sch)}  # fmt: skip
        factors = sc.organisations.records_factor if sc.organisations else {}
        orgs = sc.organisations is not None and sc.organisations.per_person > 0
        rows = []
        for code in sc.records_per_year:
            rt = idx.record_types[code]
            # persons make records of every type with a rate; organisations of those with a factor
            doers = {"person"} | (
                {"organisation"} if orgs and factors.get(code, 0.0) > 0 else set()
            )
            refuse_doers_beyond(
                f"scenario.records_per_year.{code}" if "person" not in rt.subject_kinds
                else f"scenario.organisations.records_factor.{code}",
                code,
                rt.subject_kinds,
                doers,
                f"make its records in scenario {sc.name}",
                "a conduct scenario's rates are persons'; organisations make records only of the "
                "types organisations.records_factor names",
            )  # fmt: skip
            camera = rt.source in INADMISSIBLE_SOURCES and rt.source.value == "camera"
            seen = ObservationRow(
                record_type=code,
                detection=sc.camera_coverage if camera else 1.0,
                misattribution=sc.camera_misattribution if camera else 0.0,
                region=-1,
                lo=0.0,
                hi=sc.enrolled if code in private else 1.0,
                since=None,
                until=None,
                scored=sc.among_scored.get(code),
                listed=None,
            )
            rows.append(ProcessRow(
                name=code,
                rate_in={y: sc.rate_in(code, y) for y in years},
                default=rt.nature is Nature.default,
                since=sc.records_from.get(code),
                until=None,
                concentration=sc.concentration.get(code, 1.0),
                repeat=sc.repeat_factor.get(code, 1.0),
                organisations=factors.get(code, 0.0),
                observations=(seen,),
            ))  # fmt: skip
        return rows

    def _uses(self) -> list[tuple[str, int, float]]:
        """(measure, tier, uses per year): a conduct scenario names measures; a world names
        services, which the regime's ``services`` map measures to."""
        sc, book = self.scenario, self.regime.book
        out = []
        if isinstance(sc, World):
            services = {s for t in sc.tiers.values() for s in t.uses_per_year}
            if sc.organisations is not None:
                services |= set(sc.organisations.uses_per_year)
            for m, service in self.regime.spec.services.items():
                if m not in book.measure_kinds:
                    raise InputError(f"regime.services.{m}", "no such measure in the catalogs")
                if service not in services:
                    raise InputError(
                        f"regime.services.{m}", f"world {sc.name} has no service {service!r}"
                    )
                for k, wtier in enumerate(sc.tiers.values()):
                    out.append((m, k, wtier.uses_per_year.get(service, 0.0)))
                if sc.organisations is not None and len(self.tiers) > len(sc.tiers):
                    per_year = sc.organisations.uses_per_year.get(service, 0.0)
                    out.append((m, len(sc.tiers), per_year))
            return out
        for k, tier in enumerate(sc.tiers.values()):
            extra = sorted(set(tier.uses_per_year) - set(book.measure_kinds))
            if extra:
                raise InputError(
                    "scenario.tiers.uses_per_year", f"no measure {extra[0]!r} in the catalogs"
                )
            out += [(m, k, per_year) for m, per_year in tier.uses_per_year.items()]
        return out

    def partition_bounds(self) -> list[tuple[int, int]]:
        """The partitions as ranges of regions, each about an equal share of the agents."""
        lay = self.layout
        n_regions = lay.n_regions
        agents = lay.agents
        parts = self.partitions or -(-agents // PARTITION_AGENTS)
        parts = max(1, min(parts, n_regions))
        ends = lay.group_start[:: lay.per_region][1:].astype(np.float64)  # agents before region+1
        cuts = np.searchsorted(ends, agents * np.arange(1, parts) / parts, side="left")
        bounds = sorted({0, n_regions, *(min(int(c) + 1, n_regions) for c in cuts)})
        starts = lay.group_start[:: lay.per_region]
        while len(bounds) - 1 < parts:  # regions are uneven: split the largest that can be
            size, k = max((int(starts[b] - starts[a]), k)
                          for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
                          if b - a > 1)  # fmt: skip
            bounds.insert(k + 1, (bounds[k] + bounds[k + 1]) // 2)
        return list(zip(bounds[:-1], bounds[1:], strict=False))

    def simulate(self) -> dict[str, Any]:
        """Run every day, partition after partition; return the per-day columns, national
        (``rows``: [day, column]) and per region (``by_region``: [day, region, column]).

        A partition is a range of regions: nothing in a region's conduct, random streams,
        households or friends reaches another, so every split gives the same rows."""
        return self.gather([self.run_partition(r0, r1) for r0, r1 in self.partition_bounds()])

    def gather(self, parts: list[Partition]) -> dict[str, Any]:
        """The run's columns from its partitions' results (any order), as :meth:`simulate`
        returns them; keeps the traced agents and the inequality figures' parts."""
        names = self.column_names()
        starts = self.conduct.area_start
        by_area = np.zeros((self.days, int(starts[-1]), len(names)), np.int64)
        self._traced: dict[int, dict[str, Any]] = {}
        self._spread: list[list[tuple[F64, I64, int, int]]] = [
            [] for _ in self.regime.book.scheme_ids
        ]
        for part in sorted(parts, key=lambda p: p.r0):
            by_area[:, starts[part.r0] : starts[part.r1]] = part.rows
            self._traced.update(part.traced)
            for si, spread in enumerate(part.spread):
                self._spread[si].append(spread)
        cities = [a for a, (_r, city) in enumerate(self.area_names) if city is not None]
        return {
            "names": names,
            "rows": by_area.sum(axis=1),
            "by_region": np.add.reduceat(by_area, starts[:-1], axis=1),
            "by_city": by_area[:, cities],
        }

    def run_partition(self, r0: int, r1: int) -> Partition:
        """Regions ``r0 .. r1 - 1`` simulated on their own (nothing crosses a partition): their
        rows per day and region, their traced agents, their part of the inequality figures.
        What a worker on another machine returns (:meth:`gather` puts the parts together). A
        range of more than ``PARTITION_AGENTS`` agents runs as pieces of whole regions, one
        after another, so memory stays one piece's whatever the range."""
        starts = self.layout.group_start[:: self.layout.per_region]
        pieces: list[Partition] = []
        a = r0
        while a < r1:
            b = a + 1
            while b < r1 and starts[b + 1] - starts[a] <= PARTITION_AGENTS:
                b += 1
            rows, st, log, a0, a1 = self._simulate_part(a, b, len(self.column_names()))
            traced = {x: self._kept(x, x - a0, st, log) for x in self.traced() if a0 <= x < a1}
            pieces.append(Partition(a, b, rows, traced, self._spread_of(st)))
            del st, log
            a = b
        if len(pieces) == 1:
            return pieces[0]
        spread = [_merged([p.spread[si] for p in pieces])
                  for si in range(len(self.regime.book.scheme_ids))]  # fmt: skip
        return Partition(
            r0,
            r1,
            np.concatenate([p.rows for p in pieces], axis=1),
            {k: v for p in pieces for k, v in p.traced.items()},
            spread,
        )

    def _part_conduct(self, r0: int, r1: int) -> tuple[Conduct, int, int]:
        """The conduct of regions ``r0 .. r1 - 1`` and their first and last + 1 agent."""
        c, per = self.conduct, self.layout.per_region
        g0, g1 = r0 * per, r1 * per
        a0, a1 = int(c.group_start[g0]), int(c.group_start[g1])
        b0, b1 = int(c.area_start[r0]), int(c.area_start[r1])
        part = c._replace(
            area_start=c.area_start[r0 : r1 + 1] - b0,
            area_lo=c.area_lo[b0:b1],
            area_hi=c.area_hi[b0:b1],
            area_key=c.area_key[b0:b1],
            area_tier_n=c.area_tier_n[b0:b1],
            group_start=c.group_start[g0 : g1 + 1] - a0,
            group_tier=c.group_tier[g0:g1],
            group_region=c.group_region[g0:g1] - r0,
            group_key=c.group_key[g0:g1],
            region_key=c.region_key[r0:r1],
            region_tier_n=c.region_tier_n[r0:r1],
            agent0=a0,
        )
        return part, a0, a1

    def _simulate_part(self, r0: int, r1: int, n_columns: int) -> tuple[I64, State, I32, int, int]:
        book = self.regime.book
        conduct, a0, a1 = self._part_conduct(r0, r1)
        n = a1 - a0
        ns, nl, nm = len(book.scheme_ids), len(book.list_ids), len(self.measures)
        n_tiers = len(self.tiers)
        linked = bool(self.links.house_type.any() or self.links.friend_type.any())
        st = State(
            head=np.full(n, -1, np.int32),
            link_head=np.full(n if linked else 1, -1, np.int32),
            due=np.full(n, _NEVER, np.int32),
            folded=np.full(n, -1, np.int32),
            lists=np.zeros(n, np.uint64),
            grades=np.full((n, max(ns, 1)), UNSCORED, np.int8),
            scores=np.zeros((n, max(ns, 1)), np.float32),
            bottom=np.zeros((n, max(ns, 1)), np.bool_),
            own=np.zeros(n, np.uint64),
            reached=np.zeros((n, max(nm, 1)), np.uint8),
            by_role=np.zeros(n, np.uint8),
            flags=np.zeros(n, np.uint8),
            causes=np.zeros(n, np.uint8),
            to_roles=np.zeros(n if self.reach.order_roles.any() else 1, np.uint64),
        )
        tier_n = conduct.region_tier_n.sum(axis=0)
        nr = conduct.area_tier_n.shape[0]
        tally = Tally(
            base=np.zeros((nr, len(BASE_METRICS)), np.int64),
            on_list=np.zeros((nr, max(nl, 1)), np.int64),
            entered=np.zeros((nr, max(nl, 1)), np.int64),
            held=np.zeros((max(nm, 1), nr, n_tiers), np.int64),
            held_innocent=np.zeros((max(nm, 1), nr, n_tiers), np.int64),
            grades=np.zeros((max(ns, 1), nr, n_tiers, self.n_grades + 2), np.int64),
            happens=np.zeros((3, nr, self.days), np.int64),
        )
        tally.grades[:, :, :, 0] = conduct.area_tier_n[None, :, :]
        per_type = max(int(np.diff(book.lists.type_start).max(initial=0)), 1)
        workers = max(1, numba.get_num_threads())
        work = Work(
            scratch=np.zeros((workers, 7, SCRATCH), np.int32),
            voided=np.zeros((workers, SCRATCH), np.bool_),
            sp=np.zeros((workers, 3, SCRATCH * per_type), np.int32),
            touched=np.zeros(1024, np.int64),
            n_touched=np.zeros(1, np.int64),
            rng=np.zeros(1, np.uint64),
            ev=np.zeros(1, np.uint64),
            future=np.zeros(4),
            parallel_from=self.parallel_folds,
            found_lists=np.zeros(1024, np.uint64),
            found_own=np.zeros(1024, np.uint64),
            found_roles=np.zeros(1024, np.uint64),
            found_next=np.zeros(1024, np.int64),
            found_grades=np.zeros((1024, max(ns, 1)), np.int8),
            found_scores=np.zeros((1024, max(ns, 1)), np.float32),
        )
        log = np.zeros((1024, LOG_COLUMNS), np.int32)
        queue = Queue(
            head=np.full(self.days, -1, np.int64),
            node_agent=np.zeros(1024, np.int64),
            node_next=np.zeros(1024, np.int64),
            pushed=np.zeros(self.days, np.int64),
            used=np.zeros(2, np.int64),
        )
        # records a day at most: only processes something records, each at its largest share
        # recorded (its detection over the area it covers; the rest are drawn and dropped)
        seen = np.zeros(conduct.key.shape[0])
        for p in range(seen.shape[0]):
            for j in range(conduct.obs_start[p], conduct.obs_start[p + 1]):
                share = conduct.obs_detect[j] * (conduct.obs_hi[j] - conduct.obs_lo[j])
                seen[p] = min(1.0, seen[p] + share)
        expected = float((conduct.rate.max(axis=2) * seen[:, None] * tier_n[None, :]).sum())
        room = int(expected + 20 * np.sqrt(expected) + 1024)
        fan = 1 + (self.links.household if self.links.any_household else 0) + (
            self.links.friends if self.links.any_friends else 0)  # fmt: skip
        rows = np.zeros((self.days, nr, n_columns), np.int64)
        dn0 = to_day(self.first)
        grades_of = np.array([len(g) for g in book.grade_names], np.int32)
        d = 0
        while d < self.days:
            # room for a block of days: the log, the queue's nodes and the day's list
            block = min(self.days - d, 64)
            used_log, used_nodes = int(queue.used[0]), int(queue.used[1])
            pushed = int(queue.pushed[d : d + block].max())
            need_log = used_log + room * block
            need_nodes = used_nodes + (room * fan + pushed + 16) * block
            if need_log >= 2**31 - 1:
                raise InputError("population", "more than 2**31 records in one partition")
            log = _grow(log, need_log, 0)
            queue = queue._replace(
                node_agent=_grow(queue.node_agent, need_nodes, 0),
                node_next=_grow(queue.node_next, need_nodes, 0),
            )
            if work.touched.shape[0] < room * fan + pushed + 16:
                cap = 2 * (room * fan + pushed + 16)
                work = work._replace(
                    touched=np.zeros(cap, np.int64),
                    found_lists=np.zeros(cap, np.uint64),
                    found_own=np.zeros(cap, np.uint64),
                    found_roles=np.zeros(cap, np.uint64),
                    found_next=np.zeros(cap, np.int64),
                    found_grades=np.zeros((cap, max(ns, 1)), np.int8),
                    found_scores=np.zeros((cap, max(ns, 1)), np.float32),
                )
            reached = _days(d, self.days, dn0, self.seed, conduct, self.due, self.book,
                            self.links, self.reach, log, queue, st, work, tally,
                            self.uses, grades_of, room, rows)  # fmt: skip
            if reached < 0:
                raise InputError(
                    "population", f"an agent's records (with its links) exceed {SCRATCH:,}"
                )
            d = reached
        return rows, st, log, a0, a1

    def _kept(self, agent: int, i: int, st: State, log: I32) -> dict[str, Any]:
        """What a traced agent's replay needs: its state on the last day and its facts."""
        book = self.regime.book
        lists = [lid for k, lid in enumerate(book.list_ids) if int(st.lists[i]) >> k & 1]
        grades = {
            sid: (book.grade_names[si][g] if g >= 0 else None)
            for si, sid in enumerate(book.scheme_ids)
            if (g := int(st.grades[i, si])) != UNSCORED
        }
        scores = {
            sid: float(st.scores[i, si])
            for si, sid in enumerate(book.scheme_ids)
            if int(st.grades[i, si]) != UNSCORED
        }
        measures = [m for k, m in enumerate(self.measures) if int(st.own[i]) >> k & 1]
        reached = [m for k, m in enumerate(self.measures) if st.reached[i, k] > 0]
        last = to_day(self.last)
        codes = {t: c for c, t in book.type_ids.items()}
        chain = []
        r = int(st.head[i])
        while r >= 0:
            chain.append(r)
            r = int(log[r, L_PREV])
        facts: list[dict[str, Any]] = []
        for k, r in enumerate(reversed(chain)):
            day = int(log[r, L_DAY])
            events = []
            voided, fulfilled = int(log[r, L_VOIDED]), int(log[r, L_FULFILLED])
            granted = int(log[r, L_GRANTED])
            if voided <= last:
                events.append(("objection_filed", voided - self.due.decided_after))
                events.append(("objection_upheld", voided))
            if fulfilled <= last:
                events.append(("fulfilled", fulfilled))
            if granted <= last:
                events.append(("repair_applied", max(day, granted - REPAIR_DECIDED_AFTER)))
                events.append(("repair_granted", granted))
            facts.append({"record": f"{agent}-{k}", "record_type": codes[int(log[r, L_TYPE])],
                          "day": day, "wrong": bool(log[r, L_WRONG]),
                          "misattributed": int(log[r, L_WRONG]) == 2,
                          "events": events})  # fmt: skip
        causes = [c for b, c in enumerate(CAUSES) if int(st.causes[i]) >> b & 1]
        return {"agent": agent, "lists": lists, "grades": grades, "measures": measures,
                "reached": reached, "scores": scores, "facts": facts,
                "causes": causes}  # fmt: skip

    def _spread_of(self, st: State) -> list[tuple[F64, I64, int, int]]:
        """A partition's part of the inequality figures: per scheme, its scores' distinct
        values and their counts, those ever in the lowest grade and those of them out of it."""
        book = self.regime.book
        spread = []
        for si in range(len(book.scheme_ids)):
            kind = int(book.schemes.kind[si])
            unscored = st.grades[:, si] == UNSCORED
            scores = st.scores[:, si].astype(np.float64)
            if kind == WEIGHTED:
                scores = scores[~unscored]
            else:
                scores = np.where(unscored, book.schemes.base[si], scores)
            values, counts = np.unique(np.rint(scores * 1e3) / 1e3, return_counts=True)
            n_bands = int(book.schemes.band_start[si + 1] - book.schemes.band_start[si])
            ever = st.bottom[:, si]
            out = int((st.grades[ever, si] != n_bands - 1).sum()) if n_bands else 0
            spread.append((values, counts.astype(np.int64), int(ever.sum()), out))
        return spread

    def column_names(self) -> list[str]:
        book = self.regime.book
        names = list(BASE_METRICS)
        for lid in book.list_ids:
            names += [f"list.{lid}.in_force", f"list.{lid}.entered"]
        for m in self.measures:
            names += [f"measure.{m}.held", f"measure.{m}.held_innocent", f"measure.{m}.denials",
                      f"measure.{m}.innocent_denials"]  # fmt: skip
        for si, sid in enumerate(book.scheme_ids):
            for tier in self.tiers:
                names.append(f"scheme.{sid}.{tier}.unscored")
                for g in book.grade_names[si]:
                    names.append(f"scheme.{sid}.{tier}.{g}")
        return names

    def run(self, out: Path, *, parts: list[Partition] | None = None) -> dict[str, Any]:
        """Simulate, write ``metrics.parquet`` (national, a row per day),
        ``metrics_by_region.parquet`` (a row per day and province), over a world with cities
        ``metrics_by_city.parquet`` (a row per day and city; each is also in its province),
        ``summary.json`` (with each city's totals and simulated persons),
        ``scenario.json`` and, with ``trace_k``, the traced agents' facts and state
        (``trace.jsonl``, ``trace/``). ``parts``: every partition's result, run elsewhere
        (:mod:`socialcredit.sim.distributed`), written instead of simulating here."""
        out.mkdir(parents=True, exist_ok=True)
        result = self.simulate() if parts is None else self.gather(parts)
        names, rows = result["names"], result["rows"]
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        columns = {"date": pa.array(dates, pa.date32())}
        columns |= {name: pa.array(rows[:, k]) for k, name in enumerate(names)}
        pq.write_table(pa.table(columns), out / "metrics.parquet")
        lay, per = self.layout, result["by_region"]
        n_regions = lay.n_regions
        regional = {
            "date": pa.array(np.repeat(np.array(dates, "datetime64[D]"), n_regions), pa.date32()),
            "region": pa.array(list(lay.region_names) * self.days),
            "region_code": pa.array(np.tile(lay.region_codes, self.days)),
        }
        regional |= {name: pa.array(per[:, :, k].ravel()) for k, name in enumerate(names)}
        pq.write_table(pa.table(regional), out / "metrics_by_region.parquet")
        stocks = STOCKS | {n for n in names if not n.endswith(("denials", ".entered"))
                           and n.startswith(("list.", "measure.", "scheme."))}  # fmt: skip

        def totals_of(table: I64) -> dict[str, int]:
            return {
                n: int(table[-1, k]) if n in stocks else int(table[:, k].sum())
                for k, n in enumerate(names)
            }

        totals = totals_of(rows)
        cities: dict[str, Any] = {}
        city_areas = [(a, r, c) for a, (r, c) in enumerate(self.area_names) if c is not None]
        if city_areas:
            by_city = result["by_city"]
            n_cities = len(city_areas)
            local = {
                "date": pa.array(np.repeat(np.array(dates, "datetime64[D]"), n_cities),
                                 pa.date32()),
                "city": pa.array([c for _a, _r, c in city_areas] * self.days),
                "region": pa.array([lay.region_names[r] for _a, r, _c in city_areas]
                                   * self.days),
            }  # fmt: skip
            local |= {name: pa.array(by_city[:, :, k].ravel()) for k, name in enumerate(names)}
            pq.write_table(pa.table(local), out / "metrics_by_city.parquet")
            for k, (a, r, city) in enumerate(city_areas):
                persons = int(self.conduct.area_tier_n[a, : len(self.scenario.tiers)].sum())
                cities[str(city)] = {
                    "region": lay.region_names[r],
                    "persons": persons,
                    "totals": totals_of(by_city[:, k]),
                }
        scale = self.layout.scale
        summary = {
            "population": self.population,
            "represented": self.layout.represented,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": self.scenario.name,
            "regime": self.regime.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items()},
            "cities": cities,
            **self.inequality(),
        }
        write_outputs(out, summary, self.scenario, self.trace())
        if self.trace_k:
            self.write_replay(out / "trace")
        return summary

    def write_replay(self, folder: Path) -> None:
        """The traced agents as a registry would hold them: ``records.jsonl`` (what
        ``socialcredit records import`` loads unchanged: valid synthetic resident IDs, each
        record's issuing authority, a decision reference and a client key), ``events.jsonl``
        (their lifecycle: objections upheld, fulfilment, repair; one line per event, naming the
        record by its client key) and ``state.jsonl`` (the engine's view of each on the last day,
        in the keys of ``socialcredit profile --format json``: subject, as_of, schemes, lists,
        measures)."""
        folder.mkdir(parents=True, exist_ok=True)
        idx = self.regime.loaded.index
        end = self.last.isoformat()
        with (
            (folder / "records.jsonl").open("w") as records,
            (folder / "events.jsonl").open("w") as events,
            (folder / "state.jsonl").open("w") as states,
        ):
            for agent in self.traced():
                subject = self.subject_of(agent)
                for f in self.facts_of(agent):
                    key = f"sim-{self.seed}-{f['record']}"
                    rt = idx.record_types[f["record_type"]]
                    line = {
                        "subject": subject,
                        "record_type": f["record_type"],
                        "authority": rt.issuers[0] if rt.issuers else "",
                        "decided_on": _iso_day(f["day"]),
                        "decision_ref": f"simulated {self.regime.name} {key}",
                        "client_key": key,
                    }
                    records.write(json.dumps(line) + "\n")
                    for kind, day in f["events"]:
                        on = _iso_day(day)
                        events.write(json.dumps({"record": key, "event": kind, "on": on}) + "\n")
                mine = self.state_of(agent)
                book = self.regime.book
                scores = {
                    sid: {
                        "score": mine["scores"][sid],
                        "grade": mine["grades"][sid],
                    }
                    for sid in book.scheme_ids
                    if sid in mine["grades"]
                }
                state = {
                    "subject": subject,
                    "as_of": end,
                    "schemes": scores,
                    "lists": [{"list": lid} for lid in mine["lists"]],
                    "measures": [{"measure": m} for m in mine["measures"]],
                }
                states.write(json.dumps(state) + "\n")

    def inequality(self) -> dict[str, Any]:
        """Per scheme with grades: the Gini of scores (everyone, an unscored person at the base
        or full licence; for a weighted score only the scored) and mobility (the share of those
        ever in the lowest grade who are out of it at the end). The first such scheme's figures
        are also given as ``gini`` and ``mobility``."""
        book = self.regime.book
        per: dict[str, dict[str, float | None]] = {}
        for si, sid in enumerate(book.scheme_ids):
            values, counts, ever, out = _merged(self._spread[si])
            n_bands = int(book.schemes.band_start[si + 1] - book.schemes.band_start[si])
            mobility = out / ever if n_bands and ever else None
            per[sid] = {"gini": gini(values, counts) if values.size else None,
                        "mobility": mobility}  # fmt: skip
        first = next((v for k, v in per.items() if book.grade_names[book.scheme_ids.index(k)]),
                     next(iter(per.values()), {"gini": None, "mobility": None}))  # fmt: skip
        return {"gini": first["gini"], "mobility": first["mobility"], "schemes": per}

    def subject_of(self, agent: int) -> str:
        """A valid synthetic resident ID for a person, or Unified Social Credit Code for an
        organisation, that no real one can be: the code of a county withdrawn before the first
        ID card (:data:`~socialcredit.identifiers.RETIRED_COUNTY`), a birth date and a sequence
        from the agent's position."""
        if self.layout.is_organisation(agent):
            return organisation_code(RETIRED_COUNTY, agent)
        # born 1935-1981 (the retired county's years): adults on any day of a run, and the
        # court list never lists a minor (the registry refuses such a filing)
        first, last = date(1935, 1, 1), date(1981, 12, 31)
        born = first + timedelta(days=(agent // 1000) % (last - first).days)
        return resident_id(RETIRED_COUNTY, born, agent % 1000)

    def traced(self) -> list[int]:
        """The traced agents: ``trace_k`` spread evenly over the population."""
        agents = self.layout.agents
        k = min(self.trace_k, agents)
        return sorted({int(x) for x in np.linspace(0, agents - 1, k)}) if k else []

    def facts_of(self, agent: int) -> list[dict[str, Any]]:
        """A traced agent's records and their lifecycle as known on the last day, in decision
        order (``record`` names one by the agent and its place in the agent's history)."""
        facts: list[dict[str, Any]] = self._traced[agent]["facts"]
        return facts

    def state_of(self, agent: int) -> dict[str, Any]:
        """What the engine holds for a traced agent on the last day: lists, grades and scores
        per scheme, its own measures."""
        return {k: v for k, v in self._traced[agent].items() if k != "facts"}

    def trace(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in self._traced[a].items() if k != "scores"} for a in self.traced()]
