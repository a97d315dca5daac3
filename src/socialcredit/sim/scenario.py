"""Scenarios: everything about the *world* a run simulates (the rules come from catalogs).

A scenario is a TOML file (bundled ones in ``sim/scenarios/``). Rates are per person per year
unless named otherwise; every parameter is documented here and each bundled file cites where
its values come from and how they were set.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from socialcredit.errors import InputError

if TYPE_CHECKING:
    from socialcredit.sim.folding import ConductScenario


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(_Model):
    """An income tier: its share of the population and how its members behave."""

    share: float = Field(gt=0, le=1)
    debtor_factor: float = Field(default=1.0, ge=0)
    """Multiplies the rate of refused judgments (poorer households default more often)."""
    flights_per_year: float = Field(default=0.0, ge=0)
    """Flights a member would book in a year if not restricted."""
    trains_per_year: float = Field(default=0.0, ge=0)
    """G-train (high-speed) journeys a member would book in a year if not restricted."""


class Objection(_Model):
    """Due process: who objects to a record, and how often an objection succeeds."""

    p_innocent: float = Field(default=0.0, ge=0, le=1)
    """Share of wrongly attributed records whose subject objects."""
    p_debtor: float = Field(default=0.0, ge=0, le=1)
    """Share of correct records whose subject objects anyway."""
    upheld_innocent: float = Field(default=0.0, ge=0, le=1)
    upheld_debtor: float = Field(default=0.0, ge=0, le=1)
    filed_after_days: int = Field(default=10, ge=0)
    decided_after_days: int = Field(default=20, ge=0)
    """Days from filing to decision (PBOC: objections answered within 20 days)."""


class Repair(_Model):
    """Credit repair: who applies once a record's minimum period is over, and how often it is
    granted (only where the catalog lets repair take someone off the list)."""

    p_apply: float = Field(default=0.0, ge=0, le=1)
    """Share of records still in effect at the end of their minimum period whose subject
    applies."""
    granted: float = Field(default=0.0, ge=0, le=1)
    applied_after_days: int = Field(default=0, ge=0)
    """Days from the end of the minimum period to the application."""
    decided_after_days: int = Field(default=18, ge=0)
    """Days from application to decision (13 working days: NDRC repair measures)."""


class Organisations(_Model):
    """Organisations among the agents: companies can be listed too, and a listed company's
    restrictions reach its legal representative (if the catalog's memoranda say so)."""

    per_person: float = Field(default=0.0, ge=0, le=1)
    """Organisations per person (0: persons only)."""
    refusal_factor: float = Field(default=1.0, ge=0)
    """An organisation's rate of refused judgments relative to a person's (before tiers)."""
    representative_flights_per_year: float = Field(default=0.0, ge=0)
    """Flights a legal representative would book in a year if not restricted."""
    representative_trains_per_year: float = Field(default=0.0, ge=0)


class Scenario(_Model):
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    launch: date
    """The day the list started; no listings before it."""
    tiers: dict[str, Tier]
    refusals_per_year: dict[int, float]
    """Per person per year, by calendar year: judgments the debtor is able to but refuses to
    perform, found by a court (the last year given holds afterwards)."""
    false_attribution: float = Field(default=0.0, ge=0)
    """Wrongly attributed records per correct record (identity mix-ups, data errors)."""
    fulfilment_per_year: float = Field(default=0.0, ge=0)
    """Hazard per year that a listed debtor performs the obligation, while the list's travel
    restrictions are in force."""
    listing_fulfilment_factor: float = Field(default=1.0, ge=1)
    """How many times listing with its restrictions raises that hazard: a debtor whom no
    restriction reaches performs at ``fulfilment_per_year / listing_fulfilment_factor``."""
    listed_travel_factor: float = Field(default=1.0, ge=0)
    """How much a listed person still tries to book (deterrence lowers it below 1)."""
    deterrence: float = Field(default=0.0, ge=0)
    """How refusals respond to enforcement that people see: a region's refusal rate is divided
    by ``1 + deterrence * D``, ``D`` its denials over the past 365 days per 1,000 agents."""
    organisations: Organisations = Organisations()
    checks_from: dict[str, date] = Field(default_factory=dict)
    """Measure id -> the day bookings start being checked against the list."""
    objection: Objection = Objection()
    repair: Repair = Repair()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        total = sum(t.share for t in self.tiers.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"tier shares must sum to 1 (they sum to {total:g})")
        if not self.refusals_per_year:
            raise ValueError("refusals_per_year needs at least one year")
        return self

    def refusal_rate(self, year: int) -> float:
        known = sorted(self.refusals_per_year)
        chosen = [y for y in known if y <= year]
        return self.refusals_per_year[chosen[-1] if chosen else known[0]]


BUNDLED = "socialcredit.sim.scenarios"


def override_path(key: str) -> list[str]:
    """The path an override key addresses: parts split at dots, a part in double or single
    quotes taken as it is (``'records_per_year."unified.petition"'`` -> ``["records_per_year",
    "unified.petition"]``), as TOML's dotted keys are written. A malformed key is refused."""
    parts: list[str] = []
    i, n = 0, len(key)
    while True:
        if i < n and key[i] in "\"'":
            quote = key[i]
            close = key.find(quote, i + 1)
            if close < 0:
                raise InputError(f"scenario.{key}", f"unterminated quote in the key {key!r}")
            parts.append(key[i + 1 : close])
            i = close + 1
        else:
            dot = key.find(".", i)
            part = key[i:] if dot < 0 else key[i:dot]
            if not _BARE.fullmatch(part):
                raise InputError(
                    f"scenario.{key}",
                    f"{part!r} in the key {key!r} is not a name: quote a part that holds dots "
                    'or other characters (records_per_year."unified.petition")',
                )
            parts.append(part)
            i += len(part)
        if i == n:
            return parts
        if key[i] != ".":
            raise InputError(f"scenario.{key}", f"expected a dot after {parts[-1]!r} in {key!r}")
        i += 1


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def quote_path(parts: Sequence[str]) -> str:
    """The key for ``parts`` (the inverse of :func:`override_path`)."""
    return ".".join(p if _BARE.fullmatch(p) else json.dumps(p) for p in parts)


def _node(model: Any, part: str, where: str) -> tuple[Any, bool]:
    """What ``part`` holds under ``model`` (a pydantic model class, or a ``dict[K, V]``
    annotation): the type there, and whether ``part`` may be a new key (a table of free keys,
    such as rates by record type) rather than a parameter. Unknown parameters are refused."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(part)
        if field is None:
            known = ", ".join(sorted(model.model_fields))
            raise InputError(where, f"no such parameter (known here: {known})")
        return field.annotation, False
    if get_origin(model) is dict:
        return get_args(model)[1], True
    raise InputError(where, "is not a table: cannot set keys inside it")


def merge_overrides(raw: dict[str, Any], overrides: Mapping[str, Any], model: Any) -> None:
    """Overrides into a scenario's raw TOML, in place. A key is a path (:func:`override_path`)
    or a table of keys (``{"objection": {"p_innocent": 0.5}}``, as TOML writes a dotted key);
    either way only the values named change: a table is merged, never replaced. Every part of a
    path must be a parameter of ``model`` (the scenario's class) or a key of a table of free keys
    (rates by record type, tiers, ...); anything else is refused by name."""
    for key, value in overrides.items():
        _set(raw, override_path(key), value, model, [])


def _set(raw: dict[str, Any], path: list[str], value: Any, model: Any, done: list[str]) -> None:
    head, rest = path[0], path[1:]
    where = "scenario." + quote_path([*done, head])
    inner, free = _node(model, head, where)
    if rest and free and not _is_table(inner) and head not in raw:
        whole = quote_path([*done, ".".join(path)])
        raise InputError(
            where, f"no key {head!r} in this table; a key with dots is quoted: {whole}"
        )
    if rest or isinstance(value, dict):
        table = raw.setdefault(head, {})
        if not isinstance(table, dict):
            raise InputError(where, "is not a table: cannot set keys inside it")
        if rest:
            _set(table, rest, value, inner, [*done, head])
            return
        if not _is_table(inner):
            raise InputError(where, f"is a single value, not a table: {value!r} cannot go there")
        for k, v in value.items():
            _set(table, [str(k)], v, inner, [*done, head])
        return
    if _is_table(inner) and raw.get(head) is not None:
        raise InputError(where, "is a table: set its keys one by one (a table is never replaced)")
    raw[head] = value


def _is_table(annotation: Any) -> bool:
    return get_origin(annotation) is dict or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    )


def bundled_names() -> list[str]:
    from socialcredit.sim.common import bundled_toml

    return bundled_toml(BUNDLED)


def load(ref: str | Path, **overrides: Any) -> Scenario:
    """A bundled list scenario by name, or a TOML file, with ``overrides`` merged
    (:func:`merge_overrides`)."""
    found = load_any(ref, **overrides)
    if not isinstance(found, Scenario):
        raise InputError("scenario", f"{found.name} is a {found.kind} scenario, not a list one")
    return found


def load_any(ref: str | Path, **overrides: Any) -> Scenario | ConductScenario:
    """A bundled scenario or a TOML file: the court list's national world, or (``kind =
    "conduct"``) conduct for the one engine over any catalogs. ``overrides`` (path -> value,
    :func:`merge_overrides`; a ``None`` value is ignored) change single values before the
    scenario is validated; keys with dots pass as ``**{'a."b.c"': 1}``."""
    from socialcredit.sim.common import read_ref

    text, source = read_ref(ref, BUNDLED, "scenario")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("scenario", f"{source}: not valid TOML: {exc}") from None
    conduct = raw.get("kind") == "conduct"
    model: type[BaseModel] = Scenario
    if conduct:
        from socialcredit.sim.folding import ConductScenario

        model = ConductScenario
    merge_overrides(raw, {k: v for k, v in overrides.items() if v is not None}, model)
    if conduct:
        from socialcredit.sim.folding import load_conduct_scenario

        return load_conduct_scenario(raw, source)
    from socialcredit.sim.common import validated

    return validated(Scenario, raw, source=source, field="scenario")
