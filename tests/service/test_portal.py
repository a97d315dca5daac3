"""The portal in a real browser (Debian's Chromium driven by Playwright) against a live server:
signing in per role, a subject's record, an objection filed and decided, the consumer's check
before and after, public list search, the policy explorer; and bad form input over plain HTTP.

One server and one browser for the module; each test uses its own subjects and browser contexts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from live import Live, org_id, person_id, serve
from playwright.sync_api import Browser, Page, expect

from socialcredit.policy.loader import Loaded
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.ledger import NewRecord
from socialcredit.service.portal import COOKIE, csrf_token
from socialcredit.service.registry import Registry

REFUSE = "court.dishonest_debtor.refuse_to_perform"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, service_catalog: Loaded) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path_factory.mktemp('portal')}/portal.db"
    for live in serve(url, service_catalog, portal=True):
        # the first write loads and compiles the projector (seconds): pay that here, once
        registry(live).submit([NewRecord(person_id(1), REFUSE, "court", date(2026, 1, 2), "w")],
                              actor="test")  # fmt: skip
        yield live


def admin_page(site: Live, path: str = "/admin") -> str:
    """A page as the administrator sees it (a key made if the module has none yet)."""
    if "admin" not in site.tokens:
        site.key("admin", "ops", "admin")
    with httpx.Client(base_url=site.base, timeout=30) as c:
        signed(c, session(site, "admin"))
        return c.get(path).text


def session(site: Live, name: str) -> str:
    """A portal session opened with the key called ``name`` (signing in over plain HTTP)."""
    with httpx.Client(base_url=site.base, timeout=30) as c:
        r = c.post("/login", data={"key": site.tokens[name]})
        assert r.status_code == 303, r.text
        return r.cookies[COOKIE]


def signed(client: httpx.Client, cookie: str) -> httpx.Client:
    """``client`` in the session ``cookie``, sending its forms' token as htmx does."""
    client.cookies.set(COOKIE, cookie)
    client.headers["X-CSRF-Token"] = csrf_token(cookie)
    return client


