"""The court-list model (``bench/court_model.py``) written the Mesa way (``mesa``).

As Mesa's tutorials write a model: one :class:`mesa.Agent` per person with its own attributes
(daily probabilities, the day its listing ends, whether it was ever listed), stepped every day
by the model (``self.agents.do("step")``), random numbers from the model's ``random``
(seeded through ``mesa.Model(seed=...)``), counters kept on the model. Each day a person may
refuse a judgment (a record: listed from that day until it performs, a geometric number of
days, or for 730 days); a listed person may try to fly and to take a G-train, and is denied.

    .venv/bin/python bench/court_mesa.py --agents 100000 --days 365
"""

from __future__ import annotations

import math
import time

import mesa

import court_model


class Person(mesa.Agent):
    def __init__(self, model: CourtList, tier: int) -> None:
        super().__init__(model)
        spec = model.spec
        self.p_record = spec.p_record[tier]
        self.p_flight = spec.p_flight[tier]
        self.p_train = spec.p_train[tier]
        self.listed_until = 0
        self.ever = False

    def step(self) -> None:
        m = self.model
        day = m.day
        rnd = m.random.random
        if rnd() < self.p_record:
            m.records += 1
            performs = 1 + int(math.log(1.0 - rnd()) / m.log_stay)  # geometric, >= 1
            end = day + min(m.spec.list_days, performs)
            if self.listed_until <= day:
                m.newly_listed += 1
                if not self.ever:
                    self.ever = True
                    m.listed_ever += 1
            self.listed_until = max(self.listed_until, end)
        if self.listed_until > day:
            if rnd() < self.p_flight:
                m.flight_denials += 1
            if rnd() < self.p_train:
                m.train_denials += 1


class CourtList(mesa.Model):
    def __init__(self, spec: court_model.Spec, agents: int, seed: int) -> None:
        super().__init__(seed=seed)
        self.spec = spec
        self.day = 0
        self.log_stay = math.log(1.0 - spec.p_perform)
        self.records = self.newly_listed = self.listed_ever = 0
        self.flight_denials = self.train_denials = 0
        for tier, size in enumerate(spec.tier_sizes(agents)):
            for _ in range(size):
                Person(self, tier)

    def step(self) -> None:
        self.agents.do("step")
        self.day += 1

    def listed_now(self) -> int:
        return sum(1 for a in self.agents if a.listed_until > self.day - 1)


def main() -> None:
    args = court_model.arguments(__doc__)
    spec = court_model.spec()
    t = time.perf_counter()
    model = CourtList(spec, args.agents, args.seed)
    build = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(args.days):
        model.step()
    ran = time.perf_counter() - t
    metrics = {
        "records": model.records,
        "newly_listed": model.newly_listed,
        "listed_ever": model.listed_ever,
        "listed_now": model.listed_now(),
        "flight_denials": model.flight_denials,
        "train_denials": model.train_denials,
    }
    court_model.report(
        "mesa", mesa.__version__, args, build_s=build, run_s=ran, metrics=metrics, threads=1
    )


if __name__ == "__main__":
    main()
