"""Benchmark: every bundled regime over N agents x one simulated year, against a bare NumPy pass.

Every regime (``law-bound``, ``pilot-2018``, ``unified-score`` with its family and friends
contagion, ``sesame``, ``jinan-licence``) runs over the one world (``china``) from 2019-01-01
for ``--days`` days, each in a fresh process (``socialcredit simulate``, every thread of the
machine, partitions chosen by the engine), so its peak RSS is its own; wall time includes
start-up, layout and writing Parquet. Lists start empty on the first day.

The reference, measured in the same run and in a fresh process too: a NumPy ``int16`` array of
N values, and one in-place add of 1 over all of it per simulated day (365 passes): the least
work any simulator that touches every agent every day must do. Goals (the rulebook issue):
peak RSS <= 20 GiB for each regime; time <= 1x the reference for ``law-bound``, <= 3.5x for
every other regime.

A regime is not run at a size where its estimated time (its seconds per agent at the largest
size already run, times the size) exceeds ``--budget`` seconds, or its estimated memory
(likewise) 80% of the machine's: the table says so, with the estimate.

``--repeat K`` runs the reference and each regime K times, alternating (reference, regimes,
reference, ...), and reports medians, with the 1-minute load average before each run (on a
shared machine both sides slow down: only figures of the same run compare). ``--world`` and
``--regimes`` also take TOML files, to measure a pinned workload while the bundled ones change
(``git show REV:src/socialcredit/sim/regimes/law-bound.toml > /tmp/law-bound.toml``).

    .venv/bin/python bench/bench_regimes.py                         # 1e6, 1e7, 1.41e9
    .venv/bin/python bench/bench_regimes.py --sizes 1e6 --regimes law-bound
    .venv/bin/python bench/bench_regimes.py --smoke
    .venv/bin/python bench/bench_regimes.py --whole --sizes 1.41e9 --regimes law-bound
                                       # the world's whole period, 2013-10-01 to 2025-12-31
    .venv/bin/python bench/bench_regimes.py --whole --sizes 1e8 --regimes law-bound --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

from benchlib import Figure, add_arguments, emit
from socialcredit.sim.folding import PARTITION_AGENTS

REGIMES = ("law-bound", "pilot-2018", "unified-score", "sesame", "jinan-licence")
WORLD, START = "china", date(2019, 1, 1)
GOAL = {"law-bound": 1.0}
OTHER_GOAL = 3.5
RSS_GOAL_GIB = 20.0

REFERENCE = """
import sys, time, resource
import numpy as np
n, days = int(sys.argv[1]), int(sys.argv[2])
a = np.zeros(n, np.int16)
t = time.perf_counter()
for _ in range(days):
    np.add(a, 1, out=a)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
"""


def reference(agents: int, days: int) -> tuple[float, float]:
    """Seconds and peak GiB of the bare pass, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", REFERENCE, str(agents), str(days)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds, gib = out.stdout.split()
    return float(seconds), float(gib)


