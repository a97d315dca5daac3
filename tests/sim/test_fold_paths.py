"""How the engine runs a day's folds: serially or on every worker, the same bytes; its kernels
borrow the run's arrays (no reference counting, which cost most of a record and of applying a
fold), the one that runs the rulebook's folds (some allocate) aside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

import socialcredit.sim.folding as folding
from socialcredit.rules.fold import record_window
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


KERNELS = sorted(
    name for name, value in vars(folding).items()
    if isinstance(value, numba.core.registry.CPUDispatcher)
    and value.py_func.__module__ == folding.__name__
)  # fmt: skip


@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_names_its_reference_counting(name: str) -> None:
    """Named, not inherited (Numba compiles a function that names none with its caller's
    setting): off but where the rulebook's folds are called."""
    assert getattr(folding, name).targetoptions["_nrt"] is (name == "_compute")


def test_the_rulebook_fold_that_kernels_without_reference_counting_call_allocates_nothing() -> None:
    """``record_window`` is the one fold called from kernels without reference counting
    (``_gather``, ``_record_change``, ``_make_record``): were it to allocate, the engine would
    not compile from a cold cache."""
    run = prepare("china", "law-bound", population=1_000, seed=1)
    bare = numba.njit(_nrt=False)(record_window.py_func)
    assert bare(run.book.types, 0, 20_000, 20_100, 20_050) == record_window(
        run.book.types, 0, 20_000, 20_100, 20_050
    )


@pytest.mark.slow
def test_every_bundled_regime_compiles_from_a_cold_cache(tmp_path: Path) -> None:
    """Compiled from nothing (a function the kernels call compiles with the setting of the
    first kernel that calls it), every bundled regime runs."""
    code = """
from socialcredit.sim.run import prepare
from socialcredit.sim.regime import bundled_names
for regime in bundled_names():
    prepare("china", regime, population=2_000, seed=1).simulate()
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
