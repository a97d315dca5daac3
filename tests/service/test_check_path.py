"""The consumer check, answered ahead of the framework (``checkpath``) or by the route:
the same bytes, the same audit entry, whichever answers."""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

import orjson
from live import Live, person_id

from socialcredit.registry.ledger import Ledger
from socialcredit.service.state import KeyCache

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
    assert bodies[0]["until"] is None and bodies[0]["reasons"][0]["code"] == "LISTED"
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


def test_a_measure_of_catalogs_no_longer_in_force_is_unknown_to_both_paths(live: Live) -> None:
    """The server swaps the catalogs it runs when they change (an activation, a retirement):
    the fast path then answers from the new ones exactly as the route does."""
    from socialcredit.policy.loader import bundled
    from socialcredit.registry.config import registry_catalog

    live.key("consumer", "transport", "airline")
    registry: Any = live.app.state.registry  # type: ignore[attr-defined]
    path = f"/api/v1/checks/{person_id(23)}/restrict.flight"
    with live.client("airline") as c:
        assert c.get(path).status_code == 200  # the key is cached: the fast path from now on
        assert registry.keys.cached(live.tokens["airline"]) is not None
        # a bundled catalog in force alone, one that neither has nor extends the measure
        smaller = next(
            loaded
            for loaded in (registry_catalog([str(b.path)]) for b in bundled() if not b.synthetic)
            if "restrict.flight" not in loaded.index.measures
        )
        registry.use_catalog(smaller, {})
        fast = c.get(path)
        registry.keys.forget()
        by_route = c.get(path)
        assert fast.status_code == by_route.status_code == 404, fast.text
        assert fast.json() == by_route.json()


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
        assert r.status_code == 405 and r.headers["allow"] == "GET"  # what the path takes
        # HEAD as GET, without the body: a read, logged as one
        logged = len(live.ledger.access_log(someone))
        got, head = c.get(f"/api/v1/checks/{someone}/restrict.g_train"), c.head(
            f"/api/v1/checks/{someone}/restrict.g_train")  # fmt: skip
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == got.headers["content-length"]
        assert len(live.ledger.access_log(someone)) == logged + 2
    with live.client("bank") as c:
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").status_code == 403


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
        now = [100.0]  # the cache's clock, moved by hand: no test of the machine's speed
        keys = KeyCache(ledger, ttl=0.2, clock=lambda: now[0])
        assert keys.cached(token) is None  # never read: the fast path leaves it to the route
        key = keys.get(token)
        assert key is not None and keys.cached(token) == key
        assert keys.refresh() == 0  # fresh
        now[0] += 0.12
        assert keys.refresh() == 1  # half-way to stale: re-read
        now[0] += 0.12
        assert keys.cached(token) == key  # 0.24 s after the first read, still fresh
        ledger.revoke_key(key.key_id, actor="t")
        now[0] += 0.12
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


def test_a_key_given_twice_is_refused_by_either_path(live: Live) -> None:
    """Two ``Authorization`` headers: whichever the fast path or the route would take, the
    request is refused (400, naming the field) and nothing is read or logged."""
    token = live.key("consumer", "transport", "airline")
    live.key("subject", person_id(54), "person")
    someone = person_id(53)
    with live.client("airline") as c:  # the key is cached from here on: the protocol answers
        assert c.get(f"/api/v1/checks/{person_id(55)}/restrict.flight").status_code == 200
    fast = f"/api/v1/checks/{someone}/restrict.flight"
    route = f"/api/v1/checks/%3{someone[0]}{someone[1:]}/restrict.flight"  # the route answers
    for path in (fast, route, "/api/v1/me/profile"):
        for first, second in ((token, "sc_bogus"), ("sc_bogus", token)):
            raw = (
                f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {first}\r\n"
                f"Authorization: Bearer {second}\r\nConnection: close\r\n\r\n"
            ).encode()
            got = _exchange(live, raw, until_closed=True)
            head, _, body = got.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400 "), (path, got)
            assert orjson.loads(body)["error"]["field"] == "authorization", (path, got)
    assert live.ledger.access_log(someone) == []


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


def test_an_answer_waits_for_its_own_group_and_no_longer(tmp_path: Any) -> None:
    """On the event loop, one entry at a time: each is released as soon as its group is
    written (never left for the sweep that refuses overdue answers)."""
    import asyncio

    from socialcredit.service.state import AuditBuffer

    subject = "34052419800101001X"
    with Ledger.open(f"sqlite:///{tmp_path}/loop.db") as ledger:
        ledger.init()
        buffer = AuditBuffer(ledger, patience=5.0)
        waits: list[float] = []

        async def serve() -> None:
            buffer.attach(asyncio.get_running_loop())
            buffer.start()
            try:
                for n in range(300):
                    start = time.monotonic()
                    row = ("consumer:k", "check restrict.flight", subject, f"c{n}", None)
                    await buffer.durable(buffer.add_row(row))
                    waits.append(time.monotonic() - start)
            finally:
                buffer.stop()

        asyncio.run(serve())
        assert [e.purpose for e in ledger.access_log(subject)] == [f"c{n}" for n in range(300)]
    # released with its group, not by the sweep that refuses answers overdue at the patience
    # (a bound on the mechanism, not a timing goal: those are measured by bench/)
    assert max(waits) < buffer.patience / 2, sorted(waits)[-5:]
