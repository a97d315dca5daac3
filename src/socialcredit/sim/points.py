"""A single points score over a whole population: the ``unified-score`` caricature, measured.

The catalog says what moves the score (its scheme's rules, including rules that reach family
and friends), where the grades fall, which lists a grade or a record puts someone on, and which
measures those lists carry and to whom (memoranda extended to family). The scenario says how
often people post, petition, buy, jaywalk under cameras, or default, and how households and
friendships are laid out. Nothing expires and nothing can be appealed unless the catalog says so.

Per agent: ``score`` (int16, offset from the scheme's base) and ``flags`` (uint8: listed,
restricted, has a legal violation of their own). Households are consecutive blocks of agents;
an agent's friends are the next agents in index order. Work per day is proportional to events;
listings and restrictions are counted as they happen, so no day scans the population.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import INADMISSIBLE_SOURCES, Nature, PointsScheme
from socialcredit.sim.common import (
    Frozen,
    RegimeSpec,
    grade_shares,
    regime_parts,
    validated,
    write_outputs,
)
from socialcredit.sim.population import Layout, layout
from socialcredit.sim.scenario import Tier

LISTED, RESTRICTED, VIOLATOR = np.uint8(1), np.uint8(2), np.uint8(4)

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
)


class PointsScenario(Frozen):
    kind: str = "points"
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    tiers: dict[str, Tier]
    records_per_year: dict[str, float]
    """Record type -> records per person per year (before camera coverage)."""
    camera_coverage: float = Field(default=1.0, ge=0, le=1)
    """Share of camera-detectable conduct that cameras catch."""
    household_size: int = Field(default=3, ge=1)
    friends: int = Field(default=5, ge=0)


class PointsRegimeFile(RegimeSpec):
    kind: str = "points"
    flight_measure: str
    train_measure: str


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
    """Record types that put someone on such a list (forever, if the list has no duration)."""
    to_family: bool
    """Whether the lists' memoranda extend the measures to family."""

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
    carrying = [
        lst
        for lst in idx.catalog.lists
        if any(
            m in memo.measures
            for memo in idx.memoranda_by_list.get(lst.id, [])
            for m in (spec.flight_measure, spec.train_measure)
        )
    ]
    grades = frozenset(
        g for lst in carrying if lst.entry.scheme == spec.scheme for g in lst.entry.grades
    )
    records = frozenset(code for lst in carrying for code in lst.entry.record_types)
    to_family = any(
        r.value in ("family", "household")
        for lst in carrying
        for memo in idx.memoranda_by_list.get(lst.id, [])
        for r in memo.extends_to
    )
    return PointsRegime(spec, loaded, scheme, own, family, friends, grades, records, to_family)


