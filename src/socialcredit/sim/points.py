"""A single points score over a population: the ``unified-score`` caricature and the ``pilot-2018``
city score, measured.

The catalog says what moves the score (its scheme's rules, including rules that reach family
and friends), how long each record counts (its ``publication.effect``), where the grades fall,
which lists a grade or a record puts someone on, and which measures those lists carry and to whom
(memoranda extended to family). The scenario says how often people post, petition, buy, litter
or default, among whom (``concentration``), from when (``records_from``), and how households and
friendships are laid out.

What the engine follows from the catalog, and what it does not:

- a deduction or bonus ends when its record's effect ends (calendar months, as the registry
  counts them); a record with no end of effect counts for the whole run;
- a grade list is left when the score recovers out of its grades, if every grade list that
  restricts has ``score_recovery`` among its ways off; otherwise it is never left;
- a record list (entered by records) is never left within a run: durations, fulfilment and repair
  of record-entered lists are not modelled here (the court list's engine models them);
- a list's measures reach the whole household if any restricting list's memorandum extends to
  family or household (one switch for the run).

Per agent: ``score`` (int16, offset from the scheme's base), ``flags`` (uint8: listed, listed by
grade, listed by record, restricted, a legal violation of their own, counted as innocent, ever
listed) and ``reach`` (uint8: how many listed people's measures reach the agent; restricted while
it is above zero). Households are consecutive blocks of agents; an agent's friends are the next
agents in index order.

The days run in one compiled kernel. Work per day is proportional to events: per record type and
income tier a Poisson count, then that many agents; each score change moves one agent between
two (tier, grade) counters, and listings and restrictions are counted as they happen, so no day
scans the population. Deductions that end within the run go into time-bucketed queues (one
linked list per day). Random numbers come from SplitMix64 streams keyed by (seed, record type,
day), so a run is reproducible to the byte for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit
from pydantic import Field, model_validator

from socialcredit.daycount import add_months, to_day
from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import INADMISSIBLE_SOURCES, Nature, PointsScheme, Removal
from socialcredit.sim.common import (
    Frozen,
    RegimeSpec,
    gini,
    regime_parts,
    validated,
    write_outputs,
)
from socialcredit.sim.kernel import _below, _poisson, _uniform, stream_key
from socialcredit.sim.population import NATIONAL_2020, Layout, layout
from socialcredit.sim.scenario import Tier

I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
B1 = npt.NDArray[np.bool_]

# agent flags
LISTED, RESTRICTED, VIOLATOR, INNOCENT, BY_GRADE, BY_RECORD, EVER = (1, 2, 4, 8, 16, 32, 64)
BOTTOM = 128  # has been in the lowest grade

METRICS = (
    "records",
    "points_deducted",
    "newly_listed",
    "listed_now",
    "restricted_now",
    "restricted_innocents",
    "flight_denials",
    "train_denials",
    "innocent_denials",
    "points_awarded",
    "points_expired",
    "delisted",
    "listed_ever",
)
(RECORDS, DEDUCTED, NEWLY, LISTED_NOW, RESTRICTED_NOW, INNOCENTS, FLIGHTS, TRAINS,
 INNOCENT_DENIALS, AWARDED, EXPIRED, DELISTED, LISTED_EVER) = range(len(METRICS))  # fmt: skip
STOCKS = ("listed_now", "restricted_now", "restricted_innocents", "listed_ever")
"""Read on the last day; every other metric is a flow, summed over days."""

# cfg (int64 parameters of the kernel)
(C_N, C_HOUSEHOLD, C_FRIENDS, C_FLOOR, C_CEILING, C_TO_FAMILY, C_RECOVERS, C_ABS0,
 C_SEED) = range(9)  # fmt: skip
# state (int64 counters carried across days)
S_LISTED, S_EVER, S_FREE, S_USED = range(4)
NONE = -1


class PointsScenario(Frozen):
    kind: str = "points"
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    represented: int = Field(default=NATIONAL_2020, gt=0)
    """The population the agents stand for (a city's residents; default: the 2020 census)."""
    tiers: dict[str, Tier]
    """Income tiers; ``debtor_factor`` multiplies the rate of records of defaults (``nature =
    "default"``) in the tier."""
    records_per_year: dict[str, float]
    """Record type -> records per person per year (before camera coverage)."""
    records_from: dict[str, date] = Field(default_factory=dict)
    """Record type -> the first day such records are made (a rule that starts mid-run)."""
    concentration: dict[str, float] = Field(default_factory=dict)
    """Record type -> the share of each tier among whom its records fall (repeat petitioners);
    the rate per person of the whole population is unchanged. Default: everyone."""
    camera_coverage: float = Field(default=1.0, ge=0, le=1)
    """Share of camera-detectable conduct that cameras catch."""
    household_size: int = Field(default=3, ge=1, le=255)
    friends: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> PointsScenario:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        total = sum(t.share for t in self.tiers.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"tier shares must sum to 1 (they sum to {total:g})")
        for field in ("records_from", "concentration"):
            extra = set(getattr(self, field)) - set(self.records_per_year)
            if extra:
                raise ValueError(f"{field} names record types without a rate: {sorted(extra)}")
        for code, share in self.concentration.items():
            if not 0 < share <= 1:
                raise ValueError(f"concentration of {code} must be in (0, 1]")
        return self


class PointsRegimeFile(RegimeSpec):
    kind: str = "points"
    flight_measure: str | None = None
    """Bookings denied by this measure are counted (every restricting list must carry it)."""
    train_measure: str | None = None
    measures: tuple[str, ...] = ()
    """Further restrictions: a list whose memoranda carry any named measure (flight and train
    included) restricts the people on it."""


@dataclass(frozen=True)
class PointsRegime:
    spec: PointsRegimeFile
    loaded: Loaded
    scheme: PointsScheme
    own: dict[str, float]
    """Record type -> points to its subject."""
    family: dict[str, float]
    friends: dict[str, float]
    grade_lists: frozenset[str]
    """Grades that put someone on a list carrying the measures."""
    record_lists: frozenset[str]
    """Record types that put someone on such a list (for the rest of the run)."""
    to_family: bool
    """Whether the lists' memoranda extend the measures to family."""
    grade_recovers: bool = False
    """Whether leaving the listed grades takes someone off the grade lists (every restricting
    grade list has ``score_recovery``)."""

    @property
    def name(self) -> str:
        return self.spec.name


def load_points_regime(text: str, source: str) -> PointsRegime:
    spec, loaded, scheme = regime_parts(PointsRegimeFile, PointsScheme, text, source=source)
    idx = loaded.index
    own: dict[str, float] = {}
    family: dict[str, float] = {}
    friends: dict[str, float] = {}
    for rule in scheme.rules:
        points = rule.points if rule.points is not None else rule.by_occurrence[0]
        via = rule.via.value if rule.via is not None else None
        target = {None: own, "family": family, "household": family, "friends": friends}.get(via)
        if target is not None:
            target[rule.record_type] = target.get(rule.record_type, 0.0) + points
    counted = [m for m in (spec.flight_measure, spec.train_measure) if m is not None]
    counted += [m for m in spec.measures if m not in counted]
    if not counted:
        raise InputError("regime.measures", "name at least one measure whose lists restrict")
    unknown = [m for m in counted if m not in idx.measures]
    if unknown:
        raise InputError("regime.measures", f"no measure {unknown[0]!r} in the catalogs named")
    carrying = [
        lst
        for lst in idx.catalog.lists
        if any(
            m in memo.measures for memo in idx.memoranda_by_list.get(lst.id, []) for m in counted
        )
    ]
    for travel in (spec.flight_measure, spec.train_measure):
        for lst in carrying:
            memos = idx.memoranda_by_list.get(lst.id, [])
            if travel is not None and not any(travel in memo.measures for memo in memos):
                raise InputError(
                    "regime",
                    f"{travel!r} is counted for everyone restricted, but list {lst.id!r} "
                    "does not carry it",
                )
    by_grade = [lst for lst in carrying if lst.entry.scheme == spec.scheme]
    grades = frozenset(g for lst in by_grade for g in lst.entry.grades)
    records = frozenset(code for lst in carrying for code in lst.entry.record_types)
    to_family = any(
        r.value in ("family", "household")
        for lst in carrying
        for memo in idx.memoranda_by_list.get(lst.id, [])
        for r in memo.extends_to
    )
    recovers = bool(by_grade) and all(Removal.score_recovery in lst.removal for lst in by_grade)
    return PointsRegime(
        spec, loaded, scheme, own, family, friends, grades, records, to_family, recovers
    )


def load_points_scenario(raw: dict[str, Any], source: str) -> PointsScenario:
    return validated(PointsScenario, raw, source=source, field="scenario")


def _whole(value: float, what: str) -> int:
    if value != round(value):
        raise InputError("regime.scheme", f"{what} must be whole points (has {value:g})")
    return round(value)


@dataclass
class PointsRun:
    scenario: PointsScenario
    regime: PointsRegime
    population: int
    seed: int
    trace_k: int = 0
    """Accepted for a uniform interface; this engine writes no traces yet."""
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        sc, reg = self.scenario, self.regime
        self.first = self.start or sc.start
        self.last = self.end or sc.end
        self.days = (self.last - self.first).days + 1
        self.tiers = list(sc.tiers)
        self.layout: Layout = layout(
            self.population, {k: t.share for k, t in sc.tiers.items()}, represented=sc.represented
        )
        scheme = reg.scheme
        self.base = _whole(scheme.base, "base")
        self.floor = _whole(scheme.floor, "floor") - self.base
        self.ceiling = _whole(scheme.ceiling, "ceiling") - self.base
        if self.floor < -32768 or self.ceiling > 32767:
            raise InputError("regime.scheme", "scores must stay within 32767 points of the base")
        self.bands = sorted(((b.min, b.grade) for b in scheme.bands), reverse=True)
        if not self.bands or self.bands[-1][0] > self.base + self.floor:
            raise InputError("regime.scheme", "every score from floor to ceiling needs a grade")
        self.grades = [g for _, g in self.bands]
        types = reg.loaded.index.record_types
        unknown = set(sc.records_per_year) - set(types)
        if unknown:
            raise InputError("scenario.records_per_year", f"unknown record types {sorted(unknown)}")
        self.codes = list(sc.records_per_year)
        self.score = np.zeros(self.population, np.int16)  # offset from the base
        self.flags = np.zeros(self.population, np.uint8)
        self.reach = np.zeros(self.population, np.uint8)
        self.tier_of = np.zeros(self.population, np.uint8)
        lay = self.layout
        self.tier_n = np.zeros(lay.n_tiers, np.int64)
        # tier t's members, region by region: cumulative counts and the first agent of each
        self.tier_cum = np.zeros((lay.n_tiers, lay.n_regions + 1), np.int64)
        self.tier_first = np.zeros((lay.n_tiers, lay.n_regions), np.int64)
        gs = lay.group_start
        for t in range(lay.n_tiers):
            for r in range(lay.n_regions):
                g = lay.group(r, t)
                lo, hi = int(gs[g]), int(gs[g + 1])
                self.tier_of[lo:hi] = t
                self.tier_first[t, r] = lo
                self.tier_cum[t, r + 1] = self.tier_cum[t, r] + hi - lo
            self.tier_n[t] = self.tier_cum[t, -1]

    def _type_arrays(self) -> dict[str, Any]:
        """Per record type: points, nature, periods, rates per day, factors per tier."""
        sc, reg = self.scenario, self.regime
        idx = reg.loaded.index
        n_types, n_tiers = len(self.codes), len(self.tiers)
        out: dict[str, Any] = {
            "own": np.zeros(n_types, np.int32),
            "family": np.zeros(n_types, np.int32),
            "friends": np.zeros(n_types, np.int32),
            "violation": np.zeros(n_types, np.bool_),
            "listing": np.zeros(n_types, np.bool_),
            "effect": np.full(n_types, NONE, np.int32),
            "rates": np.zeros((self.days, n_types), np.float64),
            "factor": np.ones((n_types, n_tiers), np.float64),
            "subset": np.zeros((n_types, n_tiers), np.int64),
            "offset": np.zeros((n_types, n_tiers), np.int64),
        }
        tiers = list(sc.tiers.values())
        for i, code in enumerate(self.codes):
            rt = idx.record_types[code]
            out["own"][i] = _whole(reg.own.get(code, 0.0), f"points for {code}")
            out["family"][i] = _whole(reg.family.get(code, 0.0), f"points for {code}")
            out["friends"][i] = _whole(reg.friends.get(code, 0.0), f"points for {code}")
            out["violation"][i] = (
                rt.nature in (Nature.violation, Nature.default)
                and rt.source not in INADMISSIBLE_SOURCES
            )
            out["listing"][i] = code in reg.record_lists
            effect = rt.publication.effect
            out["effect"][i] = NONE if effect is None else effect
            camera = sc.camera_coverage if rt.source.value == "camera" else 1.0
            rate = sc.records_per_year[code] * camera / 365.25
            begins = sc.records_from.get(code)
            skip = max(0, (begins - self.first).days) if begins is not None else 0
            out["rates"][skip:, i] = rate
            share = sc.concentration.get(code, 1.0)
            for t, tier in enumerate(tiers):
                if rt.nature is Nature.default:
                    out["factor"][i, t] = tier.debtor_factor
                n = int(self.tier_n[t])
                out["subset"][i, t] = max(1, round(share * n)) if n else 0
                out["offset"][i, t] = (i * 0x9E3779B1) % n if n else 0
        return out

    def _strides(self) -> I64:
        """Per tier, a multiplier coprime with the tier's size: ``j * stride % n`` scatters a
        concentrated record type's subset over the whole tier."""
        strides = np.ones(len(self.tiers), np.int64)
        for t, n in enumerate(self.tier_n.tolist()):
            s = max(1, int(n * 0.6180339887)) | 1
            while n > 1 and gcd(s, n) != 1:
                s += 2
            strides[t] = s
        return strides

    def concentrated_on(self, code: str) -> I64:
        """The agents among whom records of ``code`` fall (everyone if not concentrated)."""
        i = self.codes.index(code)
        arrays = self._type_arrays()
        subset, offset, strides = arrays["subset"][i], arrays["offset"][i], self._strides()
        parts = []
        for t in range(len(self.tiers)):
            size = int(self.tier_n[t])
            j = np.arange(subset[t], dtype=np.int64)
            if subset[t] < size:
                j = (j * strides[t] + offset[t]) % size
            r = np.searchsorted(self.tier_cum[t], j, side="right") - 1
            parts.append(self.tier_first[t, r] + j - self.tier_cum[t, r])
        return np.sort(np.concatenate(parts))

    def _grade_table(self) -> U8:
        """Grade index (in ``self.grades`` order, highest first) of every score offset."""
        scores = self.base + np.arange(self.floor, self.ceiling + 1, dtype=np.float64)
        mins = np.array([low for low, _ in self.bands])
        # the first band (highest first) whose min the score reaches
        table: U8 = np.argmax(scores[:, None] >= mins[None, :], axis=1).astype(np.uint8)
        return table

    def simulate(self) -> tuple[I64, I64]:
        """Run every day; return the metrics (days, METRICS) and the grade counts (days, tier,
        grade). Leaves the final scores in ``self.score``."""
        sc, reg = self.scenario, self.regime
        arrays = self._type_arrays()
        grade_of = self._grade_table()
        n_grades = len(self.grades)
        listed_grade = np.array([g in reg.grade_lists for g in self.grades], np.bool_)
        if listed_grade[grade_of[-self.floor]]:
            raise InputError("regime", "the scheme's base grade would put everyone on a list")
        counts = np.zeros((len(self.tiers), n_grades), np.int64)
        counts[:, grade_of[-self.floor]] = self.tier_n
        cfg = np.zeros(9, np.int64)
        cfg[C_N] = self.population
        cfg[C_HOUSEHOLD] = sc.household_size
        cfg[C_FRIENDS] = sc.friends
        cfg[C_FLOOR] = self.floor
        cfg[C_CEILING] = self.ceiling
        cfg[C_TO_FAMILY] = reg.to_family
        cfg[C_RECOVERS] = reg.grade_recovers
        cfg[C_ABS0] = to_day(self.first)
        cfg[C_SEED] = self.seed
        per_day = np.array([[t.flights_per_year, t.trains_per_year] for t in sc.tiers.values()])
        per_day /= 365.25
        if reg.spec.flight_measure is None:
            per_day[:, 0] = 0.0
        if reg.spec.train_measure is None:
            per_day[:, 1] = 0.0
        rows = np.zeros((self.days, len(METRICS)), np.int64)
        grade_rows = np.zeros((self.days, len(self.tiers), n_grades), np.int64)
        _run(
            cfg, arrays["rates"], arrays["factor"], arrays["subset"], arrays["offset"],
            self._strides(), arrays["own"], arrays["family"], arrays["friends"],
            arrays["violation"], arrays["listing"], arrays["effect"], self.tier_cum,
            self.tier_first, grade_of, listed_grade, per_day, self.score, self.flags, self.reach,
            self.tier_of, counts, rows, grade_rows,
        )  # fmt: skip
        self.counts = counts
        return rows, grade_rows

    def run(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        sc, reg = self.scenario, self.regime
        rows, grade_rows = self.simulate()
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        columns = {"date": pa.array(dates, pa.date32())}
        columns |= {m: pa.array(rows[:, i]) for i, m in enumerate(METRICS)}
        for t, tier in enumerate(self.tiers):
            for g, grade in enumerate(self.grades):
                columns[f"grade_{grade}_{tier}"] = pa.array(grade_rows[:, t, g])
        pq.write_table(pa.table(columns), out / "metrics.parquet")
        totals = {
            m: int(rows[-1, i]) if m in STOCKS else int(rows[:, i].sum())
            for i, m in enumerate(METRICS)
        }
        scale = self.layout.scale
        summary = {
            "population": self.population,
            "represented": self.layout.represented,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": sc.name,
            "regime": reg.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items()},
            "grades_by_tier": self.grades_by_tier(grade_rows[-1]),
            **self.inequality(),
        }
        write_outputs(out, summary, sc)
        return summary

    def inequality(self) -> dict[str, float | None]:
        """``gini`` of the final scores, and ``mobility``: the share of those who were ever in
        the lowest grade who are out of it at the end (None if nobody fell that low)."""
        offsets = self.score.astype(np.int64) - self.floor
        hist = np.bincount(offsets, minlength=self.ceiling - self.floor + 1)
        values = self.base + self.floor + np.arange(hist.size)
        bottom = (self.flags & BOTTOM) != 0
        fell = int(bottom.sum())
        lowest = len(self.grades) - 1
        still = int((self._grade_table()[offsets[bottom]] == lowest).sum()) if fell else 0
        return {"gini": gini(values, hist), "mobility": (fell - still) / fell if fell else None}

    def grades_by_tier(self, counts: I64) -> dict[str, dict[str, float]]:
        """Share of each income tier in each grade, from one day's (tier, grade) counts."""
        return {
            tier: {
                grade: float(counts[t, g] / self.tier_n[t]) if self.tier_n[t] else 0.0
                for g, grade in enumerate(self.grades)
            }
            for t, tier in enumerate(self.tiers)
        }


# ------------------------------------------------------------------------------------------------
# The compiled days


@njit(cache=True)
def _run(  # noqa: PLR0913  # pragma: no cover - compiled
    cfg: I64,
    rates: F64,  # (days, types), per person per day
    factor: F64,  # (types, tiers)
    subset: I64,  # (types, tiers): members of the tier the records fall among
    offset: I64,  # (types, tiers)
    stride: I64,  # (tiers,)
    own: I32,
    family: I32,
    friends: I32,
    violation: B1,
    listing: B1,
    effect: I32,  # months, NONE = the whole run
    tier_cum: I64,  # (tiers, regions + 1)
    tier_first: I64,  # (tiers, regions)
    grade_of: U8,  # by score offset - floor
    listed_grade: B1,
    per_day: F64,  # (tiers, 2): flights and trains a member books per day
    score: I16,
    flags: U8,
    reach: U8,
    tier_of: U8,
    counts: I64,  # (tiers, grades), in and out
    rows: I64,  # (days, METRICS) out
    grade_rows: I64,  # (days, tiers, grades) out
) -> None:
    days, n_types = rates.shape
    n_tiers = tier_cum.shape[0]
    n = cfg[C_N]
    abs0 = cfg[C_ABS0]
    seed = cfg[C_SEED]
    floor, ceiling = cfg[C_FLOOR], cfg[C_CEILING]
    restricted = np.zeros((n_tiers, 2), np.int64)  # restricted, of whom innocent
    state = np.zeros(4, np.int64)
    stream = np.empty(1, np.uint64)
    # expiry queues: one linked list of (agent, points to give back) per day
    head = np.full(days, -1, np.int64)
    cap = 1024
    q_agent = np.empty(cap, np.int64)
    q_points = np.empty(cap, np.int32)
    q_next = np.empty(cap, np.int64)
    free = np.empty(cap, np.int64)
    batch = np.empty(1024, np.int64)  # one (record type, tier, day)'s agents
    for d in range(days):
        row = rows[d]
        i = head[d]
        while i >= 0:
            a = q_agent[i]
            old = np.int64(score[a])
            new = min(ceiling, max(floor, old + q_points[i]))
            if new != old:
                score[a] = new
                row[EXPIRED] += new - old
                g_old, g_new = grade_of[old - floor], grade_of[new - floor]
                if g_new != g_old:
                    _regrade(a, g_old, g_new, cfg, row, flags, reach, tier_of, listed_grade,
                             counts, restricted, state)  # fmt: skip
            free[state[S_FREE]] = i
            state[S_FREE] += 1
            i = q_next[i]
        head[d] = -1
        for c in range(n_types):
            rate = rates[d, c]
            if rate <= 0.0:
                continue
            ends = days  # the record counts for the rest of the run
            if effect[c] >= 0:
                ends = add_months(abs0 + d, effect[c]) - abs0
                if ends <= d:
                    continue  # a record without effect
            stream[0] = stream_key(seed, c, d)
            for t in range(n_tiers):
                size = tier_cum[t, -1]
                if size == 0:
                    continue
                k = _poisson(stream, size * rate * factor[c, t])
                row[RECORDS] += k
                if k > batch.size:
                    batch = np.empty(2 * k, np.int64)
                touched = 0
                for e in range(k):
                    j = _below(stream, subset[c, t])
                    if subset[c, t] < size:
                        j = (j * stride[t] + offset[c, t]) % size
                    r = np.searchsorted(tier_cum[t], j, side="right") - 1
                    a = tier_first[t, r] + j - tier_cum[t, r]
                    batch[e] = a
                    touched += score[a]  # load now: these loads do not wait on each other
                if touched == -(1 << 62):  # never true; keeps the loads
                    row[RECORDS] += 1
                for e in range(k):
                    a = batch[e]
                    if violation[c] and flags[a] & VIOLATOR == 0:
                        _violate(a, flags, tier_of, restricted)
                    for target in range(3):
                        points = (own[c], family[c], friends[c])[target]
                        if points == 0:
                            continue
                        first, last = a, a + 1
                        if target == 1:
                            first = a - a % cfg[C_HOUSEHOLD]
                            last = min(first + cfg[C_HOUSEHOLD], n)
                        elif target == 2:
                            first, last = a + 1, a + 1 + cfg[C_FRIENDS]
                        for x in range(first, last):
                            b = x % n
                            if target == 1 and b == a:
                                continue
                            old = np.int64(score[b])
                            new = min(ceiling, max(floor, old + points))
                            if new == old:
                                continue
                            score[b] = new
                            if new < old:
                                row[DEDUCTED] += old - new
                            else:
                                row[AWARDED] += new - old
                            g_old, g_new = grade_of[old - floor], grade_of[new - floor]
                            if g_new != g_old:
                                _regrade(b, g_old, g_new, cfg, row, flags, reach, tier_of,
                                         listed_grade, counts, restricted, state)  # fmt: skip
                            if ends >= days:
                                continue
                            # queue the points to give back when the record's effect ends
                            if state[S_FREE] > 0:
                                state[S_FREE] -= 1
                                slot = free[state[S_FREE]]
                            else:
                                if state[S_USED] == cap:
                                    cap *= 2
                                    q_agent = _grown(q_agent, cap)
                                    q_points = _grown(q_points, cap)
                                    q_next = _grown(q_next, cap)
                                    free = _grown(free, cap)
                                slot = state[S_USED]
                                state[S_USED] += 1
                            q_agent[slot] = b
                            q_points[slot] = old - new
                            q_next[slot] = head[ends]
                            head[ends] = slot
                    if listing[c] and flags[a] & BY_RECORD == 0:
                        flags[a] |= BY_RECORD
                        _sync(a, cfg, row, flags, reach, tier_of, restricted, state)
        stream[0] = stream_key(seed, n_types, d)
        for t in range(n_tiers):
            held = restricted[t, 0]
            if held == 0:
                continue
            share = restricted[t, 1] / held
            for m in range(2):
                if per_day[t, m] <= 0.0:
                    continue
                denied = _poisson(stream, held * per_day[t, m])
                row[FLIGHTS + m] += denied
                for _ in range(denied):
                    if _uniform(stream) < share:
                        row[INNOCENT_DENIALS] += 1
        row[LISTED_NOW] = state[S_LISTED]
        row[LISTED_EVER] = state[S_EVER]
        row[RESTRICTED_NOW] = restricted[:, 0].sum()
        row[INNOCENTS] = restricted[:, 1].sum()
        grade_rows[d] = counts


@njit(cache=True, nogil=True)
def _grown(a: npt.NDArray[Any], cap: int) -> npt.NDArray[Any]:  # pragma: no cover - compiled
    """``a`` copied into a longer array (an expiry queue that filled up)."""
    out = np.empty(cap, a.dtype)
    out[: a.size] = a
    return out


@njit(cache=True, nogil=True)
def _regrade(  # noqa: PLR0913  # pragma: no cover - compiled
    a: int,
    g_old: int,
    g_new: int,
    cfg: I64,
    row: I64,
    flags: U8,
    reach: U8,
    tier_of: U8,
    listed_grade: B1,
    counts: I64,
    restricted: I64,
    state: I64,
) -> None:
    """Agent ``a`` moved from grade ``g_old`` to ``g_new``: move it between the (tier, grade)
    counts, and onto or off the grade lists (rare next to score changes, so not inlined)."""
    t = tier_of[a]
    counts[t, g_old] -= 1
    counts[t, g_new] += 1
    if g_new == counts.shape[1] - 1:
        flags[a] |= BOTTOM
    if listed_grade[g_new]:
        if flags[a] & BY_GRADE == 0:
            flags[a] |= BY_GRADE
            _sync(a, cfg, row, flags, reach, tier_of, restricted, state)
    elif flags[a] & BY_GRADE and cfg[C_RECOVERS]:
        flags[a] &= ~np.uint8(BY_GRADE)
        _sync(a, cfg, row, flags, reach, tier_of, restricted, state)


@njit(cache=True, nogil=True)
def _sync(  # noqa: PLR0913  # pragma: no cover - compiled
    a: int, cfg: I64, row: I64, flags: U8, reach: U8, tier_of: U8, restricted: I64, state: I64
) -> None:
    """List or unlist ``a`` as its grade and records say, and restrict whom that reaches."""
    want = flags[a] & (BY_GRADE | BY_RECORD) != 0
    have = flags[a] & LISTED != 0
    if want == have:
        return
    step = 1
    if want:
        flags[a] |= LISTED
        state[S_LISTED] += 1
        row[NEWLY] += 1
        if flags[a] & EVER == 0:
            flags[a] |= EVER
            state[S_EVER] += 1
    else:
        flags[a] &= ~np.uint8(LISTED)
        state[S_LISTED] -= 1
        row[DELISTED] += 1
        step = -1
    first, last = a, a + 1
    if cfg[C_TO_FAMILY]:
        h = cfg[C_HOUSEHOLD]
        first = a - a % h
        last = min(first + h, cfg[C_N])
    for b in range(first, last):
        t = tier_of[b]
        if step > 0:
            if reach[b] == 0:
                flags[b] |= RESTRICTED
                restricted[t, 0] += 1
                if flags[b] & VIOLATOR == 0:
                    flags[b] |= INNOCENT
                    restricted[t, 1] += 1
            reach[b] += 1
        else:
            reach[b] -= 1
            if reach[b] == 0:
                flags[b] &= ~np.uint8(RESTRICTED)
                restricted[t, 0] -= 1
                if flags[b] & INNOCENT:
                    flags[b] &= ~np.uint8(INNOCENT)
                    restricted[t, 1] -= 1


@njit(cache=True, nogil=True)
def _violate(a: int, flags: U8, tier_of: U8, restricted: I64) -> None:  # pragma: no cover
    """``a`` has a legal violation of their own: no longer counted among restricted innocents."""
    if flags[a] & VIOLATOR:
        return
    flags[a] |= VIOLATOR
    if flags[a] & INNOCENT:
        flags[a] &= ~np.uint8(INNOCENT)
        restricted[tier_of[a], 1] -= 1
