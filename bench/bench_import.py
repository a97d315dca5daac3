"""Bulk import into SQLite (WAL): ``socialcredit records import`` against its ceiling.

What it measures, on one synthetic file of valid records (JSONL and CSV):

- ``import``: :func:`socialcredit.registry.importing.import_file` end to end: read, parse,
  validate every line (subject IDs, record types, mandates, dates), insert in one transaction,
  refresh the projection of every touched subject (``evaluate`` per subject), audit entry.
- ``parse+validate``: the same file through :func:`parse_file` alone (no database).
- ``ceiling``: a plain ``executemany`` of the very same rows (already as tuples) into the same
  ``records`` table of a freshly migrated database, one transaction, same pragmas.

Each figure is the median of ``--runs`` runs (a fresh database each time). Run::

    .venv/bin/python bench/bench_import.py               # 200,000 records, 3 runs
    .venv/bin/python bench/bench_import.py --records 1000000
    .venv/bin/python bench/bench_import.py --smoke       # 2,000 records, 1 run (the tests)
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

from benchlib import Figure, add_arguments, emit
from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import load
from socialcredit.registry.importing import import_file, parse_file
from socialcredit.registry.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "tests" / "data" / "registry.toml"
AS_OF = date(2025, 1, 1)
COLUMNS = (
    "subject, subject_kind, record_type, authority, decided_on, decision_ref, counterpart, "
    "client_key, entered_at, content_hash"
)


def person_id(i: int) -> str:
    """The ``i``-th synthetic valid resident ID (Beijing Dongcheng, distinct for i < 18M)."""
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


def org_id(i: int) -> str:
    """The ``i``-th synthetic valid Unified Social Credit Code (registered in Beijing)."""
    return organisation_code(110000, i)


def synthesise(n: int, seed: int = 7) -> list[dict[str, str]]:
    """``n`` records: ~4 per person, ~1% about organisations, ~1% legal-representative roles."""
    rng = random.Random(seed)
    persons = [person_id(i) for i in range(max(1, n // 4))]
    orgs = [org_id(i) for i in range(max(1, n // 100))]
    start = date(2020, 1, 1)
    out = []
    for i in range(n):
        day = start + timedelta(days=rng.randrange(1800))
        roll = rng.random()
        if roll < 0.01:
            rec = {
                "subject": rng.choice(persons),
                "record_type": "samr.legal_rep",
                "authority": "samr",
                "counterpart": rng.choice(orgs),
            }
        elif roll < 0.02:
            kind = rng.choice(("court.refuse", "samr.abnormal"))
            rec = {
                "subject": rng.choice(orgs),
                "record_type": kind,
                "authority": kind.split(".")[0],
            }
        elif roll < 0.3:
            rec = {
                "subject": rng.choice(persons),
                "record_type": "court.refuse",
                "authority": "court",
            }
        else:
            rec = {
                "subject": rng.choice(persons),
                "record_type": "city.late_fee",
                "authority": "city",
            }
        rec["decided_on"] = day.isoformat()
        rec["decision_ref"] = f"({day.year}) decision {i}"
        rec["client_key"] = f"bench-{i}"
        out.append(rec)
    return out


def write_jsonl(records: list[dict[str, str]], path: Path) -> None:
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")


def write_csv(records: list[dict[str, str]], path: Path) -> None:
    fields = [
        "subject",
        "record_type",
        "authority",
        "decided_on",
        "decision_ref",
        "client_key",
        "counterpart",
    ]
    lines = [",".join(fields)]
    lines += [",".join(r.get(f, "") for f in fields) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_import(path: Path, workdir: Path, n: int) -> float:
    catalog = load(CATALOG)
    db = workdir / f"import-{time.monotonic_ns()}.db"
    with Ledger.open(str(db)) as ledger:
        ledger.init()
        report = import_file(ledger, path, catalog=catalog, as_of=AS_OF)
        assert report.imported == n, report
        assert ledger.count_records() == n
    return n / report.seconds


def run_parse(path: Path, n: int) -> float:
    catalog = load(CATALOG)
    started = time.perf_counter()
    parsed = parse_file(path, catalog=catalog, as_of=AS_OF)
    assert len(parsed.rows) == n
    return n / (time.perf_counter() - started)


def run_ceiling(path: Path, workdir: Path, n: int) -> float:
    catalog = load(CATALOG)
    rows = parse_file(path, catalog=catalog, as_of=AS_OF).rows
    at = "2025-01-01 00:00:00.000000"
    tuples = [
        (r.subject, r.subject_kind, r.record_type, r.authority, r.decided_on.isoformat(),
         r.decision_ref, r.counterpart, r.client_key, at, r.content_hash)
        for r in rows
    ]  # fmt: skip
    db = workdir / f"ceiling-{time.monotonic_ns()}.db"
    with Ledger.open(str(db)) as ledger:
        ledger.init()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", tuples)
        conn.execute("COMMIT")
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return n / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.records, args.runs = 2_000, 1
    n = args.records
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; {n:,} records, median of {args.runs} runs"
    )
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        workdir = Path(tmp)
        records = synthesise(n)
        jsonl, csvfile = workdir / "records.jsonl", workdir / "records.csv"
        write_jsonl(records, jsonl)
        write_csv(records, csvfile)
        print(f"{len({r['subject'] for r in records}):,} distinct subjects")
        warm = workdir / "warm-up.jsonl"  # load the compiled kernels before timing anything
        write_jsonl(records[:200], warm)
        run_import(warm, workdir, 200)
        results: dict[str, float] = {}
        runs: dict[str, list[float]] = {}
        for name, fn in (
            ("parse+validate jsonl", lambda: run_parse(jsonl, n)),
            ("parse+validate csv", lambda: run_parse(csvfile, n)),
            ("import jsonl", lambda: run_import(jsonl, workdir, n)),
            ("import csv", lambda: run_import(csvfile, workdir, n)),
            ("ceiling executemany", lambda: run_ceiling(jsonl, workdir, n)),
        ):
            rates = [fn() for _ in range(args.runs)]
            runs[name] = rates
            results[name] = statistics.median(rates)
            print(
                f"{name:24s} {results[name]:>12,.0f} records/s   "
                f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})"
            )
        ceiling = results["ceiling executemany"]
        for name in ("import jsonl", "import csv"):
            print(f"{name} / ceiling: {results[name] / ceiling:.2f}")
    size = f"{n:,} records"
    figures = [
        Figure("import", name, results[name], "records/s", runs=runs[name], size=size)
        for name in ("parse+validate jsonl", "parse+validate csv")
    ]
    figures += [
        Figure("import", name, results[name], "records/s", peer="ceiling: plain executemany",
               peer_value=ceiling, runs=runs[name], size=size)
        for name in ("import jsonl", "import csv")
    ]  # fmt: skip
    figures.append(
        Figure("import", "ceiling executemany", ceiling, "records/s",
               runs=runs["ceiling executemany"], size=size)
    )  # fmt: skip
    emit(args.json, figures)


if __name__ == "__main__":
    main()
