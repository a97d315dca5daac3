"""The catalogs in force, stored in the registry, as an operator uses them: ``db init``, then
``socialcredit catalog activate`` once, and every later command (import, profile, check, keys,
the server) runs the custom catalog without being told; retirement, the history and the
audit entries; a catalog with checker errors refused by name. Real SQLite files, the
``socialcredit`` entry point in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
from entry import EXE, run

from socialcredit.registry.ledger import Ledger

PERSON = "34052419800101001X"
CUSTOM = Path(__file__).parents[1] / "data" / "registry.toml"


def records(path: Path, *lines: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_custom_catalog_activated_once_is_run_by_every_command(tmp_path: Path) -> None:
    db = tmp_path / "custom.db"
    assert run("db", "init", "--no-catalogs", db=db).returncode == 0
    done = run("catalog", "activate", str(CUSTOM), "--from", "2020-01-01", db=db)
    assert done.returncode == 0, done.stderr
    assert "registry-test" in done.stdout
    # no --catalog anywhere from here on
    fee = {"subject": PERSON, "record_type": "court.refuse", "authority": "court",
           "decided_on": "2024-01-10", "decision_ref": "(2024) Zhi 1",
           "client_key": "r1"}  # fmt: skip
    done = run("records", "import", str(records(tmp_path / "a.jsonl", fee)), "--as-of",
               "2024-06-01", db=db)  # fmt: skip
    assert done.returncode == 0, done.stderr
    profile = run("profile", PERSON, "--as-of", "2024-06-01", "--format", "json", db=db)
    assert profile.returncode == 0, profile.stderr
    shown = json.loads(profile.stdout)
    assert [m["list"] for m in shown["lists"]] == ["debtors"]
    assert "unknown_type" not in profile.stdout
    check = run("check", PERSON, "restrict.flight", "--as-of", "2024-06-01", "--format", "json",
                db=db)  # fmt: skip
    assert json.loads(check.stdout)["decision"] == "deny"
    # keys for the custom catalog's authority and measure domain
    assert run("keys", "create", "--role", "authority", "--principal", "city",
               db=db).returncode == 0  # fmt: skip
    refused = run("keys", "create", "--role", "authority", "--principal", "lenders", db=db)
    assert refused.returncode != 0 and "principal" in refused.stderr
    # a record of a type not in force is refused at filing, naming it
    bundled = fee | {"record_type": "court.dishonest_debtor.refuse_to_perform",
                     "client_key": "r2"}  # fmt: skip
    done = run("records", "import", str(records(tmp_path / "b.jsonl", bundled)), "--as-of",
               "2024-06-01", db=db)  # fmt: skip
    assert done.returncode != 0
    assert "record_type" in done.stderr and "court.dishonest_debtor.refuse_to_perform" in (
        done.stderr)  # fmt: skip
    # the history and the audit log name who activated what
    history = json.loads(run("catalog", "history", "--format", "json", db=db).stdout)
    assert [(h["catalog"], h["source"], h["in_force_from"]) for h in history] == [
        ("registry-test", "registry.toml", "2020-01-01")]  # fmt: skip
    assert _audit_actions(db) == ["catalog.activate"]
    with Ledger.open(f"sqlite:///{db}") as ledger:
        assert ledger.verify_audit()


def test_retiring_and_activating_a_version_and_the_audit_entries(tmp_path: Path) -> None:
    db = tmp_path / "versions.db"
    assert run("db", "init", "--no-catalogs", db=db).returncode == 0
    assert run("catalog", "activate", str(CUSTOM), "--from", "2020-01-01", db=db).returncode == 0
    # another version of the same catalog cannot be in force beside it
    again = run("catalog", "activate", str(CUSTOM), "--from", "2021-01-01", db=db)
    assert again.returncode != 0 and "in force already" in again.stderr
    bad = run("catalog", "retire", "1", "--from", "2019-01-01", db=db)
    assert bad.returncode != 0 and "from" in bad.stderr
    assert run("catalog", "retire", "1", "--from", "2025-01-01", db=db).returncode == 0
    on_2024 = json.loads(run("catalog", "list", "--on", "2024-06-01", "--format", "json",
                             db=db).stdout)  # fmt: skip
    on_2025 = json.loads(run("catalog", "list", "--on", "2025-06-01", "--format", "json",
                             db=db).stdout)  # fmt: skip
    assert [v["id"] for v in on_2024] == [1] and on_2025 == []
    profile = run("profile", PERSON, "--as-of", "2025-06-01", db=db)
    assert profile.returncode != 0 and "no catalog is in force on 2025-06-01" in profile.stderr
    assert _audit_actions(db) == ["catalog.activate", "catalog.retire"]


def _custom_with_a_debtor(db: Path, tmp_path: Path) -> None:
    """A registry with only the custom catalog in force, and PERSON on its list."""
    assert run("db", "init", "--no-catalogs", db=db).returncode == 0
    assert run("catalog", "activate", str(CUSTOM), "--from", "2020-01-01", db=db).returncode == 0
    fee = {"subject": PERSON, "record_type": "court.refuse", "authority": "court",
           "decided_on": "2024-01-10", "decision_ref": "(2024) Zhi 1"}  # fmt: skip
    assert run("records", "import", str(records(tmp_path / "a.jsonl", fee)), "--as-of",
               "2024-06-01", db=db).returncode == 0  # fmt: skip


def test_a_new_version_re_projects_every_subject_without_a_new_filing(tmp_path: Path) -> None:
    """Version 2 of the custom catalog drops the memorandum that restricted the list's debtors:
    once it is in force, the projection the check path reads no longer holds the measure,
    though nothing was filed, and the re-projection is audited for the subject."""
    db = tmp_path / "v2.db"
    _custom_with_a_debtor(db, tmp_path)
    with Ledger.open(f"sqlite:///{db}") as ledger:
        assert [m.measure for m in ledger.active_measures(PERSON)] == ["restrict.flight"]
    text = CUSTOM.read_text(encoding="utf-8")
    v2 = tmp_path / "registry.toml"
    v2.write_text(text.replace('version = "1"', 'version = "2"')
                  [: text.index("[[memoranda]]")], encoding="utf-8")  # fmt: skip
    retired = run("catalog", "retire", "1", "--from", "2024-07-01", db=db)
    assert retired.returncode == 0 and "no catalog is in force today" in retired.stdout
    done = run("catalog", "activate", str(v2), "--from", "2024-07-01", db=db)
    assert done.returncode == 0, done.stderr
    assert "projection recomputed for 1 subject" in done.stdout
    with Ledger.open(f"sqlite:///{db}") as ledger:
        assert ledger.active_measures(PERSON) == []
        assert [e.action for e in ledger.access_log(PERSON)
                if e.action == "records.reproject"] == ["records.reproject"]  # fmt: skip
        assert ledger.verify_audit()


def test_a_version_narrowing_a_record_types_kinds_is_refused_while_records_hold_them(
    tmp_path: Path,
) -> None:
    """Version 2 makes ``court.refuse`` about organisations only, but the registry holds a
    record of it about a person: refused by name (the field and the count), nothing written;
    in a registry without such records the same version is activated."""
    db = tmp_path / "narrowed.db"
    _custom_with_a_debtor(db, tmp_path)
    text = CUSTOM.read_text(encoding="utf-8")
    v2 = tmp_path / "registry.toml"
    v2.write_text(text.replace('version = "1"', 'version = "2"').replace(
        'code = "court.refuse"\n', 'code = "court.refuse"\nsubject_kinds = ["organisation"]\n'),
        encoding="utf-8")  # fmt: skip
    assert run("catalog", "retire", "1", "--from", "2024-07-01", db=db).returncode == 0
    refused = run("catalog", "activate", str(v2), "--from", "2024-07-01", db=db)
    assert refused.returncode != 0
    assert "record_types.court.refuse.subject_kinds" in refused.stderr
    assert "1 record(s) of it about a person" in refused.stderr
    assert _audit_actions(db)[-1] == "catalog.retire"
    assert len(json.loads(run("catalog", "history", "--format", "json", db=db).stdout)) == 1
    empty = tmp_path / "empty.db"
    assert run("db", "init", "--no-catalogs", db=empty).returncode == 0
    done = run("catalog", "activate", str(v2), "--from", "2024-07-01", db=empty)
    assert done.returncode == 0, done.stderr


def test_db_init_puts_the_bundled_set_in_force_and_refuses_a_catalog_with_errors(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bundled.db"
    done = run("db", "init", db=db)
    assert done.returncode == 0 and "court-dishonest-debtors" in done.stdout
    listed = json.loads(run("catalog", "list", "--format", "json", db=db).stdout)
    assert {v["source"] for v in listed} >= {"cn-common", "court-dishonest-debtors"}
    assert all(v["bundled"] and v["in_force_from"] == "1949-10-01" for v in listed)
    refused = run("catalog", "activate", "unified-score", "--from", "2024-01-01", db=db)
    assert refused.returncode != 0 and "SC001" in refused.stderr
    assert len(json.loads(run("catalog", "history", "--format", "json", db=db).stdout)) == len(
        listed)  # fmt: skip
    # a second init changes nothing
    assert run("db", "init", db=db).returncode == 0
    assert len(json.loads(run("catalog", "list", "--format", "json", db=db).stdout)) == len(
        listed)  # fmt: skip


def test_the_server_runs_the_catalogs_in_force(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    _custom_with_a_debtor(db, tmp_path)
    token = run("keys", "create", "--role", "consumer", "--principal", "transport",
                db=db).stdout.strip()  # fmt: skip
    port = _free_port()
    env = {**os.environ, "SOCIALCREDIT_DB": f"sqlite:///{db}"}
    server = subprocess.Popen([*EXE, "serve", "--port", str(port), "--today", "2024-06-01"],
                              env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "the server exited"
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/checks/{PERSON}/restrict.flight",
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert r.status_code == 200, r.text
        assert r.json()["decision"] == "deny"
    finally:
        server.terminate()
        server.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _audit_actions(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT action FROM audit_log WHERE action LIKE 'catalog.%' "
                            "ORDER BY seq").fetchall()  # fmt: skip
    finally:
        conn.close()
    return [r[0] for r in rows]
