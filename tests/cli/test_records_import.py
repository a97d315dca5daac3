"""``socialcredit records import --jobs N`` and ``--dry-run``: the number of parse workers is
checked (at least one, the error names the option, nothing written) and reaches the import;
a dry run reads the file a chunk at a time (:func:`~socialcredit.registry.importing.check_file`)
in this process or in worker processes, reports every bad line, and writes nothing. The
``socialcredit`` entry point in this process, over real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from entry import Capture, cli, written

from socialcredit.registry import importing

DATA = Path(__file__).parents[1] / "data"
PERSON = "34052419800101001X"
AS_OF = ("--as-of", "2024-06-01")


def _registry(capsys: Capture, tmp_path: Path) -> str:
    db = str(tmp_path / "r.db")
    assert cli(capsys, "db", "init", "--no-catalogs", "--db", db)[0] == 0
    code, _, err = cli(capsys, "catalog", "activate", str(DATA / "registry.toml"), "--from",
                       "1949-10-01", "--db", db)  # fmt: skip
    assert code == 0, err
    return db


def _records(path: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    """``n`` lines of records; those numbered in ``bad`` (from 1) name an unknown authority."""
    lines = []
    for i in range(1, n + 1):
        lines.append(json.dumps({
            "subject": PERSON, "record_type": "court.refuse",
            "authority": "nobody" if i in bad else "court", "decided_on": "2024-01-10",
            "decision_ref": f"(2024) Zhi {i}", "client_key": f"k-{i}",
        }))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Chunks of a few lines, parsed by workers however small the file; the ``jobs`` each
    :class:`~socialcredit.registry.importing.RecordFile` was opened with."""
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    seen: list[int] = []
    opened = importing.RecordFile.__init__

    def spy(self: importing.RecordFile, *args: Any, **kw: Any) -> None:
        opened(self, *args, **kw)
        self.chunk_bytes = 500
        seen.append(self.jobs)

    monkeypatch.setattr(importing.RecordFile, "__init__", spy)
    return seen


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_below_one_is_refused_by_name(tmp_path: Path, capsys: Capture, jobs: str) -> None:
    db = _registry(capsys, tmp_path)
    before = written(db)
    path = _records(tmp_path / "in.jsonl", 5)
    for extra in ((), ("--dry-run",)):
        code, out, err = cli(capsys, "records", "import", str(path), "--jobs", jobs, *AS_OF,
                             "--db", db, *extra)  # fmt: skip
        assert code == 2, out + err
        assert "jobs" in err and f"at least 1 (got {jobs})" in err
        assert "Traceback" not in out + err
    assert written(db) == before


def test_jobs_not_a_number_is_refused(tmp_path: Path, capsys: Capture) -> None:
    db = _registry(capsys, tmp_path)
    path = _records(tmp_path / "in.jsonl", 5)
    code, out, err = cli(capsys, "records", "import", str(path), "--jobs", "two", "--db", db)
    assert code == 2 and "--jobs" in err
    assert written(db)[1] == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_jobs_reach_the_import(
    tmp_path: Path, capsys: Capture, small_chunks: list[int], jobs: int
) -> None:
    db = _registry(capsys, tmp_path)
    path = _records(tmp_path / "in.jsonl", 40)
    code, out, err = cli(capsys, "records", "import", str(path), "--jobs", str(jobs), *AS_OF,
                         "--db", db)  # fmt: skip
    assert code == 0, err
    assert "imported 40 record(s)" in out
    assert small_chunks == [jobs]
    assert written(db)[1] == 40


@pytest.mark.parametrize("jobs", [1, 2])
def test_dry_run_streams_and_writes_nothing(
    tmp_path: Path, capsys: Capture, small_chunks: list[int], jobs: int
) -> None:
    db = _registry(capsys, tmp_path)
    before = written(db)
    path = _records(tmp_path / "in.jsonl", 40)
    code, out, err = cli(capsys, "records", "import", str(path), "--dry-run", "--jobs",
                         str(jobs), *AS_OF, "--db", db)  # fmt: skip
    assert code == 0, err
    assert "dry run: 40 record(s) in in.jsonl pass" in out
    assert small_chunks == [jobs]
    assert written(db) == before


