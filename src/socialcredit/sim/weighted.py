"""An opt-in private score (Sesame-like): a weighted multi-dimension scheme with perks.

Enrolled agents (a share of each income-tier group) generate the records the scheme counts;
each record changes its agent's count of in-effect records of its type, and the agent's score
is the registry's weighted fold of those counts (:func:`socialcredit.registry.evaluate.evaluate`:
rule points by occurrence, each dimension clamped to 0-100, weighted, mapped onto the scheme's
range); the scheme's perks go to those at or above their threshold. Records leave the fold when
their effect ends (a queue per day of ends). Agents who never enrolled have no score and no
perks; an enrolled agent is scored from their first record on.

The days run in one compiled kernel. Per day, region by region (a SplitMix64 stream per
(seed, region, day), as the court-list kernel): for each income tier and record type a Poisson
count of records among the group's members, then that many members; so the work is
proportional to records, not to agents. Each score change moves one agent between two
(tier, grade) counters and updates the running counts (scored, qualified, sum of scores), so no
day scans the population. Per-agent state, one row of 16 bytes for the six record types of
``sesame-hangzhou``: a count of records in effect per type (``uint16``) and the score in
millionths (``int32``; the reference rounds scores to 6 decimals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit
from pydantic import Field

from socialcredit.daycount import add_months, to_day
from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import WeightedScheme
from socialcredit.sim.common import (
    Frozen,
    RegimeSpec,
    gini,
    regime_parts,
    validated,
    write_outputs,
)
from socialcredit.sim.kernel import _below, _poisson, stream_key
from socialcredit.sim.population import layout
from socialcredit.sim.scenario import Tier

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U16 = npt.NDArray[np.uint16]

METRICS = ("records", "enrolled", "scored", "qualified", "mean_score_x100")
RECORDS, ENROLLED, SCORED, QUALIFIED, SUM_MICRO = range(5)  # kernel row columns
UNSCORED = np.iinfo(np.int32).min
COUNT_MAX = np.iinfo(np.uint16).max
HAS, QUAL, SUM = 0, 1, 2  # running counters: scored, qualified, sum of scores x 1e6


class WeightedScenario(Frozen):
    kind: str = "weighted"
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    represented: int = Field(gt=0)
    """The population the agents stand for."""
    enrolled: float = Field(ge=0, le=1)
    """Share of the population that opted in."""
    tiers: dict[str, Tier]
    records_per_year: dict[str, float]
    """Record type -> records per enrolled person per year; types that cost points are
    multiplied by the tier's ``debtor_factor``."""


class WeightedRegimeFile(RegimeSpec):
    kind: str = "weighted"


@dataclass(frozen=True)
class WeightedRegime:
    spec: WeightedRegimeFile
    loaded: Loaded
    scheme: WeightedScheme

    @property
    def name(self) -> str:
        return self.spec.name


def load_weighted_regime(text: str, source: str) -> WeightedRegime:
    spec, loaded, scheme = regime_parts(WeightedRegimeFile, WeightedScheme, text, source=source)
    return WeightedRegime(spec, loaded, scheme)


def load_weighted_scenario(raw: dict[str, Any], source: str) -> WeightedScenario:
    return validated(WeightedScenario, raw, source=source, field="scenario")


@dataclass(frozen=True)
class Fold:
    """The scheme compiled for the kernel: one entry per rule whose record type the scenario
    draws (rules of other types never count), in the reference's order."""

    entry_type: I64  # the entry's record type (index into the scenario's types)
    entry_dim: I64  # its dimension
    cum: F64  # (entries, longest + 1): points of the first c occurrences, c = 0..longest
    entry_len: I64  # occurrences with their own points; later ones repeat the last
    entry_last: F64
    base: F64  # per dimension
    weight: F64
    low: float
    high: float


