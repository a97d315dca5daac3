"""Overrides address any key of a scenario, change only what they name, and refuse unknown
names by name: in studies, in sweeps and in ``simulate --set``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.errors import InputError
from socialcredit.sim.scenario import load_any, override_path
from socialcredit.study import runner
from socialcredit.study.spec import load_study

BASE = load_any("unified-2020")


def test_an_override_touches_one_rate() -> None:
    sc = load_any("unified-2020", **{'records_per_year."unified.petition"': 0.25})
    assert sc.records_per_year["unified.petition"] == 0.25
    others = {k: v for k, v in sc.records_per_year.items() if k != "unified.petition"}
    assert others == {k: v for k, v in BASE.records_per_year.items() if k != "unified.petition"}
    assert len(others) == 5
    # TOML's own dotted key gives a nested table: merged the same way, never replacing
    nested = load_any("unified-2020", records_per_year={"unified.petition": 0.25})
    assert nested == sc
    deep = load_any("unified-2020", **{'tiers.low.uses_per_year."restrict.flight"': 9.0})
    assert deep.tiers["low"].uses_per_year == {"restrict.flight": 9.0, "restrict.g_train": 0.22}
    assert deep.tiers["low"].share == BASE.tiers["low"].share
    court = load_any("national-2013", **{"due_process.upheld_innocent": 0.9})
    assert court.due_process.upheld_innocent == 0.9
    assert court.due_process.objected_innocent == (
        load_any("national-2013").due_process.objected_innocent
    )


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"records_per_yeer": {"x": 1}}, "scenario.records_per_yeer", "no such parameter"),
        ({"due_process.wrong_shar": 0.1}, "scenario.due_process.wrong_shar", "no such parameter"),
        (
            {"records_per_year.unified.petition": 0.1},
            "scenario.records_per_year.unified",
            'a key with dots is quoted: records_per_year."unified.petition"',
        ),
        ({"records_per_year": 3}, "scenario.records_per_year", "a table is never replaced"),
        ({"start.day": 3}, "scenario.start", "is not a table"),
        ({'records_per_year."unified': 3}, 'scenario.records_per_year."unified', "unterminated"),
        ({"records_per_year.a b": 3}, "scenario.records_per_year.a b", "is not a name"),
    ],
)
def test_unknown_or_malformed_keys_are_refused_by_name(
    override: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as err:
        load_any("unified-2020", **override)
    assert err.value.field == field


def test_paths_split_at_unquoted_dots() -> None:
    assert override_path('records_per_year."unified.petition"') == [
        "records_per_year",
        "unified.petition",
    ]
    assert override_path("a.'b.c'.d") == ["a", "b.c", "d"]


def test_a_misspelt_record_type_is_refused_before_a_study_runs(tmp_path: Path) -> None:
    text = """
