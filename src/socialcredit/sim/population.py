"""A synthetic population laid out over the 31 provinces, as contiguous ranges of agents.

Agents have no Python objects and no ids of their own: agent ``i`` is a position in flat arrays.
The population is split by region (GB/T 2260 province, shares from the 2020 census) and, within
each region, by income tier; each (region, tier) pair is a contiguous *group* of agents, so
events are sampled per group in O(events) and a region is a contiguous slice (the unit of
partitioning).
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
    """Where every agent sits: groups are (region, tier) pairs in region-major order."""

    agents: int
    represented: int
    """The national population the agents stand for (scale = represented / agents)."""
    region_codes: npt.NDArray[np.int32]
    region_names: tuple[str, ...]
    tiers: tuple[str, ...]
    group_start: npt.NDArray[np.int64]
    """``group_start[g]`` is the first agent of group ``g``; one extra entry at the end."""

    @property
    def n_regions(self) -> int:
        return len(self.region_codes)

    @property
    def n_tiers(self) -> int:
        return len(self.tiers)

    @property
    def scale(self) -> float:
        return self.represented / self.agents

    def group(self, region: int, tier: int) -> int:
        return region * self.n_tiers + tier

    def region_slice(self, region: int) -> slice:
        g0 = self.group(region, 0)
        return slice(int(self.group_start[g0]), int(self.group_start[g0 + self.n_tiers]))

    def group_sizes(self) -> npt.NDArray[np.int64]:
        return np.diff(self.group_start)


def layout(
    agents: int, tier_shares: dict[str, float], *, represented: int = NATIONAL_2020
) -> Layout:
    """Lay ``agents`` out over the provinces (census shares) and income tiers (given shares)."""
    if agents < 1:
        raise ValueError("population: at least one agent")
    regs = regions()
    per_region = apportion(agents, [r.population for r in regs])
    shares = np.array(list(tier_shares.values()), dtype=np.float64)
    sizes = np.concatenate([apportion(int(n), shares) for n in per_region])
    start = np.zeros(sizes.size + 1, np.int64)
    np.cumsum(sizes, out=start[1:])
    return Layout(
        agents=agents,
        represented=represented,
        region_codes=np.array([r.code for r in regs], np.int32),
        region_names=tuple(r.name for r in regs),
        tiers=tuple(tier_shares),
        group_start=start,
    )
