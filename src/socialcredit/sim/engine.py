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

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from socialcredit.daycount import add_months, to_day
from socialcredit.sim.population import Layout, layout
from socialcredit.sim.regime import Regime
from socialcredit.sim.scenario import Scenario

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

EVER = np.uint8(1)
INNOCENT = np.uint8(2)
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
)
M = {name: i for i, name in enumerate(METRICS)}


@dataclass
class Trace:
    """Full event logs of sampled agents: one row per record."""

    agents: I64
    rows: list[dict[str, Any]] = field(default_factory=list)


@njit(cache=True, nogil=True)
def _apply(  # pragma: no cover - compiled
    day: int,
    agents: I64,
    groups: I64,
    ends: I32,
    innocent: npt.NDArray[np.bool_],
    listed_until: I32,
    flags: U8,
    exits: I32,
    innocent_exits: I32,
    listed_now: I64,
    innocent_now: I64,
) -> tuple[int, int]:
    """Apply one day's new records of one region, in order. Returns (newly listed, ever)."""
    newly = 0
    ever = 0
    for j in range(agents.shape[0]):
        e = ends[j]
        if e <= day:
            continue  # voided the same day: it never took effect
        a = agents[j]
        g = groups[j]
        cur = listed_until[a]
        if cur <= day:
            listed_until[a] = e
            exits[g, e] += 1
            listed_now[g] += 1
            newly += 1
            if flags[a] & 1 == 0:
                ever += 1
            if innocent[j]:
                flags[a] = flags[a] | 3
                innocent_exits[g, e] += 1
                innocent_now[g] += 1
            else:
                flags[a] = (flags[a] | 1) & 0xFD
            continue
        was_innocent = flags[a] & 2 != 0
        if e > cur:
            exits[g, cur] -= 1
            exits[g, e] += 1
            listed_until[a] = e
        if was_innocent:
            if innocent[j]:
                if e > cur:
                    innocent_exits[g, cur] -= 1
                    innocent_exits[g, e] += 1
            else:  # a correct record: no longer listed on wrong records only
                innocent_exits[g, cur] -= 1
                innocent_now[g] -= 1
                flags[a] = flags[a] & 0xFD
    return newly, ever


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
        self.layout: Layout = layout(self.population, tiers)
        lay = self.layout
        n_groups = lay.n_regions * lay.n_tiers
        width = self.days + HORIZON_DAYS
        self.listed_until = np.zeros(self.population, np.int32)
        self.flags = np.zeros(self.population, np.uint8)
        self.exits = np.zeros((n_groups, width), np.int32)
        self.innocent_exits = np.zeros((n_groups, width), np.int32)
        self.listed_now = np.zeros(n_groups, np.int64)
        self.innocent_now = np.zeros(n_groups, np.int64)
        self.due = np.zeros((lay.n_regions, 3, width), np.int32)  # fulfilled, filed, upheld
        self.ever = np.zeros(lay.n_regions, np.int64)
        self.totals = np.zeros(len(METRICS), np.int64)
        self.trace = Trace(self._pick_traced())
        self._abs0 = to_day(self.first)

    # ------------------------------------------------------------------------ randomness

    def _rng(self, region: int, day: int) -> np.random.Generator:
        """The stream of one region on one day: independent of threads and partitioning."""
        key = (self.seed % (1 << 64)) << 64 | region << 32 | day
        return np.random.Generator(np.random.Philox(key=key))

    def _pick_traced(self) -> I64:
        if self.trace_k <= 0:
            return np.zeros(0, np.int64)
        rng = np.random.Generator(
            np.random.Philox(key=(self.seed % (1 << 64)) << 64 | 0xFFFF << 32)
        )
        k = min(self.trace_k, self.population)
        return np.sort(rng.choice(self.population, size=k, replace=False)).astype(np.int64)

    # ------------------------------------------------------------------------ one region, one day

    def _step_region(self, r: int, d: int) -> npt.NDArray[np.int64]:
        sc, reg, lay = self.scenario, self.regime, self.layout
        today = self.first + timedelta(days=d)
        rng = self._rng(r, d)
        row = np.zeros(len(METRICS), np.int64)
        nt = lay.n_tiers
        g0 = lay.group(r, 0)
        # listings that end today
        for g in range(g0, g0 + nt):
            self.listed_now[g] -= self.exits[g, d]
            self.innocent_now[g] -= self.innocent_exits[g, d]
        rate = sc.refusal_rate(today.year) / 365.25 if today >= sc.launch else 0.0
        parts_a, parts_g, parts_i = [], [], []
        true_count = 0
        sizes = lay.group_sizes()
        for t, tier in enumerate(sc.tiers.values()):
            g = g0 + t
            n = int(sizes[g])
            k = int(rng.poisson(n * rate * tier.debtor_factor)) if n else 0
            if k:
                parts_a.append(lay.group_start[g] + rng.integers(0, n, k))
                parts_g.append(np.full(k, g, np.int64))
                parts_i.append(np.zeros(k, np.bool_))
                true_count += k
        region = lay.region_slice(r)
        n_region = region.stop - region.start
        false_k = int(rng.poisson(true_count * sc.false_attribution)) if true_count else 0
        if false_k and n_region:
            agents_f = region.start + rng.integers(0, n_region, false_k)
            parts_a.append(agents_f)
            bounds = lay.group_start[g0 : g0 + nt + 1]
            parts_g.append(g0 + np.searchsorted(bounds, agents_f, side="right") - 1)
            parts_i.append(np.ones(false_k, np.bool_))
        if parts_a:
            agents = np.concatenate(parts_a).astype(np.int64)
            groups = np.concatenate(parts_g).astype(np.int64)
            innocent = np.concatenate(parts_i)
            ends = self._ends(rng, r, d, agents, innocent)
            newly, ever = _apply(
                d, agents, groups, ends, innocent, self.listed_until, self.flags,
                self.exits, self.innocent_exits, self.listed_now, self.innocent_now,
            )  # fmt: skip
            self.ever[r] += ever
            row[M["records"]] = agents.size
            row[M["false_records"]] = int(innocent.sum())
            row[M["newly_listed"]] = newly
        # bookings by listed people, denied
        listed = self.listed_now[g0 : g0 + nt]
        innocents = self.innocent_now[g0 : g0 + nt]
        for measure, on, column, per_year in (
            (reg.spec.flight_measure, reg.flight_restricted, "flight_denials", "flights_per_year"),
            (reg.spec.train_measure, reg.train_restricted, "train_denials", "trains_per_year"),
        ):
            since = sc.checks_from.get(measure)
            if not on or since is None or today < since:
                continue
            for t, tier in enumerate(sc.tiers.values()):
                lam = listed[t] * getattr(tier, per_year) * sc.listed_travel_factor / 365.25
                denied = int(rng.poisson(lam)) if lam > 0 else 0
                row[M[column]] += denied
                if denied and innocents[t]:
                    row[M["innocent_denials"]] += int(
                        rng.binomial(denied, innocents[t] / listed[t])
                    )
        row[M["listed_now"]] = int(listed.sum())
        row[M["restricted_innocents"]] = int(innocents.sum())
        row[M["listed_ever"]] = int(self.ever[r])
        row[M["fulfilled_after_listing"]] = self.due[r, 0, d]
        row[M["objections_filed"]] = self.due[r, 1, d]
        row[M["objections_upheld"]] = self.due[r, 2, d]
        return row

    def _ends(
        self, rng: np.random.Generator, r: int, d: int, agents: I64, innocent: npt.NDArray[np.bool_]
    ) -> I32:
        """Each new record's end (day index, exclusive), drawn now; schedules its events."""
        sc, reg = self.scenario, self.regime
        ob = sc.objection
        k = agents.size
        u_object, u_upheld = rng.random(k), rng.random(k)
        hazard = 1.0 - np.exp(-sc.fulfilment_per_year / 365.25)
        perform = rng.geometric(hazard, k) if hazard > 0 else np.full(k, 1 << 30)
        absolute = self._abs0 + d
        end = HORIZON_DAYS + self.days - 1
        for months in (reg.list_months, reg.effect_months):
            if months is not None:
                end = min(end, add_months(absolute, months) - self._abs0)
        ends = np.full(k, end, np.int64)
        files = np.where(innocent, u_object < ob.p_innocent, u_object < ob.p_debtor)
        filed_on = d + ob.filed_after_days
        decided_on = filed_on + ob.decided_after_days
        upheld = files & np.where(
            innocent, u_upheld < ob.upheld_innocent, u_upheld < ob.upheld_debtor
        )
        if reg.objection_voids:
            ends = np.where(upheld, np.minimum(ends, decided_on), ends)
        performs = ~innocent & reg.fulfilment_ends_listing & (d + perform < ends)
        ends = np.where(performs, d + perform, ends)
        width = self.due.shape[2]
        np.add.at(self.due[r, 0], np.minimum(ends[performs], width - 1), 1)
        if files.any():
            self.due[r, 1, min(filed_on, width - 1)] += int(files.sum())
            if reg.objection_voids and upheld.any():
                self.due[r, 2, min(decided_on, width - 1)] += int(upheld.sum())
        if self.trace.agents.size:
            hit = np.isin(agents, self.trace.agents)
            for j in np.flatnonzero(hit).tolist():
                self.trace.rows.append(
                    {
                        "agent": int(agents[j]),
                        "day": d,
                        "innocent": bool(innocent[j]),
                        "objection_filed": filed_on if files[j] else None,
                        "objection_decided": decided_on if files[j] else None,
                        "objection_upheld": bool(upheld[j] and reg.objection_voids),
                        "fulfilled": int(d + perform[j]) if performs[j] else None,
                    }
                )
        return ends.astype(np.int32)

    # ------------------------------------------------------------------------ the whole run

    def run(
        self, out: Path, *, progress: Callable[[int], None] | None = None, flush_days: int = 64
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
        pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

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
            for d in range(self.days):
                if pool is not None:
                    rows = list(
                        pool.map(lambda r, d=d: self._step_region(r, d), range(lay.n_regions))
                    )
                else:
                    rows = [self._step_region(r, d) for r in range(lay.n_regions)]
                block = np.vstack(rows)
                total = block.sum(axis=0)
                reg_rows.append(block)
                nat_rows.append(total)
                dates.append(self.first + timedelta(days=d))
                self.totals += np.where(_CUMULATIVE, total, 0)
                if len(dates) >= flush_days:
                    flush()
                if progress is not None:
                    progress(1)
            flush()
        finally:
            nat_writer.close()
            reg_writer.close()
            if pool is not None:
                pool.shutdown()
        return self._summary(out, total)

    def _summary(self, out: Path, last: npt.NDArray[np.int64]) -> dict[str, Any]:
        totals = {m: int(self.totals[i]) for i, m in enumerate(METRICS) if _CUMULATIVE[i]}
        totals |= {m: int(last[i]) for i, m in enumerate(METRICS) if not _CUMULATIVE[i]}
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
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (out / "scenario.json").write_text(self.scenario.model_dump_json(indent=2) + "\n")
        if self.trace.agents.size:
            with (out / "trace.jsonl").open("w") as fh:
                for row in self.trace.rows:
                    fh.write(json.dumps(row) + "\n")
        return summary


# a metric is summed over days (a flow) or read on the last day (a stock)
_CUMULATIVE = np.array(
    [m not in ("listed_now", "listed_ever", "restricted_innocents") for m in METRICS]
)
