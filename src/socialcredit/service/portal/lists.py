"""Public lists."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from socialcredit.errors import InputError
from socialcredit.service.portal.common import _fragment, _htmx, _page, _registry

router = APIRouter(include_in_schema=False)


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
        if list_id and list_id not in {o["id"] for o in options}:
            raise InputError("list", f"no public list {list_id[:120]!r}")
        entries = reg.public_entries(q=q or None, list_id=list_id or None, limit=100)
    except InputError as exc:
        error = {"field": exc.field, "message": exc.message}
    status = 422 if error else 200
    ctx = {"entries": entries, "q": q[:40], "list_id": list_id[:120], "error": error,
           "limit": 100, "options": options}  # fmt: skip
    if _htmx(request) and request.headers.get("hx-target") == "results":
        return _fragment("_lists_results.html", status, **ctx)
    return _page(request, "lists.html", status, title="Public lists", **ctx)
