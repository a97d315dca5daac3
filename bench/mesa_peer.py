"""The court-list model written the Mesa way, as a benchmark peer (not a dependency).

Same world as ``national-2013`` under ``law-bound``, simplified the way a Mesa user would write
it: one Python agent per person, each stepped every day. A person is found to refuse a
judgment with the scenario's daily probability (by income tier); a record lists them for 24
months unless they perform (daily hazard); listed people still try to fly and take
G-trains at the tier's rates and are denied. Run with Mesa installed (bench/bench_sim.py makes
a separate virtual environment for it)::

    .venv-mesa/bin/python bench/mesa_peer.py --agents 100000 --days 365
"""

from __future__ import annotations

import argparse
import json
import time

import mesa

TIERS = {  # share, debtor factor, flights/year, trains/year (national-2013.toml)
    "low": (0.55, 1.3, 0.34, 0.22),
    "middle": (0.35, 0.8, 1.72, 0.5),
    "high": (0.10, 0.5, 5.16, 1.0),
}
REFUSALS_PER_YEAR = 0.00270
FULFIL_PER_YEAR = 0.20
LIST_DAYS = 730


class Person(mesa.Agent):
    def __init__(self, model: CourtList, tier: str) -> None:
        super().__init__(model)
        share, factor, flights, trains = TIERS[tier]
        self.p_record = REFUSALS_PER_YEAR * factor / 365.25
        self.p_flight = flights / 365.25
        self.p_train = trains / 365.25
        self.listed_until = -1
        self.ever = False

    def step(self) -> None:
        m = self.model
        day = m.day
        rnd = m.random.random
        if rnd() < self.p_record:
            end = day + LIST_DAYS
            performed = day + 1
            while performed < end and rnd() >= m.p_fulfil:
                performed += 1
            self.listed_until = max(self.listed_until, min(end, performed))
            m.records += 1
            if not self.ever:
                self.ever = True
                m.listed_ever += 1
        if self.listed_until > day:
            if rnd() < self.p_flight:
                m.flight_denials += 1
            if rnd() < self.p_train:
                m.train_denials += 1


class CourtList(mesa.Model):
    def __init__(self, agents: int, seed: int) -> None:
        super().__init__(seed=seed)
        self.day = 0
        self.p_fulfil = FULFIL_PER_YEAR / 365.25
        self.records = self.listed_ever = self.flight_denials = self.train_denials = 0
        for tier, (share, *_rest) in TIERS.items():
            for _ in range(round(agents * share)):
                Person(self, tier)

    def step(self) -> None:
        self.agents.do("step")
        self.day += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t = time.perf_counter()
    model = CourtList(args.agents, args.seed)
    built = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(args.days):
        model.step()
    ran = time.perf_counter() - t
    print(
        json.dumps(
            {
                "mesa": mesa.__version__,
                "agents": args.agents,
                "days": args.days,
                "build_s": round(built, 3),
                "run_s": round(ran, 3),
                "agent_days_per_s": round(args.agents * args.days / ran),
                "records": model.records,
                "listed_ever": model.listed_ever,
                "flight_denials": model.flight_denials,
                "train_denials": model.train_denials,
            }
        )
    )


if __name__ == "__main__":
    main()
