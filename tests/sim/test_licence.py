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


def test_records_leave_the_period_on_the_registry_day(tmp_path: Path) -> None:
    # records of 29 February 2016 leave the 24-month period on 1 March 2018, not on the 28th
    sc, regime = jinan(offences_per_year=6.0, deterrence=0.9, missed_renewal=0.2)
    leap = date(2016, 2, 29)
    for end in (date(2018, 2, 28), date(2018, 3, 1)):
        run = LicenceRun(sc, regime, 1000, 4, 1000, start=date(2016, 1, 1), end=end)
        run.run(tmp_path / end.isoformat())
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
        assert any(r.decided_on == leap for records in by_agent.values() for r in records)
        for agent, records in by_agent.items():
            result = evaluate(records, regime.loaded, end, subject=records[0].subject).schemes[
                regime.spec.scheme
            ]
            assert result.score == run.balance[agent], agent
            assert bool(result.exhausted) == bool(run.exhausted[agent]), agent


def test_counters_kept_as_balances_change_equal_a_recount(tmp_path: Path) -> None:
    sc, regime = jinan(offences_per_year=1.5, deterrence=0.8, missed_renewal=0.2)
    run = LicenceRun(sc, regime, 5000, 2, end=date(2019, 12, 31))
    totals = run.run(tmp_path)["totals"]
    assert totals["holders_at_12"] == int((run.balance >= 12).sum())
    assert totals["holders_below_6"] == int((run.balance < 6).sum())
    assert totals["exhausted_now"] == int(run.exhausted.sum()) > 0
    assert totals["exhausted_ever"] == int(run.ever.sum()) > totals["exhausted_now"]


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    sc, regime = jinan()
    one = LicenceRun(sc, regime, 5000, 3, 100)
    two = LicenceRun(sc, regime, 5000, 3, 100)
    assert one.run(tmp_path / "a") == two.run(tmp_path / "b")
    assert one.trace_rows == two.trace_rows and one.trace_rows
    for name in ("metrics.parquet", "summary.json", "trace.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


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
