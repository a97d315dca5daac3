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
- Regions are partitions. Each region has its own random stream per day (Philox keyed by
  seed, region and day), its own slice of the agent arrays and its own queues: regions can be
  stepped in any order, on any number of threads, or on other machines, with the same result.
  Per-day metrics are reduced in region order.
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

    def __post_init__(self) -> None:
        sc = self.scenario
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
        n_groups = lay.n_regions * lay.per_region
        width = self.days + HORIZON_DAYS
        self.listed_until = np.zeros(lay.agents, np.int32)
        self.flags = np.zeros(lay.agents, np.uint8)
        self.exits = np.zeros((n_groups, width), np.int32)
        self.innocent_exits = np.zeros((n_groups, width), np.int32)
        self.listed_now = np.zeros(n_groups, np.int64)
        self.innocent_now = np.zeros(n_groups, np.int64)
        self.due = np.zeros((lay.n_regions, 3, width), np.int32)  # fulfilled, filed, upheld
        self.ever = np.zeros((lay.n_regions, 2), np.int64)  # persons, organisations
        self.recent = np.zeros((lay.n_regions, kernel.MEMORY), np.int64)
        self.recent_sum = np.zeros(lay.n_regions, np.int64)
        self.totals = np.zeros(len(METRICS), np.int64)
        self.trace = Trace(self._pick_traced())
        self.flags[self.trace.agents] |= kernel.TRACED
        self._abs0 = to_day(self.first)
        tiers_ = list(sc.tiers.values())
        factor = [t.debtor_factor for t in tiers_]
        flights = [t.flights_per_year for t in tiers_]
        trains = [t.trains_per_year for t in tiers_]
        if lay.organisation_groups:  # the organisations' group travels as its representatives
            reach = self.regime.representatives_restricted
            factor.append(orgs.refusal_factor)
            flights.append(orgs.representative_flights_per_year if reach else 0.0)
            trains.append(orgs.representative_trains_per_year if reach else 0.0)
        self._tier_factor = np.array(factor, np.float64)
        self._tier_flights = np.array(flights, np.float64) / 365.25
        self._tier_trains = np.array(trains, np.float64) / 365.25
        self._hazard_listed = float(1.0 - np.exp(-sc.fulfilment_per_year / 365.25))
        unlisted = sc.fulfilment_per_year / sc.listing_fulfilment_factor
        self._hazard_unlisted = float(1.0 - np.exp(-unlisted / 365.25))
        ob = sc.objection
        self._objection = np.array(
            [ob.p_innocent, ob.p_debtor, ob.upheld_innocent, ob.upheld_debtor], np.float64
        )
        self._trace_capacity = 64 if self.trace.agents.size else 1

    # ------------------------------------------------------------------------ traced agents

    def _pick_traced(self) -> I64:
        """``trace_k`` agents spread over the population, chosen by the seed alone."""
        if self.trace_k <= 0:
            return np.zeros(0, np.int64)
        rng = np.random.Generator(np.random.Philox(key=(self.seed % (1 << 64)) << 64 | 0xFFFF))
        k = min(self.trace_k, self.layout.agents)
        return np.sort(rng.choice(self.layout.agents, size=k, replace=False)).astype(np.int64)

    # ------------------------------------------------------------------------ one day

    def _step(self, d0: int, n: int) -> npt.NDArray[np.int64]:
        """Days ``d0 .. d0 + n - 1``, compiled (regions in parallel each day); the per-day,
        per-region metric rows, shape (n, regions, metrics)."""
        sc, reg, lay = self.scenario, self.regime, self.layout
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
        rows = np.zeros((n, lay.n_regions, kernel.N_METRICS), np.int64)
        capacity = self._trace_capacity
        trace = np.zeros((n, lay.n_regions, capacity, kernel.TRACE_COLS), np.int64)
        counts = np.zeros((n, lay.n_regions), np.int64)
        kernel.step_days(
            d0, self._abs0, self.seed % (1 << 63), rates, self._tier_factor, self._tier_flights,
            self._tier_trains, sc.false_attribution, hazard, self._objection,
            sc.objection.filed_after_days, sc.objection.decided_after_days, reg.objection_voids,
            reg.fulfilment_ends_listing,
            -1 if reg.list_months is None else reg.list_months,
            -1 if reg.effect_months is None else reg.effect_months,
            self.days - 1 + HORIZON_DAYS, flights_on, trains_on, sc.listed_travel_factor,
            sc.deterrence, lay.group_start, lay.per_region, lay.organisation_groups,
            self.listed_until, self.flags, self.exits, self.innocent_exits, self.listed_now,
            self.innocent_now, self.due, self.ever, self.recent, self.recent_sum, rows, trace,
            counts,
        )  # fmt: skip
        if self.trace.agents.size:
            if int(counts.max()) > capacity:
                raise RuntimeError("trace buffer overflow: raise the trace capacity")
            for i in range(n):
                for r in range(lay.n_regions):
                    for row in trace[i, r, : counts[i, r]].tolist():
                        agent, day, innocent, filed, decided, upheld, fulfilled = row
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
                            }
                        )
        return rows

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
        }
        write_outputs(out, summary, self.scenario, self.trace.rows)
        return summary


# a metric is summed over days (a flow) or read on the last day (a stock)
_CUMULATIVE = np.array([m not in STOCKS for m in METRICS])
