"""The API over real HTTP: roles, due process end to end, idempotency, all-or-nothing batches,
the audit trail of every read, and the check index kept current from the ledger."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date

import orjson
import pytest
import sqlalchemy as sa
from live import TODAY, Live, org_id, person_id

from socialcredit.registry.ledger import NewRecord

REFUSE = "court.dishonest_debtor.refuse_to_perform"

# every test here runs against SQLite and against a real PostgreSQL server
pytestmark = pytest.mark.parametrize(
    "live", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def keys(live: Live, subject: str) -> None:
    live.key("authority", "court", "court")
    live.key("authority", "samr", "samr")
    live.key("consumer", "transport", "airline")
    live.key("consumer", "financial", "bank")
    live.key("subject", subject, "person")
    live.key("admin", "ops", "admin")


def file(live: Live, subject: str, *, key: str = "k1", on: str = "2026-01-10") -> str:
    with live.client("court") as c:
        r = c.post(
            "/api/v1/records",
            json={"subject": subject, "record_type": REFUSE, "decided_on": on,
                  "decision_ref": "(2026) Jing 0101 Zhi 1", "client_key": key},
        )  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_each_role_gets_only_what_it_needs(live: Live) -> None:
    someone = person_id(1)
    keys(live, someone)
    rid = file(live, someone)
    with live.client() as anon:
        r = anon.get(f"/api/v1/checks/{someone}/restrict.flight")
        assert r.status_code == 401
        assert r.json()["error"]["field"] == "authorization"
    with live.client("airline") as c:
        r = c.get(f"/api/v1/checks/{someone}/restrict.flight")
        assert r.status_code == 200
        body = r.json()
        assert body["decision"] == "deny"
        assert body["reasons"][0]["code"] == "LISTED"
        assert body["reasons"][0]["list"] == "court.judgment_debtor"
        assert body["until"] is None  # no fixed term until performed (Fa Shi [2017] No. 7)
        assert "records" not in body and "record_type" not in str(body)
        # a consumer sees no profile and no record, and no measure outside its domain
        assert c.get("/api/v1/me/profile").status_code == 403
        r = c.get(f"/api/v1/checks/{someone}/restrict.star_hotel")
        assert r.status_code == 403 and r.json()["error"]["field"] == "measure"
        assert c.get(f"/api/v1/checks/{person_id(2)}/restrict.flight").json()["decision"] == "allow"
        r = c.get("/api/v1/checks/12345/restrict.flight")
        assert r.status_code == 422 and r.json()["error"]["field"] == "subject"
    with live.client("person") as c:
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").status_code == 403
        profile = c.get("/api/v1/me/profile").json()
        assert profile["subject"] == someone
        assert [r["id"] for r in profile["records"]] == [rid]
        # early deletion on correction, with no minimum (Fa Shi [2017] No. 7)
        assert profile["records"][0]["repairable_from"] == "2026-01-10"
    with live.client("samr") as c:  # outside its mandate
        outside = {"subject": someone, "record_type": REFUSE, "decided_on": "2026-01-10",
                   "decision_ref": "x"}  # fmt: skip
        r = c.post("/api/v1/records", json=outside)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["field"] == "authority"
    with live.client("court") as c:
        assert c.get("/api/v1/admin/catalogs").status_code == 403
    with live.client("admin") as c:
        assert c.get("/api/v1/admin/catalogs").json()["measures"] > 10
        assert c.get("/api/v1/admin/audit/verify").json()["intact"] is True


def test_objection_upheld_lifts_the_restriction_and_every_read_is_logged(live: Live) -> None:
    someone = person_id(3)
    keys(live, someone)
    rid = file(live, someone)
    with live.client("airline") as c:
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").json()["decision"] == "deny"
    with live.client("person") as c:
        r = c.post(f"/api/v1/me/records/{rid}/objection", json={"grounds": "Not my case"})
        assert r.status_code == 201, r.text
        assert r.json()["decide_by"] == "2026-06-16"  # 15 days (Fa Shi [2017] No. 7, Art. 12)
        again = c.post(f"/api/v1/me/records/{rid}/objection", json={"grounds": "again"})
        assert again.status_code == 409
    with live.client("court") as c:
        waiting = c.get("/api/v1/authority/pending").json()
        assert [(p["record_id"], p["kind"], p["grounds"]) for p in waiting] == [
            (rid, "objection", "Not my case")
        ]
        r = c.post(f"/api/v1/records/{rid}/objection/decision",
                   json={"upheld": True, "reason": "Wrong person"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert c.get("/api/v1/authority/pending").json() == []
    with live.client("airline") as c:
        r = c.get(f"/api/v1/checks/{someone}/restrict.flight", params={"purpose": "booking"})
        assert r.json()["decision"] == "allow"
    with live.client("person") as c:
        log = c.get("/api/v1/me/access-log").json()
        actions = [e["action"] for e in log]
        assert actions.count("check restrict.flight") == 2
        assert "profile" not in actions  # not read yet
        assert any(e["purpose"] == "booking" for e in log)
        status = c.get("/api/v1/me/profile").json()["records"][0]
        assert status["status"] == "objection_upheld"


def test_an_objection_filed_again_the_day_it_is_rejected_awaits_a_decision(live: Live) -> None:
    """The appeal is on the court's desk and decidable (not acknowledged and then lost); a
    decision takes a JSON boolean, nothing that looks like one."""
    someone = person_id(13)
    keys(live, someone)
    rid = file(live, someone)
    with live.client("person") as c:
        r = c.post(f"/api/v1/me/records/{rid}/objection", json={"grounds": "Paid"})
        assert r.status_code == 201, r.text
    with live.client("court") as c:
        for loose in ("yes", 1, 1.0, "true", None):
            r = c.post(f"/api/v1/records/{rid}/objection/decision",
                       json={"upheld": loose, "reason": "x"})  # fmt: skip
            assert r.status_code == 422 and r.json()["error"]["field"] == "upheld", (loose, r.text)
        r = c.post(f"/api/v1/records/{rid}/objection/decision",
                   json={"upheld": False, "reason": "No receipt"})  # fmt: skip
        assert r.status_code == 200, r.text
    with live.client("person") as c:
        r = c.post(f"/api/v1/me/records/{rid}/objection", json={"grounds": "Here is the receipt"})
        assert r.status_code == 201, r.text
        decide_by = r.json()["decide_by"]
        r = c.post(f"/api/v1/me/records/{rid}/repair", json={"commitment": "yes"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "commitment", r.text
    with live.client("court") as c:
        waiting = c.get("/api/v1/authority/pending").json()
        assert [(p["record_id"], p["grounds"], p["decide_by"]) for p in waiting] == [
            (rid, "Here is the receipt", decide_by)
        ]
        r = c.post(f"/api/v1/records/{rid}/objection/decision",
                   json={"upheld": True, "reason": "Receipt verified"})  # fmt: skip
        assert r.status_code == 200, r.text
    with live.client("airline") as c:
        assert c.get(f"/api/v1/checks/{someone}/restrict.flight").json()["decision"] == "allow"


def test_the_administrator_sees_decisions_owed_past_their_deadline(live: Live) -> None:
    someone = person_id(8)
    keys(live, someone)
    rid = file(live, someone)
    with live.client("person") as c:
        r = c.post(f"/api/v1/me/records/{rid}/objection", json={"grounds": "Paid"})
        assert r.status_code == 201 and r.json()["decide_by"] == "2026-06-16"
    with live.client("admin") as c:
        assert c.get("/api/v1/admin/overdue").json() == []  # within the deadline
    live.today[0] = date(2026, 6, 25)
    with live.client("court") as c:
        assert c.get("/api/v1/admin/overdue").status_code == 403
        (waiting,) = c.get("/api/v1/authority/pending").json()
        assert waiting["overdue"] is True and waiting["authority"] == "court"
    with live.client("admin") as c:
        (late,) = c.get("/api/v1/admin/overdue").json()
    assert (late["record_id"], late["kind"], late["authority"], late["subject"]) == (
        rid, "objection", "court", someone,
    )  # fmt: skip
    assert (late["decide_by"], late["days_overdue"]) == ("2026-06-16", 9)
    with live.client("person") as c:  # the subject sees who looked at their request
        log = c.get("/api/v1/me/access-log").json()
        assert [(e["actor"], e["action"]) for e in log if e["action"] == "overdue"] == [
            ("admin:ops", "overdue")
        ]
    with live.client("court") as c:
        r = c.post(f"/api/v1/records/{rid}/objection/decision",
                   json={"upheld": False, "reason": "Not paid"})  # fmt: skip
        assert r.status_code == 200, r.text
    with live.client("admin") as c:
        assert c.get("/api/v1/admin/overdue").json() == []  # decided, if late


def test_someone_elses_record_is_not_found(live: Live) -> None:
    someone = person_id(4)
    keys(live, someone)
    other = file(live, person_id(5))
    with live.client("person") as c:
        r = c.post(f"/api/v1/me/records/{other}/objection", json={"grounds": "x"})
        assert r.status_code == 404


def test_idempotent_by_client_key_and_batches_are_all_or_nothing(live: Live) -> None:
    keys(live, person_id(6))
    body = {"subject": person_id(6), "record_type": REFUSE, "decided_on": "2026-02-01",
            "decision_ref": "d", "client_key": "case-77"}  # fmt: skip
    with live.client("court") as c:
        first = c.post("/api/v1/records", json=body)
        second = c.post("/api/v1/records", json=body)
        assert first.status_code == 201 and second.status_code == 200
        assert first.json()["id"] == second.json()["id"] and second.json()["created"] is False
        clash = c.post("/api/v1/records", json=body | {"decided_on": "2026-02-02"})
        assert clash.status_code == 409
        before = live.ledger.count_records()
        batch = [
            {
                "subject": person_id(7),
                "record_type": REFUSE,
                "decided_on": "2026-02-01",
                "decision_ref": "a",
            },
            {
                "subject": "110101195001010000",
                "record_type": REFUSE,
                "decided_on": "2026-02-01",
                "decision_ref": "b",
            },
            {
                "subject": person_id(8),
                "record_type": REFUSE,
                "decided_on": "2027-01-01",
                "decision_ref": "c",
            },
        ]
        r = c.post("/api/v1/records/batch", json={"records": batch})
        assert r.status_code == 422
        problems = r.json()["error"]["problems"]
        assert [(p["record"], p["field"]) for p in problems] == [(2, "subject"), (3, "decided_on")]
        assert live.ledger.count_records() == before
        good = c.post("/api/v1/records/batch", json={"records": batch[:1]})
        assert good.status_code == 201
        assert live.ledger.count_records() == before + 1
        r = c.post("/api/v1/records", json=body | {"decided_on": "1 Feb", "client_key": "z"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "decided_on"
        r = c.post("/api/v1/records", json={"subject": person_id(6)})
        assert r.status_code == 422 and r.json()["error"]["field"] == "record_type"


def test_company_listing_restricts_its_legal_representative(live: Live) -> None:
    company, boss = org_id(11), person_id(12)
    keys(live, boss)
    with live.client("samr") as c:
        r = c.post("/api/v1/records", json={"subject": boss, "record_type":
                   "samr.legal_representative", "decided_on": "2025-01-01",
                   "decision_ref": "reg", "counterpart": company})  # fmt: skip
        assert r.status_code == 201, r.text
    file(live, company)
    with live.client("airline") as c:
        r = c.get(f"/api/v1/checks/{boss}/restrict.flight").json()
        assert r["decision"] == "deny"
        # the reason says the role it comes through: he is not on the list himself
        assert [x.get("via_role") for x in r["reasons"]] == ["legal_representative"], r
        route = c.get(f"/api/v1/checks/%3{boss[0]}{boss[1:]}/restrict.flight").json()
        assert route == r  # the route answers alike
        own = c.get(f"/api/v1/checks/{company}/restrict.flight").json()
        assert own["decision"] == "deny" and "via_role" not in own["reasons"][0], own
    from socialcredit.registry.evaluate import check, evaluate

    profile = evaluate(live.ledger.facts(boss), live.catalog, TODAY, subject=boss)
    reasons = check(profile, "restrict.flight", live.catalog).reasons
    assert r["reasons"] == orjson.loads(orjson.dumps(list(reasons)))  # as the CLI says it


def test_writes_made_elsewhere_reach_the_check_index(live: Live) -> None:
    someone = person_id(20)
    keys(live, someone)
    live.ledger.submit(
        [NewRecord(someone, REFUSE, "court", date(2026, 3, 1), "ref")],
        catalog=live.catalog, today=TODAY, actor="another process",
    )  # fmt: skip
    deadline = time.monotonic() + 5
    with live.client("airline") as c:
        while True:
            decision = c.get(f"/api/v1/checks/{someone}/restrict.flight").json()["decision"]
            if decision == "deny" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert decision == "deny"


def test_a_tampered_audit_log_is_detected(live: Live) -> None:
    someone = person_id(30)
    keys(live, someone)
    file(live, someone)
    with live.client("airline") as c:
        c.get(f"/api/v1/checks/{someone}/restrict.flight")
    with live.client("admin") as c:
        assert c.get("/api/v1/admin/audit/verify").json()["intact"] is True
    engine = sa.create_engine(live.ledger.url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 2"))
    engine.dispose()
    with live.client("admin") as c:
        r = c.get("/api/v1/admin/audit/verify")
        assert r.status_code == 409 and "seq 2" in r.json()["problem"]
    cli = subprocess.run(
        [sys.executable, "-m", "socialcredit", "audit", "verify", "--db", live.ledger.url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cli.returncode == 2 and "seq 2" in cli.stderr


def test_public_lists_show_the_published_name_and_refuse_a_bad_one(live: Live) -> None:
    named, unnamed, bad = person_id(41), person_id(42), person_id(43)
    keys(live, named)
    with live.client("court") as c:
        body = {"record_type": REFUSE, "decided_on": "2026-01-10", "decision_ref": "(2026) 7"}
        r = c.post("/api/v1/records",
                   json={**body, "subject": named, "subject_name": "  Zhang   San "})  # fmt: skip
        assert r.status_code == 201, r.text
        assert c.post("/api/v1/records", json={**body, "subject": unnamed}).status_code == 201
        for name in ("x" * 101, "Li\x07Si"):
            record = {**body, "subject": bad, "subject_name": name}
            r = c.post("/api/v1/records/batch", json={"records": [record]})
            assert r.status_code == 422, r.text
            assert "subject_name" in r.text
    with live.client() as anon:
        r = anon.get("/api/v1/public/lists")
        assert r.status_code == 200, r.text
        by_id = {e["subject"]: e for e in r.json()}
    assert by_id[named]["name"] == "Zhang San"
    assert by_id[unnamed]["name"] is None
    assert bad not in by_id  # nothing of the refused batches was written
    assert by_id[named]["until"] is None  # listed until performed
