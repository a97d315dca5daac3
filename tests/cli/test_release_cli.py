"""``socialcredit release apply|decide``: a replaced legal representative of a unit on the
court's list applies for the catalog's release from the command line, the court decides it, and
the check stops denying him a flight from the decision's date; an application nothing reaches
is refused with the workflow's reason and writes nothing. A real SQLite file, the bundled
catalogs, the ``socialcredit`` entry point in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from entry import run

COMPANY = "91110000600037341L"
OFFICER = "11010519491231002X"
STRANGER = "34052419800101001X"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "registry.db"
    assert run("db", "init", db=path).returncode == 0
    lines = tmp_path / "records.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in [
        {"subject": COMPANY, "record_type": "court.dishonest_debtor.refuse_to_perform",
         "authority": "court", "decided_on": "2026-01-05", "decision_ref": "(2026) 1",
         "client_key": "case-1"},
        {"subject": OFFICER, "record_type": "samr.legal_representative", "authority": "samr",
         "decided_on": "2025-05-01", "decision_ref": "reg 1", "counterpart": COMPANY,
         "client_key": "role-1"},
    ]))  # fmt: skip
    imported = run("records", "import", str(lines), db=path)
    assert imported.returncode == 0, imported.stderr
    return path


def flight(db: Path, on: str) -> str:
    result = run("check", OFFICER, "restrict.flight", "--as-of", on, "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["decision"])


def records(db: Path, subject: str) -> int:
    result = run("profile", subject, "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    return len(json.loads(result.stdout)["records"])


def test_a_replaced_representative_is_released_from_the_command_line(db: Path) -> None:
    assert flight(db, "2026-05-15") == "deny"  # reached through his role in the unit
    applied = run("release", "apply", "court.replaced_representative", "--by", OFFICER,
                  "--organisation", COMPANY, "--reference", "(2026) 7", "--on", "2026-05-10",
                  "--format", "json", db=db)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    pending = json.loads(applied.stdout)
    assert pending["kind"] == "release" and pending["authority"] == "court"
    assert pending["decide_by"] == "2026-05-25"
    again = run("release", "apply", "court.replaced_representative", "--by", OFFICER,
                "--organisation", COMPANY, "--reference", "(2026) 8", "--on", "2026-05-11",
                db=db)  # fmt: skip
    assert again.returncode != 0 and "awaiting a decision" in again.stderr
    wrong = run("release", "decide", pending["record"], "--authority", "samr", "--grant",
                "--reason", "x", "--on", "2026-05-20", db=db)  # fmt: skip
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    granted = run("release", "decide", pending["record"], "--authority", "court", "--grant",
                  "--reason", "(2026) 7 ruling", "--on", "2026-05-20", db=db)  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert "release granted" in granted.stdout and "2026-05-20" in granted.stdout
    assert flight(db, "2026-05-19") == "deny"
    assert flight(db, "2026-05-21") == "allow"


def test_an_application_nothing_reaches_is_refused_and_writes_nothing(db: Path) -> None:
    before = records(db, STRANGER)
    refused = run("release", "apply", "court.replaced_representative", "--by", STRANGER,
                  "--organisation", COMPANY, "--reference", "(2026) 9", "--on", "2026-05-10",
                  db=db)  # fmt: skip
    assert refused.returncode != 0
    assert "nothing release court.replaced_representative" in refused.stderr
    assert "Traceback" not in refused.stderr
    bad = run("release", "apply", "court.replaced_representative", "--by", OFFICER,
              "--organisation", "not an id", "--reference", "x", db=db)  # fmt: skip
    assert bad.returncode != 0 and "organisation" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert records(db, STRANGER) == before
