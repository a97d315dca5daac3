"""The portal: the registry for people, server-rendered (Jinja2) with htmx for the forms.

==========  ==========  ========================================================================
page        role        what it shows and does
==========  ==========  ========================================================================
/           anyone      what the registry is and where to go
/login      anyone      paste an API key (``socialcredit keys create``): it opens a session
                        whose id (never the key) is kept in an HttpOnly, SameSite=Strict
                        cookie and checked on every request; signing out ends it
/me         subject     scores and grades (now and over the last two years), each list and
                        measure with its chain of reasons and end date, each record with its
                        legal basis, status and repair date; object, apply for repair; who read
                        the record, when and why (the read itself is logged)
/desk       authority   file a record; decide objections and repair applications
/check      consumer    is a subject restricted from a measure of the consumer's own domain
/admin      admin       the catalogs in force; decisions authorities owe past their deadline;
                        verify the audit chain
/lists      anyone      published list entries, searchable
/policy     anyone      every bundled catalog as a picture (record types -> lists ->
                        memoranda -> measures) with legal bases and the checker's findings
==========  ==========  ========================================================================

Every form posts to a portal route that calls the same workflows as the API through
:class:`~socialcredit.service.registry.Registry`, with the same role and ownership rules. With
JavaScript (htmx) the answer is swapped in place; without it the same forms work as plain posts.
Bad input answers 4xx with a message naming the field, in the page, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as default
from datetime import date
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from socialcredit.errors import (
    CatalogError,
    ImportRejected,
    InputError,
    NotFound,
    SocialCreditError,
)
from socialcredit.policy import checker
from socialcredit.policy.loader import BundledCatalog, CatalogIndex, Loaded, bundled, load
from socialcredit.policy.schema import MeasureKind, Nature
from socialcredit.registry import subjects, workflows
from socialcredit.registry.dates import add_months
from socialcredit.registry.evaluate import Profile, RecordState, evaluate
from socialcredit.registry.ledger import MAX_NAME, ApiKey, NewRecord, text_problem
from socialcredit.rules import RepairBlock, repair_block
from socialcredit.service.api import ISO_DAY
from socialcredit.service.errors import Forbidden
from socialcredit.service.registry import Registry

HERE = FsPath(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

COOKIE = "sc_portal_session"
SESSION_SECONDS = 8 * 3600
HOME = {"subject": "/me", "authority": "/desk", "consumer": "/check", "admin": "/admin"}
ROLE_TITLES = {
    "subject": "My record",
    "authority": "Authority desk",
    "consumer": "Check",
    "admin": "Administration",
}
HISTORY_MONTHS = (24, 12, 6, 3, 0)
"""Scores over time: evaluated this many months before today (a pure fold, so cheap)."""

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

STATUS_TEXT = {
    "in_effect": "in effect",
    "expired": "expired",
    "repaired": "repaired",
    "revoked": "revoked by the authority",
    "objection_upheld": "void: objection upheld",
    "unknown_type": "of a type the catalogs in force do not define",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["human"] = lambda s: str(s).replace("_", " ") if s is not None else ""


# --------------------------------------------------------------------------------------------
# Plumbing: rendering, who is signed in, errors as pages


class _NeedLogin(Exception):
    """No valid key in the cookie: go to the login page."""


class _Refused(Exception):
    """A page answer that is not the page: ``status``, the field at fault and why."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def _registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _render(name: str, **ctx: Any) -> str:
    return _env.get_template(name).render(**ctx)


def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("who", _current(request))
    ctx.setdefault("title", "")
    ctx["path"] = request.url.path
    session = request.cookies.get(COOKIE)
    ctx.setdefault("csrf", csrf_token(session) if session and ctx["who"] is not None else "")
    ctx["home"] = HOME
    ctx["role_titles"] = ROLE_TITLES
    ctx["synthetic"] = _registry(request).synthetic
    return HTMLResponse(_render(name, **ctx), status, headers=HEADERS)


