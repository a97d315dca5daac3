"""The world's tax, environment and market processes and its loan, private-school and
procurement services: present, observed where a regime's catalogs have the record type, and
making records and denials in a run."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from socialcredit.sim.folding import FoldRun
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.run import prepare
from socialcredit.sim.scenario import load_any
from socialcredit.sim.world import World

NEW_PROCESSES = {
    "tax_arrears", "tax_major_violation", "environmental_penalty", "environmental_serious",
    "annual_report_missed", "market_serious_violation",
}  # fmt: skip
NEW_SERVICES = {"loan", "private_school", "public_procurement"}
ORGANISATIONS_ONLY = NEW_PROCESSES - {"tax_arrears", "tax_major_violation"}
ENVIRONMENT = ("law-bound", "jinan-licence", "sesame", "pilot-2018")
"""The regimes that carry law-bound's catalogs, the environment's among them."""


def world() -> World:
    w = load_any("china")
    assert isinstance(w, World)
    return w


def test_the_world_has_the_new_processes_and_services() -> None:
    w = world()
    assert NEW_PROCESSES <= set(w.processes)
    for tier in w.tiers.values():
        assert NEW_SERVICES <= set(tier.uses_per_year)
        assert tier.uses_per_year["public_procurement"] == 0.0  # persons do not tender
    for name in NEW_PROCESSES:
        assert w.processes[name].organisations > 0, name
    # organisations only: a person's rate is a millionth of an organisation's, and no person
    # does it; an organisation's is a share of organisations a year
    for name in ORGANISATIONS_ONLY:
        p = w.processes[name]
        assert p.organisations == 1_000_000.0 and not p.persons
        assert all(p.rate_in(y) * p.organisations < 1 for y in range(2013, 2026)), name
    # sourced: 39,593 serious environmental cases in 2017, about 42.3 million organisations
    serious = w.processes["environmental_serious"]
    orgs = 1.41e9 * 0.03
    assert serious.rate_in(2017) * serious.organisations * orgs == pytest.approx(39_593, rel=0.01)
    assert serious.rate_in(2014) == 0.0


@pytest.mark.parametrize("regime", ENVIRONMENT)
def test_regimes_with_the_environment_catalog_observe_serious_pollution(regime: str) -> None:
    path = Path(__file__).parents[2] / "src/socialcredit/sim/regimes" / f"{regime}.toml"
    spec = tomllib.loads(path.read_text())
    assert "environment-credit" in spec["catalogs"]
    seen = {(o["process"], o["record_type"]) for o in spec["observe"]}
    assert ("environmental_serious", "mee.serious_pollution") in seen
    assert spec["services"]["restrict.private_school"] == "private_school"
    assert spec["services"]["restrict.env_procurement"] == "public_procurement"
    load_any_regime(regime)  # compiles: the engine runs every feature it uses


def run(tmp: Path, regime: str, overrides: dict[str, object]) -> tuple[FoldRun, dict[str, Any]]:
    sim = prepare("china", regime, population=40_000, seed=3, trace=40_000,
                  start=date(2017, 1, 1), end=date(2017, 12, 31), overrides=overrides)  # fmt: skip
    sim.run(tmp)
    return sim, json.loads((tmp / "summary.json").read_text())


def test_law_bound_lists_polluters_and_denies_private_schools(tmp_path: Path) -> None:
    """Rates raised so that a small, short run sees them: every organisation a serious
    environmental case a year or so, every person a private-school admission."""
    sim, summary = run(tmp_path, "law-bound", {
        "processes.environmental_serious.per_year": 1e-6,
        "tiers.low.uses_per_year.private_school": 2.0,
        "tiers.middle.uses_per_year.private_school": 2.0,
        "tiers.high.uses_per_year.private_school": 2.0,
    })  # fmt: skip
    pollution = "mee.serious_pollution"
    polluters = [a for a in sim.traced()
                 if any(f["record_type"] == pollution for f in sim.facts_of(a))]  # fmt: skip
    assert polluters and all(sim.layout.is_organisation(a) for a in polluters)
    t = summary["totals"]
    assert t["list.mee.serious_dishonesty.entered"] > 0
    # the blacklist's measures reach legal representatives (persons, who may be denied)
    assert t["measure.restrict.env_procurement.held"] > 0
    assert t["measure.restrict.private_school.denials"] > 0
    # organisations tender: a blacklisted polluter is refused public procurement
    assert t["measure.restrict.env_procurement.denials"] > 0


def test_the_pilot_denies_loans_through_the_2016_memorandum(tmp_path: Path) -> None:
    _sim, summary = run(tmp_path, "pilot-2018", {})
    t = summary["totals"]
    assert t["measure.restrict.bank_credit.held"] > 0
    assert t["measure.restrict.bank_credit.denials"] > 0
