"""The tax and market regulators' lists over the world: law-bound (and every regime built on
it) records the world's tax and market conduct as the rules in force made records of it; an
enterprise with a tax violation is listed with its measures and off after the term or a repair;
the registry says the same of every traced agent; the run's metrics carry the new lists."""

from __future__ import annotations

import json
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from socialcredit.daycount import from_day
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.sim.folding import FoldRun
from socialcredit.sim.regime import load_any_regime
from socialcredit.sim.run import prepare

LAW_BOUND_FAMILY = ("law-bound", "jinan-licence", "sesame", "pilot-2018")
"""The regimes that carry law-bound's catalogs."""
OBSERVED = {
    ("tax_major_violation", "sat.major_violation"): (date(2014, 10, 1), date(2022, 1, 31)),
    ("tax_major_violation", "sat.major_dishonesty"): (date(2022, 2, 1), None),
    ("tax_major_violation_person", "sat.major_violation_person"): (
        date(2014, 10, 1),
        date(2022, 1, 31),
    ),
    ("tax_major_violation_person", "sat.major_dishonesty_person"): (date(2022, 2, 1), None),
    ("annual_report_missed", "samr.annual_report_missed"): (date(2014, 10, 1), None),
    ("market_serious_violation", "samr.serious_violation"): (date(2016, 4, 1), date(2021, 8, 31)),
    ("market_serious_violation", "samr.serious_illegal_dishonest"): (date(2021, 9, 1), None),
}
"""(process, record type) -> (since, until): each rule from when it was in force."""
TAX_LIST, GRADE_D = "sat.major_tax_dishonesty", "sat.credit_grade_d"
ABNORMAL, SERIOUS = "samr.abnormal_operations", "samr.serious_illegal_dishonest"


@pytest.mark.parametrize("regime", LAW_BOUND_FAMILY)
def test_law_bound_and_the_regimes_on_it_record_tax_and_market_conduct(regime: str) -> None:
    path = Path(__file__).parents[2] / "src/socialcredit/sim/regimes" / f"{regime}.toml"
    spec = tomllib.loads(path.read_text())
    assert {"tax-credit", "market-credit"} <= set(spec["catalogs"])
    seen = {(o["process"], o["record_type"]): (o.get("since"), o.get("until"))
            for o in spec["observe"]}  # fmt: skip
    for key, when in OBSERVED.items():
        assert seen[key] == when, key
    # the tax arrears the world has are no ground of any list here (see the catalog)
    assert "tax_arrears" not in {o["process"] for o in spec["observe"]}
    assert spec["services"]["restrict.tax.procurement"] == "public_procurement"
    assert spec["services"]["restrict.market.procurement"] == "public_procurement"
    book = load_any_regime(regime).book  # compiles: the engine runs every feature they use
    assert {TAX_LIST, GRADE_D, ABNORMAL, SERIOUS} <= set(book.list_ids)


def run(tmp: Path, start: date, end: date, **overrides: Any) -> FoldRun:
    sim = prepare("china", "law-bound", population=40_000, seed=7, trace=60_000, start=start,
                  end=end, overrides=overrides)  # fmt: skip
    sim.run(tmp)
    return sim


def with_type(sim: FoldRun, record_type: str) -> list[int]:
    return [a for a in sim.traced()
            if any(f["record_type"] == record_type for f in sim.facts_of(a))]  # fmt: skip


TAX_2015 = {  # every organisation about one major tax case in five years, from 2015 to mid-2015
    "processes.tax_major_violation.per_year": 2e-7,  # x 1e6 (organisations alone)
    "processes.tax_major_violation.until": date(2015, 6, 30),
    "processes.judgment_refused.per_year": 0.0,  # the court list apart
}


