"""Benchmark: the simulator at 1M to 1.4B agents, and the same court-list model in three peers.

Part 1, sizes. Scenario ``national-2013`` under regime ``law-bound`` (the court list, its
24-month listing, performance, objections, wrong records, organisations, flight and G-train
checks) for the calendar year 2017, from an empty list. Each size runs in a fresh process
(``socialcredit simulate``) so peak RSS is that run's; wall time includes start-up,
population layout and writing Parquet.

Part 2, peers. The court-list model of ``bench/court_model.py`` (persons in three income
tiers, refusals, listings ended by performance or after 24 months, flights and G-trains of
listed people denied; rates from the scenario) written the way each framework's own users
write models: ours (``bench/court_ours.py``: our engine with what the peers leave out
switched off), LASER (``bench/court_laser.py``, ``laser-core``: Numba kernels over a
LaserFrame), Starsim (``bench/court_starsim.py``: a ``ss.Module`` with ``ss.bernoulli``
draws) and Mesa (``bench/court_mesa.py``: one Python agent per person). Each run is a fresh
process of its own that builds the population, warms up (Numba kernels compiled or loaded
from the cache) and then times the stepping of every day (``run_s``); agent-days/s is agents
x days / ``run_s``. LASER uses every core (Numba's default), ours one thread (the CLI's default;
``--ours-threads``), Starsim and Mesa one (they have no other).
Sizes: ``--peer-sizes`` (10M and 100M agents x 365 days) for ours, LASER and Starsim; Mesa at
``--mesa-agents`` (100k: at 10M it would take about half an hour per run). A side is not run at
a size whose estimated peak memory (its bytes per agent at the previous size) exceeds 80% of the
memory available; the table says so.

Same listings on the same rates: ours runs ``--seeds`` seeds at each size; for each metric
(records, newly listed, ever listed, listed on the last day, flights and trains denied) a
peer's mean over its runs is compared with ours: z = difference / its standard error (from
ours' spread across seeds, at least Poisson). |z| <= 4 on every metric is "agrees".

    .venv/bin/python bench/bench_sim.py                 # all of it (needs the bench extra)
    .venv/bin/python bench/bench_sim.py --sizes 1e6 1e7 --peers ours,laser
    .venv/bin/python bench/bench_sim.py --smoke --peers ours      # seconds (the tests)
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from benchlib import Figure, add_arguments, emit

BENCH = Path(__file__).resolve().parent
SIDES = {
    "ours": ("court_ours.py", "socialcredit", "socialcredit"),
    "laser": ("court_laser.py", "laser.core", "laser-core"),
    "starsim": ("court_starsim.py", "starsim", "starsim"),
    "mesa": ("court_mesa.py", "mesa", "Mesa"),
}
Z_LIMIT = 4.0


def run_size(agents: int, threads: int) -> tuple[float, float]:
    """(wall seconds, peak RSS GiB) of one ``socialcredit simulate`` process."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable,
            "-m",
            "socialcredit",
            "simulate",
            "--scenario",
            "national-2013",
            "--regime",
            "law-bound",
            "--population",
            str(agents),
            "--start",
            "2017-01-01",
            "--end",
            "2017-12-31",
            "--threads",
            str(threads),
            "--out",
            out,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(
                f"socialcredit simulate failed ({done.returncode}):\n{done.stderr[-4000:]}"
            )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 2**20


