"""Where a regime is local, the report gives its city's own figures: the city's people only,
per 100,000 of them, counted after the warm-up like every figure, paired against law-bound."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from socialcredit.study import report
from socialcredit.study.runner import read_results, run_study
from socialcredit.study.spec import load_study

STUDY = """
name = "cities"
population = 40000
seeds = [1, 2]
threads = 1
warmup_days = 60

[[runs]]
name = "law-bound"
regime = "law-bound"
scenario = "china"
start = 2018-01-01
end = 2018-06-30
# Jinan as large as half its province, so that this small study has people there
overrides = { "cities.jinan.population" = 50_000_000 }

[[runs]]
name = "jinan"
regime = "jinan-licence"
scenario = "china"
start = 2018-01-01
end = 2018-06-30
# Jinan as large as half its province, so that this small study has people there
overrides = { "cities.jinan.population" = 50_000_000 }
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cities")
    (tmp / "cities.toml").write_text(STUDY)
    out = tmp / "out"
    run_study(load_study(tmp / "cities.toml"), out)
    report.render(out)
    return out


def test_each_city_is_counted_from_its_own_daily_rows(study: Path) -> None:
    results = read_results(study)
    row = results.filter(pc.equal(results["run"], "jinan")).to_pylist()[0]
    folder = study / "runs" / "jinan" / "base" / f"seed-{row['seed']}"
    by_city = pq.read_table(folder / "metrics_by_city.parquet")
    jinan = by_city.filter(pc.equal(by_city["city"], "jinan"))
    counted = [d >= date(2018, 1, 1) for d in jinan.column("date").to_pylist()]
    assert not all(counted)  # the warm-up is in the daily rows, not in the counted totals
    days = jinan.column("records").to_pylist()
    records = sum(v for v, c in zip(days, counted, strict=True) if c)
    assert row["t_city.jinan.records"] == records
    summary = json.loads((folder / "summary.json").read_text())
    assert row["t_city.jinan.persons"] == summary["cities"]["jinan"]["persons"] > 0
    assert row["t_city.jinan.listed_now"] == jinan.column("listed_now").to_pylist()[-1]


def test_the_report_has_the_local_citys_figures_paired(study: Path) -> None:
    page = (study / "report.html").read_text()
    section = page.split("<section id='city-jinan'>", 1)[1].split("</section>", 1)[0]
    assert "minus law-bound in Jinan" in section
    results = read_results(study)
    city = report.in_city(results, "jinan")
    assert city is not None
    table = report.side_by_side(city, ["law-bound", "jinan"])
    records = next(r for r in table if r["key"] == "records")
    cell = records["cells"]["jinan"]
    assert cell is not None
    rows = [r for r in results.to_pylist() if r["run"] == "jinan"]
    years = (date(2018, 6, 30) - date(2018, 1, 1)).days / 365.25 + 1 / 365.25
    expect = sum(r["t_city.jinan.records"] / r["t_city.jinan.persons"] * 1e5 / years
                 for r in rows) / len(rows)  # fmt: skip
    assert cell["mean"] == pytest.approx(expect)
    shown = re.findall(r"<tr><th scope='row'>Records made<span[^>]*>[^<]*</span></th>(.*?)</tr>",
                       section)  # fmt: skip
    assert shown and report._cell_text({**cell, "mean": expect}, "flow") in shown[0]
    assert "<section id='city-hangzhou'>" not in page  # no run is local there


def test_the_same_restricted_people_are_denied_the_same_flights_under_both(study: Path) -> None:
    """Uses are drawn per measure by its id, not its place among a regime's measures: the
    court list's flight bans deny the same bookings under law-bound and under the regime that
    adds Jinan's dog licence beside it."""
    results = read_results(study).to_pylist()
    key = "t_measure.restrict.flight.denials"
    for seed in (1, 2):
        law, jinan = (next(r for r in results if r["run"] == run and r["seed"] == seed)
                      for run in ("law-bound", "jinan"))  # fmt: skip
        assert law["t_measure.restrict.flight.held"] == jinan["t_measure.restrict.flight.held"]
        assert law[key] == jinan[key] > 0