def signed_in(browser: Browser, site: Live, name: str, path: str) -> Page:
    """A fresh browser context (its own cookies) signed in with the key called ``name``, at
    ``path``. (Signing in through the form in the browser is tested once, in the first test.)"""
    context = browser.new_context(base_url=site.base)
    context.add_cookies([{"name": COOKIE, "value": session(site, name), "url": site.base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path)
    return page


def registry(site: Live) -> Registry:
    reg: Registry = site.app.state.registry  # type: ignore[attr-defined]
    return reg


def test_each_role_signs_in_to_its_own_page(browser: Browser, site: Live) -> None:
    site.key("subject", person_id(101), "p101")
    site.key("authority", "court", "court")
    site.key("consumer", "transport", "airline")
    site.key("admin", "ops", "admin")
    page = browser.new_context(base_url=site.base).new_page()
    for name, path, heading in [
        ("p101", "/me", "My record"),
        ("court", "/desk", "Authority desk"),
        ("airline", "/check", "Check"),
        ("admin", "/admin", "Administration"),
    ]:
        page.goto(path)  # not signed in: the login page, which comes back here
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        page.get_by_label("API key").fill(site.tokens[name])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert page.url == site.base + path
        (cookie,) = page.context.cookies()
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        if name != "p101":  # a page of another role is refused, naming the role
            page.goto("/me")
            expect(page.get_by_role("alert")).to_contain_text("this page is for subject keys")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        assert page.context.cookies() == []
    page.goto("/login")
    page.get_by_label("API key").fill("sc_000000000000_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("key: this key is unknown")
    expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    page.context.close()


def test_objection_from_record_to_desk_to_check(browser: Browser, site: Live) -> None:
    someone = person_id(202)
    site.key("subject", someone, "p202")
    site.key("authority", "court", "court")
    site.key("consumer", "transport", "airline")

    desk = signed_in(browser, site, "court", "/desk")
    desk.get_by_label("Record type").select_option(REFUSE)
    desk.get_by_label("Subject").fill(someone[:-1] + ("0" if someone[-1] != "0" else "1"))
    desk.get_by_label("Decision date").fill("2026-01-10")
    desk.get_by_label("Decision reference").fill("(2026) Jing 0101 Zhi 7")
    desk.get_by_role("button", name="File record").click()
    expect(desk.get_by_role("alert")).to_contain_text("subject:")  # a wrong check digit
    expect(desk.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")
    expect(desk.get_by_label("Decision reference")).to_have_value("(2026) Jing 0101 Zhi 7")
    desk.get_by_label("Subject").fill(someone)
    desk.get_by_role("button", name="File record").click()
    filed = desk.get_by_role("status").filter(has_text="filed")
    expect(filed).to_contain_text(f"about {someone}")
    record_id = re.search(r"Record (\d+) filed", filed.inner_text()).group(1)  # type: ignore[union-attr]

    airline = signed_in(browser, site, "airline", "/check")

    def check(expected: str) -> str:
        airline.get_by_label("Subject").fill(someone)
        airline.get_by_label("Measure").select_option("restrict.flight")
        airline.get_by_label("Purpose").fill("booking PEK-SHA")
        airline.get_by_role("button", name="Check").click()
        answer = airline.locator("#decision")
        # the answer comes once its audit entry is written: wait for this one, not the last
        expect(answer).to_contain_text(expected)
        expect(answer).to_contain_text(someone)
        return answer.inner_text()

    first = check("deny")
    # listed with no fixed term until performed (Fa Shi [2017] No. 7, Art. 1(1)): no "until"
    assert "deny" in first and "LISTED" in first and ", until" not in first
    # a sentence, not "deny No air travel": the measure's title is a name
    assert "The restriction \u201cNo air travel, in any class" in first
    assert "is in force for this subject: refuse the use." in first
    assert not re.search(r"deny\s+No air travel", first)

    me = signed_in(browser, site, "p202", "/me")
    card = me.locator(f"#record-{record_id}")
    expect(card).to_contain_text("Fa Shi [2017] No. 7, Art. 1(1)")  # the legal basis
    expect(card).to_contain_text("2026-01-10")  # repairable from: no minimum
    chain = me.locator("#list-court\\.judgment_debtor ol.chain")
    expect(chain).to_contain_text(f"Record {record_id}")
    expect(chain).to_contain_text("Memorandum")
    expect(me.get_by_role("table").filter(has_text="restriction").first).to_contain_text("open")
    access = me.locator("#access-log")
    expect(access).to_contain_text("booking PEK-SHA")
    expect(access).to_contain_text("subject access")  # this very read

    card.get_by_text("Object to this record").click()
    card.get_by_label("Grounds").fill("I paid in full on 2026-01-05")
    card.get_by_role("button", name="File objection").click()
    card = me.locator(f"#record-{record_id}")  # swapped in place by htmx
    expect(card.get_by_role("status")).to_contain_text("court must decide by 2026-06-16")
    expect(card).to_contain_text("pending")
    assert me.url.endswith("/me")

    desk.goto("/desk")
    item = desk.locator(f"#pending-{record_id}-objection")
    expect(item).to_contain_text("I paid in full on 2026-01-05")
    item.get_by_label("Reasons").fill("Payment confirmed by the creditor")
    item.get_by_role("button", name="Uphold objection").click()
    expect(desk.locator(f"#pending-{record_id}-objection").get_by_role("status")).to_contain_text(
        "objection upheld"
    )

    second = check("allow")
    assert "allow" in second and "No restriction in force" in second
    assert "is not in force for this subject" in second

    me.reload()
    expect(me.locator(f"#record-{record_id}")).to_contain_text("void: objection upheld")
    expect(me.locator("#access-log")).to_contain_text("check restrict.flight")
    for page in (desk, airline, me):
        page.context.close()


def test_public_lists_search(browser: Browser, site: Live) -> None:
    early, late = person_id(300), person_id(9_000)  # born 1950 and 1974
    registry(site).submit(
        [NewRecord(s, REFUSE, "court", date(2026, 2, 1), "(2026) public", subject_name=name)
         for s, name in ((early, "Wang Wu"), (late, None))],
        actor="test",
    )  # fmt: skip
    page = browser.new_context(base_url=site.base).new_page()
    page.goto("/lists")
    expect(page.locator("#results")).to_contain_text(early)
    expect(page.locator("#results")).to_contain_text(late)
    expect(page.locator("#results tr").filter(has_text=early)).to_contain_text("Wang Wu")
    expect(page.locator("#results tr").filter(has_text=late)).to_contain_text("(not given)")
    page.get_by_label("ID starts with").fill(late[:10])
    expect(page.locator("#results")).not_to_contain_text(early)
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("Able to perform the judgment but refuses")
    assert f"q={late[:10]}" in page.url  # the search is a link one can share
    page.get_by_label("ID starts with").fill("<b>")
    expect(page.get_by_role("alert")).to_contain_text("q: an ID has only digits and letters")
    page.context.close()


def test_policy_explorer_draws_catalogs_and_findings(browser: Browser, site: Live) -> None:
    page = browser.new_context(base_url=site.base).new_page()
    page.goto("/policy")
    row = page.get_by_role("row").filter(has_text="unified-score")
    expect(row).to_contain_text("refused")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("status").first).to_contain_text("Refused under cn-2021")
    expect(page.locator("svg[role=img] rect.box.error").first).to_be_visible()
    expect(page.locator("#h-findings")).to_contain_text("Findings")
    expect(page.locator("#list-unified\\.petitioners")).to_contain_text("SC001")
    page.goto("/policy/court-dishonest-debtors")
    expect(page.get_by_role("status").first).to_contain_text("Admissible under cn-2021")
    node = page.locator("#list-court\\.judgment_debtor")
    expect(node).to_contain_text("Fa Shi [2017] No. 7")
    expect(node.get_by_role("link", name="court.consumption-restrictions")).to_be_visible()
    assert page.locator("svg[role=img] path.edge").count() > 10
    page.get_by_role("link", name="eu-ai-act").click()
    expect(page.get_by_role("status").first).to_contain_text("Refused under eu-ai-act")
    page.context.close()


def test_the_cookie_holds_a_session_that_signing_out_or_revoking_ends(site: Live) -> None:
    site.key("subject", person_id(303), "p303")
    token = site.tokens["p303"]
    with httpx.Client(base_url=site.base, timeout=30) as c:
        r = c.post("/login", data={"key": token})
        assert r.status_code == 303
        cookie = r.cookies[COOKIE]
        assert token not in cookie and token.split("_", 2)[2] not in cookie  # never the key
        assert c.get("/me").status_code == 200
        copied = cookie
        r = c.post("/logout", headers={"X-CSRF-Token": csrf_token(cookie)})
        assert r.status_code == 303
    with httpx.Client(base_url=site.base, timeout=30) as c:  # the copy stopped working too
        c.cookies.set(COOKIE, copied)
        r = c.get("/me")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    ledger = registry(site).ledger
    cookie = session(site, "p303")
    with httpx.Client(base_url=site.base, timeout=30) as c:
        c.cookies.set(COOKIE, cookie)
        assert c.get("/me").status_code == 200
        ledger.revoke_key(token.split("_")[1], actor="test")  # a revoked key ends its sessions
        assert ledger.session_key(cookie) is None
        deadline = time.monotonic() + 15  # the server remembers a session for 5 s
        while c.get("/me").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.25)
        assert c.get("/me").status_code == 303
    for forged in (token, "ss_" + "A" * 43, "x" * 500):  # the key itself, a made-up id
        with httpx.Client(base_url=site.base, timeout=30) as c:
            c.cookies.set(COOKIE, forged)
            assert c.get("/me").status_code == 303


def test_bad_form_input_names_the_field(site: Live) -> None:
    site.key("authority", "court", "court")
    site.key("consumer", "transport", "airline")
    site.key("subject", person_id(404), "p404")

    def client(name: str) -> httpx.Client:
        c = httpx.Client(base_url=site.base, timeout=30)
        signed(c, session(site, name))
        return c

    good = {"record_type": REFUSE, "subject": person_id(404), "decided_on": "2026-01-10",
            "decision_ref": "(2026) 1"}  # fmt: skip
    with client("court") as c:
        for change, status, field in [
            ({"subject": "12345"}, 422, "subject"),
            ({"decided_on": "10 Jan"}, 422, "decided_on"),
            ({"decided_on": "2027-01-10"}, 422, "decided_on"),
            ({"decision_ref": ""}, 422, "decision_ref"),
            ({"record_type": "samr.legal_representative"}, 422, "record_type"),
            ({"subject": "x" * 5000}, 422, "subject"),
        ]:
            r = c.post("/desk/records", data=good | change)
            assert r.status_code == status, (change, r.status_code)
            assert f"<strong>{field.replace('_', ' ')}</strong>" in r.text, change
        r = c.post("/desk/records/abc/decision", data={"kind": "objection"})
        assert r.status_code == 422 and "<strong>record</strong>" in r.text
        r = c.post("/desk/records/1/decision", data={"kind": "verdict", "reason": "x"})
        assert r.status_code == 422 and "<strong>kind</strong>" in r.text
    with client("airline") as c:
        r = c.post("/check", data={"subject": person_id(1), "measure": "nope", "purpose": "x"})
        assert r.status_code == 422 and "<strong>measure</strong>" in r.text
        r = c.post("/check", data={"subject": person_id(1), "measure": "restrict.flight"})
        assert r.status_code == 422 and "<strong>purpose</strong>" in r.text
    with client("p404") as c:
        r = c.post("/me/records/1/objection", data={"grounds": "x"}, headers={"HX-Request": "true"})
        assert r.status_code == 404 and "no record" in r.text
        r = c.post("/login", data={"key": ""})
        assert r.status_code == 422 and "<strong>key</strong>" in r.text
    with httpx.Client(base_url=site.base) as anon:
        assert anon.get("/policy/nope").status_code == 404
        r = anon.get("/policy/sesame", params={"profile": "gdpr"})
        assert r.status_code == 422 and "<strong>profile</strong>" in r.text
        r = anon.get("/lists", params={"list": "nope"})
        assert r.status_code == 422 and "<strong>list</strong>" in r.text
        r = anon.post("/desk/records", data=good)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/desk/records"
        r = anon.post("/login", data={"key": "x"}, headers={"Origin": "http://elsewhere.test"})
        assert r.status_code == 403


def test_a_refused_decision_shows_the_request_again_and_logs_the_read(site: Live) -> None:
    """The desk's answer to a refused decision shows the request again (the subject's ID,
    the grounds): the subject sees that read in their access log, as for the desk itself."""
    subject = person_id(707)
    site.key("subject", subject, "p707")
    site.key("authority", "court", "court")
    (filed,) = registry(site).submit(
        [NewRecord(subject, REFUSE, "court", date(2026, 4, 1), "(2026) 707")], actor="test"
    )
    with site.client("p707") as c:
        r = c.post(f"/api/v1/me/records/{filed.id}/objection", json={"grounds": "Paid in May"})
        assert r.status_code == 201, r.text
    ledger = site.ledger

    def desk_reads() -> int:
        return sum(e.actor == "authority:court" for e in ledger.access_log(subject))

    before = desk_reads()
    with httpx.Client(base_url=site.base, timeout=30) as c:
        signed(c, session(site, "court"))
        r = c.post(f"/desk/records/{filed.id}/decision", headers={"HX-Request": "true"},
                   data={"kind": "objection", "outcome": "maybe", "reason": "x"})  # fmt: skip
        assert r.status_code == 422 and "<strong>outcome</strong>" in r.text, r.text
        assert subject in r.text and "Paid in May" in r.text
    assert desk_reads() == before + 1


def test_scores_over_time_repair_and_forms_without_javascript(site: Live) -> None:
    someone = person_id(505)
    site.key("subject", someone, "p505")
    site.key("authority", "court", "court")
    filed = registry(site).submit(
        [
            NewRecord(someone, "rongcheng.volunteering", "rongcheng", date(2025, 1, 10), "v"),
            NewRecord(someone, "rongcheng.counterfeit_goods", "rongcheng", date(2025, 3, 1), "c"),
        ],
        actor="test",
    )
    counterfeit = filed[1].id
    with httpx.Client(base_url=site.base, timeout=30) as c:
        signed(c, session(site, "p505"))
        page = c.get("/me").text
        scores = page[page.index('id="h-scores"') : page.index('id="h-lists"')]
        for day in ("2024-06-01", "2025-06-01", "2025-12-01", "2026-03-01", "2026-06-01"):
            assert f'<th scope="col">{day}</th>' in scores
        assert scores.count('class="badge"') >= 2  # a grade on the dates with a score
        assert "Apply for credit repair" in page
        # a plain form post (no htmx) answers with the whole page and the outcome in it
        r = c.post(f"/me/records/{counterfeit}/repair", data={})
        assert r.status_code == 422 and "<html" in r.text
        assert "<strong>commitment</strong>" in r.text
        r = c.post(f"/me/records/{counterfeit}/repair", data={"commitment": "yes"})
        assert r.status_code == 200 and "<html" in r.text
        assert "rongcheng must decide by" in r.text
    with httpx.Client(base_url=site.base, timeout=30) as c:
        signed(c, session(site, "court"))
        r = c.post(f"/desk/records/{counterfeit}/decision",
                   data={"kind": "repair", "outcome": "grant", "reason": "x"})  # fmt: skip
        # another authority's record is answered as a missing one: nothing said of it
        assert r.status_code == 404 and f"no record {counterfeit!r}" in r.text.replace("&#39;", "'")
        assert "rongcheng" not in r.text.split("<main")[-1].split("</main>")[0]


def test_the_admin_page_lists_decisions_owed_past_their_deadline(site: Live) -> None:
    subject = person_id(606)
    site.key("subject", subject, "p606")
    site.key("admin", "ops", "admin")
    (filed,) = registry(site).submit(
        [NewRecord(subject, REFUSE, "court", date(2026, 4, 1), "(2026) 606")], actor="test"
    )
    with site.client("p606") as c:  # objected on 1 May: the court had until 16 May
        r = c.post(f"/api/v1/me/records/{filed.id}/objection",
                   json={"grounds": "Paid in April", "on": "2026-05-01"})  # fmt: skip
        assert r.status_code == 201 and r.json()["decide_by"] == "2026-05-16", r.text
    page = admin_page(site)
    row = re.search(rf'<tr id="overdue-{filed.id}-objection">(.*?)</tr>', page, re.S)
    assert row is not None, page
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[0] == "court" and cells[3] == subject
    assert cells[5:] == ["2026-05-16", "16"]  # today is 2026-06-01
    registry(site).audit.flush()
    access = [e.actor for e in registry(site).ledger.access_log(subject)]
    assert "admin:ops" in access  # the subject sees that the administrator looked


def test_forms_of_a_session_need_its_token_and_this_sites_origin(site: Live) -> None:
    site.key("consumer", "transport", "airline")
    cookie = session(site, "airline")
    form = {"subject": person_id(1), "measure": "restrict.flight", "purpose": "boarding"}
    with httpx.Client(base_url=site.base, timeout=30) as c:
        c.cookies.set(COOKIE, cookie)
        for headers in (
            {},  # no token
            {"X-CSRF-Token": "0" * 32},  # a wrong one
            {"X-CSRF-Token": csrf_token(cookie), "Origin": "null"},
            {"X-CSRF-Token": csrf_token(cookie), "Origin": "http://elsewhere.test"},
        ):
            r = c.post("/check", data=form, headers={"HX-Request": "true", **headers})
            assert r.status_code == 403, (headers, r.text)
        r = c.post("/check", data=form | {"csrf": csrf_token(cookie)})  # the hidden field
        assert r.status_code == 200, r.text
        page = c.get("/check").text
        assert f'name="csrf" value="{csrf_token(cookie)}"' in page
        assert csrf_token(cookie) in page.split("<body", 1)[1].split(">", 1)[0]  # for htmx
    with httpx.Client(base_url=site.base, timeout=30) as anon:
        r = anon.post("/login", data={"key": site.tokens["airline"]}, headers={"Origin": "null"})
        assert r.status_code == 403


def test_reviewed_exemptions_are_shown_in_the_explorer_and_to_the_administrator(site: Live) -> None:
    """Who admitted an item whose words name a protected subject, when and why (SC021)."""
    if "admin" not in site.tokens:
        site.key("admin", "ops", "admin")
    with httpx.Client(base_url=site.base, timeout=30) as anon:
        page = anon.get("/policy/court-dishonest-debtors").text
    section = re.search(r'<section aria-labelledby="h-exemptions">(.*?)</section>', page, re.S)
    assert section is not None, page
    assert "measures[restrict.private_school]" in section.group(1)
    assert "socialcredit catalog maintainers" in section.group(1)
    in_force = registry(site).catalog.catalog.exemptions
    with httpx.Client(base_url=site.base, timeout=30) as c:
        signed(c, session(site, "admin"))
        admin = c.get("/admin").text
    assert ('aria-labelledby="h-exemptions"' in admin) == bool(in_force)
    for ex in in_force:
        assert f"{ex.section}[{ex.id}]" in admin


def test_a_profile_counts_each_measure_once_and_says_who_keeps_each_score(
    browser: Browser, site: Live
) -> None:
    """Listed in person and through the role in a listed company: the same restrictions come
    twice, and the page counts each once; a state score and a private one are told apart."""
    boss, company = person_id(707), org_id(708)
    site.key("subject", boss, "p707")
    day = date(2026, 3, 2)
    registry(site).submit(
        [
            NewRecord(boss, "samr.legal_representative", "samr", date(2025, 1, 1), "reg",
                      counterpart=company),
            NewRecord(company, REFUSE, "court", day, "(2026) 708"),
            NewRecord(boss, REFUSE, "court", day, "(2026) 707"),
            NewRecord(boss, "rongcheng.contract_breach", "rongcheng", day, "rc-707"),
            NewRecord(boss, "lenders.on_time", "lenders", day, "loan-707"),
        ],
        actor="test",
    )  # fmt: skip
    profile = evaluate(registry(site).ledger.facts(boss), site.catalog, site.today[0], subject=boss)
    paths = len(profile.measures)
    distinct = len({m.measure for m in profile.measures})
    assert paths > distinct > 5  # the same measures by two ways: the case to count right

    me = signed_in(browser, site, "p707", "/me")
    intro = me.locator("main > p").first
    expect(intro).to_contain_text(f"{distinct} measures in force")
    expect(intro).to_contain_text(f"{paths} in all")
    rows = me.locator("#h-measures ~ div table > tbody > tr")
    expect(rows).to_have_count(distinct)
    flight = me.locator("#measure-restrict\\.flight")
    ways = sum(m.measure == "restrict.flight" for m in profile.measures)
    assert ways > 1
    expect(flight).to_contain_text(f"{ways} reasons")
    expect(flight).to_contain_text("through your role as legal representative")

    state, private = me.locator("#scores-state"), me.locator("#scores-private")
    expect(state).to_contain_text("Rongcheng")
    expect(state).to_contain_text("kept by the state")
    expect(private).to_contain_text("a private, commercial score, not the state's")
    expect(private.locator("tbody > tr")).to_have_count(1)
    expect(state.locator("tbody > tr")).to_have_count(1)
    expect(me.locator("#h-scores-private")).to_have_text("Private and commercial scores")
    me.context.close()


def test_the_admin_page_names_every_catalog_merged_not_the_last(site: Live) -> None:
    page = admin_page(site)
    listed = re.search(r'<ul id="catalogs-in-force">(.*?)</ul>', page, re.S)
    assert listed is not None, page
    items = re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)
    files = registry(site).catalog.files
    assert len(files) > 2 and len(items) == len(files)
    for path, item in zip(files, items, strict=True):
        assert f"file <code>{path.name}</code>" in item
    assert f"runs {len(files)} catalogs merged into one" in page
    last = registry(site).catalog.catalog.catalog
    assert f"{last.title} (<code>{last.id}</code>, version {last.version})</dd>" not in page
    with site.client("admin") as api:
        body = api.get("/api/v1/admin/catalogs").json()
    assert [c["file"] for c in body["catalogs"]] == [p.name for p in files]
    assert "title" not in body  # no one title for the whole


DATA = Path(__file__).parents[1] / "data"


def test_the_admin_page_and_api_show_the_catalog_history(site: Live) -> None:
    page = admin_page(site)
    assert 'id="catalog-history">No catalog version is stored' in page
    text = (DATA / "registry.toml").read_text(encoding="utf-8")
    v = site.ledger.activate_catalog(
        source="registry.toml", catalog_id="registry-test", version="1", title="T",
        bundled=False, content=text, in_force_from=date(2020, 1, 1), actor="operator",
    )  # fmt: skip
    site.ledger.retire_catalog(v.id, retired_from=date(2021, 1, 1), actor="operator")
    page = admin_page(site)
    table = re.search(r'<table class="stack" id="catalog-history">(.*?)</table>', page, re.S)
    assert table is not None, page
    assert "<code>registry-test</code>" in table.group(1) and "2021-01-01" in table.group(1)
    with site.client("admin") as api:
        history = api.get("/api/v1/admin/catalogs").json()["history"]
    shown = [(h["catalog"], h["in_force_from"], h["retired_from"], h["activated_by"])
             for h in history]  # fmt: skip
    assert shown == [("registry-test", "2020-01-01", "2021-01-01", "operator")]
    with site.client() as anon:  # the rules in force are public: the explorer shows them too
        explorer = anon.get("/policy").text
    assert 'id="catalog-history"' in explorer and "<code>registry-test</code>" in explorer
