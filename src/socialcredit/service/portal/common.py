"""The portal's plumbing: templates, who is signed in, forms read by field, errors as pages."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date
from pathlib import Path as FsPath
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from socialcredit.errors import ImportRejected, InputError, SocialCreditError
from socialcredit.registry.ledger import ApiKey, text_problem
from socialcredit.service.api import ISO_DAY
from socialcredit.service.registry import Registry

HERE = FsPath(__file__).parent.parent  # the service package: templates/ and static/


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


def _score(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


_env.filters["score"] = _score


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
