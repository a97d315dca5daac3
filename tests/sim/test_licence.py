"""The Jinan licence scenario: equal to the registry on replay, reproducible, and runnable."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from socialcredit.identifiers import resident_id
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import Record
from socialcredit.sim.licence import LicenceRegime, LicenceRun, LicenceScenario
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any


def jinan(**overrides: object) -> tuple[LicenceScenario, LicenceRegime]:
    sc = load_any("jinan-2017", **overrides)
    regime = load_any_regime("jinan-licence")
    assert isinstance(sc, LicenceScenario) and isinstance(regime, LicenceRegime)
    return sc, regime


@pytest.mark.parametrize("end", [date(2017, 9, 30), date(2018, 8, 31), date(2019, 12, 31)])
def test_traced_holders_replayed_through_the_registry_agree(tmp_path: Path, end: date) -> None:
    # more offences and renewals missed than Jinan saw, so that traced holders lose licences
    sc, regime = jinan(offences_per_year=1.5, deterrence=0.8, missed_renewal=0.2)
    run = LicenceRun(sc, regime, 4000, 9, 400, end=end)
    run.run(tmp_path)
    by_agent: dict[int, list[Record]] = {}
    for row in run.trace_rows:
        by_agent.setdefault(row["agent"], []).append(
            Record(
                str(row["id"]),
                resident_id(110101, date(1980, 1, 1) + timedelta(days=row["agent"]), 1),
                row["record_type"],
                regime.authority,
                run.first + timedelta(days=row["day"]),
            )
        )
    assert len(by_agent) > 200
    exhausted = 0
    for agent, records in by_agent.items():
        profile = evaluate(records, regime.loaded, end, subject=records[0].subject)
        result = profile.schemes[regime.spec.scheme]
        assert result.score == run.balance[agent], agent
        assert bool(result.exhausted) == bool(run.exhausted[agent]), agent
        listed = any(m.list == regime.spec.list for m in profile.lists)
        assert listed == bool(run.exhausted[agent])
        confiscated = any(a.measure == "jinan.dog.confiscation" for a in profile.measures)
        assert confiscated == bool(run.exhausted[agent])
        exhausted += listed
    assert exhausted > 10


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    sc, regime = jinan()
    one = LicenceRun(sc, regime, 5000, 3).run(tmp_path / "a")
    two = LicenceRun(sc, regime, 5000, 3).run(tmp_path / "b")
    assert one == {**two}
    assert (tmp_path / "a" / "metrics.parquet").read_bytes() == (
        tmp_path / "b" / "metrics.parquet"
    ).read_bytes()


def test_simulate_jinan_from_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "socialcredit", "simulate", "--scenario", "jinan-2017",
         "--regime", "jinan-licence", "--population", "20000", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["represented"] == 100_000 and summary["end"] == "2018-08-31"
    assert summary["totals"]["newly_exhausted"] > 0
    mixed = subprocess.run(
        [sys.executable, "-m", "socialcredit", "simulate", "--scenario", "jinan-2017",
         "--regime", "law-bound", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert mixed.returncode != 0 and "not of the same kind" in mixed.stderr
