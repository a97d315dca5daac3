"""Smaller hardening, over real HTTP: API responses with personal data are not cached and not
sniffed (whoever answers: the check protocol, the route, an error); the API reads dates only
as YYYY-MM-DD, as the importer does; every error names a field."""

from __future__ import annotations

from typing import Any

import pytest
from live import Live, person_id

REFUSE = "court.dishonest_debtor.refuse_to_perform"

pytestmark = pytest.mark.parametrize(
    "live", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def test_api_responses_are_not_cached_nor_sniffed(live: Live) -> None:
    live.key("consumer", "transport", "airline")
    me = person_id(131)
    live.key("subject", me, "me")
    registry: Any = live.app.state.registry  # type: ignore[attr-defined]
    with live.client("airline") as c:
        responses = [c.get(f"/api/v1/checks/{me}/restrict.flight")]  # the route (not cached)
        responses.append(c.get(f"/api/v1/checks/{me}/restrict.flight"))  # the protocol
        assert registry.keys.cached(live.tokens["airline"]) is not None
        responses.append(c.get(f"/api/v1/checks/{me}/restrict.nothing"))  # an error
    with live.client("me") as c:
        responses += [c.get("/api/v1/me/profile"), c.get("/api/v1/me/access-log")]
    with live.client() as anon:
        responses += [anon.get("/api/v1/public/lists"), anon.post("/api/v1/records", json={})]
    for r in responses:
        assert r.headers.get("cache-control") == "no-store", (r.url, r.headers)
        assert r.headers.get("x-content-type-options") == "nosniff", (r.url, r.headers)
        assert len(r.headers.get_list("cache-control")) == 1


def test_the_api_reads_dates_as_the_importer_does(live: Live) -> None:
    live.key("authority", "court", "court")
    me = person_id(132)
    live.key("subject", me, "me")
    body = {"subject": me, "record_type": REFUSE, "decision_ref": "d1"}
    with live.client("court") as c:
        for text in ("20260101", "2026-W01-1", "2026-1-05", "+02026-01-05", "2026-01-05T00:00"):
            r = c.post("/api/v1/records", json=body | {"decided_on": text})
            assert r.status_code == 422, (text, r.text)
            assert r.json()["error"]["field"] == "decided_on"
        r = c.post("/api/v1/records", json=body | {"decided_on": "2026-01-05"})
        assert r.status_code == 201, r.text
        record = r.json()["id"]
        r = c.post(f"/api/v1/records/{record}/fulfilment", json={"on": "20260201"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "on", r.text
    with live.client("me") as c:
        r = c.get("/api/v1/me/profile", params={"as_of": "2026-W10-1"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "as_of", r.text


def test_every_error_names_a_field(live: Live) -> None:
    live.key("consumer", "transport", "airline")
    with live.client("airline") as c:
        for r in (
            c.get("/api/v1/nowhere"),
            c.delete(f"/api/v1/checks/{person_id(1)}/restrict.flight"),
            c.post("/api/v1/records/batch", content=b"{", headers={"content-type": "text/x"}),
        ):
            assert 400 <= r.status_code < 500, r.text
            assert isinstance(r.json()["error"]["field"], str), (r.request.url, r.text)
