"""A bulk import does not stall a serving registry.

``socialcredit records import`` in a process of its own, against the database a server is
answering checks from: every check asked while the import runs is answered (no 503: the
check's audit entry goes to the read journal, which the import does not lock, and the import
holds the ledger's write lock only for its final swap), nothing of the import is visible
before its commit, and all of it after (SQLite and PostgreSQL). One line in ten lists a
debtor. The patience of the audit writer is shortened to 2.5 s (3 s on PostgreSQL), about
twice what the swap of these imports holds the write lock on this machine (100,000 lines on
SQLite: 1.1 s; 50,000 on PostgreSQL: 1.4 s): checks whose entries waited for that lock would
show as refused checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from live import TODAY, Live, person_id

LISTED = 10  # one line in ten lists a debtor (24 projected measures each), the rest lawful


def _jsonl(path: Path, subjects: list[str]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(
        {"subject": s, "record_type": "court.dishonest_debtor.refuse_to_perform" if n % LISTED == 0
         else "lenders.on_time", "authority": "court" if n % LISTED == 0 else "lenders",
         "decided_on": "2026-01-20", "decision_ref": f"bulk {n}"})
        for n, s in enumerate(subjects)) + b"\n")  # fmt: skip
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("live", "lines", "patience"), [
    ("sqlite", 100_000, 2.5), pytest.param("postgres", 50_000, 3.0, marks=pytest.mark.postgres)
], indirect=["live"])  # fmt: skip
def test_checks_are_answered_while_a_large_import_runs(
    live: Live, tmp_path: Path, lines: int, patience: float
) -> None:
    live.key("consumer", "transport", "airline")
    registry = live.app.state.registry  # type: ignore[attr-defined]
    registry.audit.patience = patience
    imported = [person_id(500_000 + n) for n in range(lines)]
    source = _jsonl(tmp_path / "bulk.jsonl", imported)
    env = {**os.environ, "SOCIALCREDIT_DB": live.ledger.url}
    proc = subprocess.Popen([sys.executable, "-m", "socialcredit", "records", "import",
                             str(source), "--as-of", TODAY.isoformat()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # fmt: skip
    statuses: list[int] = []
    decisions: set[str] = set()
    try:
        with live.client("airline") as c:
            n = 0
            while proc.poll() is None:
                # an imported debtor: "allow" until the import commits, then "deny"
                r = c.get(f"/api/v1/checks/{imported[n * LISTED % lines]}/restrict.flight")
                statuses.append(r.status_code)
                if r.status_code == 200:
                    decisions.add(r.json()["decision"])
                n += 1
    finally:
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert len(statuses) >= 100, len(statuses)  # the checks went on all along
    refused = [s for s in statuses if s != 200]
    assert not refused, f"{len(refused)} of {len(statuses)} checks refused: {set(refused)}"
    assert live.ledger.count_records() == lines
    # after the commit: every imported debtor listed, once the poller has reloaded them
    deadline = time.monotonic() + 60
    auth = {"Authorization": f"Bearer {live.tokens['airline']}"}
    with httpx.Client(base_url=live.base, timeout=30, headers=auth) as c:
        while True:
            last = {c.get(f"/api/v1/checks/{s}/restrict.flight").json()["decision"]
                    for s in (imported[0], imported[lines // 2], imported[-LISTED])}  # fmt: skip
            if last == {"deny"} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert last == {"deny"}
    assert live.ledger.verify_audit()
