"""The Python API: load a world and regimes, run a simulation or a study, get Arrow tables.

Everything here is re-exported from :mod:`socialcredit` (``socialcredit.__all__`` is the public
surface); docs/python-api.md walks through it. The functions are the command line's
(``socialcredit simulate``, ``socialcredit study run``) with the same defaults, the same checks
and the same errors: bad input raises :class:`~socialcredit.errors.InputError` naming the field.

Importing this module is cheap: the simulator (NumPy, Numba, PyArrow) is imported by the first
call that needs it, never by ``import socialcredit``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from socialcredit.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

    from socialcredit.sim.folding import ConductScenario, FoldRegime, FoldRun
    from socialcredit.sim.world import World
    from socialcredit.study.spec import Study

KINDS = ("worlds", "scenarios", "regimes", "studies")


# --------------------------------------------------------------------------------------------
# Loading


def bundled(kind: str) -> list[str]:
    """The names of the bundled ``kind``: ``"worlds"``, ``"scenarios"`` (conduct scenarios),
    ``"regimes"`` or ``"studies"``; any of them loads by name."""
    from socialcredit.sim.common import bundled_toml

    if kind == "worlds":
        from socialcredit.sim.scenario import WORLDS

        return bundled_toml(WORLDS)
    if kind == "scenarios":
        from socialcredit.sim.scenario import bundled_names

        return bundled_names()
    if kind == "regimes":
        from socialcredit.sim.regime import bundled_names as regime_names

        return regime_names()
    if kind == "studies":
        from socialcredit.study.spec import bundled_names as study_names

        return study_names()
    raise InputError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")


def load_world(world: str | Path = "china", *, overrides: Mapping[str, Any] | None = None) -> World:
    """A world (bundled name or TOML path): the synthetic society and its conduct, which every
    regime observes in its own way. ``overrides`` change single values by path, as
    ``socialcredit simulate --set`` does: ``{"due_process.wrong_share": 0.05}``; a part holding
    dots is quoted (``'processes."x.y".rate'``), a name the world lacks is refused."""
    from socialcredit.sim.world import World

    loaded = _load(world, "world", overrides)
    assert isinstance(loaded, World)  # _load refuses the other kind
    return loaded


def load_scenario(
    scenario: str | Path, *, overrides: Mapping[str, Any] | None = None
) -> ConductScenario:
    """A conduct scenario (bundled name, e.g. ``"national-2013"``, or TOML path): rates of
    records by type, for one regime's catalogs. ``overrides`` as in :func:`load_world`."""
    from socialcredit.sim.folding import ConductScenario

    loaded = _load(scenario, "scenario", overrides)
    assert isinstance(loaded, ConductScenario)  # _load refuses the other kind
    return loaded


def load_regime(regime: str | Path) -> FoldRegime:
    """A regime (bundled name, e.g. ``"law-bound"``, or TOML path): its catalogs, compiled, and
    how it records a world's conduct (``regime.spec``). A catalog feature the simulator cannot
    run is refused by name."""
    from socialcredit.sim.regime import load_any_regime

    _check_ref(regime, "regime")
    return load_any_regime(regime)


def load_study(
    study: str | Path | Mapping[str, Any],
    *,
    population: int | None = None,
    seeds: Sequence[int] | None = None,
) -> Study:
    """A study: a bundled name (``"demo"``), a study TOML path, or the same content as a
    mapping. ``population`` and ``seeds`` replace the study's own (to try a study small before
    running it at size; a run that names its own population keeps it); the result is validated
    as a study file is."""
    from socialcredit.sim.common import validated
    from socialcredit.study.spec import Study

    if isinstance(study, Mapping):
        spec = validated(Study, study, source="the study given", field="study")
    else:
        spec = _load_study_text(study)[0]
    return _resized(spec, population, seeds)


# --------------------------------------------------------------------------------------------
# One simulation


