"""How the engine runs a day's folds: serially or on every worker, the same bytes; its kernels
borrow the run's arrays (no reference counting, which cost most of a record and of applying a
fold), and the rulebook's folds they call name their own setting (some allocate)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

import socialcredit.rules.fold as fold
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


KERNELS = sorted(
    name for name, value in vars(folding).items()
    if isinstance(value, numba.core.registry.CPUDispatcher)
    and value.py_func.__module__ == folding.__name__
)  # fmt: skip


@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_names_its_reference_counting(name: str) -> None:
    """Named, not inherited (Numba compiles a function that names none with its caller's
    setting): off."""
    assert getattr(folding, name).targetoptions["_nrt"] is False


FOLDS = sorted(
    name for name, value in vars(fold).items()
    if isinstance(value, numba.core.registry.CPUDispatcher)
    and value.py_func.__module__ == fold.__name__
    and value.targetoptions.get("inline") != "always"
)  # fmt: skip
COUNTED = {"score_at", "membership", "score_span", "fold_range", "fold_subjects",
           "fold_subjects_serial", "record_windows", "record_windows_serial"}  # fmt: skip
"""The folds with reference counting: those that allocate and the registry's drivers."""


@pytest.mark.parametrize("name", FOLDS)
def test_every_rulebook_fold_names_its_reference_counting(name: str) -> None:
    """The rulebook's folds compile the same whichever caller compiles them first (the engine's
    kernels without reference counting, the registry's drivers with it): each names its own
    setting, on where it may allocate (``membership``'s stretches, ``score_at``'s counts)."""
    assert getattr(fold, name).targetoptions["_nrt"] is (name in COUNTED)


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
