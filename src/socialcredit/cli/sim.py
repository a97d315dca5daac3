"""``socialcredit simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from socialcredit.policy.loader import load
from socialcredit.registry.config import parse_date
from socialcredit.sim.engine import Run
from socialcredit.sim.folding import FoldRegime
from socialcredit.sim.run import prepare

console = Console(highlight=False)


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
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            help="A catalog file to run instead of --regime (repeat for several); the regime is "
            "these catalogs, over a conduct scenario.",
        ),
    ] = None,
) -> None:
    """Run a regime over a synthetic population; metrics to Parquet, totals to summary.json."""
    first = parse_date(start, field="start") if start else None
    last = parse_date(end, field="end") if end else None
    rules: str | FoldRegime = regime
    if catalog:
        name = "+".join(p.stem for p in catalog)
        rules = FoldRegime.of(load(*catalog), name)
    run = prepare(
        scenario, rules, population=population, seed=seed, threads=threads, trace=trace,
        start=first, end=last, partitions=partitions,
    )  # fmt: skip
    if not isinstance(run, Run):
        with console.status(f"simulating {run.scenario.name} / {run.regime.name}"):
            summary = run.run(out)
        console.print(json.dumps(summary["scaled"], indent=2))
        console.print(f"wrote {out}/metrics.parquet, summary.json")
        return
    sc = run.scenario
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
