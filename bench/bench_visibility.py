"""How soon an imported record is visible to checks on a large registry.

The question (issue 14): on a registry of ten million subjects, is a record imported by
``socialcredit records import`` (another process) answered by the check path within 2 s of the
import's commit? The server does not reload the registry after a write: its poller reads the
audit entries written since its last look, and reloads from the projection exactly the
subjects they name (an import's entry names every subject it touched), 5,000 at a time. So
what should grow is the cost per imported subject, not the registry's size; this measures it.

The fixture: a SQLite registry of ``--subjects`` persons (10,000,000), each with one record;
``--listed`` of them (1%) with a court record that lists them (24 measures each through the
joint punishment memoranda), the others a lender's lawful record; every bundled admissible
catalog in force. Built by SQL, not through the importer (which would take most of an hour
here): the records as the importer writes them (content hashes included), the secondary
indexes built after the load, and the projection of each listed subject copied from the one
the projector computes for a record of that day (300 distinct days); a sample of 200 subjects
is then re-projected from its facts by the ledger and must match what was written.
``--keep DIR`` keeps it (and reuses it when its size matches).

Then, ``--runs`` times: ``socialcredit serve`` on it (start-up timed until the first answer),
an import of ``--import`` (1,000 and 20,000) new debtors in a process of its own, and from then
on checks of the first, middle and last imported debtor until all three are denied. The delay
is counted from the import's commit, as another process sees it: the bench reads the ledger
every 10 ms while the import runs, and the first read that finds the import's audit entry
marks it; the checks start then, while the importing process may still be finishing (until
2026-12-02 they started only once it had ended, which counted the importer's own work after
its commit as the server's delay). Printed beside it: the delay from the time written in that
entry (made in the last transaction before its commit), and when the importing process ended.

    .venv/bin/python bench/bench_visibility.py --subjects 10000000 --keep /tmp/vis10m
    .venv/bin/python bench/bench_visibility.py --smoke
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from benchlib import Figure, add_arguments, emit
from socialcredit.identifiers import resident_id
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.ledger import Ledger, default_projector
from socialcredit.registry.ledger.projection import ProjectionGround, compact
from socialcredit.registry.model import Record

TODAY = date(2026, 6, 1)
LISTED = ("court.dishonest_debtor.refuse_to_perform", "court")
PLAIN = ("lenders.on_time", "lenders")
FIRST_DAY = date(2025, 7, 1)
DAYS = 300
CHUNK = 500_000
DROPPED = ("ix_records_subject", "ix_records_counterpart", "ix_projection_subject")


def person_id(i: int) -> str:
    """The ``i``-th synthetic valid resident ID (distinct for i < 18,000,000)."""
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


def listed(i: int, share: float) -> bool:
    return random.Random(i).random() < share


def build(db: Path, subjects: int, share: float) -> None:
    started = time.perf_counter()
    catalog = registry_catalog()
    with Ledger.open(str(db)) as ledger:
        ledger.init()
        sql_indexes = {
            name: sql
            for name, sql in ledger._engine.connect().exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
            if name in DROPPED
        }
    project = default_projector(catalog, TODAY)
    template: dict[date, list[tuple[object, ...]]] = {}
    grounds: dict[int, ProjectionGround] = {}
    for d in range(DAYS):
        day = FIRST_DAY + timedelta(days=d)
        record = Record("1", "X", LISTED[0], LISTED[1], day, "t", None)
        measures = project({"X": [record]}).get("X", [])
        rows, day_grounds = compact(
            ("X", m.measure, m.list, m.memorandum, m.since, m.until) for m in measures
        )
        grounds.update(day_grounds)
        template[day] = [(gid, _iso(since), _iso(until)) for _, gid, since, until in rows]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")  # a fixture: rebuilt if the machine fails
    conn.execute("PRAGMA cache_size = -2000000")
    for name in DROPPED:
        conn.execute(f"DROP INDEX {name}")
    conn.executemany(
        "INSERT INTO projection_grounds (id, list, memorandum, measures) VALUES (?, ?, ?, ?)",
        [(gid, g.list, g.memorandum, " ".join(sorted(g.measures))) for gid, g in grounds.items()],
    )
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    on = TODAY.isoformat()
    people = 0
    for start in range(0, subjects, CHUNK):
        records, projection = [], []
        for i in range(start, min(subjects, start + CHUNK)):
            subject = person_id(i)
            is_listed = listed(i, share)
            record_type, authority = LISTED if is_listed else PLAIN
            day = FIRST_DAY + timedelta(days=i % DAYS)
            ref = f"fixture {i}"
            records.append((subject, "person", record_type, authority, day.isoformat(), ref,
                            None, None, at))  # fmt: skip
            if is_listed:
                projection += [(subject, *row, on) for row in template[day]]
                people += 1
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO records (subject, subject_kind, record_type, authority, decided_on, "
            "decision_ref, counterpart, client_key, entered_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            records,
        )
        conn.executemany(
            "INSERT INTO projection (subject, ground, since, until, computed_as_of) "
            "VALUES (?, ?, ?, ?, ?)",
            projection,
        )
        conn.execute("COMMIT")
        print(f"  {min(subjects, start + CHUNK):,} subjects loaded "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    for name in DROPPED:
        conn.execute(sql_indexes[name])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size / 2**30
    print(f"fixture: {subjects:,} subjects, {people:,} listed, built in "
          f"{time.perf_counter() - started:.0f} s, {size:.1f} GiB")  # fmt: skip
    verify(db, subjects, share)


def verify(db: Path, subjects: int, share: float) -> None:
    """A sample re-projected by the ledger from its facts matches what the fixture wrote."""
    catalog = registry_catalog()
    project = default_projector(catalog, TODAY)
    rng = random.Random(5)
    sample = [person_id(rng.randrange(subjects)) for _ in range(100)]
    sample += [person_id(i) for i in range(subjects) if listed(i, share)][:100]
    with Ledger.open(str(db)) as ledger:
        written = {s: _rows(ledger, s) for s in sample}
        facts = {s: ledger.facts(s) for s in sample}
        computed = project(facts)
    for s in sample:
        want = sorted((m.measure, m.list, m.memorandum, m.since, m.until)
                      for m in computed.get(s, []))  # fmt: skip
        if written[s] != want:
            raise SystemExit(f"fixture: the projection of {s} is not the ledger's: {written[s]}")


def _rows(ledger: Ledger, subject: str) -> list[tuple[object, ...]]:
    return sorted((m.measure, m.list, m.memorandum, m.since, m.until)
                  for m in ledger.active_measures(subject))  # fmt: skip


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def index_figures(db: Path) -> dict[str, float]:
    """The server's check index loaded in this process, from the projection and from the
    snapshot kept beside the database (``<db>-checkindex``, written by the first load): how
    long each takes, and the arrays' bytes per subject with measures (the server's whole
    resident size is printed with each run)."""
    from socialcredit.service.state import CheckIndex

    catalog = registry_catalog()
    with Ledger.open(str(db)) as ledger:
        index = CheckIndex(ledger, catalog, snapshot=None)
        began = time.perf_counter()
        subjects = index.load()
        load_s = time.perf_counter() - began
        CheckIndex(ledger, catalog).load()  # writes the snapshot if there is none
        kept = CheckIndex(ledger, catalog)
        began = time.perf_counter()
        kept.load()
        snapshot_s = time.perf_counter() - began
    per = index.nbytes / max(subjects, 1)
    print(
        f"check index: {subjects:,} subjects with measures loaded in {load_s:.1f} s from the "
        f"projection, {snapshot_s:.2f} s from the snapshot; {index.nbytes / 2**20:,.1f} MiB "
        f"of arrays ({per:.0f} B per subject)",
        flush=True,
    )
    return {"load_s": load_s, "snapshot_s": snapshot_s, "bytes_per_subject": per,
            "subjects": float(subjects)}  # fmt: skip


def import_at(db: Path) -> float:
    """When the newest import's audit entry was written (epoch seconds)."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT at FROM audit_log WHERE action = 'records.import' "
                           "ORDER BY seq DESC LIMIT 1").fetchone()  # fmt: skip
    finally:
        conn.close()
    text = str(row[0]).replace("T", " ")[:26]
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def one_run(db: Path, work: Path, token: str, size: int, offset: int) -> dict[str, float]:
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "socialcredit", "serve", "--db", str(db), "--port", str(port),
         "--today", TODAY.isoformat()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"the server exited ({server.returncode})")
                try:
                    client.get(f"/api/v1/checks/{person_id(0)}/restrict.flight")
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            startup = time.perf_counter() - started
            rss = _rss_mb(server.pid)
            people = [person_id(offset + n) for n in range(size)]
            source = work / f"import-{offset}.jsonl"
            source.write_bytes(b"\n".join(orjson.dumps(
                {"subject": s, "record_type": LISTED[0], "authority": LISTED[1],
                 "decided_on": "2026-05-20", "decision_ref": f"import {offset} {s}"})
                for s in people) + b"\n")  # fmt: skip
            watched = (people[0], people[size // 2], people[-1])
            for s in watched:
                assert client.get(f"/api/v1/checks/{s}/restrict.flight").json()["decision"] == (
                    "allow")  # fmt: skip
            began = time.perf_counter()
            before = _imports(db)
            proc = subprocess.Popen(
                [sys.executable, "-m", "socialcredit", "records", "import", str(source),
                 "--db", str(db), "--as-of", TODAY.isoformat()], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            committed_seen = float("nan")  # the import's entry first readable: its commit
            while proc.poll() is None:
                if _imports(db) > before:
                    committed_seen = time.time()
                    break
                time.sleep(0.01)
            # from the commit on, checks until the three are denied, whether or not the
            # importing process has ended (what it does after its commit is not the server's)
            while True:
                answers = {client.get(f"/api/v1/checks/{s}/restrict.flight").json()["decision"]
                           for s in watched}  # fmt: skip
                if answers == {"deny"}:
                    seen = time.time()
                    break
                if proc.poll() is not None and proc.returncode != 0:
                    break
                if time.time() - committed_seen > 120:
                    raise SystemExit("the import was not visible after 120 s")
            _out, err = proc.communicate()
            exited = time.time()
            import_s = time.perf_counter() - began
            if proc.returncode != 0:
                raise SystemExit(f"the import failed: {err[-2000:]}")
            committed = import_at(db)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"startup": startup, "rss_mb": rss, "import_s": import_s,
            "from_commit": seen - committed_seen, "from_entry": seen - committed,
            "exit_after_commit": exited - committed_seen}  # fmt: skip


def _imports(db: Path) -> int:
    """How many imports the ledger holds, read as another process would (every 10 ms while
    an import runs: the first read that finds the new one marks its commit)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'records.import'")
        return int(row.fetchone()[0])
    finally:
        conn.close()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=10_000_000)
    parser.add_argument("--listed", type=float, default=0.01)
    parser.add_argument("--import", dest="sizes", default="1000,20000",
                        help="debtors imported, one size or several, comma-separated")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the fixture in this folder and keep it")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.subjects, args.listed, args.sizes, args.runs = 20_000, 0.05, "200", 1
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.subjects + args.runs * len(sizes) * max(sizes) > 18_000_000:
        raise SystemExit("--subjects and the imports together: at most 18,000,000 persons")
    with tempfile.TemporaryDirectory(prefix="bench-visibility-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = work / f"registry-{args.subjects}-{args.listed:g}.db"
        fresh = work / f"{db.name}.fresh"
        if not fresh.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            build(db, args.subjects, args.listed)
            with Ledger.open(str(db)) as ledger:
                token = ledger.create_key(role="consumer", principal="transport", actor="bench")
            fresh.write_text(token, encoding="ascii")
        token = fresh.read_text(encoding="ascii")
        index = index_figures(db)
        offset = args.subjects
        with Ledger.open(str(db)) as ledger:
            offset += ledger.count_records() - args.subjects  # imports of earlier runs kept
        results: dict[int, list[dict[str, float]]] = {s: [] for s in sizes}
        print(f"registry: {args.subjects:,} subjects ({args.listed:.0%} listed); load average "
              f"{os.getloadavg()[0]:.2f}")  # fmt: skip
        for run in range(1, args.runs + 1):
            for size in sizes:
                r = one_run(db, work, token, size, offset)
                offset += size
                results[size].append(r)
                print(f"run {run}, {size:,} imported: visible {r['from_commit']:.2f} s after the "
                      f"import's commit ({r['from_entry']:.2f} s after its audit entry was made; "
                      f"the importing process ended {r['exit_after_commit']:.2f} s after its "
                      f"commit); "
                      f"import {r['import_s']:.1f} s; server start-up {r['startup']:.1f} s, "
                      f"{r['rss_mb']:,.0f} MB resident", flush=True)  # fmt: skip
    figures = []
    label = f"{args.subjects:,} subjects, {args.listed:.0%} listed"
    for size in sizes:
        values = [r["from_commit"] for r in results[size]]
        med = statistics.median(values)
        print(f"{size:,} imported: median {med:.2f} s from the import's commit "
              f"(runs {' / '.join(f'{v:.2f}' for v in values)}); goal <= 2 s: "
              f"{'met' if med <= 2.0 else 'not met'}")  # fmt: skip
        figures.append(Figure("visibility", f"{size:,} imported: visible after", med, "s",
                              higher_is_better=False, runs=values, size=label,
                              note="goal <= 2 s"))  # fmt: skip
    figures.append(Figure("index", "check index load from the projection (in process)",
                          index["load_s"], "s", higher_is_better=False, size=label))  # fmt: skip
    figures.append(Figure("index", "check index load from its snapshot (in process)",
                          index["snapshot_s"], "s", higher_is_better=False, size=label,
                          note="goal: start-up <= 10 s at 10 million with measures"))  # fmt: skip
    figures.append(Figure("index", "check index bytes per subject with measures",
                          index["bytes_per_subject"], "B", higher_is_better=False, size=label,
                          note="goal <= 100 B"))  # fmt: skip
    startup = statistics.median(r["startup"] for rs in results.values() for r in rs)
    figures.append(Figure("visibility", "server start-up", startup, "s", higher_is_better=False,
                          size=label))  # fmt: skip
    emit(args.json, figures)


if __name__ == "__main__":
    main()