name = "o"
population = 2000
seeds = [1]
[[runs]]
name = "unified"
regime = "unified-score"
scenario = "unified-2020"
end = 2020-03-31
[sweep]
run = "unified"
records_per_year."unified.petiton" = [0.01, 0.1]
"""
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(InputError, match="no record type 'unified.petiton'"):
        runner.run_study(load_study(tmp_path / "s.toml"), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # spelt right, the sweep (a TOML dotted key) reaches the one rate and leaves the rest
    (tmp_path / "s.toml").write_text(text.replace("petiton", "petition"))
    study = load_study(tmp_path / "s.toml")
    assert study.sweep == {"run": "unified", 'records_per_year."unified.petition"': [0.01, 0.1]}
    runner.run_study(study, tmp_path / "out")
    resolved = json.loads((tmp_path / "out" / "resolved.json").read_text())["simulations"]
    rates = sorted(s["scenario"]["records_per_year"]["unified.petition"] for s in resolved.values())
    assert rates == [0.001, 0.01, 0.1]
    for sim in resolved.values():
        assert sim["scenario"]["records_per_year"]["unified.alcohol"] == 1.0


EXE = [sys.executable, "-m", "socialcredit"]


def test_simulate_set_uses_the_same_rules(tmp_path: Path) -> None:
    out = tmp_path / "run"
    ok = subprocess.run(
        [*EXE, "simulate", "--scenario", "unified-2020", "--regime", "unified-score",
         "--population", "2000", "--end", "2020-01-31", "--out", str(out),
         "--set", 'records_per_year."unified.petition"=0.5', "--set", "camera_coverage=0.1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    resolved = json.loads((out / "scenario.json").read_text())
    assert resolved["records_per_year"]["unified.petition"] == 0.5
    assert resolved["records_per_year"]["unified.alcohol"] == 1.0
    assert resolved["camera_coverage"] == 0.1
    for arg, message in [
        ("records_per_year.unified.petition=0.5", "a key with dots is quoted"),
        ("camera_coverag=0.1", "scenario.camera_coverag: no such parameter"),
        ("camera_coverage", "set: expected KEY=VALUE"),
        ("camera_coverage=[1", "scenario.camera_coverage: "),
    ]:
        bad = subprocess.run(
            [*EXE, "simulate", "--scenario", "unified-2020", "--regime", "unified-score",
             "--population", "2000", "--out", str(tmp_path / "bad"), "--set", arg],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert bad.returncode == 2, (arg, bad.stderr)
        assert message in bad.stderr and "Traceback" not in bad.stderr
        assert not (tmp_path / "bad").exists()


def test_scenarios_and_regimes_are_listed() -> None:
    scenarios = subprocess.run(
        [*EXE, "scenarios", "list"], capture_output=True, text=True, timeout=120, check=False
    )
    assert scenarios.returncode == 0, scenarios.stderr
    for name in ("national-2013", "unified-2020", "pilot-2018", "sesame-hangzhou", "jinan-2017"):
        assert name in scenarios.stdout
    regimes = subprocess.run(
        [*EXE, "regimes", "list"], capture_output=True, text=True, timeout=120, check=False
    )
    assert regimes.returncode == 0, regimes.stderr
    for name in ("law-bound", "unified-score", "pilot-2018", "sesame", "jinan-licence"):
        assert name in regimes.stdout
    assert "refused by the checker" in regimes.stdout


def test_a_regime_parameter_is_overridden_under_regime() -> None:
    """``regime.`` keys change the regime file (its cameras), merged like a scenario's, and an
    unknown one is refused by name; the world is left as it is."""
    from socialcredit.sim.run import prepare

    sim = prepare("china", "unified-score", population=1_000, seed=1,
                  overrides={"regime.cameras.misattribution": 0.1, "friends": 3})  # fmt: skip
    cameras = sim.regime.spec.cameras
    assert cameras is not None and cameras.misattribution == 0.1 and cameras.coverage == 0.3
    assert sim.scenario.friends == 3
    assert sim.conduct.obs_mis.max() == 0.1 and sim.conduct.obs_detect.min() == 0.3
    with pytest.raises(InputError) as caught:
        prepare("china", "unified-score", population=1_000, seed=1,
                overrides={"regime.cameras.zoom": 2})  # fmt: skip
    assert caught.value.field == "regime.cameras.zoom"
    assert "no such parameter" in caught.value.message


def test_the_bundled_sweep_of_cameras_loads_every_point() -> None:
    study = load_study("false-attribution")
    runner.check(study)
    unified = next(r for r in study.runs if r.name == "unified-score")
    points = runner.points(study, unified)
    inputs = [runner.resolve(study, unified, p) for p in points]
    assert {i["regime"]["cameras"]["coverage"] for i in inputs} == {0.1, 0.3, 0.6}
    assert {i["regime"]["cameras"]["misattribution"] for i in inputs} >= {0.005, 0.02, 0.05}
    assert len({runner.fingerprint(i) for i in inputs}) == len(points) >= 9


def test_simulate_set_reaches_the_regime(tmp_path: Path) -> None:
    from socialcredit import simulate

    out = tmp_path / "cams"
    metrics = simulate(world="china", regime="unified-score", population=2_000, seed=1,
                       start="2020-01-01", end="2020-03-31", out=out,
                       overrides={"regime.cameras.misattribution": 0.5})  # fmt: skip
    assert metrics is not None
    inputs = json.loads((out / "scenario.json").read_text())
    assert inputs["name"] == "china"
    bad = subprocess.run(
        [sys.executable, "-m", "socialcredit", "simulate", "--world", "china", "--regime",
         "unified-score", "--population", "1000", "--set", "regime.cameras.zoom=2",
         "--out", str(tmp_path / "bad")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "regime.cameras.zoom" in bad.stderr
    assert not (tmp_path / "bad").exists()
