"""The opt-in private score: equal to the registry on replay, and calibrated to Hangzhou."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from socialcredit.identifiers import resident_id
from socialcredit.policy.checker import load_admissible
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import Record
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any
from socialcredit.sim.weighted import WeightedRegime, WeightedRun, WeightedScenario


def sesame() -> tuple[WeightedScenario, WeightedRegime]:
    sc, regime = load_any("sesame-hangzhou"), load_any_regime("sesame")
    assert isinstance(sc, WeightedScenario) and isinstance(regime, WeightedRegime)
    return sc, regime


def test_traced_members_replayed_through_the_registry_agree(tmp_path: Path) -> None:
    sc, regime = sesame()
    load_admissible("sesame")  # an admissible catalog: the registry runs it too
    end = date(2016, 6, 30)
    run = WeightedRun(sc, regime, 3000, 5, 300, end=end)
    run.run(tmp_path)
    by_agent: dict[int, list[Record]] = {}
    for row in run.trace_rows:
        by_agent.setdefault(row["agent"], []).append(
            Record(
                str(row["id"]),
                resident_id(110101, date(1980, 1, 1) + timedelta(days=row["agent"]), 2),
                row["record_type"],
                "ant_group",
                run.first + timedelta(days=row["day"]),
            )
        )
    assert len(by_agent) > 150
    qualified = 0
    for agent, records in by_agent.items():
        profile = evaluate(records, regime.loaded, end, subject=records[0].subject)
        score = profile.schemes[regime.spec.scheme].score
        assert score == pytest.approx(run.score[agent], abs=1e-6), agent
        perks = {a.measure for a in profile.measures}
        assert bool(perks) == (run.score[agent] >= run.perk_at)
        qualified += bool(perks)
    assert 0 < qualified < len(by_agent)


def test_hangzhou_deposit_qualified_share_is_near_forty_percent(tmp_path: Path) -> None:
    sc, regime = sesame()
    summary = WeightedRun(sc, regime, 20_000, 1).run(tmp_path)
    # FACTS.md: 76% enrolled, 40% deposit-qualified
    assert summary["totals"]["enrolled"] / summary["population"] == pytest.approx(0.76, abs=0.01)
    assert summary["qualified_share_of_population"] == pytest.approx(0.40, abs=0.06)
    grades = summary["grades_by_tier"]
    assert grades["low"]["poor"] > grades["high"]["poor"]  # defaults cost more where money is short
