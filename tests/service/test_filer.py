"""The filing writer (``service/filer.py``): filings in a process of their own, handed over a
pipe, with real processes and real HTTP on SQLite and PostgreSQL.

- A filing acknowledged through the writer is committed (another connection reads it) and
  answered by checks at once; it is audited in the one chain.
- A bad filing gets the same status and body (field, message, problems) as from a server
  filing in its own process.
- ``kill -9`` of the writer while it holds a filing (waiting for the database's write lock,
  inside the ledger's submit): that filing is answered 503 naming ``filing``, nothing of it
  is written, the next filing starts a new writer and is filed; the chain verifies.
- ``kill -9`` of ``socialcredit serve``: its writer reads the end of its pipe and leaves.
"""

from __future__ import annotations

import array
import fcntl
import os
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import TODAY, Live, person_id, serve
from test_audit_first import _free_port, _wait_listening

from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger
from socialcredit.service.filer import FilingWriter

REFUSE = "court.dishonest_debtor.refuse_to_perform"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path}/filer.db"


@pytest.fixture
def writing(
    tmp_path: Path, service_catalog: Loaded, request: pytest.FixtureRequest
) -> Iterator[Live]:
    """A live server that files through a filing writer."""
    url = _url(request.param, tmp_path, request)
    yield from serve(url, service_catalog, filing_process=True)


def _filer(live: Live) -> FilingWriter:
    filer = live.app.state.registry.filer  # type: ignore[attr-defined]
    assert isinstance(filer, FilingWriter)
    return filer


def _record(subject: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "record_type": REFUSE, "decided_on": "2026-01-05",
            "decision_ref": ref, **extra}  # fmt: skip


def _decision(c: httpx.Client, subject: str) -> str:
    r = c.get(f"/api/v1/checks/{subject}/restrict.flight")
    assert r.status_code == 200, r.text
    return str(r.json()["decision"])


@pytest.mark.parametrize("writing", BACKENDS, indirect=True)
def test_a_filing_through_the_writer_is_committed_and_checked_when_acknowledged(
    writing: Live,
) -> None:
    live = writing
    live.key("authority", "court", "court")
    live.key("consumer", "transport", "airline")
    pid = _filer(live).pid
    assert pid is not None and pid != os.getpid()
    debtors = [person_id(300 + n) for n in range(3)]
    with live.client("court") as court, live.client("airline") as airline:
        assert all(_decision(airline, d) == "allow" for d in debtors)
        filed = court.post("/api/v1/records", json=_record(debtors[0], "w-1"))
        assert filed.status_code == 201, filed.text
        assert _decision(airline, debtors[0]) == "deny"  # at once: no wait for the poller
        both = {"records": [_record(d, f"w-b{d}") for d in debtors[1:]]}
        batch = court.post("/api/v1/records/batch", json=both)
        assert batch.status_code == 201, batch.text
        assert [_decision(airline, d) for d in debtors] == ["deny"] * 3
    assert _filer(live).pid == pid  # one writer for every filing
    with Ledger.open(live.ledger.url) as other:  # committed: read by another connection
        record = other.record(filed.json()["id"])
        assert (record.subject, record.authority) == (debtors[0], "court")
        assert other.verify_audit()
        filings = [e for e in other.access_log(debtors[0]) if e.actor == "authority:court"]
        assert filings, "the filing is not in the subject's log"


def _bad_filings(live: Live, other_type: str, tag: str) -> list[tuple[int, Any]]:
    """Bad filings, and what each got; ``tag`` makes this server's client keys its own."""
    good = person_id(410)
    answers = []
    with live.client("court") as c:
        for body in (
            _record("110101199001011234", "bad id"),
            _record(good, "future", decided_on="2027-01-01"),
            _record(good, "unknown", record_type="no.such.record_type"),
            _record(good, "not the court's", record_type=other_type),
        ):
            r = c.post("/api/v1/records", json=body)
            answers.append((r.status_code, r.json()))
        r = c.post("/api/v1/records/batch",
                   json={"records": [_record(good, "fine"), _record("12345", "bad"),
                                     _record(good, "later", decided_on="2027-01-01")]})  # fmt: skip
        answers.append((r.status_code, r.json()))
        key = f"k-{tag}"
        first = c.post("/api/v1/records", json=_record(good, "same", client_key=key))
        assert first.status_code == 201, first.text
        r = c.post("/api/v1/records", json=_record(good, "other", client_key=key))
        assert r.status_code == 409 and r.json()["error"]["field"] == "client_key", r.text
        answers.append((r.status_code, r.json()))
    names = {tag: "TAG", f"record {first.json()['id']} ": "record ID "}
    return [(status, _untagged(body, names)) for status, body in answers]


