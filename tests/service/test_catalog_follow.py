"""A running server follows the catalogs in force: one activated from the command line (another
process) while it runs is used for new filings within a bounded time, without a restart, and
one retired stops being used the same way. A real ``socialcredit serve`` over a SQLite file,
the CLI in subprocesses, the API over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from socialcredit.registry.catalogs import activate_bundled
from socialcredit.registry.ledger import CatalogVersion, Ledger
from socialcredit.registry.model import Record

PERSON = "34052419800101001X"
EXE = [sys.executable, "-m", "socialcredit"]
FEES = Path(__file__).parents[1] / "data" / "court-fees.toml"
TYPE = "court.fee_arrears"
BOUND = 30.0
"""Seconds a change may take to reach the server here: one poll (0.25 s) and loading and
compiling the catalogs (a few seconds on a busy machine)."""


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOCIALCREDIT_DB": f"sqlite:///{db}", "COLUMNS": "200"}
    return subprocess.run([*EXE, *args], capture_output=True, text=True, env=env, timeout=300)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_catalogs_activated_and_retired_elsewhere_reach_new_filings_without_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "follow.db"
    with Ledger.open(f"sqlite:///{db}") as ledger:
        ledger.init()
        activate_bundled(ledger, actor="test")
        token = ledger.create_key(role="authority", principal="court", actor="test")
    port = _free_port()
    env = {**os.environ, "SOCIALCREDIT_DB": f"sqlite:///{db}"}
    server = subprocess.Popen([*EXE, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    decided = (date.today() - timedelta(days=30)).isoformat()
    n = [0]

    def file() -> httpx.Response:
        n[0] += 1
        body = {"subject": PERSON, "record_type": TYPE, "decided_on": decided,
                "decision_ref": f"(fees) {n[0]}"}  # fmt: skip
        return httpx.post(f"{base}/records", json=body, headers=headers, timeout=30)

    def until(wanted: int) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        while True:
            r = file()
            waited = time.monotonic() - started
            if r.status_code == wanted or waited > BOUND:
                return r, waited
            time.sleep(0.1)

    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, "the server exited"
            try:
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        # not in force: refused, naming the type
        refused = file()
        assert refused.status_code == 422, refused.text
        assert TYPE in refused.text
        # activated from another process: accepted within the bound, no restart
        done = _cli(db, "catalog", "activate", str(FEES), "--from", "2020-01-01")
        assert done.returncode == 0, done.stderr
        accepted, waited = until(201)
        assert accepted.status_code == 201, (waited, accepted.text)
        # retired from another process: refused again within the bound, naming the type
        [version] = [v for v in _versions(db) if v.catalog_id == "court-fees"]
        done = _cli(db, "catalog", "retire", str(version.id), "--from",
                    date.today().isoformat())  # fmt: skip
        assert done.returncode == 0, done.stderr
        again, waited = until(422)
        assert again.status_code == 422, (waited, again.text)
        assert TYPE in again.text
        assert server.poll() is None  # the same server all along
    finally:
        server.terminate()
        server.wait(timeout=60)
    with Ledger.open(f"sqlite:///{db}") as ledger:
        assert [r.record_type for r in ledger.facts(PERSON) if isinstance(r, Record)] == [TYPE]
        assert ledger.verify_audit()


def _versions(db: Path) -> list[CatalogVersion]:
    with Ledger.open(f"sqlite:///{db}") as ledger:
        return list(ledger.catalog_versions())
