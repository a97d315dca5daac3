"""The law-bound regime in plain words is read from its catalogs: each list it enters, who is
on it, each ground's term and ways off, what a listing restricts; nothing hand-written that a
catalog could contradict (a refusal to perform has no fixed term)."""

from __future__ import annotations

from typing import Any

from socialcredit.sim.regime import load_any_regime
from socialcredit.study.report import REGIMES, carried_lists, list_bases, recorded


def law_bound() -> tuple[Any, dict[str, Any]]:
    regime = load_any_regime("law-bound")
    return regime.loaded.index, regime.spec.model_dump(mode="json")


def test_law_bound_says_what_its_catalogs_carry_over_a_world() -> None:
    index, spec = law_bound()
    assert REGIMES["law-bound"].from_catalogs
    assert "two years" not in REGIMES["law-bound"].what
    made = recorded(index, {"kind": "world"}, spec)
    assert made["court.dishonest_debtor.refuse_to_perform"] == ("2013-10-01", None)
    assert made["sat.major_violation"] == ("2014-10-01", "2022-01-31")
    text = carried_lists(index, made)
    for lst in index.catalog.lists:
        entered = any(code in made for code in lst.entry.record_types)
        assert (f"{lst.title} (" in text) is entered, lst.id
    court = text.split("List of dishonest judgment debtors", 1)[1].split(". ", 1)[0]
    assert (
        "able to perform the judgment but refuses (recorded from 2013-10-01): no fixed "
        "term, off once the obligation is performed or at the creditor's request" in court
    )
    assert "2 years" not in court  # the other grounds are not recorded over the world
    assert "legal representative, responsible person and actual controller" in court
    tax = text.split("Major tax violation and dishonesty list", 1)[1].split(". ", 1)[0]
    assert "(recorded 2014-10-01 to 2022-01-31): 3 years;" in tax
    assert "(recorded from 2022-02-01): 3 years, off by credit repair after 1 year" in tax
    market = text.split("Seriously illegal and dishonest enterprises (market", 1)[1]
    assert "(recorded 2016-04-01 to 2021-08-31): 5 years;" in market
    assert "organisations; State Administration for Market Regulation" in market
    bases = list_bases(index, made)
    assert "List of dishonest judgment debtors: Fa Shi [2017] No. 7" in bases
    assert "STA Order No. 54 (2021)" in bases


def test_over_a_conduct_scenario_only_the_grounds_it_records() -> None:
    index, _spec = law_bound()
    made = recorded(
        index,
        {
            "records_per_year": {
                "court.dishonest_debtor.obstruct_enforcement": 0.001,
                "court.dishonest_debtor.extended_1y": 0.0,
            }
        },
    )
    text = carried_lists(index, made)
    assert text.startswith("List of dishonest judgment debtors (persons and organisations")
    assert "obstructs or resists enforcement: 2 years, off by credit repair" in text
    assert "extended" not in text  # no extension is recorded
    assert "Major tax" not in text
    every = carried_lists(index, recorded(index, {}))
    assert "2 years (extended by up to 3 years on further grounds)" in every
    assert "Environmentally trustworthy enterprises (redlist)" in every
    assert "incentives: green channel" in every
