"""One world under every regime: the same people doing the same things, recorded differently."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from socialcredit.errors import InputError
from socialcredit.sim.folding import FoldRun
from socialcredit.sim.run import prepare
from socialcredit.sim.world import World

EXE = [sys.executable, "-m", "socialcredit", "simulate"]
COURT = "list.court.judgment_debtor.in_force"


def run(tmp: Path, regime: str | Path, *, trace: int = 0, **kw: object) -> FoldRun:
    sim = prepare("china", regime, population=60_000, seed=4, trace=trace,
                  start=date(2016, 1, 1), end=date(2017, 12, 31), **kw)  # type: ignore[arg-type]  # fmt: skip
    sim.run(tmp)
    return sim


def test_the_same_people_refuse_the_same_judgments_under_every_regime(tmp_path: Path) -> None:
    """Common random numbers: law-bound and the opt-in private score (which records the same
    court conduct, and adds a score in Hangzhou) list the same people on the same days; the
    unified score, which records it too, names the same debtors."""
    base = run(tmp_path / "law", "law-bound", trace=60_000)
    beside = run(tmp_path / "sesame", "sesame", trace=60_000)
    unified = run(tmp_path / "unified", "unified-score", trace=60_000)
    a = pq.read_table(tmp_path / "law" / "metrics.parquet").column(COURT).to_numpy()
    b = pq.read_table(tmp_path / "sesame" / "metrics.parquet").column(COURT).to_numpy()
    assert a.sum() > 0 and (a == b).all()

    def debtors(sim: FoldRun) -> set[tuple[int, int]]:
        return {(agent, f["day"]) for agent in sim.traced() for f in sim.facts_of(agent)
                if f["record_type"] == "court.dishonest_debtor.refuse_to_perform"}  # fmt: skip

    court = debtors(base)
    assert court and court == debtors(beside) == debtors(unified)
    # what differs is what each regime records: only the unified score records lawful conduct
    assert sum(len(unified.facts_of(a)) for a in unified.traced()) > 10 * len(court)


def test_a_local_regime_records_only_in_its_city(tmp_path: Path) -> None:
    sim = run(tmp_path / "jinan", "jinan-licence", trace=60_000)
    lay = sim.layout
    world = sim.scenario
    assert isinstance(world, World)
    region, lo, hi = world.area("jinan")
    dog = [a for a in sim.traced()
           if any(f["record_type"].startswith("jinan.") for f in sim.facts_of(a))]  # fmt: skip
    for agent in dog:
        g = int(np.searchsorted(lay.group_start, agent, side="right")) - 1
        g0, g1 = int(lay.group_start[g]), int(lay.group_start[g + 1])
        wrongly_named = all(f["wrong"] for f in sim.facts_of(agent))
        assert g // lay.per_region == region and (
            lo * (g1 - g0) <= agent - g0 < hi * (g1 - g0) or wrongly_named
        ), agent
    by_region = pq.read_table(tmp_path / "jinan" / "metrics_by_region.parquet")
    assert set(by_region.column("region").unique().to_pylist()) >= {"Shandong", "Beijing"}


@pytest.mark.parametrize(
    ("regime", "field", "message"),
    [
        ('[[observe]]\nprocess = "loitering"\nrecord_type = "x"', "regime.observe[0].process",
         "no conduct process 'loitering'"),
        ('[[observe]]\nprocess = "petition"\nrecord_type = "court.nowhere"',
         "regime.observe[0].record_type", "no record type 'court.nowhere'"),
        ('[[observe]]\nprocess = "petition"\n'
         'record_type = "court.dishonest_debtor.refuse_to_perform"\nwhere = "Atlantis"',
         "regime.observe.where", "no province or city 'Atlantis'"),
        ("", "regime.observe", "says nothing about how it records conduct"),
        ('[services]\n"restrict.flight" = "teleport"', "regime.services.restrict.flight",
         "no service 'teleport'"),
    ],
)  # fmt: skip
def test_a_regime_naming_what_the_world_lacks_is_refused_by_field(
    tmp_path: Path, regime: str, field: str, message: str
) -> None:
    observe = ('[[observe]]\nprocess = "judgment_refused"\n'
               'record_type = "court.dishonest_debtor.refuse_to_perform"\n')  # fmt: skip
    text = 'name = "bad"\ncatalogs = ["court-dishonest-debtors"]\n\n'
    text += (observe + "\n" + regime) if "services" in regime else regime
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        prepare("china", path, population=1_000, seed=1)
    assert caught.value.field == field and message in caught.value.message


def test_simulate_world_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [*EXE, "--world", "china", "--regime", "pilot-2018", "--population", "20000",
         "--start", "2018-01-01", "--end", "2018-03-31", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "summary.json").read_text())["scenario"] == "china"
    both = subprocess.run(
        [*EXE, "--world", "china", "--scenario", "national-2013", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert both.returncode != 0 and "world: give a --world or a --scenario" in both.stderr
    # a conduct scenario is not a world, and a world runs only over its own period
    scenario = subprocess.run(
        [*EXE, "--world", "national-2013", "--out", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert scenario.returncode != 0
    assert "world: national-2013 is a conduct scenario, not a world" in scenario.stderr
    later = subprocess.run(
        [*EXE, "--world", "china", "--population", "1000", "--start", "2040-01-01",
         "--end", "2040-02-01", "--out", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert later.returncode != 0
    assert "start: 2040-01-01 is outside the world china's period" in later.stderr
    assert not (tmp_path / "none").exists()


def _regime_with(tmp: Path, misattribution: float) -> Path:
    """The bundled unified score with its cameras' misattribution share set."""
    from socialcredit.sim.common import read_ref
    from socialcredit.sim.regime import BUNDLED

    text, _source = read_ref("unified-score", BUNDLED, "regime")
    assert "misattribution = 0.02" in text
    path = tmp / f"unified-{misattribution}.toml"
    path.write_text(text.replace("misattribution = 0.02", f"misattribution = {misattribution}"))
    return path


