"""The one engine over the compiled rulebook, as users run it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from socialcredit.daycount import add_months, to_day
from socialcredit.errors import InputError
from socialcredit.policy.loader import load
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.rules import Unsupported
from socialcredit.sim.common import gini
from socialcredit.sim.folding import ConductScenario, FoldRegime, FoldRun
from socialcredit.sim.run import prepare

DATA = Path(__file__).parents[1] / "data"
CITY = DATA / "city-escalating.toml"
CONDUCT = DATA / "city-conduct.toml"
EXE = [sys.executable, "-m", "socialcredit", "simulate"]


def facts(run: FoldRun, agent: int) -> list[Fact]:
    out: list[Fact] = []
    subject = run.subject_of(agent)
    for f in run.facts_of(agent):
        rid = f"r{f['record']}"
        out.append(Record(rid, subject, f["record_type"], "a", _date(f["day"])))
        out += [LifecycleEvent(rid, EventKind(k), _date(d), note=str(i))
                for i, (k, d) in enumerate(f["events"])]  # fmt: skip
    return out


def _date(day: int):  # type: ignore[no-untyped-def]
    from socialcredit.daycount import from_day

    return from_day(day)


def test_an_escalating_city_catalog_lists_whom_the_registry_lists(tmp_path: Path) -> None:
    """The first disagreement of the old engines: deductions escalating -10/-30/-60 and a list
    entered below a threshold. The engine lists people, and each traced one is exactly what the
    reference evaluation says of the same facts."""
    run = prepare(CONDUCT, FoldRegime.of(load(CITY), "city"), population=20_000, seed=4,
                  trace=20_000)  # fmt: skip
    assert isinstance(run, FoldRun)
    summary = run.run(tmp_path)
    listed = summary["totals"]["list.city.market_blacklist.in_force"]
    assert listed > 0 and summary["totals"]["measure.city.no_procurement.denials"] > 0
    index = load(CITY).index
    compared = escalated = 0
    for agent in run.traced():
        if not run.facts_of(agent):
            continue
        p = evaluate(facts(run, agent), index, run.last, subject=run.subject_of(agent))
        mine = run.state_of(agent)
        assert sorted(m.list for m in p.lists) == mine["lists"], agent
        score = p.schemes["city.market_score"].score if p.schemes else None
        if score is not None:
            assert mine["grades"]["city.market_score"] == p.schemes["city.market_score"].grade
            assert mine["scores"]["city.market_score"] == pytest.approx(score)
            escalated += score < 60
        compared += 1
    assert compared > 1000 and escalated > 0
    assert listed == sum(1 for a in run.traced() if run.state_of(a)["lists"])


def test_a_catalog_with_a_relation_the_world_lacks_is_refused_by_name() -> None:
    """The second disagreement: sesame-full scores people by their contacts' records. This
    world has no contacts, so the catalog is refused, naming the feature and the rule."""
    with pytest.raises(Unsupported) as caught:
        FoldRegime.of(load("sesame-full"), "sesame-full")
    assert caught.value.feature.name == "rule.via.contacts"
    assert "sesame.relationships" in caught.value.feature.item or "dimension" in str(caught.value)


def test_the_same_bytes_for_any_split_into_partitions(tmp_path: Path) -> None:
    """Region partitions run one after another; every split gives the same bytes, the traced
    agents' replay included (household contagion and denials drawn per region)."""

    def outputs(partitions: int) -> list[bytes]:
        out = tmp_path / str(partitions)
        run = prepare("unified-2020", "unified-score", population=6_000, seed=3, trace=40,
                      partitions=partitions)  # fmt: skip
        assert isinstance(run, FoldRun)
        assert len(run.partition_bounds()) == partitions
        run.run(out)
        names = ["metrics.parquet", "summary.json", "trace.jsonl", "trace/records.jsonl",
                 "trace/state.jsonl", "trace/events.jsonl"]  # fmt: skip
        return [(out / n).read_bytes() for n in names]

    one = outputs(1)
    assert one == outputs(2) == outputs(5)


def test_the_same_bytes_on_any_number_of_threads(tmp_path: Path) -> None:
    import numba

    def metrics(threads: int) -> bytes:
        numba.set_num_threads(threads)
        try:
            run = prepare("unified-2020", "unified-score", population=4_000, seed=7)
            run.run(tmp_path / str(threads))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        return (tmp_path / str(threads) / "metrics.parquet").read_bytes()

    assert metrics(1) == metrics(2)


def test_runs_are_reproducible_and_seeds_differ(tmp_path: Path) -> None:
    def metrics(seed: int, where: str) -> bytes:
        run = prepare("unified-2020", "unified-score", population=3_000, seed=seed)
        run.run(tmp_path / where)
        return (tmp_path / where / "metrics.parquet").read_bytes()

    assert metrics(1, "a") == metrics(1, "b")
    assert metrics(1, "a") != metrics(2, "c")


