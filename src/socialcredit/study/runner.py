"""``socialcredit study run``: every (run, sweep point, seed) of a study, one after another,
or each as a task on a Ray cluster (``--ray``, :mod:`socialcredit.study.ray_runner`).

Layout of ``DIR``::

    study.json                         the study as run (the portal lists it)
    study.toml                         the study file as written, when run from one
    resolved.json                      what determines each simulation: the resolved scenario
                                       (overrides applied), the regime and its catalogs' content
                                       hash, population, period, seed, code version
    runs/<run>/<point>/seed-<s>/       the engine's outputs (metrics.parquet, summary.json, ...)
                                       and inputs.json (that simulation's part of resolved.json)
    results/<run>__<point>__seed-<s>.parquet
                                       one row per simulation: totals raw (t_*) and scaled (s_*)

Results stream to disk as each simulation ends (nothing is held for the whole study), and a
simulation is written to a temporary folder (``seed-<s>.partial``) and renamed into place when
complete, so an interrupted study resumes where it stopped. On Ray the driver writes them, with
the same code (:func:`begin`, :func:`finish`), from what each task sends back.

A finished simulation is reused only if everything that determines it is unchanged: the
resolved scenario, the regime file and the content hash of its catalogs, the population, the
period, the seed and the code of the simulator (the package version and a hash of the sources of
``sim``, ``rules``, ``policy``, ``daycount`` and ``identifiers``). Anything else is run again, and
:class:`Plan` names what changed; with ``on_change="refuse"`` nothing runs and the error names
it. Results of simulations the study no longer has (a seed or a run removed) are deleted, so a
report never mixes them in. Threads are not part of the key: the engines give the same bytes for
any number of threads (tested in ``tests/sim``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.errors import InputError
from socialcredit.rules import compile_catalog
from socialcredit.sim.folding import BASE_METRICS
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.run import prepare
from socialcredit.sim.scenario import load_any, override_path, quote_path, split_overrides
from socialcredit.study.spec import Study, StudyRun

CODE_PACKAGES = ("socialcredit.sim", "socialcredit.rules", "socialcredit.policy")
CODE_MODULES = ("daycount.py", "identifiers.py")


@dataclass(frozen=True)
class Task:
    run: StudyRun
    point: dict[str, Any]
    seed: int

    @property
    def point_id(self) -> str:
        return point_id(self.point)

    @property
    def key(self) -> str:
        return f"{self.run.name}__{self.point_id}__seed-{self.seed}"

    @property
    def folder(self) -> Path:
        return Path("runs") / self.run.name / self.point_id / f"seed-{self.seed}"


def point_id(point: dict[str, Any]) -> str:
    """A point's folder name: readable, and unique by a hash of the point."""
    if not point:
        return "base"
    text = json.dumps(point, sort_keys=True, default=str)
    readable = "_".join(f"{override_path(k)[-1]}={v}" for k, v in sorted(point.items()))
    readable = re.sub(r"[^A-Za-z0-9_.=-]", "-", readable)
    return f"{readable[:60]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def tasks(study: Study) -> list[Task]:
    return [
        Task(run, point, seed)
        for run in study.runs
        for point in points(study, run)
        for seed in study.seeds
    ]


def points(study: Study, run: StudyRun) -> list[dict[str, Any]]:
    """``run``'s points: the base, the sweep's grid (:meth:`Study.points`), then for the
    sensitivity's run each parameter times each factor, one at a time (its base value read
    from the run's scenario; a point the grid has already is not run twice)."""
    found = {json.dumps(p, sort_keys=True): p for p in study.points(run)}
    sens = study.sensitivity
    if sens is not None and sens.run == run.name:
        for key, value in sensitivity_bases(study).items():
            for factor in sens.factors:
                moved = value * factor
                point = {key: round(moved) if isinstance(value, int) else float(f"{moved:.12g}")}
                found.setdefault(json.dumps(point, sort_keys=True), point)
    return list(found.values())


