"""A synthetic population laid out over the 31 provinces, as contiguous ranges of agents.

Agents have no Python objects and no ids of their own: agent ``i`` is a position in flat arrays.
The population is split by region (GB/T 2260 province, shares from the 2020 census) and, within
each region, by income tier; each (region, tier) pair is a contiguous *group* of agents, so
events are sampled per group in O(events) and a region is a contiguous slice (the unit of
partitioning).

Organisations, where a run has them, are one more group at the end of each region. Every
organisation has a legal representative: a person of the same region chosen by a fixed hash of
the organisation's position (:meth:`Layout.representative`), so nothing is stored for the link.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

NATIONAL_2020 = 1_411_778_724
"""Census 2020 national total, incl. 2,000,000 service members assigned to no province."""


@dataclass(frozen=True)
class Region:
    code: int
    name: str
    population: int


def regions() -> list[Region]:
    """The 31 provincial-level divisions (Seventh National Population Census, 2020)."""
    text = resources.files("socialcredit.data").joinpath("cn-regions-2020.csv").read_text()
    rows = csv.DictReader(text.splitlines())
    return [Region(int(r["code"]), r["name"], int(r["population_2020"])) for r in rows]


def apportion(total: int, weights: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; sums exactly)."""
    w = np.asarray(weights, dtype=np.float64)
    exact = total * w / w.sum()
    base: npt.NDArray[np.int64] = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


@dataclass(frozen=True)
class Layout:
    """Where every agent sits: groups are (region, tier) pairs in region-major order, then, if
    the run has organisations, one organisation group closing each region."""

    agents: int
    """Persons and organisations."""
    represented: int
    """The national population the persons stand for (scale = represented / persons)."""
    region_codes: npt.NDArray[np.int32]
    region_names: tuple[str, ...]
    tiers: tuple[str, ...]
    group_start: npt.NDArray[np.int64]
    """``group_start[g]`` is the first agent of group ``g``; one extra entry at the end."""
    organisations: int = 0
    """How many of the agents are organisations."""
    organisation_groups: bool = False
    """Whether each region closes with an organisation group (possibly empty)."""

    @property
    def n_regions(self) -> int:
        return len(self.region_codes)

    @property
    def n_tiers(self) -> int:
        return len(self.tiers)

    @property
    def per_region(self) -> int:
        """Groups per region: the tiers, and the organisations if there are any."""
        return self.n_tiers + (1 if self.organisation_groups else 0)

    @property
    def persons(self) -> int:
        return self.agents - self.organisations

    @property
    def scale(self) -> float:
        """National persons per simulated person (organisations scale alike)."""
        return self.represented / self.persons

    def group(self, region: int, tier: int) -> int:
        return region * self.per_region + tier

    def organisation_group(self, region: int) -> int:
        if not self.organisation_groups:
            raise ValueError("this layout has no organisations")
        return self.group(region, self.n_tiers)

    def region_slice(self, region: int) -> slice:
        g0 = self.group(region, 0)
        return slice(int(self.group_start[g0]), int(self.group_start[g0 + self.per_region]))

    def is_organisation(self, agent: int) -> bool:
        g = int(np.searchsorted(self.group_start, agent, side="right")) - 1
        return self.organisation_groups and g % self.per_region == self.n_tiers

    def representative(self, organisation: int) -> int:
        """The person who is the legal representative of ``organisation``: a person of the same
        region, fixed by a hash of the organisation's position."""
        if not self.is_organisation(organisation):
            raise ValueError(f"agent {organisation} is not an organisation")
        g = int(np.searchsorted(self.group_start, organisation, side="right")) - 1
        region = g // self.per_region
        first = int(self.group_start[self.group(region, 0)])
        persons = int(self.group_start[self.group(region, self.n_tiers)]) - first
        if persons == 0:
            raise ValueError(f"region {self.region_names[region]} has no persons")
        h = (organisation * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        return first + (h >> 11) % persons

    def group_sizes(self) -> npt.NDArray[np.int64]:
        return np.diff(self.group_start)


def layout(
    persons: int,
    tier_shares: dict[str, float],
    *,
    represented: int = NATIONAL_2020,
    organisations_per_person: float = 0.0,
) -> Layout:
    """Lay ``persons`` out over the provinces (census shares) and income tiers (given shares),
    with ``organisations_per_person`` organisations in each region after its persons."""
    if persons < 1:
        raise ValueError("population: at least one agent")
    regs = regions()
    per_region = apportion(persons, [r.population for r in regs])
    shares = np.array(list(tier_shares.values()), dtype=np.float64)
    with_orgs = organisations_per_person > 0
    orgs = np.round(per_region * organisations_per_person).astype(np.int64)
    parts = []
    for n, k in zip(per_region.tolist(), orgs.tolist(), strict=True):
        parts.append(apportion(n, shares))
        if with_orgs:
            parts.append(np.array([k], np.int64))
    sizes = np.concatenate(parts)
    start = np.zeros(sizes.size + 1, np.int64)
    np.cumsum(sizes, out=start[1:])
    return Layout(
        agents=persons + (int(orgs.sum()) if with_orgs else 0),
        represented=represented,
        region_codes=np.array([r.code for r in regs], np.int32),
        region_names=tuple(r.name for r in regs),
        tiers=tuple(tier_shares),
        group_start=start,
        organisations=int(orgs.sum()) if with_orgs else 0,
        organisation_groups=with_orgs,
    )