def test_the_court_lists_grounds_for_their_terms_in_the_one_engine() -> None:
    """Art. 1(2)-(6) listings end after two years whatever the debtor does; Art. 1(1) ones
    only when the debtor performs (Fa Shi [2017] No. 7, Arts. 2 and 10)."""
    conduct = ConductScenario(
        name="court-terms",
        start=date(2015, 1, 1),
        end=date(2019, 12, 31),
        represented=20_000,
        tiers={"all": {"share": 1.0}},
        records_per_year={
            "court.dishonest_debtor.refuse_to_perform": 0.03,
            "court.dishonest_debtor.obstruct_enforcement": 0.03,
        },
        due_process={"fulfilment_per_year": 0.3},
    )
    run = FoldRun(conduct, FoldRegime.of(load("court-dishonest-debtors"), "court"), 20_000, 1,
                  trace_k=20_000)  # fmt: skip
    run.simulate()
    last = to_day(run.last)
    open_unpaid = expired = 0
    for agent in run.traced():
        listed = bool(run.state_of(agent)["lists"])
        facts_ = run.facts_of(agent)
        if not facts_:
            continue
        open_ = any(f["record_type"].endswith("refuse_to_perform")
                    and not any(k in ("fulfilled", "objection_upheld") for k, _ in f["events"])
                    for f in facts_)  # fmt: skip
        fixed = any(f["record_type"].endswith("obstruct_enforcement")
                    and last < add_months(f["day"], 24) for f in facts_)  # fmt: skip
        assert listed == (open_ or fixed), agent
        open_unpaid += open_ and all(f["day"] < last - 3 * 365 for f in facts_)
        expired += any(f["record_type"].endswith("obstruct_enforcement") for f in facts_) and (
            not listed
        )
    assert open_unpaid > 0 and expired > 0


def test_family_contagion_restricts_household_members_not_listed(tmp_path: Path) -> None:
    run = prepare("unified-2020", "unified-score", population=30_000, seed=5, trace=30_000)
    summary = run.run(tmp_path)
    states = {a: run.state_of(a) for a in run.traced()}
    reached = [a for a, s in states.items() if s["reached"] and not s["lists"]]
    assert reached
    assert summary["totals"]["restricted_innocents"] > 0
    starts = run.layout.group_start
    for agent in reached[:50]:
        g0 = int(starts[np.searchsorted(starts, agent, side="right") - 1])
        first = g0 + (agent - g0) // 3 * 3
        house = range(first, first + 3)
        assert any(run.state_of(j)["lists"] for j in house if j != agent)


def test_score_regimes_report_gini_and_mobility(tmp_path: Path) -> None:
    run = prepare("pilot-2018", "pilot-2018", population=30_000, seed=3, trace=30_000)
    summary = run.run(tmp_path)
    book = run.regime.book
    si = book.scheme_ids.index("pilot.personal")
    scores = np.array([run.state_of(a)["scores"].get("pilot.personal", book.schemes.base[si])
                       for a in run.traced()])  # fmt: skip
    values, counts = np.unique(np.rint(scores * 1e3) / 1e3, return_counts=True)
    assert summary["schemes"]["pilot.personal"]["gini"] == pytest.approx(gini(values, counts))
    assert 0 < summary["gini"] < 1


def test_the_opt_in_score_qualifies_about_four_in_ten(tmp_path: Path) -> None:
    """Calibration (FACTS.md: 40% of Hangzhou deposit-qualified)."""
    run = prepare("sesame-hangzhou", "sesame", population=20_000, seed=1)
    summary = run.run(tmp_path)
    held = summary["totals"]["measure.incentive.sesame.deposit_free_rentals.held"]
    assert 0.35 < held / 20_000 < 0.45


