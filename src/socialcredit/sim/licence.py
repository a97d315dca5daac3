"""A city's licence of points (Jinan's dog-owner licence) run over a synthetic population.

Agents are licence holders. Each day some commit an offence, some miss their annual renewal,
some volunteer; every record goes through the catalog's licence scheme exactly as
:func:`socialcredit.registry.evaluate.evaluate` folds it (points by occurrence within the period,
restorations capped at the licence's points, exhausted once the balance reached zero within
the period), and an exhausted licence puts its holder on the catalog's list, whose memorandum
names the consequences (confiscation, a course and a test).

Owners respond to deterrence: each deduction multiplies their offence rate by
``deterrence``. The work per day is proportional to events: only agents with a new record are
re-folded, from their own few records.
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
from socialcredit.policy.schema import LicenceScheme
from socialcredit.sim.common import (
    Frozen,
    RegimeSpec,
    add_months,
    regime_parts,
    validated,
    write_outputs,
)

METRICS = (
    "offences",
    "missed_renewals",
    "volunteering",
    "points_deducted",
    "points_restored",
    "newly_exhausted",
    "exhausted_now",
    "exhausted_ever",
    "holders_at_12",
    "holders_below_6",
)


class LicenceScenario(Frozen):
    kind: str = "licence"
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    holders: int = Field(gt=0)
    """Licences in the city (the population the agents stand for)."""
    offences_per_year: float = Field(ge=0)
    """Offences caught per holder per year before any deduction."""
    deterrence: float = Field(default=1.0, gt=0, le=1)
    """Each deduction multiplies the holder's offence rate by this."""
    missed_renewal: float = Field(default=0.0, ge=0, le=1)
    """Share of holders who miss the annual renewal (checked on the licence's anniversary)."""
    volunteering_per_year: float = Field(default=0.0, ge=0)
    """Volunteering sessions per year by a holder who has lost points."""


class LicenceRegimeFile(RegimeSpec):
    kind: str = "licence"
    list: str
    offence: str
    no_renewal: str
    volunteering: str


@dataclass(frozen=True)
class LicenceRegime:
    spec: LicenceRegimeFile
    loaded: Loaded
    scheme: LicenceScheme
    authority: str

    @property
    def name(self) -> str:
        return self.spec.name


def load_licence_regime(text: str, source: str) -> LicenceRegime:
    spec, loaded, scheme = regime_parts(LicenceRegimeFile, LicenceScheme, text, source=source)
    lst = loaded.index.lists.get(spec.list)
    if lst is None or lst.entry.scheme != spec.scheme or not lst.entry.exhausted:
        raise InputError("regime.list", f"{spec.list!r} is not entered by an exhausted licence")
    rules = {r.record_type for r in scheme.rules}
    for code in (spec.offence, spec.no_renewal, spec.volunteering):
        if code not in rules:
            raise InputError("regime", f"{code!r} has no rule in scheme {spec.scheme!r}")
    issuers = loaded.index.record_types[spec.offence].issuers
    return LicenceRegime(spec, loaded, scheme, issuers[0] if issuers else "")


def load_licence_scenario(raw: dict[str, Any], source: str) -> LicenceScenario:
    return validated(LicenceScenario, raw, source=source, field="scenario")