def sensitivity_bases(study: Study) -> dict[str, int | float]:
    """Each sensitivity parameter's value in its run's scenario (overrides applied)."""
    sens = study.sensitivity
    if sens is None:
        return {}
    run = next(r for r in study.runs if r.name == sens.run)
    scenario = load_any(run.scenario, **split_overrides(run.overrides)[0]).model_dump(mode="json")
    out = {}
    for key in sens.parameters:
        value: Any = scenario
        for part in override_path(key):
            if not isinstance(value, dict) or part not in value:
                raise InputError(
                    f"sensitivity.parameters.{key}", f"not a parameter of scenario {run.scenario}"
                )
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"sensitivity.parameters.{key}", f"is {value!r}, not a number")
        out[key] = value
    return out


def check(study: Study) -> None:
    """Load every run's scenario and regime (with each sweep point) before anything runs, so a
    typo fails at once and names the field."""
    for task in tasks(study)[:: len(study.seeds)]:
        _engine(study, task, population=1_000)


def _engine(study: Study, task: Task, *, population: int | None = None) -> Any:
    run = task.run
    return prepare(
        run.scenario,
        run.regime,
        population=population or run.population or study.population,
        seed=task.seed,
        threads=study.threads,
        start=_period(study, task)[0],
        end=run.end,
        overrides=_overrides(task),
    )


def _period(study: Study, task: Task) -> tuple[date | None, date | None]:
    """The day the simulation starts (a warm-up before the run's start) and the day counting
    starts; ``(run.start, None)`` without a warm-up."""
    days = study.warmup(task.run)
    if not days:
        return task.run.start, None
    counted = task.run.start or load_any(task.run.scenario, **_scenario_overrides(task)).start
    return counted - timedelta(days=days), counted


def _overrides(task: Task) -> dict[str, Any]:
    return {**task.run.overrides, **task.point}


def _scenario_overrides(task: Task) -> dict[str, Any]:
    return split_overrides(_overrides(task))[0]


# --------------------------------------------------------------------------------------------
# What determines a simulation


@cache
def code_version() -> dict[str, str]:
    """The package's version and a hash of the simulator's sources (what a run's numbers
    depend on besides its inputs)."""
    digest = hashlib.sha256()
    root = resources.files("socialcredit")
    files: list[Any] = [root.joinpath(name) for name in CODE_MODULES]
    for package in CODE_PACKAGES:
        files += _py_files(resources.files(package))
    for f in sorted(files, key=str):
        digest.update(str(f).rsplit("socialcredit", 1)[-1].encode())
        digest.update(f.read_bytes())
    try:
        version = metadata.version("socialcredit")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed here
        version = "unknown"
    return {"version": version, "source": digest.hexdigest()}


def _py_files(folder: Any) -> Iterable[Any]:
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _py_files(entry)
        elif entry.name.endswith(".py"):
            yield entry