@dataclass(frozen=True, repr=False)
class Simulation:
    """What :func:`simulate` returns: the run's metrics as Arrow tables, and its summary.

    ``metrics``: a row per day, national; ``by_region``: a row per day and province (``region``,
    ``region_code``), whose sum over provinces is ``metrics``; the columns are described in
    docs/python-api.md. ``summary``: what ``summary.json`` holds (``totals`` over the period,
    ``scaled`` to the population the world stands for, ``scale``, ...). ``traced``: the traced
    agents' records and state (with ``trace=K``). ``out``: the folder written, if one was given.
    For Polars: ``polars.from_arrow(sim.metrics)``."""

    metrics: pa.Table
    by_region: pa.Table
    summary: dict[str, Any]
    traced: list[dict[str, Any]] = field(default_factory=list)
    out: Path | None = None

    @property
    def totals(self) -> dict[str, int]:
        """Each metric over the period, among the simulated agents (a stock: its last day)."""
        totals: dict[str, int] = self.summary["totals"]
        return totals

    @property
    def scaled(self) -> dict[str, int]:
        """:attr:`totals` scaled to the population the world stands for."""
        scaled: dict[str, int] = self.summary["scaled"]
        return scaled

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"Simulation({s['scenario']} / {s['regime']}, seed {s['seed']}, "
            f"{s['population']:,} agents, {s['start']} to {s['end']}: "
            f"{self.metrics.num_rows} days x {self.metrics.num_columns - 1} metrics)"
        )


def simulate(
    world: str | Path | World | None = None,
    regime: str | Path | FoldRegime = "law-bound",
    *,
    scenario: str | Path | ConductScenario | None = None,
    population: int = 1_000_000,
    seed: int = 1,
    start: date | str | None = None,
    end: date | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    threads: int = 1,
    partitions: int = 0,
    trace: int = 0,
    out: str | Path | None = None,
) -> Simulation:
    """Run ``regime`` over ``world`` (or over a conduct ``scenario``: give one of the two), as
    ``socialcredit simulate`` does, and return its metrics.

    ``world``, ``scenario`` and ``regime`` are bundled names, TOML paths, or what
    :func:`load_world`, :func:`load_scenario` and :func:`load_regime` return. ``population``
    agents (persons; organisations come on top) stand for the world's population; the same
    ``seed`` gives the same people doing the same things under every regime. ``start`` and
    ``end`` (dates or ``"YYYY-MM-DD"``) default to the world's period. ``overrides`` change
    single values of the world, as ``--set`` does (see :func:`load_world`), and of the regime
    under ``regime.`` (``{"regime.cameras.misattribution": 0.05}``). ``threads`` and
    ``partitions`` change how it runs, never the output. ``trace=K`` keeps K agents' records.
    ``out``: a folder to write ``metrics.parquet``, ``metrics_by_region.parquet`` and
    ``summary.json`` into, as the command line does; without it they go to a temporary folder
    that is removed once read."""
    where = world if world is not None else scenario
    if where is None or (world is not None and scenario is not None):
        raise InputError("world", "give a world or a scenario (one of the two)")
    _whole("population", population, least=1)
    _whole("seed", seed, least=0)
    _whole("threads", threads, least=1)
    _whole("partitions", partitions, least=0)
    _whole("trace", trace, least=0)
    first, last = _day(start, "start"), _day(end, "end")
    changes = _overrides(overrides)
    run = _prepare(
        where,
        "world" if world is not None else "scenario",
        regime,
        population=population, seed=seed, threads=threads, trace=trace, start=first,
        end=last, partitions=partitions, overrides=changes,
    )  # fmt: skip
    if out is not None:
        folder = Path(out)
        return _simulation(run, folder, run.run(folder), keep=True)
    with tempfile.TemporaryDirectory(prefix="socialcredit-sim-") as tmp:
        return _simulation(run, Path(tmp), run.run(Path(tmp)), keep=False)


# --------------------------------------------------------------------------------------------
# Studies


@dataclass(frozen=True, repr=False)
class StudyResults:
    """What :func:`run_study` and :func:`read_study` return. ``results``: one row per
    simulation (``run``, ``point``, ``seed``, then each total raw as ``t_<metric>`` and scaled
    to the world's population as ``s_<metric>``); ``study``: the study as run; ``out``: its
    folder (each simulation's own metrics are under ``runs/<run>/<point>/seed-<s>/``) or
    ``None`` if it ran in a temporary one; ``report``: the HTML report, if rendered."""

    study: Study
    results: pa.Table
    out: Path | None = None
    report: Path | None = None

    def __repr__(self) -> str:
        return (
            f"StudyResults({self.study.name}: {self.results.num_rows} simulations, "
            f"out={str(self.out) if self.out else None})"
        )


