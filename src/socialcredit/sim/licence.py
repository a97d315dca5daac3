"""A city's licence of points (Jinan's dog-owner licence) run over a synthetic population.

Agents are licence holders. Each day some commit an offence, some miss their annual renewal,
some volunteer; every record goes through the catalog's licence scheme exactly as
:func:`socialcredit.registry.evaluate.evaluate` folds it (points by occurrence within the period,
restorations capped at the licence's points, exhausted once the balance reached zero within
the period), and an exhausted licence puts its holder on the catalog's list, whose memorandum
names the consequences (confiscation, a course and a test).

Owners respond to deterrence: each day that lowers a holder's balance multiplies their offence
rate by ``deterrence``. Licences were issued over the first year in the order of their numbers:
holder ``a`` of ``n`` renews on day ``a * 365 // n`` of each year, so a day's renewals are a
contiguous range of holders.

The days run in one compiled kernel, with one SplitMix64 stream per (seed, day) (as the
court-list kernel). Every draw is O(events): offences by geometric skips over the holders at the
first-offence rate, each accepted with probability ``deterrence ** deductions`` (so each holder
offends on a day with probability its own rate); missed renewals by geometric skips over the
day's renewal range; volunteering by geometric skips over the holders who have lost points (a
set kept as the balances change). Records go into a log in the order they are made (their
ids); each holder's records are a linked list through the log, and a list per day holds the
records leaving the period (or ending their effect) that day. Only holders with a new or a
leaving record are re-folded, from their own few records, and the day's counts (exhausted, at
12, below 6) move with each re-fold, so no day scans the holders. Per holder: the balance
(``float64``), deductions (``uint16``), flags (``uint8``), the first and last of its records and
its place in the set of those who lost points (``int64`` each): 43 bytes, for a city's licences.
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
from numba import njit
from pydantic import Field

from socialcredit.daycount import add_months, to_day
from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import LicenceScheme
from socialcredit.sim.common import Frozen, RegimeSpec, regime_parts, validated, write_outputs
from socialcredit.sim.kernel import _geometric, _uniform, stream_key

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]

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
(OFFENCES, MISSED, VOLUNTEERING, DEDUCTED, RESTORED, NEWLY, EXHAUSTED_NOW, EXHAUSTED_EVER, AT_FULL,
 BELOW_6) = range(len(METRICS))  # fmt: skip
FLOWS = METRICS[:6]
OFFENCE, NO_RENEWAL, VOLUNTEER = 0, 1, 2  # record types in the kernel's log
EXHAUSTED, EVER, TOUCHED = np.uint8(1), np.uint8(2), np.uint8(4)  # flags


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
    """Each day that lowers the holder's balance multiplies their offence rate by this."""
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
        scheme, spec = self.regime.scheme, self.regime.spec
        self.points = float(scheme.points)
        self.period = scheme.period_months
        self.codes = [spec.offence, spec.no_renewal, spec.volunteering]
        types = self.regime.loaded.index.record_types
        effects = [types[code].publication.effect for code in self.codes]
        self.effect = np.array([-1 if e is None else e for e in effects], np.int64)
        # the scheme's rules for the drawn types, in the reference's order; points by occurrence
        rules = [
            (self.codes.index(r.record_type), r)
            for r in scheme.rules
            if r.record_type in self.codes
        ]
        longest = max(1 if r.points is not None else len(r.by_occurrence) for _t, r in rules)
        self.rule_type = np.array([t for t, _r in rules], np.int64)
        self.rule_points = np.array(
            [[r.points_for(c) for c in range(1, longest + 1)] for _t, r in rules]
        ).reshape(len(rules), longest)
        n = self.population
        self.balance = np.full(n, self.points)
        self.deductions = np.zeros(n, np.uint16)
        self.flags = np.zeros(n, np.uint8)
        self.traced = np.sort(
            np.random.Generator(np.random.Philox(key=self.seed + 1)).choice(
                n, size=min(self.trace_k, n), replace=False
            )
        )
        self.trace_rows: list[dict[str, Any]] = []

    @property
    def exhausted(self) -> npt.NDArray[np.bool_]:
        """Whether each licence is exhausted now (its holder is on the list)."""
        out: npt.NDArray[np.bool_] = (self.flags & EXHAUSTED) != 0
        return out

    @property
    def ever(self) -> npt.NDArray[np.bool_]:
        """Whether each licence has been exhausted at some point of the run."""
        out: npt.NDArray[np.bool_] = (self.flags & EVER) != 0
        return out

    def simulate(self) -> I64:
        """Step every day; the metric rows, one per day."""
        sc = self.scenario
        rows = np.zeros((self.days, len(METRICS)), np.int64)
        log_agent, log_day, log_type, n_log = _simulate(
            self.seed, to_day(self.first), self.days, self.points, self.period, self.effect,
            self.rule_type, self.rule_points, sc.offences_per_year / 365.25, sc.deterrence,
            sc.missed_renewal, sc.volunteering_per_year / 365.25, self.balance, self.deductions,
            self.flags, rows,
        )  # fmt: skip
        agents = log_agent[:n_log]
        mine = np.flatnonzero(np.isin(agents, self.traced))
        self.trace_rows = [
            {"agent": int(agents[i]), "day": int(log_day[i]),
             "record_type": self.codes[int(log_type[i])], "id": int(i) + 1}
            for i in mine.tolist()
        ]  # fmt: skip
        return rows

    def run(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        sc = self.scenario
        n = self.population
        rows = self.simulate()
        dates = [self.first + timedelta(days=d) for d in range(self.days)]
        table = pa.table(
            {"date": pa.array(dates, pa.date32())}
            | {name: pa.array(rows[:, i]) for i, name in enumerate(METRICS)}
        )
        pq.write_table(table, out / "metrics.parquet")
        totals = {k: int(rows[:, i].sum()) for i, k in enumerate(METRICS) if k in FLOWS}
        totals |= {k: int(rows[-1, i]) for i, k in enumerate(METRICS) if k not in FLOWS}
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


# ------------------------------------------------------------------------------------------------
# The compiled days


@njit(cache=True, nogil=True)
def _leaves(decided: int, period: int, effect: int) -> int:  # pragma: no cover - compiled
    """The first day (number) on which a record decided on ``decided`` no longer counts: it
    is on or before the start of the period ending that day, or its effect has ended."""
    t = add_months(decided, period)
    while add_months(t, -period) < decided:
        t += 1
    if effect >= 0:
        t = min(t, add_months(decided, effect))
    return t


@njit(cache=True, nogil=True)
def _grown(a: I64, size: int) -> I64:  # pragma: no cover - compiled
    out = np.empty(size, a.dtype)
    out[: a.shape[0]] = a
    return out


@njit(cache=True)
def _simulate(  # noqa: PLR0913, PLR0912, PLR0915  # pragma: no cover - compiled
    seed: int,
    abs0: int,  # day number of the first day
    n_days: int,
    points: float,
    period: int,
    effect: I64,  # per record type: months in effect, -1 = for ever
    rule_type: I64,  # per rule: its record type
    rule_points: F64,  # (rules, occurrences): points of the c-th occurrence, the last repeats
    offence_rate: float,  # per holder and day before any deduction
    deterrence: float,
    missed_renewal: float,
    volunteering_rate: float,  # per holder who has lost points, and day
    balance: F64,  # (holders,) in/out
    deductions: U16,  # (holders,) out: days that lowered the balance
    flags: U8,  # (holders,) out: exhausted, ever exhausted
    rows: I64,  # (days, metrics) out
) -> tuple[I64, I64, I64, int]:
    """Step every day; returns the log of records (agent, day, type) and its length."""
    n = balance.shape[0]
    n_rules = rule_type.shape[0]
    longest = rule_points.shape[1]
    counts = np.zeros(n_rules, np.int64)
    state = np.empty(1, np.uint64)
    # the log: a record's id is its position + 1
    cap = 1024
    log_agent = np.empty(cap, np.int64)
    log_day = np.empty(cap, np.int64)
    log_type = np.empty(cap, np.int64)
    log_leaves = np.empty(cap, np.int64)  # first day (of the run) it no longer counts
    log_next = np.empty(cap, np.int64)  # the holder's next record
    log_next_leaving = np.empty(cap, np.int64)  # the next record leaving the same day
    n_log = 0
    first = np.full(n, -1, np.int64)  # each holder's oldest record that may still count
    last = np.full(n, -1, np.int64)
    leaving = np.full(n_days, -1, np.int64)
    # holders who have lost points (those who volunteer), as a set with positions
    lost = np.empty(n, np.int64)
    lost_at = np.full(n, -1, np.int64)
    n_lost = 0
    touched = np.empty(1024, np.int64)
    exhausted_now = 0
    exhausted_ever = 0
    at_full = n  # every licence starts with all its points
    below_6 = n if points < 6 else 0
    for d in range(n_days):
        state[0] = stream_key(seed, 0, d)
        row = rows[d]
        n_touched = 0
        absolute = abs0 + d
        for kind in range(3):
            # the candidates of today's records of this kind: a range of holders (offences,
            # renewals due) or the holders who have lost points (volunteering)
            if kind == OFFENCE:
                p, lo, hi = offence_rate, 0, n
            elif kind == NO_RENEWAL:
                due = (d - 365) % 365
                p, lo, hi = missed_renewal, (due * n + 364) // 365, ((due + 1) * n + 364) // 365
                if d < 365:
                    p = 0.0
            else:
                p, lo, hi = volunteering_rate, 0, n_lost
            if p <= 0.0:
                continue
            pos = lo - 1
            while True:
                pos += _geometric(state, p)
                if pos >= hi:
                    break
                a = lost[pos] if kind == VOLUNTEER else pos
                if kind == OFFENCE and deductions[a] > 0:
                    if _uniform(state) >= deterrence ** deductions[a]:
                        continue
                row[kind] += 1  # OFFENCES, MISSED, VOLUNTEERING are columns 0-2
                if n_log == log_agent.shape[0]:
                    cap = 2 * n_log
                    log_agent = _grown(log_agent, cap)
                    log_day = _grown(log_day, cap)
                    log_type = _grown(log_type, cap)
                    log_leaves = _grown(log_leaves, cap)
                    log_next = _grown(log_next, cap)
                    log_next_leaving = _grown(log_next_leaving, cap)
                i = n_log
                n_log += 1
                log_agent[i] = a
                log_day[i] = d
                log_type[i] = kind
                ends = _leaves(absolute, period, effect[kind]) - abs0
                log_leaves[i] = ends
                log_next[i] = -1
                if first[a] < 0:
                    first[a] = i
                else:
                    log_next[last[a]] = i
                last[a] = i
                if d < ends < n_days:
                    log_next_leaving[i] = leaving[ends]
                    leaving[ends] = i
                if flags[a] & TOUCHED == 0:
                    flags[a] |= TOUCHED
                    if n_touched == touched.shape[0]:
                        touched = _grown(touched, 2 * n_touched)
                    touched[n_touched] = a
                    n_touched += 1
        # holders with a record leaving the period today are re-folded too
        i = leaving[d]
        while i >= 0:
            a = log_agent[i]
            if flags[a] & TOUCHED == 0:
                flags[a] |= TOUCHED
                if n_touched == touched.shape[0]:
                    touched = _grown(touched, 2 * n_touched)
                touched[n_touched] = a
                n_touched += 1
            i = log_next_leaving[i]
        for j in range(n_touched):
            a = touched[j]
            flags[a] &= ~TOUCHED
            # the registry's licence fold over the holder's records that count today
            h = first[a]
            while h >= 0 and log_leaves[h] <= d:
                h = log_next[h]
            first[a] = h
            counts[:] = 0
            now = points
            exhausted = False
            while h >= 0:
                if log_leaves[h] > d:
                    for e in range(n_rules):
                        if rule_type[e] == log_type[h]:
                            counts[e] += 1
                            value = rule_points[e, min(counts[e], longest) - 1]
                            now = max(0.0, min(points, now + value))
                            exhausted = exhausted or now <= 0
                h = log_next[h]
            before = balance[a]
            if now < before:
                row[DEDUCTED] += int(before - now)
                if deductions[a] < 65535:
                    deductions[a] += 1
            elif now > before:
                row[RESTORED] += int(now - before)
            balance[a] = now
            at_full += (1 if now >= points else 0) - (1 if before >= points else 0)
            below_6 += (1 if now < 6 else 0) - (1 if before < 6 else 0)
            if now < points and lost_at[a] < 0:
                lost[n_lost] = a
                lost_at[a] = n_lost
                n_lost += 1
            elif now >= points and lost_at[a] >= 0:
                moved = lost[n_lost - 1]
                lost[lost_at[a]] = moved
                lost_at[moved] = lost_at[a]
                lost_at[a] = -1
                n_lost -= 1
            was = flags[a] & EXHAUSTED != 0
            if exhausted and not was:
                row[NEWLY] += 1
                exhausted_now += 1
                flags[a] |= EXHAUSTED
                if flags[a] & EVER == 0:
                    flags[a] |= EVER
                    exhausted_ever += 1
            elif was and not exhausted:
                exhausted_now -= 1
                flags[a] &= ~EXHAUSTED
        row[EXHAUSTED_NOW] = exhausted_now
        row[EXHAUSTED_EVER] = exhausted_ever
        row[AT_FULL] = at_full
        row[BELOW_6] = below_6
    return log_agent, log_day, log_type, n_log