def resolve(
    study: Study,
    run: StudyRun,
    point: dict[str, Any],
    regimes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything but the seed that determines a (run, point)'s simulations, as plain data:
    the scenario with every override applied, the regime file, the content hash of its
    catalogs, population, period and the code version. ``regimes`` keeps each regime's part
    between calls (one load per regime, however many points)."""
    task = Task(run, point, 0)
    mine, theirs = split_overrides(_overrides(task))
    sc = load_any(run.scenario, **mine)
    known = regimes if regimes is not None else {}
    key = json.dumps([run.regime, theirs], sort_keys=True, default=str)
    if key not in known:
        regime = load_any_regime(run.regime, **theirs)
        book = getattr(regime, "book", None) or compile_catalog(regime.loaded)
        known[key] = {
            "regime": regime.spec.model_dump(mode="json"),
            "catalogs": {"ids": regime.loaded.id, "content_sha256": book.digest},
        }
    return {
        "run": run.name,
        "scenario": sc.model_dump(mode="json"),
        "overrides": json.loads(json.dumps(_overrides(task), default=str)),  # dates as text
        **known[key],
        "population": run.population or study.population,
        "start": (run.start or sc.start).isoformat(),
        "warmup_days": study.warmup(run),
        "end": (run.end or sc.end).isoformat(),
        "code": code_version(),
    }


def fingerprint(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def changes(before: Any, after: Any, path: tuple[str, ...] = (), limit: int = 8) -> list[str]:
    """What differs between two ``inputs.json``, one line per value (at most ``limit``)."""
    out: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            if len(out) >= limit:
                break
            if key not in before:
                out.append(f"{quote_path([*path, str(key)])}: added {_short(after[key])}")
            elif key not in after:
                out.append(f"{quote_path([*path, str(key)])}: removed")
            else:
                out += changes(before[key], after[key], (*path, str(key)), limit - len(out))
        return out[:limit]
    if before != after:
        out.append(f"{quote_path(path) or '(all)'}: {_short(before)} -> {_short(after)}")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Plan:
    """What ``run_study`` will do: simulations to run (new or changed, with what changed),
    those reused, and results of simulations the study no longer has."""

    todo: list[Task] = field(default_factory=list)
    reused: list[Task] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    """task key -> what changed since its results were written."""
    obsolete: list[str] = field(default_factory=list)
    """result keys of simulations not in the study any more."""
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """task key -> its inputs (what ``inputs.json`` holds)."""

    def describe(self) -> list[str]:
        lines = [f"{len(self.reused)} simulation(s) reused, {len(self.todo)} to run"]
        for key, what in self.changed.items():
            lines.append(f"re-running {key}: " + "; ".join(what))
        if self.obsolete:
            lines.append(
                f"removed {len(self.obsolete)} result(s) no longer in the study: "
                + ", ".join(self.obsolete[:5])
                + (" ..." if len(self.obsolete) > 5 else "")
            )
        return lines


def plan(study: Study, out: Path) -> Plan:
    """Compare the study with what ``out`` holds (reads only)."""
    p = Plan()
    resolved: dict[tuple[str, str], dict[str, Any]] = {}
    regimes: dict[str, dict[str, Any]] = {}
    for task in tasks(study):
        at = (task.run.name, task.point_id)
        if at not in resolved:
            resolved[at] = resolve(study, task.run, task.point, regimes)
        inputs = {**resolved[at], "seed": task.seed}
        p.inputs[task.key] = inputs
        final = out / task.folder
        done = (final / "summary.json").exists() and (
            out / "results" / f"{task.key}.parquet"
        ).exists()
        before = _read_json(final / "inputs.json") if done else None
        if done and before == inputs:
            p.reused.append(task)
            continue
        p.todo.append(task)
        if done:
            p.changed[task.key] = (
                changes(before, inputs)
                if before is not None
                else ["no record of its inputs (written by an earlier version)"]
            )
    keys = set(p.inputs)
    results = out / "results"
    if results.is_dir():
        p.obsolete = sorted(f.stem for f in results.glob("*.parquet") if f.stem not in keys)
    return p


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_study(
    study: Study,
    out: Path,
    *,
    progress: Callable[[Task, int, int], None] | None = None,
    on_change: Literal["rerun", "refuse"] = "rerun",
    source: str | None = None,
    report: Callable[[str], None] | None = None,
    ray: str | None = None,
) -> list[Path]:
    """Run every simulation whose results are missing or were made from other inputs; returns
    the result files. ``on_change="refuse"``: if any finished simulation's inputs changed (or
    results of simulations no longer in the study are present), raise and change nothing.
    ``source``: the study file's text, kept as ``study.toml``. ``report`` receives one line per
    thing the plan does (what is reused, what re-runs and why).

    ``ray``: the address of a Ray cluster (``auto``, ``host:port``, ``ray://host:10001``, or
    ``local`` for a private one on this machine); each simulation to run becomes a Ray task
    (:mod:`socialcredit.study.ray_runner`), and what it returns is written here exactly as a
    local run writes it. Without it Ray is not imported. ``progress(task, n, total)`` is called
    as the ``n``-th simulation is reached: locally before it runs; on Ray as each finishes (so
    ``n - 1`` are done)."""
    if ray is not None:
        try:  # imported only here: Ray is an extra
            from socialcredit.study import ray_runner
        except ImportError as exc:
            if exc.name != "ray" and not str(exc.name).startswith("ray."):
                raise
            raise InputError(
                "ray", "Ray is not installed here: pip install 'socialcredit[ray]'"
            ) from None
        ray_runner.reach(ray)
    check(study)
    held = _read_json(out / "study.json")
    if isinstance(held, dict) and held.get("name") not in (None, study.name):
        raise InputError(
            "out", f"{out} holds the study {held['name']!r}, not {study.name!r}: use another folder"
        )
    p = plan(study, out)
    if on_change == "refuse" and (p.changed or p.obsolete):
        what = [f"{k}: {'; '.join(v)}" for k, v in list(p.changed.items())[:5]]
        what += [f"{k}: no longer in the study" for k in p.obsolete[:5]]
        raise InputError("study", f"{out} holds results from other inputs: " + " | ".join(what))
    if report is not None:
        for line in p.describe():
            report(line)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results"
    results.mkdir(exist_ok=True)
    for key in p.obsolete:
        stale = results / f"{key}.parquet"
        try:
            row = pq.read_table(stale).slice(0, 1).to_pylist()[0]
            folder = Path(row["run"]) / point_id(json.loads(row["point"])) / f"seed-{row['seed']}"
            shutil.rmtree(out / "runs" / folder, ignore_errors=True)
        except (OSError, ValueError, KeyError, IndexError, pa.ArrowException):
            pass  # an unreadable result: its file goes, its folder (if any) stays unread
        stale.unlink(missing_ok=True)
    _write_text(out / "study.json", study.model_dump_json(indent=2) + "\n")
    if source is not None:
        _write_text(out / "study.toml", source)
    resolved = {
        "study": study.model_dump(mode="json"),
        "code": code_version(),
        "simulations": {
            key: {"inputs_sha256": fingerprint(inputs), **inputs}
            for key, inputs in p.inputs.items()
        },
    }
    _write_text(out / "resolved.json", json.dumps(resolved, indent=1, sort_keys=True) + "\n")
    todo = {t.key for t in p.todo}
    every = tasks(study)
    if ray is not None:
        ray_runner.run_tasks(
            study, out, [t for t in every if t.key in todo], p.inputs, address=ray,
            progress=progress, done=len(every) - len(todo), total=len(every),
        )  # fmt: skip
        return [results / f"{task.key}.parquet" for task in every]
    written: list[Path] = []
    for n, task in enumerate(every, start=1):
        if progress is not None:
            progress(task, n, len(every))
        row_file = results / f"{task.key}.parquet"
        if task.key in todo:
            staging = begin(out, task)
            engine = _engine(study, task)
            summary = engine.run(staging)
            finish(out, study, task, p.inputs[task.key], summary)
        written.append(row_file)
    return written


def begin(out: Path, task: Task) -> Path:
    """Clear what an earlier attempt at ``task`` left (its result row, a half-written
    staging folder) and return the empty staging folder its outputs go to."""
    (out / "results" / f"{task.key}.parquet").unlink(missing_ok=True)
    final = out / task.folder
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def finish(
    out: Path, study: Study, task: Task, inputs: dict[str, Any], summary: dict[str, Any]
) -> Path:
    """``task``'s outputs are complete in its staging folder: add ``inputs.json``, rename the
    folder into place, and write the result row (the row last: a row means a finished run)."""
    final = out / task.folder
    staging = final.with_name(final.name + ".partial")
    (staging / "inputs.json").write_text(json.dumps(inputs, indent=1, sort_keys=True))
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    counted = _period(study, task)[1]
    if counted is not None:
        summary = _counted_from(summary, final / "metrics.parquet", counted)
        if summary.get("cities"):
            table = pq.read_table(final / "metrics_by_city.parquet")
            summary["cities"] = {
                city: {**v, "totals": _counted_totals(
                    v["totals"], table.filter(pc.equal(table["city"], city)), counted)}
                for city, v in summary["cities"].items()
            }  # fmt: skip
    row_file = out / "results" / f"{task.key}.parquet"
    _write_row(row_file, task, summary, fingerprint(inputs))
    return row_file


def _counted_totals(totals: dict[str, int], table: pa.Table, counted: date) -> dict[str, int]:
    """``totals`` with the flows among them summed again from ``counted`` on (``table``: their
    daily columns, a row per day); see :func:`_counted_from`."""
    days = table.column("date").to_pylist()
    first = next((i for i, d in enumerate(days) if d >= counted), len(days))
    out = dict(totals)
    for name, value in totals.items():
        if name not in table.column_names:
            continue
        column = table.column(name).to_numpy()
        if int(column.sum()) == value:
            out[name] = int(column[first:].sum())
    return out


def _counted_from(summary: dict[str, Any], metrics: Path, counted: date) -> dict[str, Any]:
    """``summary`` with its flows counted from ``counted`` (after a warm-up): a total that is
    the sum of its daily column is a flow, summed again over the counted days; anything else
    (stocks, read on the last day, and figures derived from them) is kept. For columns that
    are never negative the rule cannot mistake one for the other where it matters: a stock
    equal to its column's sum is zero before its last day, where both sums agree."""
    totals = _counted_totals(summary["totals"], pq.read_table(metrics), counted)
    scale = float(summary["scale"])
    return {
        **summary,
        "warmup_from": summary["start"],
        "start": counted.isoformat(),
        "totals": totals,
        "scaled": {k: round(v * scale) for k, v in totals.items()},
    }


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_row(path: Path, task: Task, summary: dict[str, Any], inputs_sha: str) -> None:
    row: dict[str, Any] = {
        "run": task.run.name,
        "regime": summary.get("regime", task.run.regime),
        "scenario": summary.get("scenario", task.run.scenario),
        "point": json.dumps(task.point, sort_keys=True, default=str),
        "seed": task.seed,
        "population": int(summary["population"]),
        "represented": int(summary.get("represented", 0)),
        "scale": float(summary["scale"]),
        "start": summary["start"],
        "end": summary["end"],
        "warmup_from": summary.get("warmup_from"),
        "engine": "one",
        "inputs_sha256": inputs_sha,
        "grades_by_tier": json.dumps(summary.get("grades_by_tier"), sort_keys=True),
    }
    for key, value in task.point.items():
        row[f"p_{key}"] = float(value) if isinstance(value, int | float) else str(value)
    for key in ("gini", "mobility"):
        if isinstance(summary.get(key), int | float):
            row[key] = float(summary[key])
    totals = dict(summary["totals"])
    scaled = dict(summary["scaled"])
    for key, value in totals.items():
        row[f"t_{key}"] = float(value)
    for key, value in scaled.items():
        row[f"s_{key}"] = float(value)
    for city, local in (summary.get("cities") or {}).items():  # the headline figures only
        row[f"t_city.{city}.persons"] = float(local["persons"])
        for key in BASE_METRICS:
            row[f"t_city.{city}.{key}"] = float(local["totals"][key])
    tmp = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pylist([row]), tmp)
    tmp.rename(path)


