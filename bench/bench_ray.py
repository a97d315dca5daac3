"""Benchmark: what running a study on Ray costs against the local runner, on this machine.

The study: many small simulations, where Ray's cost per task shows most: one run of the court
list's world (``national-2013``, 20,000 agents, 2016) swept over 10 values of
``due_process.wrong_share`` times 4 seeds, 44 simulations (the base point and the 10 swept, 4 seeds
each). Measured side by side in one run, each side writing a fresh output folder every time
(report not rendered; it is the same either way):

- ``local``: :func:`socialcredit.study.runner.run_study`, one simulation after another in this
  process (compiled code warmed up first);
- ``ray, 1 CPU``: the same study with ``ray=...`` on a Ray cluster started by this process with
  one CPU (one task at a time: the difference from ``local`` is Ray's overhead, as the tasks'
  outputs travel back to the driver, which writes them);
- ``ray, N CPUs``: the same on a cluster with every core of the machine (tasks in parallel).

Each cluster's first study is timed on its own (``cold``: starting the workers, importing the
package and loading the simulator's compiled code in each); the figures are medians of the warm
repetitions that follow. Overhead per simulation = (ray, 1 CPU - local) / simulations.

For the paper estimate of one run split into partitions (docs/ray.md): the round trip of a call
to a Ray actor that returns a block of int64 metric rows, (days, regions, 17): 30 days of 16
regions (65 KB) and 365 days of 31 (1.5 MB), median of 200 calls each.

One large run split into partitions (``--partitioned POPULATION``; ``simulate --ray``,
:mod:`socialcredit.sim.distributed`): law-bound over the world ``china`` for 2019, split in 2
and in 4 partitions, timed side by side in one process:

- ``local``: :meth:`FoldRun.run` here, the partitions one after another, the folds of a day on
  every core (``threads`` = cores);
- ``ray``: :func:`socialcredit.sim.distributed.simulate` on a Ray cluster this process starts
  with every core, a one-thread task per partition (as many at once as there are CPUs).

Both write every output file into a fresh folder; the first run of each side is a warm-up
(Numba's kernels loaded, the cluster's workers started), then ``--repeat`` of each. Also the
bytes each partition's task returns (its metric rows: days x its regions x columns x 8).

    .venv/bin/python bench/bench_ray.py --repeat 3     # the default
    .venv/bin/python bench/bench_ray.py --partitioned 20000000 --repeat 1
    .venv/bin/python bench/bench_ray.py --smoke        # 4 simulations, 1 run (the tests)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import ray

from benchlib import Figure, add_arguments, emit
from socialcredit.study import runner
from socialcredit.study.spec import Study

STUDY = """
name = "ray-overhead"
population = {population}
seeds = {seeds}
threads = 1

[[runs]]
name = "court"
regime = "law-bound"
scenario = "national-2013"
start = 2016-01-01
end = 2016-12-31

