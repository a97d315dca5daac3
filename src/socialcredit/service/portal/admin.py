"""The admin: the catalogs in force, overdue decisions, the audit chain verified."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.registry.ledger import ApiKey
from socialcredit.service.portal.common import _form, _fragment, _htmx, _page, _registry, _require
from socialcredit.service.portal.policy import exemptions_of
from socialcredit.service.registry import Registry

router = APIRouter(include_in_schema=False)


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