def read_results(out: Path) -> pa.Table:
    """The result rows of the study in ``out`` (its ``study.json``), each checked against the
    inputs the study was last run with; schemas unified (engines report different totals; a
    total an engine does not have is null). A missing or stale result is an error."""
    study_file = out / "study.json"
    if not study_file.exists():
        raise InputError("study", f"{out} has no study.json (run `socialcredit study run` first)")
    study = Study.model_validate_json(study_file.read_text())
    resolved = _read_json(out / "resolved.json")
    if not isinstance(resolved, dict):
        raise InputError(
            "study",
            f"{out} has no resolved.json (run by an earlier version, or cut short): run "
            "`socialcredit study run` again to check which results still hold",
        )
    expected = resolved.get("simulations", {})
    tables = []
    missing = []
    for task in tasks(study):
        f = out / "results" / f"{task.key}.parquet"
        if not f.exists():
            missing.append(task.key)
            continue
        table = pq.read_table(f)
        want = expected.get(task.key, {}).get("inputs_sha256")
        have = (
            table.column("inputs_sha256")[0].as_py()
            if "inputs_sha256" in table.column_names
            else None
        )
        if want is None or have != want:
            raise InputError(
                "study", f"{f.name} was made from other inputs than the study's (run `study run`)"
            )
        tables.append(table)
    if missing:
        raise InputError(
            "study",
            f"{out} lacks {len(missing)} of {len(tasks(study))} simulations "
            f"(first: {missing[0]}); run `socialcredit study run` to finish it",
        )
    return pa.concat_tables(tables, promote_options="permissive")
