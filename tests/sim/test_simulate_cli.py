"""``socialcredit simulate`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

EXE = [sys.executable, "-m", "socialcredit", "simulate"]


def test_simulate_writes_metrics_summary_and_trace(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [*EXE, "--scenario", "national-2013", "--regime", "law-bound", "--population", "20000",
         "--start", "2016-01-01", "--end", "2016-06-30", "--seed", "3", "--threads", "2",
         "--out", str(out), "--trace", "50"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["population"] == 20000 and summary["start"] == "2016-01-01"
    for key in ("listed_ever", "listed_now", "measure.restrict.flight.denials",
                "measure.restrict.g_train.denials", "fulfilled",
                "restricted_innocents"):  # fmt: skip
        assert key in summary["totals"] and key in summary["scaled"]
    national = pq.read_table(out / "metrics.parquet")
    assert national.num_rows == 182
    by_region = pq.read_table(out / "metrics_by_region.parquet")
    assert by_region.num_rows == 182 * 31
    # the provinces add up to the nation, column by column, day by day
    for name in national.column_names[1:]:
        per_day = by_region.column(name).to_numpy().reshape(182, 31).sum(axis=1)
        assert (per_day == national.column(name).to_numpy()).all(), name
    assert by_region.column("records").to_numpy().sum() == summary["totals"]["records"] > 0
    assert json.loads((out / "scenario.json").read_text())["name"] == "national-2013"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nowhere"], "scenario: no scenario 'nowhere'"),
        (["--scenario", "national-2013", "--regime", "utopia"], "regime: no regime 'utopia'"),
        (
            ["--scenario", "national-2013", "--start", "2018-01-01", "--end", "2017-01-01"],
            "end: 2017-01-01 is before the start",
        ),
        (["--scenario", "national-2013", "--end", "2018-02-30"], "end: '2018-02-30' is not a date"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [*EXE, *args, "--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
