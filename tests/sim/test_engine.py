"""The simulator: reproducible whatever the thread count, equal to the registry on replay, and
calibrated against the published figures of the court list."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import pytest

from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.sim.engine import HORIZON_DAYS, Run
from socialcredit.sim.regime import load_regime
from socialcredit.sim.scenario import load as load_scenario


def resources_text(catalog: str) -> str:
    return (files("socialcredit.policy") / "catalogs" / f"{catalog}.toml").read_text()


def resources_regime(name: str) -> str:
    return (files("socialcredit.sim") / "regimes" / f"{name}.toml").read_text()


NEVER_CHECKED = {"restrict.flight": date(2100, 1, 1), "restrict.g_train": date(2100, 1, 1)}
"""Overrides merge into the scenario's tables: checks that start after every run."""


def small_run(
    tmp: Path, *, threads: int, seed: int = 5, parts: int = 1, trace: int = 0, **overrides: object
) -> tuple[Run, dict[str, object]]:
    sc = load_scenario("national-2013", **overrides)
    first, last = date(2015, 1, 1), date(2015, 12, 31)
    run = Run(sc, load_regime("law-bound"), 40_000, seed, threads, trace, first, last, parts)
    return run, run.run(tmp)


def test_same_seed_same_bytes_whatever_the_threads(tmp_path: Path) -> None:
    _, one = small_run(tmp_path / "t1", threads=1)
    _, two = small_run(tmp_path / "t2", threads=3)
    for name in ("metrics.parquet", "metrics_by_region.parquet", "summary.json"):
        assert (tmp_path / "t1" / name).read_bytes() == (tmp_path / "t2" / name).read_bytes()
    assert one["totals"]["records"] > 0  # type: ignore[index]
    _, other = small_run(tmp_path / "s2", threads=1, seed=6)
    assert other["totals"] != one["totals"]


@pytest.mark.parametrize("parts", [2, 5, 31])
def test_partitions_are_self_contained_any_split_gives_the_same_bytes(
    tmp_path: Path, parts: int
) -> None:
    world = {"deterrence": 1.0, "refusals_per_year": {"2013": 0.05}}
    whole, _ = small_run(tmp_path / "p1", threads=1, trace=500, **world)
    split, _ = small_run(tmp_path / "pn", threads=2, parts=parts, trace=500, **world)
    assert len(split.partitions) == parts
    assert sum(p.listed_until.size for p in split.partitions) == split.layout.agents
    for name in ("metrics.parquet", "metrics_by_region.parquet", "summary.json", "trace.jsonl"):
        assert (tmp_path / "p1" / name).read_bytes() == (tmp_path / "pn" / name).read_bytes()
    assert (whole.listed_until == split.listed_until).all()


def replay(run: Run, agent: int, last: date) -> list[Fact]:
    """A traced agent's event log as registry facts, as known on ``last``; an organisation's
    log comes with the role record that makes its representative its legal representative."""
    first = run.first
    facts: list[Fact] = []
    subject = subject_of(run, agent)
    if run.layout.is_organisation(agent):
        rep = subject_of(run, run.layout.representative(agent))
        registered = first - timedelta(days=400)
        facts.append(
            Record(f"role-{agent}", rep, "samr.legal_representative", "samr", registered,
                   counterpart=subject)
        )  # fmt: skip
    for n, row in enumerate(r for r in run.trace.rows if r["agent"] == agent):
        rid = f"{agent}-{n}"
        facts.append(
            Record(
                rid,
                subject,
                run.regime.spec.record_type,
                run.regime.authority,
                first + timedelta(days=row["day"]),
            )
        )
        if row["objection_filed"] is not None:
            facts.append(
                LifecycleEvent(
                    rid, EventKind.objection_filed, first + timedelta(days=row["objection_filed"])
                )
            )
            kind = (
                EventKind.objection_upheld
                if row["objection_upheld"]
                else EventKind.objection_rejected
            )
            facts.append(
                LifecycleEvent(rid, kind, first + timedelta(days=row["objection_decided"]))
            )
        if row["fulfilled"] is not None:
            facts.append(
                LifecycleEvent(rid, EventKind.fulfilled, first + timedelta(days=row["fulfilled"]))
            )
        if row["repair_applied"] is not None:
            applied = first + timedelta(days=row["repair_applied"])
            decided = first + timedelta(days=row["repair_decided"])
            outcome = (
                EventKind.repair_granted if row["repair_granted"] else EventKind.repair_refused
            )
            facts.append(LifecycleEvent(rid, EventKind.repair_applied, applied))
            facts.append(LifecycleEvent(rid, outcome, decided))
    return [f for f in facts if (f.decided_on if isinstance(f, Record) else f.on) <= last]


