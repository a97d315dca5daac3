"""The pre-2020 pilot city score (``pilot-2018``): refused by the registry, measured by the
simulator; and the compiled points engine's per-day grade counts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from socialcredit.errors import CatalogRefused, InputError
from socialcredit.policy.checker import Severity, check_paths, load_admissible
from socialcredit.sim.common import add_months, grade_shares
from socialcredit.sim.points import (
    BY_GRADE,
    LISTED,
    METRICS,
    RESTRICTED,
    VIOLATOR,
    PointsRegime,
    PointsRun,
    PointsScenario,
    load_points_regime,
)
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any


def pilot() -> tuple[PointsScenario, PointsRegime]:
    sc, regime = load_any("pilot-2018"), load_any_regime("pilot-2018")
    assert isinstance(sc, PointsScenario) and isinstance(regime, PointsRegime)
    return sc, regime


def test_the_registry_refuses_the_pilot_for_petitioning_and_an_unfounded_list() -> None:
    with pytest.raises(CatalogRefused) as info:
        load_admissible("pilot-2018")
    errors = {(f.code, f.location.split(": ", 1)[1]) for f in info.value.findings
              if f.severity is Severity.error}  # fmt: skip
    assert {code for code, _ in errors} == {"SC001", "SC002", "SC003", "SC009"}
    # petitioning: lawful expression, scored, with no legal basis
    assert ("SC002", "record_types[pilot.abnormal_petition].domain") in errors
    assert ("SC003", "schemes[pilot.personal].rules[pilot.abnormal_petition]") in errors
    assert ("SC001", "record_types[pilot.abnormal_petition].legal_basis") in errors
    # blood donation is health information
    assert ("SC002", "record_types[pilot.blood_donation].domain") in errors
    # the grade-D blacklist and its local memorandum rest on a normative document only
    assert ("SC001", "lists[pilot.untrustworthy].legal_basis") in errors
    assert ("SC001", "memoranda[pilot.local-joint-punishment].legal_basis") in errors
    assert any(code == "SC009" and "pilot.local-joint-punishment" in where
               for code, where in errors)  # fmt: skip
    # the Rongcheng catalog it extends is admissible on its own
    assert not [f for f in check_paths(["rongcheng"]) if f.severity is Severity.error]


def test_the_pilot_regime_restricts_by_grade_d_with_no_travel_bans() -> None:
    _, regime = pilot()
    assert regime.grade_lists == {"D"} and regime.grade_recovers
    assert not regime.to_family and not regime.record_lists & {"pilot.abnormal_petition"}
    assert regime.spec.flight_measure is None and regime.spec.train_measure is None
    assert regime.own["pilot.abnormal_petition"] < 0 < regime.own["pilot.blood_donation"]


def test_a_travel_measure_must_be_carried_by_every_restricting_list() -> None:
    text = """
