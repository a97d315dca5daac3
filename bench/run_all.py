"""Run every benchmark at its documented default size; gather the figures.

Each benchmark runs as its own process (``bench/<name>.py --json ...``); its figures go into
``out/bench/results.json`` (benchmark, figure, value, unit, the peer or ceiling measured in the
same run and its value, ratio, date, machine, command), and a Markdown table of them into
``out/bench/results.md``. A benchmark that fails is named at the end and the exit status is 1;
the others still run. ``make bench`` installs the bench extra (the peer frameworks, pinned) and
runs this.

    .venv/bin/python bench/run_all.py                     # everything, default sizes
    .venv/bin/python bench/run_all.py --only sim import   # some of them
    .venv/bin/python bench/run_all.py --smoke             # every benchmark at its smoke size
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchlib import machine, number

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BENCHMARKS = {
    "evaluate": "bench_evaluate.py",
    "fold": "bench_fold.py",
    "import": "bench_import.py",
    "sim": "bench_sim.py",
    "regimes": "bench_regimes.py",
    "checks": "bench_checks.py",
    "visibility": "bench_visibility.py",
}


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="these benchmarks")
    ap.add_argument("--smoke", action="store_true", help="every benchmark at its smoke size")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(BENCHMARKS)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    figures: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in names:
        part = args.out / f"{name}.json"
        part.unlink(missing_ok=True)
        cmd = [sys.executable, f"bench/{BENCHMARKS[name]}", "--json", str(part)]  # from ROOT
        if args.smoke:
            cmd.append("--smoke")
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        t = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, check=False)
        print(f"=== {name}: {time.perf_counter() - t:.0f} s, exit {done.returncode}", flush=True)
        if done.returncode != 0 or not part.exists():
            failed.append(name)
            continue
        figures += orjson.loads(part.read_bytes())["figures"]
    result = {
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "smoke": args.smoke,
        "machine": machine(),
        "failed": failed,
        "figures": figures,
    }
    (args.out / "results.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    (args.out / "results.md").write_text(markdown(result), encoding="utf-8")
    print(f"\nwritten: {args.out / 'results.json'}, {args.out / 'results.md'}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        f"# Benchmarks, {result['started']} ({'smoke' if result['smoke'] else 'default'} sizes)",
        "",
        f"Commit {result['commit']}; {m['arch']}, {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB; {versions}; load average at the end {m['load_at_end']}.",
        "",
        "| benchmark | figure | size | value | unit | peer or ceiling | its value | ratio | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in result["figures"]:
        ratio = "" if f["ratio"] is None else f"{f['ratio']:,.2f}x"
        lines.append(
            f"| {f['benchmark']} | {f['figure']} | {f['size']} | {number(f['value'])} | "
            f"{f['unit']} | {f['peer'] or ''} | {number(f['peer_value'])} | {ratio} | {f['note']} |"
        )
    if result["failed"]:
        lines += ["", f"Failed: {', '.join(result['failed'])}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
