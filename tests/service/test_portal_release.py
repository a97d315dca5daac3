"""Applying for a release from the subject's page (``POST /me/releases``) against a live
server: an officer of a unit on the court's list applies in the browser and the court finds
the application on its desk; a person nothing reaches through a role gets the workflow's
refusal as the page's error, with nothing written; bad input names its field; only a subject's
key, in its session and from this site, may post.

One server for the module (and one browser); each test uses its own people and units.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from live import Live, org_id, person_id, serve
from playwright.sync_api import Browser, expect
from test_portal import registry, session, signed, signed_in

from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import NewRecord
from socialcredit.service.portal import COOKIE, csrf_token

REFUSE = "court.dishonest_debtor.refuse_to_perform"
OWN_FUNDS = "court.officer_own_funds"
REPLACED = "court.replaced_representative"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, service_catalog: Loaded) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path_factory.mktemp('release')}/portal.db"
    for live in serve(url, service_catalog, portal=True):
        live.key("authority", "court", "court")
        yield live


def officer_of_listed_unit(site: Live, n: int) -> tuple[str, str]:
    """A unit on the court's list and its legal representative (a person reached through his
    role): ``(officer, unit)``."""
    officer, unit = person_id(n), org_id(n)
    registry(site).submit(
        [
            NewRecord(unit, REFUSE, "court", date(2026, 1, 5), f"(2026) {n}"),
            NewRecord(officer, "samr.legal_representative", "samr", date(2025, 5, 1),
                      f"reg {n}", counterpart=unit),
        ],
        actor="test",
    )  # fmt: skip
    return officer, unit


def client(site: Live, name: str) -> httpx.Client:
    """A client in a session of the key called ``name``, sending the token as htmx does."""
    c = httpx.Client(base_url=site.base, timeout=30)
    signed(c, session(site, name))
    return c


def records_about(site: Live, subject: str) -> int:
    return len(registry(site).ledger.facts(subject))


def test_an_officer_applies_in_the_browser_and_the_court_finds_it_on_its_desk(
    browser: Browser, site: Live
) -> None:
    officer, unit = officer_of_listed_unit(site, 811)
    site.key("subject", officer, "p811")
    me = signed_in(browser, site, "p811", "/me")
    section = me.locator("#releases")
    expect(section).to_contain_text("Apply for a release")
    assert me.locator("#release-organisations option").evaluate_all(
        "os => os.map(o => o.value)"
    ) == [unit]  # the unit whose restriction reaches him, suggested
    section.get_by_text("Apply for a release").click()
    me.select_option("#release-release", OWN_FUNDS)
    me.fill("#release-organisation", unit)
    me.fill("#release-reference", "(2026) enf 811")
    me.get_by_role("button", name="Apply for release").click()
    # htmx swaps the section: the outcome and the application, pending
    expect(me.locator("#releases .msg.ok")).to_contain_text("court must decide by 2026-06-16")
    row = me.locator("#release-applications tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("An officer of a restricted unit allowed to spend personal funds")
    expect(row).to_contain_text(unit)
    expect(row).to_contain_text("pending")
    expect(row).to_contain_text("to decide by 2026-06-16")
    application = row.get_attribute("id")
    assert application is not None and application.startswith("application-")
    record_id = application.removeprefix("application-")
    me.context.close()
    with client(site, "court") as court:
        desk = court.get("/desk")
        assert desk.status_code == 200
        assert f"Application for a release: record {record_id}" in desk.text
    with site.client("court") as court:
        pending = court.get("/api/v1/authority/pending").json()
        mine = [p for p in pending if p["record_id"] == record_id]
        assert [(p["kind"], p["subject"], p["decide_by"]) for p in mine] == [
            ("release", officer, "2026-06-16")
        ]
    with client(site, "p811") as c:  # the page lists it after a reload, too
        page = c.get("/me").text
        assert f'<tr id="application-{record_id}">' in page
        # a second application while this one waits is refused, as a page (no htmx)
        again = c.post("/me/releases", data={"release": OWN_FUNDS, "organisation": unit,
                                              "reference": "(2026) enf 812"})  # fmt: skip
        assert again.status_code == 409 and "<html" in again.text
        assert "already has an application for court.officer_own_funds" in again.text
        assert page.count('<tr id="application-') == again.text.count('<tr id="application-')


def test_a_person_nothing_reaches_through_a_role_is_refused_and_nothing_is_written(
    site: Live,
) -> None:
    nobody, unit = person_id(822), org_id(822)
    site.key("subject", nobody, "p822")
    registry(site).submit([NewRecord(unit, REFUSE, "court", date(2026, 1, 5), "(2026) 822")],
                          actor="test")  # fmt: skip
    before = records_about(site, nobody)
    with client(site, "p822") as c:
        page = c.get("/me")
        assert 'action="/me/releases"' in page.text  # offered: the workflow decides
        r = c.post("/me/releases", data={"release": REPLACED, "organisation": unit,
                                          "reference": "(2026) 822"})  # fmt: skip
        assert r.status_code == 409 and "<html" in r.text
        assert (
            f"nothing release {REPLACED} lifts reaches {nobody} through {unit} on 2026-06-01"
            in r.text
        )
        assert 'id="release-applications"' not in r.text
        # the same refusal as a fragment for htmx, the form keeping what was typed
        r = c.post("/me/releases", data={"release": REPLACED, "organisation": unit,
                                          "reference": "(2026) 822"},
                   headers={"HX-Request": "true"})  # fmt: skip
        assert r.status_code == 409 and "<html" not in r.text
        assert "nothing release" in r.text and f'value="{unit}"' in r.text
    assert records_about(site, nobody) == before
    with site.client("court") as court:
        pending = court.get("/api/v1/authority/pending").json()
        assert all(p["subject"] != nobody for p in pending)


def test_bad_input_names_its_field_and_nothing_is_written(site: Live) -> None:
    officer, unit = officer_of_listed_unit(site, 833)
    site.key("subject", officer, "p833")
    before = records_about(site, officer)
    good = {"release": OWN_FUNDS, "organisation": unit, "reference": "(2026) 833"}
    with client(site, "p833") as c:
        for change, status, field in [
            ({"release": ""}, 422, "release"),
            ({"release": "court.nope"}, 404, "release"),
            ({"organisation": ""}, 422, "organisation"),
            ({"organisation": "not an id"}, 422, "organisation"),
            ({"organisation": "9" * 19}, 422, "organisation"),
            ({"reference": "  "}, 422, "reference"),
            ({"reference": "x" * 501}, 422, "reference"),
            ({"reference": "line\nbreak"}, 422, "reference"),
        ]:
            r = c.post("/me/releases", data=good | change)
            assert r.status_code == status, (change, r.status_code, r.text[-500:])
            assert f"<strong>{field}</strong>" in r.text, change
    assert records_about(site, officer) == before


def test_only_a_subjects_key_in_its_session_and_from_this_site_may_post(site: Live) -> None:
    officer, unit = officer_of_listed_unit(site, 844)
    site.key("subject", officer, "p844")
    site.key("consumer", "transport", "airline")
    form = {"release": OWN_FUNDS, "organisation": unit, "reference": "(2026) 844"}
    before = records_about(site, officer)
    for name in ("court", "airline"):  # keys of other roles, with their sessions' tokens
        with client(site, name) as c:
            r = c.post("/me/releases", data=form)
            assert r.status_code == 403 and "<strong>role</strong>" in r.text, (name, r.text)
    with httpx.Client(base_url=site.base, timeout=30) as anon:
        r = anon.post("/me/releases", data=form)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    cookie = session(site, "p844")
    with httpx.Client(base_url=site.base, timeout=30) as c:
        c.cookies.set(COOKIE, cookie)
        for headers in (
            {},  # no token
            {"X-CSRF-Token": "0" * 32},
            {"X-CSRF-Token": csrf_token(cookie), "Origin": "null"},
            {"X-CSRF-Token": csrf_token(cookie), "Origin": "http://elsewhere.test"},
        ):
            r = c.post("/me/releases", data=form, headers={"HX-Request": "true", **headers})
            assert r.status_code == 403, (headers, r.text)
        assert records_about(site, officer) == before
        # with the session's token as the form's hidden field, the same form is filed
        r = c.post("/me/releases", data=form | {"csrf": csrf_token(cookie)})
        assert r.status_code == 200, r.text
        assert "court must decide by 2026-06-16" in r.text
    assert records_about(site, officer) == before + 1
