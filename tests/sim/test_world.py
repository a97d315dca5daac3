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
