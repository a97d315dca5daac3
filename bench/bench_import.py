"""Bulk import (``socialcredit records import``) against its ceiling, on SQLite and PostgreSQL.

What it measures, on one synthetic file of valid records (JSONL and CSV, written as they are
generated: nothing holds the whole file, up to ``--records 15000000`` and beyond):

- ``import``: :func:`socialcredit.registry.importing.import_file` end to end, in a process of
  its own: read, parse and validate every line (subject IDs, record types, mandates, dates) on
  ``--jobs`` worker processes, stage the rows, find duplicate keys, project every touched
  subject, move everything into the ledger in one short transaction, audit entry. Also its
  peak resident memory (the importing process, and the largest of its workers) and the
  database's size on disk per record afterwards (records, indexes, subjects, projection,
  audit: the whole database file on SQLite; every table and index of the ledger's schema
  on PostgreSQL).
- ``parse+validate``: the same file through :func:`check_file` alone (no database).
- ``ceiling``: the very same rows (already as tuples, not timed) into the same ``records``
  table of a freshly migrated database in one transaction: a plain ``executemany`` on SQLite
  (the ledger's pragmas: WAL, its page cache), a ``COPY`` of the rows as text on PostgreSQL.

Each figure is the median of ``--runs`` runs (a fresh database each time). Run::

    .venv/bin/python bench/bench_import.py               # 200,000 records, 3 runs, SQLite
    .venv/bin/python bench/bench_import.py --records 15000000 --runs 1
    .venv/bin/python bench/bench_import.py --records 1000000 --pg auto   # both databases
    .venv/bin/python bench/bench_import.py --smoke       # 2,000 records, 1 run (the tests)

The records' client keys are drawn at random (``--keys random``, the default), as an
authority's own identifiers come; ``--keys sequential`` numbers them in the file's order
(``bench-{i}``: every insert at the end of the key's index), as every figure before
2026-12-03's evening was made.

``--pg URL`` uses a PostgreSQL server (a database is created and dropped per run, so the
URL's user must be allowed to); ``--pg auto`` starts a throwaway server of its own
(``bench/throwaway_pg.py``, as the tests do: initdb in a temporary directory, the server gone
with the bench however it ends; ``scripts/ensure-postgres`` installs the binaries), with its
defaults but for a larger WAL between checkpoints (``max_wal_size=8GB``) and
``shared_buffers=256MB``. With ``--statements SECONDS`` it also logs every statement that
takes that long (``log_min_duration_statement``), and each import prints its own, slowest
first: where a PostgreSQL import's time goes, in the server's own account.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from benchlib import Figure, add_arguments, emit
from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import load
from socialcredit.registry.importing import RecordFile, check_file, import_file
from socialcredit.registry.ledger import Ledger, default_projector
from throwaway_pg import NoServer, throwaway

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "tests" / "data" / "registry.toml"
AS_OF = date(2025, 1, 1)
COLUMNS = (
    "subject, subject_kind, record_type, authority, decided_on, decision_ref, counterpart, "
    "client_key, entered_at"
)
CSV_FIELDS = (
    "subject",
    "record_type",
    "authority",
    "decided_on",
    "decision_ref",
    "client_key",
    "counterpart",
)
ENTERED = "2025-01-01 00:00:00.000000"


def person_id(i: int) -> str:
    """The ``i``-th synthetic valid resident ID (Beijing Dongcheng, distinct for i < 18M)."""
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


def org_id(i: int) -> str:
    """The ``i``-th synthetic valid Unified Social Credit Code (registered in Beijing)."""
    return organisation_code(110000, i)


KEYS = ("random", "sequential")
"""How the records' client keys are made: ``random``, 20 hexadecimal digits drawn at random
(as an authority's own identifiers come: its inserts land all over the key's index), or
``sequential`` (``bench-{i}``, in the order of the file: every insert at the index's end,
which understates what a real feed costs). The records are otherwise the same."""


def synthesise(
    n: int, seed: int = 7, per_person: int = 4, keys: str = "random"
) -> Iterator[dict[str, str]]:
    """``n`` records, one at a time: drawn at random over ``n // per_person`` persons (so at
    ``per_person`` 1 about 63% of them have a record), ~1% about organisations (``n // 100``),
    ~1% legal-representative roles; decisions 2020-2024; client keys as ``keys`` says
    (:data:`KEYS`)."""
    if keys not in KEYS:
        raise ValueError(f"keys: {keys!r} is not one of {', '.join(KEYS)}")
    rng = random.Random(seed)
    key_rng = random.Random(seed + 1)  # its own draws: the records are the same either way
    n_persons, n_orgs = max(1, n // per_person), max(1, n // 100)
    persons: dict[int, str] = {}
    start = date(2020, 1, 1)
    days = [(start + timedelta(days=d)).isoformat() for d in range(1800)]

    def person() -> str:
        i = rng.randrange(n_persons)
        found = persons.get(i)
        if found is None:
            found = person_id(i)
            if len(persons) < 1_000_000:
                persons[i] = found
        return found

    for i in range(n):
        day = days[rng.randrange(1800)]
        roll = rng.random()
        if roll < 0.01:
            rec = {
                "subject": person(),
                "record_type": "samr.legal_rep",
                "authority": "samr",
                "counterpart": org_id(rng.randrange(n_orgs)),
            }
        elif roll < 0.02:
            kind = rng.choice(("court.refuse", "samr.abnormal"))
            rec = {
                "subject": org_id(rng.randrange(n_orgs)),
                "record_type": kind,
                "authority": kind.split(".")[0],
            }
        elif roll < 0.3:
            rec = {"subject": person(), "record_type": "court.refuse", "authority": "court"}
        else:
            rec = {"subject": person(), "record_type": "city.late_fee", "authority": "city"}
        rec["decided_on"] = day
        rec["decision_ref"] = f"({day[:4]}) decision {i}"
        rec["client_key"] = f"{key_rng.getrandbits(80):020x}" if keys == "random" else f"bench-{i}"
        yield rec


def write_files(
    n: int, jsonl: Path, csvfile: Path | None, warm: Path, per_person: int = 4,
    keys: str = "random",
) -> None:  # fmt: skip
    """The same ``n`` records as JSONL and CSV (unless ``csvfile`` is ``None``), written as
    they are made; the first 200 also to ``warm`` (JSONL). Each file is written beside its
    name and renamed once whole: a run stopped while writing leaves none that a later run
    with ``--files`` would take for whole."""
    parts = [(p, p.with_name(p.name + ".part")) for p in (jsonl, csvfile, warm) if p is not None]
    for _path, part in parts:
        part.unlink(missing_ok=True)
    csvpart = parts[1][1] if csvfile is not None else None
    _write_files(n, parts[0][1], csvpart, parts[-1][1], per_person, keys)
    for path, part in parts:
        part.replace(path)


def _write_files(
    n: int, jsonl: Path, csvfile: Path | None, warm: Path, per_person: int, keys: str
) -> None:
    with jsonl.open("wb") as fj, (csvfile or Path(os.devnull)).open("w", encoding="utf-8") as fc:
        fc.write(",".join(CSV_FIELDS) + "\n")
        lines: list[bytes] = []
        cells: list[str] = []
        for i, rec in enumerate(synthesise(n, per_person=per_person, keys=keys)):
            if i == 200:  # the first 200, still in the first block
                warm.write_bytes(b"\n".join(lines) + b"\n")
            lines.append(orjson.dumps(rec))
            if csvfile is not None:
                cells.append(",".join(rec.get(f, "") for f in CSV_FIELDS))
            if len(lines) >= 50_000:
                fj.write(b"\n".join(lines) + b"\n")
                fc.write("".join(c + "\n" for c in cells))
                lines, cells = [], []
        if lines:
            fj.write(b"\n".join(lines) + b"\n")
            fc.write("".join(c + "\n" for c in cells))
        if n <= 200:
            warm.write_bytes(jsonl.read_bytes())


# --------------------------------------------------------------------------------------------
# Databases: a fresh one per run


class Databases:
    """Fresh ledgers, one per run: SQLite files in ``workdir``, or databases on a server."""

    def __init__(self, workdir: Path, pg_url: str | None) -> None:
        self.workdir = workdir
        self.pg_url = pg_url
        self.count = 0

    @property
    def backend(self) -> str:
        return "sqlite" if self.pg_url is None else "postgresql"

    @contextmanager
    def fresh(self, name: str) -> Iterator[str]:
        self.count += 1
        if self.pg_url is None:
            path = self.workdir / f"{name}-{self.count}.db"
            try:
                yield str(path)
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        import psycopg
        from sqlalchemy.engine import make_url

        dbname = f"bench_import_{os.getpid()}_{self.count}"
        base = make_url(self.pg_url)
        admin = base.set(database="postgres", drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        try:
            yield base.set(database=dbname).render_as_string(hide_password=False)
        finally:
            with psycopg.connect(
                admin.render_as_string(hide_password=False), autocommit=True
            ) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def on_disk(url: str) -> int:
    """Bytes the ledger takes: its SQLite file (checkpointed), or its tables and indexes."""
    if "://" not in url:
        return sum(
            os.path.getsize(f"{url}{s}") for s in ("", "-wal") if os.path.exists(f"{url}{s}")
        )
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()
    return int(row[0] or 0) if row else 0


# --------------------------------------------------------------------------------------------
# The runs


def run_import(path: Path, dbs: Databases, n: int, jobs: int | None) -> dict[str, float]:
    """One import in a process of its own: records/s, peak RSS (MiB), bytes per record."""
    with dbs.fresh("import") as url:
        with Ledger.open(url) as ledger:
            ledger.init()
        logged = SERVER_LOG[0].stat().st_size if SERVER_LOG and dbs.backend != "sqlite" else None
        out = subprocess.run(
            [sys.executable, __file__, "--child-import", str(path), url, str(jobs or 0)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"the import failed:\n{out.stdout}\n{out.stderr}")
        result = orjson.loads(out.stdout.strip().splitlines()[-1])
        assert result["imported"] == n, result
        result["bytes_per_record"] = on_disk(url) / n
        if logged is not None:
            print_statements(SERVER_LOG[0], logged)
    return result


def print_statements(log: Path, start: int) -> None:
    """The statements the server logged (``log_min_duration_statement``) after byte ``start``
    of its log, slowest first."""
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    found = []
    for line in text.splitlines():  # "duration: 1.5 ms  statement: ..." ("execute <name>:
        _, sep, logged = line.partition("duration: ")  # ..." for one with parameters)
        ms, _, what = logged.partition(" ms  ")
        kind, _, sql = what.partition(": ")
        if sep and sql and (kind == "statement" or kind.startswith("execute")):
            found.append((float(ms) / 1000, " ".join(sql.split())))
    if found:
        print("    the import's slowest statements (the server's log):", flush=True)
    for seconds, sql in sorted(found, reverse=True):
        print(f"    {seconds:8.1f} s  {sql[:110]}", flush=True)


def child_import(path: str, url: str, jobs: int) -> None:
    catalog = load(CATALOG)
    with Ledger.open(url) as ledger:
        report = import_file(ledger, path, catalog=catalog, as_of=AS_OF, jobs=jobs or None)
        assert ledger.count_records() == report.imported
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        orjson.dumps(
            {
                "rate": report.lines / report.seconds,
                "seconds": report.seconds,
                "imported": report.imported,
                "rss_mib": own,
                "worker_rss_mib": workers,
            }
        ).decode()
    )


def run_parse(path: Path, n: int, jobs: int | None) -> float:
    catalog = load(CATALOG)
    started = time.perf_counter()
    assert check_file(path, catalog=catalog, as_of=AS_OF, jobs=jobs) == n
    return n / (time.perf_counter() - started)


def ceiling_rows(path: Path, jobs: int | None) -> Path:
    """The file's records as the ledger's ``records`` columns, pickled a chunk at a time into
    a file beside it (once, not timed: the timed runs read it back without parsing in
    parallel to what they time)."""
    out = path.with_suffix(".records")  # (".ceiling" and ".rows" held digests too)
    if out.exists():
        return out
    catalog = load(CATALOG)
    source = RecordFile(
        path, catalog=catalog, as_of=AS_OF, jobs=jobs, project=default_projector(catalog, AS_OF)
    )
    part = out.with_suffix(".part")
    with part.open("wb") as f:
        for batch in source.batches():
            rows = [(*row[:8], ENTERED) for row in batch]  # the staged row's record columns
            pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)
    part.replace(out)
    return out


def read_rows(path: Path) -> Iterator[list[tuple[Any, ...]]]:
    with path.open("rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def run_ceiling(path: Path, dbs: Databases, n: int, jobs: int | None) -> float:
    if dbs.pg_url is None:
        return sqlite_ceiling(path, dbs, n, jobs)
    return pg_ceiling(path, dbs, n, jobs)


def sqlite_ceiling(path: Path, dbs: Databases, n: int, jobs: int | None) -> float:
    from socialcredit.registry.ledger.dialect import SQLITE_CACHE_KIB

    with dbs.fresh("ceiling") as db:
        with Ledger.open(db) as ledger:
            ledger.init()
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            sql = f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
            seconds = 0.0
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            seconds += time.perf_counter() - started
            done = 0
            for rows in read_rows(ceiling_rows(path, jobs)):
                started = time.perf_counter()
                conn.executemany(sql, rows)
                seconds += time.perf_counter() - started
                done += len(rows)
            started = time.perf_counter()
            conn.execute("COMMIT")
            seconds += time.perf_counter() - started
            assert done == n
        finally:
            conn.close()
    return n / seconds


def pg_ceiling(path: Path, dbs: Databases, n: int, jobs: int | None) -> float:
    """``COPY`` of the rows, written first as COPY text to a file (not timed)."""
    import psycopg
    from sqlalchemy.engine import make_url

    text = path.with_suffix(".copy")
    with text.open("wb") as f:
        for rows in read_rows(ceiling_rows(path, jobs)):
            f.write(b"".join(_copy_line(r) for r in rows))
    try:
        with dbs.fresh("ceiling") as url:
            with Ledger.open(url) as ledger:
                ledger.init()
            plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(plain) as conn, text.open("rb") as f:
                started = time.perf_counter()
                with conn.cursor() as cur, cur.copy(f"COPY records ({COLUMNS}) FROM STDIN") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
                conn.commit()
                seconds = time.perf_counter() - started
    finally:
        text.unlink(missing_ok=True)
    return n / seconds


def _copy_line(row: tuple[Any, ...]) -> bytes:
    cells = ("\\N" if v is None else str(v).replace("\\", "\\\\") for v in row)
    return ("\t".join(cells) + "\n").encode()


# --------------------------------------------------------------------------------------------
# A throwaway PostgreSQL server (--pg auto)


SERVER_LOG: list[Path] = []
"""The throwaway server's log, while it runs (``--statements``)."""


@contextmanager
def throwaway_postgres(statements: float | None = None) -> Iterator[str]:
    """A throwaway server (:mod:`throwaway_pg`) with its defaults but for a larger WAL between
    checkpoints and more shared buffers; with ``statements``, those that take that many
    seconds or more logged. Yields its URL."""
    settings = ["max_wal_size=8GB", "shared_buffers=256MB"]
    if statements is not None:
        settings.append(f"log_min_duration_statement={int(statements * 1000)}")
    try:
        with throwaway(settings, prefix="bench-pg-") as server:
            SERVER_LOG.append(server.log)
            try:
                yield server.url()
            finally:
                SERVER_LOG.clear()
    except NoServer as exc:
        raise SystemExit(f"no throwaway PostgreSQL server: {exc}") from None


# --------------------------------------------------------------------------------------------


def measure(
    dbs: Databases,
    files: dict[str, Path],
    jsonl: Path,
    n: int,
    runs: int,
    jobs: int | None,
    parse: bool,
) -> tuple[dict[str, list[float]], dict[str, list[dict[str, float]]]]:
    """Rates by figure, and the imports' details (memory, bytes)."""
    rates: dict[str, list[float]] = {}
    details: dict[str, list[dict[str, float]]] = {}
    suffix = "" if dbs.backend == "sqlite" else f" ({dbs.backend})"
    steps: list[tuple[str, Any]] = []
    if parse:
        steps += [
            (f"parse+validate {fmt}", lambda p=p: run_parse(p, n, jobs)) for fmt, p in files.items()
        ]
    for fmt, p in files.items():
        steps.append((f"import {fmt}{suffix}", lambda p=p: run_import(p, dbs, n, jobs)))
    ceiling = "ceiling executemany" if dbs.backend == "sqlite" else "ceiling COPY (postgresql)"
    steps.append((ceiling, lambda: run_ceiling(jsonl, dbs, n, jobs)))
    for name, fn in steps:
        values = []
        for _ in range(runs):
            got = fn()
            if isinstance(got, dict):
                details.setdefault(name, []).append(got)
                got = got["rate"]
            values.append(got)
        rates[name] = values
        line = (
            f"{name:34s} {statistics.median(values):>12,.0f} records/s   (runs: "
            + ", ".join(f"{r:,.0f}" for r in values)
            + f"; load {os.getloadavg()[0]:.1f})"
        )
        print(line, flush=True)
        for d in details.get(name, []):
            print(
                f"    {d['seconds']:.1f} s, peak RSS {d['rss_mib']:,.0f} MiB (workers "
                f"{d['worker_rss_mib']:,.0f} MiB each at most), "
                f"{d['bytes_per_record']:,.0f} bytes/record on disk",
                flush=True,
            )
    return rates, details


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes parsing the file (default: one per core)",
    )
    parser.add_argument("--pg", help="a PostgreSQL server URL, or 'auto' (a throwaway one)")
    parser.add_argument("--pg-only", action="store_true", help="PostgreSQL alone, not SQLite")
    parser.add_argument("--formats", default="jsonl,csv", help="jsonl, csv or both")
    parser.add_argument(
        "--per-person",
        type=int,
        default=4,
        help="records drawn over records/N persons (default 4; 1: most persons have one)",
    )
    parser.add_argument(
        "--keys",
        choices=KEYS,
        default="random",
        help="the records' client keys: drawn at random (default) or in the file's order",
    )
    parser.add_argument(
        "--files", type=Path, help="keep the generated files in this folder (and reuse them)"
    )
    parser.add_argument(
        "--statements",
        type=float,
        metavar="SECONDS",
        help="with --pg auto: print each import's statements that took this long or longer",
    )
    parser.add_argument("--child-import", nargs=3, help=argparse.SUPPRESS)
    add_arguments(parser)
    args = parser.parse_args(argv)
    # ended by a signal, as by an interrupt: the throwaway server stopped, its files removed
    signal.signal(signal.SIGTERM, _terminated)
    if args.child_import:
        child_import(args.child_import[0], args.child_import[1], int(args.child_import[2]))
        return
    if args.smoke:
        args.records, args.runs = 2_000, 1
    n = args.records
    if args.per_person < 1:
        parser.error("--per-person must be at least 1")
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {n:,} records, "
        f"median of {args.runs} runs, jobs {args.jobs or 'one per core'}",
        flush=True,
    )
    kept = args.files is not None
    with (
        nullcontext(str(args.files))
        if kept
        else tempfile.TemporaryDirectory(prefix="bench-import-") as tmp
    ):
        workdir = Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        name = f"{n}" if args.per_person == 4 else f"{n}-per-person-{args.per_person}"
        name += f"-keys-{args.keys}"  # a file kept from before keys were named is not taken
        jsonl, csvfile = workdir / f"records-{name}.jsonl", workdir / f"records-{name}.csv"
        warm = workdir / f"warm-up-{name}.jsonl"
        started = time.perf_counter()
        formats = args.formats.split(",")
        if not (kept and jsonl.exists() and warm.exists() and
                ("csv" not in formats or csvfile.exists())):  # fmt: skip
            write_files(n, jsonl, csvfile if "csv" in formats else None, warm, args.per_person,
                        args.keys)  # fmt: skip
        print(
            f"files ready in {time.perf_counter() - started:.0f} s: "
            f"{jsonl.stat().st_size / n:.0f} bytes/record (JSONL)",
            flush=True,
        )
        files = {fmt: {"jsonl": jsonl, "csv": csvfile}[fmt] for fmt in formats}
        rates: dict[str, list[float]] = {}
        details: dict[str, list[dict[str, float]]] = {}
        backends: list[str | None] = [] if args.pg_only else [None]
        server = throwaway_postgres(args.statements) if args.pg == "auto" else nullcontext(args.pg)
        with server as pg_url:
            if pg_url is not None:
                backends.append(pg_url)
            for i, url in enumerate(backends):
                dbs = Databases(workdir, url)
                with dbs.fresh("warm") as db:  # load the compiled kernels before timing
                    with Ledger.open(db) as ledger:
                        ledger.init()
                        import_file(ledger, warm, catalog=load(CATALOG), as_of=AS_OF)
                got, more = measure(dbs, files, jsonl, n, args.runs, args.jobs, parse=i == 0)
                rates.update(got)
                details.update(more)
    figures = figures_of(rates, details, n, args.per_person, args.keys)
    emit(args.json, figures)


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def figures_of(
    rates: dict[str, list[float]],
    details: dict[str, list[dict[str, float]]],
    n: int,
    per_person: int = 4,
    keys: str = "random",
) -> list[Figure]:
    size = f"{n:,} records" + ("" if per_person == 4 else f" over {n // per_person:,} persons")
    if keys != "random":
        size += f", {keys} keys"
    out: list[Figure] = []
    ceilings = {name: statistics.median(v) for name, v in rates.items() if "ceiling" in name}
    for name, values in rates.items():
        median = statistics.median(values)
        if name.startswith("import"):
            pg = "postgresql" in name
            ceiling = next(c for c in ceilings if ("postgresql" in c) == pg)
            done = details[name]
            note = (
                f"peak RSS {max(d['rss_mib'] for d in done):,.0f} MiB (workers "
                f"{max(d['worker_rss_mib'] for d in done):,.0f} MiB each); "
                f"{statistics.median(d['bytes_per_record'] for d in done):,.0f} "
                "bytes/record on disk"
            )
            peer = "ceiling: plain executemany" if not pg else "ceiling: COPY"
            out.append(
                Figure(
                    "import",
                    name,
                    median,
                    "records/s",
                    peer=peer,
                    peer_value=ceilings[ceiling],
                    runs=values,
                    size=size,
                    note=note,
                )
            )
        else:
            out.append(Figure("import", name, median, "records/s", runs=values, size=size))
    return out


if __name__ == "__main__":
    main()
