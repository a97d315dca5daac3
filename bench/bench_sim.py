"""Benchmark: the simulator at 1M, 10M, 100M and 1.4B agents, and a Mesa peer at 100k.

Rules simulated: scenario ``national-2013`` under regime ``law-bound`` (the court list, its
24-month listing, performance, objections, flight and G-train checks) for the calendar year
2017, from an empty list. Each size runs in a fresh process (``socialcredit simulate``) so peak
RSS is that run's; wall time includes start-up, population layout and writing Parquet.

Side by side in the same run: the same model written the Mesa way (``bench/mesa_peer.py``,
one Python agent per person stepped daily) at 100k agents against ``Run.run`` at 100k agents,
both on one thread, timed in-process over the stepping only (no output written on either
side). Mesa is installed into ``.venv-mesa`` (a benchmark peer, not a dependency).

    .venv/bin/python bench/bench_sim.py                     # 1M, 10M, 100M, 1.4B + Mesa
    .venv/bin/python bench/bench_sim.py --sizes 1e6 1e7 --no-mesa
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MESA_VENV = ROOT / ".venv-mesa"
MESA_VERSION = "3.3.1"  # the newest Mesa for Python 3.11


def run_size(agents: int, threads: int) -> tuple[float, float]:
    """(wall seconds, peak RSS GiB) of one ``socialcredit simulate`` process."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable, "-m", "socialcredit", "simulate", "--scenario", "national-2013",
            "--regime", "law-bound", "--population", str(agents), "--start", "2017-01-01",
            "--end", "2017-12-31", "--threads", str(threads), "--out", out,
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 2**20


def ours_in_process(agents: int, days: int, threads: int) -> float:
    """Seconds to step ``agents`` through ``days`` (no output written, like the peer)."""
    import numba

    from socialcredit.sim.engine import Run
    from socialcredit.sim.regime import load_regime
    from socialcredit.sim.scenario import load

    sc = load("national-2013")
    last = date.fromordinal(date(2017, 1, 1).toordinal() + days - 1)
    run = Run(sc, load_regime("law-bound"), agents, 1, threads, 0, date(2017, 1, 1), last)
    numba.set_num_threads(threads)
    t = time.perf_counter()
    for d0 in range(0, days, 365):
        run._step(d0, min(365, days - d0))
    return time.perf_counter() - t


def mesa(agents: int, days: int) -> dict[str, float]:
    python = MESA_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MESA_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"mesa=={MESA_VERSION}"], check=True
        )
    out = subprocess.run(
        [str(python), str(ROOT / "bench" / "mesa_peer.py"), "--agents", str(agents),
         "--days", str(days)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="*", default=[1e6, 1e7, 1e8, 1.4e9])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-mesa", action="store_true")
    ap.add_argument("--peer-agents", type=int, default=100_000)
    ap.add_argument("--peer-days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; threads {args.threads}")
    ours_in_process(1000, 5, args.threads)  # compile or load the kernel cache
    for size in args.sizes:
        agents = int(size)
        wall, rss = run_size(agents, args.threads)
        print(
            f"{agents:>14,} agents x 365 days: {wall:7.1f} s wall, peak RSS {rss:5.2f} GiB, "
            f"{agents * 365 / wall:,.0f} agent-days/s"
        )
    if args.no_mesa:
        return
    days = args.peer_days
    # one thread on both sides (Mesa steps on one); ours is timed more often: it is short
    ours = [ours_in_process(args.peer_agents, days, 1) for _ in range(max(args.repeat, 9))]
    peer = [mesa(args.peer_agents, days)["run_s"] for _ in range(args.repeat)]
    o, p = statistics.median(ours), statistics.median(peer)
    print(
        f"peer, {args.peer_agents:,} agents x {days} days (stepping only, median of {args.repeat}):"
    )
    print(f"  socialcredit (1 thread): {o:.3f} s ({args.peer_agents * days / o:,.0f} agent-days/s)")
    print(f"  Mesa {MESA_VERSION}:   {p:.3f} s ({args.peer_agents * days / p:,.0f} agent-days/s)")
    print(f"  ratio: {p / o:,.0f}x")


if __name__ == "__main__":
    main()