def side(name: str, agents: int, days: int, seed: int, threads: int) -> dict[str, Any]:
    """One run of one side, in a fresh process; its JSON report."""
    script = BENCH / SIDES[name][0]
    cmd = [
        sys.executable,
        str(script),
        "--agents",
        str(agents),
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--threads",
        str(threads),
    ]
    env = {**os.environ, "STARSIM_INSTALL_FONTS": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    report: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return report


def available_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


def agreement(ours: list[dict[str, Any]], peer: list[dict[str, Any]]) -> dict[str, float]:
    """Per metric: z of the peer's mean against ours' (standard error from ours' spread across
    seeds, at least Poisson)."""
    out = {}
    for metric in ours[0]["metrics"]:
        a = [r["metrics"][metric] for r in ours]
        b = [r["metrics"][metric] for r in peer]
        mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
        var = max(statistics.variance(a) if len(a) > 1 else 0.0, mean_a, 1.0)
        se = math.sqrt(var / len(a) + var / len(b))
        out[metric] = (mean_b - mean_a) / se
    return out


def _runs(reports: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['run_s']:.3f}" for r in reports)


def check_installed(peers: list[str]) -> None:
    missing = [n for n in peers if importlib.util.find_spec(SIDES[n][1]) is None]
    if missing:
        raise SystemExit(
            f"not installed: {', '.join(SIDES[n][2] for n in missing)}; the peers come with "
            "the bench extra: `make bench`, or `.venv/bin/pip install -e '.[bench]'`"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="*", default=[1e6, 1e7, 1e8, 1.4e9])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--peers",
        default="ours,laser,starsim,mesa",
        help="sides of part 2 (ours always runs when any does); 'none' to skip",
    )
    ap.add_argument("--peer-sizes", type=float, nargs="*", default=[1e7, 1e8])
    ap.add_argument("--peer-days", type=int, default=365)
    ap.add_argument("--mesa-agents", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per peer and size (1 at >= 1e8)")
    ap.add_argument("--seeds", type=int, default=5, help="runs of ours per size (seeds 1..n)")
    ap.add_argument("--ours-threads", type=int, default=1, help="threads of ours in part 2")
    add_arguments(ap)
    if "--smoke" in (sys.argv[1:] if argv is None else argv):  # smaller defaults; flags still win
        ap.set_defaults(sizes=[1e5], peer_sizes=[2e4], peer_days=60, mesa_agents=2_000, repeat=1,
                        seeds=3)  # fmt: skip
    args = ap.parse_args(argv)
    peers = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
    unknown = set(peers) - set(SIDES)
    if unknown:
        raise SystemExit(f"unknown peers: {sorted(unknown)}; of {sorted(SIDES)}")
    check_installed(peers)
    print(f"machine: {os.cpu_count()} cores; threads {args.threads}")
    figures: list[Figure] = []
    if args.sizes:
        run_size(1000, args.threads)  # compile the kernels, or load them from the cache
    for size in args.sizes:
        agents = int(size)
        wall, rss = run_size(agents, args.threads)
        rate = agents * 365 / wall
        print(
            f"{agents:>14,} agents x 365 days: {wall:7.1f} s wall, peak RSS {rss:5.2f} GiB, "
            f"{rate:,.0f} agent-days/s"
        )
        figures.append(
            Figure(
                "sim",
                "national-2013 law-bound, 1 year, wall",
                wall,
                "s",
                higher_is_better=False,
                size=f"{agents:,} agents x 365 days",
                note=f"peak RSS {rss:.2f} GiB",
            )
        )
    if peers:
        figures += compare(args, [p for p in peers if p != "ours"])
    emit(args.json, figures)


def compare(args: argparse.Namespace, others: list[str]) -> list[Figure]:
    days = args.peer_days
    figures: list[Figure] = []
    plan = [(int(s), [o for o in others if o != "mesa"]) for s in args.peer_sizes]
    if "mesa" in others:
        plan.insert(0, (args.mesa_agents, ["mesa"]))
    per_agent: dict[str, float] = {}  # peak bytes per agent seen so far, per side
    for agents, sides in plan:
        print(f"\ncourt-list model, {agents:,} agents x {days} days")
        # one thread, the CLI's default: a day is a short parallel region per region, which
        # stalls on a busy machine when one of two threads waits for a core
        ours = [side("ours", agents, days, s, args.ours_threads) for s in range(1, args.seeds + 1)]
        o = statistics.median(r["run_s"] for r in ours)
        print(
            f"  socialcredit: median {o:.3f} s ({agents * days / o:,.0f} agent-days/s; "
            f"runs {_runs(ours)}); peak RSS {max(r['peak_rss_gib'] for r in ours):.2f} GiB"
        )
        figures.append(
            Figure(
                "sim",
                "court list, ours: agent-days/s",
                agents * days / o,
                "agent-days/s",
                runs=[agents * days / r["run_s"] for r in ours],
                size=f"{agents:,} agents x {days} days",
                note=f"median of {len(ours)} seeds; peak RSS "
                f"{max(r['peak_rss_gib'] for r in ours):.2f} GiB",
            )
        )
        repeat = args.repeat if agents < 100_000_000 else 1
        for name in sides:
            label = SIDES[name][2]
            need = per_agent.get(name, 0.0) * agents / 2**30
            if need > 0.8 * available_gib():
                print(f"  {label}: not run, it would need about {need:.0f} GiB")
                figures.append(
                    Figure(
                        "sim",
                        "court list: agent-days/s",
                        agents * days / o,
                        "agent-days/s",
                        peer=label,
                        size=f"{agents:,} agents x {days} days",
                        note=f"{label} not run: about {need:.0f} GiB needed",
                    )
                )
                continue
            runs = [side(name, agents, days, s, 0) for s in range(1, repeat + 1)]
            per_agent[name] = max(r["peak_rss_gib"] for r in runs) * 2**30 / agents
            p = statistics.median(r["run_s"] for r in runs)
            z = agreement(ours, runs)
            worst = max(z, key=lambda m: abs(z[m]))
            agrees = all(abs(v) <= Z_LIMIT for v in z.values())
            print(
                f"  {label} {runs[0]['version']}: median {p:.3f} s ({agents * days / p:,.0f} "
                f"agent-days/s; runs {_runs(runs)}); "
                f"peak RSS {runs[0]['peak_rss_gib']:.2f} GiB; ratio {p / o:,.1f}x"
            )
            print(
                "    "
                + ", ".join(
                    f"{m} {statistics.fmean(r['metrics'][m] for r in runs):,.0f}"
                    f" vs {statistics.fmean(r['metrics'][m] for r in ours):,.0f}"
                    f" (z {z[m]:+.1f})"
                    for m in z
                )
            )
            print(
                f"    same listings within sampling error: {'yes' if agrees else 'NO'} "
                f"(largest |z| {abs(z[worst]):.1f}, {worst})"
            )
            figures.append(
                Figure(
                    "sim",
                    "court list: agent-days/s",
                    agents * days / o,
                    "agent-days/s",
                    peer=f"{label} {runs[0]['version']}",
                    peer_value=agents * days / p,
                    runs=[agents * days / r["run_s"] for r in ours],
                    size=f"{agents:,} agents x {days} days",
                    note=f"{'agrees' if agrees else 'DISAGREES'}: largest |z| {abs(z[worst]):.1f} "
                    f"({worst}); peer runs {len(runs)}, ours {len(ours)} seeds; peer's peak RSS "
                    f"{max(r['peak_rss_gib'] for r in runs):.2f} GiB",
                )
            )
    return figures


if __name__ == "__main__":
    main()
