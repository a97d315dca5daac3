"""One simulation across a Ray cluster: ``socialcredit simulate ... --ray ADDRESS --partitions P``.

The run's partitions (:meth:`FoldRun.partition_bounds`: ranges of whole regions) are one Ray
task each. Nothing crosses a partition in this engine (a region's conduct, random streams,
households, friends, legal representatives and denial draws stay inside it; no figure feeds back
from the nation to a region), so a task needs nothing from the others while it runs: it builds
the run from the same :class:`Recipe` the driver built it from, checks that what it built is
what the driver built (:func:`inputs`: the scenario with its overrides, the regime and the
content hash of its catalogs, population, seed, period, traced agents, the partitions, the
simulator's code version), runs its regions (:meth:`FoldRun.run_partition`) and returns its
:class:`~socialcredit.sim.folding.Partition`: its metric rows per day and area, its traced
agents' facts, its part of the inequality figures. The driver puts them together exactly as a
local run does (:meth:`FoldRun.gather`) and writes the same files (:meth:`FoldRun.run` with
``parts``): the bytes do not depend on P, nor on where or in what order the partitions ran.

Only the driver writes the output folder; workers share no storage with it. A task whose worker
dies is retried by Ray (:data:`~socialcredit.study.ray_runner.RETRIES` times); a task that
raises is not (its error would come again) and is raised as the simulation's own.

This module imports Ray: only ``--ray`` imports it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import ray

from socialcredit.errors import InputError
from socialcredit.policy.loader import load
from socialcredit.sim.folding import FoldRegime, FoldRun, Partition
from socialcredit.sim.run import prepare
from socialcredit.study import runner
from socialcredit.study.ray_runner import (
    RETRIES,
    ClusterError,
    connect,
    largest_node_cpus,
    reach,
    result,
)

__all__ = ["Recipe", "inputs", "reach", "run_partition", "simulate", "write"]


@dataclass(frozen=True)
class Recipe:
    """What a run is built from, on the driver and on every worker: the arguments of
    :func:`~socialcredit.sim.run.prepare` (``regime``: a bundled name or file; ``catalogs``:
    catalog files run instead of it, as ``simulate --catalog``)."""

    scenario: str
    regime: str = "law-bound"
    catalogs: tuple[str, ...] = ()
    population: int = 1_000_000
    seed: int = 1
    threads: int = 1
    trace: int = 0
    start: date | None = None
    end: date | None = None
    partitions: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)

    def build(self, *, threads: int | None = None) -> FoldRun:
        rules: str | FoldRegime = self.regime
        if self.catalogs:
            name = "+".join(Path(p).stem for p in self.catalogs)
            rules = FoldRegime.of(load(*self.catalogs), name)
        return prepare(
            self.scenario, rules, population=self.population, seed=self.seed,
            threads=self.threads if threads is None else threads, trace=self.trace,
            start=self.start, end=self.end, partitions=self.partitions,
            overrides=self.overrides,
        )  # fmt: skip


def inputs(run: FoldRun) -> dict[str, Any]:
    """Everything that determines a run's bytes, as plain data: the scenario with every
    override applied, the regime and the content hash of its catalogs, population, seed,
    period, traced agents, the partitions and the simulator's code version."""
    return {
        "scenario": run.scenario.model_dump(mode="json"),
        "regime": run.regime.spec.model_dump(mode="json"),
        "catalogs": {"ids": run.regime.loaded.id, "content_sha256": run.regime.book.digest},
        "population": run.population,
        "seed": run.seed,
        "trace": run.trace_k,
        "start": run.first.isoformat(),
        "end": run.last.isoformat(),
        "partitions": [list(b) for b in run.partition_bounds()],
        "code": runner.code_version(),
    }


def run_partition(
    recipe: Recipe, expected: dict[str, Any], r0: int, r1: int, cwd: str
) -> Partition:
    """Regions ``r0 .. r1 - 1`` of the run, on a worker. ``expected``: the driver's
    :func:`inputs`; ``cwd``: the driver's working directory, where relative paths to scenario,
    regime and catalog files start (entered when the worker has it)."""
    before = os.getcwd()
    if os.path.isdir(cwd):
        os.chdir(cwd)
    try:
        run = recipe.build()
        mine = inputs(run)
        if mine != expected:
            raise InputError(
                "ray",
                f"the worker on {socket.gethostname()} sees other inputs for regions {r0}-{r1 - 1} "
                "than the driver (install the same version of the package and the same files on "
                "every node): " + "; ".join(runner.changes(expected, mine)),
            )
        return run.run_partition(r0, r1)
    finally:
        os.chdir(before)


_run_partition = ray.remote(max_retries=RETRIES, retry_exceptions=False)(run_partition)


def simulate(recipe: Recipe, out: Path, *, address: str) -> dict[str, Any]:
    """Run ``recipe`` with each partition a task on the Ray cluster at ``address`` (``local``:
    a private cluster for this call) and write its outputs into ``out`` here, the bytes a local
    run writes; returns its summary."""
    run = recipe.build()
    expected = inputs(run)
    bounds = run.partition_bounds()
    leave = connect(address)
    pending: dict[Any, tuple[int, int]] = {}
    parts: list[Partition] = []
    try:
        # a task asks for the run's threads, never more than a node has (any number of threads
        # gives the same bytes)
        largest = largest_node_cpus()
        threads = min(recipe.threads, largest) if largest else recipe.threads
        shipped = replace(recipe, threads=threads)
        cwd = os.getcwd()
        for r0, r1 in bounds:
            ref = _run_partition.options(num_cpus=threads, name=f"partition {r0}-{r1 - 1}").remote(
                shipped, expected, r0, r1, cwd
            )
            pending[ref] = (r0, r1)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                r0, r1 = pending.pop(ref)
                parts.append(_get(ref, r0, r1))
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise
    finally:
        if leave is not None:
            leave()
    return write(run, parts, out)


def write(run: FoldRun, parts: list[Partition], out: Path) -> dict[str, Any]:
    """The run's files from its partitions' results (any order), after checking that they are
    exactly its partitions; returns its summary."""
    got = sorted((p.r0, p.r1) for p in parts)
    if got != run.partition_bounds():
        raise ClusterError(
            f"ray: regions {got} came back for the partitions {run.partition_bounds()}; "
            "nothing was written"
        )
    return run.run(out, parts=parts)


def _get(ref: Any, r0: int, r1: int) -> Partition:
    """A task's partition (see :func:`~socialcredit.study.ray_runner.result`)."""
    part: Partition = result(
        ref, lost=f"regions {r0}-{r1 - 1}", then="nothing was written: run the same command again"
    )
    return part
