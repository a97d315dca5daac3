"""The court-list model that every side of the simulator comparison runs, and what they report.

The model (a subset of ``national-2013`` under ``law-bound``, the year 2017 from an empty list;
the rates are read from the bundled scenario, so every side runs the same numbers):

- persons in three income tiers (shares 0.55 / 0.35 / 0.10);
- each day each person refuses a court judgment with probability ``records_per_year(2017) x
  debtor_factor(tier) / 365.25``; a refusal is a record that lists the person from that day;
- a record's listing lasts 24 months (730 days) unless the debtor performs first: the day of
  performance is geometric with the daily hazard ``1 - exp(-fulfilment_per_year / 365.25)``
  (performance ends the listing); a record on a person already listed extends the listing if
  it ends later;
- each day each listed person tries to book a flight and a G-train journey with probabilities
  ``flights_per_year(tier) / 365.25`` and ``trains_per_year(tier) / 365.25``; each attempt is
  denied and counted.

Left out on every side (our engine runs them with these switched off): organisations and their
representatives, wrongly attributed records, objections, repair; deterrence is in no side.

Every side prints one JSON object (see :func:`report`): the framework and its version, the
agents and days, the seconds spent building the population and stepping it, the peak RSS of
its process, and the metrics below summed over the run (``listed_now``: on the last day).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
from dataclasses import dataclass

import orjson

METRICS = (
    "records",
    "newly_listed",
    "listed_ever",
    "listed_now",
    "flight_denials",
    "train_denials",
)
YEAR = 2017
LIST_DAYS = 730
RECORD_TYPE = "court.dishonest_debtor.refuse_to_perform"
FLIGHT, TRAIN = "restrict.flight", "restrict.g_train"


@dataclass(frozen=True)
class Spec:
    tiers: tuple[str, ...]
    shares: tuple[float, ...]
    p_record: tuple[float, ...]
    """Per tier: the daily probability that a person refuses a judgment."""
    p_flight: tuple[float, ...]
    p_train: tuple[float, ...]
    p_perform: float
    """The daily hazard that a listed debtor performs."""
    list_days: int = LIST_DAYS

    def tier_sizes(self, agents: int) -> list[int]:
        """Agents per tier (largest remainder), in tier order."""
        exact = [agents * s for s in self.shares]
        sizes = [math.floor(x) for x in exact]
        order = sorted(range(len(exact)), key=lambda i: sizes[i] - exact[i])
        for i in order[: agents - sum(sizes)]:
            sizes[i] += 1
        return sizes


def spec(year: int = YEAR) -> Spec:
    """The court-list model's rates, from the bundled ``national-2013`` scenario."""
    from socialcredit.sim.scenario import load_any

    sc = load_any("national-2013")
    tiers = list(sc.tiers.values())
    rate = sc.rate_in(RECORD_TYPE, year)
    return Spec(
        tiers=tuple(sc.tiers),
        shares=tuple(t.share for t in tiers),
        p_record=tuple(rate * t.debtor_factor / 365.25 for t in tiers),
        p_flight=tuple(t.uses_per_year.get(FLIGHT, 0.0) / 365.25 for t in tiers),
        p_train=tuple(t.uses_per_year.get(TRAIN, 0.0) / 365.25 for t in tiers),
        p_perform=1.0 - math.exp(-sc.due_process.fulfilment_per_year / 365.25),
    )


def arguments(description: str | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--agents", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="0: the framework's default")
    return ap.parse_args()


def report(
    framework: str,
    version: str,
    args: argparse.Namespace,
    *,
    build_s: float,
    run_s: float,
    metrics: dict[str, int],
    threads: int,
) -> None:
    missing = set(METRICS) - set(metrics)
    if missing:
        raise SystemExit(f"{framework}: no figure for {sorted(missing)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out = {
        "framework": framework,
        "version": version,
        "agents": args.agents,
        "days": args.days,
        "seed": args.seed,
        "threads": threads,
        "build_s": round(build_s, 4),
        "run_s": round(run_s, 4),
        "agent_days_per_s": args.agents * args.days / run_s if run_s > 0 else None,
        "peak_rss_gib": round(peak, 3),
        "metrics": {m: int(metrics[m]) for m in METRICS},
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
