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

One module per page group (session, subject, desk, consumer, admin, lists, policy, studies),
beside :mod:`.common` (the plumbing) and :mod:`.views` (what pages show of profiles and
records).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from socialcredit.errors import SocialCreditError
from socialcredit.service.portal import (
    admin,
    consumer,
    desk,
    lists,
    policy,
    session,
    studies,
    subject,
)
from socialcredit.service.portal.common import (
    COOKIE,
    HEADERS,
    STATIC,
    _error_response,
    _htmx,
    _NeedLogin,
    _problem,
    _Refused,
    csrf_token,
)
from socialcredit.service.registry import Registry

router = APIRouter(include_in_schema=False)
for _pages in (session, subject, desk, consumer, admin, lists, policy, studies):
    router.include_router(_pages.router)


def _is_portal(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and path not in ("/openapi.json", "/docs", "/redoc")


Handler = Callable[[Request, Any], Awaitable[Response]]


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


__all__ = ["COOKIE", "csrf_token", "mount", "router"]
