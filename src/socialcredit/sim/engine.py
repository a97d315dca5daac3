"""The simulator: a catalog's list and its measures run over a synthetic population, day by day.

Design (DESIGN.md, "Simulator performance design"):

- Structure of arrays. Per agent only ``listed_until`` (int32: the day index the listing ends,
  exclusive; 0 = not listed) and ``flags`` (uint8: ever listed, listed on wrong records only):
  5 bytes, so 1.4 billion agents take 7 GB.
- Events are rare and sampled in O(events): per (region, income tier) group a Poisson count of
  refused judgments, then that many agents drawn uniformly from the group's contiguous range.
  Everything about a record's future (objection and its outcome, performance) is drawn when the
  record is made, so its end is known at once; counts of future ends go into time-bucketed
  queues, so nothing scans the population.
- Regions are the unit of partitioning. Each region has its own random stream per day
  (SplitMix64 keyed by seed, region and day), its own agents and its own queues. A
  :class:`Partition` owns a contiguous run of regions and all their state (nothing shared), and
  is stepped with the run's :class:`Rules` and a :class:`Block` of days; the same partitions
  can run as actors on other machines. Any split, any number of threads: the same bytes
  (tested). Per-day metrics are reduced in region order.
- Metrics stream to Parquet; nothing grows with the number of days in memory except the
  queues, which are bounded by the run's length plus the longest period.

The rules come from the regime's catalog (list duration, record effect, ways off); the world
from the scenario. A traced agent's records and events are written out so that the registry's
``evaluate`` can replay them (tests prove both give the same listing and measures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.daycount import to_day
from socialcredit.sim import kernel
from socialcredit.sim.common import write_outputs
from socialcredit.sim.population import Layout, layout
from socialcredit.sim.regime import Regime
from socialcredit.sim.scenario import Scenario

I64 = npt.NDArray[np.int64]

HORIZON_DAYS = 600 * 31 + 31  # the longest period a catalog may hold, in days

METRICS = (
    "records",
    "false_records",
    "newly_listed",
    "listed_now",
    "listed_ever",
    "restricted_innocents",
    "flight_denials",
    "train_denials",
    "innocent_denials",
    "fulfilled_after_listing",
    "objections_filed",
    "objections_upheld",
    "organisations_newly_listed",
    "organisations_listed_now",
    "organisations_listed_ever",
    "repairs_applied",
    "repairs_granted",
)
# stocks are read on the last day; every other metric is a flow, summed over days
STOCKS = (
    "listed_now",
    "listed_ever",
    "restricted_innocents",
    "organisations_listed_now",
    "organisations_listed_ever",
)


@dataclass
class Trace:
    """Full event logs of sampled agents: one row per record."""

    agents: I64
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """The run's constants, the same for every partition (small and picklable: what a worker
    on another machine is sent once)."""

    seed: int
    abs0: int
    tier_factor: npt.NDArray[np.float64]
    """Per group of a region (tiers, then organisations): refusal rate multiplier."""
    tier_flights: npt.NDArray[np.float64]
    """Per group of a region: bookings per day of a listed member (or representative)."""
    tier_trains: npt.NDArray[np.float64]
    false_attribution: float
    objection: npt.NDArray[np.float64]
    filed_after: int
    decided_after: int
    objection_voids: bool
    repair: npt.NDArray[np.float64]
    """p_apply, p_granted, days from eligibility to applying, days to a decision."""
    repair_months: int
    """The record's minimum period before repair (-1: repair is no way off the list)."""
    fulfilment_ends: bool
    list_months: int
    effect_months: int
    end_cap: int
    travel_factor: float
    deterrence: float
    per_region: int
    has_orgs: bool
    trace_capacity: int


@dataclass(frozen=True)
class Block:
    """A block of days' inputs, the same for every partition."""

    d0: int
    rates: npt.NDArray[np.float64]
    hazard: npt.NDArray[np.float64]
    flights_on: npt.NDArray[np.bool_]
    trains_on: npt.NDArray[np.bool_]