def test_restricted_innocents_are_counted_by_every_cause_found(tmp_path: Path) -> None:
    """The engine's count by cause equals its traced agents' causes on the last day, and each
    agent's causes are what its own facts show: a wrong record not annulled, a camera's
    misattribution, lawful conduct counted against it (relatives are what its household's
    records and lists reach: counted, not re-derived here)."""
    from socialcredit.sim.folding import CAUSES, counted_against

    sim = run(tmp_path / "u", _regime_with(tmp_path, 0.2), trace=100_000)
    summary = json.loads((tmp_path / "u" / "summary.json").read_text())["totals"]
    assert len(sim.traced()) == sim.layout.agents
    by_cause = {c: 0 for c in CAUSES}
    against = counted_against(sim.regime.loaded.index)
    last = (sim.last - date(1970, 1, 1)).days
    for agent in sim.traced():
        state, facts = sim.state_of(agent), sim.facts_of(agent)
        for cause in state["causes"]:
            by_cause[cause] += 1
        if not state["causes"]:
            continue
        live = [f for f in facts if all(day > last for kind, day in f["events"]
                                        if kind == "objection_upheld")]  # fmt: skip
        assert ("wrong_record" in state["causes"]) == any(
            f["wrong"] and not f["misattributed"] for f in live), agent  # fmt: skip
        assert ("camera_misattribution" in state["causes"]) == any(
            f["misattributed"] for f in live), agent  # fmt: skip
        assert ("lawful_conduct" in state["causes"]) == any(
            not f["wrong"] and f["record_type"] in against for f in live), agent  # fmt: skip
    for cause in CAUSES:
        assert summary[f"restricted_innocents.{cause}"] == by_cause[cause], cause
    innocents = summary["restricted_innocents"]
    assert 0 < innocents <= sum(by_cause.values())
    # each city's figures are its own people's: records about them, those restricted at the end
    world, lay = sim.scenario, sim.layout
    assert isinstance(world, World)
    cities = json.loads((tmp_path / "u" / "summary.json").read_text())["cities"]
    assert set(cities) == set(world.cities)
    restriction = {m for k, m in enumerate(sim.measures) if sim.reach.restriction[k]}
    for name in world.cities:
        region, lo, hi = world.area(name)
        records = restricted = persons = 0
        for agent in sim.traced():
            g = int(np.searchsorted(lay.group_start, agent, side="right")) - 1
            g0, g1 = int(lay.group_start[g]), int(lay.group_start[g + 1])
            if g // lay.per_region != region or not lo * (g1 - g0) <= agent - g0 < hi * (g1 - g0):
                continue
            persons += not lay.is_organisation(agent)
            records += len(sim.facts_of(agent))
            state = sim.state_of(agent)
            restricted += bool(restriction & {*state["measures"], *state["reached"]})
        mine = cities[name]["totals"]
        assert (cities[name]["persons"], mine["records"], mine["restricted_now"]) == (
            persons, records, restricted), name  # fmt: skip
        assert records > 0, name
    by_city = pq.read_table(tmp_path / "u" / "metrics_by_city.parquet")
    assert by_city.num_rows == len(world.cities) * ((sim.last - sim.first).days + 1)
    assert by_cause["relative_or_contact"] > 0 and by_cause["lawful_conduct"] > 0
    assert by_cause["camera_misattribution"] > 0


