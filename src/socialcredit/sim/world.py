"""The world: one synthetic society that every regime runs over.

A world (TOML, bundled ones in ``sim/worlds/``) says what people do, with no regime in it:
conduct *processes* (refusing a court judgment, a traffic offence, a post critical of an
official, a loan repaid late, volunteering...), each a rate per person per year (by income tier,
by year), how often people use each service a measure can deny (flights, G trains, loans...),
households, friends, organisations and cities. A regime says which catalogs apply, and how it
*observes* that conduct: which process becomes which record type, where (the nation, a province,
a city; a share enrolled) and from when, with what detection rate (:class:`Observe`), and which
measure governs which service.

The same seed gives the same people doing the same things under every regime (the engine draws
each event and its future from streams keyed by the process, never by the regime); what differs
is what each regime records and does with it, plus any response to sanctions (a process's
``repeat_factor``; its ``deterred`` rate while a person is restricted, which a regime may set
for itself; conduct a regime elicits: ``among_scored``), which the report shows.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from socialcredit.errors import InputError
from socialcredit.sim.common import Frozen
from socialcredit.sim.population import NATIONAL_2020, regions

if TYPE_CHECKING:
    from socialcredit.rules import Rulebook

NATION = "nation"


class Tier(Frozen):
    """An income tier, in a world or a conduct scenario."""

    share: float = Field(gt=0, le=1)
    debtor_factor: float = Field(default=1.0, ge=0)
    """Multiplies the rate of defaults (a world's processes of kind ``default``; a scenario's
    records of types with ``nature = "default"``) in the tier."""
    uses_per_year: dict[str, float] = Field(default_factory=dict)
    """How often a member uses what a measure governs in a year (a flight, a G train, a loan),
    by service (a world: the regime maps measures to services) or by measure id (a conduct
    scenario); a use by someone the measure restricts is a denial."""


class Process(Frozen):
    """Something people do, whatever any regime makes of it."""

    per_year: float | dict[int, float]
    """Events per year per person among whom it falls (see ``concentration``): one rate, or a
    table by calendar year (the latest year listed at or before a day's year holds; none
    before the first)."""
    kind: Literal["violation", "default", "lawful"] = "violation"
    """``default``: an obligation not met (the tiers' debtor factors apply, and it may be
    performed later: ``due_process.fulfilment_per_year``)."""
    since: date | None = None
    until: date | None = None
    concentration: float = Field(default=1.0, gt=0, le=1)
    """The share of each group among whom its events fall (spread evenly over the group): a
    dog owner's offences fall among the 1.1% who keep a dog."""
    repeat_factor: float = Field(default=1.0, gt=0, le=1)
    """A response to sanctions: each earlier record of it multiplies a person's rate (at most
    1: the engine sizes each day's room by the rates)."""
    deterred: float = Field(default=1.0, ge=0, le=1)
    """A response to restrictions: a person's rate while any restriction holds them, as a
    multiple of their rate otherwise (1: none; a regime may set its own, ``deterrence``). The
    events not done are counted (``deterred``; of lawful conduct: ``deterred_lawful``)."""
    organisations: float = Field(default=0.0, ge=0)
    """An organisation's rate as a multiple of the average person's (0: persons alone do it)."""
    persons: bool = True
    """False: organisations alone do it (at ``organisations`` times ``per_year``); a person
    never does."""
    source: str = "ASSUMPTION"

    @field_validator("persons")
    @classmethod
    def _done_by_someone(cls, persons: bool, info: ValidationInfo) -> bool:
        if not persons and info.data.get("organisations", 0.0) == 0:
            raise ValueError(
                "false with no organisations factor: nobody does it (organisations alone: "
                "persons = false and organisations > 0; persons alone: no organisations factor)"
            )
        return persons

    def rate_in(self, year: int) -> float:
        return rate_in(self.per_year, year)

    def doers(self, organisations: bool = True) -> frozenset[str]:
        """The kinds of subject that do it (``person``, ``organisation``) in a world with
        organisations (``organisations``) or without."""
        kinds = {"person"} if self.persons else set()
        if organisations and self.organisations > 0:
            kinds.add("organisation")
        return frozenset(kinds)