def compile_fold(scheme: WeightedScheme, codes: list[str]) -> Fold:
    index = {code: t for t, code in enumerate(codes)}
    entries = [
        (index[rule.record_type], d, rule)
        for d, dim in enumerate(scheme.dimensions)
        for rule in dim.rules
        if rule.record_type in index
    ]
    longest = max(
        (len(r.by_occurrence) if r.points is None else 1 for _t, _d, r in entries), default=1
    )
    cum = np.zeros((len(entries), longest + 1))
    lengths = np.ones(len(entries), np.int64)
    for e, (_t, _d, rule) in enumerate(entries):
        lengths[e] = 1 if rule.points is not None else len(rule.by_occurrence)
        for c in range(1, longest + 1):
            cum[e, c] = cum[e, c - 1] + rule.points_for(c)
    return Fold(
        np.array([t for t, _d, _r in entries], np.int64),
        np.array([d for _t, d, _r in entries], np.int64),
        cum,
        lengths,
        np.array([r.points_for(int(n)) for (_t, _d, r), n in zip(entries, lengths, strict=True)]),
        np.array([float(d.base) for d in scheme.dimensions]),
        np.array([float(d.weight) for d in scheme.dimensions]),
        float(scheme.low),
        float(scheme.high),
    )


def _millionths(threshold: float) -> int:
    """The least score in millionths ``m`` with ``m / 1e6 >= threshold`` (a score at least
    ``threshold``), clamped to the int64 range (for no threshold: ``inf``)."""
    if threshold == float("inf"):
        return int(np.iinfo(np.int64).max)
    if threshold == float("-inf"):
        return int(np.iinfo(np.int64).min)
    m = math.ceil(threshold * 1e6)
    while m / 1e6 < threshold:
        m += 1
    while (m - 1) / 1e6 >= threshold:
        m -= 1
    return m


