"""A release over the API: a replaced legal representative of a unit on the court's list
applies (``POST /me/releases``), the court sees the application among its pending decisions,
grants it (``POST /records/{id}/release/decision``), and the check path stops denying him a
flight; another authority cannot decide it, and an application nothing reaches is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
from live import Live, serve
from test_portal import session, signed

from socialcredit.policy.loader import Loaded

COMPANY = "91110000600037341L"
OFFICER = "11010519491231002X"
REPLACED = "court.replaced_representative"
REFUSE = "court.dishonest_debtor.refuse_to_perform"


def test_a_replaced_representative_is_released_over_the_api(live: Live) -> None:
    live.key("authority", "court", "court")
    live.key("authority", "samr", "samr")
    live.key("subject", OFFICER, "officer")
    live.key("consumer", "transport", "airline")
    live.key("admin", "registry", "admin")
    with live.client("court") as court, live.client("samr") as samr:
        filed = court.post("/api/v1/records", json={
            "subject": COMPANY, "record_type": REFUSE, "decided_on": "2026-01-05",
            "decision_ref": "(2026) 1"})  # fmt: skip
        assert filed.status_code == 201, filed.text
        role = samr.post("/api/v1/records", json={
            "subject": OFFICER, "record_type": "samr.legal_representative",
            "decided_on": "2025-05-01", "decision_ref": "reg 1",
            "counterpart": COMPANY})  # fmt: skip
        assert role.status_code == 201, role.text
    flight = f"/api/v1/checks/{OFFICER}/restrict.flight"
    with live.client("airline") as airline:
        assert airline.get(flight).json()["decision"] == "deny"  # reached through his role
    with live.client("officer") as officer:
        early = officer.post("/api/v1/me/releases", json={
            "release": REPLACED, "organisation": COMPANY, "reference": "(2026) 7",
            "on": "2025-12-01"})  # fmt: skip
        assert early.status_code == 409 and "nothing release" in early.json()["error"]["message"]
        applied = officer.post("/api/v1/me/releases", json={
            "release": REPLACED, "organisation": COMPANY, "reference": "(2026) 7",
            "on": "2026-05-10"})  # fmt: skip
        assert applied.status_code == 201, applied.text
        pending = applied.json()
        assert pending["kind"] == "release" and pending["decide_by"] == "2026-05-25"
        bad = officer.post("/api/v1/me/releases", json={
            "release": REPLACED, "organisation": "not an id", "reference": "x"})  # fmt: skip
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "organisation"
    application = pending["record_id"]
    with live.client("court") as court, live.client("samr") as samr:
        waiting = court.get("/api/v1/authority/pending").json()
        assert [(p["record_id"], p["kind"]) for p in waiting] == [(application, "release")]
        with live.client("admin") as admin:  # past its deadline (2026-05-25) on 2026-06-01
            late = admin.get("/api/v1/admin/overdue").json()
            assert [(p["record_id"], p["kind"], p["days_overdue"]) for p in late] == [
                (application, "release", 7)
            ]
        decision = {"granted": True, "reason": "(2026) 7 ruling", "on": "2026-05-20"}
        # another authority learns nothing of it, as for a record that does not exist
        other = samr.post(f"/api/v1/records/{application}/release/decision", json=decision)
        missing = samr.post("/api/v1/records/999999/release/decision", json=decision)
        assert other.status_code == missing.status_code == 404
        assert (
            other.json()["error"]["message"].replace(application, "999999")
            == (missing.json()["error"]["message"])
        )
        granted = court.post(f"/api/v1/records/{application}/release/decision", json=decision)
        assert granted.status_code == 201, granted.text
        assert granted.json()["decided_on"] == "2026-05-20"
        assert court.get("/api/v1/authority/pending").json() == []
    with live.client("airline") as airline:
        assert airline.get(flight).json()["decision"] == "allow"
        # the unit itself stays listed
        company = airline.get(f"/api/v1/checks/{COMPANY}/restrict.flight").json()
        assert company["decision"] == "deny"


def _listed_unit_and_officer(live: Live) -> str:
    """The unit on the court's list, its legal representative, and his application filed;
    returns the application's record id."""
    with live.client("court") as court, live.client("samr") as samr:
        assert court.post("/api/v1/records", json={
            "subject": COMPANY, "record_type": REFUSE, "decided_on": "2026-01-05",
            "decision_ref": "(2026) 1"}).status_code == 201  # fmt: skip
        assert samr.post("/api/v1/records", json={
            "subject": OFFICER, "record_type": "samr.legal_representative",
            "decided_on": "2025-05-01", "decision_ref": "reg 1",
            "counterpart": COMPANY}).status_code == 201  # fmt: skip
    with live.client("officer") as officer:
        applied = officer.post("/api/v1/me/releases", json={
            "release": REPLACED, "organisation": COMPANY, "reference": "(2026) 7",
            "on": "2026-05-10"})  # fmt: skip
        assert applied.status_code == 201, applied.text
        return str(applied.json()["record_id"])


def test_the_desk_decides_an_application_for_a_release(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    for live in serve(f"sqlite:///{tmp_path}/desk.db", service_catalog, portal=True):
        live.key("authority", "court", "court")
        live.key("authority", "samr", "samr")
        live.key("subject", OFFICER, "officer")
        live.key("consumer", "transport", "airline")
        application = _listed_unit_and_officer(live)
        with httpx.Client(base_url=live.base, timeout=30) as desk:
            signed(desk, session(live, "court"))
            page = desk.get("/desk")
            assert page.status_code == 200
            assert f"Application for a release: record {application}" in page.text
            too_long = desk.post(f"/desk/records/{application}/decision",
                                 data={"kind": "release", "outcome": "grant",
                                       "reason": "x" * 501})  # fmt: skip
            assert too_long.status_code == 422 and "<strong>reason</strong>" in too_long.text
            done = desk.post(f"/desk/records/{application}/decision",
                             data={"kind": "release", "outcome": "grant",
                                   "reason": "(2026) 7 ruling"})  # fmt: skip
            assert done.status_code == 200, done.text
            assert "release granted" in done.text
        with live.client("airline") as airline:
            flight = airline.get(f"/api/v1/checks/{OFFICER}/restrict.flight").json()
            assert flight["decision"] == "allow"
