"""Running a benchmark of bench/ as its users run it: a script, in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

if str(BENCH) not in sys.path:  # for the few pure helpers tested in process
    sys.path.insert(0, str(BENCH))


def run_bench(script: str, *args: str, out: Path, timeout: float = 600) -> dict[str, Any]:
    """``bench/<script> --smoke --json <out> <args>``; its JSON, or a failure with its output."""
    cmd = [sys.executable, str(BENCH / script), "--smoke", "--json", str(out), *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd[1:])} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    result: dict[str, Any] = orjson.loads(out.read_bytes())
    return result


def by_figure(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in result["figures"]:
        out.setdefault(f["figure"], []).append(f)
    return out