@dataclass
class Partition:
    """Regions ``region0 .. region0 + regions - 1``: their agents' state, queues and random
    streams (keyed by the global region index). Nothing is shared with another partition, so
    each can be stepped by another thread, process or machine (a Ray actor): what comes back
    per block is its metric rows and traced events."""

    region0: int
    agent0: int
    group_start: I64
    """Local: ``group_start[0] == 0``."""
    listed_until: npt.NDArray[np.int32]
    flags: npt.NDArray[np.uint8]
    exits: npt.NDArray[np.int32]
    innocent_exits: npt.NDArray[np.int32]
    listed_now: I64
    innocent_now: I64
    due: npt.NDArray[np.int32]
    """(regions, N_DUE, days): fulfilled, objections filed and upheld, repairs applied and
    granted."""
    ever: I64
    """(regions, 2): persons and organisations ever listed."""
    recent: I64
    recent_sum: I64

    @classmethod
    def of(cls, lay: Layout, r0: int, r1: int, width: int, traced: I64) -> Partition:
        g0, g1 = lay.group(r0, 0), lay.group(r1, 0)
        starts = lay.group_start[g0 : g1 + 1]
        agent0, agents = int(starts[0]), int(starts[-1] - starts[0])
        regions, groups = r1 - r0, g1 - g0
        flags = np.zeros(agents, np.uint8)
        mine = traced[(traced >= agent0) & (traced < agent0 + agents)]
        flags[mine - agent0] |= kernel.TRACED
        return cls(
            region0=r0,
            agent0=agent0,
            group_start=(starts - agent0).astype(np.int64),
            listed_until=np.zeros(agents, np.int32),
            flags=flags,
            exits=np.zeros((groups, width), np.int32),
            innocent_exits=np.zeros((groups, width), np.int32),
            listed_now=np.zeros(groups, np.int64),
            innocent_now=np.zeros(groups, np.int64),
            due=np.zeros((regions, kernel.N_DUE, width), np.int32),
            ever=np.zeros((regions, 2), np.int64),
            recent=np.zeros((regions, kernel.MEMORY), np.int64),
            recent_sum=np.zeros(regions, np.int64),
        )

    @property
    def regions(self) -> int:
        return int(self.ever.shape[0])

    def step(
        self, rules: Rules, block: Block
    ) -> tuple[npt.NDArray[np.int64], list[tuple[int, ...]]]:
        """Step a block of days; (rows (days, regions, metrics), traced events)."""
        n, k = block.rates.shape[0], self.regions
        rows = np.zeros((n, k, kernel.N_METRICS), np.int64)
        capacity = rules.trace_capacity
        trace = np.zeros((n, k, capacity, kernel.TRACE_COLS), np.int64)
        counts = np.zeros((n, k), np.int64)
        r = rules
        kernel.step_days(
            block.d0, r.abs0, r.seed, self.region0, block.rates, r.tier_factor, r.tier_flights,
            r.tier_trains, r.false_attribution, block.hazard, r.objection, r.filed_after,
            r.decided_after, r.objection_voids, r.repair, r.repair_months, r.fulfilment_ends,
            r.list_months,
            r.effect_months, r.end_cap, block.flights_on, block.trains_on, r.travel_factor,
            r.deterrence, self.group_start, r.per_region, r.has_orgs, self.listed_until,
            self.flags, self.exits, self.innocent_exits, self.listed_now, self.innocent_now,
            self.due, self.ever, self.recent, self.recent_sum, rows, trace, counts,
        )  # fmt: skip
        events: list[tuple[int, ...]] = []
        if int(counts.max()) > capacity:
            raise RuntimeError("trace buffer overflow: raise the trace capacity")
        if counts.any():
            for i in range(n):
                for reg in range(k):
                    for row in trace[i, reg, : counts[i, reg]].tolist():
                        events.append((row[0] + self.agent0, *row[1:]))
        return rows, events