@dataclass
class LicenceRun:
    scenario: LicenceScenario
    regime: LicenceRegime
    population: int
    seed: int
    trace_k: int = 0
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        self.first = self.start or self.scenario.start
        self.last = self.end or self.scenario.end
        self.days = (self.last - self.first).days + 1
        scheme = self.regime.scheme
        self.points = float(scheme.points)
        self.period = scheme.period_months
        self.rules = {r.record_type: r for r in scheme.rules}
        types = self.regime.loaded.index.record_types
        self.effect = {code: types[code].publication.effect for code in self.rules}
        self.leaving: dict[int, set[int]] = {}
        n = self.population
        self.rate = np.full(n, self.scenario.offences_per_year / 365.25)
        self.balance = np.full(n, self.points)
        self.exhausted = np.zeros(n, np.bool_)
        self.ever = np.zeros(n, np.bool_)
        # licences were issued over the first year: each holder's renewal anniversary
        self.anniversary = np.random.Generator(np.random.Philox(key=self.seed)).integers(0, 365, n)
        self.history: dict[int, list[tuple[int, str, int]]] = {}
        self.traced = set(
            np.random.Generator(np.random.Philox(key=self.seed + 1))
            .choice(n, size=min(self.trace_k, n), replace=False)
            .tolist()
        )
        self.trace_rows: list[dict[str, Any]] = []
        self._serial = 0

    def _fold(self, agent: int, day: int) -> tuple[float, bool]:
        """The registry's licence fold over the agent's records in the period ending ``day``."""
        today = self.first + timedelta(days=day)
        window_start = add_months(today, -self.period)
        counts: dict[str, int] = {}
        balance = self.points
        exhausted = False
        for rec_day, code, _serial in self.history.get(agent, ()):
            decided = self.first + timedelta(days=rec_day)
            effect = self.effect[code]
            if decided <= window_start or (
                effect is not None and add_months(decided, effect) <= today
            ):
                continue
            rule = self.rules[code]
            counts[code] = counts.get(code, 0) + 1
            balance = max(0.0, min(self.points, balance + rule.points_for(counts[code])))
            exhausted = exhausted or balance <= 0
        return balance, exhausted

    def _record(self, agent: int, day: int, code: str) -> None:
        self._serial += 1
        self.history.setdefault(agent, []).append((day, code, self._serial))
        # the days the record leaves the period or ends its effect: the balance may recover
        decided = self.first + timedelta(days=day)
        for months in (self.period, self.effect[code]):
            if months is None:
                continue
            leaves = (add_months(decided, months) - self.first).days
            for when in (leaves, leaves + 1):
                self.leaving.setdefault(when, set()).add(agent)
        if agent in self.traced:
            self.trace_rows.append(
                {"agent": agent, "day": day, "record_type": code, "id": self._serial}
            )

    def run(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        sc, spec = self.scenario, self.regime.spec
        n = self.population
        rows = np.zeros((self.days, len(METRICS)), np.int64)
        m = {name: i for i, name in enumerate(METRICS)}
        for d in range(self.days):
            rng = np.random.Generator(np.random.Philox(key=(self.seed << 32) | d))
            row = rows[d]
            touched: set[int] = set()
            offenders = np.flatnonzero(rng.random(n) < self.rate)
            for a in offenders.tolist():
                self._record(a, d, spec.offence)
                touched.add(a)
            row[m["offences"]] = offenders.size
            if d >= 365:
                due = np.flatnonzero(self.anniversary == (d - 365) % 365)
                missed = due[rng.random(due.size) < sc.missed_renewal]
                for a in missed.tolist():
                    self._record(a, d, spec.no_renewal)
                    touched.add(a)
                row[m["missed_renewals"]] = missed.size
            lost = np.flatnonzero(self.balance < self.points)
            volunteers = lost[rng.random(lost.size) < sc.volunteering_per_year / 365.25]
            for a in volunteers.tolist():
                self._record(a, d, spec.volunteering)
                touched.add(a)
            row[m["volunteering"]] = volunteers.size
            # records leaving the period change balances too: re-fold holders whose oldest
            # record in the period leaves it today
            touched.update(self.leaving.pop(d, ()))
            for a in sorted(touched):
                before = self.balance[a]
                balance, exhausted = self._fold(a, d)
                if balance < before:
                    row[m["points_deducted"]] += int(before - balance)
                    self.rate[a] *= sc.deterrence
                elif balance > before:
                    row[m["points_restored"]] += int(balance - before)
                self.balance[a] = balance
                if exhausted and not self.exhausted[a]:
                    row[m["newly_exhausted"]] += 1
                self.exhausted[a] = exhausted
                self.ever[a] |= exhausted
            row[m["exhausted_now"]] = int(self.exhausted.sum())
            row[m["exhausted_ever"]] = int(self.ever.sum())
            row[m["holders_at_12"]] = int((self.balance >= self.points).sum())
            row[m["holders_below_6"]] = int((self.balance < 6).sum())
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        table = pa.table(
            {"date": pa.array(dates, pa.date32())}
            | {name: pa.array(rows[:, i]) for i, name in enumerate(METRICS)}
        )
        pq.write_table(table, out / "metrics.parquet")
        flows = ("offences", "missed_renewals", "volunteering", "points_deducted",
                 "points_restored", "newly_exhausted")  # fmt: skip
        totals = {k: int(rows[:, m[k]].sum()) for k in flows}
        totals |= {k: int(rows[-1, m[k]]) for k in METRICS if k not in flows}
        scale = sc.holders / n
        summary = {
            "population": n,
            "represented": sc.holders,
            "scale": scale,
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "scenario": sc.name,
            "regime": self.regime.name,
            "seed": self.seed,
            "totals": totals,
            "scaled": {k: round(v * scale) for k, v in totals.items()},
        }
        write_outputs(out, summary, sc, self.trace_rows)
        return summary
