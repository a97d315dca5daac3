"""Uses denied: the innocents denied are some of those denied, never more (each row of the
metrics, each measure, every day and region)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from socialcredit.sim.run import prepare


def test_innocents_denied_are_among_those_denied(tmp_path: Path) -> None:
    """Under the unified score many held are innocent (misattributed records), so denials of
    innocents drawn apart from all denials exceeded them on some days (53 rows of 20,000
    people over the scenario): an innocent's denial is one of the denials."""
    run = prepare("unified-2020", "unified-score", population=20_000, seed=3)
    run.run(tmp_path)
    table = pq.read_table(tmp_path / "metrics.parquet")
    pairs = [(name[: -len("innocent_denials")] + "denials", name)
             for name in table.column_names if name.endswith("innocent_denials")]  # fmt: skip
    assert ("denials", "innocent_denials") in pairs and len(pairs) > 2
    innocent_seen = 0
    for total, innocent in pairs:
        denied, wrongly = np.asarray(table[total]), np.asarray(table[innocent])
        assert (wrongly <= denied).all(), (innocent, int((wrongly > denied).sum()))
        innocent_seen += int(wrongly.sum())
    assert innocent_seen > 0  # the run does deny innocents: the comparison is not vacuous
