"""Concurrent writers lose nothing and duplicate nothing, on SQLite and on PostgreSQL.

Eight writers, each with its own connection pool, file records at the same time; half of the
client keys are shared between two writers (the same case filed twice at once). Afterwards
every key names exactly one record, every record is there once, and the audit chain, which
every write extends, is intact.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from socialcredit.identifiers import resident_id
from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger, NewRecord
from socialcredit.registry.subjects import validate

TYPE = "court.refuse"
WRITERS = 8
PER_WRITER = 24


def person_id(i: int) -> str:
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


def _records(writer: int) -> list[NewRecord]:
    out = []
    for i in range(PER_WRITER):
        # even i: a key shared with the next writer; odd i: this writer's own key
        shared = i % 2 == 0
        owner = writer - writer % 2 if shared else writer
        key = f"case-{owner}-{i}" if shared else f"own-{writer}-{i}"
        subject = person_id(1000 + owner * PER_WRITER + i)
        out.append(NewRecord(subject, TYPE, "court", date(2026, 1, 1 + i % 28), key, None, key))
    return out


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_concurrent_writers_lose_and_duplicate_nothing(
    backend: str, request: pytest.FixtureRequest, registry_catalog: Loaded
) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")
    setup = Ledger.open(url)
    setup.init()
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    ids: dict[str, set[str]] = {}
    lock = threading.Lock()

    def writer(w: int) -> None:
        ledger = Ledger.open(url)
        try:
            start.wait()
            for rec in _records(w):  # one at a time: the most interleaving
                result = ledger.submit([rec], catalog=registry_catalog, today=date(2026, 6, 1),
                                       actor=f"writer-{w}")  # fmt: skip
                with lock:
                    ids.setdefault(str(rec.client_key), set()).add(result[0].id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            ledger.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    expected = {str(r.client_key) for w in range(WRITERS) for r in _records(w)}
    assert set(ids) == expected
    assert all(len(v) == 1 for v in ids.values()), "a key named two records"
    assert setup.count_records() == len(expected)
    engine = sa.create_engine(setup.url)
    with engine.connect() as conn:
        dupes = conn.execute(
            sa.text(
                "SELECT client_key, count(*) FROM records GROUP BY client_key HAVING count(*) > 1"
            )
        ).all()
    engine.dispose()
    assert dupes == []
    assert setup.verify_audit()
    subject, _ = validate(person_id(1000))
    assert len([f for f in setup.facts(subject)]) == 1
    setup.close()