def rate_in(rate: float | dict[int, float], year: int) -> float:
    """A rate in ``year``: one rate, or from a table by year the latest year listed at or
    before ``year`` (none before the first)."""
    if isinstance(rate, float | int):
        return float(rate)
    years = [y for y in rate if y <= year]
    return rate[max(years)] if years else 0.0


class City(Frozen):
    province: str
    population: int = Field(gt=0)
    source: str = "ASSUMPTION"


class DueProcess(Frozen):
    """What happens to records after they are made (drawn when each event happens, so the same
    under every regime)."""

    wrong_share: float = Field(default=0.0, ge=0, le=1)
    """Share of records attributed to the wrong person (an innocent agent of the same group)."""
    objected_innocent: float = Field(default=0.0, ge=0, le=1)
    upheld_innocent: float = Field(default=0.0, ge=0, le=1)
    objected_guilty: float = Field(default=0.0, ge=0, le=1)
    upheld_guilty: float = Field(default=0.0, ge=0, le=1)
    decided_after_days: int = Field(default=20, ge=0)
    fulfilment_per_year: float = Field(default=0.0, ge=0)
    """For defaults: the yearly rate at which the obligation is performed."""
    repair_share: float = Field(default=0.0, ge=0, le=1)
    """Share of repairable records whose subject applies for repair as soon as allowed (after
    the minimum period; records of defaults only once fulfilled); granted 19 days later."""


class WorldOrganisations(Frozen):
    per_person: float = Field(ge=0, le=1)
    uses_per_year: dict[str, float] = Field(default_factory=dict)
    """How often an organisation uses each service in a year (a public tender), as a tier's
    ``uses_per_year`` for a person."""


class World(Frozen):
    kind: Literal["world"] = "world"
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()
    start: date
    end: date
    represented: int = Field(default=NATIONAL_2020, gt=0)
    tiers: dict[str, Tier]
    processes: dict[str, Process]
    cities: dict[str, City] = Field(default_factory=dict)
    household_size: int = Field(default=1, ge=1, le=255)
    friends: int = Field(default=0, ge=0, le=255)
    organisations: WorldOrganisations | None = None
    due_process: DueProcess = Field(default_factory=DueProcess)

    @model_validator(mode="after")
    def _consistent(self) -> World:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        total = sum(t.share for t in self.tiers.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"tier shares must sum to 1 (they sum to {total:g})")
        provinces = {r.name: r.population for r in regions()}
        taken: dict[str, int] = {}
        for name, city in self.cities.items():
            if city.province not in provinces:
                raise ValueError(f"cities.{name}.province: no province {city.province!r}")
            taken[city.province] = taken.get(city.province, 0) + city.population
            if taken[city.province] > provinces[city.province]:
                raise ValueError(f"cities in {city.province} outnumber the province")
        return self

    def area(self, where: str) -> tuple[int, float, float]:
        """Where ``where`` is: (region index or -1 for the nation, and the share of each of its
        groups it covers as ``[lo, hi)`` fractions). A city is the next fractions of its
        province's groups, in the order the world lists its cities."""
        if where == NATION:
            return -1, 0.0, 1.0
        names = [r.name for r in regions()]
        if where in names:
            return names.index(where), 0.0, 1.0
        if where not in self.cities:
            raise InputError(
                "regime.observe.where", f"no province or city {where!r} in world {self.name}"
            )
        population = {r.name: r.population for r in regions()}
        city = self.cities[where]
        lo = 0.0
        for name, other in self.cities.items():
            if name == where:
                break
            if other.province == city.province:
                lo += other.population / population[city.province]
        return names.index(city.province), lo, lo + city.population / population[city.province]


