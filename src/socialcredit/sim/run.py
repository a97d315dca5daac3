"""One entry point for every engine: a scenario and a regime of the same kind, run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from socialcredit.errors import InputError
from socialcredit.sim.engine import Run
from socialcredit.sim.licence import LicenceRegime, LicenceRun, LicenceScenario
from socialcredit.sim.points import PointsRegime, PointsRun, PointsScenario
from socialcredit.sim.regime import Regime, load_any_regime
from socialcredit.sim.scenario import Scenario, load_any
from socialcredit.sim.weighted import WeightedRegime, WeightedRun, WeightedScenario

# engines for one city or a score regime: (scenario kind, regime kind, engine)
SMALL_ENGINES: tuple[tuple[type, type, Callable[..., Any]], ...] = (
    (LicenceScenario, LicenceRegime, LicenceRun),
    (PointsScenario, PointsRegime, PointsRun),
    (WeightedScenario, WeightedRegime, WeightedRun),
)


def prepare(
    scenario: str | Path,
    regime: str | Path,
    *,
    population: int,
    seed: int,
    threads: int = 1,
    trace: int = 0,
    start: date | None = None,
    end: date | None = None,
    partitions: int = 1,
    overrides: dict[str, Any] | None = None,
) -> Any:
    """The engine for ``scenario`` under ``regime``, ready to ``run(out)``; the kinds must
    match (a list regime with a list scenario, a points regime with a points scenario...)."""
    sc = load_any(scenario, **(overrides or {}))
    rules = load_any_regime(regime)
    first, last = start or sc.start, end or sc.end
    if last < first:
        raise InputError("end", f"{last} is before the start {first}")
    for scenario_kind, regime_kind, engine in SMALL_ENGINES:
        if isinstance(sc, scenario_kind) or isinstance(rules, regime_kind):
            if not (isinstance(sc, scenario_kind) and isinstance(rules, regime_kind)):
                raise InputError("regime", f"{rules.name} and {sc.name} are not of the same kind")
            return engine(sc, rules, population, seed, trace, first, last)
    if not (isinstance(sc, Scenario) and isinstance(rules, Regime)):  # pragma: no cover
        raise InputError("regime", f"{rules.name} and {sc.name} are not of the same kind")
    return Run(sc, rules, population, seed, threads, trace, first, last, partitions)