def test_dry_run_never_holds_the_parsed_file(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dry run counts the chunks' rows and lets them go: it never collects every record
    (what :func:`~socialcredit.registry.importing.parse_file` returns)."""

    def refused(*args: Any, **kw: Any) -> Any:
        raise AssertionError("a dry run collected every record")

    monkeypatch.setattr(importing, "Parsed", refused)
    db = _registry(capsys, tmp_path)
    path = _records(tmp_path / "in.jsonl", 7)
    code, out, err = cli(capsys, "records", "import", str(path), "--dry-run", *AS_OF, "--db", db)
    assert code == 0, err
    assert "dry run: 7 record(s)" in out


def test_dry_run_in_workers_reports_every_bad_line(
    tmp_path: Path, capsys: Capture, small_chunks: list[int]
) -> None:
    db = _registry(capsys, tmp_path)
    before = written(db)
    path = _records(tmp_path / "in.jsonl", 40, bad=(3, 17, 39))
    code, out, err = cli(capsys, "records", "import", str(path), "--dry-run", "--jobs", "2",
                         *AS_OF, "--db", db)  # fmt: skip
    assert code == 2, out + err
    assert "3 bad line(s); dry run, nothing imported" in err
    for n in (3, 17, 39):
        assert f"line {n}: authority:" in err
    assert written(db) == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_dry_run_refuses_a_key_the_file_gives_two_records_as_the_import_does(
    tmp_path: Path, capsys: Capture, small_chunks: list[int], jobs: int
) -> None:
    """A key given again for the same record is skipped by the import (the dry run passes
    it); given for a different record, the import refuses the file, and the dry run says so
    first, naming the same line."""
    db = _registry(capsys, tmp_path)
    lines = _records(tmp_path / "keys.jsonl", 5).read_text().splitlines()
    again = json.loads(lines[2])  # k-3 once more, the same record: skipped
    other = {**json.loads(lines[1]), "decision_ref": "(2024) Zhi 99"}  # k-2 for another record
    same = tmp_path / "same.jsonl"
    same.write_text("\n".join([*lines, json.dumps(again)]) + "\n")
    code, out, err = cli(capsys, "records", "import", str(same), "--dry-run", "--jobs",
                         str(jobs), *AS_OF, "--db", db)  # fmt: skip
    assert code == 0 and "dry run: 6 record(s)" in out, err
    clash = tmp_path / "clash.jsonl"
    clash.write_text("\n".join([*lines, json.dumps(again), json.dumps(other)]) + "\n")
    before = written(db)
    code, _, dry = cli(capsys, "records", "import", str(clash), "--dry-run", "--jobs",
                       str(jobs), *AS_OF, "--db", db)  # fmt: skip
    problem = "line 7: client_key: 'k-2' of 'court' is used on line 2 for a different record"
    assert code != 0 and problem in dry, dry
    code, _, real = cli(capsys, "records", "import", str(clash), "--jobs", str(jobs), *AS_OF,
                        "--db", db)  # fmt: skip
    assert code != 0 and problem in real, real
    assert written(db) == before


def test_the_text_profile_says_an_open_listing_lasts_until_its_condition_ends(
    tmp_path: Path, capsys: Capture
) -> None:
    """The court's list of a debtor who refuses to perform has no end day, and no score it
    lasts while: the text profile says so (it said "while the score stays")."""
    db = str(tmp_path / "bundled.db")
    assert cli(capsys, "db", "init", "--db", db)[0] == 0
    path = tmp_path / "debtor.jsonl"
    path.write_text(json.dumps({
        "subject": PERSON, "record_type": "court.dishonest_debtor.refuse_to_perform",
        "authority": "court", "decided_on": "2024-01-10", "decision_ref": "(2024) Zhi 1",
    }) + "\n")  # fmt: skip
    code, _, err = cli(capsys, "records", "import", str(path), *AS_OF, "--db", db)
    assert code == 0, err
    code, out, err = cli(capsys, "profile", PERSON, *AS_OF, "--db", db)
    assert code == 0, err
    lists = out[out.index("Lists") : out.index("Measures in force")]
    assert "condition" in lists and "score" not in lists, lists


def test_an_events_file_imported_twice_adds_nothing_and_no_event_precedes_its_record(
    tmp_path: Path, capsys: Capture
) -> None:
    db = _registry(capsys, tmp_path)
    code, _, err = cli(capsys, "records", "import", str(_records(tmp_path / "r.jsonl", 2)),
                       *AS_OF, "--db", db)  # fmt: skip
    assert code == 0, err
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps({"record": "k-1", "event": "fulfilled", "on": "2024-02-01"}) + "\n"
        + json.dumps({"record": "k-2", "event": "fulfilled", "on": "2024-03-01",
                      "note": "paid"}) + "\n"
    )  # fmt: skip
    code, out, err = cli(capsys, "records", "import", str(events), *AS_OF, "--db", db)
    assert code == 0 and "imported 2 lifecycle event(s) (" in out, err
    code, out, err = cli(capsys, "records", "import", str(events), *AS_OF, "--db", db)
    assert code == 0 and "imported 0 lifecycle event(s), 2 the records had already" in out, err
    before = written(db)
    early = tmp_path / "early.jsonl"
    early.write_text(json.dumps({"record": "k-1", "event": "revoked", "on": "2020-01-01"}) + "\n")
    code, _, err = cli(capsys, "records", "import", str(early), *AS_OF, "--db", db)
    assert code != 0 and "line 1: on: 2020-01-01 is before the decision date of record" in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (2,)
    assert written(db)[0] == before[0]  # no record or event written by the refused import


def test_an_events_file_takes_the_steps_of_due_process_in_their_order(
    tmp_path: Path, capsys: Capture
) -> None:
    """A decision in a file of events answers a request awaiting one, as through the
    workflows: an objection upheld that nobody filed, or a repair granted that nobody applied
    for, refuses the file by line, and nothing of it is written."""
    db = _registry(capsys, tmp_path)
    code, _, err = cli(capsys, "records", "import", str(_records(tmp_path / "r.jsonl", 2)),
                       *AS_OF, "--db", db)  # fmt: skip
    assert code == 0, err

    def events(path: Path, *lines: tuple[str, str, str]) -> Path:
        path.write_text("".join(json.dumps({"record": r, "event": e, "on": on}) + "\n"
                                for r, e, on in lines))  # fmt: skip
        return path

    before = written(db)
    skipped = events(tmp_path / "skipped.jsonl",
                     ("k-1", "fulfilled", "2024-02-01"),
                     ("k-1", "objection_upheld", "2024-02-02"),
                     ("k-2", "repair_granted", "2024-03-01"))  # fmt: skip
    code, _, err = cli(capsys, "records", "import", str(skipped), *AS_OF, "--db", db)
    assert code != 0, err
    assert "line 2: event: record 1 has no objection awaiting a decision" in err
    assert "line 3: event: record 2 has no repair application awaiting a decision" in err
    assert written(db) == before
    taken = events(tmp_path / "taken.jsonl",
                   ("k-1", "objection_filed", "2024-02-02"),
                   ("k-1", "objection_rejected", "2024-02-02"),
                   ("k-1", "objection_filed", "2024-02-02"),  # appealed the same day
                   ("k-1", "objection_upheld", "2024-02-10"))  # fmt: skip
    code, out, err = cli(capsys, "records", "import", str(taken), *AS_OF, "--db", db)
    assert code == 0 and "imported 4 lifecycle event(s) (" in out, err
    code, out, err = cli(capsys, "records", "import", str(taken), *AS_OF, "--db", db)
    assert code == 0 and "imported 0 lifecycle event(s), 4 the records had already" in out, err
    code, out, err = cli(capsys, "profile", PERSON, *AS_OF, "--db", db, "--format", "json")
    assert [r["status"] for r in json.loads(out)["records"]] == ["objection_upheld", "in_effect"]
