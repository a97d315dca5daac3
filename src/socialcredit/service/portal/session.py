"""Home, sign-in with an API key (a session cookie, never the key), sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import InputError
from socialcredit.service.portal.common import (
    COOKIE,
    HEADERS,
    HOME,
    SESSION_SECONDS,
    _form,
    _page,
    _problem,
    _Refused,
    _registry,
    _text,
)

router = APIRouter(include_in_schema=False)


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