class Cameras(Frozen):
    """A regime's cameras: what they catch of the conduct they record, and how often they name
    the wrong person. They make every record of a type whose source is a camera."""

    coverage: float = Field(ge=0, le=1)
    """Share of the events in view (the observation's area and period) that they record."""
    misattribution: float = Field(default=0.0, ge=0, le=1)
    """Share of their records that name someone other than the person who did it (someone of
    the same place and income group): a misidentification. An authority's errors are the
    world's ``due_process.wrong_share``."""


class Observe(Frozen):
    """How a regime records a process."""

    process: str
    record_type: str
    detection: float | None = Field(default=None, ge=0, le=1)
    """Share of the events in its area and period that become records (default 1); for a record
    type a camera makes, the regime's ``[cameras]`` coverage instead."""
    where: str = NATION
    """``nation``, a province, or a city of the world."""
    enrolled: float = Field(default=1.0, gt=0, le=1)
    """Share of the area's people it observes at all (an opt-in scheme's members)."""
    since: date | None = None
    until: date | None = None
    among_scored: str | None = None
    """A scheme whose scored people alone do this (conduct the regime elicits)."""
    among_listed: str | None = None
    """A list whose members alone do this (a course taken to leave it)."""


@dataclass(frozen=True)
class ObservationRow:
    record_type: str
    detection: float
    misattribution: float
    region: int
    lo: float
    hi: float
    since: date | None
    until: date | None
    scored: str | None
    listed: str | None

    @property
    def key(self) -> int:
        return stream_key_of(self.record_type)


@dataclass(frozen=True)
class ProcessRow:
    """A process as the engine runs it, with the observations of the regime."""

    name: str
    rate_in: dict[int, float]
    """Year -> events per person per year."""
    default: bool
    since: date | None
    until: date | None
    concentration: float
    repeat: float
    organisations: float
    observations: tuple[ObservationRow, ...]
    deterred: float = 1.0
    lawful: bool = False
    persons: bool = True

    @property
    def key(self) -> int:
        return stream_key_of(self.name)


def stream_key_of(name: str) -> int:
    """A process's or record type's stream key: a hash of its name (the same in every run)."""
    return zlib.crc32(name.encode()) & 0x3FFFFFFF


def refuse_doers_beyond(
    field: str,
    record_type: str,
    kinds: Collection[str],
    doers: Collection[str],
    doing: str,
    hint: str,
) -> None:
    """Refused by ``field``: records of ``record_type``, about ``kinds`` of subject only, made
    of what ``doers`` (``person``, ``organisation``) do (``doing``: how the message says it) when
    one of them is no such kind: a person's case would be recorded as an organisation's, or the
    reverse. The one check of a record type's kinds against who makes its records, for a world's
    observations (:func:`refuse_kinds_beyond`) and a conduct scenario's rates alike."""
    beyond = frozenset(doers) - frozenset(kinds)
    if beyond:
        who = " and ".join(f"{k}s" for k in sorted(beyond))
        raise InputError(
            field,
            f"record type {record_type!r} is about {' and '.join(sorted(kinds))} only, but "
            f"{who} {doing} ({hint})",
        )


def refuse_kinds_beyond(
    world: World, process: str, record_type: str, kinds: Collection[str]
) -> None:
    """Refused by name (``regime.observe.<process>``): an observation that makes records of
    ``record_type``, about ``kinds`` of subject only, of a process that another kind does in
    ``world`` (persons, or organisations where the world has them). A process of organisations
    alone says ``persons = false``; one of persons alone has no ``organisations`` factor."""
    p = world.processes[process]
    refuse_doers_beyond(
        f"regime.observe.{process}",
        record_type,
        kinds,
        p.doers(world.organisations is not None and world.organisations.per_person > 0),
        f"do {process} in world {world.name}",
        "observe each kind's process as a record type about that kind; a process of "
        "organisations alone: persons = false; of persons alone: no organisations factor",
    )


