"""``socialcredit simulate``."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from socialcredit.errors import InputError
from socialcredit.policy.loader import load
from socialcredit.registry.config import parse_date
from socialcredit.sim.folding import FoldRegime
from socialcredit.sim.run import prepare
from socialcredit.sim.scenario import override_path

console = Console(highlight=False)


def simulate_cmd(
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="A conduct scenario: bundled name or TOML path."),
    ] = None,
    world: Annotated[
        str | None,
        typer.Option(
            "--world",
            help="A world every regime runs over (bundled name, e.g. china, or TOML path); "
            "the regime says how it records the world's conduct.",
        ),
    ] = None,
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
            "--partitions",
            min=0,
            help="Region partitions (0: as many as memory needs); any number gives the same "
            "output.",
        ),
    ] = 0,
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            help="A catalog file to run instead of --regime (repeat for several); the regime is "
            "these catalogs, over a conduct scenario.",
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run each partition (--partitions) as a task on the Ray cluster at ADDRESS: "
            "'auto' (the cluster started on this machine with `ray start`), HOST:PORT of its "
            "head, ray://HOST:10001 (Ray Client: needs Ray's client extra here), or 'local' (a "
            "private cluster on this machine for this command). Outputs are written to OUT "
            "here, the same bytes as without --ray. Needs the package's ray extra "
            "(docs/ray.md).",
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change one scenario or world parameter, KEY=VALUE (repeatable). KEY is a "
            "path: due_process.wrong_share, or with a quoted part holding dots, "
            'records_per_year."unified.petition"; the regime\'s under regime. '
            "(regime.cameras.coverage); VALUE is a TOML value (0.5, 2019-07-01, "
            '"text", [1, 2]). Only the value named changes; an unknown KEY is refused.',
        ),
    ] = None,
) -> None:
    """Run a regime over a synthetic population; metrics to Parquet, totals to summary.json."""
    if (scenario is None) == (world is None):
        raise InputError("world", "give a --world or a --scenario (one of the two)")
    if world is not None:
        _require_world(world)
    scenario = world or scenario
    assert scenario is not None
    overrides = parse_sets(sets or [])
    first = parse_date(start, field="start") if start else None
    last = parse_date(end, field="end") if end else None
    if ray is not None:
        _simulate_on_ray(
            ray, out, scenario=scenario, regime=regime, catalogs=tuple(map(str, catalog or ())),
            population=population, seed=seed, threads=threads, trace=trace, start=first,
            end=last, partitions=partitions, overrides=overrides,
        )  # fmt: skip
        return
    rules: str | FoldRegime = regime
    if catalog:
        name = "+".join(p.stem for p in catalog)
        rules = FoldRegime.of(load(*catalog), name)
    run = prepare(
        scenario, rules, population=population, seed=seed, threads=threads, trace=trace,
        start=first, end=last, partitions=partitions, overrides=overrides,
    )  # fmt: skip
    with console.status(f"simulating {run.scenario.name} / {run.regime.name}"):
        summary = run.run(out)
    console.print(json.dumps(summary["scaled"], indent=2))
    console.print(f"wrote {out}/metrics.parquet, summary.json")


def _require_world(ref: str) -> None:
    """``--world`` names a world, not a conduct scenario (which runs one regime's catalogs
    over a population of its own, not the one world every regime shares)."""
    from socialcredit.sim.common import bundled_toml
    from socialcredit.sim.scenario import WORLDS, load_any
    from socialcredit.sim.world import World

    if not isinstance(load_any(ref), World):
        raise InputError(
            "world", f"{ref} is a conduct scenario, not a world: give it as --scenario, or "
            f"a world ({', '.join(bundled_toml(WORLDS))} or a TOML file of kind \"world\")",
        )  # fmt: skip


def _simulate_on_ray(address: str, out: Path, **recipe: Any) -> None:
    """``simulate --ray``: the run's partitions as tasks on a Ray cluster (imported only here)."""
    try:
        from socialcredit.sim import distributed
    except ImportError as exc:
        if exc.name != "ray" and not str(exc.name).startswith("ray."):
            raise
        raise InputError(
            "ray", "Ray is not installed here: pip install 'socialcredit[ray]'"
        ) from None
    distributed.reach(address)
    plan = distributed.Recipe(**recipe)
    with console.status(f"simulating {plan.scenario} / {plan.regime} on Ray at {address}"):
        summary = distributed.simulate(plan, out, address=address)
    console.print(json.dumps(summary["scaled"], indent=2))
    console.print(f"wrote {out}/metrics.parquet, summary.json")


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as overrides (path -> value), the rules of studies'
    overrides (:func:`socialcredit.sim.scenario.merge_overrides`). VALUE is read as a TOML
    value; a bare word that is not one is taken as text."""
    out: dict[str, Any] = {}
    for item in items:
        at = _equals(item)
        if at <= 0:
            raise InputError("set", f"expected KEY=VALUE, got {item!r}")
        key, text = item[:at].strip(), item[at + 1 :].strip()
        override_path(key)  # a malformed key is refused here, by name
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", text):
                raise InputError(f"scenario.{key}", f"{text!r} is not a TOML value") from None
            value = text
        out[key] = value
    return out


def _equals(item: str) -> int:
    """Index of the ``=`` that ends the key (an ``=`` inside a quoted part does not)."""
    quote = ""
    for i, ch in enumerate(item):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return i
    return -1


scenarios_app = typer.Typer(help="The bundled scenarios (worlds).", no_args_is_help=True)
regimes_app = typer.Typer(help="The bundled regimes (rules).", no_args_is_help=True)


@scenarios_app.command("list")
def scenarios_list() -> None:
    """Every bundled scenario: its period, the population it stands for, and description."""
    from socialcredit.sim.scenario import bundled_names, load_any

    for name in bundled_names():
        sc = load_any(name)
        people = f", stands for {sc.represented:,} people"
        console.print(f"[bold]{name}[/]: {sc.start} to {sc.end}{people}", soft_wrap=True)
        if sc.description:
            console.print(f"    {escape(sc.description)}", soft_wrap=True)
        for source in sc.sources:
            console.print(f"    source: {escape(source)}", soft_wrap=True)


@regimes_app.command("list")
def regimes_list() -> None:
    """Every bundled regime: its catalogs, whether the registry's checker refuses them
    (such regimes run only in the simulator, over synthetic people), and description."""
    from socialcredit.policy.loader import bundled
    from socialcredit.sim.regime import bundled_names, load_any_regime

    synthetic = {b.id for b in bundled() if b.synthetic}
    for name in bundled_names():
        regime = load_any_regime(name)
        catalogs = ", ".join(regime.spec.catalogs)
        refused = set(regime.spec.catalogs) & synthetic
        mark = "; refused by the checker (simulator only)" if refused else ""
        console.print(f"[bold]{name}[/]: catalogs {catalogs}{mark}", soft_wrap=True)
        if regime.spec.description:
            console.print(f"    {escape(regime.spec.description)}", soft_wrap=True)
