"""The audit log's group commit (``checklog.GroupCommit``) and the read journal, on SQLite and
PostgreSQL: every entry durable before its ticket is, and chained soon after; a read is
durable while a filing holds the chain's lock, and chained once it lets go, with the time it
was made; groups gather while one commits; writers of the process take turns with the
chainer, so neither starves; an entry the store refuses is set aside and never blocks the
entries behind it; a failing store keeps the entries in order; a crash between the chain's
commit and the journal's clean-up chains nothing twice; a journal file made anew never
reuses an id already chained."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from socialcredit.errors import LedgerError
from socialcredit.identifiers import resident_id
from socialcredit.policy.loader import Loaded
from socialcredit.registry.checklog import GroupCommit
from socialcredit.registry.ledger import AccessRow, AuditRejected, Ledger, NewRecord, Turns

PEOPLE = ("34052419800101001X", "110101198001010010", "110101195007220007")
TODAY = date(2026, 6, 1)
REFUSE = "court.refuse"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Ledger]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path}/log.db"
    with Ledger.open(url) as ledger:
        ledger.init()
        yield ledger


def check(n: int, subject: str | None = None, purpose: str | None = None) -> AccessRow:
    who = subject or PEOPLE[n % len(PEOPLE)]
    return ("consumer:k", "check restrict.flight", who, purpose or f"c{n}", '{"decision":"allow"}')


def purposes(ledger: Ledger, subject: str) -> list[str]:
    return [e.purpose for e in ledger.access_log(subject)]


def test_a_ticket_is_durable_only_once_its_entry_is_committed(ledger: Ledger) -> None:
    writer = GroupCommit(ledger, index_every=0.05)
    writer.start()
    try:
        tickets = [writer.add(check(n)) for n in range(300)]
        assert tickets == list(range(1, 301))
        assert writer.wait(300, 10)
        # durable means readable by anyone, on another connection, now
        with Ledger.open(ledger.url) as other:
            assert purposes(other, PEOPLE[0]) == [f"c{n}" for n in range(0, 300, 3)]
        time.sleep(0.3)  # an indexing pass or more
    finally:
        writer.stop()
    assert writer.written == 300 and writer.durable == 300
    assert ledger.last_audit_seq() == 300 and ledger.reads_waiting() == 0  # chained at stop
    assert ledger.index_checks() == 0  # the writer indexed them all
    assert ledger.verify_audit() is True


def test_entries_added_while_a_group_commits_form_the_next_group(ledger: Ledger) -> None:
    groups: list[int] = []
    started = threading.Event()

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(ledger, name)

        def journal_reads(self, entries: Sequence[AccessRow]) -> int:
            groups.append(len(entries))
            started.set()
            time.sleep(0.02)  # a slow commit: what arrives meanwhile waits for the next one
            return ledger.journal_reads(entries)

    writer = GroupCommit(Counting(), index_every=60)  # type: ignore[arg-type]
    writer.start()
    try:
        writer.add(check(0))
        assert started.wait(10)  # the first group is being written
        for n in range(1, 200):
            writer.add(check(n))
        assert writer.wait(200, 10)
    finally:
        writer.stop()
    assert groups[0] == 1 and sum(groups) == 200 and len(groups) <= 3, groups


def test_a_writer_that_outlives_stop_stays_the_only_writer(ledger: Ledger) -> None:
    """A writer still in a group when stop runs out of patience keeps the queue: stop writes
    nothing beside it and claims nothing durable, and start refuses a second writer until it
    has ended; then the writer starts again and every entry is written once, in order."""
    inside, release = threading.Event(), threading.Event()

    class Slow:  # the real ledger behind a store slow to take a group
        def __getattr__(self, name: str) -> Any:
            return getattr(ledger, name)

        def journal_reads(self, entries: Sequence[AccessRow]) -> int:
            inside.set()
            release.wait(10)
            return ledger.journal_reads(entries)

    writer = GroupCommit(Slow(), chain_every=0.05)  # type: ignore[arg-type]
    writer.start()
    try:
        first = writer.add(check(0))
        assert inside.wait(5)
        second = writer.add(check(1))  # behind the group the writer is in
        started = time.monotonic()
        writer.stop(patience=0.2)
        assert time.monotonic() - started < 5  # gave up waiting, wrote nothing itself
        assert writer.durable == 0 and not writer.wait(first, 0)
        with pytest.raises(RuntimeError, match="still writing"):
            writer.start()
    finally:
        release.set()
    assert writer.wait(first, 5)  # the stuck group, by the writer that held it
    deadline = time.monotonic() + 5
    while writer._thread is not None and writer._thread.is_alive():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer.start()
    try:
        assert writer.wait(second, 5)
    finally:
        writer.stop()
    assert purposes(ledger, PEOPLE[0]) == ["c0"] and purposes(ledger, PEOPLE[1]) == ["c1"]
    assert ledger.verify_audit() is True


def test_writers_take_turns_first_come_first_served() -> None:
    turns = Turns()
    order: list[int] = []
    turns.acquire()
    threads = []

    def take(n: int) -> None:
        turns.acquire()
        order.append(n)
        turns.release()

    for n in range(5):
        t = threading.Thread(target=take, args=(n,))
        t.start()
        threads.append(t)
        while turns.waiting < n + 1:
            time.sleep(0.001)
    turns.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_the_preferred_writer_goes_ahead_and_the_others_keep_their_order() -> None:
    turns = Turns()
    order: list[str] = []
    turns.acquire()

    def take(name: str, preferred: bool = False) -> None:
        if preferred:
            turns.prefer()
        turns.acquire()
        order.append(name)
        turns.release()

    threads = []
    for name, preferred in (("filer 1", False), ("filer 2", False), ("audit", True)):
        t = threading.Thread(target=take, args=(name, preferred))
        t.start()
        threads.append(t)
        while turns.waiting < len(threads):
            time.sleep(0.001)
    turns.release()
    for t in threads:
        t.join(5)
    assert order == ["audit", "filer 1", "filer 2"]


def test_a_thread_after_the_preferred_one_ended_is_not_preferred() -> None:
    """Threads' ids are reused once a thread ends: one started after the preferred writer
    ended (the server's chainer, stopped) may carry its id, and waits its turn all the same.
    The first thread started after (the likeliest to be given the id) asks last."""
    turns = Turns()
    ended = threading.Thread(target=turns.prefer)
    ended.start()
    ended.join(5)
    time.sleep(0.1)  # its system thread gone too, its stack (and with it its id) free again
    order: list[str] = []
    turns.acquire()
    go = threading.Event()

    def take(name: str, wait: bool = False) -> None:
        if wait:
            go.wait(5)
        turns.acquire()
        order.append(name)
        turns.release()

    late = threading.Thread(target=take, args=("last", True))
    late.start()
    threads = [late]
    for name in ("first", "second"):
        t = threading.Thread(target=take, args=(name,))
        t.start()
        threads.append(t)
        while turns.waiting < len(threads) - 1:
            time.sleep(0.001)
    go.set()
    while turns.waiting < 3:
        time.sleep(0.001)
    turns.release()
    for t in threads:
        t.join(5)
    assert order == ["first", "second", "last"], (order, late.ident == ended.ident)


def test_filing_writers_do_not_starve_the_audit_writer(
    ledger: Ledger, registry_catalog: Loaded
) -> None:
    """Eight threads file without pause; checks' entries still become durable within a
    fraction of a second each (the writers take turns)."""
    stop = threading.Event()
    filed = [0]

    def file(worker: int) -> None:
        n = 0
        while not stop.is_set():
            who = resident_id(110101, date(1950, 1, 1) + timedelta(days=n), worker)
            rec = NewRecord(who, REFUSE, "court", date(2026, 1, 5), "x")
            ledger.submit([rec], catalog=registry_catalog, today=TODAY, actor="authority:court")
            filed[0] += 1
            n += 1

    writer = GroupCommit(ledger, index_every=60)
    writer.start()
    threads = [threading.Thread(target=file, args=(w,), daemon=True) for w in range(8)]
    for t in threads:
        t.start()
    waits: list[float] = []
    try:
        time.sleep(0.3)
        n = 0
        deadline = time.monotonic() + 30
        while (n < 100 or filed[0] <= 20) and time.monotonic() < deadline:
            start = time.monotonic()
            assert writer.wait(writer.add(check(n)), 5), "an audit entry waited over 5 s"
            waits.append(time.monotonic() - start)
            n += 1
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        writer.stop()
    assert filed[0] > 20  # the filing went on meanwhile
    waits.sort()
    assert waits[-1] < 2.0, waits[-5:]
    assert len(ledger.access_log(PEOPLE[0])) == len(range(0, n, 3))


def test_an_entry_the_store_refuses_is_set_aside_and_the_rest_go_on(ledger: Ledger) -> None:
    writer = GroupCommit(ledger, index_every=60)
    poison = check(1, purpose="nul \x00 here")
    for row in (check(0), poison, check(2)):
        writer.add(row)
    if ledger.sqlite_path is not None:  # SQLite stores a NUL: refuse another way
        writer._pending[1] = ("x" * 10, "check m", "\ud800", "lone surrogate", None)
    writer.start()
    try:
        assert writer.wait(3, 10)
        writer.add(check(3))
        assert writer.wait(4, 10)
    finally:
        writer.stop()
    assert (writer.written, writer.set_aside) == (3, 1)
    assert [p for s in PEOPLE for p in purposes(ledger, s)] == ["c0", "c3", "c2"]
    aside = ledger.dead_letters()
    assert len(aside) == 1 and aside[0]["error"]
    assert "\\x00" in aside[0]["purpose"] or "\\ud800" in aside[0]["subject"]
    assert ledger.verify_audit() is True


class _Flaky:
    """A ledger whose audit writes fail until told otherwise."""

    def __init__(self) -> None:
        self.failing = True
        self.written: list[AccessRow] = []
        self.turns = Turns()

    def journal_reads(self, entries: Sequence[AccessRow]) -> int:
        if self.failing:
            raise LedgerError("writing the audit log failed: database is locked")
        self.written += entries
        return len(entries)

    def chain_reads(self, limit: int = 0) -> int:
        return 0

    def chain_all_reads(self) -> int:
        return 0

    def index_checks(self, *, limit: int | None = None) -> int:
        return 0


def test_a_failing_store_keeps_the_entries_in_order_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = _Flaky()
    writer = GroupCommit(ledger)  # type: ignore[arg-type]
    caplog.set_level("ERROR", logger="socialcredit.audit")
    writer.start()
    try:
        for n in range(3):
            writer.add(check(n))
        assert not writer.wait(3, 0.2)  # not durable while the store fails
        writer.add(check(3))
        ledger.failing = False
        assert writer.wait(4, 10)
    finally:
        writer.stop()
    assert [e[3] for e in ledger.written] == ["c0", "c1", "c2", "c3"]
    said = [r.getMessage() for r in caplog.records]
    assert said and said[0].startswith("writing the audit log failed (1 failures in a row")
    assert "database is locked" in said[0]


@pytest.mark.parametrize("write", ["append_accesses", "journal_reads"])
def test_audit_rejected_is_raised_for_content_not_for_the_store(ledger: Ledger, write: str) -> None:
    bad = ("consumer:k", "check m", "\ud800", "p", None)
    if ledger.sqlite_path is None:
        bad = ("consumer:k", "check m", PEOPLE[0], "p\x00", None)
    with pytest.raises(AuditRejected):
        getattr(ledger, write)([bad])
    assert getattr(ledger, write)([check(0)]) == 1
    ledger.chain_all_reads()
    assert ledger.verify_audit() is True
    assert ledger.last_audit_seq() == 1 and ledger.reads_waiting() == 0


def test_indexing_in_bounded_parts(ledger: Ledger) -> None:
    ledger.append_accesses([check(n, PEOPLE[0]) for n in range(50)])
    assert ledger.index_checks(limit=20) == 20
    assert ledger.index_checks(limit=20) == 20
    assert ledger.index_checks(limit=20) == 10
    assert ledger.index_checks(limit=20) == 0
    assert purposes(ledger, PEOPLE[0]) == [f"c{n}" for n in range(50)]
    assert ledger.verify_audit() is True


def test_commits_reach_the_disk_before_they_return(ledger: Ledger) -> None:
    """SQLite: WAL with synchronous=FULL; PostgreSQL: synchronous_commit on, even where the
    database's default says otherwise."""
    import sqlalchemy as sa

    engine = ledger._engine
    with engine.connect() as conn:
        if ledger.sqlite_path is not None:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            return
        name = conn.exec_driver_sql("SELECT current_database()").scalar()
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        conn.commit()
    engine.dispose()
    fresh = sa.create_engine(ledger.url)
    try:
        with fresh.connect() as conn:  # a plain connection now gets the database's default
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    finally:
        fresh.dispose()
    with Ledger.open(ledger.url) as other, other._engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_sqlite_durability_can_be_traded_for_speed_by_name(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALCREDIT_SQLITE_SYNC", "normal")
    with Ledger.open(f"sqlite:///{tmp_path}/n.db") as ledger, ledger._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    monkeypatch.setenv("SOCIALCREDIT_SQLITE_SYNC", "off")
    with pytest.raises(LedgerError, match="SOCIALCREDIT_SQLITE_SYNC"):
        with Ledger.open(f"sqlite:///{tmp_path}/o.db") as ledger:
            ledger.init()


def test_a_read_is_durable_while_a_filing_holds_the_chain_and_keeps_its_time(
    ledger: Ledger, lock_held: Any
) -> None:
    """The chain's lock held elsewhere (a filing in its transaction): a read's entry is durable
    at once (in the journal, seen from another connection), chained once the lock is free,
    with the time the read was made, not the time it joined the chain."""
    writer = GroupCommit(ledger, index_every=60)
    writer.start()
    try:
        with lock_held(ledger, "writers"):
            before = datetime.now(UTC)
            assert writer.wait(writer.add(check(0, PEOPLE[0], "held")), 5)
            after = datetime.now(UTC)
            with Ledger.open(ledger.url) as other:
                assert other.reads_waiting() == 1
            time.sleep(0.5)
            assert ledger.last_audit_seq() == 0  # not in the chain: its lock is held
            [entry] = ledger.access_log(PEOPLE[0])  # from the journal: not chained yet
            assert entry.seq == 0 and entry.hash == ""
        deadline = time.monotonic() + 10
        while ledger.last_audit_seq() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # chained once the lock is free
        [entry] = ledger.access_log(PEOPLE[0])
        assert entry.seq == 1
    finally:
        writer.stop()
    assert entry.purpose == "held" and before <= entry.at <= after
    assert ledger.reads_waiting() == 0 and ledger.verify_audit() is True


def test_a_read_waits_for_the_journal_not_for_the_chain(ledger: Ledger, lock_held: Any) -> None:
    ledger.journal_reads([check(0)])  # the journal exists
    writer = GroupCommit(ledger, index_every=60)
    writer.start()
    try:
        with lock_held(ledger, "journal"):
            ticket = writer.add(check(1))
            assert not writer.wait(ticket, 0.5)  # its journal's lock is held: not durable
        assert writer.wait(ticket, 10)
    finally:
        writer.stop()
    assert [p for s in PEOPLE for p in purposes(ledger, s)] == ["c0", "c1"]


def test_reads_are_chained_once_even_if_the_journal_kept_them(ledger: Ledger) -> None:
    """A crash after the chain's commit and before the journal's clean-up leaves chained rows
    in the journal: they are never chained again (SQLite: the mark in the ledger says how far
    the journal is chained; PostgreSQL: one transaction, nothing to leave)."""
    path = ledger.reads_path
    ledger.journal_reads([check(n, PEOPLE[0]) for n in range(5)])
    if path is not None:
        kept = Path(path).read_bytes()
        assert ledger.chain_all_reads() == 5
        ledger.close()
        for extra in ("-wal", "-shm"):
            Path(path + extra).unlink(missing_ok=True)
        Path(path).write_bytes(kept)  # the journal as the crash left it: the 5 rows still there
    else:
        assert ledger.chain_all_reads() == 5
    assert ledger.reads_waiting() == 0 and ledger.chain_all_reads() == 0
    ledger.journal_reads([check(5, PEOPLE[0])])
    assert purposes(ledger, PEOPLE[0]) == [f"c{n}" for n in range(6)]  # c5 from the journal
    assert ledger.chain_all_reads() == 1
    assert purposes(ledger, PEOPLE[0]) == [f"c{n}" for n in range(6)]
    assert ledger.last_audit_seq() == 6 and ledger.verify_audit() is True


def test_a_journal_file_made_anew_starts_past_what_is_chained(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path}/j.db") as ledger:
        ledger.init()
        ledger.journal_reads([check(n, PEOPLE[0]) for n in range(3)])
        assert ledger.chain_all_reads() == 3
        path = ledger.reads_path
        assert path is not None
    for extra in ("", "-wal", "-shm"):
        Path(path + extra).unlink(missing_ok=True)  # lost, or removed by hand
    with Ledger.open(f"sqlite:///{tmp_path}/j.db") as ledger:
        ledger.journal_reads([check(3, PEOPLE[0])])
        assert ledger.reads_waiting() == 1  # not taken for one of the three chained
        assert purposes(ledger, PEOPLE[0]) == ["c0", "c1", "c2", "c3"]


def test_readers_of_the_log_wait_for_no_writer_and_keep_no_connection(
    ledger: Ledger, lock_held: Any
) -> None:
    """A subject's access log and the chain's verification take no lock a writer takes: while
    the chain's lock is held elsewhere they answer at once, the access log with the reads still
    in the journal; asked from many short-lived threads (a server's request threads), they
    leave no connection behind."""
    ledger.append_accesses([check(0, PEOPLE[0])])
    ledger.journal_reads([check(1, PEOPLE[0])])
    with lock_held(ledger, "writers"):
        start = time.monotonic()
        log = ledger.access_log(PEOPLE[0])
        assert ledger.verify_audit() is True
        assert time.monotonic() - start < 2.0
    assert [(e.seq, e.purpose) for e in log] == [(1, "c0"), (0, "c1")]
    before = len(ledger._raw)  # noqa: SLF001 - the connections the ledger keeps
    for _ in range(30):
        t = threading.Thread(target=lambda: ledger.access_log(PEOPLE[0]))
        t.start()
        t.join(10)
    assert len(ledger._raw) == before  # noqa: SLF001


def test_downgrading_past_the_journal_keeps_no_read_and_chains_none_twice(ledger: Ledger) -> None:
    """Migration 0014 down: refused while the journal holds a read not yet chained (its own
    file on SQLite, the table on PostgreSQL); once chained, the journal goes with it, and the
    upgrade after chains nothing again."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from socialcredit.registry.ledger import MIGRATIONS_DIR

    ledger.journal_reads([check(n, PEOPLE[0]) for n in range(3)])
    engine = sa.create_engine(ledger.url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def down() -> None:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0013")

    try:
        with pytest.raises(RuntimeError, match="3 reads not yet in the audit chain"):
            down()
        assert ledger.chain_all_reads() == 3
        ledger.close()
        down()
        if ledger.reads_path is not None:
            assert not Path(ledger.reads_path).exists()
        ledger.init()  # 0013 -> head
    finally:
        engine.dispose()
    assert purposes(ledger, PEOPLE[0]) == ["c0", "c1", "c2"]
    ledger.journal_reads([check(3, PEOPLE[0])])
    assert ledger.chain_all_reads() == 1 and ledger.last_audit_seq() == 4
    assert ledger.verify_audit() is True


def test_a_journal_left_beside_a_registry_made_anew_is_refused(tmp_path: Path) -> None:
    """A registry removed without its journal's file and made anew in its place: the old
    registry's reads are never taken for the new one's (filing them, or showing them)."""
    db = tmp_path / "r.db"
    with Ledger.open(f"sqlite:///{db}") as old:
        old.init()
        old.journal_reads([check(0, PEOPLE[0], "old registry's read")])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with Ledger.open(f"sqlite:///{db}") as new:
        new.init()
        with pytest.raises(LedgerError, match="belongs to another registry"):
            new.access_log(PEOPLE[0])
        with pytest.raises(LedgerError, match="belongs to another registry"):
            new.journal_reads([check(1, PEOPLE[0])])
        with pytest.raises(LedgerError, match="belongs to another registry"):
            new.chain_all_reads()
        assert new.verify_audit() is True
    with sqlite3.connect(db) as conn:
        logged = [r[0] for r in conn.execute("SELECT purpose FROM audit_log")]
    assert "old registry's read" not in logged