def subject_of(run: Run, agent: int) -> str:
    if run.layout.is_organisation(agent):
        return organisation_code(110101, agent)
    return resident_id(110101, date(1960, 1, 1) + timedelta(days=agent % 15000), agent // 15000)


@pytest.mark.parametrize("end", [date(2015, 3, 31), date(2015, 12, 31)])
def test_traced_agents_replayed_through_the_registry_give_the_same_lists_and_measures(
    tmp_path: Path, end: date
) -> None:
    # rates raised so that traced agents collect several records, objections and payments
    sc = load_scenario(
        "national-2013",
        refusals_per_year={str(y): 0.4 for y in range(2013, 2019)},
        false_attribution=0.3,
        fulfilment_per_year=1.5,
        objection={
            "p_innocent": 0.7,
            "p_debtor": 0.3,
            "upheld_innocent": 0.8,
            "upheld_debtor": 0.3,
            "filed_after_days": 5,
            "decided_after_days": 20,
        },
        organisations={"per_person": 0.25, "refusal_factor": 1.0},
        repair={"p_apply": 0.5, "granted": 0.7, "applied_after_days": 3},
    )
    regime = load_regime("law-bound")
    run = Run(sc, regime, 3_000, 11, 1, 400, date(2014, 1, 1), end)
    run.run(tmp_path)
    traced = sorted({r["agent"] for r in run.trace.rows})
    assert len(traced) > 100
    catalog = regime.loaded
    listed = orgs_listed = 0
    listed_until = run.listed_until
    for agent in traced:
        # the simulator draws a record's future (objection outcome, payment) when it is made;
        # the registry learns it as it happens: give it everything and ask about each date
        facts = replay(run, agent, date.max)
        subject = subject_of(run, agent)
        profile = evaluate(facts, catalog, end, subject=subject)
        sim_until = int(listed_until[agent])
        in_sim = sim_until > (end - run.first).days
        assert any(m.list == regime.spec.list for m in profile.lists) == in_sim, agent
        if run.layout.is_organisation(agent):
            # the company is listed; its legal representative bears the restrictions
            orgs_listed += in_sim
            rep = subject_of(run, run.layout.representative(agent))
            profile = evaluate(facts, catalog, end, subject=rep)
            assert not profile.lists  # the representative is not listed (Fa Fa [2019] 35)
            assert all(a.via_role == "legal_representative" for a in profile.measures)
        measures = {a.measure for a in profile.measures}
        assert ("restrict.flight" in measures) == in_sim
        assert ("restrict.g_train" in measures) == in_sim
        if in_sim:
            listed += 1
            if sim_until >= run.days - 1 + HORIZON_DAYS:
                continue  # listed with no end in sight (Art. 1(1): until performed)
            last_day = run.first + timedelta(days=sim_until - 1)
            still = evaluate(facts, catalog, last_day, subject=subject)
            after = evaluate(facts, catalog, last_day + timedelta(days=1), subject=subject)
            assert any(m.list == regime.spec.list for m in still.lists), agent
            assert not any(m.list == regime.spec.list for m in after.lists), agent
    assert listed > 20
    assert orgs_listed > 3
    # Art. 1(1): performance ends the listing; credit repair is not a way off it
    assert not any(r["repair_granted"] for r in run.trace.rows)


@pytest.mark.parametrize(
    ("end", "targets"),
    [
        (
            date(2018, 9, 30),
            {
                "listed_ever": 12.11e6,
                "flight_denials": 14.63e6,
                "train_denials": 5.22e6,
                "fulfilled_after_listing": 3.22e6,
            },
        ),
        (
            date(2018, 12, 31),
            {
                "listed_ever": 12.88e6,
                "flight_denials": 17.46e6,
                "train_denials": 5.47e6,
                "fulfilled_after_listing": 3.51e6,
            },
        ),
    ],
)
def test_national_2013_matches_the_published_figures_within_15_percent(
    tmp_path: Path, end: date, targets: dict[str, float]
) -> None:
    sc = load_scenario("national-2013")
    summary = Run(sc, load_regime("law-bound"), 1_000_000, 1, 2, 0, sc.start, end).run(tmp_path)
    scaled = summary["scaled"]
    for key, target in targets.items():
        assert scaled[key] == pytest.approx(target, rel=0.15), key
    written = json.loads((tmp_path / "summary.json").read_text())
    assert set(written) >= {"population", "scale", "start", "end", "totals", "scaled"}


def test_organisations_are_listed_and_their_representatives_restricted(tmp_path: Path) -> None:
    run, summary = small_run(tmp_path, threads=1)
    lay = run.layout
    assert lay.organisations == pytest.approx(0.03 * lay.persons, rel=0.01)
    totals = summary["totals"]  # type: ignore[index]
    assert 0 < totals["organisations_listed_ever"] < totals["listed_ever"]
    assert totals["representatives_restricted"] == totals["organisations_listed_now"] > 0
    persons_listed = totals["listed_now"] - totals["organisations_listed_now"]
    assert totals["restricted_now"] == persons_listed + totals["representatives_restricted"]
    ever, now = totals["listed_ever"], totals["listed_now"]
    assert summary["mobility"] == pytest.approx((ever - now) / ever)  # type: ignore[operator]
    assert 0 < summary["mobility"] < 1  # type: ignore[operator]
    orgs = [a for a in range(lay.agents) if lay.is_organisation(a)]
    assert len(orgs) == lay.organisations
    for org in orgs[:: max(1, len(orgs) // 50)]:
        rep = lay.representative(org)
        assert not lay.is_organisation(rep)
        region = [r for r in range(lay.n_regions) if org in range(lay.agents)[lay.region_slice(r)]]
        assert rep in range(lay.agents)[lay.region_slice(region[0])]


def test_a_regime_that_does_not_reach_representatives_restricts_nobody_for_a_company(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "no-reach.toml"
    text = resources_text("court-dishonest-debtors")
    catalog.write_text(text.replace('extends_to = ["legal_representative", "responsible_person", '
                                    '"actual_controller"]', "extends_to = []"))  # fmt: skip
    regime_file = tmp_path / "no-reach-regime.toml"
    regime_file.write_text(
        resources_regime("law-bound").replace(
            'catalogs = ["court-dishonest-debtors"]', f'catalogs = ["{catalog}"]'
        )
    )
    regime = load_regime(regime_file)
    assert not regime.representatives_restricted
    sc = load_scenario("national-2013")
    summary = Run(sc, regime, 40_000, 5, 1, 0, date(2015, 1, 1), date(2015, 12, 31)).run(
        tmp_path / "out"
    )
    assert summary["totals"]["organisations_listed_now"] > 0
    assert summary["totals"]["representatives_restricted"] == 0


def test_refusals_respond_to_the_denials_people_see(tmp_path: Path) -> None:
    _, base = small_run(tmp_path / "a", threads=1)
    _, deterred = small_run(tmp_path / "b", threads=1, deterrence=2.0)
    assert deterred["totals"]["records"] < 0.9 * base["totals"]["records"]  # type: ignore[index]
    # without travel checks nobody is denied, so nothing deters
    _, unchecked = small_run(tmp_path / "c", threads=1, checks_from=NEVER_CHECKED)
    _, unchecked_det = small_run(
        tmp_path / "d", threads=1, checks_from=NEVER_CHECKED, deterrence=2.0
    )
    assert unchecked["totals"]["flight_denials"] == 0  # type: ignore[index]
    assert unchecked_det["totals"] == unchecked["totals"]


def test_listing_with_restrictions_raises_the_rate_debtors_perform(tmp_path: Path) -> None:
    # more debtors than usual, performing faster, so that a year holds enough payments
    rates = {"refusals_per_year": {str(y): 0.06 for y in range(2013, 2019)},
             "fulfilment_per_year": 2.0}  # fmt: skip
    _, checked = small_run(tmp_path / "a", threads=1, listing_fulfilment_factor=3.0, **rates)
    _, unchecked = small_run(
        tmp_path / "b",
        threads=1,
        listing_fulfilment_factor=3.0,
        checks_from=NEVER_CHECKED,
        **rates,
    )
    paid, paid_unchecked = (
        s["totals"]["fulfilled_after_listing"]  # type: ignore[index]
        for s in (checked, unchecked)
    )
    assert paid > 1000
    # a third of the hazard: fewer than half as many pay within the year (not a third: the
    # faster payers run out of debts to pay)
    assert 0.3 < paid_unchecked / paid < 0.55
