"""Scenarios: everything about the *world* a run simulates (the rules come from catalogs).

A scenario is a TOML file (bundled ones in ``sim/scenarios/``). Rates are per person per year
unless named otherwise; every parameter is documented here and each bundled file cites where
its values come from and how they were set.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def _merge(raw: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Overrides into the scenario's raw TOML: a dotted key (``"objection.p_innocent"``)
    reaches into a table and changes that one value; any other key replaces the whole value."""
    for key, value in overrides.items():
        head, dot, rest = key.partition(".")
        if dot:
            table = raw.setdefault(head, {})
            if not isinstance(table, dict):
                raise InputError(f"scenario.{head}", "is not a table: cannot set its keys")
            _merge(table, {rest: value})
        else:
            raw[key] = value


def bundled_names() -> list[str]:
    from socialcredit.sim.common import bundled_toml

    return bundled_toml(BUNDLED)


def load(ref: str | Path, **overrides: Any) -> Scenario:
    """A bundled list scenario by name, or a TOML file; ``overrides`` replace top-level fields."""
    found = load_any(ref, **overrides)
    if not isinstance(found, Scenario):
        raise InputError("scenario", f"{found.name} is a {found.kind} scenario, not a list one")
    return found


def load_any(ref: str | Path, **overrides: Any) -> Scenario | ConductScenario:
    """A bundled scenario or a TOML file: the court list's national world, or (``kind =
    "conduct"``) conduct for the one engine over any catalogs."""
    from socialcredit.sim.common import read_ref

    text, source = read_ref(ref, BUNDLED, "scenario")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("scenario", f"{source}: not valid TOML: {exc}") from None
    _merge(raw, {k: v for k, v in overrides.items() if v is not None})
    if raw.get("kind") == "conduct":
        from socialcredit.sim.folding import load_conduct_scenario

        return load_conduct_scenario(raw, source)
    from socialcredit.sim.common import validated

    return validated(Scenario, raw, source=source, field="scenario")