def _split(lay: Layout, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, non-empty runs of regions with about as many agents each."""
    n = lay.n_regions
    parts = max(1, min(parts, n))
    ends = lay.group_start[[lay.group(r + 1, 0) for r in range(n)]]
    bounds = [0]
    for i in range(1, parts):
        cut = int(np.searchsorted(ends, lay.agents * i / parts)) + 1
        bounds.append(min(max(cut, bounds[-1] + 1), n - (parts - i)))
    bounds.append(n)
    return list(zip(bounds[:-1], bounds[1:], strict=False))


@dataclass
class Run:
    scenario: Scenario
    regime: Regime
    population: int
    seed: int
    threads: int = 1
    trace_k: int = 0
    start: date | None = None
    end: date | None = None
    parts: int = 1
    """Partitions (contiguous runs of regions, balanced by agents); the output is the same
    for any number."""

    def __post_init__(self) -> None:
        sc, reg = self.scenario, self.regime
        self.first = self.start or sc.start
        self.last = self.end or sc.end
        if self.last < self.first:
            raise ValueError("end: before start")
        self.days = (self.last - self.first).days + 1
        tiers = {name: t.share for name, t in sc.tiers.items()}
        orgs = sc.organisations
        self.layout: Layout = layout(
            self.population, tiers, organisations_per_person=orgs.per_person
        )
        lay = self.layout
        self.totals = np.zeros(len(METRICS), np.int64)
        self.trace = Trace(self._pick_traced())
        tiers_ = list(sc.tiers.values())
        factor = [t.debtor_factor for t in tiers_]
        flights = [t.flights_per_year for t in tiers_]
        trains = [t.trains_per_year for t in tiers_]
        if lay.organisation_groups:  # the organisations' group travels as its representatives
            reach = reg.representatives_restricted
            factor.append(orgs.refusal_factor)
            flights.append(orgs.representative_flights_per_year if reach else 0.0)
            trains.append(orgs.representative_trains_per_year if reach else 0.0)
        self._hazard_listed = float(1.0 - np.exp(-sc.fulfilment_per_year / 365.25))
        unlisted = sc.fulfilment_per_year / sc.listing_fulfilment_factor
        self._hazard_unlisted = float(1.0 - np.exp(-unlisted / 365.25))
        ob, rp = sc.objection, sc.repair
        self.rules = Rules(
            seed=self.seed % (1 << 63),
            abs0=to_day(self.first),
            tier_factor=np.array(factor, np.float64),
            tier_flights=np.array(flights, np.float64) / 365.25,
            tier_trains=np.array(trains, np.float64) / 365.25,
            false_attribution=sc.false_attribution,
            objection=np.array(
                [ob.p_innocent, ob.p_debtor, ob.upheld_innocent, ob.upheld_debtor], np.float64
            ),
            filed_after=ob.filed_after_days,
            decided_after=ob.decided_after_days,
            objection_voids=reg.objection_voids,
            repair=np.array(
                [rp.p_apply, rp.granted, rp.applied_after_days, rp.decided_after_days],
                np.float64,
            ),
            repair_months=-1 if reg.repair_months is None else reg.repair_months,
            fulfilment_ends=reg.fulfilment_ends_listing,
            list_months=-1 if reg.list_months is None else reg.list_months,
            effect_months=-1 if reg.effect_months is None else reg.effect_months,
            end_cap=self.days - 1 + HORIZON_DAYS,
            travel_factor=sc.listed_travel_factor,
            deterrence=sc.deterrence,
            per_region=lay.per_region,
            has_orgs=lay.organisation_groups,
            trace_capacity=64 if self.trace.agents.size else 1,
        )
        self.partitions = [
            Partition.of(lay, r0, r1, self.days + HORIZON_DAYS, self.trace.agents)
            for r0, r1 in _split(lay, self.parts)
        ]

    @property
    def listed_until(self) -> npt.NDArray[np.int32]:
        """Every agent's listing end (day index, exclusive), gathered from the partitions."""
        return np.concatenate([p.listed_until for p in self.partitions])

    # ------------------------------------------------------------------------ traced agents

    def _pick_traced(self) -> I64:
        """``trace_k`` agents spread over the population, chosen by the seed alone."""
        if self.trace_k <= 0:
            return np.zeros(0, np.int64)
        rng = np.random.Generator(np.random.Philox(key=(self.seed % (1 << 64)) << 64 | 0xFFFF))
        k = min(self.trace_k, self.layout.agents)
        return np.sort(rng.choice(self.layout.agents, size=k, replace=False)).astype(np.int64)

    # ------------------------------------------------------------------------ one block of days

    def _block(self, d0: int, n: int) -> Block:
        sc, reg = self.scenario, self.regime
        days = [self.first + timedelta(days=d0 + i) for i in range(n)]
        rates = np.array(
            [sc.refusal_rate(t.year) / 365.25 if t >= sc.launch else 0.0 for t in days]
        )
        checks = sc.checks_from
        flight_since = checks.get(reg.spec.flight_measure)
        train_since = checks.get(reg.spec.train_measure)
        flights_on = np.array(
            [reg.flight_restricted and flight_since is not None and t >= flight_since for t in days]
        )
        trains_on = np.array(
            [reg.train_restricted and train_since is not None and t >= train_since for t in days]
        )
        # a debtor performs sooner while the list's restrictions reach them
        hazard = np.where(flights_on | trains_on, self._hazard_listed, self._hazard_unlisted)
        return Block(d0, rates, hazard, flights_on, trains_on)

    def _step(self, d0: int, n: int) -> npt.NDArray[np.int64]:
        """Days ``d0 .. d0 + n - 1``: every partition steps the block (compiled, its regions in
        parallel each day); the per-day, per-region metric rows, shape (n, regions, metrics),
        regions in order whatever the partitioning."""
        block = self._block(d0, n)
        stepped = [p.step(self.rules, block) for p in self.partitions]
        lay = self.layout
        # by day, then region (a stable sort keeps each partition's regions in order)
        events = sorted((e for _, trace in stepped for e in trace), key=lambda e: e[1])
        for event in events:
            agent, day, innocent, filed, decided, upheld, fulfilled = event[:7]
            applied, repair_decided, granted = event[7:]
            org = lay.is_organisation(agent)
            self.trace.rows.append(
                {
                    "agent": agent,
                    "organisation": org,
                    "representative": lay.representative(agent) if org else None,
                    "day": day,
                    "innocent": bool(innocent),
                    "objection_filed": filed if filed >= 0 else None,
                    "objection_decided": decided if decided >= 0 else None,
                    "objection_upheld": bool(upheld),
                    "fulfilled": fulfilled if fulfilled >= 0 else None,
                    "repair_applied": applied if applied >= 0 else None,
                    "repair_decided": repair_decided if repair_decided >= 0 else None,
                    "repair_granted": bool(granted),
                }
            )
        return np.concatenate([rows for rows, _ in stepped], axis=1)

    # ------------------------------------------------------------------------ the whole run

    def run(
        self, out: Path, *, progress: Callable[[int], None] | None = None, flush_days: int = 365
    ) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        lay = self.layout
        national_schema = pa.schema([("date", pa.date32())] + [(m, pa.int64()) for m in METRICS])
        region_schema = pa.schema(
            [("date", pa.date32()), ("region", pa.int32())] + [(m, pa.int64()) for m in METRICS]
        )
        nat_writer = pq.ParquetWriter(out / "metrics.parquet", national_schema)
        reg_writer = pq.ParquetWriter(out / "metrics_by_region.parquet", region_schema)
        nat_rows: list[npt.NDArray[np.int64]] = []
        reg_rows: list[npt.NDArray[np.int64]] = []
        dates: list[date] = []
        numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]

        def flush() -> None:
            if not dates:
                return
            nat = np.vstack(nat_rows)
            cols = {"date": pa.array(dates, pa.date32())}
            cols |= {m: pa.array(nat[:, i]) for i, m in enumerate(METRICS)}
            nat_writer.write_table(pa.table(cols, schema=national_schema))
            regs = np.vstack(reg_rows)
            rcols = {
                "date": pa.array(np.repeat(np.array(dates, "datetime64[D]"), lay.n_regions)),
                "region": pa.array(np.tile(lay.region_codes, len(dates))),
            }
            rcols |= {m: pa.array(regs[:, i]) for i, m in enumerate(METRICS)}
            reg_writer.write_table(pa.table(rcols, schema=region_schema))
            nat_rows.clear()
            reg_rows.clear()
            dates.clear()

        try:
            for d0 in range(0, self.days, flush_days):
                n = min(flush_days, self.days - d0)
                blocks = self._step(d0, n)
                totals = blocks.sum(axis=1)
                reg_rows.append(blocks.reshape(n * lay.n_regions, -1))
                nat_rows.append(totals)
                dates.extend(self.first + timedelta(days=d0 + i) for i in range(n))
                self.totals += (totals * _CUMULATIVE).sum(axis=0)
                total = totals[-1]
                flush()
                if progress is not None:
                    progress(n)
        finally:
            nat_writer.close()
            reg_writer.close()
        return self._summary(out, total)

    def _summary(self, out: Path, last: npt.NDArray[np.int64]) -> dict[str, Any]:
        totals = {m: int(self.totals[i]) for i, m in enumerate(METRICS) if _CUMULATIVE[i]}
        totals |= {m: int(last[i]) for i, m in enumerate(METRICS) if not _CUMULATIVE[i]}
        # one legal representative per listed organisation, if the memoranda reach them
        reach = self.regime.representatives_restricted
        totals["representatives_restricted"] = totals["organisations_listed_now"] if reach else 0
        # people under the list's restrictions: listed persons and representatives of listed
        # organisations
        persons_listed = totals["listed_now"] - totals["organisations_listed_now"]
        totals["restricted_now"] = persons_listed + totals["representatives_restricted"]
        ever, now = totals["listed_ever"], totals["listed_now"]
        scale = self.layout.scale
        summary = {
            "population": self.population,
            "organisations": self.layout.organisations,
            "represented": self.layout.represented,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": self.scenario.name,
            "regime": self.regime.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items()},
            # who climbed back: the share of those ever listed who are off the list at the end
            "mobility": (ever - now) / ever if ever else None,
        }
        write_outputs(out, summary, self.scenario, self.trace.rows)
        return summary


# a metric is summed over days (a flow) or read on the last day (a stock)
_CUMULATIVE = np.array([m not in STOCKS for m in METRICS])
