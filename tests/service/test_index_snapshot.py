"""The check index kept between starts (``<database>-checkindex``): a start from it, brought up
to date by the writes made since, answers as a load from the projection does; a snapshot of
another history, a damaged or a cut-short one is not used (the index is loaded from the
projection instead, and written anew)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pytest
from live import TODAY, person_id
from test_audit_first import _free_port, _wait_listening
from test_workers import _serve

from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger, NewRecord
from socialcredit.service import arrayfile
from socialcredit.service.state import CheckIndex

REFUSE = "court.dishonest_debtor.refuse_to_perform"


def _file(ledger: Ledger, catalog: Loaded, subjects: list[str], tag: str) -> None:
    records = [NewRecord(s, REFUSE, "court", date(2026, 1, 5), f"{tag} {s}") for s in subjects]
    ledger.submit(records, catalog=catalog, today=TODAY, actor="authority:court")


def _everything(index: CheckIndex, subjects: list[str]) -> dict[str, object]:
    return {s: index.entries(s) for s in subjects}


def _fresh_load(ledger: Ledger, catalog: Loaded) -> CheckIndex:
    index = CheckIndex(ledger, catalog, snapshot=None)
    index.load()
    return index


def test_a_start_from_the_snapshot_answers_as_a_load_from_the_projection(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    db = tmp_path / "r.db"
    people = [person_id(n) for n in range(60)]
    with Ledger.open(f"sqlite:///{db}") as ledger:
        ledger.init()
        _file(ledger, service_catalog, people[:40], "first")
        first = CheckIndex(ledger, service_catalog)
        assert first.load() == 40
        snapshot = Path(f"{db}-checkindex")
        assert snapshot.exists() and (snapshot.stat().st_mode & 0o777) == 0o600
        _file(ledger, service_catalog, people[40:], "since")  # after the snapshot
        second = CheckIndex(ledger, service_catalog)
        assert second.load() == 60
        assert isinstance(second._base.keys, np.memmap)  # it did start from the snapshot
        assert _everything(second, people) == _everything(
            _fresh_load(ledger, service_catalog), people
        )
        assert second.decide(people[59], "restrict.flight", TODAY)["decision"] == "deny"
        assert second.fresh(people[59])


def test_a_snapshot_of_another_history_is_not_used(tmp_path: Path, service_catalog: Loaded) -> None:
    db = tmp_path / "r.db"
    with Ledger.open(f"sqlite:///{db}") as ledger:
        ledger.init()
        _file(ledger, service_catalog, [person_id(1)], "one")
        CheckIndex(ledger, service_catalog).load()
    kept = Path(f"{db}-checkindex").read_bytes()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with Ledger.open(f"sqlite:///{db}") as ledger:  # a new registry under the same name
        ledger.init()
        _file(ledger, service_catalog, [person_id(2)], "two")
        Path(f"{db}-checkindex").write_bytes(kept)
        index = CheckIndex(ledger, service_catalog)
        assert index.load() == 1
        assert not isinstance(index._base.keys, np.memmap)
        assert index.entries(person_id(1)) == ()
        assert index.decide(person_id(2), "restrict.flight", TODAY)["decision"] == "deny"


def test_a_damaged_or_cut_short_snapshot_is_not_used(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    db = tmp_path / "r.db"
    people = [person_id(n) for n in range(10)]
    with Ledger.open(f"sqlite:///{db}") as ledger:
        ledger.init()
        _file(ledger, service_catalog, people, "ten")
        CheckIndex(ledger, service_catalog).load()
        path = Path(f"{db}-checkindex")
        arrays, meta = arrayfile.read(path)
        want = _everything(_fresh_load(ledger, service_catalog), people)
        # the first subject's first entry said to start in 1972: the sample finds it
        since = np.array(arrays["since"])
        assert since[0] != 1000
        since[0] = 1000
        arrayfile.write(path, {**arrays, "since": since}, meta)
        index = CheckIndex(ledger, service_catalog)
        index.load()
        assert not isinstance(index._base.keys, np.memmap)
        assert _everything(index, people) == want
        # written anew by that load: the next start uses it
        again = CheckIndex(ledger, service_catalog)
        again.load()
        assert isinstance(again._base.keys, np.memmap)
        assert _everything(again, people) == want
        # cut short
        path.write_bytes(path.read_bytes()[:-100])
        cut = CheckIndex(ledger, service_catalog)
        cut.load()
        assert not isinstance(cut._base.keys, np.memmap)
        assert _everything(cut, people) == want


def test_array_files_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a"
    arrays = {"keys": np.array([b"A", b"BC"], dtype="S18"), "none": np.zeros(0, np.int32),
              "n": np.arange(5, dtype=np.int64)}  # fmt: skip
    arrayfile.write(path, arrays, {"x": 1})
    back, meta = arrayfile.read(path)
    assert meta == {"x": 1}
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and np.array_equal(back[name], array)
    path.write_bytes(b"not an array file at all")
    try:
        arrayfile.read(path)
    except arrayfile.ArrayFileError as exc:
        assert "not an array file" in str(exc)
    else:
        raise AssertionError("a file of another kind was read")


def test_a_merge_is_kept_for_the_next_start(tmp_path: Path, service_catalog: Loaded) -> None:
    db = tmp_path / "r.db"
    people = [person_id(n) for n in range(30)]
    with Ledger.open(f"sqlite:///{db}") as ledger:
        ledger.init()
        _file(ledger, service_catalog, people[:5], "before")
        index = CheckIndex(ledger, service_catalog)
        index.MERGE_AT = 10  # type: ignore[misc]
        index.load()
        _file(ledger, service_catalog, people[5:], "after")
        index.catch_up()  # 25 subjects changed: merged, and the merge written beside
        assert len(index._changed) == 0
        with index._saving:  # the snapshot's writer is done
            pass
        again = CheckIndex(ledger, service_catalog, snapshot=Path(f"{db}-checkindex"))
        arrays, meta = arrayfile.read(Path(f"{db}-checkindex"))
        assert meta["subjects"] == 30
        again.load()
        assert isinstance(again._base.keys, np.memmap)
        assert _everything(again, people) == _everything(
            _fresh_load(ledger, service_catalog), people
        )


@pytest.mark.postgres
def test_serve_keeps_the_index_of_a_postgresql_registry_where_told(
    tmp_path: Path, pg_url: str, service_catalog: Loaded
) -> None:
    """``serve --index-snapshot FILE`` over PostgreSQL: the first start writes the file; a
    debtor filed while the server is down is denied by the next start, which began from it."""
    snapshot = tmp_path / "index"
    with Ledger.open(pg_url) as ledger:
        ledger.init()
        consumer = ledger.create_key(role="consumer", principal="transport", actor="test")
        _file(ledger, service_catalog, [person_id(1)], "first")
    headers = {"Authorization": f"Bearer {consumer}"}

    def decision(base: str, subject: str) -> str:
        r = httpx.get(f"{base}/api/v1/checks/{subject}/restrict.flight", headers=headers,
                      timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        return str(r.json()["decision"])

    for round_ in (1, 2):
        port = _free_port()
        server = _serve(pg_url, port, "--index-snapshot", str(snapshot))
        try:
            _wait_listening(port, server)
            base = f"http://127.0.0.1:{port}"
            assert decision(base, person_id(1)) == "deny"
            assert decision(base, person_id(2)) == ("deny" if round_ == 2 else "allow")
            assert snapshot.exists()
            _arrays, meta = arrayfile.read(snapshot)
            assert meta["subjects"] == 1  # made by the first start's load, used by the second
        finally:
            server.terminate()
            server.wait(timeout=60)
        if round_ == 1:
            with Ledger.open(pg_url) as ledger:
                _file(ledger, service_catalog, [person_id(2)], "between")