def run_study(
    study: str | Path | Mapping[str, Any] | Study,
    out: str | Path | None = None,
    *,
    refuse_changed: bool = False,
    report: bool = False,
    ray: str | None = None,
) -> StudyResults:
    """Run every (run, sweep point, seed) of ``study`` (what :func:`load_study` takes, or what it
    returns) not yet run in ``out`` with these exact inputs, as ``socialcredit study run`` does,
    and return the result rows. Every run's world and regime are loaded before anything runs.

    ``out``: the study's folder (results there are reused when their inputs are unchanged;
    ``refuse_changed`` stops instead of rerunning results made from other inputs); without it a
    temporary folder, removed once read. ``report``: render ``out/report.html`` (needs ``out``).
    ``ray``: run each simulation on the Ray cluster at that address (docs/ray.md)."""
    from socialcredit.study import runner
    from socialcredit.study.spec import Study

    if report and out is None:
        raise InputError("report", "the report is written into the study's folder: give out")
    source: str | None = None
    if isinstance(study, Study):
        spec = study
    elif isinstance(study, Mapping):
        spec = load_study(study)
    else:
        spec, source = _load_study_text(study)
    on_change: Literal["rerun", "refuse"] = "refuse" if refuse_changed else "rerun"
    if out is None:
        with tempfile.TemporaryDirectory(prefix="socialcredit-study-") as tmp:
            runner.run_study(spec, Path(tmp), source=source, on_change=on_change, ray=ray)
            return StudyResults(spec, runner.read_results(Path(tmp)))
    folder = Path(out)
    runner.run_study(spec, folder, source=source, on_change=on_change, ray=ray)
    page = _render(folder) if report else None
    return StudyResults(spec, runner.read_results(folder), folder, page)


def read_study(out: str | Path) -> StudyResults:
    """The results of the study run in ``out`` (by :func:`run_study` or ``socialcredit study
    run``), each checked against the inputs it was run with: a missing or stale result is an
    error."""
    from socialcredit.study import runner
    from socialcredit.study.spec import Study

    folder = Path(out)
    results = runner.read_results(folder)
    spec = Study.model_validate_json((folder / "study.json").read_text())
    page = folder / "report.html"
    return StudyResults(spec, results, folder, page if page.exists() else None)


# --------------------------------------------------------------------------------------------
# Helpers


def _check_ref(ref: object, what: str) -> None:
    if not isinstance(ref, str | Path):
        raise InputError(what, f"expected a bundled name or a TOML path, got {type(ref).__name__}")


def _load(
    ref: str | Path, what: str, overrides: Mapping[str, Any] | None
) -> World | ConductScenario:
    """A world or a conduct scenario by name or path, refused if it is of the other kind."""
    from socialcredit.sim.scenario import load_any

    _check_ref(ref, what)
    try:
        loaded = load_any(ref, **_overrides(overrides))
    except InputError as exc:
        if exc.field != "scenario" or what == "scenario":
            raise
        raise InputError(what, exc.message) from None
    _kind(loaded, ref, what)
    return loaded


def _kind(loaded: object, ref: object, what: str) -> None:
    """Refuse a conduct scenario given as a world, or a world given as a scenario."""
    from socialcredit.sim.world import World

    if what == "world" and not isinstance(loaded, World):
        raise InputError("world", f"{ref!s} is a conduct scenario, not a world: give scenario=")
    if what == "scenario" and isinstance(loaded, World):
        raise InputError("scenario", f"{ref!s} is a world, not a conduct scenario: give world=")


