"""Inequality and mobility of scores, as the study report shows them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialcredit.sim.common import gini
from socialcredit.sim.points import BOTTOM, PointsRegime, PointsRun, PointsScenario
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any


def test_gini_of_known_populations() -> None:
    assert gini(np.array([5]), np.array([10])) == 0.0
    assert gini(np.array([1, 2, 3, 4]), np.array([1, 1, 1, 1])) == pytest.approx(0.25)
    # counts are frequencies: the same as listing each value
    assert gini(np.array([1, 4]), np.array([3, 1])) == pytest.approx(
        gini(np.array([1, 1, 1, 4]), np.array([1, 1, 1, 1]))
    )
    # one agent holds everything
    assert gini(np.array([0, 100]), np.array([99, 1])) == pytest.approx(0.99)


@pytest.mark.parametrize(("scenario", "regime"), [("pilot-2018", "pilot-2018"),
                                                  ("unified-2020", "unified-score")])  # fmt: skip
def test_score_engines_report_gini_and_mobility(tmp_path: Path, scenario: str, regime: str) -> None:
    sc, reg = load_any(scenario), load_any_regime(regime)
    assert isinstance(sc, PointsScenario) and isinstance(reg, PointsRegime)
    run = PointsRun(sc, reg, 30_000, 3)
    summary = run.run(tmp_path)
    scores = run.base + run.score.astype(np.float64)
    values, counts = np.unique(scores, return_counts=True)
    assert summary["gini"] == pytest.approx(gini(values, counts))
    assert 0 < summary["gini"] < 1
    fell = (run.flags & BOTTOM) != 0
    lowest_min = run.bands[-2][0]  # the lowest grade is below the next band's minimum
    still = (scores[fell] < lowest_min).sum()
    assert fell.sum() > 0
    assert summary["mobility"] == pytest.approx((fell.sum() - still) / fell.sum())


def test_the_opt_in_score_reports_its_gini(tmp_path: Path) -> None:
    from socialcredit.sim.weighted import WeightedRegime, WeightedRun, WeightedScenario

    sc, reg = load_any("sesame-hangzhou"), load_any_regime("sesame")
    assert isinstance(sc, WeightedScenario) and isinstance(reg, WeightedRegime)
    run = WeightedRun(sc, reg, 20_000, 2)
    summary = run.run(tmp_path)
    scores = run.score[~np.isnan(run.score)]
    values, counts = np.unique(np.rint(scores), return_counts=True)
    assert summary["gini"] == pytest.approx(gini(values, counts))
    assert 0 < summary["gini"] < 0.5