def test_camera_misattribution_is_a_parameter_of_the_regime(tmp_path: Path) -> None:
    """With no misattribution the cameras name no one by mistake; with some, about that share
    of their records name someone else, and the rest of the world's conduct is the same."""
    none = run(tmp_path / "none", _regime_with(tmp_path, 0.0))
    some = run(tmp_path / "some", _regime_with(tmp_path, 0.25))
    a = json.loads((tmp_path / "none" / "summary.json").read_text())["totals"]
    b = json.loads((tmp_path / "some" / "summary.json").read_text())["totals"]
    assert a["misattributed_records"] == 0 and a["restricted_innocents.camera_misattribution"] == 0
    assert b["misattributed_records"] > 0
    jay = pq.read_table(tmp_path / "some" / "metrics.parquet")
    assert b["restricted_innocents.camera_misattribution"] > 0
    assert none.regime.name == some.regime.name == "unified-score"
    # the same events: a camera's record goes to someone else, not to no one
    assert abs(a["records"] - b["records"]) < 0.01 * a["records"]
    assert jay.num_rows == (none.last - none.first).days + 1


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("", "regime.observe[0].record_type", "the regime needs a [cameras] table"),
        ("detection = 0.5\n[cameras]\ncoverage = 0.3", "regime.observe[0].detection",
         "what they catch is [cameras].coverage"),
    ],
)  # fmt: skip
def test_camera_records_need_the_regimes_cameras(
    tmp_path: Path, extra: str, field: str, message: str
) -> None:
    path = tmp_path / "cams.toml"
    path.write_text('name = "cams"\ncatalogs = ["unified-score"]\n[[observe]]\n'
                    'process = "traffic_offence"\nrecord_type = "unified.jaywalking"\n'
                    + extra + "\n")  # fmt: skip
    with pytest.raises(InputError) as caught:
        prepare("china", path, population=1_000, seed=1)
    assert caught.value.field == field and message in caught.value.message


def test_a_restriction_deters_what_the_regime_says_and_it_is_counted(tmp_path: Path) -> None:
    """The unified score's restricted people post and petition less (its deterrence); with
    none, the same people do the same things and nothing is counted as deterred."""
    from socialcredit.sim.common import read_ref
    from socialcredit.sim.regime import BUNDLED

    text, _source = read_ref("unified-score", BUNDLED, "regime")
    assert "critical_post = 0.5" in text
    none = tmp_path / "none.toml"
    none.write_text(text.replace("critical_post = 0.5", "critical_post = 1.0")
                    .replace("petition = 0.5", "petition = 1.0"))  # fmt: skip
    silent = tmp_path / "silent.toml"
    silent.write_text(text.replace("critical_post = 0.5", "critical_post = 0.0")
                      .replace("petition = 0.5", "petition = 0.0"))  # fmt: skip
    run(tmp_path / "none", none)
    run(tmp_path / "silent", silent)
    a = json.loads((tmp_path / "none" / "summary.json").read_text())["totals"]
    b = json.loads((tmp_path / "silent" / "summary.json").read_text())["totals"]
    assert a["deterred"] == a["deterred_lawful"] == 0
    assert b["deterred"] == b["deterred_lawful"] > 0
    assert b["records"] < a["records"]
    with pytest.raises(InputError) as caught:
        bad = tmp_path / "bad.toml"
        bad.write_text(text.replace("critical_post = 0.5", "shouting = 0.5"))
        prepare("china", bad, population=1_000, seed=1)
    assert caught.value.field == "regime.deterrence.shouting"


