"""What every benchmark shares: the machine it ran on, and its figures as JSON.

Each benchmark's ``main(argv)`` takes ``--smoke`` (a size that runs in seconds, for the test
suite: it proves the benchmark still runs and still produces its figures, it measures nothing)
and ``--json PATH`` (write the figures there). A figure is one number with its unit and, where
the benchmark measures one in the same run, the peer or ceiling it is compared with and the
ratio between them. ``bench/run_all.py`` runs every benchmark and gathers the figures into
``out/bench/results.json`` beside a table (``results.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson


@dataclass
class Figure:
    """One measured number; ``value`` is the median of ``runs`` where there are several."""

    benchmark: str
    figure: str
    value: float
    unit: str
    peer: str | None = None
    """What ``value`` is compared with (a peer framework, a ceiling, a floor), if anything."""
    peer_value: float | None = None
    """The peer's figure in the same unit, measured in the same run."""
    higher_is_better: bool = True
    runs: list[float] = field(default_factory=list)
    size: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Ours over the peer's, oriented so that above 1 means ours is better."""
        if self.peer_value is None or not self.peer_value or not self.value:
            return None
        if self.higher_is_better:
            return self.value / self.peer_value
        return self.peer_value / self.value


def machine() -> dict[str, Any]:
    """Where the figures come from: enough to tell two machines apart."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory = 0.0
    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in ("numpy", "numba", "uvicorn", "mesa", "laser-core", "starsim"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = -1.0
    return {
        "node": platform.node(),
        "arch": platform.machine(),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "load_at_end": round(load, 2),
        "versions": versions,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny size that runs in seconds (for the tests)"
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")


def emit(path: Path | None, figures: list[Figure], *, argv: list[str] | None = None) -> None:
    """Print the figures' table; write them as JSON to ``path`` if given."""
    print()
    print(table(figures))
    if path is None:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds")
    command = " ".join([Path(sys.executable).name, *sys.argv] if argv is None else argv)
    rows = [as_row(f, date=now, command=command) for f in figures]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        orjson.dumps({"machine": machine(), "figures": rows}, option=orjson.OPT_INDENT_2)
    )


def as_row(f: Figure, *, date: str, command: str) -> dict[str, Any]:
    row = asdict(f)
    row["ratio"] = None if f.ratio is None else round(f.ratio, 3)
    row["date"] = date
    row["command"] = command
    return row


def table(figures: list[Figure]) -> str:
    """A Markdown table of figures."""
    lines = [
        "| benchmark | figure | size | value | unit | peer or ceiling | its value | ratio | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "" if f.ratio is None else f"{f.ratio:,.2f}x"
        lines.append(
            f"| {f.benchmark} | {f.figure} | {f.size} | {number(f.value)} | {f.unit} | "
            f"{f.peer or ''} | {number(f.peer_value)} | {ratio} | {f.note} |"
        )
    return "\n".join(lines)


def number(x: float | None) -> str:
    """A figure as the tables show it: three significant digits, thousands separated."""
    if x is None:
        return ""
    if abs(x) >= 1e9:
        return f"{x:.3g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"
