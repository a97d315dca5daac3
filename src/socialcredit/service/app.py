"""The ASGI application: the API under ``/api/v1`` and the portal at ``/``.

Every error becomes a 4xx with ``{"error": {"field": ..., "message": ...}}`` (a bad batch also
carries ``problems``: one per bad record, by position). Only a failure of the store itself is a
5xx (503), never anything a caller sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcredit.errors import (
    CatalogError,
    Conflict,
    ImportRejected,
    InputError,
    LedgerError,
    NotFound,
    OutsideMandate,
    SocialCreditError,
    WorkflowError,
)
from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger
from socialcredit.service import api
from socialcredit.service.checkpath import CheckFastPath
from socialcredit.service.errors import Forbidden, Unauthorized
from socialcredit.service.limits import BodyGuard, HeadAsGet, NoStore, SyntheticMark
from socialcredit.service.registry import POLL_SECONDS, Registry


def _error(status: int, field: str | None, message: str, **extra: Any) -> Response:
    body = {"error": {"field": field, "message": message, **extra}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _status(exc: SocialCreditError) -> int:
    for kind, status in (
        (Unauthorized, 401),
        (Forbidden, 403),
        (OutsideMandate, 403),
        (NotFound, 404),
        (Conflict, 409),
        (WorkflowError, 409),
        (InputError, 422),
        (CatalogError, 422),
        (LedgerError, 503),
    ):
        if isinstance(exc, kind):
            return status
    return 400


def create_app(
    ledger: Ledger,
    catalog: Loaded,
    *,
    today: Callable[[], date] = date.today,
    poll_seconds: float = POLL_SECONDS,
    portal: bool = True,
    studies: Path | None = None,
    index_snapshot: Path | None | Literal["auto"] = "auto",
    filing_process: bool = False,
) -> FastAPI:
    """The service over ``ledger`` with ``catalog`` in force (``today`` is injectable so tests
    and demos can run on a fixed date); ``filing_process``: records are filed by a process of
    their own (:mod:`~socialcredit.service.filer`; what ``socialcredit serve`` runs)."""
    registry = Registry(ledger, catalog, today=today, poll_seconds=poll_seconds, studies=studies,
                        index_snapshot=index_snapshot, filing_process=filing_process)  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry.start()
        try:
            yield
        finally:
            registry.stop()

    app = FastAPI(
        title="socialcredit registry",
        version="1",
        description=(
            (f"SYNTHETIC DATA: {registry.synthetic} " if registry.synthetic else "")
            + "Records from authenticated authorities become lists and measures, with due "
            "process: notice, objection, repair, expiry, and an audit trail of every read."
        ),
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # no Swagger UI or ReDoc: FastAPI serves their assets from a CDN, and nothing here
        # loads from outside the server; /openapi.json is the reference
        docs_url=None,
        redoc_url=None,
        # no OpenTelemetry here: its per-request probe costs more than a whole check
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.registry = registry
    app.include_router(api.router)
    app.add_middleware(BodyGuard, registry=registry)
    app.add_middleware(CheckFastPath, registry=registry)
    app.add_middleware(NoStore)
    app.add_middleware(SyntheticMark, registry=registry)  # on every response
    app.add_middleware(HeadAsGet)  # outermost: every route sees a HEAD as its GET

    @app.exception_handler(SocialCreditError)
    async def _ours(request: Request, exc: SocialCreditError) -> Response:
        status = _status(exc)
        if isinstance(exc, ImportRejected):
            problems = [{"record": n, "field": f, "message": m} for n, f, m in exc.problems]
            return _error(422, "records", str(exc), problems=problems)
        if isinstance(exc, InputError):
            return _error(status, exc.field, exc.message)
        text = str(exc)
        field, sep, message = text.partition(": ")
        if sep and " " not in field:
            return _error(status, field, message)
        return _error(status, "request", text)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":  # its loc is a character position
            why = (first.get("ctx") or {}).get("error")
            return _error(422, "body", f"not JSON: {why}" if why else "not JSON")
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        return _error(422, field, str(first.get("msg", "invalid")))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # every error names what it is about: the path, the method, or the body
        field = {404: "path", 405: "method"}.get(exc.status_code, "body")
        response = _error(exc.status_code, field, str(exc.detail))
        response.headers.update(exc.headers or {})  # a 405's Allow: the methods there are
        return response

    if portal:
        import importlib

        importlib.import_module("socialcredit.service.portal").mount(app, registry)
    return app
