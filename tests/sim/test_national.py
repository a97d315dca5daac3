"""The court list's national world on the one engine: calibrated against the published
figures, organisations listed with their restrictions reaching the legal representative, the
same bytes for any split, and every traced agent what the registry says of the same facts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from socialcredit.policy.loader import load
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.sim.folding import FoldRegime, FoldRun
from socialcredit.sim.run import prepare

PUBLISHED = {
    date(2018, 9, 30): {"listed_ever": 12.11e6, "measure.restrict.flight.denials": 14.63e6,
                        "measure.restrict.g_train.denials": 5.22e6, "fulfilled": 3.22e6},
    date(2018, 12, 31): {"listed_ever": 12.88e6, "measure.restrict.flight.denials": 17.46e6,
                         "measure.restrict.g_train.denials": 5.47e6, "fulfilled": 3.51e6},
}  # fmt: skip
"""FACTS.md: SPC figures for September 2018; Global Times 2019-02-28 for the end of 2018
(listed: cumulative; flights and trains: bookings blocked; fulfilled: debtors who performed)."""
STOCKS = {"listed_ever"}


@pytest.mark.parametrize("world", ["national-2013", "china"])
def test_law_bound_matches_the_published_2018_figures_within_15_percent(
    tmp_path: Path, world: str
) -> None:
    """On the court list's own scenario, and on the one world every regime runs over (its
    calibration uses figures up to the end of 2018 only)."""
    run = prepare(world, "law-bound", population=1_000_000, seed=1, end=date(2018, 12, 31))
    summary = run.run(tmp_path)
    table = pq.read_table(tmp_path / "metrics.parquet").to_pydict()
    days = list(table["date"])
    for when, targets in PUBLISHED.items():
        k = days.index(when)
        for key, target in targets.items():
            column = np.asarray(table[key])
            value = column[k] if key in STOCKS else column[: k + 1].sum()
            assert value * summary["scale"] == pytest.approx(target, rel=0.15), (when, key)


def small(tmp: Path, *, partitions: int = 1, trace: int = 0, **overrides: object) -> FoldRun:
    run = prepare("national-2013", "law-bound", population=40_000, seed=5, trace=trace,
                  start=date(2015, 1, 1), end=date(2016, 6, 30), partitions=partitions,
                  overrides=dict(overrides))  # fmt: skip
    run.run(tmp)
    return run


def test_organisations_are_listed_and_their_representatives_restricted(tmp_path: Path) -> None:
    run = small(tmp_path, trace=100_000)
    lay = run.layout
    assert lay.organisations == pytest.approx(0.03 * lay.persons, rel=0.01)
    orgs = [a for a in run.traced() if lay.is_organisation(a)]
    assert len(orgs) == lay.organisations
    listed = [a for a in orgs if run.state_of(a)["lists"]]
    assert listed
    for org in listed:
        rep = lay.representative(org)
        assert not lay.is_organisation(rep)
        mine = run.state_of(rep)
        assert {"restrict.flight", "restrict.g_train"} <= set(mine["reached"])
    # a representative restricted for the company is not counted as an innocent
    held = sum(1 for a in run.traced() if run.state_of(a)["reached"] and not run.facts_of(a))
    assert held > 0


def test_a_catalog_that_does_not_reach_representatives_restricts_nobody_for_a_company(
    tmp_path: Path,
) -> None:
    text = Path(load("court-dishonest-debtors").files[-1]).read_text()
    catalog = tmp_path / "no-reach.toml"
    catalog.write_text(text.replace('extends_to = ["legal_representative", "responsible_person", '
                                    '"actual_controller"]', "extends_to = []"))  # fmt: skip
    regime = FoldRegime.of(load(catalog), "no-reach")
    run = prepare("national-2013", regime, population=40_000, seed=5, trace=100_000,
                  start=date(2015, 1, 1), end=date(2015, 12, 31),
                  overrides={"organisations.per_person": 0.25})  # fmt: skip
    run.run(tmp_path / "out")
    assert any(run.state_of(a)["lists"] for a in run.traced() if run.layout.is_organisation(a))
    assert not any(run.state_of(a)["reached"] for a in run.traced())


@pytest.mark.parametrize("parts", [3, 31])
def test_any_split_into_partitions_gives_the_same_bytes(tmp_path: Path, parts: int) -> None:
    whole = small(tmp_path / "one", trace=300)
    split = small(tmp_path / "many", partitions=parts, trace=300)
    assert len(split.partition_bounds()) == parts
    for name in ("metrics.parquet", "summary.json", "trace.jsonl", "trace/records.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()
    assert whole.trace() == split.trace()


def replay(run: FoldRun, agent: int) -> list[Fact]:
    """A traced agent's records and lifecycle as registry facts; an organisation's come with
    the role record that makes its representative its legal representative."""
    facts: list[Fact] = []
    subject = run.subject_of(agent)
    if run.layout.is_organisation(agent):
        rep = run.subject_of(run.layout.representative(agent))
        facts.append(Record(f"role-{agent}", rep, "samr.legal_representative", "samr",
                            run.last - timedelta(days=400), counterpart=subject))  # fmt: skip
    for f in run.facts_of(agent):
        rid = f"r{f['record']}"
        facts.append(Record(rid, subject, f["record_type"], "court", _date(f["day"])))
        facts += [LifecycleEvent(rid, EventKind(k), _date(d), note=str(i))
                  for i, (k, d) in enumerate(f["events"])]  # fmt: skip
    return facts


def _date(day: int) -> date:
    from socialcredit.daycount import from_day

    return from_day(day)


def test_traced_agents_and_representatives_are_what_the_registry_says(tmp_path: Path) -> None:
    # rates raised so that traced agents collect several records, objections and payments
    run = small(
        tmp_path, trace=3_000,
        **{'records_per_year."court.dishonest_debtor.refuse_to_perform".2015': 0.4,
           'records_per_year."court.dishonest_debtor.refuse_to_perform".2016': 0.4,
           "due_process": {"wrong_share": 0.3, "objected_innocent": 0.7, "upheld_innocent": 0.8,
                           "objected_guilty": 0.3, "upheld_guilty": 0.3,
                           "fulfilment_per_year": 1.5},
           "organisations.per_person": 0.25},
    )  # fmt: skip
    index = run.regime.loaded.index
    listed = orgs = 0
    for agent in run.traced():
        if not run.facts_of(agent):
            continue
        facts = replay(run, agent)
        profile = evaluate(facts, index, run.last, subject=run.subject_of(agent))
        mine = run.state_of(agent)
        assert sorted(m.list for m in profile.lists) == mine["lists"], agent
        own = {a.measure for a in profile.measures if a.via_role is None}
        assert own == set(mine["measures"]), agent
        listed += bool(mine["lists"])
        if run.layout.is_organisation(agent) and mine["lists"]:
            orgs += 1
            rep = run.subject_of(run.layout.representative(agent))
            reached = evaluate(facts, index, run.last, subject=rep)
            assert not reached.lists  # the representative is not listed (Fa Fa [2019] 35)
            assert {a.measure for a in reached.measures} == set(mine["measures"])
            assert all(a.via_role == "legal_representative" for a in reached.measures)
    assert listed > 50 and orgs > 3
