"""No check is answered from a state older than the bound (``CheckIndex.MAX_AGE``).

- In one process, on a real ledger with the index's clock in the test's hand: a subject's state
  is as old as the last look for writes that has been applied to it; a look's subjects stay as
  old as the look before it until their reload is done, the others are as of the look.
- A real server over PostgreSQL whose poller is stuck (the audit log locked by another session,
  so that its look for writes cannot read): after the bound, checks are refused with a 503
  naming ``freshness`` and nothing disclosed; once the lock goes, checks are answered again.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg
import pytest
from live import TODAY, person_id
from test_audit_first import _free_port, _wait_listening
from test_workers import _serve

from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger, NewRecord
from socialcredit.service.state import CheckIndex

REFUSE = "court.dishonest_debtor.refuse_to_perform"


def _debtor(ledger: Ledger, catalog: Loaded, subject: str) -> None:
    record = NewRecord(subject, REFUSE, "court", date(2026, 1, 5), f"ref {subject}")
    ledger.submit([record], catalog=catalog, today=TODAY, actor="authority:court")


def test_a_subject_is_as_old_as_the_last_look_applied_to_it(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    now = [100.0]
    debtor, other = person_id(1), person_id(2)
    with Ledger.open(f"sqlite:///{tmp_path / 'r.db'}") as ledger:
        ledger.init()
        index = CheckIndex(ledger, service_catalog, clock=lambda: now[0])
        assert not index.fresh(debtor)  # nothing loaded yet: nothing is answered
        index.load()
        assert index.age(debtor) == 0.0 and index.fresh(debtor)
        now[0] += index.MAX_AGE + 0.1  # no look since the load: too old
        assert not index.fresh(debtor) and not index.fresh(other)
        index.catch_up()  # a look that found nothing
        assert index.fresh(debtor) and index.fresh(other)

        _debtor(ledger, service_catalog, debtor)  # written as by another process
        looked = now[0]
        now[0] += 1.0
        # the next look finds the debtor; hold its reload half-way, as a slow one would be
        index._reading.acquire()
        look = threading.Thread(target=index.catch_up)
        look.start()
        try:
            deadline = time.monotonic() + 30
            while debtor not in index._pending and time.monotonic() < deadline:
                time.sleep(0.01)
            now[0] += index.MAX_AGE - 0.5
            # the debtor is as old as the look before (past the bound), the rest as of this one
            assert index.age(debtor) == pytest.approx(now[0] - looked)
            assert not index.fresh(debtor)
            assert index.fresh(other)
            assert index.decide(debtor, "restrict.flight", TODAY)["decision"] == "allow"
        finally:
            index._reading.release()
            look.join(30)
        assert index.fresh(debtor)
        assert index.decide(debtor, "restrict.flight", TODAY)["decision"] == "deny"


@pytest.mark.postgres
def test_a_server_whose_poller_is_stuck_refuses_checks_after_the_bound(
    pg_url: str, service_catalog: Loaded
) -> None:
    with Ledger.open(pg_url) as ledger:
        ledger.init()
        consumer = ledger.create_key(role="consumer", principal="transport", actor="test")
        _debtor(ledger, service_catalog, person_id(7))
    port = _free_port()
    server = _serve(pg_url, port)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {consumer}"}
    path = f"/api/v1/checks/{person_id(7)}/restrict.flight"
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        _wait_listening(port, server)
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            assert client.get(path).json()["decision"] == "deny"
            with psycopg.connect(dsn) as locker:
                locker.execute("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
                time.sleep(CheckIndex.MAX_AGE + 1.5)
                refused = client.get(path)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["field"] == "freshness"
                assert "decision" not in refused.text
                locker.rollback()
            deadline = time.monotonic() + 30
            while (answer := client.get(path)).status_code != 200:
                assert answer.json()["error"]["field"] in {"freshness", "audit"}
                assert time.monotonic() < deadline, "checks were not answered again"
                time.sleep(0.1)
            assert answer.json()["decision"] == "deny"
    finally:
        server.terminate()
        server.wait(timeout=60)
