"""The consumer: one check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import InputError, SocialCreditError
from socialcredit.policy.loader import CatalogIndex
from socialcredit.policy.schema import MeasureKind
from socialcredit.registry import subjects
from socialcredit.service.errors import Forbidden
from socialcredit.service.portal.common import (
    _form,
    _fragment,
    _htmx,
    _page,
    _problem,
    _registry,
    _require,
    _text,
)
from socialcredit.service.portal.views import _title

router = APIRouter(include_in_schema=False)


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
