"""How the engine runs a day's folds: serially or on every worker, the same bytes."""

from __future__ import annotations

from pathlib import Path

import numba

import socialcredit.sim.folding as folding
from socialcredit.sim.run import prepare


def test_a_days_folds_give_the_same_bytes_serially_or_on_every_worker(tmp_path: Path) -> None:
    """Every fold writes its own row, so folding a day's agents on the calling thread (a quiet
    day) or spread over the workers (a busy one) changes nothing in the outputs."""
    threads = min(2, numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]

    def outputs(parallel_folds: int, where: str) -> list[bytes]:
        numba.set_num_threads(threads)
        try:
            run = prepare("unified-2020", "unified-score", population=4_000, seed=7, trace=20)
            run.parallel_folds = parallel_folds
            run.run(tmp_path / where)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        return [(tmp_path / where / n).read_bytes()
                for n in ("metrics.parquet", "summary.json", "trace.jsonl")]  # fmt: skip

    serial = outputs(1 << 62, "serial")
    assert outputs(0, "parallel") == serial
    assert outputs(folding.PARALLEL_FOLDS, "default") == serial
