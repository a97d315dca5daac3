"""Restricted innocents by cause: which causes a regime can have follows from its catalogs and
its scenario or world; the figure for each is the simulator's own count, with its interval, and
a cause the regime cannot have reads n/a with the reason. No number is made up."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.scenario import load_any
from socialcredit.study import report

PAIRS = {
    "court": ("law-bound", "national-2013"),
    "pilot": ("pilot-2018", "pilot-2018"),
    "unified": ("unified-score", "unified-2020"),
    "sesame": ("sesame", "sesame-hangzhou"),
}


def causes_of(regime: str, scenario: str, **overrides: Any) -> dict[str, tuple[str, str]]:
    loaded = load_any_regime(regime)
    return report.innocent_causes(
        loaded.loaded.index,
        load_any(scenario, **overrides).model_dump(mode="json"),
        loaded.spec.model_dump(mode="json"),
    )


@pytest.fixture(scope="module")
def causes() -> dict[str, dict[str, tuple[str, str]]]:
    return {run: causes_of(*pair) for run, pair in PAIRS.items()}


def kinds(found: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {cause: kind for cause, (kind, _why) in found.items()}


def test_each_regime_has_the_causes_its_catalogs_and_scenario_allow(
    causes: dict[str, dict[str, tuple[str, str]]],
) -> None:
    # the court list: wrong records only (0.5% of records name the wrong person)
    assert kinds(causes["court"]) == {
        "wrong_record": "possible", "relative_or_contact": "impossible",
        "camera_misattribution": "impossible", "lawful_conduct": "impossible",
    }  # fmt: skip
    # the unified score: family and friends, lawful conduct scored; its scenario's cameras
    # name no one by mistake, its cameras over the world do (2%)
    unified = kinds(causes["unified"])
    assert unified["relative_or_contact"] == "possible"
    assert unified["lawful_conduct"] == "possible"
    assert causes["unified"]["camera_misattribution"] == (
        "impossible",
        "the regime's cameras name no one by mistake (misattribution 0)",
    )
    over_world = kinds(causes_of("unified-score", "china"))
    assert set(over_world.values()) == {"possible"}
    assert kinds(causes_of("law-bound", "china"))["lawful_conduct"] == "impossible"
    # the pilot city deducts points for petitioning: lawful conduct scored
    assert kinds(causes["pilot"])["lawful_conduct"] == "possible"
    # the reasons name what rules a cause out
    assert "wrong_share 0" in causes["sesame"]["wrong_record"][1]


def test_a_scenario_change_moves_a_cause_in_or_out() -> None:
    assert causes_of("law-bound", "national-2013")["wrong_record"][0] == "possible"
    no_mixups = causes_of("law-bound", "national-2013", **{"due_process.wrong_share": 0.0})
    assert no_mixups["wrong_record"][0] == "impossible"
    alone = causes_of("unified-score", "unified-2020", household_size=1, friends=0)
    assert alone["relative_or_contact"] == ("impossible", "the scenario gives no one a household")
    seen = causes_of("unified-score", "unified-2020", camera_misattribution=0.05)
    assert seen["camera_misattribution"] == ("possible", "")


def results(rows: dict[str, list[dict[str, float]]]) -> pa.Table:
    """Result rows as the study runner writes them: per run, one row per seed with totals."""
    flat = []
    for run, seeds in rows.items():
        for k, totals in enumerate(seeds):
            flat.append({"run": run, "point": "{}", "seed": k + 1, "population": 100_000,
                         "start": "2020-01-01", "end": "2020-12-31",
                         **{f"t_{key}": value for key, value in totals.items()}})  # fmt: skip
    return pa.Table.from_pylist(flat)


def test_each_cause_reads_the_simulators_count_or_why_there_is_none(
    causes: dict[str, dict[str, tuple[str, str]]], tmp_path: Path
) -> None:
    runs = [*PAIRS, "old"]
    counted = {f"restricted_innocents.{c}": 0.0 for c in report.CAUSES}
    table = results({
        "court": [{**counted, "restricted_innocents.wrong_record": 50.0},
                  {**counted, "restricted_innocents.wrong_record": 54.0}],
        "pilot": [counted, counted],
        "unified": [{**counted, "restricted_innocents.relative_or_contact": 900.0,
                     "restricted_innocents.lawful_conduct": 300.0}] * 2,
        "sesame": [counted],
        "old": [{"restricted_innocents": 7.0}],  # results from before the count by cause
    })  # fmt: skip
    causes = {**causes, "old": causes["court"]}
    rows = {r["key"]: r["cells"] for r in report.innocents_by_cause(table, runs, causes)}
    court = rows["wrong_record"]["court"]
    assert court is not None and court["mean"] == 52.0 and court["raw"] == 52.0
    assert court["half"] > 0 and court["seeds"] == 2
    assert rows["relative_or_contact"]["court"] == {"na": causes["court"]["relative_or_contact"][1]}
    assert rows["relative_or_contact"]["unified"]["mean"] == pytest.approx(900.0)  # type: ignore[index]
    assert rows["lawful_conduct"]["unified"]["mean"] == pytest.approx(300.0)  # type: ignore[index]
    assert rows["camera_misattribution"]["unified"] == {
        "na": "the regime's cameras name no one by mistake (misattribution 0)"
    }
    assert rows["wrong_record"]["old"] == {"unmeasured": report.UNCOUNTED}

    page = report._causes_html(report.innocents_by_cause(table, runs, causes), runs, {})
    assert "<td class='unmeasured' title='not measured: these results come from" in page
    assert "counted twice" in page
    report.export_causes(tmp_path, report.innocents_by_cause(table, runs, causes), runs)
    with (tmp_path / "innocents_by_cause.csv").open() as f:
        got = list(csv.DictReader(f))
    assert len(got) == len(report.CAUSES) * len(runs)
    mine = {(r["cause"], r["run"]): r for r in got}
    assert mine[("wrong_record", "court")]["mean"] == "52"
    assert float(mine[("lawful_conduct", "unified")]["mean"]) == pytest.approx(300.0)
    assert mine[("wrong_record", "old")]["not_measured"].startswith("not measured")


def test_a_study_that_varies_no_assumption_says_so_and_where_to_see_it() -> None:
    from socialcredit.study.spec import load_study

    demo_study, assumptions = load_study("demo"), load_study("assumptions")
    assert demo_study.sensitivity is None and assumptions.sensitivity is not None
    without = "".join(report._assumptions(demo_study, {}))
    assert "<p id='no-sensitivity'>This study varies no assumption" in without
    assert "socialcredit study run assumptions" in without
    assert "no-sensitivity" not in "".join(report._assumptions(assumptions, {}))
