"""The consumer check, answered ahead of the framework (``checkpath``) or by the route:
the same bytes, the same audit entry, whichever answers."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
import pytest
from live import Live, person_id

from socialcredit.errors import LedgerError
from socialcredit.registry.ledger import AccessRow, Ledger
from socialcredit.service.state import AuditBuffer, KeyCache

REFUSE = "court.dishonest_debtor.refuse_to_perform"


def test_the_fast_path_answers_as_the_route_does(live: Live) -> None:
    listed, unlisted = person_id(21), person_id(22)
    token = live.key("consumer", "transport", "airline")
    live.key("authority", "court", "court")
    with live.client("court") as c:
        r = c.post(
            "/api/v1/records",
            json={
                "subject": listed,
                "record_type": REFUSE,
                "decided_on": "2026-01-10",
                "decision_ref": "x",
            },
        )
        assert r.status_code == 201, r.text
    registry: Any = live.app.state.registry  # type: ignore[attr-defined]
    paths = [
        f"/api/v1/checks/{listed}/restrict.flight",
        f"/api/v1/checks/{unlisted}/restrict.flight",
        f"/api/v1/checks/{unlisted.lower()}/restrict.g_train?purpose=a&purpose=boarding",
        f"/api/v1/checks/{listed}/incentive.fuzhou.transport_discount?purpose=",
    ]
    with live.client("airline") as c:
        for path in paths:
            registry.keys.forget()  # the key is not cached: the route answers
            by_route = c.get(path)
            assert registry.keys.cached(token) is not None  # now it is: the fast path answers
            by_fast_path = c.get(path)
            assert by_route.status_code == by_fast_path.status_code == 200, by_route.text
            assert by_route.content == by_fast_path.content
            assert by_route.headers["content-type"] == by_fast_path.headers["content-type"]
            assert by_route.headers["content-type"] == "application/json"
    with live.client("airline") as c:
        bodies = [orjson.loads(c.get(p).content) for p in paths]
    assert [b["decision"] for b in bodies] == ["deny", "allow", "allow", "deny"]
    assert bodies[0]["until"] == "2028-01-10" and bodies[0]["reasons"][0]["code"] == "LISTED"
    assert bodies[2]["subject"] == unlisted.upper()
    assert bodies[3]["reasons"] == [{"code": "NOT_ELIGIBLE"}]
    registry.audit.flush()
    log = live.ledger.access_log(unlisted.upper())
    assert [(e.action, e.purpose, e.detail) for e in log] == [
        ("check restrict.flight", "booking check", {"decision": "allow"}),
        ("check restrict.flight", "booking check", {"decision": "allow"}),
        ("check restrict.g_train", "boarding", {"decision": "allow"}),
        ("check restrict.g_train", "boarding", {"decision": "allow"}),
        ("check restrict.flight", "booking check", {"decision": "allow"}),
        ("check restrict.g_train", "boarding", {"decision": "allow"}),
    ]
    assert all(e.actor.startswith("consumer:") for e in log)


def test_anything_amiss_goes_to_the_route_and_its_errors(live: Live) -> None:
    live.key("consumer", "transport", "airline")
    live.key("consumer", "financial", "bank")
    someone = person_id(23)
    with live.client("airline") as c:
        c.get(f"/api/v1/checks/{someone}/restrict.flight")  # the key is cached from here on
        cases = {
            f"/api/v1/checks/{someone}/restrict.star_hotel": (403, "measure"),
            f"/api/v1/checks/{someone}/restrict.nothing": (404, "measure"),
            f"/api/v1/checks/{someone[:-1]}0/restrict.flight": (422, "subject"),
            f"/api/v1/checks/{someone}/restrict.flight?purpose={'p' * 201}": (422, "purpose"),
            f"/api/v1/checks/{'1' * 41}/restrict.flight": (422, "subject"),
        }
        for path, (status, field) in cases.items():
            r = c.get(path)
            assert (r.status_code, r.json()["error"]["field"]) == (status, field), (path, r.text)
        r = c.get(f"/api/v1/checks/{someone}/restrict.flight", headers={"Authorization": "x"})
        assert r.status_code == 401
        r = c.post(f"/api/v1/checks/{someone}/restrict.flight")
        assert r.status_code == 405
    with live.client("bank") as c:
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").status_code == 403


class _Flaky:
    """A ledger whose audit writes fail until told otherwise."""

    def __init__(self) -> None:
        self.failing = True
        self.written: list[AccessRow] = []

    def append_accesses(self, entries: Sequence[AccessRow]) -> int:
        if self.failing:
            raise LedgerError("writing the audit log failed: database is locked")
        self.written += entries
        return len(entries)

    def index_checks(self) -> int:
        return 0


def test_a_failed_audit_write_keeps_the_entries_in_order() -> None:
    ledger = _Flaky()
    buffer = AuditBuffer(ledger)  # type: ignore[arg-type]
    for n in range(3):
        buffer.add({"actor": "a", "action": "check", "subject": None, "purpose": str(n)})
    with pytest.raises(LedgerError):
        buffer.flush()
    buffer.add({"actor": "a", "action": "check", "subject": None, "purpose": "3"})
    ledger.failing = False
    assert buffer.flush() == 4
    assert [e[3] for e in ledger.written] == ["0", "1", "2", "3"]


def test_the_writer_thread_survives_a_failed_write_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = _Flaky()
    buffer = AuditBuffer(ledger, interval=0.01)  # type: ignore[arg-type]
    caplog.set_level("ERROR", logger="socialcredit.audit")
    buffer.start()
    try:
        buffer.add({"actor": "a", "action": "check", "subject": None, "purpose": "p"})
        time.sleep(0.1)
        ledger.failing = False
        deadline = time.monotonic() + 10
        while not ledger.written and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        buffer.stop()
    assert [e[3] for e in ledger.written] == ["p"]
    said = [r.getMessage() for r in caplog.records]
    assert said and said[0].startswith("writing the audit log failed (1 failures in a row; 1 ")
    assert "database is locked" in said[0]


def test_a_batch_of_audit_entries_chains_like_single_ones(tmp_path: Any) -> None:
    with Ledger.open(f"sqlite:///{tmp_path}/a.db") as ledger:
        ledger.init()
        ledger.log_access(actor="x", action="profile", subject=person_id(1), purpose="p")
        ledger.log_accesses(
            [
                {
                    "actor": "c",
                    "action": "check m",
                    "subject": person_id(n),
                    "purpose": "q",
                    "detail": {"decision": "allow", "n": n},
                }
                for n in range(5)
            ]  # fmt: skip
            + [{"actor": "c", "action": "pending", "subject": None, "purpose": "q"}]
        )
        ledger.log_access(actor="x", action="profile", subject=person_id(1), purpose="p")
        assert ledger.verify_audit()
        assert ledger.last_audit_seq() == 8
        entry = ledger.access_log(person_id(3))[0]
        assert (entry.action, entry.detail) == ("check m", {"decision": "allow", "n": 3})
        assert entry.at.date() >= date(2026, 1, 1)


def test_keys_in_use_are_re_read_before_they_go_stale(tmp_path: Any) -> None:
    with Ledger.open(f"sqlite:///{tmp_path}/k.db") as ledger:
        ledger.init()
        token = ledger.create_key(role="consumer", principal="transport", actor="t")
        keys = KeyCache(ledger, ttl=0.2)
        assert keys.cached(token) is None  # never read: the fast path leaves it to the route
        key = keys.get(token)
        assert key is not None and keys.cached(token) == key
        assert keys.refresh() == 0  # fresh
        time.sleep(0.12)
        assert keys.refresh() == 1  # half-way to stale: re-read
        time.sleep(0.12)
        assert keys.cached(token) == key  # 0.24 s after the first read, still fresh
        ledger.revoke_key(key.key_id, actor="t")
        time.sleep(0.12)
        assert keys.refresh() == 1
        assert keys.cached(token) is None and keys.get(token) is None


def _exchange(live: Live, raw: bytes, *, until_closed: bool = False) -> bytes:
    import socket

    host, port = live.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                return got
            got += chunk
            if not until_closed and got.count(b"HTTP/1.1 ") >= 3 and got.endswith(b"}"):
                return got
    return got


def test_pipelined_requests_are_answered_in_order(live: Live) -> None:
    token = live.key("consumer", "transport", "airline")
    first, second = person_id(51), person_id(52)
    with live.client("airline") as c:  # the key is cached from here on: the protocol answers
        assert c.get(f"/api/v1/checks/{first}/restrict.flight").status_code == 200
    auth = f"Authorization: Bearer {token}\r\n".encode()
    raw = (
        f"GET /api/v1/checks/{first}/restrict.flight HTTP/1.1\r\nHost: x\r\n".encode() + auth
        + b"\r\n"
        + f"GET /api/v1/checks/{first}/restrict.nothing HTTP/1.1\r\nHost: x\r\n".encode() + auth
        + b"\r\n"  # to the route: 404
        + f"GET /api/v1/checks/{second}/restrict.g_train HTTP/1.1\r\nHost: x\r\n".encode() + auth
        + b"\r\n"
    )  # fmt: skip
    got = _exchange(live, raw)
    # responses follow one another with no separator: split at each status line
    parts = re.split(rb"(?=HTTP/1\.1 \d{3} )", got)[1:]
    assert [p[9:12] for p in parts] == [b"200", b"404", b"200"], got
    bodies = [p.partition(b"\r\n\r\n")[2] for p in parts]
    assert orjson.loads(bodies[0])["subject"] == first
    assert orjson.loads(bodies[1])["error"]["field"] == "measure"
    assert orjson.loads(bodies[2])["measure"] == "restrict.g_train"
    assert orjson.loads(bodies[2])["subject"] == second


def test_http_1_0_and_connection_close_are_honoured(live: Live) -> None:
    token = live.key("consumer", "transport", "airline")
    someone = person_id(53)
    with live.client("airline") as c:
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").status_code == 200
    auth = f"Authorization: Bearer {token}\r\n".encode()
    for request in (
        f"GET /api/v1/checks/{someone}/restrict.flight HTTP/1.0\r\n".encode() + auth + b"\r\n",
        f"GET /api/v1/checks/{someone}/restrict.flight HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n".encode()
        + auth
        + b"\r\n",
    ):
        got = _exchange(live, request, until_closed=True)  # the server closes the connection
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), got
        assert b"connection: close" in head.lower()
        assert orjson.loads(body)["subject"] == someone


def test_the_event_loop_writes_and_indexes_the_entries_itself(tmp_path: Any) -> None:
    subject = "34052419800101001X"
    with Ledger.open(f"sqlite:///{tmp_path}/loop.db") as ledger:
        ledger.init()
        buffer = AuditBuffer(ledger, interval=0.01, index_every=0.02)

        def purposes() -> list[str]:
            return [e.purpose for e in ledger.access_log(subject)]

        async def serve() -> None:
            assert buffer.drive(asyncio.get_running_loop())
            for n in range(300):
                buffer.add_row(("consumer:k", "check restrict.flight", subject, f"c{n}", None))
            # a reader on another thread waits until the loop has written what came before
            await asyncio.to_thread(buffer.flush)
            assert purposes() == [f"c{n}" for n in range(300)]
            await asyncio.sleep(0.3)  # a pass or more of indexing, by the loop
            with sqlite3.connect(f"{tmp_path}/loop.db") as conn:
                mark = conn.execute("SELECT value FROM ledger_state").fetchone()[0]
            assert mark == 300
            buffer.add_row(("consumer:k", "check restrict.flight", subject, "last", None))
            buffer.stop()  # on the loop's thread, as the server's shutdown does

        asyncio.run(serve())
        assert buffer.written == 301
        assert ledger.index_checks() == 0  # the loop and the shutdown indexed them all
        assert purposes() == [*(f"c{n}" for n in range(300)), "last"]
        assert ledger.verify_audit() is True


def test_a_ledger_in_memory_is_written_by_the_thread() -> None:
    with Ledger.open("sqlite://") as ledger:

        async def drive() -> bool:
            return AuditBuffer(ledger).drive(asyncio.get_running_loop())

        assert asyncio.run(drive()) is False
