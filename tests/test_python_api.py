"""The Python API (``socialcredit.__all__``, docs/python-api.md): the surface is what the doc
says, it is cheap to import, a run's tables add up, bad input names its field as the command
line does, and every example of the doc runs."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import socialcredit
import socialcredit as sc

DOC = Path(__file__).parents[1] / "docs" / "python-api.md"

SURFACE = {
    "InputError",
    "Simulation",
    "SocialCreditError",
    "StudyResults",
    "__version__",
    "bundled",
    "load_regime",
    "load_scenario",
    "load_study",
    "load_world",
    "read_study",
    "run_study",
    "simulate",
}

SMALL: dict[str, Any] = {"population": 20_000, "seed": 3}
PERIOD: dict[str, Any] = {"start": "2018-10-01", "end": "2019-01-31"}


# --------------------------------------------------------------------------------------------
# The surface


def test_all_is_the_documented_surface() -> None:
    assert set(socialcredit.__all__) == SURFACE
    assert len(socialcredit.__all__) == len(SURFACE)
    table = DOC.read_text().split("## A walk-through")[0]
    documented = set(re.findall(r"^\| `?([A-Za-z_]+)", table, re.M)) | set(
        re.findall(r"^\| `[A-Za-z]+`, `([A-Za-z]+)`", table, re.M)
    )
    assert documented - {"name"} == SURFACE


@pytest.mark.parametrize("name", sorted(SURFACE - {"__version__"}))
def test_every_public_name_resolves_and_has_a_docstring(name: str) -> None:
    obj = getattr(socialcredit, name)
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"
    assert obj.__module__ in ("socialcredit.api", "socialcredit.errors")


def test_version_is_the_package_version() -> None:
    from importlib.metadata import version

    assert sc.__version__ == version("socialcredit")


def test_import_is_cheap() -> None:
    """``import socialcredit`` loads neither the simulator nor its heavy dependencies."""
    heavy = ("numba", "ray", "numpy", "pyarrow", "socialcredit.sim", "socialcredit.study")
    code = (
        "import sys, socialcredit; "
        f"print(' '.join(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


# --------------------------------------------------------------------------------------------
# A run over the world


@pytest.fixture(scope="module")
def unified() -> sc.Simulation:
    return sc.simulate("china", "unified-score", **SMALL, **PERIOD)


def test_simulate_returns_arrow_tables(unified: sc.Simulation) -> None:
    days = (date(2019, 1, 31) - date(2018, 10, 1)).days + 1
    assert isinstance(unified.metrics, pa.Table)
    assert isinstance(unified.by_region, pa.Table)
    assert unified.metrics.num_rows == days
    assert unified.metrics["date"][0].as_py() == date(2018, 10, 1)
    assert unified.by_region.num_rows == days * 31
    assert unified.summary["regime"] == "unified-score"
    assert unified.summary["population"] == SMALL["population"]
    assert unified.totals["records"] == pc.sum(unified.metrics["records"]).as_py() > 0
    assert unified.scaled["records"] == round(unified.totals["records"] * unified.summary["scale"])
    assert unified.out is None and unified.traced == []


def test_national_rows_are_the_sum_of_the_provinces(unified: sc.Simulation) -> None:
    metrics, regions = unified.metrics, unified.by_region
    columns = [c for c in metrics.column_names if c != "date"]
    assert columns == [
        c for c in regions.column_names if c not in ("date", "region", "region_code")
    ]
    summed = regions.group_by("date").aggregate([(c, "sum") for c in columns]).sort_by("date")
    assert summed["date"].to_pylist() == metrics["date"].to_pylist()
    for c in columns:
        assert summed[f"{c}_sum"].to_pylist() == metrics[c].to_pylist(), c
    assert pc.sum(metrics["restricted_now"]).as_py() > 0  # the sums compare something


def test_the_same_seed_gives_the_same_run_and_a_loaded_world_the_same_as_a_named_one(
    unified: sc.Simulation,
) -> None:
    again = sc.simulate(sc.load_world("china"), sc.load_regime("unified-score"), **SMALL, **PERIOD)
    assert again.metrics.equals(unified.metrics)
    assert again.by_region.equals(unified.by_region)
    other = sc.simulate("china", "unified-score", population=20_000, seed=4, **PERIOD)
    assert not other.metrics.equals(unified.metrics)


def test_overrides_change_the_world_as_set_does(tmp_path: Path) -> None:
    """By name or on a loaded world, an override gives what the command line's ``--set``
    gives: the same bytes as ``socialcredit simulate --set``."""
    from typer.testing import CliRunner

    from socialcredit.cli import app

    period = {"start": "2018-10-01", "end": "2018-12-31"}
    change = {"due_process.wrong_share": 0.2}
    named = sc.simulate("china", "unified-score", **SMALL, **period, overrides=change)
    loaded = sc.simulate(sc.load_world(), "unified-score", **SMALL, **period, overrides=change)
    plain = sc.simulate("china", "unified-score", **SMALL, **period)
    assert named.metrics.equals(loaded.metrics)
    assert named.totals["false_records"] > plain.totals["false_records"]
    assert sc.load_world(overrides=change).due_process.wrong_share == 0.2

    args = ["simulate", "--world", "china", "--regime", "unified-score", "--population",
            "20000", "--seed", "3", "--start", "2018-10-01", "--end", "2018-12-31", "--set",
            "due_process.wrong_share=0.2", "--out", str(tmp_path / "cli")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "cli" / "metrics.parquet").equals(named.metrics)


def test_out_keeps_the_files_the_command_line_writes(tmp_path: Path) -> None:
    sim = sc.simulate(
        "china", "law-bound", **SMALL, start="2018-12-01", end="2018-12-31", trace=3,
        out=tmp_path / "run",
    )  # fmt: skip
    assert sim.out == tmp_path / "run"
    for name in ("metrics.parquet", "metrics_by_region.parquet", "summary.json"):
        assert (sim.out / name).is_file()
    assert len(sim.traced) == 3


def test_a_conduct_scenario_runs_as_scenario() -> None:
    sim = sc.simulate(
        scenario="national-2013", regime="law-bound", population=20_000, end="2013-12-31"
    )
    assert sim.summary["scenario"] == "national-2013"
    assert sim.metrics.num_rows == (date(2013, 12, 31) - date(2013, 10, 1)).days + 1


def test_bundled_names() -> None:
    assert "china" in sc.bundled("worlds")
    assert {"law-bound", "unified-score"} <= set(sc.bundled("regimes"))
    assert "national-2013" in sc.bundled("scenarios")
    assert "demo" in sc.bundled("studies")
    with pytest.raises(sc.InputError) as caught:
        sc.bundled("catalogs")
    assert caught.value.field == "kind"


# --------------------------------------------------------------------------------------------
# Bad input: the field named, as the command line names it


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"world": "china", "scenario": "national-2013"}, "world"),
        ({}, "world"),
        ({"world": "no-such-world"}, "world"),
        ({"world": "national-2013"}, "world"),
        ({"scenario": "china"}, "scenario"),
        ({"world": "china", "regime": "no-such-regime"}, "regime"),
        ({"world": "china", "regime": 3}, "regime"),
        ({"world": "china", "start": "2019-05-01", "end": "2019-04-30"}, "end"),
        ({"world": "china", "start": "2019-13-01"}, "start"),
        ({"world": "china", "end": 20190101}, "end"),
        ({"world": "china", "population": 0}, "population"),
        ({"world": "china", "population": 1.5}, "population"),
        ({"world": "china", "seed": -1}, "seed"),
        ({"world": "china", "threads": 0}, "threads"),
        ({"world": "china", "trace": -1}, "trace"),
        ({"world": "china", "overrides": {"due_process.wrong_shar": 0.1}},
         "scenario.due_process.wrong_shar"),
        ({"world": "china", "overrides": {'records."a.b': 1}}, 'scenario.records."a.b'),
        ({"world": "china", "overrides": {"due_process.wrong_share": 2.0}},
         "world.due_process.wrong_share"),
        ({"world": "china", "overrides": ["due_process.wrong_share"]}, "overrides"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(kwargs: dict[str, Any], field: str, tmp_path: Path) -> None:
    with pytest.raises(sc.InputError) as caught:
        sc.simulate(**{"population": 1_000, **kwargs, "out": tmp_path / "out"})
    assert caught.value.field == field, caught.value
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_the_command_line_refuses_the_same(tmp_path: Path) -> None:
    """The API's errors are the command line's: the same field and message."""
    from typer.testing import CliRunner

    from socialcredit.cli import app

    cases = [
        (["--world", "china", "--scenario", "national-2013"],
         {"world": "china", "scenario": "national-2013"}),
        (["--world", "china", "--start", "2019-05-01", "--end", "2019-04-30"],
         {"world": "china", "start": "2019-05-01", "end": "2019-04-30"}),
        (["--world", "china", "--end", "2019-02-30"], {"world": "china", "end": "2019-02-30"}),
        (["--world", "china", "--regime", "no-such-regime"],
         {"world": "china", "regime": "no-such-regime"}),
        (["--world", "china", "--set", "due_process.wrong_shar=0.1"],
         {"world": "china", "overrides": {"due_process.wrong_shar": 0.1}}),
    ]  # fmt: skip
    for args, kwargs in cases:
        cli = CliRunner().invoke(
            app, ["simulate", *args, "--population", "1000", "--out", str(tmp_path)]
        )
        assert isinstance(cli.exception, sc.InputError), args
        with pytest.raises(sc.InputError) as caught:
            sc.simulate(**{"population": 1_000, **kwargs})
        assert (caught.value.field, caught.value.message) == (
            cli.exception.field,
            cli.exception.message.replace("--", ""),  # the options' names as arguments' names
        ), args


def test_loaders_name_the_field() -> None:
    with pytest.raises(sc.InputError) as caught:
        sc.load_regime("no-such-regime")
    assert caught.value.field == "regime"
    with pytest.raises(sc.InputError) as caught:
        sc.load_scenario("china")
    assert caught.value.field == "scenario"
    with pytest.raises(sc.InputError) as caught:
        sc.load_study({"name": "x", "population": 10, "seeds": [1]})
    assert caught.value.field == "study.runs"
    with pytest.raises(sc.InputError) as caught:
        sc.load_study("demo", seeds=[])
    assert caught.value.field == "study.seeds"
    with pytest.raises(sc.InputError) as caught:
        sc.run_study("demo", report=True)
    assert caught.value.field == "report"


def test_a_smaller_bundled_study() -> None:
    demo = sc.load_study("demo", population=20_000, seeds=[7])
    assert demo.population == 20_000 and demo.seeds == (7,)
    assert sc.load_study("demo").population != 20_000


def test_a_study_names_a_bad_regime_before_running(tmp_path: Path) -> None:
    study = {"name": "bad", "world": "china", "population": 1_000, "seeds": [1],
             "runs": [{"name": "x", "regime": "no-such-regime"}]}  # fmt: skip
    with pytest.raises(sc.InputError) as caught:
        sc.run_study(study, tmp_path / "bad")
    assert caught.value.field == "regime"
    assert not (tmp_path / "bad" / "results").exists()


# --------------------------------------------------------------------------------------------
# The walk-through


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)


def test_the_doc_has_examples() -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 6
    assert any("run_study" in b for b in blocks) and any("by_region" in b for b in blocks)


def test_the_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of docs/python-api.md, in order, in one namespace (as a notebook
    runs its cells), in a scratch folder."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__doc__"}
    for n, block in enumerate(python_blocks(DOC.read_text()), start=1):
        code = compile(block, f"{DOC.name} block {n}", "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples
    assert (tmp_path / "out" / "two-regimes" / "results").is_dir()
