"""The court-list model (``bench/court_model.py``) written the LASER way (``laser-core``, IDM).

As LASER's own models are written: the population is a :class:`laser.core.LaserFrame` with
one scalar property per agent attribute in the narrowest dtype that fits (``tier`` uint8,
``listed_until`` int32, ``ever`` uint8); parameters in a :class:`laser.core.PropertySet`;
the model is a list of components, each a callable ``component(model, tick)`` whose work is
a Numba kernel (``njit(parallel=True, nogil=True, cache=True)``) over every agent with
``prange``; random numbers from Numba's per-thread generators, seeded once through
``laser.core.random.seed``; per-tick results in a results frame (``add_vector_property``),
counted per thread and reduced after each kernel (no atomics). Two components: refusals
(every agent, every day: a Bernoulli draw for a record; on a record the day of performance
is drawn and the listing set) and travel (every listed agent: a draw for a flight and one for
a train, each attempt denied and counted).

    .venv/bin/python bench/court_laser.py --agents 10000000 --days 365
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np
from laser.core import LaserFrame, PropertySet
from laser.core import __version__ as laser_version
from laser.core.random import seed as laser_seed

import court_model

RECORDS, NEWLY, EVER, FLIGHTS, TRAINS = range(5)


@nb.njit(parallel=True, nogil=True, cache=True)
def refusals_step(  # pragma: no cover - compiled
    tick: int,
    count: int,
    tier: np.ndarray,
    listed_until: np.ndarray,
    ever: np.ndarray,
    p_record: np.ndarray,
    p_perform: float,
    list_days: int,
    per_thread: np.ndarray,
) -> None:
    for i in nb.prange(count):
        if np.random.random_sample() < p_record[tier[i]]:
            t = nb.get_thread_id()
            per_thread[t, RECORDS] += 1
            end = tick + min(list_days, np.random.geometric(p_perform))
            if listed_until[i] <= tick:
                per_thread[t, NEWLY] += 1
                if ever[i] == 0:
                    ever[i] = 1
                    per_thread[t, EVER] += 1
            if end > listed_until[i]:
                listed_until[i] = end


@nb.njit(parallel=True, nogil=True, cache=True)
def travel_step(  # pragma: no cover - compiled
    tick: int,
    count: int,
    tier: np.ndarray,
    listed_until: np.ndarray,
    p_flight: np.ndarray,
    p_train: np.ndarray,
    per_thread: np.ndarray,
) -> None:
    for i in nb.prange(count):
        if listed_until[i] > tick:
            t = nb.get_thread_id()
            k = tier[i]
            if np.random.random_sample() < p_flight[k]:
                per_thread[t, FLIGHTS] += 1
            if np.random.random_sample() < p_train[k]:
                per_thread[t, TRAINS] += 1


@nb.njit(parallel=True, nogil=True, cache=True)
def count_listed(tick: int, count: int, listed_until: np.ndarray) -> int:  # pragma: no cover
    n = 0
    for i in nb.prange(count):
        if listed_until[i] > tick:
            n += 1
    return n


class Refusals:
    def __init__(self, model: Model) -> None:
        self.per_thread = np.zeros((nb.get_num_threads(), 5), np.int64)

    def __call__(self, model: Model, tick: int) -> None:
        people, p = model.people, model.params
        self.per_thread[:] = 0
        refusals_step(tick, people.count, people.tier, people.listed_until, people.ever,
                      p.p_record, p.p_perform, p.list_days, self.per_thread)  # fmt: skip
        totals = self.per_thread.sum(axis=0)
        model.results.records[tick, 0] = totals[RECORDS]
        model.results.newly_listed[tick, 0] = totals[NEWLY]
        model.results.listed_ever[tick, 0] = totals[EVER]


class Travel:
    def __init__(self, model: Model) -> None:
        self.per_thread = np.zeros((nb.get_num_threads(), 5), np.int64)

    def __call__(self, model: Model, tick: int) -> None:
        people, p = model.people, model.params
        self.per_thread[:] = 0
        travel_step(tick, people.count, people.tier, people.listed_until, p.p_flight,
                    p.p_train, self.per_thread)  # fmt: skip
        totals = self.per_thread.sum(axis=0)
        model.results.flight_denials[tick, 0] = totals[FLIGHTS]
        model.results.train_denials[tick, 0] = totals[TRAINS]


class Model:
    def __init__(self, params: PropertySet) -> None:
        self.params = params
        n = params.agents
        self.people = LaserFrame(capacity=n, initial_count=n)
        self.people.add_scalar_property("tier", dtype=np.uint8, default=0)
        self.people.add_scalar_property("listed_until", dtype=np.int32, default=0)
        self.people.add_scalar_property("ever", dtype=np.uint8, default=0)
        start = 0
        for k, size in enumerate(params.tier_sizes):  # tiers in contiguous runs
            self.people.tier[start : start + size] = k
            start += size
        self.results = LaserFrame(capacity=1, initial_count=1)
        for name in ("records", "newly_listed", "listed_ever", "flight_denials",
                     "train_denials"):  # fmt: skip
            self.results.add_vector_property(name, length=params.nticks, dtype=np.int64)
        self.components = [Refusals(self), Travel(self)]

    def run(self) -> None:
        for tick in range(self.params.nticks):
            for component in self.components:
                component(self, tick)

    def metrics(self) -> dict[str, int]:
        r = self.results
        last = self.params.nticks - 1
        out = {m: int(getattr(r, m)[:, 0].sum()) for m in ("records", "newly_listed",
               "listed_ever", "flight_denials", "train_denials")}  # fmt: skip
        out["listed_now"] = int(count_listed(last, self.people.count, self.people.listed_until))
        return out


def params_for(spec: court_model.Spec, agents: int, days: int, seed: int) -> PropertySet:
    return PropertySet(
        {
            "agents": agents,
            "nticks": days,
            "seed": seed,
            "tier_sizes": spec.tier_sizes(agents),
            "p_record": np.array(spec.p_record, np.float64),
            "p_flight": np.array(spec.p_flight, np.float64),
            "p_train": np.array(spec.p_train, np.float64),
            "p_perform": spec.p_perform,
            "list_days": spec.list_days,
        }
    )


def main() -> None:
    args = court_model.arguments(__doc__)
    if args.threads:
        nb.set_num_threads(args.threads)
    spec = court_model.spec()
    laser_seed(args.seed)
    Model(params_for(spec, 1000, 2, args.seed)).run()  # compile or load the kernels
    laser_seed(args.seed)
    t = time.perf_counter()
    model = Model(params_for(spec, args.agents, args.days, args.seed))
    build = time.perf_counter() - t
    t = time.perf_counter()
    model.run()
    ran = time.perf_counter() - t
    court_model.report(
        "laser-core",
        laser_version,
        args,
        build_s=build,
        run_s=ran,
        metrics=model.metrics(),
        threads=nb.get_num_threads(),
    )


if __name__ == "__main__":
    main()
