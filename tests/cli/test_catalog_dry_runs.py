"""``--catalog`` is for dry runs only, and the profile says why a record type stopped having
effect. A command that writes refuses ``--catalog`` by name and writes nothing; ``profile``,
``check`` and ``records import --dry-run`` run the catalogs given and say the result is under
catalogs not in force; a record whose type a later catalog version retired is shown as retired,
on which day and by which version. The ``socialcredit`` entry point in this process, over real
SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

from entry import Capture, cli, written

from socialcredit.registry.ledger import Ledger

PERSON = "34052419800101001X"
DATA = Path(__file__).parents[1] / "data"
CUSTOM = DATA / "registry.toml"
FEES = DATA / "court-fees.toml"
BUNDLED_TYPE = "court.dishonest_debtor.refuse_to_perform"


def _line(path: Path, record_type: str = "court.refuse", key: str = "r1") -> Path:
    line = {"subject": PERSON, "record_type": record_type, "authority": "court",
            "decided_on": "2024-01-10", "decision_ref": f"(2024) Zhi {key}",
            "client_key": key}  # fmt: skip
    path.write_text(json.dumps(line) + "\n")
    return path


def _custom_registry(capsys: Capture, tmp_path: Path) -> str:
    """Only the custom catalog in force from 2020, and one record of it about PERSON."""
    db = str(tmp_path / "custom.db")
    assert cli(capsys, "db", "init", "--no-catalogs", "--db", db)[0] == 0
    code, _, err = cli(capsys, "catalog", "activate", str(CUSTOM), "--from", "2020-01-01",
                       "--db", db)  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "records", "import", str(_line(tmp_path / "r1.jsonl")), "--as-of",
                       "2024-06-01", "--db", db)  # fmt: skip
    assert code == 0, err
    return db


def test_a_command_that_writes_refuses_catalog_by_name_and_writes_nothing(
    tmp_path: Path, capsys: Capture
) -> None:
    db = _custom_registry(capsys, tmp_path)
    before = written(db)
    new = str(_line(tmp_path / "r2.jsonl", key="r2"))
    writes = [
        ("records", "import", new, "--as-of", "2024-06-01"),
        ("records", "fulfil", "1", "--authority", "court"),
        ("records", "revoke", "1", "--authority", "court", "--reason", "wrong person"),
        ("objection", "file", "1", "--by", PERSON, "--grounds", "paid in full"),
        ("objection", "decide", "1", "--authority", "court", "--uphold", "--reason", "paid"),
        ("repair", "apply", "1", "--by", PERSON, "--commitment"),
        ("repair", "decide", "1", "--authority", "court", "--grant", "--reason", "repaired"),
    ]
    for args in writes:
        code, out, err = cli(capsys, *args, "--db", db, "--catalog", str(CUSTOM))
        assert code == 2, (args, out, err)
        assert "--catalog" in err and "catalog activate" in err, (args, err)
        assert "Traceback" not in out + err
    assert written(db) == before
    # the same import without --catalog runs the catalog in force
    code, out, err = cli(capsys, *writes[0], "--db", db)
    assert code == 0 and "imported 1 record(s)" in out, err


def test_an_import_dry_run_checks_every_line_and_writes_nothing(
    tmp_path: Path, capsys: Capture
) -> None:
    db = _custom_registry(capsys, tmp_path)
    before = written(db)
    new = str(_line(tmp_path / "r2.jsonl", key="r2"))
    code, out, err = cli(capsys, "records", "import", new, "--dry-run", "--as-of", "2024-06-01",
                         "--db", db)  # fmt: skip
    assert code == 0, err
    assert "1 record(s)" in out and "nothing written" in out and "NOT in force" not in out
    # under a catalog not in force: the custom type is unknown there, named, nothing written
    under = ("--dry-run", "--catalog", "court-dishonest-debtors", "--as-of", "2024-06-01")
    code, out, err = cli(capsys, "records", "import", new, *under, "--db", db)
    assert code == 2 and "record_type" in err and "court.refuse" in err and "NOT in force" in err
    bundled = str(_line(tmp_path / "r3.jsonl", BUNDLED_TYPE, key="r3"))
    code, out, err = cli(capsys, "records", "import", bundled, *under, "--db", db)
    assert code == 0, err
    assert "nothing written" in out
    assert "NOT in force: cn-common, court-dishonest-debtors (given with --catalog" in out
    # a file of lifecycle events cannot be checked without the registry's records: said
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"record": "r1", "event": "fulfilled", "on": "2024-05-01"}))
    code, _, err = cli(capsys, "records", "import", str(events), "--dry-run", "--db", db)
    assert code == 2 and "dry-run" in err
    assert written(db) == before


def test_profile_and_check_under_catalog_say_they_are_not_in_force(
    tmp_path: Path, capsys: Capture
) -> None:
    db = _custom_registry(capsys, tmp_path)
    on = ("--as-of", "2024-06-01", "--db", db)
    code, out, err = cli(capsys, "profile", PERSON, *on)
    assert code == 0 and "NOT in force" not in out + err
    code, out, err = cli(capsys, "profile", PERSON, *on, "--catalog", "court-dishonest-debtors")
    assert code == 0, err
    assert "dry run under catalogs NOT in force: cn-common, court-dishonest-debtors" in out
    code, out, err = cli(capsys, "profile", PERSON, *on, "--catalog", "court-dishonest-debtors",
                         "--format", "json")  # fmt: skip
    shown = json.loads(out)
    assert "NOT in force" in shown["not_in_force"]
    assert [r["status"] for r in shown["records"]] == ["unknown_type"]  # not retired: never in
    code, out, err = cli(capsys, "check", PERSON, "restrict.flight", *on, "--catalog",
                         str(CUSTOM), "--format", "json")  # fmt: skip
    assert code == 0, err
    decision = json.loads(out)
    assert decision["decision"] == "deny" and "registry-test" in decision["not_in_force"]
    code, out, err = cli(capsys, "check", PERSON, "restrict.flight", *on)
    assert code == 0 and "deny" in out and "NOT in force" not in out


def test_the_profile_says_when_and_by_which_version_a_record_type_was_retired(
    tmp_path: Path, capsys: Capture
) -> None:
    """Version 2 of the custom catalog drops the record type: from its first day the record has
    no effect, and the profile names the day and version 2; before it, the record is in effect."""
    db = _custom_registry(capsys, tmp_path)
    text = CUSTOM.read_text(encoding="utf-8")
    start = text.index('[[record_types]]\ncode = "court.refuse"')
    v2 = text[:start] + text[text.index('[[record_types]]\ncode = "city.late_fee"') :]
    v2 = v2[: v2.index("[[lists]]")] + v2[v2.index("[[measures]]") : v2.index("[[memoranda]]")]
    path = tmp_path / "registry.toml"
    path.write_text(v2.replace('version = "1"', 'version = "2"'), encoding="utf-8")
    assert cli(capsys, "catalog", "retire", "1", "--from", "2024-07-01", "--db", db)[0] == 0
    code, _, err = cli(capsys, "catalog", "activate", str(path), "--from", "2024-07-01",
                       "--db", db)  # fmt: skip
    assert code == 0, err
    why = "retired on 2024-07-01 by catalog registry-test v2 (v1 defined it)"
    code, out, err = cli(capsys, "profile", PERSON, "--as-of", "2024-08-01", "--format", "json",
                         "--db", db)  # fmt: skip
    assert code == 0, err
    [record] = json.loads(out)["records"]
    assert record["status"] == "retired"
    assert record["retired"] == {"on": "2024-07-01", "catalog": "registry-test", "version": "2",
                                 "retired_version": "1", "why": why}  # fmt: skip
    code, out, _ = cli(capsys, "profile", PERSON, "--as-of", "2024-08-01", "--db", db)
    assert f"record 1 (court.refuse): {why}; it has no effect from that day" in out
    code, out, _ = cli(capsys, "profile", PERSON, "--as-of", "2024-06-01", "--format", "json",
                       "--db", db)  # fmt: skip
    assert [r["status"] for r in json.loads(out)["records"]] == ["in_effect"]


def test_a_retirement_without_a_new_version_names_the_version_retired(
    tmp_path: Path, capsys: Capture
) -> None:
    db = str(tmp_path / "fees.db")
    assert cli(capsys, "db", "init", "--db", db)[0] == 0
    assert cli(capsys, "catalog", "activate", str(FEES), "--from", "2020-01-01", "--db", db)[0] == 0
    fee = _line(tmp_path / "fee.jsonl", "court.fee_arrears", key="fee")
    code, _, err = cli(capsys, "records", "import", str(fee), "--as-of", "2024-06-01", "--db", db)
    assert code == 0, err
    with Ledger.open(db) as ledger:
        [fees] = [v.id for v in ledger.catalog_versions() if v.catalog_id == "court-fees"]
    assert cli(capsys, "catalog", "retire", str(fees), "--from", "2024-07-01", "--db", db)[0] == 0
    code, out, err = cli(capsys, "profile", PERSON, "--as-of", "2024-08-01", "--format", "json",
                         "--db", db)  # fmt: skip
    assert code == 0, err
    [record] = json.loads(out)["records"]
    assert record["status"] == "retired"
    assert record["retired"]["why"] == "retired on 2024-07-01 by catalog court-fees v1"