[sweep]
run = "court"
"due_process.wrong_share" = {points}
"""


def study(population: int, points: int, seeds: int) -> Study:
    text = STUDY.format(
        population=population,
        seeds=list(range(1, seeds + 1)),
        points=[round(0.01 * (i + 1), 2) for i in range(points)],
    )
    return Study.model_validate(tomllib.loads(text))


def timed(spec: Study, root: Path, ray_address: str | None) -> float:
    out = Path(tempfile.mkdtemp(dir=root))
    t = time.perf_counter()
    runner.run_study(spec, out, ray=ray_address)
    took = time.perf_counter() - t
    shutil.rmtree(out)
    return took


@ray.remote(num_cpus=0)
class Rows:
    """Stands in for a partition's actor: returns a block's metric rows."""

    def block(self, days: int, regions: int) -> np.ndarray:
        return np.zeros((days, regions, 17), np.int64)


def round_trip(days: int, regions: int, calls: int) -> float:
    actor = Rows.remote()
    ray.get(actor.block.remote(days, regions))
    took = []
    for _ in range(calls):
        t = time.perf_counter()
        ray.get(actor.block.remote(days, regions))
        took.append(time.perf_counter() - t)
    ray.kill(actor)
    return 1000 * statistics.median(took)


def partitioned(population: int, repeat: int, root: Path) -> list[Figure]:
    """One run split in 2 and 4 partitions, locally and on Ray (module docstring)."""
    from datetime import date

    from socialcredit.sim import distributed

    cores = os.cpu_count() or 1
    period = {"start": date(2019, 1, 1), "end": date(2019, 12, 31)}
    size = f"law-bound over china, {population:,} agents, 2019"
    times: dict[tuple[str, int], list[float]] = {}
    returned: dict[int, list[int]] = {}

    def local_run(parts: int) -> float:
        recipe = distributed.Recipe("china", population=population, seed=1, threads=cores,
                                    partitions=parts, **period)  # fmt: skip
        out = Path(tempfile.mkdtemp(dir=root))
        t = time.perf_counter()
        recipe.build().run(out)
        took = time.perf_counter() - t
        shutil.rmtree(out)
        return took

    def ray_run(parts: int) -> float:
        recipe = distributed.Recipe("china", population=population, seed=1, threads=1,
                                    partitions=parts, **period)  # fmt: skip
        out = Path(tempfile.mkdtemp(dir=root))
        t = time.perf_counter()
        distributed.simulate(recipe, out, address="local")  # joined already: uses this one
        took = time.perf_counter() - t
        shutil.rmtree(out)
        run = recipe.build()
        columns = len(run.column_names())
        returned[parts] = [run.days * (r1 - r0) * columns * 8 for r0, r1 in run.partition_bounds()]
        return took

    local_run(2)  # warm-up: the kernels loaded
    for parts in (2, 4):
        times[("local", parts)] = [local_run(parts) for _ in range(repeat)]
        print(
            f"local, {parts} partitions: {', '.join(f'{x:.1f}' for x in times[('local', parts)])} s"
        )
    ray.init(num_cpus=cores, include_dashboard=False, logging_level="WARNING",
             _temp_dir=str(root / "ray"))  # fmt: skip
    try:
        for parts in (2, 4):
            cold = ray_run(parts)
            if parts == 2:
                print(f"ray, {parts} partitions, cold (workers start): {cold:.1f} s")
            times[("ray", parts)] = [ray_run(parts) for _ in range(repeat)]
            print(
                f"ray, {parts} partitions: {', '.join(f'{x:.1f}' for x in times[('ray', parts)])} s"
            )
    finally:
        ray.shutdown()
    figures = []
    for parts in (2, 4):
        here, there = times[("local", parts)], times[("ray", parts)]
        figures.append(
            Figure(
                "ray",
                f"one run in {parts} partitions on Ray ({cores} CPUs, a task each)",
                statistics.median(there),
                "s",
                peer=f"local, {cores} threads",
                peer_value=statistics.median(here),
                higher_is_better=False,
                runs=there,
                size=size,
                note=f"local runs {', '.join(f'{x:.1f}' for x in here)} s; a partition returns "
                + ", ".join(f"{b / 1e6:.2f}" for b in returned[parts])
                + " MB of rows",
            )
        )
    return figures


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--population", type=int, default=20_000)
    ap.add_argument("--points", type=int, default=10, help="swept values besides the base")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--partitioned",
        type=int,
        default=0,
        metavar="POPULATION",
        help="instead: one run of this many agents split in 2 and 4 partitions, local and Ray",
    )
    add_arguments(ap)
    args = ap.parse_args(argv)
    if args.partitioned:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if not {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"} & set(os.environ):
            os.environ["RAY_AUTH_TOKEN"] = os.urandom(32).hex()
        root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
        try:
            emit(args.json, partitioned(args.partitioned, args.repeat, root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return
    if args.smoke:
        args.population, args.points, args.seeds, args.repeat = 3_000, 1, 2, 1
    spec = study(args.population, args.points, args.seeds)
    n = len(runner.tasks(spec))
    cores = os.cpu_count() or 1
    size = f"{n} simulations of {args.population:,} agents, 1 year"
    print(f"{size}; {cores} cores; ray {ray.__version__}")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"} & set(os.environ):
        os.environ["RAY_AUTH_TOKEN"] = os.urandom(32).hex()  # the clusters' token, not a file

    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        timed(spec, root, None)  # compile or load the simulator's compiled code
        local = [timed(spec, root, None) for _ in range(args.repeat)]
        print(f"local: {', '.join(f'{x:.2f}' for x in local)} s")
        sides: dict[int, tuple[float, list[float]]] = {}
        trips: dict[tuple[int, int], float] = {}
        for cpus in [1] if args.smoke else sorted({1, cores}):
            ray.init(
                num_cpus=cpus,
                include_dashboard=False,
                logging_level="WARNING",
                _temp_dir=str(root / "ray"),  # its logs and sockets go with the rest
            )
            try:
                cold = timed(spec, root, "local")  # joined already: the runner uses this one
                warm = [timed(spec, root, "local") for _ in range(args.repeat)]
                if cpus == cores or args.smoke:
                    calls = 20 if args.smoke else 200
                    trips = {(d, r): round_trip(d, r, calls) for d, r in ((30, 16), (365, 31))}
            finally:
                ray.shutdown()
            sides[cpus] = (cold, warm)
            runs = ", ".join(f"{x:.2f}" for x in warm)
            print(f"ray, {cpus} CPU: cold {cold:.2f} s; warm {runs} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    base = statistics.median(local)
    one = statistics.median(sides[1][1])
    figures = [
        Figure(
            "ray",
            "study, local runner",
            base,
            "s",
            higher_is_better=False,
            runs=local,
            size=size,
            note=f"{1000 * base / n:.0f} ms per simulation",
        ),
        Figure(
            "ray",
            "study on Ray, 1 CPU (warm)",
            one,
            "s",
            peer="local runner",
            peer_value=base,
            higher_is_better=False,
            runs=sides[1][1],
            size=size,
        ),
        Figure(
            "ray",
            "Ray overhead per simulation (1 CPU - local) / n",
            1000 * (one - base) / n,
            "ms",
            higher_is_better=False,
            size=size,
        ),
        Figure(
            "ray",
            "first study on a fresh 1-CPU cluster (cold)",
            sides[1][0],
            "s",
            higher_is_better=False,
            runs=[sides[1][0]],
            size=size,
            note="workers start, import, load compiled code",
        ),
    ]
    if cores in sides and cores > 1:
        many = statistics.median(sides[cores][1])
        figures += [
            Figure(
                "ray",
                f"study on Ray, {cores} CPUs (warm)",
                many,
                "s",
                peer="local runner",
                peer_value=base,
                higher_is_better=False,
                runs=sides[cores][1],
                size=size,
            ),
            Figure(
                "ray",
                f"first study on a fresh {cores}-CPU cluster (cold)",
                sides[cores][0],
                "s",
                higher_is_better=False,
                runs=[sides[cores][0]],
                size=size,
            ),
        ]
    for (days, regions), ms in trips.items():
        size_kb = days * regions * 17 * 8 / 1000
        figures.append(
            Figure(
                "ray",
                f"actor round trip, a block of {days} days x {regions} regions of metric rows",
                ms,
                "ms",
                higher_is_better=False,
                size=f"{size_kb:,.0f} KB",
                note="median of calls in a row (paper estimate, docs/ray.md)",
            )
        )
    emit(args.json, figures)


if __name__ == "__main__":
    main()
