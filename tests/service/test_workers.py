"""Several servers over one PostgreSQL: ``socialcredit serve --workers N``, and processes
side by side as hosts behind a load balancer would be.

- Two servers on two ports over one database: a record filed through either is answered
  "deny" by the other once its poller has seen the filing (every 0.25 s), while checks go on
  at both; every answered check, from both audit writers at once, is in the one chain, which
  stays intact.
- ``serve --workers 2``: two worker processes behind one listening socket (forked, each with
  its own connections, index, audit writer and poller) answer filings and checks, and their
  entries keep one intact chain. Which worker answers is the kernel's choice: the crossing of
  writes between processes is what the first test shows.
- On SQLite, more than one worker is refused by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from live import TODAY, person_id
from test_audit_first import _free_port, _wait_listening

from socialcredit.registry.ledger import Ledger

REFUSE = "court.dishonest_debtor.refuse_to_perform"
EXE = [sys.executable, "-m", "socialcredit"]


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in found]


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    done = subprocess.run([*EXE, "serve", "--db", str(tmp_path / "w.db"), "--workers", "2"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0
    assert "workers" in done.stderr and "PostgreSQL" in done.stderr


def _serve(pg_url: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*EXE, "serve", "--db", pg_url, "--port", str(port), "--today", TODAY.isoformat(),
         *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip


def _file(base: str, token: str, debtor: str, ref: str) -> None:
    body = {"subject": debtor, "record_type": REFUSE, "decided_on": "2026-01-05",
            "decision_ref": ref}  # fmt: skip
    filed = httpx.post(f"{base}/api/v1/records", json=body, timeout=30,
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert filed.status_code == 201, filed.text


def _until_denied(base: str, token: str, debtor: str, in_a_row: int = 3) -> tuple[float, int]:
    """Checks on fresh connections until ``in_a_row`` answers in a row are "deny"; returns
    how long that took and how many checks were answered."""
    since, denied, answered = time.monotonic(), 0, 0
    while denied < in_a_row:
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        r = httpx.get(f"{base}/api/v1/checks/{debtor}/restrict.flight", timeout=30,
                      headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text
        answered += 1
        denied = denied + 1 if r.json()["decision"] == "deny" else 0
        assert time.monotonic() - since < 30, "the other server never saw the filing"
    return time.monotonic() - since, answered


def _checks_logged(pg_url: str, debtors: list[str]) -> int:
    with Ledger.open(pg_url) as ledger:
        assert ledger.verify_audit()
        return sum(1 for s in debtors for e in ledger.access_log(s)
                   if e.action.startswith("check"))  # fmt: skip


@pytest.mark.postgres
def test_two_servers_over_one_postgresql_see_each_others_writes_and_keep_one_chain(
    pg_url: str,
) -> None:
    """What two hosts behind a load balancer do, as two processes: a filing through either
    is answered by the other once its poller has seen it; both audit writers append to the
    one chain."""
    with Ledger.open(pg_url) as ledger:
        ledger.init()
        consumer = ledger.create_key(role="consumer", principal="transport", actor="test")
        court = ledger.create_key(role="authority", principal="court", actor="test")
    ports = (_free_port(), _free_port())
    servers = [_serve(pg_url, port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    debtors = [person_id(900 + n) for n in range(10)]
    answered, waits = 0, []
    busy = [0]  # checks answered meanwhile on both servers, so both audit writers append at once
    stop = threading.Event()

    def keep_checking(base: str) -> None:
        headers = {"Authorization": f"Bearer {consumer}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            while not stop.is_set():
                if c.get(f"/api/v1/checks/{debtors[0]}/restrict.flight").status_code == 200:
                    busy[0] += 1

    threads = [threading.Thread(target=keep_checking, args=(b,)) for b in bases]
    try:
        for port, server in zip(ports, servers, strict=True):
            _wait_listening(port, server)
        for t in threads:
            t.start()
        for n, debtor in enumerate(debtors):
            here, there = bases[n % 2], bases[1 - n % 2]
            _file(here, court, debtor, f"w{n}")
            waited, count = _until_denied(there, consumer, debtor)
            answered += count
            waits.append(waited)
        print(f"the other server answered 'deny' after {max(waits):.2f} s at most")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=60)
    assert busy[0] > 0
    assert _checks_logged(pg_url, debtors) == answered + busy[0]


@pytest.mark.postgres
def test_serve_with_two_workers(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger:
        ledger.init()
        consumer = ledger.create_key(role="consumer", principal="transport", actor="test")
        court = ledger.create_key(role="authority", principal="court", actor="test")
    port = _free_port()
    server = _serve(pg_url, port, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    debtors = [person_id(950 + n) for n in range(4)]
    answered = 0
    try:
        _wait_listening(port, server)
        deadline = time.monotonic() + 120
        while len(_children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_children(server.pid)) == 2  # two workers behind one socket
        for n, debtor in enumerate(debtors):
            _file(base, court, debtor, f"v{n}")
            answered += _until_denied(base, consumer, debtor, in_a_row=8)[1]
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert _checks_logged(pg_url, debtors) == answered