def _untagged(body: Any, names: dict[str, str]) -> Any:
    """``body`` with what differs between two servers by design (their client keys, the
    ids of their records) named alike."""
    if isinstance(body, str):
        for name, common in names.items():
            body = body.replace(name, common)
        return body
    if isinstance(body, dict):
        return {k: _untagged(v, names) for k, v in body.items()}
    if isinstance(body, list):
        return [_untagged(v, names) for v in body]
    return body


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bad_filing_gets_the_same_answer_as_without_the_writer(
    backend: str, tmp_path: Path, service_catalog: Loaded, request: pytest.FixtureRequest
) -> None:
    other_type = next(code for code, rt in service_catalog.index.record_types.items()
                      if "court" not in rt.issuers)  # fmt: skip
    url = _url(backend, tmp_path, request)
    seen: dict[bool, list[tuple[int, Any]]] = {}
    for filing_process in (True, False):
        for live in serve(url, service_catalog, filing_process=filing_process):
            assert (live.app.state.registry.filer is not None) == filing_process  # type: ignore[attr-defined]
            live.key("authority", "court", "court")
            handed = _filer(live)._n if filing_process else 0  # noqa: SLF001
            seen[filing_process] = _bad_filings(live, other_type, f"t{filing_process}")
            if filing_process:  # the batch and both keyed filings, at least, went to the writer
                assert _filer(live)._n - handed >= 3  # noqa: SLF001
            live.key("consumer", "transport", "airline")
            with live.client("airline") as airline:
                assert _decision(airline, person_id(410)) == "deny"  # the keyed record
    assert [s for s, _ in seen[True]] == [422, 422, 422, 422, 422, 409], seen[True]
    assert seen[True] == seen[False]
    for _status, body in seen[True]:
        assert body["error"]["field"], body
    with Ledger.open(url) as ledger:
        assert ledger.verify_audit()
        refs = {r.decision_ref for r in ledger.facts(person_id(410)) if hasattr(r, "decision_ref")}
        assert refs == {"same"}  # each server filed the keyed record once, nothing else


def _pending_bytes(filer: FilingWriter) -> int:
    """Bytes of the pipe to the writer not read by it yet."""
    proc = filer._proc  # noqa: SLF001 - the test looks at the pipe itself
    assert proc is not None and proc.stdin is not None
    out = array.array("i", [0])
    fcntl.ioctl(proc.stdin.fileno(), termios.FIONREAD, out)
    return out[0]


def _reading_its_pipe(pid: int) -> bool:
    """Whether the writer waits in ``read`` on descriptor 0 (for the next filing)."""
    fields = Path(f"/proc/{pid}/syscall").read_text().split()
    return fields[:2] == ["0", "0x0"]


@pytest.mark.parametrize("writing", BACKENDS, indirect=True)
def test_a_writer_killed_during_a_filing_answers_503_and_the_next_filing_starts_another(
    writing: Live, lock_held: Any
) -> None:
    live = writing
    live.key("authority", "court", "court")
    live.key("consumer", "transport", "airline")
    filer = _filer(live)
    first = filer.pid
    assert first is not None
    lost, kept = person_id(500), person_id(501)
    answered: list[httpx.Response] = []
    with live.client("court") as court, live.client("airline") as airline:
        sent = filer._n  # noqa: SLF001

        def file() -> None:
            answered.append(court.post("/api/v1/records",
                                       json=_record(lost, "lost", client_key="lost")))  # fmt: skip

        with lock_held(live.ledger, "writers"):
            t = threading.Thread(target=file)
            t.start()
            # the writer has the whole filing and is in the ledger's submit, waiting for the
            # write lock: not in its read of the pipe
            deadline = time.monotonic() + 60
            while not (filer._n > sent and _pending_bytes(filer) == 0  # noqa: SLF001
                       and not _reading_its_pipe(first)):  # fmt: skip
                assert time.monotonic() < deadline, "the filing never reached the writer"
                time.sleep(0.01)
            os.kill(first, signal.SIGKILL)
            t.join(60)
        assert answered, "the filing was not answered"
        r = answered[0]
        assert r.status_code == 503, r.text
        assert r.json()["error"]["field"] == "filing"
        assert "file it again" in r.json()["error"]["message"]
        # the next filing starts another writer and is filed
        filed = court.post("/api/v1/records", json=_record(kept, "kept"))
        assert filed.status_code == 201, filed.text
        assert filer.pid not in (None, first)
        assert _decision(airline, kept) == "deny"
        assert _decision(airline, lost) == "allow"  # nothing of the killed filing
        # filed again with the same key: filed (once)
        again = court.post("/api/v1/records", json=_record(lost, "lost", client_key="lost"))
        assert again.status_code == 201, again.text
        assert _decision(airline, lost) == "deny"
    with Ledger.open(live.ledger.url) as other:
        assert other.verify_audit()
        assert len([f for f in other.facts(lost) if hasattr(f, "decision_ref")]) == 1


def _writer_of(server: int) -> int:
    for child in Path(f"/proc/{server}/task/{server}/children").read_text().split():
        if b"socialcredit.service.filer" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError("the server has no filing writer")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # ended, not reaped yet by whoever adopted it


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_writer_leaves_when_its_server_is_killed(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    with Ledger.open(url) as ledger:
        ledger.init()
        court = ledger.create_key(role="authority", principal="court", actor="test")
    port = _free_port()
    db = url if backend == "postgres" else str(tmp_path / "filer.db")
    server = subprocess.Popen(
        [sys.executable, "-m", "socialcredit", "serve", "--db", db, "--port", str(port),
         "--today", TODAY.isoformat()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_listening(port, server)
        writer = _writer_of(server.pid)  # `serve` files through a writer by default
        filed = httpx.post(f"http://127.0.0.1:{port}/api/v1/records", timeout=60,
                           json=_record(person_id(600), "served"),
                           headers={"Authorization": f"Bearer {court}"})  # fmt: skip
        assert filed.status_code == 201, filed.text
        assert _writer_of(server.pid) == writer
        server.kill()
        server.wait(timeout=60)
        deadline = time.monotonic() + 60
        while not _gone(writer):
            assert time.monotonic() < deadline, "the writer outlived its server"
            time.sleep(0.05)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=60)
    with Ledger.open(url) as ledger:
        assert ledger.verify_audit()
        assert ledger.record(filed.json()["id"]).subject == person_id(600)
