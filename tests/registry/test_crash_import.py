"""Crash safety: an import killed with SIGKILL mid-transaction leaves all or nothing behind.

A subprocess imports a large file into SQLite (WAL); as soon as its write transaction has spilled
pages into the WAL file, it is killed. The database must then pass ``PRAGMA integrity_check``,
hold either none or all of the records, and the same import run again must succeed and yield
exactly the full count.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import orjson

from socialcredit.policy.loader import Loaded
from socialcredit.registry.catalogs import activate
from socialcredit.registry.config import FIRST_DAY
from socialcredit.registry.importing import import_file
from socialcredit.registry.ledger import Ledger

LINES = 200_000
AS_OF = date(2025, 1, 1)
DATA = Path(__file__).parents[1] / "data"


def _write_file(path: Path, person: Callable[[int], str]) -> None:
    people = [person(i) for i in range(3_000)]
    start = date(2020, 1, 1)
    lines = []
    for i in range(LINES):
        day = start + timedelta(days=i % 1_500)
        lines.append(
            orjson.dumps(
                {
                    "subject": people[i % len(people)],
                    "record_type": "city.late_fee",
                    "authority": "city",
                    "decided_on": day.isoformat(),
                    "decision_ref": f"fee {i}",
                    "client_key": f"crash-{i}",
                }
            )
        )
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_sigkill_mid_import_leaves_all_or_nothing(
    tmp_path: Path, registry_catalog: Loaded, ids: object
) -> None:
    db = tmp_path / "crash.db"
    wal = tmp_path / "crash.db-wal"
    source = tmp_path / "big.jsonl"
    _write_file(source, ids.person)  # type: ignore[attr-defined]
    with Ledger.open(str(db)) as ledger:
        ledger.init()
        activate(ledger, str(DATA / "registry.toml"), on=FIRST_DAY, actor="test")
    # closing the last connection checkpoints: the WAL is empty before the import starts
    assert not wal.exists() or wal.stat().st_size == 0

    code = (
        "from socialcredit.cli import main; "
        f"main(['records', 'import', {str(source)!r}, '--db', {str(db)!r}, "
        f"'--as-of', {AS_OF.isoformat()!r}])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            size = wal.stat().st_size if wal.exists() else 0
            if size > 1_000_000:  # the write transaction is spilling into the WAL
                proc.send_signal(signal.SIGKILL)
                break
            assert proc.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count = conn.execute("SELECT count(*) FROM records").fetchone()[0]
    finally:
        conn.close()
    assert count in (0, LINES)

    with Ledger.open(str(db)) as ledger:
        report = import_file(ledger, source, catalog=registry_catalog, as_of=AS_OF)
        assert report.imported + report.skipped == LINES
        assert ledger.count_records() == LINES
        assert ledger.verify_audit()
