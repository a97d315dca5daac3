"""A registry the demo made is marked synthetic in its database, and a server over it says so:
a banner at the top of every portal page (in the real browser), ``X-Synthetic-Data`` on every
response, API or portal, the check protocol's included; a registry without the mark says
nothing of the kind. The mark itself on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from live import TODAY, Live, serve
from playwright.sync_api import Browser, expect
from rich.console import Console
from test_portal import session

from socialcredit import demo
from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger
from socialcredit.registry.marks import mark_synthetic, synthetic_note
from socialcredit.service.portal import COOKIE
from socialcredit.service.registry import SYNTHETIC_HEADER

PUBLIC_PAGES = ["/", "/login", "/lists", "/lists?q=3321", "/policy",
                "/policy/court-dishonest-debtors", "/studies", "/no-such-page"]  # fmt: skip
SIGNED_PAGES = {"resident": "/me", "court": "/desk", "airline": "/check", "admin": "/admin"}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoResult:
    out = tmp_path_factory.mktemp("demo")
    quiet = Console(file=io.StringIO())
    return demo.run(out, people=150, organisations=15, seed=5, today=TODAY, console=quiet)


@pytest.fixture(scope="module")
def site(made: demo.DemoResult, service_catalog: Loaded) -> Iterator[Live]:
    for live in serve(f"sqlite:///{made.db}", service_catalog, portal=True):
        live.key("subject", made.sample_person, "resident")
        live.key("authority", "court", "court")
        live.key("consumer", "transport", "airline")
        live.key("admin", "ops", "admin")
        yield live


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, service_catalog: Loaded) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path_factory.mktemp('plain')}/plain.db"
    for live in serve(url, service_catalog, portal=True):
        live.key("consumer", "transport", "airline")
        yield live


def test_every_portal_page_of_a_demo_registry_says_it_is_synthetic(
    browser: Browser, site: Live
) -> None:
    context = browser.new_context(base_url=site.base)
    page = context.new_page()
    page.set_default_timeout(10_000)
    seen = []
    for path in PUBLIC_PAGES:
        response = page.goto(path)
        assert response is not None
        assert response.headers[SYNTHETIC_HEADER.lower()].startswith("this registry was made by")
        banner = page.locator("#synthetic")
        expect(banner).to_be_visible()
        expect(banner).to_be_in_viewport()
        expect(banner).to_contain_text("Synthetic data.")
        expect(banner).to_contain_text("every person, organisation, record and decision")
        expect(page).to_have_title(re.compile(r"^\[Synthetic data\] "))
        seen.append(path)
    for name, path in SIGNED_PAGES.items():
        context.clear_cookies()
        context.add_cookies([{"name": COOKIE, "value": session(site, name), "url": site.base}])
        page.goto(path)
        expect(page.locator("h1")).not_to_have_text("Sign in")  # the role's own page
        expect(page.locator("#synthetic")).to_be_visible()
        expect(page.locator("#synthetic")).to_contain_text("made up")
        seen.append(path)
    # scrolled to the foot of a long page, the banner is still in sight
    page.goto("/me")
    page.mouse.wheel(0, 20_000)
    expect(page.locator("#synthetic")).to_be_in_viewport()
    # a page refused to this role is a page too
    page.goto("/check")  # signed in as the admin: refused, naming the role, still marked
    expect(page.get_by_role("alert")).to_contain_text("this page is for consumer keys")
    expect(page.locator("#synthetic")).to_be_visible()
    assert len(seen) == len(PUBLIC_PAGES) + len(SIGNED_PAGES)
    context.close()


def test_every_api_response_of_a_demo_registry_says_it_is_synthetic(
    site: Live, made: demo.DemoResult
) -> None:
    subject = made.sample_person
    with site.client("airline") as api, site.client() as anon, site.client("admin") as admin:
        answers = {
            # the check protocol answers this one itself, ahead of the application
            "check": api.get(f"/api/v1/checks/{subject}/restrict.flight"),
            "bad check": api.get("/api/v1/checks/123/restrict.flight"),
            "lists": anon.get("/api/v1/public/lists", params={"q": "3321"}),
            "no key": anon.get("/api/v1/me/profile"),
            "no route": anon.get("/api/v1/nothing"),
            "body refused": anon.post("/api/v1/records", json={}),
            "admin": admin.get("/api/v1/admin/catalogs"),
            "openapi": anon.get("/openapi.json"),
            "static": anon.get("/static/portal.css"),
        }
    assert answers["check"].json()["decision"] == "deny"
    assert answers["lists"].json() and all(
        e["subject"].startswith(str(demo.RETIRED_COUNTY)) for e in answers["lists"].json()
    )
    for what, r in answers.items():
        assert r.headers.get(SYNTHETIC_HEADER) == " ".join(demo.SYNTHETIC_NOTE.split()), what
    info = answers["openapi"].json()["info"]
    assert info["description"].startswith("SYNTHETIC DATA: this registry was made by")


def test_a_registry_without_the_mark_says_nothing_of_the_kind(plain: Live) -> None:
    with plain.client("airline") as api, plain.client() as anon:
        for r in (
            api.get("/api/v1/checks/110101195001010019/restrict.flight"),
            anon.get("/api/v1/public/lists"),
            anon.get("/"),
            anon.get("/lists"),
        ):
            assert SYNTHETIC_HEADER not in r.headers, r.url
            assert "Synthetic data" not in r.text, r.url
        assert "SYNTHETIC" not in anon.get("/openapi.json").json()["info"]["description"]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_mark_is_kept_in_the_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgres" else (
        f"sqlite:///{tmp_path}/marked.db")  # fmt: skip
    with Ledger.open(url) as ledger:
        ledger.init()
        assert synthetic_note(ledger) is None
        with pytest.raises(InputError, match="note"):
            mark_synthetic(ledger, by="demo", note="  ")
        with pytest.raises(InputError, match="note"):
            mark_synthetic(ledger, by="demo", note="made up\x00")
        before = ledger.last_audit_seq()
        mark_synthetic(ledger, by="demo", note="everything here is made up")
        mark_synthetic(ledger, by="someone", note="a second note")  # the first is kept
        assert ledger.last_audit_seq() == before + 1  # marking is in the audit chain, once
        assert ledger.verify_audit()
    with Ledger.open(url) as again:  # another process opening it later sees the same
        assert synthetic_note(again) == "everything here is made up"
