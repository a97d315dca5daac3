"""A changed study re-runs exactly what changed, says what, and never mixes in stale results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialcredit.errors import InputError
from socialcredit.study import report, runner
from socialcredit.study.spec import load_study

STUDY = """
name = "resume"
population = 3000
seeds = [1, 2]
threads = 1

[[runs]]
name = "court"
regime = "law-bound"
scenario = "national-2013"
start = 2016-01-01
end = 2016-06-30
overrides = { tiers.low.uses_per_year."restrict.g_train" = 0.5 }

[[runs]]
name = "unified"
regime = "unified-score"
scenario = "unified-2020"
end = 2020-06-30
"""


def study(tmp: Path, text: str) -> runner.Study:
    path = tmp / "study.toml"
    path.write_text(text)
    return load_study(path)


def stamps(out: Path) -> dict[str, int]:
    return {f.stem: f.stat().st_mtime_ns for f in (out / "results").glob("*.parquet")}


def test_a_changed_study_reruns_exactly_what_changed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner.run_study(study(tmp_path, STUDY), out)
    first = stamps(out)
    assert len(first) == 4
    inputs = json.loads((out / "runs/court/base/seed-1/inputs.json").read_text())
    assert inputs["population"] == 3000 and inputs["seed"] == 1
    assert len(inputs["catalogs"]["content_sha256"]) == 64 and inputs["code"]["source"]
    assert inputs["scenario"]["name"] == "national-2013"
    assert inputs["scenario"]["tiers"]["low"]["uses_per_year"]["restrict.g_train"] == 0.5
    assert inputs["scenario"]["tiers"]["low"]["uses_per_year"]["restrict.flight"] == 0.2749

    # nothing changed: nothing runs
    lines: list[str] = []
    runner.run_study(study(tmp_path, STUDY), out, report=lines.append)
    assert stamps(out) == first and lines == ["4 simulation(s) reused, 0 to run"]

    # one run's population changed: its two seeds run again, the other run's are reused
    changed = STUDY.replace("end = 2020-06-30", "end = 2020-06-30\npopulation = 2000")
    lines = []
    runner.run_study(study(tmp_path, changed), out, report=lines.append)
    now = stamps(out)
    rerun = {k for k in first if now[k] != first[k]}
    assert rerun == {"unified__base__seed-1", "unified__base__seed-2"}
    assert "re-running unified__base__seed-1: population: 3000 -> 2000" in lines

    # one rate of the world changed: named by its path
    rate = changed.replace(
        "end = 2020-06-30\n",
        "end = 2020-06-30\noverrides = { 'records_per_year.\"unified.petition\"' = 0.5 }\n",
    )
    lines = []
    runner.run_study(study(tmp_path, rate), out, report=lines.append)
    assert any(
        'scenario.records_per_year."unified.petition": 0.001 -> 0.5' in line for line in lines
    ), lines
    assert stamps(out)["court__base__seed-1"] == first["court__base__seed-1"]

    # a seed removed: its results go, and the report reads one seed only
    one_seed = rate.replace("seeds = [1, 2]", "seeds = [1]")
    lines = []
    runner.run_study(study(tmp_path, one_seed), out, report=lines.append)
    assert set(stamps(out)) == {"court__base__seed-1", "unified__base__seed-1"}
    assert any("removed 2 result(s) no longer in the study" in line for line in lines)
    assert runner.read_results(out).num_rows == 2
    assert not (out / "runs/court/base/seed-2").exists()
    page = report.render(out).read_text()
    assert "1 seed" in page


def test_refuse_changed_names_the_change_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner.run_study(study(tmp_path, STUDY), out)
    before = stamps(out)
    held = (out / "study.json").read_text()
    changed = STUDY.replace("population = 3000", "population = 2500")
    with pytest.raises(InputError, match=r"population: 3000 -> 2500") as err:
        runner.run_study(study(tmp_path, changed), out, on_change="refuse")
    assert err.value.field == "study"
    assert stamps(out) == before and (out / "study.json").read_text() == held


def test_a_report_refuses_results_it_cannot_vouch_for(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner.run_study(study(tmp_path, STUDY.replace("seeds = [1, 2]", "seeds = [1]")), out)
    # a result file made from other inputs (copied over from elsewhere) is refused by name
    other = out / "results" / "court__base__seed-1.parquet"
    resolved = json.loads((out / "resolved.json").read_text())
    resolved["simulations"]["court__base__seed-1"]["inputs_sha256"] = "0" * 64
    (out / "resolved.json").write_text(json.dumps(resolved))
    with pytest.raises(InputError, match="court__base__seed-1.parquet was made from other inputs"):
        report.render(out)
    other.unlink()
    with pytest.raises(InputError, match="lacks 1 of 2 simulations"):
        runner.read_results(out)


def test_another_study_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner.run_study(study(tmp_path, STUDY.replace("seeds = [1, 2]", "seeds = [1]")), out)
    with pytest.raises(InputError, match="holds the study 'resume'"):
        runner.run_study(study(tmp_path, STUDY.replace('name = "resume"', 'name = "b"')), out)


def test_the_command_names_what_changed(tmp_path: Path) -> None:
    import subprocess
    import sys

    one = STUDY.replace("seeds = [1, 2]", "seeds = [1]")
    (tmp_path / "s.toml").write_text(one)
    out = tmp_path / "out"
    exe = [sys.executable, "-m", "socialcredit", "study", "run", str(tmp_path / "s.toml"),
           "--out", str(out), "--no-report"]  # fmt: skip
    first = subprocess.run(exe, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    assert "0 simulation(s) reused, 2 to run" in first.stdout
    (tmp_path / "s.toml").write_text(one.replace("end = 2016-06-30", "end = 2016-03-31"))
    refused = subprocess.run(
        [*exe, "--refuse-changed"], capture_output=True, text=True, timeout=300, check=False
    )
    assert refused.returncode == 2
    assert "study:" in refused.stderr and 'end: "2016-06-30" -> "2016-03-31"' in refused.stderr
    assert "Traceback" not in refused.stderr
    again = subprocess.run(exe, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert "1 simulation(s) reused, 1 to run" in again.stdout
    assert 're-running court__base__seed-1: end: "2016-06-30" -> "2016-03-31"' in again.stdout


def test_a_changed_catalog_is_a_changed_simulation(tmp_path: Path) -> None:
    from socialcredit.policy.loader import bundled_paths

    catalog = tmp_path / "jinan.toml"
    text = bundled_paths()["jinan-dog"].read_text()
    catalog.write_text(text)
    (tmp_path / "regime.toml").write_text('name = "my-jinan"\ncatalogs = ["jinan.toml"]\n')
    spec = f"""
name = "catalog"
population = 3000
seeds = [1]
threads = 1
[[runs]]
name = "dogs"
regime = "{tmp_path / "regime.toml"}"
scenario = "jinan-2017"
end = 2017-06-30
"""
    out = tmp_path / "out"
    runner.run_study(study(tmp_path, spec), out)
    lines: list[str] = []
    runner.run_study(study(tmp_path, spec), out, report=lines.append)
    assert lines == ["1 simulation(s) reused, 0 to run"]
    assert "by_occurrence = [-3, -6, -12]" in text
    catalog.write_text(
        text.replace("by_occurrence = [-3, -6, -12]", "by_occurrence = [-4, -6, -12]")
    )
    lines = []
    runner.run_study(study(tmp_path, spec), out, report=lines.append)
    assert lines[0] == "0 simulation(s) reused, 1 to run"
    assert "re-running dogs__base__seed-1: catalogs.content_sha256:" in lines[1]
