"""``socialcredit study run``: every (run, sweep point, seed) of a study, one after another.

Layout of ``DIR``::

    study.json                         the resolved study
    runs/<run>/<point>/seed-<s>/       the engine's outputs (metrics.parquet, summary.json, ...)
    results/<run>__<point>__seed-<s>.parquet
                                       one row per simulation: totals raw (t_*) and scaled (s_*)

Results stream to disk as each simulation ends (nothing is held for the whole study), and a
simulation is written to a temporary folder and renamed into place when complete, so an
interrupted study resumes where it stopped (finished simulations are not run again).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.sim.run import prepare
from socialcredit.study.spec import Study, StudyRun


@dataclass(frozen=True)
class Task:
    run: StudyRun
    point: dict[str, Any]
    seed: int

    @property
    def point_id(self) -> str:
        if not self.point:
            return "base"
        text = json.dumps(self.point, sort_keys=True, default=str)
        readable = "_".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(self.point.items()))
        return f"{readable[:60]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"

    @property
    def key(self) -> str:
        return f"{self.run.name}__{self.point_id}__seed-{self.seed}"


def tasks(study: Study) -> list[Task]:
    return [
        Task(run, point, seed)
        for run in study.runs
        for point in study.points(run)
        for seed in study.seeds
    ]


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
        start=run.start,
        end=run.end,
        overrides={**run.overrides, **task.point},
    )


def run_study(
    study: Study,
    out: Path,
    *,
    progress: Callable[[Task, int, int], None] | None = None,
) -> list[Path]:
    """Run every simulation not already done; returns the result files."""
    check(study)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(study.model_dump_json(indent=2) + "\n")
    results = out / "results"
    results.mkdir(exist_ok=True)
    todo = tasks(study)
    written: list[Path] = []
    for n, task in enumerate(todo, start=1):
        if progress is not None:
            progress(task, n, len(todo))
        final = out / "runs" / task.run.name / task.point_id / f"seed-{task.seed}"
        row_file = results / f"{task.key}.parquet"
        if not (final / "summary.json").exists() or not row_file.exists():
            staging = final.with_name(final.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            summary = _engine(study, task).run(staging)
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
            _write_row(row_file, task, summary)
        written.append(row_file)
    return written


def _write_row(path: Path, task: Task, summary: dict[str, Any]) -> None:
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
        "grades_by_tier": json.dumps(summary.get("grades_by_tier"), sort_keys=True),
    }
    for key, value in task.point.items():
        row[f"p_{key}"] = float(value) if isinstance(value, int | float) else str(value)
    for key in ("gini", "mobility"):
        if isinstance(summary.get(key), int | float):
            row[key] = float(summary[key])
    for key, value in summary["totals"].items():
        row[f"t_{key}"] = float(value)
    for key, value in summary["scaled"].items():
        row[f"s_{key}"] = float(value)
    tmp = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pylist([row]), tmp)
    tmp.rename(path)


def read_results(out: Path) -> pa.Table:
    """Every result row of a study folder (schemas unified: engines report different
    totals; a total an engine does not have is null)."""
    files = sorted((out / "results").glob("*.parquet"))
    if not files:
        from socialcredit.errors import InputError

        raise InputError("study", f"{out} has no results (run `socialcredit study run` first)")
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
