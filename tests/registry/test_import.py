"""Bulk import: every bad line reported with its number, nothing written on any error,
idempotent re-import, JSONL and CSV, and a CLI that never shows a traceback."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from socialcredit.cli import main
from socialcredit.errors import ImportRejected, InputError
from socialcredit.policy.loader import Loaded
from socialcredit.registry.importing import FIELDS, import_file, parse_file
from socialcredit.registry.ledger import Ledger

DATA = Path(__file__).parents[1] / "data"
AS_OF = date(2024, 6, 1)
PERSON = "34052419800101001X"
ORG = "91110000600037341L"
OTHER = "110101198001010010"


def rec(i: int = 0, subject: str = PERSON, **changes: Any) -> dict[str, Any]:
    """A valid line's fields (the ``i``-th decision), with ``changes``; a field changed to
    ``...`` is left out."""
    base: dict[str, Any] = {
        "subject": subject,
        "record_type": "court.refuse",
        "authority": "court",
        "decided_on": "2024-01-10",
        "decision_ref": f"(2024) Zhi {i}",
        "client_key": f"k-{i}",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in rows))
    return path


def to_csv(path: Path, rows: list[dict[str, Any]], fields: tuple[str, ...] = FIELDS) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[Ledger]:
    with Ledger.open(sqlite_url) as ledger:
        ledger.init()
        yield ledger


def run(ledger: Ledger, path: Path, cat: Loaded, **kw: Any) -> Any:
    return import_file(ledger, path, catalog=cat, as_of=AS_OF, **kw)


# --------------------------------------------------------------------------------------------
# Validation


BAD_LINES: list[tuple[Any, str, str]] = [
    (rec(subject="340524198001010015"), "subject", "neither a valid resident ID"),
    (rec(subject=ORG, record_type="city.late_fee", authority="city"), "subject", "organisation"),
    (rec(record_type="court.refuze"), "record_type", "did you mean 'court.refuse'"),
    (rec(authority="cort"), "authority", "unknown authority 'cort'"),
    (rec(authority="city"), "authority", "may not issue"),
    (rec(decided_on="2024-13-01"), "decided_on", "not a date"),
    (rec(decided_on="10/01/2024"), "decided_on", "not a date"),
    (rec(decided_on="2024-06-02"), "decided_on", "after today"),
    (rec(decided_on=20240101), "decided_on", "expected a date"),
    (rec(decision_ref=...), "decision_ref", "missing"),
    (rec(decision_ref="  "), "decision_ref", "empty"),
    (rec(colour="red"), "colour", "unknown field"),
    (rec(subject=12), "subject", "expected text"),
    (rec(record_type="samr.legal_rep", authority="samr"), "counterpart", "must name"),
    (
        rec(record_type="samr.legal_rep", authority="samr", counterpart=PERSON),
        "counterpart",
        "not a valid USCC",
    ),
    (rec(counterpart=ORG), "counterpart", "do not name a counterpart"),
    (  # an individual business (USCC 92...) is no organisation to hold a legal role in
        rec(record_type="samr.legal_rep", authority="samr", counterpart="92110108MA0123456D"),
        "counterpart",
        "individual business",
    ),
    (rec(subject_name="Zhang\u0007San"), "subject_name", "control characters"),
    (rec(subject_name="Z" * 101), "subject_name", "at most 100"),
    (rec(subject_name=7), "subject_name", "expected text"),
    (b'{"subject": "x",', "line", "not valid JSON"),
    (b"[1, 2]", "line", "expected a JSON object"),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD_LINES)
def test_each_kind_of_bad_line_is_reported_with_its_number(
    tmp_path: Path,
    ledger: Ledger,
    registry_catalog: Loaded,
    line: Any,
    field: str,
    message: str,
) -> None:
    path = jsonl(tmp_path / "in.jsonl", [rec(1), rec(2), line, rec(4)])
    with pytest.raises(ImportRejected) as caught:
        run(ledger, path, registry_catalog)
    problems = caught.value.problems
    assert [(n, f) for n, f, _ in problems] == [(3, field)], problems
    assert message in problems[0][2]
    assert ledger.count_records() == 0


def test_every_bad_line_is_reported_and_nothing_written(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    run(ledger, jsonl(tmp_path / "first.jsonl", [rec(100)]), registry_catalog)
    before = ledger.count_records()
    lines = [rec(i) for i in range(10)]
    lines[2] = rec(2, subject="123")
    lines[6] = rec(6, authority="city", decided_on="tomorrow")
    path = jsonl(tmp_path / "in.jsonl", lines)
    with pytest.raises(ImportRejected) as caught:
        run(ledger, path, registry_catalog)
    assert [(n, f) for n, f, _ in caught.value.problems] == [
        (3, "subject"),
        (7, "authority"),
        (7, "decided_on"),
    ]
    assert ledger.count_records() == before
    assert "line 3: subject:" in str(caught.value)


def test_duplicate_key_in_one_file(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    same = jsonl(tmp_path / "same.jsonl", [rec(1), rec(1)])
    assert run(ledger, same, registry_catalog).imported == 1
    other = jsonl(tmp_path / "other.jsonl", [rec(5), rec(5, decision_ref="changed")])
    with pytest.raises(ImportRejected) as caught:
        run(ledger, other, registry_catalog)
    assert caught.value.problems[0][:2] == (2, "client_key")
    assert "line 1" in caught.value.problems[0][2]
    assert ledger.count_records() == 1


def test_key_reused_with_other_content_names_the_line(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    run(ledger, jsonl(tmp_path / "a.jsonl", [rec(1), rec(2)]), registry_catalog)
    changed = jsonl(tmp_path / "b.jsonl", [rec(3), rec(2, decided_on="2024-01-11")])
    with pytest.raises(ImportRejected) as caught:
        run(ledger, changed, registry_catalog)
    assert caught.value.problems[0][:2] == (2, "client_key")
    assert ledger.count_records() == 2


def test_reimport_is_idempotent(tmp_path: Path, ledger: Ledger, registry_catalog: Loaded) -> None:
    path = jsonl(tmp_path / "in.jsonl", [rec(i) for i in range(20)])
    first = run(ledger, path, registry_catalog)
    second = run(ledger, path, registry_catalog)
    assert (first.imported, first.skipped) == (20, 0)
    assert (second.imported, second.skipped) == (0, 20)
    assert ledger.count_records() == 20


def test_blank_lines_are_ignored(tmp_path: Path, ledger: Ledger, registry_catalog: Loaded) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(orjson.dumps(rec(1)) + b"\n\n  \n" + orjson.dumps(rec(2)) + b"\r\n")
    assert run(ledger, path, registry_catalog).imported == 2


def test_import_refreshes_projection_including_roles(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    role = rec(1, record_type="samr.legal_rep", authority="samr", counterpart=ORG)
    run(ledger, jsonl(tmp_path / "a.jsonl", [role]), registry_catalog)
    assert ledger.active_measures(PERSON) == []
    run(ledger, jsonl(tmp_path / "b.jsonl", [rec(2, subject=ORG)]), registry_catalog)
    assert [m.measure for m in ledger.active_measures(PERSON)] == ["restrict.flight"]
    assert [m.measure for m in ledger.active_measures(ORG)] == ["restrict.flight"]


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_and_jsonl_import_the_same_records(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    rows = [rec(i) for i in range(5)]
    rows.append(rec(9, record_type="samr.legal_rep", authority="samr", counterpart=ORG))
    from_csv, _, _ = parse_file(
        to_csv(tmp_path / "in.csv", rows), catalog=registry_catalog, as_of=AS_OF
    )
    from_jsonl, _, _ = parse_file(
        jsonl(tmp_path / "in.jsonl", rows), catalog=registry_catalog, as_of=AS_OF
    )
    assert from_csv == from_jsonl
    assert run(ledger, tmp_path / "in.csv", registry_catalog).imported == 6
    assert run(ledger, tmp_path / "in.jsonl", registry_catalog).skipped == 6


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_names_given_in_the_file_are_published_with_the_records(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded, suffix: str
) -> None:
    rows = [rec(0, subject_name="  Zhang   San "), rec(1, subject=OTHER), rec(2)]
    path = tmp_path / f"in{suffix}"
    (jsonl if suffix == ".jsonl" else to_csv)(path, rows)
    assert run(ledger, path, registry_catalog).imported == 3
    debtors = [(PERSON, "debtors"), (OTHER, "debtors")]
    assert ledger.names(debtors) == {(PERSON, "debtors"): "Zhang San"}  # OTHER: none given
    rows = [rec(3, subject_name="Zhang San (renamed)"), rec(4, subject_name="bad\x01")]
    with pytest.raises(ImportRejected) as caught:
        run(ledger, (jsonl if suffix == ".jsonl" else to_csv)(path, rows), registry_catalog)
    assert [(p[0], p[1]) for p in caught.value.problems] == [(2 + (suffix == ".csv"),
                                                            "subject_name")]  # fmt: skip
    assert ledger.names(debtors) == {(PERSON, "debtors"): "Zhang San"}  # nothing written


def test_csv_bad_rows_are_reported_by_physical_line(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    rows = [rec(1), rec(2, subject="nope"), rec(3)]
    path = to_csv(tmp_path / "in.csv", rows)
    with path.open("a", encoding="utf-8") as f:
        f.write("only,three,cells\n")
    with pytest.raises(ImportRejected) as caught:
        run(ledger, path, registry_catalog)
    assert [(n, f) for n, f, _ in caught.value.problems] == [(3, "subject"), (5, "line")]
    assert ledger.count_records() == 0


def test_csv_header_problems(tmp_path: Path, ledger: Ledger, registry_catalog: Loaded) -> None:
    path = tmp_path / "in.csv"
    path.write_text("subject,record_type,authority,decided,decision_ref\nx,y,z,w,v\n")
    with pytest.raises(ImportRejected) as caught:
        run(ledger, path, registry_catalog)
    assert [(n, f) for n, f, _ in caught.value.problems] == [(1, "decided"), (1, "decided_on")]
    path.write_text("subject,record_type,authority,decided_on,,decision_ref\nx,y,z,w,,v\n")
    with pytest.raises(ImportRejected) as caught:
        run(ledger, path, registry_catalog)
    assert caught.value.problems == [(1, "column 5", "no name")]
    # old Mac line ends: the file is one line to a reader of lines; said so, not "no records"
    path.write_bytes(to_csv(tmp_path / "lf.csv", [rec(1)]).read_bytes().replace(b"\n", b"\r"))
    with pytest.raises(ImportRejected) as caught:
        run(ledger, path, registry_catalog)
    assert [(n, f) for n, f, _ in caught.value.problems] == [(1, "line")]
    assert "carriage return alone" in caught.value.problems[0][2]
    assert ledger.count_records() == 0


def test_csv_optional_columns_may_be_left_out(
    tmp_path: Path, ledger: Ledger, registry_catalog: Loaded
) -> None:
    rows = [{k: v for k, v in rec(i).items() if k != "client_key"} for i in range(3)]
    fields = ("subject", "record_type", "authority", "decided_on", "decision_ref")
    path = to_csv(tmp_path / "in.csv", rows, fields)
    assert run(ledger, path, registry_catalog).imported == 3
    assert run(ledger, path, registry_catalog).imported == 3  # no key: no idempotency


# --------------------------------------------------------------------------------------------
# Garbage


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "holds no records"),
        ("blank.jsonl", b"\n\n", "holds no records"),
        ("binary.jsonl", b"\x00\x01\x02\xff" * 100, "binary"),
        ("binary.csv", bytes(range(256)) * 10, "binary"),
        ("latin1.csv", "subject\nM\xfcller\n".encode("latin-1"), "not UTF-8"),
        ("records.txt", b"{}", "--format"),
    ],
)
def test_garbage_files_are_input_errors(
    tmp_path: Path,
    ledger: Ledger,
    registry_catalog: Loaded,
    name: str,
    content: bytes,
    message: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        run(ledger, path, registry_catalog)
    assert ledger.count_records() == 0


def test_missing_file(tmp_path: Path, ledger: Ledger, registry_catalog: Loaded) -> None:
    with pytest.raises(InputError, match="no such file"):
        run(ledger, tmp_path / "nope.jsonl", registry_catalog)
    with pytest.raises(InputError, match="directory"):
        run(ledger, tmp_path, registry_catalog, fmt="jsonl")


# --------------------------------------------------------------------------------------------
# CLI


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def _activate(capsys: pytest.CaptureFixture[str], db: str) -> None:
    """The test catalog in force, as an operator puts a custom catalog in force."""
    code, _, err = cli(capsys, "catalog", "activate", str(DATA / "registry.toml"), "--from",
                       "1949-10-01", "--db", db)  # fmt: skip
    assert code == 0, err


def _init(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert cli(capsys, "db", "init", "--no-catalogs", "--db", db)[0] == 0
    _activate(capsys, db)


def test_cli_db_init_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")
    code, out, _ = cli(capsys, "db", "init", "--no-catalogs", "--db", db)
    assert code == 0 and "database ready: sqlite:///" in out
    _activate(capsys, db)
    path = jsonl(tmp_path / "in.jsonl", [rec(i) for i in range(3)])
    args = ["--db", db, "--as-of", "2024-06-01"]
    code, out, err = cli(capsys, "records", "import", str(path), *args)
    assert code == 0, err
    assert "imported 3 record(s), skipped 0 already present" in out
    assert "records/s" in out
    code, out, _ = cli(capsys, "records", "import", str(path), *args)
    assert code == 0 and "imported 0 record(s), skipped 3" in out


def test_cli_reports_every_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")
    _init(capsys, db)
    path = jsonl(
        tmp_path / "in.jsonl", [rec(1), rec(2, subject="x"), b"garbage", rec(4, authority="z")]
    )
    args = ["--db", db, "--as-of", "2024-06-01"]
    code, out, err = cli(capsys, "records", "import", str(path), *args)
    assert code == 2
    assert "3 bad line(s), nothing imported" in err
    for expected in ("line 2: subject:", "line 3: line: not valid JSON", "line 4: authority:"):
        assert expected in err
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        ("missing.jsonl", None, [], "no such file"),
        ("empty.jsonl", b"", [], "holds no records"),
        ("binary.bin", b"\x00\xff" * 50, ["--format", "csv"], "binary"),
        ("data.xml", b"<x/>", [], "--format"),
        ("ok.jsonl", b"{}", ["--as-of", "yesterday"], "as-of"),
        ("ok.jsonl", b"{}", ["--dry-run", "--catalog", "no-such-catalog"], "no such catalog"),
        ("ok.jsonl", b"{}", ["--catalog", str(DATA / "registry.toml")], "dry runs only"),
    ],
)
def test_cli_garbage_never_shows_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    extra: list[str],
    message: str,
) -> None:
    db = str(tmp_path / "cli.db")
    _init(capsys, db)
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    args = ["--db", db, *extra]
    code, out, err = cli(capsys, "records", "import", str(path), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_cli_import_into_uninitialised_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = jsonl(tmp_path / "in.jsonl", [rec(1)])
    db = str(tmp_path / "fresh.db")
    args = ["--db", db, "--as-of", "2024-06-01"]
    code, _, err = cli(capsys, "records", "import", str(path), *args)
    assert code == 2
    assert "socialcredit db init" in err