@dataclass
class WeightedRun:
    scenario: WeightedScenario
    regime: WeightedRegime
    population: int
    seed: int
    trace_k: int = 0
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        sc, scheme = self.scenario, self.regime.scheme
        self.first = self.start or sc.start
        self.last = self.end or sc.end
        self.days = (self.last - self.first).days + 1
        self.layout = layout(
            self.population, {k: t.share for k, t in sc.tiers.items()}, represented=sc.represented
        )
        types = self.regime.loaded.index.record_types
        unknown = set(sc.records_per_year) - set(types)
        if unknown:
            raise InputError("scenario.records_per_year", f"unknown record types {sorted(unknown)}")
        self.codes = list(sc.records_per_year)
        self.fold = compile_fold(scheme, self.codes)
        rules = [(r.record_type, r) for dim in scheme.dimensions for r in dim.rules]
        costs = [any(r.points_for(1) < 0 for c, r in rules if c == code) for code in self.codes]
        tiers = list(sc.tiers.values())
        self.rate = np.array(
            [
                [per_year * (t.debtor_factor if cost else 1.0) / 365.25 for t in tiers]
                for per_year, cost in zip(sc.records_per_year.values(), costs, strict=True)
            ]
        ).reshape(len(self.codes), len(tiers))
        effects = [types[code].publication.effect for code in self.codes]
        self.effect = np.array([-1 if e is None else e for e in effects], np.int64)
        self.bands = sorted(((float(b.min), b.grade) for b in scheme.bands), reverse=True)
        self.grades = [g for _low, g in self.bands]
        self.perk_at = min((p.at_least for p in scheme.perks), default=float("inf"))
        sizes = self.layout.group_sizes()
        self.enrolled_n = np.floor(sizes * sc.enrolled).astype(np.int64)
        # one row of uint16 per agent, so that a change touches one cache line: the counts per
        # record type, then the score in millionths (int32 while the scheme's range fits, as
        # for every bundled scheme; int64 otherwise), both views of the same memory
        wide = max(abs(self.fold.low), abs(self.fold.high)) * 1e6 >= np.iinfo(np.int32).max
        size = 4 if wide else 2  # uint16 columns per score
        width = -(-len(self.codes) // size) * size + size
        self.state = np.zeros((self.population, width), np.uint16)
        self.counts: U16 = self.state[:, : len(self.codes)]
        self.micro: npt.NDArray[Any] = self.state.view(np.int64 if wide else np.int32)[:, -1]
        self.micro[:] = UNSCORED
        k = min(self.trace_k, int(self.enrolled_n.sum()))
        self.traced = np.zeros(0, np.int64)
        if k:
            enrolled = np.concatenate(
                [
                    self.layout.group_start[g] + np.arange(self.enrolled_n[g])
                    for g in range(sizes.size)
                ]
            )
            rng = np.random.Generator(np.random.Philox(key=self.seed + 7))
            self.traced = np.sort(rng.choice(enrolled, size=k, replace=False))
        self.trace_rows: list[dict[str, Any]] = []

    @property
    def score(self) -> F64:
        """Every agent's score now (NaN for those never scored)."""
        out: F64 = np.where(self.micro != UNSCORED, self.micro / 1e6, np.nan)
        return out

    def simulate(self) -> tuple[I64, I64, I64]:
        """Step every day: (rows, grade counts per day and (tier, grade), scored per tier)."""
        f, lay = self.fold, self.layout
        rows = np.zeros((self.days, len(METRICS)), np.int64)
        grade_rows = np.zeros((self.days, lay.n_tiers, len(self.bands) + 1), np.int64)
        scored_tier = np.zeros((self.days, lay.n_tiers), np.int64)
        bands = np.array([_millionths(low) for low, _g in self.bands], np.int64)
        trace, n_trace = _simulate(
            self.seed, to_day(self.first), self.days, lay.group_start, self.enrolled_n,
            lay.n_tiers, self.rate, self.effect, f.entry_type, f.entry_dim, f.cum, f.entry_len,
            f.entry_last, f.base, f.weight, f.low, f.high, _millionths(self.perk_at), bands,
            self.counts, self.micro, self.traced, rows, grade_rows, scored_tier,
        )  # fmt: skip
        self.trace_rows = [
            {"agent": int(a), "day": int(d), "record_type": self.codes[t], "id": int(i)}
            for a, d, t, i in trace[:n_trace].tolist()
        ]
        return rows, grade_rows[:, :, :-1], scored_tier

    def run(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        sc = self.scenario
        rows, grade_rows, scored_tier = self.simulate()
        scored = rows[:, SCORED]
        mean = rows[:, SUM_MICRO] / np.maximum(scored, 1) / 1e4
        rows[:, SUM_MICRO] = np.where(scored > 0, np.rint(mean), 0)  # mean_score_x100
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        columns = {"date": pa.array(dates, pa.date32())}
        columns |= {m: pa.array(rows[:, i]) for i, m in enumerate(METRICS)}
        for t, tier in enumerate(sc.tiers):
            for g, grade in enumerate(self.grades):
                columns[f"grade_{grade}_{tier}"] = pa.array(grade_rows[:, t, g])
        pq.write_table(pa.table(columns), out / "metrics.parquet")
        last = rows[-1]
        totals = {"records": int(rows[:, RECORDS].sum())} | {
            m: int(last[i]) for i, m in enumerate(METRICS) if m != "records"
        }
        scale = self.layout.scale
        summary = {
            "population": self.population,
            "represented": self.layout.represented,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": sc.name,
            "regime": self.regime.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items() if k != "mean_score_x100"},
            "qualified_share_of_population": totals["qualified"] / self.population,
            "grades_by_tier": self.grades_by_tier(grade_rows[-1], scored_tier[-1]),
            "gini": self.gini(),
        }
        write_outputs(out, summary, sc, self.trace_rows)
        return summary

    def gini(self) -> float | None:
        """Gini of the final scores of those scored (to the nearest point). Mobility out of
        the lowest band is not tracked by this engine."""
        scored = self.micro[self.micro != UNSCORED]
        if scored.size == 0:
            return None
        values, counts = np.unique(np.rint(scored / 1e6), return_counts=True)
        return gini(values, counts)

    def grades_by_tier(self, counts: I64, scored: I64) -> dict[str, dict[str, float]]:
        """Share of each tier's scored agents in each grade, from one day's counters."""
        return {
            tier: {
                grade: float(counts[t, g] / scored[t]) if scored[t] else 0.0
                for g, grade in enumerate(self.grades)
            }
            for t, tier in enumerate(self.scenario.tiers)
        }


# ------------------------------------------------------------------------------------------------
# The compiled days


@njit(cache=True, nogil=True, inline="always")
def _score(  # noqa: PLR0913  # pragma: no cover - compiled
    counts: U16,
    a: int,
    entry_type: I64,
    entry_dim: I64,
    cum: F64,
    entry_len: I64,
    entry_last: F64,
    base: F64,
    weight: F64,
    low: float,
    high: float,
    totals: F64,
) -> int:
    """The reference's weighted fold of ``a``'s in-effect counts, in millionths (the
    reference rounds to 6 decimals; ``totals`` is scratch)."""
    n_dims = base.shape[0]
    for d in range(n_dims):
        totals[d] = base[d]
    for e in range(entry_type.shape[0]):  # without branches: they would be hard to predict
        c = np.int64(counts[a, entry_type[e]])
        n = entry_len[e]
        totals[entry_dim[e]] += cum[e, min(c, n)] + max(c - n, 0) * entry_last[e]
    acc = 0.0
    weights = 0.0
    for d in range(n_dims):
        acc += weight[d] * min(100.0, max(0.0, totals[d]))
        weights += weight[d]
    fraction = acc / (100.0 * weights) if weights != 0.0 else 0.0
    return int(np.rint((low + (high - low) * fraction) * 1e6))


@njit(cache=True, nogil=True, inline="always")
def _count(  # pragma: no cover - compiled
    micro: int, sign: int, tier: int, perk_at: int, band_low: I64, grades: I64, agg: I64
) -> None:
    """Add (``sign`` 1) or take away (-1) one score of ``micro`` millionths to the counters
    (``perk_at`` and ``band_low``, highest first, in millionths too)."""
    agg[SUM] += sign * micro
    agg[QUAL] += sign * (micro >= perk_at)
    b = 0  # the band: how many band floors are above the score (without branches)
    for i in range(band_low.shape[0]):
        b += micro < band_low[i]
    grades[tier, b] += sign  # b == len(band_low): below every band


@njit(cache=True)
def _simulate(  # noqa: PLR0913, PLR0912, PLR0915  # pragma: no cover - compiled
    seed: int,
    abs0: int,  # day number of the first day
    n_days: int,
    group_start: I64,
    enrolled_n: I64,  # per group: its first enrolled_n[g] agents are members
    n_tiers: int,
    rate: F64,  # (types, tiers): records per member per day
    effect: I64,  # per type: months in effect, -1 = for ever
    entry_type: I64,
    entry_dim: I64,
    cum: F64,
    entry_len: I64,
    entry_last: F64,
    base: F64,
    weight: F64,
    low: float,
    high: float,
    perk_at: int,  # in millionths, as the scores
    band_low: I64,  # in millionths, highest first
    counts: U16,  # (agents, types) out: records in effect
    micro: npt.NDArray[np.signedinteger[Any]],  # (agents,) out: score in millionths or UNSCORED
    traced: I64,  # the traced agents, sorted
    rows: I64,  # (days, 5) out: records, enrolled, scored, qualified, sum of scores x 1e6
    grade_rows: I64,  # (days, tiers, bands + 1) out: scored agents per (tier, grade)
    scored_tier: I64,  # (days, tiers) out
) -> tuple[I64, int]:
    """Step every day; returns the traced records (agent, day, type, id) and their number."""
    n_types = rate.shape[0]
    n_regions = (group_start.shape[0] - 1) // n_tiers
    totals = np.empty(base.shape[0])
    state = np.empty(1, np.uint64)
    grades = np.zeros((n_tiers, band_low.shape[0] + 1), np.int64)
    tier_scored = np.zeros(n_tiers, np.int64)
    agg = np.zeros(3, np.int64)
    members = enrolled_n.sum()
    serial = 0
    ends_of = np.empty(n_types, np.int64)
    # ends of effect inside the run: a linked list of (agent, type) per day, entries reused
    end_head = np.full(n_days, -1, np.int64)
    q_agent = np.empty(1024, np.int64)
    q_type = np.empty(1024, np.int64)
    q_next = np.empty(1024, np.int64)
    q_used = 0
    q_free = -1
    trace = np.empty((64, 4), np.int64)
    n_trace = 0
    n_traced = traced.shape[0]
    # the day's changes of one count each: agent, type, delta, tier
    changes = np.empty((1024, 4), np.int64)
    for d in range(n_days):
        n_changes = 0
        i = end_head[d]
        while i >= 0:  # records whose effect ends today
            if n_changes == changes.shape[0]:
                changes = _grown_rows(changes, 2 * n_changes)
            a = q_agent[i]
            changes[n_changes, 0] = a
            changes[n_changes, 1] = q_type[i]
            changes[n_changes, 2] = -1
            changes[n_changes, 3] = (np.searchsorted(group_start, a, side="right") - 1) % n_tiers
            n_changes += 1
            nxt = q_next[i]
            q_next[i] = q_free
            q_free = i
            i = nxt
        end_head[d] = -1
        day_records = 0
        for t in range(n_types):  # the day today's records of each type stop counting
            ends_of[t] = add_months(abs0 + d, effect[t]) - abs0 if effect[t] >= 0 else n_days
        for r in range(n_regions):
            state[0] = stream_key(seed, r, d)
            for tier in range(n_tiers):
                g = r * n_tiers + tier
                n = enrolled_n[g]
                if n == 0:
                    continue
                for t in range(n_types):
                    k = _poisson(state, n * rate[t, tier])
                    day_records += k
                    for _ in range(k):
                        a = group_start[g] + _below(state, n)
                        serial += 1
                        if n_traced and traced[min(np.searchsorted(traced, a), n_traced - 1)] == a:
                            if n_trace == trace.shape[0]:
                                trace = _grown_rows(trace, 2 * n_trace)
                            trace[n_trace, 0] = a
                            trace[n_trace, 1] = d
                            trace[n_trace, 2] = t
                            trace[n_trace, 3] = serial
                            n_trace += 1
                        delta = 1
                        ends = ends_of[t]
                        if ends <= d:
                            delta = 0  # its effect ends the day it is decided: it never counts
                        elif ends < n_days:
                            if q_free >= 0:
                                j = q_free
                                q_free = q_next[j]
                            else:
                                if q_used == q_agent.shape[0]:
                                    q_agent = _grown(q_agent, 2 * q_used)
                                    q_type = _grown(q_type, 2 * q_used)
                                    q_next = _grown(q_next, 2 * q_used)
                                j = q_used
                                q_used += 1
                            q_agent[j] = a
                            q_type[j] = t
                            q_next[j] = end_head[ends]
                            end_head[ends] = j
                        if n_changes == changes.shape[0]:
                            changes = _grown_rows(changes, 2 * n_changes)
                        changes[n_changes, 0] = a
                        changes[n_changes, 1] = t
                        changes[n_changes, 2] = delta
                        changes[n_changes, 3] = tier
                        n_changes += 1
        # each change re-scores its agent and moves it between the counters
        for c in range(n_changes):
            a = changes[c, 0]
            t = changes[c, 1]
            delta = changes[c, 2]
            tier = changes[c, 3]
            if micro[a] != UNSCORED:
                _count(micro[a], -1, tier, perk_at, band_low, grades, agg)
            else:
                agg[HAS] += 1
                tier_scored[tier] += 1
            if delta > 0 and counts[a, t] == COUNT_MAX:
                raise OverflowError("more records of one type in effect than a uint16 counts")
            counts[a, t] += delta
            new = _score(
                counts, a, entry_type, entry_dim, cum, entry_len, entry_last, base, weight, low,
                high, totals,
            )  # fmt: skip
            micro[a] = new
            _count(new, 1, tier, perk_at, band_low, grades, agg)
        row = rows[d]
        row[RECORDS] = day_records
        row[ENROLLED] = members
        row[SCORED] = agg[HAS]
        row[QUALIFIED] = agg[QUAL]
        row[SUM_MICRO] = agg[SUM]
        grade_rows[d] = grades
        scored_tier[d] = tier_scored
    return trace, n_trace


@njit(cache=True, nogil=True)
def _grown(a: I64, size: int) -> I64:  # pragma: no cover - compiled
    out = np.empty(size, a.dtype)
    out[: a.shape[0]] = a
    return out


@njit(cache=True, nogil=True)
def _grown_rows(a: I64, size: int) -> I64:  # pragma: no cover - compiled
    out = np.empty((size, a.shape[1]), a.dtype)
    out[: a.shape[0]] = a
    return out
