"""Hostile clients cannot stall the service (real sockets against a live server): a body over
its limit, or sent without a valid key, is refused before it is read; half-sent requests and
idle connections are closed after the header timeout; a connection over the cap is refused at
once; and checks are answered while 2,000 idle or half-open sockets are held."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import Live, person_id, serve

from socialcredit.policy.loader import Loaded
from socialcredit.service.limits import Limits, raise_file_limit

QUICK = Limits(header_timeout=1.5, body_timeout=2.0, max_connections=3_000)


@pytest.fixture
def quick(tmp_path: Path, service_catalog: Loaded) -> Iterator[Live]:
    """A server with short timeouts, so that the test need not wait for the defaults."""
    raise_file_limit()  # the test's own sockets, and the server's, in this one process
    yield from serve(f"sqlite:///{tmp_path}/h.db", service_catalog, limits=QUICK)


def _connect(live: Live) -> socket.socket:
    host, port = live.base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_all(sock: socket.socket, limit: float = 10) -> bytes:
    sock.settimeout(limit)
    got = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        got += chunk
    return got


def _closed_by_server(sock: socket.socket, limit: float) -> bool:
    sock.settimeout(limit)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_a_body_is_refused_before_it_is_read(live: Live) -> None:
    token = live.key("consumer", "transport", "airline")
    authority = live.key("authority", "court", "court")
    cases = [
        # (headers, expected status): the body is never sent; the answer comes anyway
        (b"Content-Length: 100000000\r\n", b"413"),  # too big, whoever asks
        (
            b"Content-Length: 100000000\r\nAuthorization: Bearer " + authority.encode() + b"\r\n",
            b"413",
        ),  # fmt: skip
        (b"Content-Length: 1000\r\n", b"401"),  # no key: refused before the body
        (b"Content-Length: 1000\r\nAuthorization: Bearer sc_nope_nope\r\n", b"401"),
        (b"Content-Length: 1000\r\nAuthorization: Bearer " + token.encode() + b"\r\n", b"403"),
    ]
    for headers, status in cases:
        with _connect(live) as sock:
            sock.sendall(b"POST /api/v1/records/batch HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n" + headers + b"\r\n")  # fmt: skip
            got = _read_all(sock, 5)
            assert got.startswith(b"HTTP/1.1 " + status), (headers, got)
            assert b"connection: close" in got.lower()
            assert b'"field"' in got
    # a chunked body is read only up to the limit
    with _connect(live) as sock:
        sock.sendall(b"POST /api/v1/records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/json\r\nAuthorization: Bearer "
                     + authority.encode() + b"\r\n\r\n")  # fmt: skip
        chunk = b"x" * 16_384
        got = b""
        sock.settimeout(0.2)
        for _ in range(64):  # up to 1 MiB; the answer comes once 64 KiB are over
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                got += sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if got:
                break
        assert got.startswith(b"HTTP/1.1 413"), got


def test_half_sent_requests_and_idle_connections_are_closed(quick: Live) -> None:
    idle = _connect(quick)
    half = _connect(quick)
    half.sendall(b"GET /api/v1/public/lists HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    body = _connect(quick)
    body.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\nkey=")  # fmt: skip
    try:
        assert _closed_by_server(idle, 4.5)
        assert _closed_by_server(half, 1.0)
        assert _closed_by_server(body, 2.5)
    finally:
        for s in (idle, half, body):
            s.close()
    # a head over the size limit is refused (431)
    with _connect(quick) as sock:
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"y" * 100_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = _read_all(sock, 5)
        assert got.startswith(b"HTTP/1.1 431"), got[:100]


def test_checks_are_answered_while_2000_idle_or_half_open_sockets_are_held(
    tmp_path: Path,
) -> None:
    """``socialcredit serve`` started with the common default of 1,024 open files: it raises
    its own limit, and answers checks while 2,000 sockets (half idle, half with a request
    never finished) are held."""
    from socialcredit.registry.ledger import Ledger

    raise_file_limit()  # this process holds the 2,000 client sockets
    db = str(tmp_path / "s.db")
    with Ledger.open(db) as ledger:
        ledger.init()
        token = ledger.create_key(role="consumer", principal="transport", actor="test")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def low_file_limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    code = f"from socialcredit.cli import main; main(['serve', '--db', {db!r}, '--port', '{port}'])"
    proc = subprocess.Popen([sys.executable, "-c", code], preexec_fn=low_file_limit,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    held: list[socket.socket] = []
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        for n in range(2_000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if n % 2:
                sock.sendall(b"GET /api/v1/checks/x HTTP/1.1\r\nHost: x\r\n")  # never finished
            held.append(sock)
        start = time.monotonic()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            for n in range(200):
                r = c.get(f"/api/v1/checks/{person_id(n)}/restrict.flight")
                assert r.status_code == 200, r.text
        assert time.monotonic() - start < 8  # within the header timeout: all still held
        assert all(s.fileno() >= 0 for s in held)
    finally:
        for sock in held:
            sock.close()
        proc.terminate()
        proc.wait(30)


def test_a_connection_over_the_cap_is_refused_at_once(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    for live in serve(f"sqlite:///{tmp_path}/cap.db", service_catalog,
                      limits=Limits(max_connections=20)):  # fmt: skip
        held = [_connect(live) for _ in range(20)]
        try:
            with _connect(live) as extra:
                got = _read_all(extra, 5)
                assert got.startswith(b"HTTP/1.1 503"), got
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        with live.client() as c:  # room again
            assert c.get("/api/v1/public/lists").status_code == 200


def test_the_file_limit_is_raised_where_allowed() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.fail(f"the hard limit on open files here is {hard}: cannot test raising to it")
    code = (
        "import resource; from socialcredit.service.limits import raise_file_limit; "
        "s, h = resource.getrlimit(resource.RLIMIT_NOFILE); "
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, h)); "
        "print(*raise_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, now = map(int, out.stdout.split())
    assert before == 256 and after == now > 256


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_large_bodies_without_a_key_do_not_grow_the_servers_memory(tmp_path: Path) -> None:
    """Four concurrent 100 MB bodies to a served process (without a key, with a size that says
    100 MB, and chunked with a key): each is refused early, and the server's memory does not
    grow by more than a few megabytes."""
    import threading

    from socialcredit.registry.ledger import Ledger

    db = str(tmp_path / "m.db")
    with Ledger.open(db) as ledger:
        ledger.init()
        court = ledger.create_key(role="authority", principal="court", actor="test")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"from socialcredit.cli import main; main(['serve', '--db', {db!r}, '--port', '{port}'])"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    heads = [
        b"Transfer-Encoding: chunked\r\n",  # no key
        b"Content-Length: 104857600\r\n",  # no key, and too big
        b"Transfer-Encoding: chunked\r\nAuthorization: Bearer " + court.encode() + b"\r\n",
        b"Content-Length: 104857600\r\nAuthorization: Bearer " + court.encode() + b"\r\n",
    ]
    answers: list[bytes] = []

    def send(head: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/records HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n" + head + b"\r\n")  # fmt: skip
            chunk = b"[" * 1_048_576
            sent = 0
            try:
                while sent < 100 * 1_048_576:
                    if b"chunked" in head:
                        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # refused and closed: the rest is never sent
            try:
                answers.append(sock.recv(200))
            except OSError:
                answers.append(b"")

    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)
        before = _rss_kib(proc.pid)
        threads = [threading.Thread(target=send, args=(h,)) for h in heads]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        after = _rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    assert after - before < 32 * 1024, f"the server grew from {before} to {after} KiB"


def test_a_slow_answer_does_not_count_against_the_next_requests_head(
    quick: Live, lock_held: Any
) -> None:
    """An answer held longer than the header timeout (its audit entry waits for the read
    journal's lock) leaves the connection open for the next request, as any answer does."""

    token = quick.key("consumer", "transport", "airline")
    someone = person_id(141)
    request = (f"GET /api/v1/checks/{someone}/restrict.flight HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode()  # fmt: skip
    with quick.client("airline") as c:  # the key is cached from here on: the protocol answers
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").status_code == 200
    with _connect(quick) as sock:
        with lock_held(quick.ledger, "journal"):
            sock.sendall(request)
            time.sleep(2.5)  # past the 1.5 s header timeout, answer still held
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        time.sleep(1.2)  # a sweep passes meanwhile
        sock.sendall(request)
        second = sock.recv(65536)
        assert second.startswith(b"HTTP/1.1 200"), second


def test_large_bodies_within_their_limit_and_pipelined_requests_pass(live: Live) -> None:
    """The head limit counts heads, not bodies nor pipelined requests: a batch of 1,000
    records (about 250 KB) is filed, twice on one connection, and 200 pipelined checks in one
    write are all answered."""
    live.key("authority", "court", "court")
    token = live.key("consumer", "transport", "airline")
    records = [
        {"subject": person_id(150_000 + n), "record_type": "court.dishonest_debtor.refuse_to_"
         "perform", "decided_on": "2026-01-10", "decision_ref": f"(2026) batch {n:05d} " + "x" * 80,
         "client_key": f"big-{n}"}
        for n in range(1_000)
    ]  # fmt: skip
    with live.client("court") as c:
        for expected in (201, 200):  # the same batch again: already filed
            r = c.post("/api/v1/records/batch", json={"records": records})
            assert r.status_code == expected, r.text[:300]
    with live.client("airline") as c:
        assert c.get(f"/api/v1/checks/{person_id(1)}/restrict.flight").status_code == 200
    one = (f"GET /api/v1/checks/{person_id(2)}/restrict.flight HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Bearer {token}\r\n\r\n").encode()  # fmt: skip
    with _connect(live) as sock:
        sock.sendall(one * 200)  # over 64 KiB of heads in one write
        got = b""
        sock.settimeout(10)
        while got.count(b"HTTP/1.1 200") < 200:
            chunk = sock.recv(65536)
            assert chunk, got[-300:]
            got += chunk
    assert b"HTTP/1.1 431" not in got


def test_a_graceful_shutdown_sends_the_answer_held_for_its_entry_then_closes(
    live: Live, lock_held: Any
) -> None:
    token = live.key("consumer", "transport", "airline")
    someone = person_id(161)
    with live.client("airline") as c:  # the key is cached from here on: the protocol answers
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").status_code == 200
    assert live.server is not None
    with _connect(live) as sock:
        request = (f"GET /api/v1/checks/{someone}/restrict.flight?purpose=last HTTP/1.1\r\n"
                   f"Host: x\r\nAuthorization: Bearer {token}\r\n\r\n").encode()  # fmt: skip
        with lock_held(live.ledger, "journal"):
            sock.sendall(request)
            time.sleep(0.5)  # held
            live.server.should_exit = True
            time.sleep(0.5)
        got = _read_all(sock, 10)  # answered, then closed
    assert got.startswith(b"HTTP/1.1 200") and b"connection: close" in got, got
    assert "last" in [e.purpose for e in live.ledger.access_log(someone)]