def test_simulate_runs_a_users_catalog_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [*EXE, "--scenario", str(CONDUCT), "--catalog", str(CITY), "--population", "5000",
         "--out", str(out), "--trace", "10"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["regime"] == "city-escalating"
    assert "list.city.market_blacklist.in_force" in summary["totals"]
    assert len((out / "trace.jsonl").read_text().splitlines()) == 10


def test_simulate_refuses_a_catalog_feature_it_cannot_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    catalog = Path(load("sesame-full").files[-1])
    result = subprocess.run(
        [*EXE, "--scenario", "sesame-hangzhou", "--catalog", str(catalog), "--population",
         "1000", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "rule.via.contacts" in result.stderr and "refused" in result.stderr
    assert not out.exists()


def test_a_conduct_scenario_naming_an_unknown_record_type_is_refused() -> None:
    with pytest.raises(InputError, match="records_per_year"):
        prepare("unified-2020", FoldRegime.of(load(CITY), "city"), population=100, seed=1)


def test_traced_agents_replay_through_the_registry_from_the_command_line(tmp_path: Path) -> None:
    """``--trace K`` writes the traced agents as records ``socialcredit records import`` loads
    unchanged, and the engine's view of each; a fresh registry with the same catalog, asked for
    each one's profile on the last day, says the same (lists, grades, measures)."""
    out, db = tmp_path / "run", tmp_path / "registry.db"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "socialcredit", *args], capture_output=True,
                              text=True, timeout=300)  # fmt: skip

    done = cli("simulate", "--scenario", str(CONDUCT), "--catalog", str(CITY), "--population",
               "20000", "--seed", "3", "--out", str(out), "--trace", "400")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "trace" / "events.jsonl").read_text() == ""  # this world has no due process
    assert cli("db", "init", "--no-catalogs", "--db", str(db)).returncode == 0
    activated = cli("catalog", "activate", str(CITY), "--from", "1949-10-01", "--db", str(db))
    assert activated.returncode == 0, activated.stderr
    imported = cli("records", "import", str(out / "trace" / "records.jsonl"), "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    states = [json.loads(line) for line in (out / "trace" / "state.jsonl").read_text().splitlines()]
    lines = (out / "trace" / "records.jsonl").read_text().splitlines()
    with_records = {json.loads(line)["subject"] for line in lines}
    compared = listed = 0
    for state in states:
        if state["subject"] not in with_records:
            assert not state["lists"] and not state["schemes"]
            continue
        shown = cli("profile", state["subject"], "--as-of", state["as_of"], "--format", "json",
                    "--db", str(db))  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        profile = json.loads(shown.stdout)
        assert [m["list"] for m in profile["lists"]] == [m["list"] for m in state["lists"]]
        assert {k: v["grade"] for k, v in profile["schemes"].items()} == {
            k: v["grade"] for k, v in state["schemes"].items()
        }
        assert {k: v["score"] for k, v in profile["schemes"].items()} == pytest.approx(
            {k: v["score"] for k, v in state["schemes"].items()}
        )
        assert sorted({m["measure"] for m in profile["measures"]}) == sorted(
            m["measure"] for m in state["measures"]
        )
        compared += 1
        listed += bool(state["lists"])
    assert compared >= 20 and listed >= 1


def test_lifecycle_events_are_counted_on_their_day() -> None:
    """Objections upheld, obligations performed and repairs granted are the flows of the day
    they happen, the same as the traced agents' own facts say."""
    conduct = ConductScenario(
        name="due-process",
        start=date(2016, 1, 1),
        end=date(2018, 12, 31),
        represented=5_000,
        tiers={"all": {"share": 1.0}},
        records_per_year={
            "court.dishonest_debtor.refuse_to_perform": 0.05,
            "court.dishonest_debtor.obstruct_enforcement": 0.05,
        },
        due_process={
            "wrong_share": 0.2,
            "objected_innocent": 0.9,
            "upheld_innocent": 0.9,
            "fulfilment_per_year": 0.5,
            "repair_share": 0.5,
        },  # fmt: skip
    )
    run = FoldRun(conduct, FoldRegime.of(load("court-dishonest-debtors"), "court"), 5_000, 2,
                  trace_k=5_000)  # fmt: skip
    result = run.simulate()
    totals = dict(zip(result["names"], result["rows"].sum(axis=0).tolist(), strict=True))
    seen = {"objection_upheld": 0, "fulfilled": 0, "repair_granted": 0}
    for agent in run.traced():
        for f in run.facts_of(agent):
            for kind, _day in f["events"]:
                if kind in seen:
                    seen[kind] += 1
    assert seen == {
        "objection_upheld": totals["objections_upheld"],
        "fulfilled": totals["fulfilled"],
        "repair_granted": totals["repairs_granted"],
    }
    assert all(v > 0 for v in seen.values())


def test_a_role_record_in_a_world_without_organisations_is_refused() -> None:
    conduct = ConductScenario(
        name="roles", start=date(2020, 1, 1), end=date(2020, 12, 31),
        tiers={"all": {"share": 1.0}},
        records_per_year={"samr.legal_representative": 0.1},
    )  # fmt: skip
    with pytest.raises(InputError, match="records_per_year.samr.legal_representative"):
        FoldRun(conduct, FoldRegime.of(load("court-dishonest-debtors"), "court"), 100, 1)


def test_a_partition_too_large_runs_in_pieces_with_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range of regions above the partition size (one Ray task holding half the nation)
    runs as pieces of whole regions one after another; scores' inequality figures merge."""
    import socialcredit.sim.folding as folding

    def outputs(where: str) -> list[bytes]:
        run = prepare("pilot-2018", "pilot-2018", population=8_000, seed=2, trace=50,
                      partitions=1)  # fmt: skip
        run.run(tmp_path / where)
        return [(tmp_path / where / n).read_bytes()
                for n in ("metrics.parquet", "summary.json", "trace.jsonl")]  # fmt: skip

    whole = outputs("whole")
    monkeypatch.setattr(folding, "PARTITION_AGENTS", 1_000)
    assert outputs("pieces") == whole
    summary = json.loads((tmp_path / "pieces" / "summary.json").read_text())
    assert summary["gini"] is not None
