"""The registry's benchmarks added since test_smoke.py (the visibility of an import to checks:
a registry, a server, an import in another process; the projector's cost per call) still run
at their smoke size and still produce their figures; nothing is measured here."""

from __future__ import annotations

import math
from pathlib import Path

from benchrun import by_figure, run_bench


def test_visibility(tmp_path: Path) -> None:
    figures = by_figure(run_bench("bench_visibility.py", out=tmp_path / "f.json"))
    assert set(figures) == {
        "200 imported: visible after",
        "check index load from the projection (in process)",
        "check index load from its snapshot (in process)",
        "check index bytes per subject with measures",
        "server start-up",
    }
    for found in figures.values():
        assert math.isfinite(found[0]["value"]) and found[0]["value"] > 0
    # a listed subject's arrays: its key (18 bytes), where its entries start (8), and per
    # entry a ground number and two days (10)
    assert 26 <= figures["check index bytes per subject with measures"][0]["value"] <= 100


def test_fold(tmp_path: Path) -> None:
    figures = by_figure(run_bench("bench_fold.py", out=tmp_path / "f.json"))
    assert set(figures) == {
        "projector, one subject",
        "projector, one subject apart",
        "projector, batch",
    }
    for found in figures.values():
        assert math.isfinite(found[0]["value"]) and found[0]["value"] > 0
        assert found[0]["unit"] == "ms"
