"""Every benchmark still runs at its smoke size and still produces its figures.

Nothing here measures anything: the sizes are tiny and the machine may be busy. What breaks
is a benchmark that no longer runs against the code it measures (an API that changed, a
fixture that no longer validates), which is how the figures in docs/benchmarks.md rot.
The peers' side (LASER, Starsim, Mesa) needs the bench extra: tests/bench/test_peers.py, run
by ``make bench``.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from benchrun import ROOT, by_figure, run_bench


def positive(figure: dict[str, Any]) -> bool:
    return math.isfinite(figure["value"]) and figure["value"] > 0


def test_evaluate(tmp_path: Path) -> None:
    result = run_bench("bench_evaluate.py", out=tmp_path / "f.json")
    figures = by_figure(result)
    assert set(figures) == {"batch.evaluate_columns", "reference evaluate"}
    batch = figures["batch.evaluate_columns"][0]
    assert positive(batch) and batch["unit"] == "subjects/s"
    assert batch["peer_value"] > 0 and batch["ratio"] > 0
    assert result["machine"]["cores"] >= 1


def test_import(tmp_path: Path) -> None:
    figures = by_figure(run_bench("bench_import.py", out=tmp_path / "f.json"))
    assert set(figures) == {
        "parse+validate jsonl",
        "parse+validate csv",
        "import jsonl",
        "import csv",
        "ceiling executemany",
    }
    assert all(positive(f[0]) for f in figures.values())
    assert figures["import csv"][0]["peer"] == "ceiling: plain executemany"
    assert figures["import csv"][0]["ratio"] > 0


def test_sim_ours(tmp_path: Path) -> None:
    result = run_bench("bench_sim.py", "--peers", "ours", out=tmp_path / "f.json")
    figures = by_figure(result)
    wall = figures["national-2013 law-bound, 1 year, wall"]
    assert [f["size"] for f in wall] == ["100,000 agents x 365 days"]
    assert positive(wall[0]) and wall[0]["unit"] == "s"
    ours = figures["court list, ours: agent-days/s"]
    assert len(ours) == 1 and positive(ours[0]) and len(ours[0]["runs"]) == 3


def test_regimes(tmp_path: Path) -> None:
    figures = by_figure(run_bench("bench_regimes.py", out=tmp_path / "f.json"))
    names = {f"{r}: wall time" for r in
             ("law-bound", "pilot-2018", "unified-score", "sesame", "jinan-licence")}  # fmt: skip
    assert set(figures) == names
    for name in names:
        f = figures[name][0]
        assert positive(f) and f["peer"] == "bare NumPy int16 add per day" and f["peer_value"] > 0
        assert "goal <=" in f["note"]


def test_checks(tmp_path: Path) -> None:
    figures = by_figure(
        run_bench("bench_checks.py", "--load-generator", "python", out=tmp_path / "f.json")
    )
    assert positive(figures["ours: requests/s"][0])
    assert positive(figures["peer: requests/s"][0])
    assert positive(figures["ours: p99"][0]) and figures["ours: p99"][0]["unit"] == "ms"
    assert figures["ours vs peer: requests/s"][0]["peer"] == "plain FastAPI route"


def test_run_all_writes_results_and_table(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "bench/run_all.py", "--smoke", "--only", "import", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = orjson.loads((out / "results.json").read_bytes())
    assert result["failed"] == [] and result["smoke"] is True
    assert {"cores", "cpu", "memory_gib", "versions"} <= set(result["machine"])
    keys = {"benchmark", "figure", "value", "unit", "peer", "peer_value", "ratio", "date"}
    assert all(keys <= set(f) for f in result["figures"])
    assert len(result["figures"]) == 5
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| import | import jsonl |" in table
