"""The registry commands end to end, as a user runs them: a real SQLite file, the bundled
catalogs, the installed ``socialcredit`` entry point in a subprocess."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from entry import run

PERSON = "34052419800101001X"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "registry.db"
    assert run("db", "init", db=path).returncode == 0
    decided = (date.today() - timedelta(days=30)).isoformat()
    lines = tmp_path_factory.mktemp("in") / "records.jsonl"
    lines.write_text(
        json.dumps(
            {
                "subject": PERSON,
                "record_type": "court.dishonest_debtor.refuse_to_perform",
                "authority": "court",
                "decided_on": decided,
                "decision_ref": "(2026) Jing 0101 Zhi 1",
                "client_key": "case-1",
            }
        )
        + "\n"
    )
    result = run("records", "import", str(lines), db=path)
    assert result.returncode == 0, result.stderr
    return path


def test_profile_json_has_the_documented_shape(db: Path) -> None:
    result = run("profile", PERSON, "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    profile = json.loads(result.stdout)
    assert {"subject", "as_of", "schemes", "lists", "measures", "records"} <= profile.keys()
    assert profile["subject"] == PERSON
    [listing] = [x for x in profile["lists"] if x["list"] == "court.judgment_debtor"]
    assert set(listing) >= {"list", "since", "until", "records"}
    flights = [m for m in profile["measures"] if m["measure"] == "restrict.flight"]
    assert flights and set(flights[0]) >= {"measure", "list", "memorandum", "until"}
    text = run("profile", PERSON, db=db)
    assert text.returncode == 0 and "judgment" in text.stdout


def test_check_then_objection_lifts_the_flight_ban(db: Path) -> None:
    denied = json.loads(run("check", PERSON, "restrict.flight", "--format", "json", db=db).stdout)
    assert denied["decision"] == "deny" and denied["reasons"]
    record_id = json.loads(run("profile", PERSON, "--format", "json", db=db).stdout)["records"][0][
        "id"
    ]
    filed = run("objection", "file", record_id, "--by", PERSON, "--grounds", "paid in full", db=db)
    assert filed.returncode == 0, filed.stderr
    wrong = run(
        "objection", "decide", record_id, "--authority", "samr", "--uphold", "--reason", "x", db=db
    )
    assert wrong.returncode != 0 and "only court" in wrong.stderr
    decided = run(
        "objection",
        "decide",
        record_id,
        "--authority",
        "court",
        "--uphold",
        "--reason",
        "receipt",
        db=db,
    )
    assert decided.returncode == 0, decided.stderr
    allowed = json.loads(run("check", PERSON, "restrict.flight", "--format", "json", db=db).stdout)
    assert allowed == {
        "decision": "allow",
        "measure": "restrict.flight",
        "until": None,
        "reasons": [],
    }
    # the reads were audited, with their purpose
    too_early = run("repair", "apply", record_id, "--by", PERSON, "--commitment", db=db)
    assert too_early.returncode != 0 and "objection upheld" in too_early.stderr


def test_valid_id_without_records_has_an_empty_profile(db: Path) -> None:
    result = run("profile", "11010119900307803X", "--format", "json", db=db)
    assert result.returncode == 0
    profile = json.loads(result.stdout)
    assert (profile["schemes"], profile["lists"], profile["measures"]) == ({}, [], [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("profile", "34052419800101001Y"), "'34052419800101001Y' is neither a valid resident ID"),
        (("profile", PERSON, "--as-of", "2021-13-01"), "as-of: '2021-13-01' is not a date"),
        (("check", PERSON, "restrict.flights"), "did you mean 'restrict.flight'"),
        (("objection", "file", "999999", "--by", PERSON, "--grounds", "x"), "999999"),
        (("profile", PERSON, "--catalog", "unified-score"), "SC0"),
    ],
)
def test_bad_input_is_a_clear_error_without_traceback(
    db: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(*args, db=db)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_uninitialised_database_is_a_clear_error(tmp_path: Path) -> None:
    result = run("profile", PERSON, db=tmp_path / "none.db")
    assert result.returncode != 0
    assert "socialcredit db init" in result.stderr
    assert "Traceback" not in result.stderr


def test_fulfilment_and_revocation_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    assert run("db", "init", db=path).returncode == 0
    lines = tmp_path / "records.jsonl"
    decided = (date.today() - timedelta(days=10)).isoformat()
    rows = [
        {
            "subject": PERSON,
            "record_type": "court.dishonest_debtor.refuse_to_perform",
            "authority": "court",
            "decided_on": decided,
            "decision_ref": f"case-{i}",
            "client_key": f"k{i}",
        }
        for i in (1, 2)
    ]
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run("records", "import", str(lines), db=path).returncode == 0
    ids = [
        r["id"]
        for r in json.loads(run("profile", PERSON, "--format", "json", db=path).stdout)["records"]
    ]
    assert run("records", "fulfil", ids[0], "--authority", "court", db=path).returncode == 0
    again = run("records", "fulfil", ids[0], "--authority", "court", db=path)
    assert again.returncode != 0 and "already" in again.stderr
    assert (
        json.loads(run("check", PERSON, "restrict.flight", "--format", "json", db=path).stdout)[
            "decision"
        ]
        == "deny"
    )
    revoked = run(
        "records", "revoke", ids[1], "--authority", "court", "--reason", "wrong party", db=path
    )
    assert revoked.returncode == 0, revoked.stderr
    assert (
        json.loads(run("check", PERSON, "restrict.flight", "--format", "json", db=path).stdout)[
            "decision"
        ]
        == "allow"
    )
    future = run("records", "import", str(lines), "--as-of", "2199-01-01", db=path)
    assert future.returncode != 0 and "as-of" in future.stderr and "Traceback" not in future.stderr


def test_subject_sees_every_access_and_the_chain_verifies(db: Path) -> None:
    assert (
        run("check", PERSON, "restrict.flight", "--purpose", "boarding at PEK", db=db).returncode
        == 0
    )
    log = json.loads(run("access-log", PERSON, "--format", "json", db=db).stdout)
    assert any(
        e["action"] == "check restrict.flight" and e["purpose"] == "boarding at PEK" for e in log
    )
    verified = run("db", "verify", db=db)
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_a_read_not_yet_in_the_chain_shows_no_number(tmp_path: Path) -> None:
    """A read whose audit entry is durable in the read journal but not yet chained (a
    serving registry moves its reads into the chain a moment after answering them) has no
    place in the chain yet: the access log shows it without a number, never as entry 0."""
    from socialcredit.registry.ledger import Ledger

    path = tmp_path / "registry.db"
    assert run("db", "init", db=path).returncode == 0
    with Ledger.open(f"sqlite:///{path}") as ledger:
        ledger.journal_reads([("consumer:k", "check restrict.flight", PERSON, "at the gate", None)])
        waiting = ledger.access_log(PERSON)
    assert [e.purpose for e in waiting] == ["at the gate"]  # journaled, not chained
    log = json.loads(run("access-log", PERSON, "--format", "json", db=path).stdout)
    gate = [e for e in log if e["purpose"] == "at the gate"]
    assert len(gate) == 1
    assert gate[0]["seq"] is None  # read before the command's own read is logged
    assert all(e["seq"] is None or e["seq"] > 0 for e in log)
    text = run("access-log", PERSON, db=path).stdout
    row = next(line for line in text.splitlines() if "at the gate" in line)
    assert row.split()[1] in {"-"} or int(row.split()[1]) > 0
