"""An opt-in private score (Sesame-like): a weighted multi-dimension scheme with perks.

Enrolled agents (a share of each income-tier group) generate the records the scheme counts;
each touched agent is re-folded from its own records exactly as
:func:`socialcredit.registry.evaluate.evaluate` folds a weighted scheme (rule points by
occurrence, each dimension clamped to 0-100, weighted, mapped onto the scheme's range), and the
scheme's perks go to those at or above their threshold. Records leave the fold when their effect
ends (re-folds are scheduled then). Agents who never enrolled have no score and no perks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import Rule, WeightedScheme
from socialcredit.sim.common import (
    Frozen,
    RegimeSpec,
    add_months,
    grade_shares,
    regime_parts,
    validated,
    write_outputs,
)
from socialcredit.sim.population import layout
from socialcredit.sim.scenario import Tier

METRICS = ("records", "enrolled", "scored", "qualified", "mean_score_x100")


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
        # rules in the reference's order: dimension by dimension, rule by rule
        self.entries: dict[str, list[tuple[int, Rule, int]]] = {}
        for d, dim in enumerate(scheme.dimensions):
            for rule in dim.rules:
                key = len([e for es in self.entries.values() for e in es])
                self.entries.setdefault(rule.record_type, []).append((key, rule, d))
        self.effect = {code: types[code].publication.effect for code in sc.records_per_year}
        self.costs = {
            code: any(r.points_for(1) < 0 for _k, r, _d in self.entries.get(code, ()))
            for code in sc.records_per_year
        }
        sizes = self.layout.group_sizes()
        self.enrolled_n = np.floor(sizes * sc.enrolled).astype(np.int64)
        self.score = np.full(self.population, np.nan)
        self.history: dict[int, list[tuple[int, str, int]]] = {}
        self.leaving: dict[int, set[int]] = {}
        self.perk_at = min((p.at_least for p in scheme.perks), default=float("inf"))
        rng = np.random.Generator(np.random.Philox(key=self.seed + 7))
        enrolled = np.concatenate(
            [self.layout.group_start[g] + np.arange(self.enrolled_n[g]) for g in range(sizes.size)]
        )
        k = min(self.trace_k, enrolled.size)
        self.traced = set(rng.choice(enrolled, size=k, replace=False).tolist()) if k else set()
        self.trace_rows: list[dict[str, Any]] = []
        self._serial = 0

    def fold(self, agent: int, day: int) -> float:
        """The scheme's score of ``agent`` on ``day`` (the reference's weighted fold)."""
        scheme = self.regime.scheme
        today = self.first + timedelta(days=day)
        totals = [d.base for d in scheme.dimensions]
        counts: dict[int, int] = {}
        for rec_day, code, _serial in self.history.get(agent, ()):
            effect = self.effect[code]
            decided = self.first + timedelta(days=rec_day)
            if decided > today or (effect is not None and add_months(decided, effect) <= today):
                continue
            for key, rule, d in self.entries.get(code, ()):
                counts[key] = counts.get(key, 0) + 1
                totals[d] += rule.points_for(counts[key])
        acc = 0.0
        weights = 0.0
        for dim, value in zip(scheme.dimensions, totals, strict=True):
            acc += dim.weight * min(100.0, max(0.0, value))
            weights += dim.weight
        fraction = acc / (100.0 * weights) if weights else 0.0
        return round(scheme.low + (scheme.high - scheme.low) * fraction, 6)

    def _record(self, agent: int, day: int, code: str) -> None:
        self._serial += 1
        self.history.setdefault(agent, []).append((day, code, self._serial))
        effect = self.effect[code]
        if effect is not None:
            ends = (add_months(self.first + timedelta(days=day), effect) - self.first).days
            self.leaving.setdefault(ends, set()).add(agent)
        if agent in self.traced:
            self.trace_rows.append(
                {"agent": agent, "day": day, "record_type": code, "id": self._serial}
            )

    def run(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        sc, lay = self.scenario, self.layout
        tiers = list(sc.tiers.values())
        rows = np.zeros((self.days, len(METRICS)), np.int64)
        for d in range(self.days):
            rng = np.random.Generator(np.random.Philox(key=(self.seed << 32) | d))
            touched: set[int] = set(self.leaving.pop(d, ()))
            for code, per_year in sc.records_per_year.items():
                for g in range(lay.n_regions * lay.n_tiers):
                    n = int(self.enrolled_n[g])
                    if not n:
                        continue
                    factor = tiers[g % lay.n_tiers].debtor_factor if self.costs[code] else 1.0
                    k = int(rng.poisson(n * per_year * factor / 365.25))
                    for a in (lay.group_start[g] + rng.integers(0, n, k)).tolist():
                        self._record(a, d, code)
                        touched.add(a)
                    rows[d, 0] += k
            for a in sorted(touched):
                self.score[a] = self.fold(a, d)
            scored = ~np.isnan(self.score)
            rows[d, 1] = int(self.enrolled_n.sum())
            rows[d, 2] = int(scored.sum())
            rows[d, 3] = int((self.score[scored] >= self.perk_at).sum())
            rows[d, 4] = round(float(self.score[scored].mean()) * 100) if scored.any() else 0
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        pq.write_table(
            pa.table(
                {"date": pa.array(dates, pa.date32())}
                | {m: pa.array(rows[:, i]) for i, m in enumerate(METRICS)}
            ),
            out / "metrics.parquet",
        )
        last = rows[-1]
        totals = {"records": int(rows[:, 0].sum())} | {
            m: int(last[i]) for i, m in enumerate(METRICS) if m != "records"
        }
        scale = lay.scale
        summary = {
            "population": self.population,
            "represented": lay.represented,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": sc.name,
            "regime": self.regime.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items() if k != "mean_score_x100"},
            "qualified_share_of_population": totals["qualified"] / self.population,
            "grades_by_tier": self._grades_by_tier(),
        }
        write_outputs(out, summary, sc)
        return summary

    def _grades_by_tier(self) -> dict[str, dict[str, float]]:
        bands = sorted(((b.min, b.grade) for b in self.regime.scheme.bands), reverse=True)
        lay = self.layout
        tier_of = np.repeat(np.tile(np.arange(lay.n_tiers), lay.n_regions), lay.group_sizes())
        return grade_shares(self.score, tier_of, list(self.scenario.tiers), bands)
