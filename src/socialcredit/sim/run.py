"""One entry point for the engines: a scenario and a regime, run.

A regime of catalogs with a conduct scenario runs on the one engine over the compiled rulebook
(:class:`~socialcredit.sim.folding.FoldRun`); the court list's national world with its regime
runs on the court list's engine (:class:`~socialcredit.sim.engine.Run`), until that engine too
runs on the rulebook.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from socialcredit.errors import InputError
from socialcredit.sim.engine import Run
from socialcredit.sim.folding import ConductScenario, FoldRegime, FoldRun
from socialcredit.sim.regime import Regime, load_any_regime
from socialcredit.sim.scenario import Scenario, load_any


def prepare(
    scenario: str | Path,
    regime: str | Path | FoldRegime,
    *,
    population: int,
    seed: int,
    threads: int = 1,
    trace: int = 0,
    start: date | None = None,
    end: date | None = None,
    partitions: int = 0,
    overrides: dict[str, Any] | None = None,
) -> Run | FoldRun:
    """The engine for ``scenario`` under ``regime`` (a file, a bundled name, or a regime of
    catalogs already loaded), ready to ``run(out)``."""
    sc = load_any(scenario, **(overrides or {}))
    rules = regime if isinstance(regime, FoldRegime) else load_any_regime(regime)
    first, last = start or sc.start, end or sc.end
    if last < first:
        raise InputError("end", f"{last} is before the start {first}")
    if isinstance(rules, FoldRegime):
        if not isinstance(sc, ConductScenario):
            raise InputError(
                "scenario", f"{sc.name} is the court list's world; regime {rules.name} needs a "
                "conduct scenario (kind = \"conduct\")"
            )  # fmt: skip
        return FoldRun(sc, rules, population, seed, trace, first, last, partitions)
    if not isinstance(sc, Scenario) or not isinstance(rules, Regime):
        raise InputError("regime", f"{rules.name} and {sc.name} are not of the same kind")
    return Run(sc, rules, population, seed, threads, trace, first, last, partitions or 1)
