"""Bulk import at scale: the parser's common-case check agrees with the checker, a file cut in
chunks and parsed by worker processes gives what one pass gives, problems are capped, the
bulk projection equals the reference's, skipped duplicates leave the ids without gaps, and the
records' indexes built after a large load are the schema's; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from histories import CATALOG as EVAL_CATALOG

from socialcredit.errors import ImportRejected
from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import Loaded, load, load_bundled
from socialcredit.registry import importing
from socialcredit.registry.batch import measures_from_rows
from socialcredit.registry.importing import RecordFile, _Parser, _Spec, import_file, parse_file
from socialcredit.registry.ledger import Ledger, ValidRecord, default_projector
from socialcredit.registry.ledger import records as ledger_records
from socialcredit.registry.ledger.chain import _subjects_digest
from socialcredit.registry.ledger.projection import compact
from socialcredit.registry.ledger.records import project_plain
from socialcredit.registry.staging import subjects_digest
from socialcredit.rules import compile_catalog

DATA = Path(__file__).parents[1] / "data"
AS_OF = date(2024, 6, 1)
EPOCH = date(1970, 1, 1).toordinal()


def person(i: int, born: date = date(1980, 1, 1)) -> str:
    return resident_id(110101, born + timedelta(days=i % 5000), i // 5000)


def org(i: int) -> str:
    return organisation_code(110000, i)


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(
        b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)
    )
    return path


# --------------------------------------------------------------------------------------------
# The parser's common case against the checker


def _values(rng: random.Random, catalog: Loaded) -> list[Any]:
    """One line's values, valid more often than not, and wrong in every way the checker
    knows otherwise."""
    index = catalog.index
    pairs = sorted((code, a) for a, codes in index.mandate.items() for code in codes)
    rtype, authority = rng.choice(pairs)
    kinds = index.record_types[rtype].subject_kinds
    role = index.record_types[rtype].nature.value == "role"
    born = rng.choice([date(1980, 5, 17), date(2004, 2, 29), date(2005, 6, 15), date(2010, 1, 1)])
    adult = person(rng.randrange(50), born)
    subject: Any = adult if "person" in kinds else org(rng.randrange(50))
    if rng.random() < 0.3:
        subject = rng.choice(
            [
                adult,
                adult.lower(),
                f" {adult}",
                adult[:17] + "0",
                "123",
                42,
                None,
                org(rng.randrange(50)),
                "92110108MA0123456D",
                person(7, date(2024, 1, 1)),
            ]
        )
    day: Any = (date(2016, 1, 1) + timedelta(days=rng.randrange(3000))).isoformat()
    if rng.random() < 0.3:
        day = rng.choice(
            [
                "2022-02-27",
                "2022-02-28",
                "2022-03-01",
                "2023-06-14",
                "2023-06-15",
                "2023-06-16",
                "2024-06-02",
                "1949-09-30",
                "2024-13-01",
                "2024-1-01",
                "20240101",
                20240101,
                None,
                AS_OF.isoformat(),
            ]
        )
    ref: Any = f"({day!s:.4}) Zhi {rng.randrange(1000)}"
    if rng.random() < 0.3:
        ref = rng.choice(
            [
                "  padded  ",
                "",
                "   ",
                "tab\there",
                "bell\x07",
                "x" * 500,
                "x" * 501,
                "（2024）京01执123号",
                "nbsp\u00a0in",
                "ideo\u3000space",
                "soft\u00adhyphen",
                "\ud800",
                5,
                None,
            ]
        )
    counterpart: Any = org(rng.randrange(50)) if role else None
    if rng.random() < 0.2:
        counterpart = rng.choice(
            ["", None, org(3), org(3).lower(), adult, "92110108MA0123456D", "nope", 7]
        )
    key: Any = f"k-{rng.randrange(10**6)}"
    if rng.random() < 0.2:
        key = rng.choice(["", None, "k" * 200, "k" * 201, "new\nline", " spaced ", 3, "ключ"])
    facts: Any = None
    if rng.random() < 0.1:
        facts = rng.choice(
            ["", ";", " ; ", [], ["security_given"], "unable_to_pay", ["minors"], "nonsense", 1]
        )
    if rng.random() < 0.05:
        rtype = rng.choice(["court.refuze", 3, None, rtype])
    if rng.random() < 0.05:
        authority = rng.choice(["cort", None, "city", authority])
    return [subject, rtype, authority, day, ref, counterpart, key, facts]


@pytest.mark.parametrize("which", ["registry", "bundled"])
def test_the_common_case_accepts_only_what_the_checker_accepts_as_it_would(
    tmp_path: Path, which: str
) -> None:
    catalog = load(DATA / "registry.toml") if which == "registry" else load_bundled()
    type_ids = compile_catalog(catalog).type_ids
    path = write_jsonl(tmp_path / "x.jsonl", [{}])
    parser = _Parser(_Spec(str(path), "jsonl", catalog, AS_OF, (), type_ids))
    rng = random.Random(11)
    accepted = valid = 0
    try:
        for n in range(1, 30_001):
            values = _values(rng, catalog)
            row = parser._accept(*values, n)
            result = parser.checker.problems(*values)
            if isinstance(result, ValidRecord):
                valid += 1
            if row is None:
                continue
            accepted += 1
            assert isinstance(result, ValidRecord), (values, result)
            day = result.decided_on
            expected = (
                *result[:4],
                day.isoformat(),
                *result[5:],
                type_ids.get(result.record_type, -1),
                day.toordinal() - EPOCH,
                n,
            )
            assert row == expected, values
    finally:
        parser.close()
    assert accepted > 0.4 * valid > 1000  # minors and odd text go to the checker


def test_plain_lines_take_the_common_case(tmp_path: Path, registry_catalog: Loaded) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{}])
    parser = _Parser(_Spec(str(path), "jsonl", registry_catalog, AS_OF, (), {}))
    try:
        for rec in _lines(random.Random(2), 500, False):
            values = [rec.get(f) for f in importing.REQUIRED]
            values += [rec.get("counterpart"), rec.get("client_key"), None, 1]
            assert parser._accept(*values) is not None, rec
    finally:
        parser.close()


def test_a_minor_or_an_unsure_birthday_goes_to_the_checker(tmp_path: Path) -> None:
    catalog = load_bundled()
    path = write_jsonl(tmp_path / "x.jsonl", [{}])
    parser = _Parser(_Spec(str(path), "jsonl", catalog, AS_OF, (), {}))
    leap = person(0, date(2004, 2, 29))  # 18 on 2022-02-28 (a common year)
    rtype = "court.dishonest_debtor.refuse_to_perform"
    try:
        args = [leap, rtype, "court", "2022-02-28", "(2022) Zhi 1", None, "k", None, 1]
        assert parser._accept(*args) is None  # the 28th: unsure here, adult for the checker
        assert isinstance(parser.checker.problems(*args[:-1]), ValidRecord)
        args[3] = "2022-02-27"
        assert parser._accept(*args) is None
        assert not isinstance(parser.checker.problems(*args[:-1]), ValidRecord)  # a minor
        args[3] = "2022-03-01"
        assert parser._accept(*args) is not None
    finally:
        parser.close()


# --------------------------------------------------------------------------------------------
# Chunks and workers


def _lines(rng: random.Random, n: int, bad: bool, prefix: str = "key") -> list[Any]:
    out: list[Any] = []
    for i in range(n):
        subject = person(rng.randrange(n // 3 + 1))
        roll = rng.random()
        if roll < 0.05:
            rec = {
                "subject": subject,
                "record_type": "samr.legal_rep",
                "authority": "samr",
                "counterpart": org(rng.randrange(5)),
            }
        elif roll < 0.1:
            rec = {
                "subject": org(rng.randrange(5)),
                "record_type": "court.refuse",
                "authority": "court",
            }
        else:
            rtype = rng.choice(["court.refuse", "city.late_fee"])
            rec = {"subject": subject, "record_type": rtype, "authority": rtype.split(".")[0]}
        rec["decided_on"] = (date(2021, 1, 1) + timedelta(days=rng.randrange(1200))).isoformat()
        rec["decision_ref"] = f"ref {i}"
        rec["client_key"] = f"{prefix}-{i}"
        if rec["record_type"] == "court.refuse" and rng.random() < 0.2:
            rec["subject_name"] = f"Name {i}"
        out.append(rec)
        if bad and rng.random() < 0.02:
            out.append(
                rng.choice([b"", b"   ", b"{nope", {**rec, "subject": "123"}, {**rec, "colour": 1}])
            )
    return out


def _read_all(path: Path, catalog: Loaded, **kw: Any) -> tuple[list[Any], Any]:
    source = RecordFile(path, catalog=catalog, as_of=AS_OF, **kw)
    try:
        rows = [row for batch in source.batches() for row in batch]
    except ImportRejected as exc:
        return [], exc.problems
    return rows, source.names


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("bad", [False, True])
def test_chunks_parsed_by_workers_give_what_one_pass_gives(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch, fmt: str, bad: bool
) -> None:
    lines = _lines(random.Random(5), 3_000, bad)
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    if fmt == "csv":
        fields = importing.FIELDS
        text = ["\ufeff" + ",".join(fields)]
        for rec in lines:
            if isinstance(rec, bytes):
                text.append(rec.decode())
                continue
            text.append(",".join(str(rec.get(f, "")) for f in fields))
        path = tmp_path / "in.csv"
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    whole = _read_all(path, registry_catalog, jobs=1)
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    for jobs, chunk in ((1, 997), (2, 1_500), (2, 64)):
        assert _read_all(path, registry_catalog, jobs=jobs, chunk_bytes=chunk) == whole
    rows, names = whole
    if bad:
        assert not rows and names  # problems, in order of line
        assert [p[0] for p in names] == sorted(p[0] for p in names)
    else:
        assert [r[-1] for r in rows] == sorted(r[-1] for r in rows)
        assert names


def test_problems_are_capped(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "MAX_PROBLEMS", 5)
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    path = write_jsonl(tmp_path / "in.jsonl", [b"{bad"] * 40)
    for jobs in (1, 2):
        with pytest.raises(ImportRejected) as caught:
            RecordFile(
                path, catalog=registry_catalog, as_of=AS_OF, jobs=jobs, chunk_bytes=30
            ).batches().__next__()
        problems = caught.value.problems
        assert [p[0] for p in problems[:5]] == [1, 2, 3, 4, 5]
        assert problems[5][:2] == (40, "file") and "35 more" in problems[5][2]


# --------------------------------------------------------------------------------------------
# The bulk projection


@pytest.mark.parametrize("which", ["registry", "eval", "bundled"])
def test_the_bulk_projection_is_what_the_projector_gives(which: str) -> None:
    catalog = {
        "registry": lambda: load(DATA / "registry.toml"),
        "eval": lambda: load(EVAL_CATALOG),
        "bundled": load_bundled,
    }[which]()
    index = catalog.index
    types = sorted(
        code
        for code, rt in index.record_types.items()
        if rt.nature.value != "role" and "person" in rt.subject_kinds
    )
    type_ids = compile_catalog(catalog).type_ids
    rng = random.Random(3)
    rows: list[tuple[str, int, int]] = []
    for s in range(600):
        for _ in range(rng.randrange(1, 6)):
            day = date(2016, 1, 1) + timedelta(days=rng.randrange(3000))
            rows.append((person(s), type_ids[rng.choice(types)], day.toordinal() - EPOCH))
    ordered = sorted(enumerate(rows), key=lambda r: (r[1][0], r[1][2], r[0]))
    project = default_projector(catalog, AS_OF)
    got, grounds = project_plain([r for _i, r in ordered], project, AS_OF)
    by_type = {v: k for k, v in type_ids.items()}
    want, want_grounds = compact(
        measures_from_rows(
            [i for i, _r in ordered],
            [r[0] for _i, r in ordered],
            [by_type[r[1]] for _i, r in ordered],
            [date.fromordinal(r[2] + EPOCH) for _i, r in ordered],
            catalog,
            AS_OF,
        )
    )
    iso = lambda d: None if d is None else d.isoformat()  # noqa: E731
    assert sorted(got) == sorted((s, g, iso(a), iso(b), AS_OF.isoformat()) for s, g, a, b in want)
    assert grounds == want_grounds
    assert len(got) > 50


def test_the_staged_digest_is_the_chain_s() -> None:
    subjects = sorted(person(i) for i in range(100))
    assert subjects_digest(iter(subjects)) == _subjects_digest(subjects)


# --------------------------------------------------------------------------------------------
# Whole imports, both databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def _state(ledger: Ledger) -> tuple[list[Any], list[Any]]:
    records = [ledger.record(str(i)) for i in range(1, ledger.count_records() + 1)]
    return records, sorted(
        (s, m.measure, m.list, m.since, m.until) for s, m in ledger.projection_rows()
    )


def test_a_parallel_import_is_the_serial_one(
    tmp_path: Path, url: str, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", _lines(random.Random(8), 2_000, False))
    with Ledger.open(f"sqlite:///{tmp_path / 'serial.db'}") as serial:
        serial.init()
        serial_report = import_file(serial, path, catalog=registry_catalog, as_of=AS_OF, jobs=1)
        expected = _state(serial)
        named = serial.changes_since(0)[1]
    lines = orjson.loads(b"[" + path.read_bytes().strip().replace(b"\n", b",") + b"]")
    assert named == {line["subject"] for line in lines}  # every subject, organisations too
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(importing, "CHUNK_BYTES", 5_000)
    with Ledger.open(url) as ledger:
        ledger.init()
        report = import_file(ledger, path, catalog=registry_catalog, as_of=AS_OF, jobs=2)
        assert report.imported == 2_000
        assert _state(ledger) == expected
        # the touched subjects, however they were listed (PostgreSQL into an empty ledger:
        # while projecting), are the same, and the audit entry names them
        assert report.subjects == serial_report.subjects == len(named)
        assert ledger.changes_since(0)[1] == named
        assert ledger.verify_audit()


def test_skipped_duplicates_leave_no_gap_in_the_ids(
    tmp_path: Path, url: str, registry_catalog: Loaded
) -> None:
    lines = _lines(random.Random(9), 40, False)
    with Ledger.open(url) as ledger:
        ledger.init()
        first = write_jsonl(tmp_path / "a.jsonl", [lines[0], lines[1], lines[1], lines[2]])
        report = import_file(ledger, first, catalog=registry_catalog, as_of=AS_OF)
        assert (report.imported, report.skipped) == (3, 1)
        second = write_jsonl(tmp_path / "b.jsonl", [lines[2], lines[3], lines[3], lines[4]])
        report = import_file(ledger, second, catalog=registry_catalog, as_of=AS_OF)
        assert (report.imported, report.skipped) == (2, 2)
        assert [ledger.record(str(i)).decision_ref for i in range(1, 6)] == [
            lines[i]["decision_ref"] for i in range(5)
        ]
        third = write_jsonl(tmp_path / "b2.jsonl", [lines[4], lines[5], lines[6]])
        report = import_file(ledger, third, catalog=registry_catalog, as_of=AS_OF)
        assert (report.imported, report.skipped) == (2, 1)  # no key twice in the file
        assert [ledger.record(str(i)).decision_ref for i in range(1, 8)] == [
            lines[i]["decision_ref"] for i in range(7)
        ]
        changed = {**lines[3], "decision_ref": "other"}
        third = write_jsonl(tmp_path / "c.jsonl", [lines[7], changed, lines[8], changed])
        with pytest.raises(ImportRejected) as caught:
            import_file(ledger, third, catalog=registry_catalog, as_of=AS_OF)
        assert [p[:2] for p in caught.value.problems] == [(2, "client_key"), (4, "client_key")]
        assert all("already names record 4" in p[2] for p in caught.value.problems)
        assert ledger.count_records() == 7
        assert ledger.verify_audit()


def test_indexes_built_after_a_large_load_are_the_schema_s(
    tmp_path: Path, url: str, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", _lines(random.Random(4), 300, False))
    more = write_jsonl(tmp_path / "more.jsonl", _lines(random.Random(6), 50, False, "more"))
    with Ledger.open(f"sqlite:///{tmp_path / 'inserted.db'}") as inserted:
        inserted.init()
        for p in (path, more):
            import_file(inserted, p, catalog=registry_catalog, as_of=AS_OF)
        expected = _state(inserted)
        holders = inserted.role_holders([org(i) for i in range(5)])
    monkeypatch.setattr(ledger_records, "REBUILD_AT", 1)
    with Ledger.open(url) as ledger:
        ledger.init()
        for p in (path, more):  # the second, smaller than the ledger, inserts into the indexes
            import_file(ledger, p, catalog=registry_catalog, as_of=AS_OF)
        assert _state(ledger) == expected
        assert ledger.role_holders([org(i) for i in range(5)]) == holders != []
        subject = parse_file(more, catalog=registry_catalog, as_of=AS_OF).rows[0].subject
        assert ledger.facts(subject)
    if not url.startswith("sqlite"):
        import psycopg
        from sqlalchemy.engine import make_url

        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain) as pg:
            found = dict(
                pg.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records'"
                ).fetchall()
            )
        assert sorted(found) == [
            "ix_records_counterpart",
            "ix_records_subject",
            "records_pkey",
            "uq_records_authority_client_key",
        ]
        assert (
            "UNIQUE INDEX uq_records_authority_client_key"
            in found["uq_records_authority_client_key"]
        )
        assert "(authority, client_key)" in found["uq_records_authority_client_key"]
        assert found["ix_records_counterpart"].endswith(
            "(counterpart) WITH (fillfactor='100') WHERE (counterpart IS NOT NULL)"
        )
        # built after the load, packed full; the ids' index as migration 0016 left it
        for name in found:
            assert "WITH (fillfactor='100')" in found[name], name
        return
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            found = dict(
                conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'records' AND sql IS NOT NULL"
                )
            )
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()
        assert found == {
            "ix_records_subject": "CREATE INDEX ix_records_subject ON records (subject)",
            "ix_records_counterpart": "CREATE INDEX ix_records_counterpart ON records "
            "(counterpart) WHERE counterpart IS NOT NULL",
        }


def _record_index_defs(url: str) -> dict[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as pg:
        return dict(
            pg.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records' "
                "AND indexname <> 'records_pkey'"
            ).fetchall()
        )


@pytest.mark.postgres
def test_a_large_load_while_records_are_read_inserts_into_their_indexes(
    tmp_path: Path,
    pg_url: str,
    registry_catalog: Loaded,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rebuilding the records' indexes needs the table to itself, readers shut out. With a
    reader's transaction open on it, the import does not wait for the write lock's 30 s and
    fail (losing its staged work), nor hold the readers up behind its request: it asks a
    little at a time, then inserts into the indexes as a smaller import does. Once nobody
    reads, a large load rebuilds them (packed full)."""
    import psycopg
    from sqlalchemy.engine import make_url

    monkeypatch.setattr(ledger_records, "REBUILD_AT", 1)
    monkeypatch.setattr(ledger_records, "REBUILD_LOCK_PATIENCE", 1.0)
    first = write_jsonl(tmp_path / "in.jsonl", _lines(random.Random(4), 300, False))
    second = write_jsonl(tmp_path / "more.jsonl", _lines(random.Random(6), 400, False, "more"))
    plain = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with Ledger.open(pg_url) as ledger:
        ledger.init()
        packed = "WITH (fillfactor='100')"
        with psycopg.connect(plain) as reader:
            assert reader.execute("SELECT count(*) FROM records").fetchone() == (0,)
            started = time.monotonic()
            result = import_file(ledger, first, catalog=registry_catalog, as_of=AS_OF)
            took = time.monotonic() - started
            # the reader's transaction is still open and reads on (the import, committed)
            assert reader.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            assert reader.execute("SELECT count(*) FROM records").fetchone() == (result.imported,)
        assert took < 20, took  # not the write lock's 30 s wait
        warned = [r.getMessage() for r in caplog.records if r.name == "socialcredit.registry"]
        assert warned and "inserts into its indexes instead of rebuilding" in warned[0]
        assert result.imported == ledger.count_records() > 0
        kept = _record_index_defs(pg_url)
        assert sorted(kept) == [
            "ix_records_counterpart", "ix_records_subject", "uq_records_authority_client_key",
        ]  # fmt: skip
        assert not any(packed in d for d in kept.values()), kept  # inserted into, not rebuilt
        caplog.clear()
        before = ledger.count_records()
        more = import_file(ledger, second, catalog=registry_catalog, as_of=AS_OF)
        assert more.imported >= before  # at least doubles the table: rebuilt
        assert ledger.count_records() == before + more.imported
        assert not [r for r in caplog.records if r.name == "socialcredit.registry"]
        rebuilt = _record_index_defs(pg_url)
        assert sorted(rebuilt) == sorted(kept)
        assert all(packed in d for d in rebuilt.values()), rebuilt
        assert ledger.verify_audit()


