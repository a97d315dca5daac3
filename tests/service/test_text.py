"""One validation of text for the API, the portal and the CLI (NUL, control characters,
length), and an audit entry the store refuses: set aside, an alarm on the admin page, and
never in the way of the entries behind it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import Live, person_id, serve

from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import NewRecord
from socialcredit.service.portal import COOKIE, csrf_token

REFUSE = "court.dishonest_debtor.refuse_to_perform"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path: Path, service_catalog: Loaded) -> Iterator[Live]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path}/text.db"
    yield from serve(url, service_catalog, portal=True)


def _portal(site: Live, name: str) -> httpx.Client:
    with httpx.Client(base_url=site.base, timeout=30) as c:
        r = c.post("/login", data={"key": site.tokens[name]})
        assert r.status_code == 303, r.text
        session = r.cookies[COOKIE]
    client = httpx.Client(base_url=site.base, timeout=30)
    client.cookies.set(COOKIE, session)
    client.headers["X-CSRF-Token"] = csrf_token(session)
    return client


def _stored_text(site: Live) -> str:
    """Every text the store holds, as one string (to look for what must not be there)."""
    import sqlalchemy as sa

    engine = sa.create_engine(site.ledger.url)
    try:
        with engine.connect() as conn:
            parts = [
                str(row)
                for table in ("records", "events", "audit_log", "subject_names")
                for row in conn.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
            ]
    finally:
        engine.dispose()
    return "\n".join(parts)


def test_the_portal_refuses_the_text_the_api_refuses(site: Live) -> None:
    site.key("authority", "court", "court")
    site.key("consumer", "transport", "airline")
    me = person_id(81)
    site.key("subject", me, "me")
    reg: Any = site.app.state.registry  # type: ignore[attr-defined]
    [filed] = reg.submit([NewRecord(me, REFUSE, "court", date(2026, 1, 2), "r1")], actor="t")
    good = {"record_type": REFUSE, "subject": person_id(82), "decided_on": "2026-01-10",
            "decision_ref": "(2026) 1"}  # fmt: skip
    with _portal(site, "court") as c:
        for change, field in [
            ({"decision_ref": "a\x00b"}, "decision ref"),
            ({"client_key": "k\x00"}, "client key"),
            ({"subject_name": "Zhang\x00San"}, "subject name"),
            ({"decision_ref": "red \x1b[31m"}, "decision ref"),
            ({"decision_ref": "two\nlines"}, "decision ref"),
            ({"subject_name": "C1 \x9b control"}, "subject name"),
        ]:
            r = c.post("/desk/records", data=good | change)
            assert r.status_code == 422, (change, r.status_code)
            assert f"<strong>{field}</strong>" in r.text, change
    with _portal(site, "me") as c:
        r = c.post(f"/me/records/{filed.id}/objection", data={"grounds": "wrong\x00"},
                   headers={"HX-Request": "true"})  # fmt: skip
        assert r.status_code == 422 and "<strong>grounds</strong>" in r.text, r.text
        r = c.post(f"/me/records/{filed.id}/objection",
                   data={"grounds": "paid in full;\r\nsee receipt\tno. 4"},
                   headers={"HX-Request": "true"})  # fmt: skip  # lines and tabs are text
        assert r.status_code == 200, r.text
    with _portal(site, "court") as c:
        r = c.post(f"/desk/records/{filed.id}/decision",
                   data={"kind": "objection", "outcome": "reject", "reason": "no\x00"},
                   headers={"HX-Request": "true"})  # fmt: skip
        assert r.status_code == 422 and "<strong>reason</strong>" in r.text, r.text
    with _portal(site, "airline") as c:
        form = {"subject": me, "measure": "restrict.flight", "purpose": "board\x00ing"}
        r = c.post("/check", data=form, headers={"HX-Request": "true"})
        assert r.status_code == 422 and "<strong>purpose</strong>" in r.text, r.text
    with site.client("court") as c:
        r = c.post("/api/v1/records", json=good | {"decision_ref": "red \x1b[31m"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "decision_ref", r.text
    with site.client("airline") as c:
        for purpose in ("a\x07b", "\x85", "x" * 201):
            r = c.get(f"/api/v1/checks/{me}/restrict.flight", params={"purpose": purpose})
            assert r.status_code == 422 and r.json()["error"]["field"] == "purpose", r.text
    stored = _stored_text(site)
    assert "\x00" not in stored and "\x1b" not in stored and "\x07" not in stored
    reg.audit.flush()
    assert site.ledger.verify_audit() is True


@pytest.mark.parametrize("site", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_an_audit_entry_the_store_refuses_is_set_aside_with_an_alarm(site: Live) -> None:
    """Should text ever get past validation, its entry must not block the log: here one is put
    in the queue directly (a NUL on PostgreSQL, a lone surrogate on SQLite)."""
    site.key("consumer", "transport", "airline")
    site.key("admin", "ops", "admin")
    someone = person_id(83)
    reg: Any = site.app.state.registry  # type: ignore[attr-defined]
    poison = "\x00" if site.ledger.sqlite_path is None else "\ud800"
    reg.audit.add_row(("consumer:x", "check restrict.flight", someone, f"p{poison}", None))
    with site.client("airline") as c:
        for n in range(5):  # the entries behind it are written, and the checks answered
            r = c.get(f"/api/v1/checks/{someone}/restrict.flight", params={"purpose": f"after{n}"})
            assert r.status_code == 200, r.text
    with site.client("admin") as c:
        r = c.get("/api/v1/admin/audit/verify")
        assert r.status_code == 200 and r.json()["intact"] is True, r.text
        assert r.json()["set_aside"] == 1
    purposes = [e.purpose for e in site.ledger.access_log(someone)]
    assert purposes == [f"after{n}" for n in range(5)]
    with _portal(site, "admin") as c:
        page = c.get("/admin")
        assert page.status_code == 200
        assert "Alarm: audit entries the store refused" in page.text
        assert ("\\x00" if poison == "\x00" else "\\ud800") in page.text


def test_the_cli_refuses_control_characters_and_prints_purposes_as_text(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {**os.environ, "SOCIALCREDIT_DB": f"sqlite:///{db}", "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "socialcredit", *args], capture_output=True,
                              text=True, env=env, timeout=120)  # fmt: skip

    assert run("db", "init").returncode == 0
    made = run("keys", "create", "--role", "consumer", "--principal", "transport",
               "--label", "bad\x1blabel")  # fmt: skip
    assert made.returncode != 0 and "label" in made.stderr + made.stdout
    from socialcredit.registry.ledger import Ledger

    me = person_id(84)
    with Ledger.open(str(db)) as ledger:
        for purpose in ("[/bold]", "[black on black]hidden[/]", "plain"):
            ledger.log_access(actor="consumer:k", action="check m", subject=me, purpose=purpose)
    shown = run("access-log", me)
    assert shown.returncode == 0, shown.stderr
    assert "[/bold]" in shown.stdout and "[black on black]hidden[/]" in shown.stdout
