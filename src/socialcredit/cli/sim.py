"""``socialcredit simulate``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from socialcredit.errors import InputError
from socialcredit.registry.config import parse_date
from socialcredit.sim.engine import Run
from socialcredit.sim.licence import LicenceRegime, LicenceRun, LicenceScenario
from socialcredit.sim.points import PointsRegime, PointsRun, PointsScenario
from socialcredit.sim.regime import Regime, load_any_regime
from socialcredit.sim.scenario import Scenario, load_any
from socialcredit.sim.weighted import WeightedRegime, WeightedRun, WeightedScenario

console = Console(highlight=False)

# engines for one city or a score regime: (scenario kind, regime kind, engine)
_SMALL_ENGINES: tuple[tuple[type, type, Callable[..., Any]], ...] = (
    (LicenceScenario, LicenceRegime, LicenceRun),
    (PointsScenario, PointsRegime, PointsRun),
    (WeightedScenario, WeightedRegime, WeightedRun),
)


def simulate_cmd(
    scenario: Annotated[str, typer.Option("--scenario", help="Bundled name or TOML path.")],
    regime: Annotated[
        str, typer.Option("--regime", help="Bundled name or TOML path.")
    ] = "law-bound",
    population: Annotated[int, typer.Option("--population", min=1, help="Agents.")] = 1_000_000,
    start: Annotated[
        str | None, typer.Option("--start", help="First day (default: scenario).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day (default: scenario).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 1,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Worker threads.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/sim"),
    trace: Annotated[
        int, typer.Option("--trace", min=0, help="Agents whose events are logged.")
    ] = 0,
    partitions: Annotated[
        int,
        typer.Option(
            "--partitions", min=1, help="Region partitions, stepped in lockstep (same output)."
        ),
    ] = 1,
) -> None:
    """Run a regime over a synthetic population; metrics to Parquet, totals to summary.json."""
    sc = load_any(scenario)
    first = parse_date(start, field="start", default=sc.start)
    last = parse_date(end, field="end", default=sc.end)
    if last < first:
        raise InputError("end", f"{last} is before the start {first}")
    rules = load_any_regime(regime)
    for scenario_kind, regime_kind, engine in _SMALL_ENGINES:
        if isinstance(sc, scenario_kind) or isinstance(rules, regime_kind):
            if not (isinstance(sc, scenario_kind) and isinstance(rules, regime_kind)):
                raise InputError("regime", f"{rules.name} and {sc.name} are not of the same kind")
            with console.status(f"simulating {sc.name} / {rules.name}"):
                summary = engine(sc, rules, population, seed, trace, first, last).run(out)
            console.print(json.dumps(summary["scaled"], indent=2))
            console.print(f"wrote {out}/metrics.parquet, summary.json")
            return
    if not (isinstance(sc, Scenario) and isinstance(rules, Regime)):  # pragma: no cover
        raise InputError("regime", f"{rules.name} and {sc.name} are not of the same kind")
    run = Run(sc, rules, population, seed, threads, trace, first, last, partitions)
    columns = (
        TextColumn("simulating {task.fields[what]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("days", total=run.days, what=f"{sc.name} / {run.regime.name}")
        summary = run.run(out, progress=lambda n: bar.advance(task, n))
    console.print(json.dumps(summary["scaled"], indent=2))
    console.print(f"wrote {out}/metrics.parquet, metrics_by_region.parquet, summary.json")