def load_points_scenario(raw: dict[str, Any], source: str) -> PointsScenario:
    return validated(PointsScenario, raw, source=source, field="scenario")


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
        self.layout: Layout = layout(self.population, {k: t.share for k, t in sc.tiers.items()})
        self.score = np.zeros(self.population, np.int16)  # offset from the base
        self.flags = np.zeros(self.population, np.uint8)
        scheme = reg.scheme
        self.base, self.floor, self.ceiling = scheme.base, scheme.floor, scheme.ceiling
        bands = sorted(((b.min, b.grade) for b in scheme.bands), reverse=True)
        self.bands = bands
        # listed by grade when the score falls below the highest band not listed
        listed_min = [low for low, grade in bands if grade not in reg.grade_lists]
        self.list_below = min(listed_min) if listed_min else float("inf")
        types = reg.loaded.index.record_types
        self.violation = {
            code: types[code].nature in (Nature.violation, Nature.default)
            and types[code].source not in INADMISSIBLE_SOURCES
            for code in sc.records_per_year
        }
        self.camera = {code: types[code].source.value == "camera" for code in sc.records_per_year}
        unknown = set(sc.records_per_year) - set(types)
        if unknown:
            raise InputError("scenario.records_per_year", f"unknown record types {sorted(unknown)}")
        self.tier_of = np.repeat(
            np.tile(np.arange(self.layout.n_tiers), self.layout.n_regions),
            self.layout.group_sizes(),
        ).astype(np.uint8)
        self.restricted_by_tier = np.zeros(self.layout.n_tiers, np.int64)
        self.innocent_by_tier = np.zeros(self.layout.n_tiers, np.int64)
        self.listed = 0

    def _restrict(self, agents: npt.NDArray[np.int64]) -> None:
        for a in agents.tolist():
            if self.flags[a] & RESTRICTED:
                continue
            self.flags[a] |= RESTRICTED
            t = self.tier_of[a]
            self.restricted_by_tier[t] += 1
            if not self.flags[a] & VIOLATOR:
                self.innocent_by_tier[t] += 1

    def _household(self, a: int) -> npt.NDArray[np.int64]:
        h = self.scenario.household_size
        first = a - a % h
        return np.arange(first, min(first + h, self.population), dtype=np.int64)

    def _list(self, a: int, row: npt.NDArray[np.int64]) -> None:
        if self.flags[a] & LISTED:
            return
        self.flags[a] |= LISTED
        self.listed += 1
        row[2] += 1
        self._restrict(self._household(a) if self.regime.to_family else np.array([a]))

    def _deduct(
        self, agents: npt.NDArray[np.int64], points: float, row: npt.NDArray[np.int64]
    ) -> None:
        if agents.size == 0 or points == 0:
            return
        for a in agents.tolist():  # one at a time: an agent may appear twice
            old = self.base + float(self.score[a])
            new = min(self.ceiling, max(self.floor, old + points))
            self.score[a] = np.int16(new - self.base)
            row[1] += int(old - new)
            if old >= self.list_below > new:
                self._list(a, row)

    def run(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        sc, reg = self.scenario, self.regime
        n = self.population
        rows = np.zeros((self.days, len(METRICS)), np.int64)
        tiers = list(sc.tiers.values())
        flights = np.array([t.flights_per_year / 365.25 for t in tiers])
        trains = np.array([t.trains_per_year / 365.25 for t in tiers])
        for d in range(self.days):
            rng = np.random.Generator(np.random.Philox(key=(self.seed << 32) | d))
            row = rows[d]
            for code, per_year in sc.records_per_year.items():
                rate = per_year * (sc.camera_coverage if self.camera[code] else 1.0) / 365.25
                k = int(rng.poisson(n * rate))
                if not k:
                    continue
                agents = rng.integers(0, n, k).astype(np.int64)
                row[0] += k
                if self.violation[code]:
                    self.flags[agents] |= VIOLATOR
                self._deduct(agents, reg.own.get(code, 0.0), row)
                if code in reg.family:
                    for a in agents.tolist():
                        kin = self._household(a)
                        self._deduct(kin[kin != a], reg.family[code], row)
                if code in reg.friends and sc.friends:
                    for a in agents.tolist():
                        pals = (a + 1 + np.arange(sc.friends)) % n
                        self._deduct(pals.astype(np.int64), reg.friends[code], row)
                if code in reg.record_lists:
                    for a in agents.tolist():
                        self._list(a, row)
            for t in range(len(tiers)):
                restricted = self.restricted_by_tier[t]
                if not restricted:
                    continue
                share = self.innocent_by_tier[t] / restricted
                for col, per_day in ((6, flights[t]), (7, trains[t])):
                    denied = int(rng.poisson(restricted * per_day))
                    row[col] += denied
                    row[8] += int(rng.binomial(denied, share)) if denied else 0
            row[3] = self.listed
            row[4] = int(self.restricted_by_tier.sum())
            row[5] = int(self.innocent_by_tier.sum())
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        pq.write_table(
            pa.table(
                {"date": pa.array(dates, pa.date32())}
                | {m: pa.array(rows[:, i]) for i, m in enumerate(METRICS)}
            ),
            out / "metrics.parquet",
        )
        flows = ("records", "points_deducted", "newly_listed", "flight_denials", "train_denials",
                 "innocent_denials")  # fmt: skip
        m = {name: i for i, name in enumerate(METRICS)}
        totals = {k: int(rows[:, m[k]].sum()) for k in flows}
        totals |= {k: int(rows[-1, m[k]]) for k in METRICS if k not in flows}
        totals["listed_ever"] = totals["newly_listed"]
        scale = self.layout.scale
        grades = self._grades_by_tier()
        summary = {
            "population": n,
            "represented": self.layout.represented,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": sc.name,
            "regime": reg.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items()},
            "grades_by_tier": grades,
        }
        write_outputs(out, summary, sc)
        return summary

    def _grades_by_tier(self) -> dict[str, dict[str, float]]:
        """Share of each income tier in each grade, at the end (one pass over the population)."""
        scores = self.base + self.score.astype(np.float64)
        return grade_shares(scores, self.tier_of, list(self.scenario.tiers), self.bands)
