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

    [sweep]                       # optional: a grid over one run's scenario
    run = "law-bound"
    "false_attribution" = [0.001, 0.01, 0.05]
    "objection.upheld_innocent" = [0.2, 0.5, 0.8]

Each (run, sweep point, seed) is one simulation. Overrides and sweep keys address any scenario
parameter by its path: parts joined by dots reach into tables (``objection.upheld_innocent``), a
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
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Scenario parameters changed for this run: path -> value, or tables of them (merged)."""


class Study(Frozen):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    population: int = Field(ge=1, le=2_000_000_000)
    seeds: tuple[int, ...] = Field(min_length=1, max_length=100)
    threads: int = Field(default=2, ge=1, le=256)
    runs: tuple[StudyRun, ...] = Field(min_length=1)
    sweep: dict[str, Any] | None = None
    """``run`` (a run's name) and parameter path -> list of values: the grid. A table of
    parameters (TOML's dotted keys) is flattened into paths."""

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
            for key, values in grid.items():
                try:
                    override_path(key)
                except InputError as exc:
                    raise ValueError(f"sweep.{key}: {exc.message}") from None
                if not isinstance(values, list) or not values:
                    raise ValueError(f"sweep.{key}: expected a non-empty list of values")
        return self

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
