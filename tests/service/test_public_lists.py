"""Only lists their catalog declares ``public`` are published: an entry on a list kept
internal (``public = false``) is never on the public endpoints, filtered or not, in the API
or the portal, though its record type is published and its measures are in force."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live import Live, org_id, serve

from socialcredit.policy.loader import load
from socialcredit.registry.config import registry_catalog

INTERNAL = """
[catalog]
id = "internal-watch"
title = "A watch list kept internal"
version = "1"
extends = ["cn-common"]
description = "A list the public does not see (public = false)."
sources = ["test"]

[[record_types]]
code = "watch.flag"
title = "Watch flag"
domain = "market"
subject_kinds = ["organisation"]
severity = "general"
nature = "violation"
legal_basis = "Watch Measures, Art. 1"
issuers = ["samr"]
publication = { min_months = 3, max_months = 12 }

[[record_types]]
code = "watch.abnormal"
title = "Abnormal operation"
domain = "market"
subject_kinds = ["organisation"]
severity = "general"
nature = "violation"
legal_basis = "Watch Measures, Art. 5"
issuers = ["samr"]
publication = { min_months = 3, max_months = 12 }

[[lists]]
id = "watch.published"
title = "Published watch list"
kind = "key_attention"
legal_basis = "Watch Measures, Art. 6"
authority = "samr"
subject_kinds = ["organisation"]
entry = { record_types = ["watch.abnormal"] }
duration_months = 12
removal = ["expiry", "objection"]

[[lists]]
id = "watch.internal"
title = "Internal watch list"
kind = "key_attention"
legal_basis = "Watch Measures, Art. 2"
authority = "samr"
subject_kinds = ["organisation"]
entry = { record_types = ["watch.flag"] }
duration_months = 12
removal = ["expiry", "objection"]
public = false

[[measures]]
id = "restrict.watch.inspections"
title = "More inspections"
kind = "restriction"
domain = "market"
legal_basis = "Watch Measures, Art. 3"

[[memoranda]]
id = "watch.inspections"
title = "Inspections of watched enterprises"
legal_basis = "Watch Measures, Art. 4"
lists = ["watch.internal", "watch.published"]
measures = ["restrict.watch.inspections"]
"""

WATCHED, LISTED = org_id(7), org_id(8)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Live]:
    toml = tmp_path / "internal.toml"
    toml.write_text(INTERNAL)
    catalog = load(*registry_catalog().files, toml)
    url = (request.getfixturevalue("pg_url") if request.param == "postgres"
           else f"sqlite:///{tmp_path}/service.db")  # fmt: skip
    yield from serve(url, catalog, portal=True)


def test_a_list_kept_internal_is_not_published(live: Live) -> None:
    live.key("authority", "samr", "samr")
    with live.client("samr") as c:
        for subject, record_type in ((WATCHED, "watch.flag"), (LISTED, "watch.abnormal")):
            r = c.post("/api/v1/records", json={
                "subject": subject, "record_type": record_type, "decided_on": "2026-01-10",
                "decision_ref": f"(2026) {record_type}"})  # fmt: skip
            assert r.status_code == 201, r.text
    with live.client() as anon:
        everything = anon.get("/api/v1/public/lists")
        assert everything.status_code == 200, everything.text
        shown = {(e["subject"], e["list"]) for e in everything.json()}
        assert (LISTED, "watch.published") in shown  # a public list's entry is shown
        assert not any(s == WATCHED for s, _list in shown)
        r = anon.get("/api/v1/public/lists", params={"list": "watch.internal"})
        assert (r.status_code, r.json()) == (200, [])  # as for a list that does not exist
        r = anon.get("/api/v1/public/lists", params={"q": WATCHED[:10]})
        assert WATCHED not in r.text
        page = anon.get("/lists", params={"list": "watch.internal"})
        assert page.status_code == 422 and "no public list" in page.text, page.text
        assert WATCHED not in page.text
        assert WATCHED not in anon.get("/lists").text
    # the list is in force all the same: its measure is decided for consumers
    assert any(g.list == "watch.internal" for g in live.ledger.projection_grounds().values())
