"""The simulator's peers (LASER, Starsim, Mesa) still run the court-list model, and give the
same listings as ours on the same rates.

These need the bench extra (``pip install -e '.[bench]'``); ``make bench`` installs it and runs
them before the benchmarks. Without it they fail, naming what is missing: they are never
skipped. They are also ``slow``, so ``make test`` leaves them out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchrun import by_figure, run_bench

pytestmark = [pytest.mark.peers, pytest.mark.slow]

LABELS = ("laser-core", "starsim", "Mesa")


def test_every_peer_runs_at_its_smoke_size(tmp_path: Path) -> None:
    result = run_bench(
        "bench_sim.py", "--sizes", "--peers", "laser,starsim,mesa", out=tmp_path / "f.json"
    )
    compared = by_figure(result)["court list: agent-days/s"]
    peers = {f["peer"].split()[0]: f for f in compared}
    assert set(peers) == set(LABELS)
    for f in peers.values():
        assert f["value"] > 0 and f["peer_value"] > 0 and f["ratio"] > 0


def test_every_peer_gives_the_same_listings_within_sampling_error(tmp_path: Path) -> None:
    # big enough for the counts to mean something (hundreds of records), small enough for Mesa
    result = run_bench(
        "bench_sim.py",
        "--sizes",
        "--peers",
        "laser,starsim,mesa",
        "--peer-sizes",
        "300000",
        "--peer-days",
        "365",
        "--mesa-agents",
        "50000",
        "--repeat",
        "2",
        "--seeds",
        "6",
        out=tmp_path / "f.json",
    )
    compared = by_figure(result)["court list: agent-days/s"]
    assert len(compared) == 3
    for f in compared:
        assert f["note"].startswith("agrees"), f
