"""Least privilege in errors and names, over real HTTP on both backends: an authority acting on
another authority's record gets exactly the answer for a missing record (and the attempt is
logged); a subject too; a published name is given only by the authority that first published
the subject on a list, and naming or renaming is an audit entry; subjects see every read of
their data, the authority's desk and the batches that named them included."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from live import Live, person_id

REFUSE = "court.dishonest_debtor.refuse_to_perform"

pytestmark = pytest.mark.parametrize(
    "live", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _file(live: Live, who: str, body: Mapping[str, object]) -> str:
    with live.client(who) as c:
        r = c.post("/api/v1/records", json=body)
        assert r.status_code in (200, 201), r.text
        return str(r.json()["id"])


def test_another_authoritys_record_is_answered_as_a_missing_one(live: Live) -> None:
    live.key("authority", "court", "court")
    live.key("authority", "samr", "samr")
    debtor, other = person_id(101), person_id(102)
    live.key("subject", debtor, "debtor")
    live.key("subject", other, "other")
    body = {"subject": debtor, "record_type": REFUSE, "decided_on": "2026-01-10",
            "decision_ref": "c1"}  # fmt: skip
    court_record = _file(live, "court", body)
    missing = str(int(court_record) + 1000)
    steps: list[tuple[str, dict[str, object]]] = [
        ("revocation", {"reason": "probe"}),
        ("fulfilment", {}),
        ("objection/decision", {"upheld": True, "reason": "probe"}),
        ("repair/decision", {"granted": True, "reason": "probe"}),
    ]
    with live.client("samr") as c:
        for step, payload in steps:
            theirs = c.post(f"/api/v1/records/{court_record}/{step}", json=payload)
            absent = c.post(f"/api/v1/records/{missing}/{step}", json=payload)
            assert theirs.status_code == absent.status_code == 404, (step, theirs.text)
            assert theirs.json() == {"error": {"field": "record", "message":
                                               f"no record {court_record!r}"}}  # fmt: skip
            assert absent.json()["error"]["message"] == f"no record {missing!r}"
            assert "court" not in theirs.text and "2026" not in theirs.text
    # the subject sees each attempt on their record
    with live.client("debtor") as c:
        log = c.get("/api/v1/me/access-log").json()
    refused = [e for e in log if e["action"].startswith("refused ")]
    assert [e["actor"] for e in refused] == ["authority:samr"] * 4
    # a subject objecting to someone else's record: as for a missing one
    with live.client("other") as c:
        theirs = c.post(f"/api/v1/me/records/{court_record}/objection", json={"grounds": "x"})
        absent = c.post(f"/api/v1/me/records/{missing}/objection", json={"grounds": "x"})
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["error"]["message"] == f"no record {court_record!r} about you"
    assert absent.json()["error"]["message"] == f"no record {missing!r} about you"


def test_only_the_first_publishing_authority_names_a_subject_and_renaming_is_audited(
    live: Live,
) -> None:
    live.key("authority", "court", "court")
    live.key("authority", "lenders", "lender")
    debtor = person_id(111)
    live.key("subject", debtor, "debtor")
    body = {"subject": debtor, "record_type": REFUSE, "decided_on": "2026-01-10",
            "decision_ref": "n1", "client_key": "n1", "subject_name": "Zhang San"}  # fmt: skip
    _file(live, "court", body)
    # a lender's unpublished record may not name (nor rename) the subject
    with live.client("lender") as c:
        r = c.post("/api/v1/records", json={"subject": debtor, "record_type": "lenders.overdue_30",
                                            "decided_on": "2026-02-01", "decision_ref": "l1",
                                            "subject_name": "Someone Else"})  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["field"] == "subject_name", r.text
    # the court replaying its client key with another name renames, and it is audited
    _file(live, "court", body | {"subject_name": "Zhang San (renamed)"})
    with live.client() as anon:
        [entry] = [e for e in anon.get("/api/v1/public/lists").json() if e["subject"] == debtor]
    assert entry["name"] == "Zhang San (renamed)"
    with live.client("debtor") as c:
        log = c.get("/api/v1/me/access-log").json()
    assert [e["action"] for e in log if e["action"] == "subject.name"] == ["subject.name"] * 2
    named = [e for e in live.ledger.access_log(debtor) if e.action == "subject.name"]
    assert [e.detail for e in named] == [
        {"list": "court.judgment_debtor", "name": "Zhang San", "previous": None},
        {"list": "court.judgment_debtor", "name": "Zhang San (renamed)", "previous": "Zhang San"},
    ]


def test_subjects_see_the_desk_and_the_batches_that_read_or_named_them(live: Live) -> None:
    live.key("authority", "court", "court")
    a, b = person_id(121), person_id(122)
    live.key("subject", a, "a")
    live.key("subject", b, "b")
    with live.client("court") as c:
        r = c.post("/api/v1/records/batch", json={"records": [
            {"subject": s, "record_type": REFUSE, "decided_on": "2026-01-10", "decision_ref": s}
            for s in (a, b)]})  # fmt: skip
        assert r.status_code == 201, r.text
        first = r.json()["records"][0]["id"]
    with live.client("a") as c:
        assert c.post(f"/api/v1/me/records/{first}/objection",
                      json={"grounds": "paid"}).status_code == 201  # fmt: skip
    with live.client("court") as c:
        desk = c.get("/api/v1/authority/pending")
        assert desk.status_code == 200 and [p["subject"] for p in desk.json()] == [a]
    with live.client("a") as c:
        actions = [(e["actor"], e["action"]) for e in c.get("/api/v1/me/access-log").json()]
    assert ("authority:court", "records.submit") in actions
    assert ("authority:court", "pending") in actions
    with live.client("b") as c:
        actions = [(e["actor"], e["action"]) for e in c.get("/api/v1/me/access-log").json()]
    assert ("authority:court", "records.submit") in actions
    assert ("authority:court", "pending") not in actions  # b was not on the desk