MEASURED = """
import resource, sys
from socialcredit.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(sys.argv[1], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def simulate(
    regime: str, agents: int, days: int, start: date = START, world: str = WORLD
) -> tuple[float, float]:
    """Wall seconds and peak GiB (the process's own) of one run of ``regime``."""
    end = start + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory(prefix="bench-regimes-") as out:
        peak = Path(out) / "peak"
        command = [
            sys.executable, "-c", MEASURED, str(peak), "simulate", "--world", world,
            "--regime", regime, "--population", str(agents), "--start", start.isoformat(),
            "--end", end.isoformat(), "--threads", str(os.cpu_count() or 1),
            "--out", str(Path(out) / "run"),
        ]  # fmt: skip
        t = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if done.returncode:
            raise SystemExit(f"{regime} at {agents:,}: {done.stderr.strip()}")
        return wall, int(peak.read_text()) / 2**20


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def load() -> float:
    """The 1-minute load average now."""
    return round(os.getloadavg()[0], 2)


def regime_name(regime: str) -> str:
    """A bundled regime's name, or a regime file's (its stem)."""
    return Path(regime).stem if regime.endswith(".toml") else regime


def regime_ref(value: str) -> str:
    if value in REGIMES or value.endswith(".toml"):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: one of {', '.join(REGIMES)}, or a TOML file")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(ap)
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7, 1.41e9])
    ap.add_argument("--regimes", nargs="+", default=list(REGIMES), type=regime_ref,
                    help="bundled regimes, or regime TOML files")  # fmt: skip
    ap.add_argument("--world", default=WORLD, help="a bundled world, or a world TOML file")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of the reference and of each regime, alternating")  # fmt: skip
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--budget", type=float, default=3600.0, help="seconds a run may take")
    ap.add_argument("--whole", action="store_true",
                    help="the world's whole period instead of --days from 2019-01-01")  # fmt: skip
    args = ap.parse_args(argv)
    sizes = [1000] if args.smoke else sorted(int(s) for s in args.sizes)
    days = 30 if args.smoke else args.days
    start = START
    if args.whole:
        from socialcredit.sim.scenario import load_any

        world = load_any(args.world)
        start, days = world.start, (world.end - world.start).days + 1
    # compile the kernels, or load them from the cache
    simulate(args.regimes[0], 1000, 2, world=args.world)
    figures: list[Figure] = []
    seen: dict[str, tuple[int, float, float]] = {}
    for agents in sizes:
        size = f"{agents:,} agents x {days} days from {start}"
        to_run = []
        for regime in args.regimes:
            goal = GOAL.get(regime_name(regime), OTHER_GOAL)
            if regime in seen:
                n0, s0, g0 = seen[regime]
                # memory is one partition's (the engine runs partitions one after another)
                est_s, est_gib = (
                    s0 * agents / n0,
                    g0 * min(agents, PARTITION_AGENTS) / min(n0, PARTITION_AGENTS),
                )
                if est_s > args.budget or est_gib > 0.8 * memory_gib():
                    figures.append(Figure(
                        "regimes", f"{regime_name(regime)}: not run", est_s, "s (estimated)",
                        peer="bare NumPy int16 add per day", higher_is_better=False, size=size,
                        note=f"estimated from {n0:,} agents: {est_s:,.0f} s, {est_gib:,.1f} GiB "
                        f"(budget {args.budget:,.0f} s, memory {0.8 * memory_gib():,.1f} GiB); "
                        f"goal <= {goal}x the reference, <= {RSS_GOAL_GIB} GiB",
                    ))  # fmt: skip
                    continue
            to_run.append(regime)
        refs: list[tuple[float, float, float]] = []  # seconds, GiB, load before
        runs: dict[str, list[tuple[float, float, float]]] = {r: [] for r in to_run}
        for _ in range(max(1, args.repeat)):
            before = load()
            refs.append((*reference(agents, days), before))
            print(orjson.dumps({"reference_s": refs[-1][0], "agents": agents,
                                "load": before}).decode(), flush=True)  # fmt: skip
            for regime in to_run:
                before = load()
                wall, gib = simulate(regime, agents, days, start, args.world)
                runs[regime].append((wall, gib, before))
                print(orjson.dumps({"regime": regime, "agents": agents, "s": wall, "gib": gib,
                                    "load": before}).decode(), flush=True)  # fmt: skip
        ref_s = statistics.median(r[0] for r in refs)
        ref_gib = max(r[1] for r in refs)
        for regime in to_run:
            goal = GOAL.get(regime_name(regime), OTHER_GOAL)
            walls = [r[0] for r in runs[regime]]
            wall, gib = statistics.median(walls), max(r[1] for r in runs[regime])
            seen[regime] = (agents, wall, gib)
            met = wall <= goal * ref_s and gib <= RSS_GOAL_GIB
            loads = [r[2] for r in refs] + [r[2] for r in runs[regime]]
            figures.append(Figure(
                "regimes", f"{regime_name(regime)}: wall time", wall, "s",
                peer="bare NumPy int16 add per day", peer_value=ref_s, higher_is_better=False,
                runs=walls, size=size,
                note=f"peak RSS {gib:.2f} GiB (reference {ref_gib:.2f}); goal <= {goal}x the "
                f"reference and <= {RSS_GOAL_GIB} GiB: {'met' if met else 'not met'}"
                + (f"; medians of {len(walls)} alternating runs (reference "
                   f"{', '.join(f'{r[0]:.1f}' for r in refs)} s), load average "
                   f"{min(loads):.1f}-{max(loads):.1f}" if len(walls) > 1 else
                   f"; load average {min(loads):.1f}-{max(loads):.1f}"),
            ))  # fmt: skip
    emit(args.json, figures, argv=[Path(sys.executable).name, *sys.argv])


if __name__ == "__main__":
    main()