def test_records_about_organisations_only_come_from_organisations_conduct() -> None:
    """The environment blacklist's records are about organisations only: a world where persons
    commit serious environmental violations too cannot feed it, and says why."""
    prepare("china", "law-bound", population=1_000, seed=1)  # organisations alone: accepted
    with pytest.raises(InputError) as caught:
        prepare("china", "law-bound", population=1_000, seed=1,
                overrides={"processes.environmental_serious.persons": True})  # fmt: skip
    assert caught.value.field == "regime.observe.environmental_serious"
    assert "about organisation only, but persons do" in caught.value.message


TAX_OBSERVE = """[[observe]]
process = "{process}"
record_type = "{record_type}"
"""


@pytest.mark.parametrize(
    ("process", "record_type", "message"),
    [
        ("tax_major_violation_person", "sat.major_violation",
         "'sat.major_violation' is about organisation only, but persons do"),
        ("tax_major_violation", "sat.major_dishonesty_person",
         "'sat.major_dishonesty_person' is about person only, but organisations do"),
    ],
)  # fmt: skip
def test_a_kind_s_conduct_makes_no_records_about_the_other_kind(
    tmp_path: Path, process: str, record_type: str, message: str
) -> None:
    """The tax cases of persons and of organisations are two processes, each recorded as its
    kind's record type: a regime recording persons' cases as enterprises' (which would grade
    persons D) or the reverse is refused before anything runs, naming the observation and the
    kinds."""
    path = tmp_path / "tax.toml"
    path.write_text('name = "tax"\ncatalogs = ["tax-credit"]\n\n'
                    + TAX_OBSERVE.format(process=process, record_type=record_type))  # fmt: skip
    with pytest.raises(InputError) as caught:
        prepare("china", path, population=1_000, seed=1)
    assert caught.value.field == f"regime.observe.{process}"
    assert message in caught.value.message
    # each kind's process as its kind's record type: accepted
    fine = path.with_name("fine.toml")
    fine.write_text('name = "fine"\ncatalogs = ["tax-credit"]\n\n'
                    + TAX_OBSERVE.format(process="tax_major_violation",
                                         record_type="sat.major_violation")
                    + TAX_OBSERVE.format(process="tax_major_violation_person",
                                         record_type="sat.major_violation_person"))  # fmt: skip
    prepare("china", fine, population=1_000, seed=1)


def test_the_world_checks_each_observation_s_kinds() -> None:
    """Where the world meets the regime's observations (:func:`observed_processes`), given the
    record types' kinds: the same refusals, by field, before any run is built."""
    from socialcredit.sim.regime import load_any_regime
    from socialcredit.sim.scenario import load_any
    from socialcredit.sim.world import Observe, observed_processes

    world = load_any("china")
    assert isinstance(world, World)
    regime = load_any_regime("law-bound")
    kinds = {c: rt.subject_kinds for c, rt in regime.loaded.index.record_types.items()}
    rows = observed_processes(world, regime.spec.observe, regime.book, [2015], "law-bound",
                              subject_kinds=kinds)  # fmt: skip
    assert {r.name for r in rows if r.observations} >= {"tax_major_violation",
                                                          "tax_major_violation_person"}  # fmt: skip
    for process, record_type, doers in (("tax_major_violation_person", "sat.major_violation",
                                         "persons"),
                                        ("tax_major_violation", "sat.major_violation_person",
                                         "organisations")):  # fmt: skip
        wrong = (*regime.spec.observe, Observe(process=process, record_type=record_type))
        with pytest.raises(InputError) as caught:
            observed_processes(world, wrong, regime.book, [2015], "law-bound",
                               subject_kinds=kinds)  # fmt: skip
        assert caught.value.field == f"regime.observe.{process}"
        assert f"only, but {doers} do {process} in world china" in caught.value.message


def test_a_process_nobody_does_is_refused_by_field() -> None:
    from socialcredit.api import load_world

    world = load_world("china")
    assert world.processes["tax_major_violation"].doers() == {"organisation"}
    assert world.processes["tax_major_violation_person"].doers() == {"person"}
    with pytest.raises(InputError) as caught:
        load_world("china", overrides={"processes.tax_major_violation.organisations": 0.0})
    assert caught.value.field == "world.processes.tax_major_violation.persons"
    assert "nobody does it" in caught.value.message
