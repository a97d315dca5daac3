"""The stepwise check log writer (SQLite): every entry chained, committed and indexed; a busy
database leaves the entries pending, in order; a flush marker is honoured; a pass cut short
hides nothing and is completed by the next."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from socialcredit.errors import LedgerError
from socialcredit.registry.checklog import CheckLogWriter, Flush, Pending
from socialcredit.registry.ledger import AccessRow, Ledger

PEOPLE = ("34052419800101001X", "110101198001010010", "110101195007220007")


@pytest.fixture
def ledger(tmp_path: Any) -> Iterator[Ledger]:
    with Ledger.open(f"sqlite:///{tmp_path}/log.db") as ledger:
        ledger.init()
        yield ledger


def check(n: int, subject: str | None = None) -> AccessRow:
    who = subject or PEOPLE[n % len(PEOPLE)]
    return ("consumer:k", "check restrict.flight", who, f"c{n}", '{"decision":"allow"}')


def small(ledger: Ledger, **kw: Any) -> CheckLogWriter:
    """Tiny steps, so that a few entries exercise every phase."""
    options: dict[str, Any] = {"step_rows": 3, "commit_rows": 5, "commit_after": 0.0,
                               "index_every": 0.0, "index_rows": 2, "collect_seqs": 4,
                               "gap_after_commit": 0.0}  # fmt: skip
    options.update(kw)
    return CheckLogWriter(ledger, **options)


def run(writer: CheckLogWriter, pending: Pending, steps: int = 2_000) -> None:
    for _ in range(steps):
        writer.step(pending)


def logged(ledger: Ledger) -> list[str]:
    """The purposes of the committed entries, in order (read on a connection of its own)."""
    path = ledger.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT purpose FROM audit_log ORDER BY seq")]


def mark(ledger: Ledger) -> int:
    """How far the check index is complete (``check_index_upto``)."""
    path = ledger.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT value FROM ledger_state").fetchone()[0])


def purposes(ledger: Ledger, subject: str) -> list[str]:
    return [e.purpose for e in ledger.access_log(subject)]


def test_steps_chain_commit_and_index_every_entry(ledger: Ledger) -> None:
    writer = small(ledger)
    pending: Pending = Pending(check(n) for n in range(20))
    run(writer, pending, 5)
    # another writer in between: the chain goes on from wherever the log's head is
    ledger.log_access(actor="x", action="profile", subject=PEOPLE[0], purpose="p")
    pending.extend(check(n) for n in range(20, 40))
    run(writer, pending)
    writer.close()
    assert not pending and writer.written == 40
    assert writer.indexed == 40 and ledger.index_checks() == 0  # all indexed by the steps
    assert ledger.verify_audit() is True
    for i, who in enumerate(PEOPLE):
        expected = [f"c{n}" for n in range(40) if n % 3 == i]
        got = [p for p in purposes(ledger, who) if p != "p"]
        assert got == expected
    assert "p" in purposes(ledger, PEOPLE[0])


def test_a_busy_database_leaves_the_entries_pending_in_order(ledger: Ledger) -> None:
    writer = small(ledger)
    rows = [check(n) for n in range(7)]
    pending: Pending = Pending(rows)
    path = ledger.sqlite_path
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        assert writer.step(pending) is False
        assert list(pending) == rows
        assert writer.written == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
    run(writer, pending)
    writer.close()
    assert writer.written == 7
    assert logged(ledger) == [f"c{n}" for n in range(7)]


def test_an_entry_the_database_refuses_is_put_back_and_named(ledger: Ledger) -> None:
    writer = small(ledger, commit_after=60.0)
    good = [check(n) for n in range(4)]
    bad: Any = ("consumer:k", "check restrict.flight", PEOPLE[0], None, None)  # purpose NULL
    pending: Pending = Pending([*good, bad])
    writer.step(pending)  # the first three, in a transaction
    with pytest.raises(LedgerError, match="writing the audit log failed"):
        writer.step(pending)
    assert list(pending) == [*good, bad]  # rolled back: all of them pending again, in order
    writer.close()
    assert logged(ledger) == []


def test_other_writers_get_the_database_between_transactions(ledger: Ledger) -> None:
    path = ledger.sqlite_path
    assert path is not None
    writer = small(ledger, commit_rows=1_000, commit_after=60.0, index_every=3_600.0,
                   gap_after_commit=3_600.0)  # fmt: skip
    pending: Pending = Pending(check(n) for n in range(10))
    writer.step(pending)  # a transaction is open, holding the write lock
    ledger._waiting += 1  # a writer of this process starts waiting for it
    try:
        writer.step(pending)  # commits at once, and stands aside
        assert writer.written == 3 and len(pending) == 7
        assert writer.step(pending) is False and len(pending) == 7
    finally:
        ledger._waiting -= 1
    # after a commit the lock is left free for a while, for writers of other processes too
    assert writer.step(pending) is False and len(pending) == 7
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # gets it at once
        other.execute("ROLLBACK")
    finally:
        other.close()
    writer.drain(pending)  # a shutdown does not wait for the gap
    writer.close()
    assert logged(ledger) == [f"c{n}" for n in range(10)]


def test_any_failure_mid_transaction_puts_the_whole_transaction_back(ledger: Ledger) -> None:
    writer = small(ledger, commit_after=60.0, index_every=3_600.0)
    good = [check(n) for n in range(4)]
    bad: Any = ("consumer:k", "check restrict.flight", PEOPLE[0], "p", b"not text")
    pending: Pending = Pending([*good, bad])
    writer.step(pending)  # c0-c2 inserted, not committed
    with pytest.raises(TypeError):  # not a database error: raised as it is
        writer.step(pending)
    assert list(pending) == [*good, bad]
    pending.pop()
    writer.drain(pending)
    writer.close()
    assert logged(ledger) == ["c0", "c1", "c2", "c3"] and writer.written == 4


def test_a_long_way_behind_the_index_catches_up_in_turns(ledger: Ledger) -> None:
    writer = small(ledger, index_every=3_600.0)
    pending: Pending = Pending(check(n, PEOPLE[1]) for n in range(10))
    run(writer, pending, 50)
    writer.index_every, writer.pass_seqs = 0.0, 4
    marks = []
    for _ in range(200):
        writer.step(pending)
        marks.append(mark(ledger))
    writer.close()
    assert sorted(set(marks)) == [0, 4, 8, 10]  # three passes, the mark never backwards
    assert marks == sorted(marks)
    assert ledger.index_checks() == 0 and ledger.verify_audit() is True


def test_a_flush_marker_is_done_once_everything_before_it_is_committed(ledger: Ledger) -> None:
    writer = small(ledger, commit_rows=1_000, commit_after=60.0, index_every=60.0)
    marker = Flush()
    pending: Pending = Pending([check(0), check(1), marker, check(2)])
    steps = 0
    while not marker.done.is_set() and steps < 10:
        writer.step(pending)
        steps += 1
    assert marker.done.is_set()
    assert logged(ledger) == ["c0", "c1"]  # committed, visible
    writer.close()


def test_a_pass_cut_short_hides_nothing_and_the_next_completes_it(ledger: Ledger) -> None:
    writer = small(ledger, index_every=3_600.0)
    pending: Pending = Pending(check(n, PEOPLE[0]) for n in range(12))
    run(writer, pending, 50)
    assert writer.written == 12 and writer.indexed == 0
    writer.index_every = 0.0
    while writer.indexed < 4:  # part of the pass is in, the mark has not moved
        writer.step(pending)
    writer.close()  # stopped half-way
    expected = [f"c{n}" for n in range(12)]
    assert purposes(ledger, PEOPLE[0]) == expected  # no entry twice, none missing
    assert ledger.verify_audit() is True
    assert ledger.index_checks() == 12 - writer.indexed  # the rest; the rows there are kept
    assert purposes(ledger, PEOPLE[0]) == expected
    assert ledger.verify_audit() is True


def test_it_needs_a_sqlite_file() -> None:
    with Ledger.open("sqlite://") as memory:
        with pytest.raises(LedgerError, match="SQLite"):
            CheckLogWriter(memory)
