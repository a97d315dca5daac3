"""Studies: every (run, point, seed) once, resumable, a self-contained report, clear errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.errors import InputError
from socialcredit.study import report, runner
from socialcredit.study.spec import load_study

STUDY = """
name = "tiny"
description = "two regimes and a sweep"
population = 5000
seeds = [1, 2]
threads = 1

[[runs]]
name = "court"
regime = "law-bound"
scenario = "national-2013"
start = 2015-01-01
end = 2015-12-31
overrides = { 'records_per_year."court.dishonest_debtor.refuse_to_perform"' = { "2015" = 0.01 } }

[[runs]]
name = "pilot"
regime = "pilot-2018"
scenario = "pilot-2018"
end = 2018-06-30

[sweep]
run = "court"
"due_process.wrong_share" = [0.0, 0.2]
"due_process.upheld_innocent" = [0.9]
"""


def write(tmp: Path, text: str = STUDY) -> Path:
    path = tmp / "study.toml"
    path.write_text(text)
    return path


def test_a_study_runs_each_simulation_once_and_reports(tmp_path: Path) -> None:
    study = load_study(write(tmp_path))
    out = tmp_path / "out"
    files = runner.run_study(study, out)
    # court: base + 2 grid points, pilot: base; two seeds each
    assert len(files) == (3 + 1) * 2
    results = runner.read_results(out)
    assert results.num_rows == 8
    rows = results.to_pylist()
    swept = {(r["point"], r["seed"]): r for r in rows if r["run"] == "court"}
    none = swept[('{"due_process.upheld_innocent": 0.9, "due_process.wrong_share": 0.0}', 1)]
    many = swept[('{"due_process.upheld_innocent": 0.9, "due_process.wrong_share": 0.2}', 1)]
    assert none["t_false_records"] == 0 < many["t_false_records"]
    # resumable: finished simulations are not run again
    before = {f: f.stat().st_mtime_ns for f in files}
    runner.run_study(study, out)
    assert {f: f.stat().st_mtime_ns for f in files} == before
    page = report.render(out).read_text()
    assert "Side by side" in page and "court" in page and "pilot" in page
    assert len(re.findall(r"<img src='data:image/png;base64,", page)) >= 4
    assert not re.search(r"(src|href)=['\"]https?:", page)  # self-contained


def test_confidence_interval() -> None:
    mean, half = report.ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.303 * 1.0 / 3**0.5)
    assert report.ci([5.0]) == (5.0, 0.0)


def test_bad_studies_fail_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="sweep.run"):
        load_study(write(tmp_path, STUDY.replace('run = "court"', 'run = "nope"')))
    bad = load_study(write(tmp_path, STUDY.replace('regime = "pilot-2018"', 'regime = "nope"')))
    with pytest.raises(InputError, match="regime"):
        runner.run_study(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "results").exists()
    # a scenario's conduct names record types the regime's catalogs lack: refused by name
    mixed = STUDY.replace('regime = "pilot-2018"', 'regime = "law-bound"')
    with pytest.raises(InputError, match="no record type 'pilot.abnormal_petition'"):
        runner.run_study(load_study(write(tmp_path, mixed)), tmp_path / "out2")
    assert not (tmp_path / "out2" / "results").exists()
    cli = subprocess.run(
        [sys.executable, "-m", "socialcredit", "study", "run", str(tmp_path / "missing.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 2 and "study" in cli.stderr
