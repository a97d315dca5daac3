"""The HTTP API, ``/api/v1``: one role per key, each role only what it needs.

==========  ===================================================================================
role        may
==========  ===================================================================================
authority   file records of the types in its mandate (one or a batch, idempotent by client
            key); decide objections and repair applications to its own records; record
            fulfilment; revoke its own records; see what awaits its decision
consumer    ask whether a subject is restricted from a measure of its own domain, now; nothing
            else (no profile, no record)
subject     read its own full profile and access log; object; apply for repair
admin       see the catalogs in force; verify the audit chain
(public)    published list entries within their publication window; no key needed
==========  ===================================================================================

Keys: ``Authorization: Bearer sc_<id>_<secret>`` (``socialcredit keys create``). Every read of
personal data goes to the hash-chained audit log with who, what and why, and is answered only
once that entry is durable (503 naming ``audit`` if it cannot be written in time). Errors are
JSON: ``{"error": {"field": ..., "message": ...}}`` with a 4xx status; nothing is
half-written; another authority's record is answered as a missing one. See docs/security.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from socialcredit.errors import InputError, NotFound
from socialcredit.registry import subjects, workflows
from socialcredit.registry.config import parse_date as _parse_date
from socialcredit.registry.ledger import MAX_NAME, ApiKey, NewRecord, text_problem
from socialcredit.service.checkpath import (
    DEFAULT_PURPOSE,
    JSON,
    MAX_MEASURE,
    MAX_PURPOSE,
    MAX_SUBJECT,
    answer_check,
)
from socialcredit.service.errors import Forbidden, Unauthorized
from socialcredit.service.registry import Registry

ROLES = ("authority", "consumer", "subject", "admin")

router = APIRouter(prefix="/api/v1")


def registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


Reg = Annotated[Registry, Depends(registry)]


def caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer sc_<id>_<secret>")] = None,
) -> ApiKey:
    if not authorization:
        raise Unauthorized("authorization: a key is required (Authorization: Bearer <key>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("authorization: expected 'Bearer <key>'")
    key = registry(request).keys.get(token.strip())
    if key is None:
        raise Unauthorized("authorization: unknown or revoked key")
    return key


def role(*allowed: str) -> Any:
    def dependency(key: Annotated[ApiKey, Depends(caller)]) -> ApiKey:
        if key.role not in allowed:
            raise Forbidden(
                f"role: a {key.role} key may not do this (needs {' or '.join(allowed)})"
            )
        return key

    return Depends(dependency)


Authority = Annotated[ApiKey, role("authority")]
Consumer = Annotated[ApiKey, role("consumer")]
SubjectKey = Annotated[ApiKey, role("subject")]
Admin = Annotated[ApiKey, role("admin")]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


MULTILINE = frozenset({"grounds", "reason"})
"""Fields whose text may hold line breaks and tabs (every other is one line)."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        """The registry's one rule for text (:func:`~socialcredit.registry.ledger.
        text_problem`), as the portal and the CLI apply it."""
        if isinstance(value, str):
            why = text_problem(value, multiline=info.field_name in MULTILINE)
            if why is not None:
                raise PydanticCustomError("text", why)
        return value


# -------------------------------------------------------------------------------- consumers


class Reason(BaseModel):
    code: Literal["LISTED", "THRESHOLD", "NOT_ELIGIBLE"]
    list: str | None = None
    memorandum: str | None = None
    until: date | None = None


class CheckOut(BaseModel):
    subject: str
    measure: str
    decision: Literal["allow", "deny"]
    until: date | None
    reasons: list[Reason]
    as_of: date


@router.get(
    "/checks/{subject}/{measure}",
    response_model=CheckOut,
    tags=["consumers"],
    summary="Is this subject restricted from this measure now?",
)
async def check(
    reg: Reg,
    key: Consumer,
    subject: Annotated[str, Path(max_length=MAX_SUBJECT)],
    measure: Annotated[str, Path(max_length=MAX_MEASURE)],
    purpose: Annotated[str, Query(max_length=MAX_PURPOSE)] = DEFAULT_PURPOSE,
) -> Response:
    """A point lookup in the in-memory projection. Only measures of the consumer's own domain;
    the answer carries no record, only the decision, reason codes and until when."""
    subject_id, _ = subjects.validate(subject, field="subject")
    if (why := text_problem(purpose)) is not None:
        raise InputError("purpose", why)
    known = reg.catalog.index.measures.get(measure)
    if known is None:
        raise NotFound(f"measure: no measure {measure!r}")
    if known.domain != key.principal:
        raise Forbidden(
            f"measure: {measure} is in domain {known.domain!r}; this key may check only "
            f"{key.principal!r}"
        )
    body, ticket = answer_check(reg, key, subject_id, measure, purpose)
    await reg.audit.durable(ticket)  # nothing disclosed before its audit entry is durable
    return Response(body, media_type=JSON)


# -------------------------------------------------------------------------------- authorities


class RecordIn(_In):
    subject: str = Field(max_length=40, description="Resident ID or USCC")
    record_type: str = Field(max_length=120)
    decided_on: str = Field(max_length=10, description="YYYY-MM-DD")
    decision_ref: str = Field(min_length=1, max_length=500, description="The decision's number")
    counterpart: str | None = Field(default=None, max_length=40)
    client_key: str | None = Field(default=None, max_length=200)
    subject_name: str | None = Field(
        default=None,
        max_length=MAX_NAME,
        description="The name the subject is published under on public lists (not part of "
        "the record; the newest given is shown)",
    )


class BatchIn(_In):
    records: list[RecordIn] = Field(min_length=1, max_length=10_000)


class Filed(BaseModel):
    id: str
    created: bool


class FiledBatch(BaseModel):
    records: list[Filed]


def _new(r: RecordIn, authority: str, field: str = "decided_on") -> NewRecord:
    return NewRecord(
        subject=r.subject,
        record_type=r.record_type,
        authority=authority,
        decided_on=_day(r.decided_on, field),
        decision_ref=r.decision_ref,
        counterpart=r.counterpart,
        client_key=r.client_key,
        subject_name=r.subject_name,
    )


@router.post("/records", response_model=Filed, status_code=201, tags=["authorities"])
def file_record(reg: Reg, key: Authority, body: RecordIn) -> Response:
    """File one record as this authority (idempotent by ``client_key``)."""
    result = reg.submit([_new(body, key.principal)], actor=f"authority:{key.principal}")[0]
    return _json({"id": result.id, "created": result.created}, 201 if result.created else 200)


@router.post("/records/batch", response_model=FiledBatch, status_code=201, tags=["authorities"])
def file_batch(reg: Reg, key: Authority, body: BatchIn) -> Response:
    """File many records, all or nothing: one bad record rejects the batch, every problem named
    by position."""
    new = [_new(r, key.principal, f"records.{n}.decided_on") for n, r in enumerate(body.records)]
    results = reg.submit(new, actor=f"authority:{key.principal}")
    created = any(r.created for r in results)
    out = {"records": [{"id": r.id, "created": r.created} for r in results]}
    return _json(out, 201 if created else 200)


class DecisionIn(_In):
    reason: str = Field(min_length=1, max_length=2000)
    on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD; default today")


class ObjectionDecisionIn(DecisionIn):
    upheld: StrictBool  # a decision that voids a record: true or false, nothing like it


class RepairDecisionIn(DecisionIn):
    granted: StrictBool


class FulfilmentIn(_In):
    on: str | None = Field(default=None, max_length=10)
    creditor_request: StrictBool = False


class EventOut(BaseModel):
    record_id: str
    kind: str
    on: date
    actor: str


def _event(ev: Any) -> dict[str, Any]:
    return {"record_id": ev.record_id, "kind": str(ev.kind), "on": ev.on.isoformat(),
            "actor": ev.actor}  # fmt: skip


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""The one form of date the registry reads, from the API as from an import file: YYYY-MM-DD
(not ``20260101`` nor ``2026-W01-1``, which Python's ``fromisoformat`` also takes)."""


def _day(text: str, field: str) -> date:
    """An ISO date (future and too-early dates are the ledger's to refuse, by field)."""
    try:
        if not ISO_DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def parse_date(value: str | None, *, field: str, default: date | None = None) -> date:
    """:func:`~socialcredit.registry.config.parse_date`, in the form :data:`ISO_DAY` only."""
    if value and not ISO_DAY.fullmatch(value):
        raise InputError(field, f"{value!r} is not a date (expected YYYY-MM-DD)")
    return _parse_date(value, field=field, default=default)


RecordId = Annotated[str, Path(max_length=20, pattern=r"^[0-9]+$")]


@router.post("/records/{record_id}/objection/decision", response_model=EventOut,
             tags=["authorities"])  # fmt: skip
def decide_objection(
    reg: Reg, key: Authority, record_id: RecordId, body: ObjectionDecisionIn
) -> Response:
    """The designating authority upholds (the record is void) or rejects an objection."""
    reg.own_record(record_id, authority=key.principal, action="objection decision")
    today = reg.today()
    ev = workflows.decide_objection(
        reg.ledger, reg.catalog, record_id, authority=key.principal, upheld=body.upheld,
        reason=body.reason, on=parse_date(body.on, field="on", default=today), today=today,
    )  # fmt: skip
    reg.touched(record_id)
    return _json(_event(ev))


@router.post("/records/{record_id}/repair/decision", response_model=EventOut,
             tags=["authorities"])  # fmt: skip
def decide_repair(
    reg: Reg, key: Authority, record_id: RecordId, body: RepairDecisionIn
) -> Response:
    """The designating authority grants or refuses a repair application."""
    reg.own_record(record_id, authority=key.principal, action="repair decision")
    today = reg.today()
    ev = workflows.decide_repair(
        reg.ledger, reg.catalog, record_id, authority=key.principal, granted=body.granted,
        reason=body.reason, on=parse_date(body.on, field="on", default=today), today=today,
    )  # fmt: skip
    reg.touched(record_id)
    return _json(_event(ev))


class ReleaseDecisionIn(_In):
    granted: StrictBool
    reason: str = Field(min_length=1, max_length=500, description="The decision's number")
    on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD; default today")


class ReleaseOut(BaseModel):
    id: str
    record_type: str
    decided_on: date


@router.post("/records/{record_id}/release/decision", response_model=ReleaseOut,
             status_code=201, tags=["authorities"])  # fmt: skip
def decide_release(
    reg: Reg, key: Authority, record_id: RecordId, body: ReleaseDecisionIn
) -> Response:
    """The deciding authority grants (what the release lifts ends for the applicant through
    its roles in the organisation, from the decision's date) or refuses an application for
    a release, as a record of its own."""
    reg.own_record(record_id, authority=key.principal, action="release decision")
    today = reg.today()
    rec = workflows.decide_release(
        reg.ledger, reg.catalog, record_id, authority=key.principal, granted=body.granted,
        reason=body.reason, on=parse_date(body.on, field="on", default=today), today=today,
    )  # fmt: skip
    reg.touched(rec.id)
    return _json({"id": rec.id, "record_type": rec.record_type,
                  "decided_on": rec.decided_on.isoformat()}, 201)  # fmt: skip


@router.post("/records/{record_id}/fulfilment", response_model=EventOut, tags=["authorities"])
def fulfilment(reg: Reg, key: Authority, record_id: RecordId, body: FulfilmentIn) -> Response:
    """The obligation behind the record was performed (or the creditor asked for removal)."""
    reg.own_record(record_id, authority=key.principal, action="fulfilment")
    today = reg.today()
    ev = workflows.record_fulfilment(
        reg.ledger, reg.catalog, record_id, authority=key.principal,
        on=parse_date(body.on, field="on", default=today), today=today,
        creditor_request=body.creditor_request,
    )  # fmt: skip
    reg.touched(record_id)
    return _json(_event(ev))


@router.post("/records/{record_id}/revocation", response_model=EventOut, tags=["authorities"])
def revocation(reg: Reg, key: Authority, record_id: RecordId, body: DecisionIn) -> Response:
    """The designating authority withdraws its decision: the record has no effect at all."""
    reg.own_record(record_id, authority=key.principal, action="revocation")
    today = reg.today()
    ev = workflows.revoke(
        reg.ledger, reg.catalog, record_id, authority=key.principal, reason=body.reason,
        on=parse_date(body.on, field="on", default=today), today=today,
    )  # fmt: skip
    reg.touched(record_id)
    return _json(_event(ev))


class PendingOut(BaseModel):
    record_id: str
    kind: Literal["objection", "repair"]
    filed_on: date
    decide_by: date
    overdue: bool
    subject: str
    authority: str
    record_type: str
    grounds: str


class OverdueOut(PendingOut):
    days_overdue: int


@router.get("/authority/pending", response_model=list[PendingOut], tags=["authorities"])
def pending(reg: Reg, key: Authority) -> Response:
    """Objections and repair applications to this authority's records awaiting its decision,
    oldest deadline first."""
    return _json(reg.desk(key.principal))


# -------------------------------------------------------------------------------- subjects


class ObjectionIn(_In):
    grounds: str = Field(min_length=1, max_length=4000)
    on: str | None = Field(default=None, max_length=10)


class RepairIn(_In):
    commitment: StrictBool = Field(description="A public credit commitment is required")
    on: str | None = Field(default=None, max_length=10)


class PendingFiled(BaseModel):
    record_id: str
    kind: str
    filed_on: date
    decide_by: date


@router.get("/me/profile", tags=["subjects"])
def my_profile(
    reg: Reg, key: SubjectKey, as_of: Annotated[str | None, Query(max_length=10)] = None
) -> Response:
    """Everything held about the key's subject: scores, lists, measures, every record, why,
    until when, and when repair becomes possible."""
    on = parse_date(as_of, field="as_of", default=reg.today())
    profile = reg.profile(key.principal, on)
    reg.log_reads(f"subject:{key.principal}", "profile", "subject access", [key.principal])
    return _json(profile.to_json())


def _own(reg: Registry, key: ApiKey, record_id: str, action: str) -> None:
    reg.subjects_record(record_id, subject=key.principal, action=action)


@router.post("/me/records/{record_id}/objection", response_model=PendingFiled, status_code=201,
             tags=["subjects"])  # fmt: skip
def object_to(reg: Reg, key: SubjectKey, record_id: RecordId, body: ObjectionIn) -> Response:
    """Object to one of your records; the designating authority must decide within 20 days."""
    _own(reg, key, record_id, "objection")
    today = reg.today()
    p = workflows.file_objection(
        reg.ledger, reg.catalog, record_id, by=key.principal, grounds=body.grounds,
        on=parse_date(body.on, field="on", default=today), today=today,
    )  # fmt: skip
    reg.touched(record_id)
    return _json(_pending(p), 201)


@router.post("/me/records/{record_id}/repair", response_model=PendingFiled, status_code=201,
             tags=["subjects"])  # fmt: skip
def apply_repair(reg: Reg, key: SubjectKey, record_id: RecordId, body: RepairIn) -> Response:
    """Apply for credit repair once the minimum period is over."""
    _own(reg, key, record_id, "repair")
    today = reg.today()
    p = workflows.apply_repair(
        reg.ledger, reg.catalog, record_id, by=key.principal, commitment=body.commitment,
        on=parse_date(body.on, field="on", default=today), today=today,
    )  # fmt: skip
    reg.touched(record_id)
    return _json(_pending(p), 201)


class ReleaseIn(_In):
    release: str = Field(min_length=1, max_length=200, description="The catalog's release id")
    organisation: str = Field(min_length=1, max_length=18,
                              description="The unit whose restriction reaches you")  # fmt: skip
    reference: str = Field(min_length=1, max_length=500,
                           description="The application's case number")  # fmt: skip
    on: str | None = Field(default=None, max_length=10)


@router.post("/me/releases", response_model=PendingFiled, status_code=201, tags=["subjects"])
def apply_for_release(reg: Reg, key: SubjectKey, body: ReleaseIn) -> Response:
    """Apply for a release the catalogs define (an officer of a restricted unit spending
    personal funds, a replaced legal representative) from what reaches you through a role in
    ``organisation``; the release's authority must decide within its deadline."""
    organisation, _ = subjects.validate(body.organisation, field="organisation")
    today = reg.today()
    p = workflows.apply_for_release(
        reg.ledger, reg.catalog, body.release, by=key.principal, organisation=organisation,
        reference=body.reference, on=parse_date(body.on, field="on", default=today),
        today=today,
    )  # fmt: skip
    reg.touched(p.record_id)
    return _json(_pending(p), 201)


def _pending(p: workflows.Pending) -> dict[str, Any]:
    return {"record_id": p.record_id, "kind": p.kind, "filed_on": p.filed_on.isoformat(),
            "decide_by": p.decide_by.isoformat()}  # fmt: skip


class AccessOut(BaseModel):
    at: str
    actor: str
    action: str
    purpose: str


@router.get("/me/access-log", response_model=list[AccessOut], tags=["subjects"])
def my_access_log(reg: Reg, key: SubjectKey) -> Response:
    """Every access to your data: who, when, what, and why."""
    reg.audit.flush()
    entries = reg.ledger.access_log(key.principal)
    return _json(
        [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "purpose": e.purpose}
            for e in entries
        ]  # fmt: skip
    )


# -------------------------------------------------------------------------------- public


class PublicEntry(BaseModel):
    subject: str
    name: str | None = Field(description="As the filing authority gave it; none if not given")
    list: str
    list_title: str
    reason: str
    record_type: str
    since: date
    until: date | None


@router.get("/public/lists", response_model=list[PublicEntry], tags=["public"])
def public_lists(
    reg: Reg,
    q: Annotated[str | None, Query(max_length=40, description="ID starts with")] = None,
    list_id: Annotated[str | None, Query(alias="list", max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Published list entries within their publication window: ID, list, reason, until."""
    return _json(reg.public_entries(q=q, list_id=list_id, limit=limit))


# -------------------------------------------------------------------------------- admin


@router.get("/admin/catalogs", tags=["admin"])
def catalogs(reg: Reg, key: Admin) -> Response:
    """The catalogs in force: files, versions, and what they define."""
    return _json(reg.catalog_summary())


@router.get("/admin/overdue", response_model=list[OverdueOut], tags=["admin"])
def overdue(reg: Reg, key: Admin) -> Response:
    """Objections and repair applications an authority has not decided by its deadline, most
    overdue first, across all authorities: for the administrator to take up with them. Each
    subject listed sees this read in their access log."""
    return _json(reg.overdue(reader=f"admin:{key.principal}"))


class AuditOut(BaseModel):
    intact: bool
    entries: int
    problem: str | None = None
    set_aside: int = Field(
        0, description="Audit entries the store refused, kept escaped in audit_dead_letter "
        "(an alarm: the admin page lists them)"
    )  # fmt: skip


@router.get("/admin/audit/verify", response_model=AuditOut, tags=["admin"])
def verify(reg: Reg, key: Admin) -> Response:
    """Walk the audit chain: any edited or deleted entry is named."""
    from socialcredit.errors import LedgerError

    reg.audit.flush()
    aside = len(reg.ledger.dead_letters())
    try:
        reg.ledger.verify_audit()
    except LedgerError as exc:
        return _json({"intact": False, "entries": reg.ledger.last_audit_seq(),
                      "problem": str(exc), "set_aside": aside}, 409)  # fmt: skip
    return _json({"intact": True, "entries": reg.ledger.last_audit_seq(), "problem": None,
                  "set_aside": aside})  # fmt: skip


__all__ = ["ROLES", "router"]