def test_an_enterprise_with_a_tax_violation_is_listed_with_its_measures(tmp_path: Path) -> None:
    sim = run(tmp_path, date(2015, 1, 1), date(2015, 12, 31), **TAX_2015)
    cases = with_type(sim, "sat.major_violation")
    orgs = [a for a in cases if sim.layout.is_organisation(a)]
    assert len(orgs) > 20 and not with_type(sim, "sat.major_dishonesty")
    for org in orgs:
        state = sim.state_of(org)
        assert {TAX_LIST, GRADE_D} <= set(state["lists"]), org
        assert {"restrict.tax.procurement", "restrict.tax.subsidies",
                "restrict.tax.inspections"} <= set(state["measures"])  # fmt: skip
    for person in [a for a in cases if not sim.layout.is_organisation(a)]:
        assert TAX_LIST in sim.state_of(person)["lists"]
    totals = json.loads((tmp_path / "summary.json").read_text())["totals"]
    assert totals[f"list.{TAX_LIST}.entered"] >= len(cases)
    assert totals["measure.restrict.tax.procurement.denials"] > 0  # their tenders refused


def test_under_law_bound_no_person_is_graded_d_while_enterprises_are(tmp_path: Path) -> None:
    """The tax credit evaluation rates enterprises (SAT Announcement 2014 No. 40): a person's
    major tax case (raised here, so that a small world has some) puts the person on the list
    with its joint punishment, never on the D grade, which the enterprises' cases bring. Every
    agent is traced and every D grade of the run (entered by mid-2015, kept two years) still
    holds at its end: the grade's count at the end is the enterprises' alone."""
    sim = run(tmp_path, date(2015, 1, 1), date(2015, 12, 31), **TAX_2015,
              **{"processes.tax_major_violation_person.per_year": 1e-3})  # fmt: skip
    assert len(sim.traced()) == sim.layout.agents  # every agent traced
    persons = with_type(sim, "sat.major_violation_person")
    assert len(persons) > 5
    assert not [a for a in persons if sim.layout.is_organisation(a)]
    graded, listed = [], []
    for agent in sim.traced():
        state = sim.state_of(agent)
        if GRADE_D in state["lists"]:
            assert sim.layout.is_organisation(agent), agent
            graded.append(agent)
        if not sim.layout.is_organisation(agent):
            assert "restrict.tax.inspections" not in state["measures"], agent
            if TAX_LIST in state["lists"]:
                listed.append(agent)
                assert "restrict.tax.procurement" in state["measures"], agent
    assert len(graded) > 20 and len(listed) > 5
    table = pq.read_table(tmp_path / "metrics.parquet").to_pydict()
    assert table[f"list.{GRADE_D}.in_force"][-1] == len(graded)


def test_the_listing_ends_after_its_term(tmp_path: Path) -> None:
    """The same cases three years and a half on: the D grade ended after two years, the listing
    after three (no early removal before 2022)."""
    sim = run(tmp_path, date(2015, 1, 1), date(2018, 7, 31), **TAX_2015,
              **{"due_process.repair_share": 1.0})  # fmt: skip
    cases = with_type(sim, "sat.major_violation")
    assert len(cases) > 20
    for agent in cases:
        assert not {TAX_LIST, GRADE_D} & set(sim.state_of(agent)["lists"]), agent
        assert not [m for m in sim.state_of(agent)["measures"] if m.startswith("restrict.tax.")]
    table = pq.read_table(tmp_path / "metrics.parquet").to_pydict()
    days = list(table["date"])
    on = table[f"list.{TAX_LIST}.in_force"]
    assert on[days.index(date(2018, 1, 1))] > 0 and on[-1] == 0
    grade = table[f"list.{GRADE_D}.in_force"]
    assert grade[days.index(date(2017, 1, 1))] > 0 and grade[days.index(date(2017, 7, 1))] == 0


def test_under_order_54_a_repair_ends_the_listing_after_a_year(tmp_path: Path) -> None:
    """From February 2022 an entity that applies (here: all of them, as soon as allowed) leaves
    the list after the minimum; its D grade runs its two years."""
    sim = run(tmp_path, date(2022, 2, 1), date(2023, 6, 30), **{
        "processes.tax_major_violation.per_year": 2e-7,
        "processes.tax_major_violation.until": date(2022, 3, 31),
        "processes.judgment_refused.per_year": 0.0,
        "due_process.repair_share": 1.0,
    })  # fmt: skip
    orgs = [a for a in with_type(sim, "sat.major_dishonesty") if sim.layout.is_organisation(a)]
    assert len(orgs) > 5
    for org in orgs:
        lists = set(sim.state_of(org)["lists"])
        assert TAX_LIST not in lists and GRADE_D in lists, org
    totals = json.loads((tmp_path / "summary.json").read_text())["totals"]
    assert totals["repairs_granted"] >= len(orgs)


