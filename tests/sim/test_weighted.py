"""The opt-in private score: equal to the registry on replay, and calibrated to Hangzhou."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from socialcredit.identifiers import resident_id
from socialcredit.policy.checker import load_admissible
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import Record
from socialcredit.sim.common import grade_shares
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any
from socialcredit.sim.weighted import WeightedRegime, WeightedRun, WeightedScenario


def sesame() -> tuple[WeightedScenario, WeightedRegime]:
    sc, regime = load_any("sesame-hangzhou"), load_any_regime("sesame")
    assert isinstance(sc, WeightedScenario) and isinstance(regime, WeightedRegime)
    return sc, regime


# 2020-06-30: past 60 months from the start, so that records leaving the fold are checked too
@pytest.mark.parametrize("end", [date(2016, 6, 30), date(2020, 6, 30)])
def test_traced_members_replayed_through_the_registry_agree(tmp_path: Path, end: date) -> None:
    sc, regime = sesame()
    load_admissible("sesame")  # an admissible catalog: the registry runs it too
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
    scores = run.score
    for agent, records in by_agent.items():
        profile = evaluate(records, regime.loaded, end, subject=records[0].subject)
        score = profile.schemes[regime.spec.scheme].score
        assert score == pytest.approx(scores[agent], abs=1e-6), agent
        perks = {a.measure for a in profile.measures}
        assert bool(perks) == (scores[agent] >= run.perk_at)
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


def test_counters_kept_as_scores_change_equal_a_recount(tmp_path: Path) -> None:
    sc, regime = sesame()
    run = WeightedRun(sc, regime, 5000, 2, end=date(2020, 6, 30))  # some records leave the fold
    summary = run.run(tmp_path)
    scores = run.score
    scored = scores[~np.isnan(scores)]
    totals = summary["totals"]
    assert totals["scored"] == scored.size
    assert totals["qualified"] == int((scored >= run.perk_at).sum())
    assert totals["mean_score_x100"] == round(float(scored.mean()) * 100)
    lay = run.layout
    tier_of = np.repeat(np.tile(np.arange(lay.n_tiers), lay.n_regions), lay.group_sizes())
    assert summary["grades_by_tier"] == grade_shares(scores, tier_of, list(sc.tiers), run.bands)
    metrics = pq.read_table(tmp_path / "metrics.parquet").to_pylist()
    last = metrics[-1]
    for t, tier in enumerate(sc.tiers):
        mine = scores[(tier_of == t) & ~np.isnan(scores)]
        upper = np.inf
        for low, grade in run.bands:
            assert last[f"grade_{grade}_{tier}"] == int(((mine >= low) & (mine < upper)).sum())
            upper = low
    assert sum(row["records"] for row in metrics) == totals["records"]


def test_same_seed_same_outputs(tmp_path: Path) -> None:
    sc, regime = sesame()
    one = WeightedRun(sc, regime, 5000, 3, 50)
    two = WeightedRun(sc, regime, 5000, 3, 50)
    assert one.run(tmp_path / "a") == two.run(tmp_path / "b")
    assert one.trace_rows == two.trace_rows and one.trace_rows
    assert (tmp_path / "a" / "metrics.parquet").read_bytes() == (
        tmp_path / "b" / "metrics.parquet"
    ).read_bytes()
    other = WeightedRun(sc, regime, 5000, 4).run(tmp_path / "c")
    assert other["totals"] != one.run(tmp_path / "d")["totals"]
