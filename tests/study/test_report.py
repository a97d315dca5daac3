"""The report: a definition beside every figure, n/a (with its reason) where a figure does not
apply, intervals that say what they cover, counts behind small cells, the data beside it."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from socialcredit.errors import InputError
from socialcredit.study import report, runner
from socialcredit.study.spec import load_study_text

STUDY = """
name = "readable"
description = "four regimes, short"
population = 4000
seeds = [1, 2]
threads = 1

[[runs]]
name = "court"
regime = "law-bound"
scenario = "national-2013"
start = 2016-01-01
end = 2016-12-31

[[runs]]
name = "pilot"
regime = "pilot-2018"
scenario = "pilot-2018"
end = 2018-12-31

[[runs]]
name = "unified"
regime = "unified-score"
scenario = "unified-2020"
end = 2020-12-31

[[runs]]
name = "sesame"
regime = "sesame"
scenario = "sesame-hangzhou"
end = 2015-12-31

[sweep]
run = "unified"
camera_coverage = [0.1, 0.9]

[sensitivity]
run = "unified"
parameters = ['records_per_year."unified.petition"']
factors = [0.5, 4.0]
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "readable.toml").write_text(STUDY)
    spec, text = load_study_text(tmp / "readable.toml")
    out = tmp / "out"
    runner.run_study(spec, out, source=text)
    report.render(out)
    return out


def rows_of(page: str) -> dict[str, list[str]]:
    """Side-by-side rows by figure key: the cells' text."""
    table = "".join(t.split("</table>", 1)[0] for t in page.split("<table class='sbs'>")[1:])
    out = {}
    for key, body in re.findall(r"<tr id='([^']+)'>(.*?)</tr>", table, flags=re.S):
        out[html.unescape(key)] = re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S)
    return out


def test_not_applicable_reads_na_with_its_reason(study: Path) -> None:
    page = (study / "report.html").read_text()
    rows = rows_of(page)
    court, pilot, unified, sesame = 0, 1, 2, 3
    flights = rows["measure.restrict.flight.denials"]
    # the pilot's catalogs carry a flight ban (through the court list) but its world books no
    # flights: not applicable, not 0.0
    assert flights[pilot].startswith("n/a") and not flights[unified].startswith("n/a")
    assert not flights[court].startswith("n/a")  # every regime on the one engine, same row
    assert not rows["delisted"][court].startswith("n/a")  # one engine: every figure counted
    assert rows["gini"][court].startswith("n/a")  # the court list has no score
    assert not rows["gini"][sesame].startswith("n/a")
    notes = re.findall(r"<li value='\d+'>n/a: (.*?)</li>", page)
    assert (
        "scenario pilot-2018 gives no rate of use of this measure (uses_per_year), so its "
        "denials are not modelled" in notes
    )
    # hover says the same
    assert "title='not applicable: scenario pilot-2018 gives no rate of use" in page
    # a figure that applies and is zero still reads as a number
    assert rows["false_records"][unified].startswith("0.0")


def test_every_figure_has_a_definition_and_a_unit(study: Path) -> None:
    page = (study / "report.html").read_text()
    table = "".join(t.split("</table>", 1)[0] for t in page.split("<table class='sbs'>")[1:])
    heads = re.findall(r"<th scope='row'>(.*?)</th>", table, flags=re.S)
    assert len(heads) > 20
    for head in heads:
        assert "<span class='unit'>per 100,000" in head or "a share (0 to 1)" in head, head
        definition = re.search(r"<span class='def'>(.*?)</span>", head)
        assert definition is not None and len(definition.group(1)) > 30, head
    text = html.unescape(page)
    assert "It covers only the simulation's own chance" in text
    assert "does not cover the uncertainty of those rates" in text
    assert "docs/sources.md" in page and "FACTS.md" not in page.split("</table>")[-1]


