"""The unified-score caricature, run only over synthetic people, to measure its harm."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import load_admissible
from socialcredit.sim.points import PointsRegime, PointsRun, PointsScenario
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any


def unified() -> tuple[PointsScenario, PointsRegime]:
    sc, regime = load_any("unified-2020"), load_any_regime("unified-score")
    assert isinstance(sc, PointsScenario) and isinstance(regime, PointsRegime)
    return sc, regime


def test_the_registry_refuses_what_the_simulator_measures() -> None:
    with pytest.raises(CatalogRefused):
        load_admissible("unified-score")
    _, regime = unified()
    assert regime.family and regime.friends  # contagion rules come from the catalog
    assert regime.to_family and "D" in regime.grade_lists


def test_unified_score_restricts_people_for_others_conduct(tmp_path: Path) -> None:
    sc, regime = unified()
    summary = PointsRun(sc, regime, 30_000, 4).run(tmp_path / "a")
    totals = summary["totals"]
    assert totals["newly_listed"] > 0
    # no expiry and no appeal: nobody ever leaves a list
    assert totals["listed_now"] == totals["listed_ever"]
    # measures reach whole households: more people restricted than listed, many of them
    # with no legal violation of their own
    assert totals["restricted_now"] > totals["listed_now"]
    assert totals["restricted_innocents"] > 0
    for shares in summary["grades_by_tier"].values():
        assert sum(shares.values()) == pytest.approx(1.0)
    again = PointsRun(sc, regime, 30_000, 4).run(tmp_path / "b")
    assert again == summary
    assert (tmp_path / "a" / "metrics.parquet").read_bytes() == (
        tmp_path / "b" / "metrics.parquet"
    ).read_bytes()