def observed_processes(
    world: World,
    observe: tuple[Observe, ...],
    book: Rulebook,
    years: list[int],
    regime: str,
    camera_types: frozenset[str] = frozenset(),
    cameras: Cameras | None = None,
    deterrence: dict[str, float] | None = None,
    subject_kinds: Mapping[str, Collection[str]] | None = None,
) -> list[ProcessRow]:
    """The world's processes with what the regime records of them; refused by name: an
    observation of a process the world lacks, of a record type no catalog of the regime has, or
    of a scheme or list it lacks; one of a record type a camera makes (``camera_types``) by a
    regime without ``cameras``, or with a detection of its own; one making records of a type
    about a kind of subject (``subject_kinds``: record type -> its kinds) that does not do the
    process (:func:`refuse_kinds_beyond`); and a regime that observes nothing; a
    ``deterrence`` (process -> rate while restricted) of a process the world lacks."""
    for name in deterrence or {}:
        if name not in world.processes:
            raise InputError(
                f"regime.deterrence.{name}", f"world {world.name} has no conduct process {name!r}"
            )
    if not observe:
        raise InputError(
            "regime.observe",
            f"regime {regime} says nothing about how it records conduct (no [[observe]] "
            f"entries): it cannot run over world {world.name}",
        )
    by_process: dict[str, list[ObservationRow]] = {}
    for k, o in enumerate(observe):
        where = f"regime.observe[{k}]"
        if o.process not in world.processes:
            raise InputError(
                f"{where}.process", f"world {world.name} has no conduct process {o.process!r}"
            )
        if o.record_type not in book.type_ids:
            raise InputError(
                f"{where}.record_type", f"no record type {o.record_type!r} in the catalogs"
            )
        if o.among_scored is not None and o.among_scored not in book.scheme_ids:
            raise InputError(f"{where}.among_scored", f"no scheme {o.among_scored!r}")
        if o.among_listed is not None and o.among_listed not in book.list_ids:
            raise InputError(f"{where}.among_listed", f"no list {o.among_listed!r}")
        detection, misattribution = 1.0 if o.detection is None else o.detection, 0.0
        if o.record_type in camera_types:
            if cameras is None:
                raise InputError(
                    f"{where}.record_type",
                    f"{o.record_type!r} is made by cameras: the regime needs a [cameras] table "
                    "(coverage, misattribution)",
                )
            if o.detection is not None:
                raise InputError(
                    f"{where}.detection",
                    f"{o.record_type!r} is made by cameras: what they catch is [cameras].coverage",
                )
            detection, misattribution = cameras.coverage, cameras.misattribution
        if o.record_type in book.role_types:
            raise InputError(
                f"{where}.record_type",
                "records a legal role; roles come from the world's organisations",
            )
        if subject_kinds is not None:
            refuse_kinds_beyond(world, o.process, o.record_type, subject_kinds[o.record_type])
        region, lo, hi = world.area(o.where)
        hi = lo + (hi - lo) * o.enrolled
        by_process.setdefault(o.process, []).append(
            ObservationRow(
                o.record_type,
                detection,
                misattribution,
                region,
                lo,
                hi,
                o.since,
                o.until,
                o.among_scored,
                o.among_listed,
            )  # fmt: skip
        )
    return [
        ProcessRow(
            name=name,
            rate_in={y: p.rate_in(y) * p.concentration for y in years},  # per person
            default=p.kind == "default",
            since=p.since,
            until=p.until,
            concentration=p.concentration,
            repeat=p.repeat_factor,
            organisations=p.organisations,
            observations=tuple(by_process.get(name, ())),
            deterred=(deterrence or {}).get(name, p.deterred),
            lawful=p.kind == "lawful",
            persons=p.persons,
        )
        for name, p in world.processes.items()
    ]