kind = "points"
name = "x"
catalogs = ["pilot-2018"]
scheme = "pilot.personal"
flight_measure = "restrict.flight"
measures = ["restrict.public_hiring"]
"""
    with pytest.raises(InputError, match="does not carry it"):
        load_points_regime(text, "x.toml")
    with pytest.raises(InputError, match="at least one measure"):
        load_points_regime(text.replace('flight_measure = "restrict.flight"\n', "").replace(
            'measures = ["restrict.public_hiring"]', ""), "x.toml")  # fmt: skip


Ran = tuple[PointsRun, dict[str, Any], Path]


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    sc, regime = pilot()
    run = PointsRun(sc, regime, 60_000, 2)
    out = tmp_path_factory.mktemp("pilot")
    return run, run.run(out), out


def test_the_pilot_restricts_innocent_petitioners(pilot_run: Ran) -> None:
    run, summary, _ = pilot_run
    totals = summary["totals"]
    assert totals["listed_ever"] > 0 and totals["restricted_now"] == totals["listed_now"]
    assert totals["flight_denials"] == totals["train_denials"] == 0  # no travel measure
    # restricted with no legal violation of their own: people listed for petitioning
    assert totals["restricted_innocents"] > 0
    innocent = (run.flags & RESTRICTED != 0) & (run.flags & VIOLATOR == 0)
    assert int(innocent.sum()) == totals["restricted_innocents"]
    # who they are: the repeat petitioners, scattered over the population
    petitioners = set(run.concentrated_on("pilot.abnormal_petition").tolist())
    assert len(petitioners) == pytest.approx(60, abs=3)  # 0.1% of 60,000
    restricted = set(np.flatnonzero(run.flags & RESTRICTED).tolist())
    assert restricted and restricted <= petitioners
    assert np.all(run.flags[list(restricted)] & (LISTED | BY_GRADE) == LISTED | BY_GRADE)
    # grade D is where they are
    scores = run.base + run.score[list(restricted)].astype(np.int64)
    assert np.all(scores < 600)
    # the score recovers as records lapse, and the list lets go
    assert totals["points_expired"] > 0 and totals["delisted"] > 0


def test_grade_counts_sum_to_each_tier_every_day(pilot_run: Ran) -> None:
    run, _, out = pilot_run
    metrics = pq.read_table(out / "metrics.parquet").to_pydict()
    assert len(metrics["date"]) == run.days == 1096
    for t, tier in enumerate(run.tiers):
        per_day = np.sum([metrics[f"grade_{g}_{tier}"] for g in run.grades], axis=0)
        assert np.all(per_day == run.tier_n[t])
    # the grades move: not everyone stays at the base grade, and D appears
    assert max(metrics["grade_D_low"]) > 0
    assert min(metrics["grade_A_low"]) < run.tier_n[0]


def test_final_counts_equal_a_recount_from_the_scores(pilot_run: Ran) -> None:
    run, summary, out = pilot_run
    scores = run.base + run.score.astype(np.int64)
    low = [low for low, _ in run.bands]
    for t in range(len(run.tiers)):
        mine = scores[run.tier_of == t]
        grade = np.argmax(mine[:, None] >= np.array(low)[None, :], axis=1)
        recount = np.bincount(grade, minlength=len(run.grades))
        assert recount.tolist() == run.counts[t].tolist()
    # the last day's columns are those counts, and the summary's shares come from them
    metrics = pq.read_table(out / "metrics.parquet").to_pydict()
    for t, tier in enumerate(run.tiers):
        last = [metrics[f"grade_{g}_{tier}"][-1] for g in run.grades]
        assert last == run.counts[t].tolist()
        expected = {g: c / run.tier_n[t] for g, c in zip(run.grades, last, strict=True)}
        assert summary["grades_by_tier"][tier] == expected
    shares = grade_shares(scores.astype(np.float64), run.tier_of, run.tiers, run.bands)
    assert set(shares) == set(summary["grades_by_tier"])
    for tier, tier_shares in shares.items():
        assert summary["grades_by_tier"][tier] == pytest.approx(tier_shares, abs=1e-12)
        assert sum(tier_shares.values()) == pytest.approx(1.0)


def test_the_compiled_engine_is_deterministic(tmp_path: Path) -> None:
    sc, regime = load_any("unified-2020"), load_any_regime("unified-score")
    assert isinstance(sc, PointsScenario) and isinstance(regime, PointsRegime)
    a = PointsRun(sc, regime, 20_000, 7, end=sc.start.replace(year=2021))
    b = PointsRun(sc, regime, 20_000, 7, end=sc.start.replace(year=2021))
    first, second = a.run(tmp_path / "a"), b.run(tmp_path / "b")
    assert first == second
    for name in ("metrics.parquet", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = PointsRun(sc, regime, 20_000, 8, end=sc.start.replace(year=2021)).run(tmp_path / "c")
    assert other["totals"] != first["totals"]
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["seed"] == 7


def test_deductions_end_with_their_records_effect(tmp_path: Path) -> None:
    # littering counts 12 months (catalog): what lapses is exactly what was deducted a year
    # or more before the end, and what remains on the scores is the last year's deductions
    sc, regime = pilot()
    only = sc.model_copy(
        update={"records_per_year": {"pilot.littering": 0.5}, "records_from": {},
                "concentration": {}}
    )  # fmt: skip
    run = PointsRun(only, regime, 5_000, 3, start=date(2018, 1, 1), end=date(2019, 6, 30))
    rows, _ = run.simulate()
    deducted = rows[:, METRICS.index("points_deducted")]
    expired = rows[:, METRICS.index("points_expired")]
    lapsed = [d for d in range(run.days) if add_months(run.first + timedelta(days=d), 12)
              <= run.last]  # fmt: skip
    assert 0 < expired.sum() == deducted[lapsed].sum()
    assert -int(run.score.astype(np.int64).sum()) == deducted.sum() - expired.sum()
    # day by day: twelve calendar months later, to the day
    day = (date(2019, 3, 15) - run.first).days
    assert expired[day] == deducted[(date(2018, 3, 15) - run.first).days]


def test_simulate_runs_the_pilot_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "p"
    result = subprocess.run(
        [sys.executable, "-m", "socialcredit", "simulate", "--scenario", "pilot-2018",
         "--regime", "pilot-2018", "--population", "20000", "--end", "2018-12-31",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["represented"] == 600_000 and summary["scale"] == 30
    columns = pq.read_schema(out / "metrics.parquet").names
    assert "grade_D_low" in columns and "grade_AAA_high" in columns