def replay(sim: FoldRun, agent: int) -> list[Fact]:
    """A traced agent's records and their lifecycle as the registry's facts, each filed by the
    record type's authority; an organisation's with its representative's role record."""
    index = sim.regime.loaded.index
    subject = sim.subject_of(agent)
    facts: list[Fact] = []
    if sim.layout.is_organisation(agent):
        rep = sim.subject_of(sim.layout.representative(agent))
        facts.append(Record(f"role-{agent}", rep, "samr.legal_representative", "samr",
                            sim.last - timedelta(days=400), counterpart=subject))  # fmt: skip
    for f in sim.facts_of(agent):
        rid = f"r{f['record']}"
        authority = index.record_types[f["record_type"]].issuers[0]
        facts.append(Record(rid, subject, f["record_type"], authority, from_day(f["day"])))
        facts += [LifecycleEvent(rid, EventKind(k), from_day(d), note=str(i))
                  for i, (k, d) in enumerate(f["events"])]  # fmt: skip
    return facts


def test_traced_enterprises_are_what_the_registry_says(tmp_path: Path) -> None:
    """Non-filers listed until they file, serious violators under both orders, tax cases
    under both rules, some repaired, some objected to: the engine and the registry agree on
    every traced agent's lists and measures, and on what reaches a representative."""
    sim = run(tmp_path, date(2020, 6, 1), date(2022, 12, 31), **{
        "processes.tax_major_violation.per_year": 1e-7,
        "processes.market_serious_violation.per_year": 5e-8,
        "processes.annual_report_missed.per_year": 1e-7,
        "processes.judgment_refused.per_year": 0.0,
        "due_process": {"wrong_share": 0.1, "objected_innocent": 0.7, "upheld_innocent": 0.8,
                        "objected_guilty": 0.2, "upheld_guilty": 0.3,
                        "fulfilment_per_year": 1.0, "repair_share": 0.5},
    })  # fmt: skip
    index = sim.regime.loaded.index
    seen: set[str] = set()
    for agent in sim.traced():
        if not sim.facts_of(agent):
            continue
        facts = replay(sim, agent)
        profile = evaluate(facts, index, sim.last, subject=sim.subject_of(agent))
        mine = sim.state_of(agent)
        assert sorted(m.list for m in profile.lists) == sorted(mine["lists"]), agent
        own = {a.measure for a in profile.measures if a.via_role is None}
        assert own == set(mine["measures"]), agent
        seen |= set(mine["lists"])
        if sim.layout.is_organisation(agent) and SERIOUS in mine["lists"]:
            rep = sim.subject_of(sim.layout.representative(agent))
            reached = evaluate(facts, index, sim.last, subject=rep)
            assert {(a.measure, a.via_role) for a in reached.measures} == {
                ("restrict.market.officer_posts", "legal_representative")}  # fmt: skip
    assert {TAX_LIST, GRADE_D, ABNORMAL, SERIOUS} <= seen


def test_the_run_reports_the_new_lists(tmp_path: Path) -> None:
    run(tmp_path, date(2016, 1, 1), date(2016, 12, 31))
    names = set(pq.read_schema(tmp_path / "metrics.parquet").names)
    for lid in (TAX_LIST, GRADE_D, ABNORMAL, SERIOUS):
        assert {f"list.{lid}.in_force", f"list.{lid}.entered"} <= names
    for m in ("restrict.tax.procurement", "restrict.market.procurement",
              "restrict.market.officer_posts"):  # fmt: skip
        assert f"measure.{m}.denials" in names
    totals = json.loads((tmp_path / "summary.json").read_text())["totals"]
    assert totals[f"list.{ABNORMAL}.entered"] > 0  # about 6% of enterprises a year
    assert totals["measure.restrict.market.procurement.denials"] > 0