def test_cells_show_their_counts_and_small_ones_are_greyed(study: Path) -> None:
    page = (study / "report.html").read_text()
    found = re.findall(
        r"<td( class='small'[^>]*)?[^>]*>([^<]*)(<sup[^>]*>0\?</sup>)?"
        r"<span class='n'>([^<]*)</span>",
        page,
    )
    assert found
    cells = [(small, value, n) for small, value, _mark, n in found]
    for small, value, mark, _n in found:
        mean, _, half = value.partition(" ± ")
        m, h = float(mean.replace(",", "")), float(half.split()[0].replace(",", ""))
        assert bool(mark) == (not small and m > 0 and m - h <= 0), value
    assert any(mark for *_, mark, _n in found)
    for small, _value, n in cells:
        assert n.startswith("2 seeds")
        count = re.search(r"· ([\d,.]+) simulated", n)
        if count is None:
            continue  # a share: no count behind it
        behind = float(count.group(1).replace(",", ""))
        assert bool(small) == (behind < report.MIN_COUNT), (small, n)
    assert any(small for small, _v, _n in cells) and any(not s for s, _v, _n in cells)
    # the sweep's points each with interval and count
    sweep = page.split("Sweep over unified: every point", 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<tr><td>0\.[19]</td>", sweep)) == 2
    assert sweep.count(" simulated</span>") == 2


def test_each_regime_in_plain_words_with_three_figures(study: Path) -> None:
    page = (study / "report.html").read_text()
    sections = re.findall(r"<section class='regime'>(.*?)</section>", page, flags=re.S)
    assert len(sections) == 4
    for section in sections:
        for part in ("What it is.", "Sources.", "What was assumed."):
            assert part in section
        figures = re.findall(r"<li><b>(.*?)</b>.*?<span class='def'>(.*?)</span></li>", section)
        assert len(figures) == 3, section
        assert all(not value.startswith("n/a") for value, _d in figures)


def test_results_are_exported_beside_the_report(study: Path) -> None:
    results = pq.read_table(study / "results.parquet")
    # unified: base, two sweep points, two sensitivity points
    assert results.num_rows == (1 + 1 + 5 + 1) * 2
    with (study / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == results.num_rows
    assert {r["run"] for r in rows} == {"court", "pilot", "unified", "sesame"}
    assert all(len(r["inputs_sha256"]) == 64 for r in rows)
    with (study / "table.csv").open() as fh:
        table = list(csv.DictReader(fh))
    flights = {r["run"]: r for r in table if r["figure"] == "measure.restrict.flight.denials"}
    assert flights["pilot"]["mean"] == "" and "no rate of use" in flights["pilot"]["not_applicable"]
    assert float(flights["unified"]["mean"]) >= 0
    assert "restrict.flight (No air travel, in any class" in flights["unified"]["definition"]
    petitioners = [r for r in table if r["figure"] == "list.unified.petitioners.in_force"]
    assert "Persons on the list unified.petitioners (Petitioners)" in petitioners[0]["definition"]
    assert (study / "study.toml").read_text() == STUDY
    resolved = json.loads((study / "resolved.json").read_text())
    sim = resolved["simulations"]["unified__base__seed-1"]
    assert sim["scenario"]["camera_coverage"] == 0.3 and sim["seed"] == 1
    assert sim["regime"]["catalogs"] == ["unified-score"]
    swept = [s for k, s in resolved["simulations"].items() if k.startswith("unified__camera")]
    assert sorted({s["scenario"]["camera_coverage"] for s in swept}) == [0.1, 0.9]


def test_one_assumption_at_a_time(study: Path) -> None:
    page = html.unescape((study / "report.html").read_text())
    section = page.split("Sensitivity: unified, one assumption at a time", 1)[1]
    section = section.split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>(.*?)</tr>", section, flags=re.S)
    assert [(p, v) for p, v, _c in rows] == [
        ('records_per_year."unified.petition"', "0.0005 (0.001 x 0.5)"),
        ('records_per_year."unified.petition"', "0.004 (0.001 x 4)"),
    ]
    for _p, _v, cells in rows:
        found = re.findall(
            r"<td[^>]*>[\d,.]+ ± [\d,.]+( \([+-]\d+%\))?(<sup[^>]*>0\?</sup>)?"
            r"<span class='n'>2 seeds · [\d,.]+ "
            r"simulated</span></td>",
            cells,
        )
        assert len(found) == 3, cells


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ("'records_per_year.\"unified.nothing\"'", "not a parameter of scenario unified-2020"),
        ("'name'", "is 'unified-2020', not a number"),
    ],
)
def test_a_bad_sensitivity_parameter_is_refused_before_anything_runs(
    tmp_path: Path, parameter: str, message: str
) -> None:
    text = STUDY.replace("""['records_per_year."unified.petition"']""", f"[{parameter}]")
    (tmp_path / "s.toml").write_text(text)
    spec, _ = load_study_text(tmp_path / "s.toml")
    with pytest.raises(InputError, match=message) as err:
        runner.run_study(spec, tmp_path / "out")
    assert err.value.field.startswith("sensitivity.parameters.")
    assert not (tmp_path / "out").exists()


def test_restricted_innocents_by_cause(study: Path) -> None:
    """The simulator's count per cause: the court list's innocents are all wrongly recorded
    (its one way), the unified score's are counted under each cause it has; a cause a regime
    cannot have reads n/a (the unified scenario's cameras name no one by mistake)."""
    page = (study / "report.html").read_text()
    section = page.split("<section id='by-cause'>", 1)[1].split("</section>", 1)[0]
    rows = {
        key: re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S)
        for key, body in re.findall(r"<tr id='cause-([^']+)'>(.*?)</tr>", section, flags=re.S)
    }
    assert list(rows) == list(report.CAUSES)
    court, unified, sesame = 0, 2, 3
    total = rows_of(page)["restricted_innocents"]
    assert rows["wrong_record"][court].split("<")[0] == total[court].split("<")[0]
    assert rows["relative_or_contact"][court].startswith("n/a")
    for cause in ("relative_or_contact", "lawful_conduct"):
        assert re.match(r"[\d,.]+ ±", rows[cause][unified]), cause
    assert rows["camera_misattribution"][unified].startswith("n/a")
    assert all(cells[sesame].startswith("n/a") for cells in rows.values())
    with (study / "innocents_by_cause.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(report.CAUSES) * 4
