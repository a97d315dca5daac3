"""A warm-up: simulated before the run's start so lists are not empty, not counted, reported."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from socialcredit.study import report, runner
from socialcredit.study.spec import load_study

STUDY = """
name = "warm"
population = 4000
seeds = [1]
threads = 1
warmup_days = 365

[[runs]]
name = "court"
regime = "law-bound"
scenario = "national-2013"
start = 2016-01-01
end = 2016-06-30

[[runs]]
name = "cold"
regime = "law-bound"
scenario = "national-2013"
start = 2016-01-01
end = 2016-06-30
warmup_days = 0

[[runs]]
name = "unified"
regime = "unified-score"
scenario = "unified-2020"
start = 2020-07-01
end = 2020-12-31
warmup_days = 181
"""


def test_a_warm_up_is_simulated_not_counted_and_reported(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(STUDY)
    out = tmp_path / "out"
    runner.run_study(load_study(tmp_path / "s.toml"), out)
    rows = {r["run"]: r for r in runner.read_results(out).to_pylist()}
    assert rows["court"]["warmup_from"] == "2015-01-01" and rows["court"]["start"] == "2016-01-01"
    assert rows["cold"]["warmup_from"] is None
    assert rows["unified"]["warmup_from"] == "2020-01-02"
    for run, first in (("court", date(2016, 1, 1)), ("unified", date(2020, 7, 1))):
        metrics = pq.read_table(out / f"runs/{run}/base/seed-1/metrics.parquet")
        days = metrics.column("date").to_pylist()
        counted = np.array([d >= first for d in days])
        assert days[0] < first  # simulated from the warm-up's first day
        for flow in ("records", "newly_listed"):
            column = metrics.column(flow).to_numpy()
            assert rows[run][f"t_{flow}"] == column[counted].sum() < column.sum()
        listed = metrics.column("listed_now").to_numpy()
        assert rows[run]["t_listed_now"] == listed[-1]
        assert listed[counted][0] > 0  # the list is not empty when counting starts
    cold = pq.read_table(out / "runs/cold/base/seed-1/metrics.parquet")
    assert cold.column("date")[0].as_py() == date(2016, 1, 1)
    assert cold.column("listed_now")[0].as_py() <= 1  # starts from an empty list
    inputs = json.loads((out / "runs/court/base/seed-1/inputs.json").read_text())
    assert inputs["warmup_days"] == 365
    page = report.render(out).read_text()
    assert "365 days from 2015-01-01" in page and "181 days from 2020-01-02" in page
    # a changed warm-up is a changed simulation
    lines: list[str] = []
    changed = STUDY.replace("warmup_days = 181", "warmup_days = 90")
    (tmp_path / "s.toml").write_text(changed)
    runner.run_study(load_study(tmp_path / "s.toml"), out, report=lines.append)
    assert "re-running unified__base__seed-1: warmup_days: 181 -> 90" in lines
