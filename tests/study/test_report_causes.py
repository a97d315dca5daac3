"""Restricted innocents by cause: each regime's causes follow from its catalogs and scenario;
a regime with one way only of restricting an innocent person has all of them by that cause,
one with several reads "not measured" for each, and camera misattribution, which the simulator
does not model, says so. No number is made up."""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

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
    index = load_any_regime(regime).loaded.index
    return report.innocent_causes(index, load_any(scenario, **overrides).model_dump(mode="json"))


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
    # the unified score: family and friends, lawful conduct scored, cameras (not modelled)
    unified = kinds(causes["unified"])
    assert unified["relative_or_contact"] == "possible"
    assert unified["lawful_conduct"] == "possible"
    assert unified["camera_misattribution"] == "not_modelled"
    assert "no parameter for a camera" in causes["unified"]["camera_misattribution"][1]
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


def total(mean: float, raw: float) -> dict[str, Any]:
    return {"mean": mean, "half": mean / 10, "seeds": 2, "raw": raw, "small": raw < 20}


def test_the_table_gives_a_number_only_where_there_is_one_cause(
    causes: dict[str, dict[str, tuple[str, str]]], tmp_path: Path
) -> None:
    runs = list(PAIRS)
    table = [{
        "key": "restricted_innocents", "how": "stock", "label": "Restricted innocents",
        "cells": {"court": total(52.0, 130.0), "pilot": total(4.0, 9.0),
                  "unified": total(900.0, 4000.0), "sesame": {"na": "regime sesame has no list"}},
    }]  # fmt: skip
    rows = {r["key"]: r["cells"] for r in report.innocents_by_cause(table, runs, causes)}
    court = rows["wrong_record"]["court"]
    assert court is not None and court["mean"] == 52.0 and court["only"]
    assert rows["relative_or_contact"]["court"] == {"na": causes["court"]["relative_or_contact"][1]}
    for cause in ("wrong_record", "relative_or_contact", "lawful_conduct"):
        cell = rows[cause]["unified"]
        assert cell is not None and "mean" not in cell, cause
        if causes["unified"][cause][0] == "possible":
            assert cell["unmeasured"] == report.NOT_BY_CAUSE
    assert rows["camera_misattribution"]["unified"] == {"unmeasured": report.CAMERA_NOT_MODELLED}
    assert all(rows[c]["sesame"] == {"na": "regime sesame has no list"} for c in rows)
    # no cell anywhere holds a number the total does not give whole
    for cells in rows.values():
        for run, cell in cells.items():
            if cell is not None and "mean" in cell:
                assert cell["only"] and cell["mean"] == table[0]["cells"][run]["mean"]

    page = report._causes_html(report.innocents_by_cause(table, runs, causes), runs, {})
    assert "<td class='unmeasured' title='not measured: the simulator counts" in page
    assert "all of them: the only way this regime restricts an innocent person" in page
    assert html.escape("not modelled") in page
    report.export_causes(tmp_path, report.innocents_by_cause(table, runs, causes), runs)
    with (tmp_path / "innocents_by_cause.csv").open() as f:
        got = list(csv.DictReader(f))
    assert len(got) == len(report.CAUSES) * len(runs)
    mine = {(r["cause"], r["run"]): r for r in got}
    assert mine[("wrong_record", "court")]["mean"] == "52"
    assert mine[("lawful_conduct", "unified")]["not_measured"].startswith("not measured")


def test_a_study_that_varies_no_assumption_says_so_and_where_to_see_it() -> None:
    from socialcredit.study.spec import load_study

    demo_study, assumptions = load_study("demo"), load_study("assumptions")
    assert demo_study.sensitivity is None and assumptions.sensitivity is not None
    without = "".join(report._assumptions(demo_study, {}))
    assert "<p id='no-sensitivity'>This study varies no assumption" in without
    assert "socialcredit study run assumptions" in without
    assert "no-sensitivity" not in "".join(report._assumptions(assumptions, {}))