def _prepare(
    where: str | Path | World | ConductScenario,
    what: str,
    regime: str | Path | FoldRegime,
    *,
    population: int,
    seed: int,
    threads: int,
    trace: int,
    start: date | None,
    end: date | None,
    partitions: int,
    overrides: dict[str, Any],
) -> FoldRun:
    """The run, through :func:`socialcredit.sim.run.prepare` (the command line's path) when
    the world is named; a world already loaded gets the same checks here."""
    from socialcredit.sim.folding import FoldRegime
    from socialcredit.sim.run import prepare, run_of
    from socialcredit.sim.scenario import split_overrides

    if not isinstance(regime, FoldRegime):
        _check_ref(regime, "regime")
    mine, theirs = split_overrides(overrides)  # the world's or scenario's, the regime's
    if isinstance(where, str | Path):
        _load(where, what, mine)  # the kind, and a named world's errors on its own field
        return prepare(
            where, regime, population=population, seed=seed, threads=threads, trace=trace,
            start=start, end=end, partitions=partitions, overrides=overrides,
        )  # fmt: skip
    sc = _changed(where, what, mine)
    run = run_of(sc, regime, theirs, population=population, seed=seed, trace=trace,
                 start=start, end=end, partitions=partitions)  # fmt: skip
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    return run


def _changed(
    loaded: World | ConductScenario, what: str, overrides: dict[str, Any]
) -> World | ConductScenario:
    """A loaded world or scenario with ``overrides`` applied, validated again."""
    from socialcredit.sim.common import validated
    from socialcredit.sim.folding import ConductScenario
    from socialcredit.sim.scenario import merge_overrides
    from socialcredit.sim.world import World

    if not isinstance(loaded, World | ConductScenario):
        raise InputError(what, f"expected a bundled name, a TOML path or a loaded {what}")
    _kind(loaded, loaded.name, what)
    if not overrides:
        return loaded
    raw = loaded.model_dump()
    model = type(loaded)
    merge_overrides(raw, overrides, model)
    field_name = "world" if model is World else "scenario"
    return validated(model, raw, source=loaded.name, field=field_name)


def _simulation(run: FoldRun, folder: Path, summary: dict[str, Any], *, keep: bool) -> Simulation:
    import pyarrow.parquet as pq

    return Simulation(
        metrics=pq.read_table(folder / "metrics.parquet"),
        by_region=pq.read_table(folder / "metrics_by_region.parquet"),
        summary=summary,
        traced=run.trace() if run.trace_k else [],
        out=folder if keep else None,
    )


def _whole(name: str, value: object, *, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(name, f"expected a whole number, got {value!r}")
    if value < least:
        raise InputError(name, f"must be at least {least}, got {value}")


def _day(value: date | str | None, name: str) -> date | None:
    """A day as the command line reads ``--start``/``--end`` (ISO text, within the registry's
    dates); a ``date`` passes the same check."""
    from socialcredit.registry.config import parse_date

    if value is None:
        return None
    if isinstance(value, date):  # a datetime is a date too: its day
        value = date(value.year, value.month, value.day).isoformat()
    if not isinstance(value, str):
        raise InputError(name, f"expected a date or 'YYYY-MM-DD', got {value!r}")
    return parse_date(value, field=name)


def _overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """``overrides`` as ``--set`` gives them (path -> value); a malformed path is refused by
    name."""
    from socialcredit.sim.scenario import override_path

    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise InputError("overrides", f"expected a mapping of path -> value, got {overrides!r}")
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str) or not key:
            raise InputError(
                "overrides", f"a key is a path such as due_process.wrong_share: {key!r}"
            )
        override_path(key)
        out[key] = value
    return out


def _load_study_text(ref: str | Path) -> tuple[Study, str]:
    from socialcredit.study.spec import load_study_text

    _check_ref(ref, "study")
    return load_study_text(ref)


def _resized(spec: Study, population: int | None, seeds: Sequence[int] | None) -> Study:
    from socialcredit.sim.common import validated
    from socialcredit.study.spec import Study

    if population is None and seeds is None:
        return spec
    raw = spec.model_dump()
    if population is not None:
        _whole("population", population, least=1)
        raw["population"] = population
    if seeds is not None:
        if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence):
            raise InputError("seeds", f"expected a list of seeds, got {seeds!r}")
        raw["seeds"] = list(seeds)
    return validated(Study, raw, source=spec.name, field="study")


def _render(folder: Path) -> Path:
    from socialcredit.study.report import render

    return render(folder)