def test_keys_given_twice_are_seen_from_their_hashes(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _lines(random.Random(12), 400, False)
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    for jobs, rows, unique in ((1, lines, True), (2, lines, True), (2, [*lines, lines[3]], False)):
        source = RecordFile(
            write_jsonl(tmp_path / "k.jsonl", rows),
            catalog=registry_catalog,
            as_of=AS_OF,
            jobs=jobs,
            chunk_bytes=2_000,
        )
        assert sum(len(b) for b in source.batches()) == len(rows)
        assert source.unique_keys() is unique


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``signum`` (``SigCgt``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    raise AssertionError(f"no SigCgt for {pid}")


def test_workers_end_at_the_pool_s_sigterm_whatever_the_importer_s_handler(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool ends its workers with SIGTERM, which must kill them: a handler the importing
    process set for itself (one that raises, say) and a forked worker inherited would run at
    the worker's next Python instruction, and a worker that took the signal just before
    waiting on the task queue's lock would wait there for ever, and the import with it."""
    import multiprocessing

    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(importing, "CHUNK_BYTES", 20_000)
    path = write_jsonl(tmp_path / "in.jsonl", _lines(random.Random(2), 5_000, False))

    def raising(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, raising)
    try:
        source = RecordFile(path, catalog=registry_catalog, as_of=AS_OF, jobs=2)
        batches = source.batches()
        assert next(batches)
        workers = [p.pid for p in multiprocessing.active_children() if p.pid is not None]
        assert len(workers) >= 2
        assert _catches(os.getpid(), signal.SIGTERM)  # the importer keeps its own
        assert not any(_catches(w, signal.SIGTERM) for w in workers)
        assert sum(len(b) for b in batches) > 0
    finally:
        signal.signal(signal.SIGTERM, before)


def test_workers_die_with_a_killed_importer(tmp_path: Path) -> None:
    """SIGKILL of the importing process while its workers parse leaves no worker behind (a
    worker holds no write end of its task pipe: it reads the end of it and leaves)."""
    path = write_jsonl(tmp_path / "in.jsonl", _lines(random.Random(1), 20_000, False) * 10)
    code = (
        "import sys; from datetime import date; from socialcredit.registry import importing; "
        "from socialcredit.policy.loader import load; "
        "importing.PARALLEL_BYTES = 0; importing.CHUNK_BYTES = 20_000; "
        f"cat = load({str(DATA / 'registry.toml')!r}); "
        f"importing.check_file({str(path)!r}, catalog=cat, as_of=date(2024, 6, 1), jobs=2)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children_of(proc.pid)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no workers started"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers):
            assert time.monotonic() < deadline, "a worker outlived the importer"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
