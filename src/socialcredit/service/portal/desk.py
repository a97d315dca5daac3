"""The authority: file a record, decide what awaits a decision."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import InputError, SocialCreditError
from socialcredit.policy.loader import CatalogIndex
from socialcredit.registry import workflows
from socialcredit.registry.ledger import MAX_NAME, ApiKey, NewRecord
from socialcredit.service.portal.common import (
    _choice,
    _day,
    _form,
    _fragment,
    _htmx,
    _page,
    _problem,
    _record_id,
    _registry,
    _require,
    _text,
)
from socialcredit.service.portal.views import _title
from socialcredit.service.registry import Registry

router = APIRouter(include_in_schema=False)


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
    "release": {"grant": True, "refuse": False},
}


@router.post("/desk/records/{record_id}/decision", response_class=HTMLResponse)
async def decide(request: Request, record_id: str) -> Response:
    key = _require(request, "authority")
    reg = _registry(request)
    form = await _form(request)
    fragment = _htmx(request)  # else the whole desk is shown (and its reads logged) after

    def run() -> tuple[int, dict[str, Any]]:
        item = {"record_id": record_id[:40], "kind": form.get("kind")}
        try:
            rid = _record_id(record_id)
            kind = _choice(form, "kind", label="what is decided", options=OUTCOMES)
            outcome = _choice(form, "outcome", label="the decision", options=OUTCOMES[kind])
            # a release's decision is a record of its own: its reasons are its decision's
            # number, 500 characters at most
            longest = 500 if kind == "release" else 2000
            reason = _text(form, "reason", label="a decision gives its reasons", max_len=longest)
            reg.own_record(rid, authority=key.principal, action=f"{kind} decision")
            today = reg.today()
            if kind == "release":
                rec = workflows.decide_release(
                    reg.ledger, reg.catalog, rid, authority=key.principal, reason=reason,
                    granted=OUTCOMES[kind][outcome], on=today, today=today,
                )  # fmt: skip
                reg.touched(rec.id)
                done, on = f"release {'granted' if OUTCOMES[kind][outcome] else 'refused'}", today
            else:
                decide = (
                    workflows.decide_objection if kind == "objection" else workflows.decide_repair
                )
                flag = {"upheld": OUTCOMES[kind][outcome]} if kind == "objection" else {
                    "granted": OUTCOMES[kind][outcome]}  # fmt: skip
                ev = decide(reg.ledger, reg.catalog, rid, authority=key.principal, reason=reason,
                            on=today, today=today, **flag)  # fmt: skip
                reg.touched(rid)
                done, on = str(ev.kind).replace("_", " "), ev.on
        except SocialCreditError as exc:
            status, field, message = _problem(exc)
            current = [p for p in reg.pending(key.principal) if p["record_id"] == record_id]
            if current and fragment:  # the item is shown again: its subject sees the read
                reg.log_reads(f"authority:{key.principal}", "pending",
                              "deciding objections, repairs and releases",
                              [current[0]["subject"]])  # fmt: skip
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
        notice = {
            "kind": "ok",
            "field": None,
            "message": f"Record {rid}: {done} on {on}. Reasons: {reason}",
        }
        return 200, {"p": item, "notice": notice, "decided": True, "form": {}}

    status, ctx = await run_in_threadpool(run)
    if fragment:
        return _fragment("_pending.html", status, **ctx)
    return _page(request, "desk.html", status, title="Authority desk", authority=key.principal,
                 authority_title=_title(reg.catalog.index.authorities, key.principal),
                 pending=await run_in_threadpool(_pending, reg, key.principal),
                 file=_file_form(reg, key), file_notice=None,
                 desk_notice=ctx["notice"])  # fmt: skip
