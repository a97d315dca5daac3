"""One entry point for the engine: a scenario and a regime of catalogs, ready to run.

Every regime runs on the one engine over the compiled rulebook
(:class:`~socialcredit.sim.folding.FoldRun`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from socialcredit.errors import InputError
from socialcredit.sim.folding import ConductScenario, FoldRegime, FoldRun
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any, split_overrides
from socialcredit.sim.world import World


def prepare(
    scenario: str | Path,
    regime: str | Path | FoldRegime,
    *,
    population: int,
    seed: int,
    threads: int = 0,
    trace: int = 0,
    start: date | None = None,
    end: date | None = None,
    partitions: int = 0,
    overrides: dict[str, Any] | None = None,
) -> FoldRun:
    """The run of ``scenario`` under ``regime`` (a file, a bundled name, or a regime of
    catalogs already loaded), ready to ``run(out)``; ``threads`` (0: as they are) sets the
    compiled folds' worker threads (the output is the same for any number). ``overrides``:
    path -> value, the scenario's, or under ``regime.`` the regime's (``regime.cameras.coverage``).
    """
    if threads > 0:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    mine, theirs = split_overrides(overrides or {})
    return run_of(load_any(scenario, **mine), regime, theirs, population=population, seed=seed,
                  trace=trace, start=start, end=end, partitions=partitions)  # fmt: skip


def run_of(
    sc: ConductScenario | World,
    regime: str | Path | FoldRegime,
    regime_overrides: dict[str, Any],
    *,
    population: int,
    seed: int,
    trace: int,
    start: date | None,
    end: date | None,
    partitions: int,
) -> FoldRun:
    """The run of a loaded world or scenario under ``regime`` with the regime's overrides
    (:func:`~socialcredit.sim.scenario.split_overrides`); a regime already loaded takes none."""
    if isinstance(regime, FoldRegime):
        if regime_overrides:
            raise InputError("regime", "a regime already loaded takes no overrides")
        rules = regime
    else:
        rules = load_any_regime(regime, **regime_overrides)
    first, last = start or sc.start, end or sc.end
    if last < first:
        raise InputError("end", f"{last} is before the start {first}")
    if isinstance(sc, World):
        # a world's rates are given for its period: outside it nobody would do anything
        for field, day in (("start", first), ("end", last)):
            if not sc.start <= day <= sc.end:
                raise InputError(
                    field, f"{day} is outside the world {sc.name}'s period ({sc.start} to "
                    f"{sc.end}): its conduct is not given there",
                )  # fmt: skip
    return FoldRun(sc, rules, population, seed, trace, first, last, partitions)