def _fragment(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(_render(name, **ctx), status, headers=HEADERS)


def _current(request: Request) -> ApiKey | None:
    session = request.cookies.get(COOKIE)
    if not session or len(session) > 100:
        return None
    return _registry(request).sessions.get(session)


def _require(request: Request, role: str) -> ApiKey:
    key = _current(request)
    if key is None:
        raise _NeedLogin
    if key.role != role:
        raise _Refused(
            403,
            "role",
            f"this page is for {role} keys; you are signed in with {_a(key.role)} key",
        )
    return key


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site: an ``Origin`` other than this server's, or
    ``null`` (a sandboxed frame, a redirect across sites). A request without one (not a
    browser's) passes here; the forms of a signed-in page carry a token too
    (:func:`_check_csrf`), and the cookie is SameSite=Strict."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc != request.headers.get("host"):
        raise _Refused(403, "origin", "forms may only be posted from this site")


CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def csrf_token(session: str) -> str:
    """The token every form of a signed-in page carries (a hidden field; htmx sends it as the
    ``X-CSRF-Token`` header): derived from the session id, which only the HttpOnly cookie
    holds, so a page of another site cannot know it."""
    return hashlib.sha256(b"socialcredit portal form\x00" + session.encode()).hexdigest()[:32]


def _check_csrf(request: Request, form: FormData | None) -> None:
    """Refuse a form sent with a session cookie but without the session's token."""
    session = request.cookies.get(COOKIE)
    if not session:
        return  # no session to act in: the handler asks for a sign-in
    given = request.headers.get(CSRF_HEADER)
    if given is None and form is not None:
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if given is None or not hmac.compare_digest(given, csrf_token(session)):
        raise _Refused(403, "csrf", "this form was not sent from a page of this site, or "
                                    "the page is older than your session: reload it")  # fmt: skip


def _problem(exc: Exception) -> tuple[int, str | None, str]:
    """``(status, field, message)`` for an error, as the API would answer it."""
    from socialcredit.service.app import _status

    if isinstance(exc, _Refused):
        return exc.status, exc.field, exc.message
    if isinstance(exc, ImportRejected):
        first = exc.problems[0]
        return 422, first[1], first[2]
    if isinstance(exc, InputError):
        return _status(exc), exc.field, exc.message
    if isinstance(exc, SocialCreditError):
        text = str(exc)
        field, sep, message = text.partition(": ")
        if sep and " " not in field:
            return _status(exc), field, message
        return _status(exc), None, text
    return 400, None, str(exc)


def _error_response(request: Request, status: int, field: str | None, message: str) -> Response:
    if _htmx(request):
        return _fragment("_message.html", status, kind="error", field=field, message=message)
    return _page(request, "error.html", status, title=f"Error {status}", code=status,
                 field=field, message=message)  # fmt: skip


async def _form(request: Request, *, csrf: bool = True) -> FormData:
    _same_origin(request)
    form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
    if csrf:
        _check_csrf(request, form)
    return form


MULTILINE = frozenset({"grounds", "reason"})
"""Fields whose text may hold line breaks and tabs (as in the API)."""


def _text(form: FormData, name: str, *, label: str, max_len: int, required: bool = True) -> str:
    """A form field by the registry's one rule for text (as the API and the CLI apply it)."""
    raw = form.get(name)
    value = raw.strip() if isinstance(raw, str) else ""
    if required and not value:
        plain = name.replace("_", " ")
        raise InputError(name, "this field is required" + (f" ({label})" if label != plain else ""))
    if len(value) > max_len:
        raise InputError(name, f"too long: at most {max_len} characters")
    why = text_problem(value, multiline=name in MULTILINE)
    if why is not None:
        raise InputError(name, why)
    return value


def _choice(form: FormData, name: str, *, label: str, options: Mapping[str, Any]) -> str:
    value = _text(form, name, label=label, max_len=200)
    if value not in options:
        raise InputError(name, f"{value!r} is not one of the choices for {label}")
    return value


def _record_id(text: str) -> str:
    if not text.isdigit() or len(text) > 20:
        raise InputError("record", f"{text[:40]!r} is not a record number")
    return text


def _day(text: str, field: str, default: date) -> date:
    if not text:
        return default
    try:
        if not ISO_DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not a date (expected YYYY-MM-DD)") from None


router = APIRouter(include_in_schema=False)


# --------------------------------------------------------------------------------------------
# Home, login, logout


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return _page(request, "home.html", title="Registry")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    return _page(request, "login.html", title="Sign in", next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await _form(request, csrf=False)  # no session yet: the origin is checked
    nxt = _safe_next(form.get("next"))
    try:
        token = _text(form, "key", label="the API key", max_len=200)
        ledger = _registry(request).ledger
        session = await run_in_threadpool(ledger.open_session, token, seconds=SESSION_SECONDS)
        key = None if session is None else await run_in_threadpool(ledger.session_key, session)
        if session is None or key is None:
            raise _Refused(401, "key", "this key is unknown or has been revoked")
    except (InputError, _Refused) as exc:
        status, field, message = _problem(exc)
        return _page(request, "login.html", status, title="Sign in", next=nxt,
                     error={"field": field, "message": message})  # fmt: skip
    target = nxt or HOME.get(key.role, "/")
    response = RedirectResponse(target, 303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        session,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    session = request.cookies.get(COOKIE)
    if session and len(session) <= 100:  # ended here too: a copy of the cookie stops working
        reg = _registry(request)
        await run_in_threadpool(reg.ledger.end_session, session)
        reg.sessions.forget(session)
    response = RedirectResponse("/", 303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _safe_next(value: object) -> str:
    """Only a path on this site (never ``//host`` or a scheme) is followed after login."""
    if not isinstance(value, str) or len(value) > 500:
        return ""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value


# --------------------------------------------------------------------------------------------
# The subject: my record


def _title(items: Mapping[str, Any], item_id: str | None) -> str:
    if item_id is None:
        return ""
    item = items.get(item_id)
    return str(item.title) if item is not None else item_id


def _record_view(index: CatalogIndex, state: RecordState, today: date) -> dict[str, Any]:
    rec = state.record
    rt = index.record_types.get(rec.record_type)
    view: dict[str, Any] = {
        "id": rec.id,
        "type": rec.record_type,
        "type_title": rt.title if rt else rec.record_type,
        "legal_basis": rt.legal_basis if rt else "",
        "severity": rt.severity.value if rt else "",
        "authority": rec.authority,
        "authority_title": _title(index.authorities, rec.authority),
        "decided_on": rec.decided_on,
        "decision_ref": rec.decision_ref,
        "counterpart": rec.counterpart,
        "status": state.status,
        "status_text": STATUS_TEXT.get(state.status, state.status.replace("_", " ")),
        "voided": state.voided,
        "effect_until": state.effect_until,
        "published": state.published,
        "published_until": state.published_until,
        "repairable_from": state.repairable_from,
        "objection": state.objection,
        "objection_decide_by": state.objection_decide_by,
        "repair": state.repair,
        "repair_decide_by": state.repair_decide_by,
        "fulfilled_on": state.fulfilled_on,
        "repaired_on": state.repaired_on,
        "overdue": any(
            by is not None and today > by
            for by in (state.objection_decide_by, state.repair_decide_by)
        ),
        "can_object": not state.voided and state.objection != "pending",
        "can_repair": False,
        "repair_note": "",
    }
    block = repair_block(
        repairable=rt is not None and rt.repairable,
        is_default=rt is not None and rt.nature is Nature.default,
        repairable_from=state.repairable_from,
        voided=state.voided,
        in_effect=state.status == "in_effect",
        fulfilled=state.fulfilled_on is not None,
        on=today,
    )
    notes = {
        RepairBlock.NOT_REPAIRABLE: "Records of this type cannot be repaired.",
        RepairBlock.TOO_EARLY: f"You may apply for repair from {state.repairable_from}.",
        RepairBlock.NOT_FULFILLED: "This records an obligation not performed: it must be "
        "fulfilled before repair.",
    }
    if block is not None:
        view["repair_note"] = notes.get(block, "")
    elif state.repair not in ("applied", "granted"):
        view["can_repair"] = True
    return view


def _measure_view(index: CatalogIndex, m: Any) -> dict[str, Any]:
    measure = index.measures.get(m.measure)
    return {
        "id": m.measure,
        "title": measure.title if measure else m.measure,
        "kind": m.kind,
        "legal_basis": measure.legal_basis if measure else "",
        "domain": measure.domain if measure else "",
        "since": m.since,
        "until": m.until,
        "list": m.list,
        "list_title": _title(index.lists, m.list),
        "memorandum": m.memorandum,
        "memorandum_title": _title(index.memoranda, m.memorandum),
        "memorandum_basis": (
            index.memoranda[m.memorandum].legal_basis if m.memorandum in index.memoranda else ""
        ),  # fmt: skip
        "scheme": m.scheme,
        "scheme_title": _title(index.schemes, m.scheme),
        "private": bool(m.scheme in index.schemes and index.schemes[m.scheme].private),
        "records": list(m.records),
        "via_role": m.via_role,
        "via_subject": m.via_subject,
    }


def _profile_view(index: CatalogIndex, profile: Profile, today: date) -> dict[str, Any]:
    records = {s.record.id: _record_view(index, s, today) for s in profile.records}
    measures = [_measure_view(index, m) for m in profile.measures]
    lists = []
    for m in profile.lists:
        lst = index.lists.get(m.list)
        memos: dict[str | None, dict[str, Any]] = {}
        for mv in measures:
            if mv["list"] != m.list or mv["via_role"]:
                continue
            memo = memos.setdefault(
                mv["memorandum"],
                {"id": mv["memorandum"], "title": mv["memorandum_title"],
                 "legal_basis": mv["memorandum_basis"], "measures": []},
            )  # fmt: skip
            memo["measures"].append(mv)
        lists.append(
            {
                "id": m.list,
                "title": lst.title if lst else m.list,
                "kind": m.kind,
                "legal_basis": lst.legal_basis if lst else "",
                "since": m.since,
                "until": m.until,
                "removal": list(m.removal),
                "scheme": m.scheme,
                "scheme_title": _title(index.schemes, m.scheme),
                "records": [records[r] for r in m.records if r in records],
                "other_records": [r for r in m.records if r not in records],
                "memoranda": list(memos.values()),
            }
        )
    schemes = []
    for s in profile.schemes.values():
        scheme = index.schemes.get(s.scheme)
        private = bool(scheme and scheme.private)
        schemes.append(
            {
                "id": s.scheme,
                "title": scheme.title if scheme else s.scheme,
                "private": private,
                "keeper": keeper(index, scheme.operator if scheme else None, private),
                "kind": scheme.kind if scheme else "",
                "legal_basis": scheme.legal_basis if scheme else "",
                "score": s.score,
                "grade": s.grade,
                "exhausted": s.exhausted,
                "dimensions": s.dimensions or {},
                "history": [],
            }
        )
    return {
        "subject": profile.subject,
        "as_of": profile.as_of,
        "schemes": schemes,
        "lists": lists,
        "measures": distinct_measures(measures),
        "reasons": len(measures),
        "records": list(records.values()),
    }


def keeper(index: CatalogIndex, operator: str | None, private: bool) -> str:
    """Who keeps a score, in words: a company (a private or commercial score, on data the
    subject agreed to share) or an authority of the state."""
    who = _title(index.authorities, operator) if operator else ""
    if private:
        return f"{who or 'a company'}: a private, commercial score, not the state's"
    return f"{who or 'a public authority'}: kept by the state"


def distinct_measures(paths: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per measure in force, however many lists, memoranda or roles bring it (each
    is one of its ``paths``): in force until the last of them ends (open if any is)."""
    out: dict[str, dict[str, Any]] = {}
    for mv in paths:
        m = out.setdefault(mv["id"], {**mv, "paths": []})
        m["paths"].append(mv)
        ends = [p["until"] for p in m["paths"]]
        m["until"] = None if None in ends else max(ends)
    return list(out.values())


def _score(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


_env.filters["score"] = _score


def _history(
    reg: Registry, facts: list[Any], subject: str, today: date, view: dict[str, Any]
) -> list[date]:
    """Fill each scheme's ``history`` with (score, grade) at a few past dates."""
    if not view["schemes"]:
        return []
    days = [add_months(today, -n) for n in HISTORY_MONTHS]
    by_day = [evaluate(facts, reg.catalog, d, subject=subject).schemes for d in days]
    for s in view["schemes"]:
        s["history"] = [
            (d, found[s["id"]].score, found[s["id"]].grade) if s["id"] in found else (d, None, None)
            for d, found in zip(days, by_day, strict=True)
        ]
    return days


def _subject_page_data(reg: Registry, subject: str) -> dict[str, Any]:
    today = reg.today()
    facts = reg.ledger.facts(subject)
    profile = evaluate(facts, reg.catalog, today, subject=subject)
    reg.ledger.log_access(actor=f"subject:{subject}", action="profile", subject=subject,
                          purpose="subject access")  # fmt: skip
    view = _profile_view(reg.catalog.index, profile, today)
    days = _history(reg, facts, subject, today, view)
    reg.audit.flush()
    log = reg.ledger.access_log(subject)
    return {
        "profile": view,
        "days": days,
        "today": today,
        "access": [
            {"at": e.at, "actor": e.actor, "action": e.action, "purpose": e.purpose}
            for e in reversed(log)
        ],
    }


@router.get("/me", response_class=HTMLResponse)
def my_record(request: Request) -> Response:
    key = _require(request, "subject")
    data = _subject_page_data(_registry(request), key.principal)
    return _page(request, "me.html", title="My record", **data)


def _record_card(reg: Registry, subject: str, record_id: str) -> dict[str, Any]:
    today = reg.today()
    profile = evaluate(reg.ledger.facts(subject), reg.catalog, today, subject=subject)
    for state in profile.records:
        if state.record.id == record_id:
            return _record_view(reg.catalog.index, state, today)
    raise NotFound(f"record: no record {record_id!r} about you")


def _own(reg: Registry, key: ApiKey, record_id: str) -> None:
    reg.subjects_record(record_id, subject=key.principal, action="portal step")


async def _subject_step(
    request: Request,
    record_id: str,
    step: Callable[[Registry, ApiKey, str, FormData], str],
) -> Response:
    """Run a subject's due-process step and answer with the record's card (htmx) or the page."""
    key = _require(request, "subject")
    reg = _registry(request)
    record_id = _record_id(record_id)
    form = await _form(request)

    def run() -> tuple[int, dict[str, Any]]:
        _own(reg, key, record_id)
        try:
            notice = {"kind": "ok", "field": None, "message": step(reg, key, record_id, form)}
            status = 200
        except SocialCreditError as exc:
            if isinstance(exc, NotFound):
                raise
            status, field, message = _problem(exc)
            notice = {"kind": "error", "field": field, "message": message}
        return status, {"r": _record_card(reg, key.principal, record_id), "notice": notice,
                        "form": {k: v for k, v in form.items() if isinstance(v, str)}}  # fmt: skip

    status, ctx = await run_in_threadpool(run)
    if _htmx(request):
        return _fragment("_record.html", status, **ctx)
    data = await run_in_threadpool(_subject_page_data, reg, key.principal)
    return _page(request, "me.html", status, title="My record", notices={record_id: ctx["notice"]},
                 **data)  # fmt: skip


def _object(reg: Registry, key: ApiKey, record_id: str, form: FormData) -> str:
    grounds = _text(form, "grounds", label="say why the record is wrong", max_len=4000)
    today = reg.today()
    p = workflows.file_objection(reg.ledger, reg.catalog, record_id, by=key.principal,
                                 grounds=grounds, on=today, today=today)  # fmt: skip
    reg.touched(record_id)
    return f"Objection filed on {p.filed_on}. {p.authority} must decide by {p.decide_by}."


def _repair(reg: Registry, key: ApiKey, record_id: str, form: FormData) -> str:
    if form.get("commitment") != "yes":
        raise InputError("commitment", "a repair application needs your public credit commitment")
    today = reg.today()
    p = workflows.apply_repair(reg.ledger, reg.catalog, record_id, by=key.principal,
                               commitment=True, on=today, today=today)  # fmt: skip
    reg.touched(record_id)
    return f"Repair applied for on {p.filed_on}. {p.authority} must decide by {p.decide_by}."


@router.post("/me/records/{record_id}/objection", response_class=HTMLResponse)
async def object_to(request: Request, record_id: str) -> Response:
    return await _subject_step(request, record_id, _object)


@router.post("/me/records/{record_id}/repair", response_class=HTMLResponse)
async def apply_repair(request: Request, record_id: str) -> Response:
    return await _subject_step(request, record_id, _repair)


# --------------------------------------------------------------------------------------------
# The authority: file a record, decide what awaits a decision


def _mandate(index: CatalogIndex, authority: str) -> list[dict[str, Any]]:
    out = []
    for code in sorted(index.mandate.get(authority, ())):
        rt = index.record_types[code]
        out.append({"code": code, "title": rt.title, "role": rt.role, "severity": rt.severity,
                    "legal_basis": rt.legal_basis})  # fmt: skip
    return out


def _pending(reg: Registry, authority: str) -> list[dict[str, Any]]:
    items = reg.desk(authority)
    index = reg.catalog.index
    for item in items:
        item["type_title"] = _title(index.record_types, item["record_type"])
    return items


def _file_form(
    reg: Registry, key: ApiKey, values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    fresh = {"client_key": secrets.token_urlsafe(12), "decided_on": reg.today().isoformat()}
    return {"mandate": _mandate(reg.catalog.index, key.principal),
            "values": dict(values) if values is not None else fresh}  # fmt: skip


@router.get("/desk", response_class=HTMLResponse)
def desk(request: Request) -> Response:
    key = _require(request, "authority")
    reg = _registry(request)
    return _page(request, "desk.html", title="Authority desk", authority=key.principal,
                 authority_title=_title(reg.catalog.index.authorities, key.principal),
                 pending=_pending(reg, key.principal), file=_file_form(reg, key),
                 file_notice=None, desk_notice=None)  # fmt: skip


@router.post("/desk/records", response_class=HTMLResponse)
async def file_record(request: Request) -> Response:
    key = _require(request, "authority")
    reg = _registry(request)
    form = await _form(request)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}

    def run() -> tuple[int, dict[str, Any]]:
        try:
            index = reg.catalog.index
            record_type = _text(form, "record_type", label="record type", max_len=120)
            if record_type not in index.mandate.get(key.principal, ()):
                raise InputError("record_type", f"{record_type!r} is not in your mandate")
            new = NewRecord(
                subject=_text(form, "subject", label="subject", max_len=40),
                record_type=record_type,
                authority=key.principal,
                decided_on=_day(
                    _text(form, "decided_on", label="decision date", max_len=10),
                    "decided_on",
                    reg.today(),
                ),  # fmt: skip
                decision_ref=_text(form, "decision_ref", label="decision reference", max_len=500),
                counterpart=_text(
                    form, "counterpart", label="counterpart", max_len=40, required=False
                )
                or None,  # fmt: skip
                client_key=_text(form, "client_key", label="form key", max_len=200, required=False)
                or None,  # fmt: skip
                subject_name=_text(
                    form, "subject_name", label="published name", max_len=MAX_NAME, required=False
                )
                or None,  # fmt: skip
            )
            result = reg.submit([new], actor=f"authority:{key.principal}")[0]
        except SocialCreditError as exc:
            status, field, message = _problem(exc)
            notice = {"kind": "error", "field": field, "message": message}
            return status, {"file": _file_form(reg, key, values), "file_notice": notice}
        verb = "filed" if result.created else "was already filed (same form sent twice)"
        notice = {
            "kind": "ok",
            "field": None,
            "message": f"Record {result.id} {verb}: {new.record_type} about {new.subject}.",
        }
        status = 201 if result.created else 200
        return status, {"file": _file_form(reg, key), "file_notice": notice}

    status, ctx = await run_in_threadpool(run)
    if _htmx(request):
        return _fragment("_file_form.html", status, **ctx)
    return _page(request, "desk.html", status, title="Authority desk", authority=key.principal,
                 authority_title=_title(reg.catalog.index.authorities, key.principal),
                 pending=await run_in_threadpool(_pending, reg, key.principal), desk_notice=None,
                 **ctx)  # fmt: skip


OUTCOMES = {
    "objection": {"uphold": True, "reject": False},
    "repair": {"grant": True, "refuse": False},
}


@router.post("/desk/records/{record_id}/decision", response_class=HTMLResponse)
async def decide(request: Request, record_id: str) -> Response:
    key = _require(request, "authority")
    reg = _registry(request)
    form = await _form(request)

    def run() -> tuple[int, dict[str, Any]]:
        item = {"record_id": record_id[:40], "kind": form.get("kind")}
        try:
            rid = _record_id(record_id)
            kind = _choice(form, "kind", label="what is decided", options=OUTCOMES)
            outcome = _choice(form, "outcome", label="the decision", options=OUTCOMES[kind])
            reason = _text(form, "reason", label="a decision gives its reasons", max_len=2000)
            reg.own_record(rid, authority=key.principal, action=f"{kind} decision")
            today = reg.today()
            decide = workflows.decide_objection if kind == "objection" else workflows.decide_repair
            flag = {"upheld": OUTCOMES[kind][outcome]} if kind == "objection" else {
                "granted": OUTCOMES[kind][outcome]}  # fmt: skip
            ev = decide(reg.ledger, reg.catalog, rid, authority=key.principal, reason=reason,
                        on=today, today=today, **flag)  # fmt: skip
            reg.touched(rid)
        except SocialCreditError as exc:
            status, field, message = _problem(exc)
            current = [p for p in reg.pending(key.principal) if p["record_id"] == record_id]
            if current:
                item = current[0] | {"type_title": _title(reg.catalog.index.record_types,
                                                           current[0]["record_type"])}  # fmt: skip
            notice = {"kind": "error", "field": field, "message": message}
            return status, {
                "p": item,
                "notice": notice,
                "decided": False,
                "form": {k: v for k, v in form.items() if isinstance(v, str)},
            }
        done = str(ev.kind).replace("_", " ")
        notice = {
            "kind": "ok",
            "field": None,
            "message": f"Record {rid}: {done} on {ev.on}. Reasons: {reason}",
        }
        return 200, {"p": item, "notice": notice, "decided": True, "form": {}}

    status, ctx = await run_in_threadpool(run)
    if _htmx(request):
        return _fragment("_pending.html", status, **ctx)
    return _page(request, "desk.html", status, title="Authority desk", authority=key.principal,
                 authority_title=_title(reg.catalog.index.authorities, key.principal),
                 pending=await run_in_threadpool(_pending, reg, key.principal),
                 file=_file_form(reg, key), file_notice=None,
                 desk_notice=ctx["notice"])  # fmt: skip


# --------------------------------------------------------------------------------------------
# The consumer: one check


def _domain_measures(index: CatalogIndex, domain: str) -> list[dict[str, str]]:
    return [{"id": m.id, "title": m.title, "kind": m.kind.value}
            for m in sorted(index.measures.values(),
                            key=lambda m: (m.kind is not MeasureKind.restriction, m.id))
            if m.domain == domain]  # fmt: skip


def verdict(decision: str, title: str, restriction: bool) -> str:
    """The check's answer as a sentence: the measure's title is a name (``No air travel``),
    not a verb to put after "deny"."""
    named = f"\u201c{title}\u201d"
    if restriction:
        return (
            f"The restriction {named} is in force for this subject: refuse the use."
            if decision == "deny"
            else f"The restriction {named} is not in force for this subject."
        )
    return (f"The incentive {named} is granted to this subject." if decision == "allow"
            else f"The incentive {named} is not granted to this subject.")  # fmt: skip


@router.get("/check", response_class=HTMLResponse)
def check_page(request: Request) -> Response:
    key = _require(request, "consumer")
    reg = _registry(request)
    return _page(request, "check.html", title="Check", domain=key.principal,
                 measures=_domain_measures(reg.catalog.index, key.principal),
                 values={"purpose": "booking check"}, answer=None, notice=None)  # fmt: skip


@router.post("/check", response_class=HTMLResponse)
async def check(request: Request) -> Response:
    key = _require(request, "consumer")
    reg = _registry(request)
    form = await _form(request)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}

    def run() -> tuple[int, dict[str, Any]]:
        index = reg.catalog.index
        try:
            subject, _ = subjects.validate(_text(form, "subject", label="subject", max_len=40),
                                           field="subject")  # fmt: skip
            measure_id = _text(form, "measure", label="measure", max_len=120)
            purpose = _text(form, "purpose", label="purpose", max_len=200)
            measure = index.measures.get(measure_id)
            if measure is None:
                raise InputError("measure", f"no measure {measure_id!r}")
            if measure.domain != key.principal:
                raise Forbidden(f"measure: {measure_id} is in domain {measure.domain!r}; this "
                                f"key may check only {key.principal!r}")  # fmt: skip
        except SocialCreditError as exc:
            status, field, message = _problem(exc)
            return status, {
                "answer": None,
                "notice": {"kind": "error", "field": field, "message": message},
            }
        answer = reg.checks.decide(subject, measure_id, reg.today())
        ticket = reg.audit.add({"actor": f"consumer:{key.key_id}", "action": f"check {measure_id}",
                                "subject": subject, "purpose": purpose,
                                "detail": {"decision": answer["decision"]}})  # fmt: skip
        reg.audit.wait(ticket)  # nothing shown before its audit entry is durable
        for reason in answer["reasons"]:
            reason["list_title"] = _title(index.lists, reason.get("list"))
            reason["memorandum_title"] = _title(index.memoranda, reason.get("memorandum"))
        answer["measure_title"] = measure.title
        answer["restriction"] = measure.kind is MeasureKind.restriction
        answer["verdict"] = verdict(answer["decision"], measure.title, answer["restriction"])
        return 200, {"answer": answer, "notice": None}

    status, ctx = await run_in_threadpool(run)
    if _htmx(request):
        return _fragment("_check_result.html", status, **ctx)
    return _page(request, "check.html", status, title="Check", domain=key.principal,
                 measures=_domain_measures(reg.catalog.index, key.principal), values=values,
                 **ctx)  # fmt: skip


# --------------------------------------------------------------------------------------------
# The admin


def _overdue(reg: Registry, key: ApiKey) -> list[dict[str, Any]]:
    """The decisions owed past their deadline; each subject listed sees the read."""
    items = reg.overdue(reader=f"admin:{key.principal}")
    index = reg.catalog.index
    for p in items:
        rt = index.record_types.get(p["record_type"])
        p["type_title"] = rt.title if rt else p["record_type"]
    return items


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request) -> Response:
    key = _require(request, "admin")
    reg = _registry(request)
    return _page(request, "admin.html", title="Administration", summary=reg.catalog_summary(),
                 verified=None, overdue=_overdue(reg, key),
                 set_aside=reg.ledger.dead_letters(),
                 exemptions=exemptions_of(reg.catalog))  # fmt: skip


@router.post("/admin/audit", response_class=HTMLResponse)
async def verify_audit(request: Request) -> Response:
    key = _require(request, "admin")
    await _form(request)
    reg = _registry(request)

    def run() -> dict[str, Any]:
        from socialcredit.errors import LedgerError

        reg.audit.flush()
        try:
            reg.ledger.verify_audit()
        except LedgerError as exc:
            return {"intact": False, "entries": reg.ledger.last_audit_seq(), "problem": str(exc)}
        return {"intact": True, "entries": reg.ledger.last_audit_seq(), "problem": None}

    verified = await run_in_threadpool(run)
    status = 200 if verified["intact"] else 409
    if _htmx(request):
        return _fragment("_audit.html", status, verified=verified)
    overdue = await run_in_threadpool(_overdue, reg, key)
    set_aside = await run_in_threadpool(reg.ledger.dead_letters)
    return _page(request, "admin.html", status, title="Administration",
                 summary=reg.catalog_summary(), verified=verified, overdue=overdue,
                 set_aside=set_aside, exemptions=exemptions_of(reg.catalog))  # fmt: skip


# --------------------------------------------------------------------------------------------
# Public lists


@router.get("/lists", response_class=HTMLResponse)
def public_lists(
    request: Request, q: str = "", list_id: Annotated[str, Query(alias="list")] = ""
) -> Response:
    reg = _registry(request)
    index = reg.catalog.index
    options = [{"id": x.id, "title": x.title} for x in index.lists.values() if x.public]
    q, list_id = q.strip(), list_id.strip()
    error = None
    entries: list[dict[str, Any]] = []
    try:
        if len(q) > 40:
            raise InputError("q", "search by the start of an ID: at most 40 characters")
        if q and not re.fullmatch(r"[0-9A-Za-z]+", q):
            raise InputError("q", "an ID has only digits and letters")
        if list_id and list_id not in index.lists:
            raise InputError("list", f"no list {list_id[:120]!r}")
        entries = reg.public_entries(q=q or None, list_id=list_id or None, limit=100)
    except InputError as exc:
        error = {"field": exc.field, "message": exc.message}
    status = 422 if error else 200
    ctx = {"entries": entries, "q": q[:40], "list_id": list_id[:120], "error": error,
           "limit": 100, "options": options}  # fmt: skip
    if _htmx(request) and request.headers.get("hx-target") == "results":
        return _fragment("_lists_results.html", status, **ctx)
    return _page(request, "lists.html", status, title="Public lists", **ctx)


# --------------------------------------------------------------------------------------------
# Policy explorer


PROFILES = {p.value: p for p in checker.Profile}
SECTION_OF = {"record_types": "rt", "schemes": "scheme", "lists": "list", "memoranda": "memo",
              "measures": "measure"}  # fmt: skip
_LOCATION = re.compile(r"^(?:[^:]*\.toml: )?(\w+)\[([^\]]+)\]")


@lru_cache(maxsize=1)
def _bundled() -> tuple[BundledCatalog, ...]:
    return tuple(bundled())


@lru_cache(maxsize=64)
def _loaded(catalog_id: str) -> tuple[Loaded | None, tuple[checker.Finding, ...]]:
    """A bundled catalog and its load findings (``SC000``) if it cannot be loaded."""
    found = next((b for b in _bundled() if b.id == catalog_id), None)
    if found is None:
        raise NotFound(f"catalog: no bundled catalog {catalog_id[:80]!r}")
    try:
        return load(found.path), ()
    except CatalogError as exc:
        return None, tuple(checker.load_findings(exc, found.path.name))


@lru_cache(maxsize=64)
def _findings(catalog_id: str, profile: str) -> tuple[checker.Finding, ...]:
    loaded, failed = _loaded(catalog_id)
    if loaded is None:
        return failed
    return tuple(checker.check(loaded, profile=PROFILES[profile]))


@router.get("/policy", response_class=HTMLResponse)
def policy_index(request: Request) -> Response:
    rows = []
    for b in _bundled():
        verdicts = {}
        for name in PROFILES:
            errors, warnings = checker.counts(_findings(b.id, name))
            verdicts[name] = {"errors": errors, "warnings": warnings}
        rows.append({"id": b.id, "title": b.meta.title, "version": b.meta.version,
                     "synthetic": b.synthetic, "verdicts": verdicts})  # fmt: skip
    return _page(request, "policy_index.html", title="Policy explorer", rows=rows,
                 profiles=list(PROFILES))  # fmt: skip


@dataclass
class _Node:
    section: str
    id: str
    title: str
    legal_basis: str
    facts: list[tuple[str, str]]
    to: list[tuple[str, str]]
    findings: list[int]
    worst: str = ""
    grouped: list[tuple[str, str, int, int]] = default(default_factory=list)
    """``(code, worst severity, count, first finding)`` per code, for the node's card."""

    @property
    def anchor(self) -> str:
        return f"{SECTION_OF[self.section]}-{self.id}"


def _nodes(index: CatalogIndex) -> dict[str, list[_Node]]:
    """The catalog as columns of nodes, each with the nodes it feeds (``to``)."""
    cols: dict[str, list[_Node]] = {s: [] for s in SECTION_OF}
    feeds_list: dict[str, list[str]] = {}
    feeds_scheme: dict[str, list[str]] = {}
    for lst in index.lists.values():
        for code in lst.entry.record_types:
            feeds_list.setdefault(code, []).append(lst.id)
    for scheme in index.schemes.values():
        rules = list(getattr(scheme, "rules", ()))
        for dim in getattr(scheme, "dimensions", ()):
            rules += list(dim.rules)
        for rule in rules:
            if scheme.id not in feeds_scheme.setdefault(rule.record_type, []):
                feeds_scheme[rule.record_type].append(scheme.id)
    for rt in index.record_types.values():
        pub = rt.publication
        window = f"public {pub.max_months} months" if pub.max_months is not None else "no end"
        cols["record_types"].append(_Node(
            "record_types", rt.code, rt.title, rt.legal_basis,
            [("domain", rt.domain), ("severity", rt.severity.value),
             ("nature", rt.nature.value), ("publication", f"{window}, repair from "
                                           f"{pub.min_months} months"),
             ("issued by", ", ".join(rt.issuers) or "nobody")],
            [("schemes", s) for s in feeds_scheme.get(rt.code, ())]
            + [("lists", x) for x in feeds_list.get(rt.code, ())], [],
        ))  # fmt: skip
    for scheme in index.schemes.values():
        to = [("lists", x.id) for x in index.lists.values() if x.entry.scheme == scheme.id]
        to += [("measures", m) for perk in scheme.perks for m in perk.measures]
        grades = ", ".join(f"{b.grade} from {_score(b.min)}" for b in scheme.bands)
        cols["schemes"].append(_Node(
            "schemes", scheme.id, scheme.title, scheme.legal_basis,
            [("kind", scheme.kind), ("grades", grades or "none")], to, [],
        ))  # fmt: skip
    for lst in index.lists.values():
        entry = (", ".join(lst.entry.record_types) if lst.entry.record_types
                 else f"score of {lst.entry.scheme}")  # fmt: skip
        duration = f"{lst.duration_months} months" if lst.duration_months else "no set duration"
        cols["lists"].append(_Node(
            "lists", lst.id, lst.title, lst.legal_basis,
            [("kind", lst.kind.value), ("entry", entry), ("duration", duration),
             ("ways off", ", ".join(r.value for r in lst.removal) or "none"),
             ("public", "yes" if lst.public else "no")],
            [("memoranda", m.id) for m in index.memoranda_by_list.get(lst.id, ())], [],
        ))  # fmt: skip
    for memo in index.memoranda.values():
        cols["memoranda"].append(_Node(
            "memoranda", memo.id, memo.title, memo.legal_basis,
            [("signatories", ", ".join(memo.signatories) or "none named"),
             ("reaches", ", ".join(r.value for r in memo.extends_to) or "the listed subject")],
            [("measures", m) for m in memo.measures], [],
        ))  # fmt: skip
    for m in index.measures.values():
        cols["measures"].append(_Node(
            "measures", m.id, m.title, m.legal_basis,
            [("kind", m.kind.value), ("domain", m.domain)], [], [],
        ))  # fmt: skip
    return cols


def _attach(cols: dict[str, list[_Node]], findings: tuple[checker.Finding, ...]) -> list[int]:
    """Hang each finding on the node its location names; returns the ones on no node."""
    by_key = {(n.section, n.id): n for nodes in cols.values() for n in nodes}
    loose = []
    for i, f in enumerate(findings):
        match = _LOCATION.match(f.location)
        node = by_key.get((match.group(1), match.group(2))) if match else None
        if node is None:
            loose.append(i)
            continue
        node.findings.append(i)
        if f.severity is checker.Severity.error:
            node.worst = "error"
        elif not node.worst:
            node.worst = "warning"
    for nodes in cols.values():
        for node in nodes:
            by_code: dict[str, tuple[str, str, int, int]] = {}
            for i in node.findings:
                f = findings[i]
                code, worst, count, first = by_code.get(f.code, (f.code, "warning", 0, i))
                if f.severity is checker.Severity.error:
                    worst = "error"
                by_code[f.code] = (code, worst, count + 1, first)
            node.grouped = list(by_code.values())
    return loose


BOX_W, BOX_H, ROW, GAP, TOP = 200, 22, 28, 70, 34


def _picture(cols: dict[str, list[_Node]]) -> dict[str, Any]:
    """A left-to-right map: boxes per column, ordered to keep edges short, and curves."""
    shown = [s for s in SECTION_OF if cols[s] or s != "schemes"]
    place: dict[tuple[str, str], tuple[float, float]] = {}
    columns = []
    incoming: dict[tuple[str, str], list[float]] = {}
    for c, section in enumerate(shown):
        nodes = cols[section]
        if c > 0:

            def order(n: _Node, section: str = section) -> float:
                ys = incoming.get((section, n.id))
                return sum(ys) / len(ys) if ys else float("inf")

            nodes = sorted(nodes, key=order)
            cols[section] = nodes
        x = c * (BOX_W + GAP) + 4
        boxes = []
        for r, n in enumerate(nodes):
            y = TOP + r * ROW
            place[(section, n.id)] = (x, y)
            label = n.id if len(n.id) <= 30 else n.id[:29] + "\u2026"
            boxes.append({"x": x, "y": y, "node": n, "label": label})
            for target in n.to:
                incoming.setdefault(target, []).append(r)
        columns.append({"title": section.replace("_", " ").capitalize(), "x": x, "boxes": boxes})
    edges = []
    for section in shown:
        for n in cols[section]:
            x1, y1 = place[(section, n.id)]
            for target in n.to:
                if target not in place:
                    continue
                x2, y2 = place[target]
                a, b = x1 + BOX_W, y1 + BOX_H / 2
                c2, d = x2, y2 + BOX_H / 2
                mid = (a + c2) / 2
                edges.append(
                    f"M{a:.0f},{b:.0f} C{mid:.0f},{b:.0f} {mid:.0f},{d:.0f} {c2:.0f},{d:.0f}"
                )
    rows = max((len(cols[s]) for s in shown), default=0)
    return {
        "width": len(shown) * (BOX_W + GAP) - GAP + 8,
        "height": TOP + max(rows, 1) * ROW + 6,
        "columns": columns,
        "edges": edges,
        "box_w": BOX_W,
        "box_h": BOX_H,
    }


def exemptions_of(loaded: Loaded | None) -> list[dict[str, str]]:
    """A catalog's reviewed exemptions from label screening, as the portal shows them."""
    if loaded is None:
        return []
    out = []
    for ex in loaded.catalog.exemptions:
        origin = loaded.origin.get(("exemptions", ex.key))
        out.append({
            "section": ex.section, "id": ex.id,
            "subjects": ", ".join(s.value for s in ex.subjects),
            "reviewed_by": ex.reviewed_by, "reviewed_on": ex.reviewed_on.isoformat(),
            "reason": ex.reason, "file": origin.name if origin is not None else "",
        })  # fmt: skip
    return out


@router.get("/policy/{catalog_id}", response_class=HTMLResponse)
def policy_catalog(request: Request, catalog_id: str, profile: str = "cn-2021") -> Response:
    if profile not in PROFILES:
        raise InputError("profile", f"{profile[:40]!r} is not a legal profile "
                                    f"(one of: {', '.join(PROFILES)})")  # fmt: skip
    loaded, _ = _loaded(catalog_id)
    found = next(b for b in _bundled() if b.id == catalog_id)
    findings = _findings(catalog_id, profile)
    errors, warnings = checker.counts(findings)
    cols = _nodes(loaded.index) if loaded is not None else {s: [] for s in SECTION_OF}
    loose = _attach(cols, findings)
    picture = _picture(cols)
    meta = loaded.catalog.catalog if loaded is not None else found.meta
    return _page(
        request,
        "policy.html",
        title=f"Policy: {catalog_id}",
        meta=meta,
        exemptions=exemptions_of(loaded),
        synthetic=found.synthetic,
        files=[p.name for p in loaded.files] if loaded is not None else [found.path.name],
        profile=profile,
        profiles=list(PROFILES),
        findings=findings,
        codes=checker.CODES,
        errors=errors,
        warnings=warnings,
        loose=loose,
        cols=cols,
        picture=picture,
        sections=[s for s in SECTION_OF if cols[s] or s != "schemes"],
    )


# --------------------------------------------------------------------------------------------
# Mounting


def _is_portal(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and path not in ("/openapi.json", "/docs", "/redoc")


Handler = Callable[[Request, Any], Awaitable[Response]]


# --------------------------------------------------------------------------------------------
# Studies: the simulator's runs and their reports (synthetic people only: public)


def _studies(folder: FsPath) -> list[dict[str, Any]]:
    from socialcredit.study.spec import Study

    found = []
    for spec in sorted(folder.glob("**/study.json")):
        if len(spec.relative_to(folder).parts) > 3:
            continue
        try:
            study = Study.model_validate_json(spec.read_text())
        except (OSError, ValueError):
            continue
        home = spec.parent
        found.append(
            {
                "id": home.relative_to(folder).as_posix().replace("/", "~"),
                "name": study.name,
                "description": study.description,
                "runs": [r.name for r in study.runs],
                "population": study.population,
                "seeds": len(study.seeds),
                "done": len(list((home / "results").glob("*.parquet"))),
                "report": (home / "report.html").exists(),
            }
        )
    return found


@router.get("/studies", response_class=HTMLResponse)
def studies(request: Request) -> Response:
    folder = _registry(request).studies
    return _page(request, "studies.html", title="Studies", folder=str(folder),
                 studies=_studies(folder) if folder and folder.is_dir() else [])  # fmt: skip


@router.get("/studies/{study_id}/report", response_class=HTMLResponse)
def study_report(request: Request, study_id: str) -> Response:
    folder = _registry(request).studies
    known = {s["id"] for s in _studies(folder)} if folder and folder.is_dir() else set()
    if study_id not in known or folder is None:
        raise _Refused(404, "study", f"no study {study_id!r}")
    page = folder.joinpath(*study_id.split("~")) / "report.html"
    if not page.exists():
        raise _Refused(404, "study", f"study {study_id!r} has no report yet")
    # the report is self-contained: inline styles, images as data URIs, no script
    headers = {**HEADERS, "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
    )}  # fmt: skip
    return FileResponse(page, media_type="text/html", headers=headers)


def mount(app: FastAPI, registry: Registry) -> None:
    """Add the portal's pages and static files to ``app`` (the API stays as it is)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    original: dict[Any, Handler] = dict(app.exception_handlers)

    async def need_login(request: Request, exc: Exception) -> Response:
        target = "/login?next=" + quote(request.url.path, safe="/")
        if _htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target, **HEADERS})
        return RedirectResponse(target, 303, headers=HEADERS)

    async def refused(request: Request, exc: Exception) -> Response:
        return _error_response(request, *_problem(exc))

    def portal_first(kind: Any) -> Handler:
        async def handler(request: Request, exc: Any) -> Response:
            if _is_portal(request):
                if isinstance(exc, StarletteHTTPException):
                    text = "no such page" if exc.status_code == 404 else str(exc.detail)
                    return _error_response(request, exc.status_code, None, text)
                if isinstance(exc, RequestValidationError):
                    first = exc.errors()[0]
                    loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path")]
                    return _error_response(request, 422, ".".join(loc) or None,
                                           str(first.get("msg", "invalid")))  # fmt: skip
                return _error_response(request, *_problem(exc))
            return await original[kind](request, exc)

        return handler

    app.add_exception_handler(_NeedLogin, need_login)
    app.add_exception_handler(_Refused, refused)
    for kind in (SocialCreditError, StarletteHTTPException, RequestValidationError):
        if kind in original:
            app.add_exception_handler(kind, portal_first(kind))


__all__ = ["mount", "router"]
