"""The subject: my record, objecting or applying for repair, and applying for a release."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from socialcredit.errors import InputError, NotFound, SocialCreditError
from socialcredit.registry import subjects, workflows
from socialcredit.registry.evaluate import Profile, evaluate
from socialcredit.registry.ledger import ApiKey
from socialcredit.service.portal.common import (
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
from socialcredit.service.portal.views import _history, _profile_view, _record_view, _title
from socialcredit.service.registry import Registry

router = APIRouter(include_in_schema=False)


def _subject_page_data(reg: Registry, subject: str) -> dict[str, Any]:
    today = reg.today()
    facts = reg.ledger.facts(subject)
    profile = evaluate(facts, reg.catalog, today, subject=subject, retired=reg.retired)
    reg.log_reads(f"subject:{subject}", "profile", "subject access", [subject])
    view = _profile_view(reg.catalog.index, profile, today)
    days = _history(reg, facts, subject, today, view)
    reg.audit.flush()
    log = reg.ledger.access_log(subject)
    return {
        **_releases_data(reg, profile),
        "profile": view,
        "days": days,
        "today": today,
        "access": [
            {"at": e.at, "actor": e.actor, "action": e.action, "purpose": e.purpose}
            for e in reversed(log)
        ],
    }


def _releases_data(reg: Registry, profile: Profile) -> dict[str, Any]:
    """The releases the catalogs in force let a person apply for (whether one applies to him
    is the workflow's to say: :func:`workflows.apply_for_release` refuses with its reason),
    his applications and what became of them, and the organisations through whose roles
    something reaches him (suggested for the form)."""
    index = reg.catalog.index
    releases = [
        {"id": r.id, "title": r.title, "legal_basis": r.legal_basis,
         "authority_title": _title(index.authorities, r.authority), "decide_days": r.decide_days}
        for r in index.releases.values()
        if r.applications
    ]  # fmt: skip
    applications = []
    for s in profile.records:
        if s.application is None:
            continue
        rec = s.record
        release = index.release_applied_for(rec.record_type)
        by = s.application_decide_by
        applications.append(
            {
                "record_id": rec.id,
                "release": release.id if release is not None else rec.record_type,
                "title": release.title if release is not None else rec.record_type,
                "organisation": rec.counterpart,
                "reference": rec.decision_ref,
                "filed_on": rec.decided_on,
                "status": s.application,
                "decide_by": by,
                "overdue": by is not None and profile.as_of > by,
                "authority_title": _title(index.authorities, rec.authority),
            }
        )
    organisations = sorted({m.via_subject for m in profile.measures if m.via_subject})
    return {"releases": releases, "applications": applications,
            "role_organisations": organisations}  # fmt: skip


@router.get("/me", response_class=HTMLResponse)
def my_record(request: Request) -> Response:
    key = _require(request, "subject")
    data = _subject_page_data(_registry(request), key.principal)
    return _page(request, "me.html", title="My record", **data)


def _record_card(reg: Registry, subject: str, record_id: str) -> dict[str, Any]:
    today = reg.today()
    profile = reg.profile(subject, today)
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


def _release(reg: Registry, key: ApiKey, form: FormData) -> str:
    release = _text(form, "release", label="the release you apply for", max_len=200)
    organisation, _ = subjects.validate(
        _text(form, "organisation", label="the organisation whose restriction reaches you",
              max_len=18),
        field="organisation",
    )  # fmt: skip
    reference = _text(form, "reference", label="the case number of your application",
                      max_len=500)  # fmt: skip
    today = reg.today()
    p = workflows.apply_for_release(reg.ledger, reg.catalog, release, by=key.principal,
                                    organisation=organisation, reference=reference, on=today,
                                    today=today)  # fmt: skip
    reg.touched(p.record_id)
    return (f"Application {p.record_id} for a release filed on {p.filed_on}. "
            f"{p.authority} must decide by {p.decide_by}.")  # fmt: skip


@router.post("/me/releases", response_class=HTMLResponse)
async def apply_for_release(request: Request) -> Response:
    """Apply for a release (as ``POST /api/v1/me/releases``): answer with the releases section
    (htmx) or the page, the workflow's refusal shown as the page's error."""
    key = _require(request, "subject")
    reg = _registry(request)
    form = await _form(request)

    def run() -> tuple[int, dict[str, Any]]:
        try:
            notice = {"kind": "ok", "field": None, "message": _release(reg, key, form)}
            status = 200
        except SocialCreditError as exc:
            status, field, message = _problem(exc)
            notice = {"kind": "error", "field": field, "message": message}
        typed = {k: v for k, v in form.items() if isinstance(v, str)}
        return status, {"release_notice": notice, "release_form": typed}

    status, ctx = await run_in_threadpool(run)
    if _htmx(request):

        def section() -> dict[str, Any]:
            return _releases_data(reg, reg.profile(key.principal, reg.today()))

        data = await run_in_threadpool(section)
        return _fragment("_releases.html", status, **ctx, **data)
    page = await run_in_threadpool(_subject_page_data, reg, key.principal)
    return _page(request, "me.html", status, title="My record", **ctx, **page)
