"""The court-list model (``bench/court_model.py``) written the Starsim way (``starsim``, IDM).

As Starsim's own modules are written (its ``NCD`` and ``SIS`` examples): a module subclass
(``ss.Module``) declares its parameters with ``define_pars`` (the draws as distributions:
``ss.bernoulli`` with a per-agent probability given as a function of the agents,
``ss.expon`` for the time to performance, in ``ss.days``), its per-agent states with
``define_states`` (``ss.IntArr`` tier, ``ss.BoolState`` listed and ever listed,
``ss.FloatArr`` the time step the listing ends), its results with ``define_results``, and
its daily work in ``step``: listings that end are ended, ``filter()`` picks the agents who
refuse a judgment today, their listings are set (performance: the exponential time, rounded
up to whole days, which makes it geometric), and the listed agents' flights and trains are
drawn the same way. The simulation is an ``ss.Sim`` with a daily time step for the year, no
demographics, no networks, one random seed; ``people_results`` off (nothing but the module's
own results is collected).

    .venv/bin/python bench/court_starsim.py --agents 10000000 --days 365
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import starsim as ss

import court_model


def _p_record(module: CourtList, sim: Any, uids: Any) -> Any:
    return module.p_record_by_tier[module.tier[uids]]


def _p_flight(module: CourtList, sim: Any, uids: Any) -> Any:
    return module.p_flight_by_tier[module.tier[uids]]


def _p_train(module: CourtList, sim: Any, uids: Any) -> Any:
    return module.p_train_by_tier[module.tier[uids]]


class CourtList(ss.Module):
    """The court's list of dishonest judgment debtors and its travel restrictions."""

    def __init__(self, spec: court_model.Spec, agents: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mean_days = -1.0 / np.log1p(-spec.p_perform)  # exponential mean for a daily hazard
        self.define_pars(
            refuse=ss.bernoulli(p=_p_record),
            perform=ss.expon(scale=ss.days(mean_days)),
            fly=ss.bernoulli(p=_p_flight),
            train=ss.bernoulli(p=_p_train),
            list_days=spec.list_days,
        )
        self.define_states(
            ss.IntArr("tier", default=0),
            ss.BoolState("listed", default=False),
            ss.BoolState("ever_listed", default=False),
            ss.FloatArr("ti_unlisted"),
        )
        self.p_record_by_tier = np.array(spec.p_record)
        self.p_flight_by_tier = np.array(spec.p_flight)
        self.p_train_by_tier = np.array(spec.p_train)
        self.tier_sizes = spec.tier_sizes(agents)

    def init_post(self) -> None:
        super().init_post()
        start = 0
        for k, size in enumerate(self.tier_sizes):  # tiers in contiguous runs, as elsewhere
            self.tier[ss.uids(np.arange(start, start + size))] = k
            start += size

    def init_results(self) -> None:
        super().init_results()
        self.define_results(
            ss.Result("records", dtype=int, label="Records"),
            ss.Result("newly_listed", dtype=int, label="Newly listed"),
            ss.Result("new_ever_listed", dtype=int, label="Listed for the first time"),
            ss.Result("listed_now", dtype=int, label="Listed"),
            ss.Result("flight_denials", dtype=int, label="Flights denied"),
            ss.Result("train_denials", dtype=int, label="G-trains denied"),
        )

    def step(self) -> None:
        ti = self.ti
        ended = (self.listed & (self.ti_unlisted <= ti)).uids
        self.listed[ended] = False
        refusing = self.pars.refuse.filter()
        days = np.minimum(np.ceil(self.pars.perform.rvs(refusing)), self.pars.list_days)
        new = refusing[~self.listed[refusing]]
        first = new[~self.ever_listed[new]]
        self.ti_unlisted[new] = ti + days[~self.listed[refusing]]
        again = refusing[self.listed[refusing]]
        if len(again):
            self.ti_unlisted[again] = np.maximum(
                self.ti_unlisted[again], ti + days[self.listed[refusing]]
            )
        self.listed[new] = True
        self.ever_listed[first] = True
        listed = self.listed.uids
        res = self.results
        res.records[ti] = len(refusing)
        res.newly_listed[ti] = len(new)
        res.new_ever_listed[ti] = len(first)
        res.listed_now[ti] = len(listed)
        res.flight_denials[ti] = len(self.pars.fly.filter(listed))
        res.train_denials[ti] = len(self.pars.train.filter(listed))


def simulate(spec: court_model.Spec, agents: int, days: int, seed: int) -> tuple[Any, float]:
    t = time.perf_counter()
    sim = ss.Sim(
        n_agents=agents,
        start=ss.date("2017-01-01"),
        stop=ss.date("2017-01-01") + ss.days(days - 1),
        dt=ss.days(1),
        modules=CourtList(spec, agents),
        rand_seed=seed,
        people_results=False,
        verbose=0,
    )
    sim.init()
    return sim, time.perf_counter() - t


def main() -> None:
    args = court_model.arguments(__doc__)
    spec = court_model.spec()
    simulate(spec, 1000, 2, args.seed)[0].run()  # warm up the imports and caches
    sim, build = simulate(spec, args.agents, args.days, args.seed)
    t = time.perf_counter()
    sim.run()
    ran = time.perf_counter() - t
    res = sim.results.courtlist
    steps = len(res.records)
    metrics = {
        "records": int(res.records.sum()),
        "newly_listed": int(res.newly_listed.sum()),
        "listed_ever": int(res.new_ever_listed.sum()),
        "listed_now": int(res.listed_now[steps - 1]),
        "flight_denials": int(res.flight_denials.sum()),
        "train_denials": int(res.train_denials.sum()),
    }
    court_model.report(
        "starsim", ss.__version__, args, build_s=build, run_s=ran, metrics=metrics, threads=1
    )


if __name__ == "__main__":
    main()
