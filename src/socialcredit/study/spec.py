"""Study files: which regimes run side by side, over which world, how often, and what is swept.

.. code-block:: toml

    name = "demo"
    population = 1_000_000
    seeds = [1, 2, 3]

    [[runs]]
    name = "law-bound"            # a label for the report
    regime = "law-bound"          # bundled name or TOML path
    scenario = "national-2013"    # bundled name or TOML path
    end = 2018-12-31              # optional: the scenario's own period otherwise
    warmup_days = 365             # optional: simulated before start, not counted

    [sweep]                       # optional: a grid over one run's scenario
    run = "law-bound"
    "due_process.wrong_share" = [0.001, 0.01, 0.05]
    "due_process.upheld_innocent" = [0.2, 0.5, 0.8]

Each (run, sweep point, seed) is one simulation. Overrides and sweep keys address any scenario
parameter by its path: parts joined by dots reach into tables (``due_process.wrong_share``), a
part holding dots is quoted (``records_per_year."unified.petition"``; in TOML, put such a key in
single quotes, or write it as TOML's own dotted key, which gives nested tables). An override
changes only the values it names: a table is merged, never replaced, and a name the scenario does
not have is refused (see :func:`socialcredit.sim.scenario.merge_overrides`).
"""

from __future__ import annotations

import itertools
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from socialcredit.errors import InputError
from socialcredit.sim.common import Frozen, bundled_toml, read_ref, validated
from socialcredit.sim.scenario import override_path, quote_path

BUNDLED = "socialcredit.study.studies"


class StudyRun(Frozen):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    regime: str
    scenario: str
    start: date | None = None
    end: date | None = None
    population: int | None = Field(default=None, ge=1)
    warmup_days: int | None = Field(default=None, ge=0, le=3650)
    """Days simulated before ``start`` and not counted (the study's ``warmup_days`` if
    unset)."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Scenario parameters changed for this run: path -> value, or tables of them (merged)."""


class Sensitivity(Frozen):
    """One at a time, each parameter of ``run``'s scenario multiplied by each factor, the others
    as they are: how much the figures move with each assumption."""

    run: str
    parameters: tuple[str, ...] = Field(min_length=1, max_length=20)
    """Paths of numeric scenario parameters (``records_per_year."unified.petition"``)."""
    factors: tuple[float, ...] = Field(default=(0.5, 2.0), min_length=1, max_length=10)

    @field_validator("parameters")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            try:
                override_path(key)
            except InputError as exc:
                raise ValueError(f"{key}: {exc.message}") from None
        if len(set(value)) != len(value):
            raise ValueError("must be distinct")
        return value

    @field_validator("factors")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(f <= 0 or f == 1 for f in value):
            raise ValueError("each factor must be positive and not 1")
        return value


class Study(Frozen):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    world: str | None = None
    """The world every run without a ``scenario`` of its own runs over (bundled name or TOML
    path): the same people doing the same things under each regime."""
    population: int = Field(ge=1, le=2_000_000_000)
    seeds: tuple[int, ...] = Field(min_length=1, max_length=100)
    threads: int = Field(default=2, ge=1, le=256)
    warmup_days: int = Field(default=0, ge=0, le=3650)
    """Days each run is simulated before its start so that lists and scores are not empty on
    its first day; flows are counted from the start, stocks read on the last day."""
    runs: tuple[StudyRun, ...] = Field(min_length=1)
    sensitivity: Sensitivity | None = None
    """One-at-a-time changes of a run's assumed rates (see :class:`Sensitivity`)."""
    sweep: dict[str, Any] | None = None
    """``run`` (a run's name) and parameter path -> list of values: the grid. A table of
    parameters (TOML's dotted keys) is flattened into paths."""

    @model_validator(mode="before")
    @classmethod
    def _world(cls, value: Any) -> Any:
        """Runs that name no scenario run over the study's world."""
        if not isinstance(value, dict) or "world" not in value:
            return value
        runs = value.get("runs")
        if isinstance(runs, list):
            value = {**value, "runs": [
                {"scenario": value["world"], **r} if isinstance(r, dict) else r for r in runs
            ]}  # fmt: skip
        return value

    @field_validator("sweep", mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        flat: dict[str, Any] = {}

        def walk(table: dict[str, Any], path: list[str]) -> None:
            for key, v in table.items():
                if isinstance(v, dict) and not (path == [] and key == "run"):
                    walk(v, [*path, str(key)])
                else:
                    flat[quote_path([*path, str(key)]) if path else str(key)] = v

        walk(value, [])
        return flat

    @model_validator(mode="after")
    def _consistent(self) -> Study:
        names = [r.name for r in self.runs]
        if len(set(names)) != len(names):
            raise ValueError("runs: names must be distinct")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds: must be distinct")
        if self.sweep is not None:
            target = self.sweep.get("run")
            if target not in names:
                raise ValueError(f"sweep.run: {target!r} is not one of the runs {names}")
            grid = {k: v for k, v in self.sweep.items() if k != "run"}
            if not grid:
                raise ValueError("sweep: name at least one parameter and its values")
        if self.sensitivity is not None and self.sensitivity.run not in names:
            raise ValueError(
                f"sensitivity.run: {self.sensitivity.run!r} is not one of the runs {names}"
            )
        if self.sweep is not None:
            grid = {k: v for k, v in self.sweep.items() if k != "run"}
            for key, values in grid.items():
                try:
                    override_path(key)
                except InputError as exc:
                    raise ValueError(f"sweep.{key}: {exc.message}") from None
                if not isinstance(values, list) or not values:
                    raise ValueError(f"sweep.{key}: expected a non-empty list of values")
        return self

    def warmup(self, run: StudyRun) -> int:
        return self.warmup_days if run.warmup_days is None else run.warmup_days

    def points(self, run: StudyRun) -> list[dict[str, Any]]:
        """``run``'s points: the base (its scenario as it is: what the side-by-side table
        shows), then, if it is the swept run, every point of the grid."""
        if self.sweep is None or self.sweep.get("run") != run.name:
            return [{}]
        grid = {k: v for k, v in self.sweep.items() if k != "run"}
        keys = list(grid)
        combos = itertools.product(*grid.values())
        return [{}] + [dict(zip(keys, combo, strict=True)) for combo in combos]


def bundled_names() -> list[str]:
    return bundled_toml(BUNDLED)


def load_study(ref: str | Path) -> Study:
    """A bundled study by name or a study TOML file; errors name the field."""
    return load_study_text(ref)[0]


def load_study_text(ref: str | Path) -> tuple[Study, str]:
    """A study and the text of its file (kept beside its results)."""
    text, source = read_ref(ref, BUNDLED, "study")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("study", f"{source}: not valid TOML: {exc}") from None
    return validated(Study, raw, source=source, field="study"), text
