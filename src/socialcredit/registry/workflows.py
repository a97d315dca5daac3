"""Due process: objections and credit repair, as steps that append lifecycle events.

Each step checks that it is allowed *now* (who may take it, in which state, from which date) and
raises :class:`WorkflowError` naming the reason otherwise; it never changes a record, it appends
an event. The rules follow the published measures (FACTS.md):

- Objections are filed by the subject of the record and decided by the authority that designated
  it ("whoever designates, repairs"), within :data:`OBJECTION_DAYS` days (PBOC: 20 days), or the
  days a list the record enters sets (``objections``: the court list reviews a correction
  within 15 days; an objection within 10 days of a rejection is an appeal, decided within 15,
  Fa Shi [2017] No. 7, Art. 12). The deadline is the record state's ``objection_decide_by``; a
  decision not taken by then is overdue (the administrator's overdue list). An upheld objection
  voids the record.
- Every step refreshes the projection the check path reads, in the same transaction.
- Repair may be applied for once the minimum publication period has passed, with a public credit
  commitment; for a record of an obligation not performed (``nature = "default"``) the obligation
  must have been performed first ("corrected"). The designating authority decides within
  :data:`REPAIR_WORKING_DAYS` working days of the application reaching it (Credit China forwards
  within 10 working days, the authority decides within 3: 13 in all).
- A person reached through a legal role in an organisation may apply for a release the catalog
  defines (``[[releases]]``: an officer of a restricted unit spending personal funds, Fa Shi
  [2015] No. 17, Art. 3 para. 2; a replaced legal representative, Fa Fa [2019] No. 35, item
  17(2)): the application is a record the deciding authority registers about the person,
  naming the organisation, and is decided by a grant or a refusal record of the same
  authority within the release's ``decide_days``. A grant ends, from its date, what the
  release's memoranda and orders reach the person with through its roles there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from socialcredit.errors import InputError, NotFound, SocialCreditError, WorkflowError
from socialcredit.policy.loader import Loaded
from socialcredit.policy.schema import Nature
from socialcredit.registry.dates import OBJECTION_DAYS, REPAIR_WORKING_DAYS, add_working_days
from socialcredit.registry.evaluate import RecordState, evaluate
from socialcredit.registry.ledger import NewRecord, Projector, SubmitResult, default_projector
from socialcredit.registry.ledger.values import MAX_NOTE, check_text
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.rules import RepairBlock, repair_block


class EventStore(Protocol):
    """What the workflows need from a ledger."""

    def record(self, record_id: str) -> Record: ...

    def events_for(self, record_id: str) -> list[LifecycleEvent]: ...

    def append_event(
        self,
        event: LifecycleEvent,
        *,
        client_key: str | None = None,
        project: Projector | None = None,
    ) -> LifecycleEvent: ...


class RecordStore(EventStore, Protocol):
    """What a release's workflow needs besides: filing records, and a person's facts."""

    def submit(
        self,
        records: Sequence[NewRecord],
        *,
        catalog: Loaded,
        today: date,
        actor: str,
        project: Projector | None = None,
    ) -> list[SubmitResult]: ...

    def facts(self, subject: str) -> list[Record | LifecycleEvent]: ...


@dataclass(frozen=True)
class Pending:
    """An objection, repair application or application for a release awaiting a decision."""

    record_id: str
    kind: str  # "objection" | "repair" | "release"
    filed_on: date
    decide_by: date
    authority: str
    subject: str


def _state(store: EventStore, catalog: Loaded, record_id: str, on: date) -> RecordState:
    rec = store.record(record_id)
    facts: list[Fact] = [rec, *store.events_for(record_id)]
    profile = evaluate(facts, catalog, max(on, rec.decided_on), subject=rec.subject)
    for state in profile.records:
        if state.record.id == record_id:
            return state
    raise NotFound(f"record: {record_id} not found")  # pragma: no cover - defensive


def _check_date(on: date, today: date, rec: Record, field: str = "on") -> None:
    if on > today:
        raise InputError(field, f"{on} is in the future (today is {today})")
    if on < rec.decided_on:
        raise InputError(field, f"{on} is before the record's decision date {rec.decided_on}")


def _by_designating_authority(
    store: EventStore,
    record_id: str,
    *,
    authority: str,
    may: str,
    on: date,
    today: date,
    reason: str | None = None,
) -> Record:
    """The record, if ``authority`` designated it ("whoever designates, repairs"), ``on`` is a
    possible date for the step, and a decision gives its reasons."""
    rec = store.record(record_id)
    _check_date(on, today, rec)
    if authority != rec.authority:
        raise WorkflowError(f"only {rec.authority}, which designated record {record_id}, {may}")
    if reason is not None and not reason.strip():
        raise InputError("reason", "a decision must give its reasons")
    if reason is not None:  # stored as the event's note: named as given
        check_text(reason, "reason", max_len=MAX_NOTE, multiline=True)
    return rec


def _append(
    store: EventStore, catalog: Loaded, event: LifecycleEvent, today: date
) -> LifecycleEvent:
    """Append ``event`` and refresh the check path's projection in the same transaction."""
    return store.append_event(event, project=default_projector(catalog, today))


_STEPS: dict[EventKind, tuple[str, EventKind, tuple[EventKind, ...]]] = {
    kind: (what, request, outcomes)
    for what, request, outcomes in (
        ("objection", EventKind.objection_filed,
         (EventKind.objection_upheld, EventKind.objection_rejected)),
        ("repair application", EventKind.repair_applied,
         (EventKind.repair_granted, EventKind.repair_refused)),
    )
    for kind in (request, *outcomes)
}  # fmt: skip
"""The steps that come in order: a request, then one decision on it."""


def step_refusal(
    record_id: str, earlier: Sequence[LifecycleEvent], kind: EventKind, on: date
) -> SocialCreditError | None:
    """Why a step of ``kind`` dated ``on`` cannot follow ``earlier`` (the record's events), or
    ``None``. A decision answers a request awaiting one, and not before it; a request may not
    come while one of its kind awaits a decision, nor be dated before the last request or
    decision of its kind (it would be judged as of a day on which these are not seen, and
    folded in ahead of them). Fulfilment, withdrawal and revocation come in no order. The
    workflows raise what it returns; a bulk import of events reports it by line."""
    step = _STEPS.get(kind)
    if step is None:
        return None
    what, request, outcomes = step
    last = _last(earlier, request, *outcomes)
    if kind is request:
        if last is not None and on < last.on:
            return InputError("on", f"a new {what} cannot be dated before the last {what} or "
                                    f"decision on one, of {last.on}")  # fmt: skip
        if last is not None and last.kind is request:
            return WorkflowError(
                f"record {record_id} already has an {what} awaiting a decision"
                if what[0] in "aeiou"
                else f"record {record_id} already has a {what} awaiting a decision"
            )
        return None
    if last is None or last.kind is not request:
        return WorkflowError(f"record {record_id} has no {what} awaiting a decision")
    if on < last.on:
        return InputError("on", f"the decision cannot precede the {what} of {last.on}")
    return None


def _step(store: EventStore, record_id: str, kind: EventKind, on: date) -> None:
    refusal = step_refusal(record_id, store.events_for(record_id), kind, on)
    if refusal is not None:
        raise refusal


def _last(events: Sequence[LifecycleEvent], *kinds: EventKind) -> LifecycleEvent | None:
    """The latest of ``events`` (in the order they were filed) of one of ``kinds``."""
    chosen = sorted((e for e in events if e.kind in kinds), key=lambda e: e.on)  # stable
    return chosen[-1] if chosen else None


def file_objection(
    store: EventStore,
    catalog: Loaded,
    record_id: str,
    *,
    by: str,
    grounds: str,
    on: date,
    today: date,
) -> Pending:
    """The subject objects to a record; the designating authority must decide by ``decide_by``."""
    rec = store.record(record_id)
    _check_date(on, today, rec)
    if by != rec.subject:
        raise WorkflowError(f"only the subject of record {record_id} may object to it")
    if not grounds.strip():
        raise InputError("grounds", "say why the record is wrong")
    check_text(grounds, "grounds", max_len=MAX_NOTE, multiline=True)  # the event's note
    _step(store, record_id, EventKind.objection_filed, on)
    state = _state(store, catalog, record_id, on)
    if state.voided:
        raise WorkflowError(
            f"record {record_id} is {state.status.replace('_', ' ')}: nothing to object to"
        )
    if state.objection == "pending":
        raise WorkflowError(f"record {record_id} already has an objection awaiting a decision")
    _append(
        store, catalog, LifecycleEvent(record_id, EventKind.objection_filed, on, by, grounds), today
    )
    decide_by = _state(store, catalog, record_id, on).objection_decide_by
    return Pending(
        record_id,
        "objection",
        on,
        decide_by or on + timedelta(days=OBJECTION_DAYS),
        rec.authority,
        rec.subject,
    )


def decide_objection(
    store: EventStore,
    catalog: Loaded,
    record_id: str,
    *,
    authority: str,
    upheld: bool,
    reason: str,
    on: date,
    today: date,
) -> LifecycleEvent:
    """The designating authority upholds (voids the record) or rejects an objection."""
    _by_designating_authority(
        store, record_id, authority=authority, may="may decide objections to it", on=on,
        today=today, reason=reason,
    )  # fmt: skip
    kind = EventKind.objection_upheld if upheld else EventKind.objection_rejected
    _step(store, record_id, kind, on)
    return _append(store, catalog, LifecycleEvent(record_id, kind, on, authority, reason), today)


def apply_repair(
    store: EventStore,
    catalog: Loaded,
    record_id: str,
    *,
    by: str,
    commitment: bool,
    on: date,
    today: date,
) -> Pending:
    """The subject applies for credit repair of a record."""
    rec = store.record(record_id)
    _check_date(on, today, rec)
    if by != rec.subject:
        raise WorkflowError(f"only the subject of record {record_id} may apply to repair it")
    if not commitment:
        raise InputError("commitment", "a repair application needs a public credit commitment")
    _step(store, record_id, EventKind.repair_applied, on)
    state = _state(store, catalog, record_id, on)
    _repair_allowed(catalog, rec, state, on)
    if state.repair in ("applied", "granted"):
        raise WorkflowError(f"record {record_id} already has a repair application {state.repair}")
    store.append_event(
        LifecycleEvent(
            record_id, EventKind.repair_applied, on, by, "public credit commitment given"
        )
    )
    return Pending(
        record_id,
        "repair",
        on,
        add_working_days(on, REPAIR_WORKING_DAYS),
        rec.authority,
        rec.subject,
    )


def decide_repair(
    store: EventStore,
    catalog: Loaded,
    record_id: str,
    *,
    authority: str,
    granted: bool,
    reason: str,
    on: date,
    today: date,
) -> LifecycleEvent:
    """The designating authority grants (publication and effect end) or refuses a repair."""
    rec = _by_designating_authority(
        store, record_id, authority=authority, may="may repair it", on=on, today=today,
        reason=reason,
    )  # fmt: skip
    _step(store, record_id,
          EventKind.repair_granted if granted else EventKind.repair_refused, on)  # fmt: skip
    if granted:
        _repair_allowed(catalog, rec, _state(store, catalog, record_id, on), on)
    kind = EventKind.repair_granted if granted else EventKind.repair_refused
    return _append(store, catalog, LifecycleEvent(record_id, kind, on, authority, reason), today)


def repair_refusal(catalog: Loaded, rec: Record, state: RecordState, on: date) -> str | None:
    """Why ``rec`` (in ``state``) cannot be repaired on ``on``, or ``None`` if it can (the
    rulebook's one rule, :func:`socialcredit.rules.repair_block`, in words)."""
    rt = catalog.index.record_types.get(rec.record_type)
    block = repair_block(
        repairable=rt is not None and rt.repairable,
        is_default=rt is not None and rt.nature is Nature.default,
        repairable_from=state.repairable_from,
        voided=state.voided,
        in_effect=state.status == "in_effect",
        fulfilled=state.fulfilled_on is not None,
        on=on,
    )
    if block is None:
        return None
    why = {
        RepairBlock.NOT_REPAIRABLE: f"records of type {rec.record_type} cannot be repaired",
        RepairBlock.VOIDED: f"record {rec.id} is {state.status.replace('_', ' ')}: "
        "nothing to repair",
        RepairBlock.NOT_IN_EFFECT: f"record {rec.id} is {state.status}: nothing to repair",
        RepairBlock.TOO_EARLY: f"record {rec.id} can be repaired from {state.repairable_from} "
        f"(minimum period), not {on}",
        RepairBlock.NOT_FULFILLED: f"record {rec.id} records an obligation not performed: "
        "it must be fulfilled before repair",
    }
    return why[block]


def can_repair(store: EventStore, catalog: Loaded, record_id: str, on: date) -> bool:
    """Whether a repair of the record could be granted on ``on`` (as the facts stand)."""
    state = _state(store, catalog, record_id, on)
    return repair_refusal(catalog, state.record, state, on) is None


def _repair_allowed(catalog: Loaded, rec: Record, state: RecordState, on: date) -> None:
    why = repair_refusal(catalog, rec, state, on)
    if why is not None:
        raise WorkflowError(why)


def record_fulfilment(
    store: EventStore,
    catalog: Loaded,
    record_id: str,
    *,
    authority: str,
    on: date,
    today: date,
    creditor_request: bool = False,
) -> LifecycleEvent:
    """The designating authority records that the obligation was performed (or that the
    creditor asked for removal): lists that allow that way off end on ``on``."""
    _by_designating_authority(
        store, record_id, authority=authority, may="may record this", on=on, today=today
    )
    state = _state(store, catalog, record_id, on)
    if state.voided:
        raise WorkflowError(f"record {record_id} is {state.status.replace('_', ' ')}")
    kind = EventKind.creditor_withdrew if creditor_request else EventKind.fulfilled
    if (state.withdrawn_on if creditor_request else state.fulfilled_on) is not None:
        raise WorkflowError(
            f"record {record_id} already has {kind.value.replace('_', ' ')} recorded"
        )
    return _append(store, catalog, LifecycleEvent(record_id, kind, on, authority, ""), today)


def revoke(
    store: EventStore,
    catalog: Loaded,
    record_id: str,
    *,
    authority: str,
    reason: str,
    on: date,
    today: date,
) -> LifecycleEvent:
    """The designating authority withdraws its decision: the record has no effect at all."""
    _by_designating_authority(
        store, record_id, authority=authority, may="may revoke it", on=on, today=today,
        reason=reason,
    )  # fmt: skip
    state = _state(store, catalog, record_id, on)
    if state.voided:
        raise WorkflowError(f"record {record_id} is already {state.status.replace('_', ' ')}")
    return _append(
        store, catalog, LifecycleEvent(record_id, EventKind.revoked, on, authority, reason), today
    )


# --------------------------------------------------------------------------------------------
# Releases of a role holder


def apply_for_release(
    store: RecordStore,
    catalog: Loaded,
    release_id: str,
    *,
    by: str,
    organisation: str,
    reference: str,
    on: date,
    today: date,
) -> Pending:
    """``by`` applies for release ``release_id`` from what reaches him through a role in
    ``organisation``; the deciding authority registers the application (``reference``: its
    case number) and must decide by ``decide_by``. Refused where the release has no
    application step, where nothing it lifts reaches him there on ``on``, or where an
    application of his is already pending."""
    release = catalog.index.releases.get(release_id)
    if release is None:
        raise NotFound(f"release: no release {release_id!r}")
    if not release.applications or release.authority is None:
        raise WorkflowError(f"release {release_id} is not applied for (it has no application)")
    if on > today:
        raise InputError("on", f"{on} is in the future (today is {today})")
    profile = evaluate(store.facts(by), catalog, on, subject=by)
    roles = {r.value for r in release.roles}
    if not any(
        a.via_subject == organisation
        and a.via_role in roles
        and (a.memorandum in release.lifts or a.order in release.lifts)
        for a in profile.measures
    ):
        raise WorkflowError(
            f"nothing release {release_id} lifts reaches {by} through {organisation} on {on}"
        )
    # as of ``on`` and as of today: an application dated after ``on`` is not seen as of it
    now = profile if on == today else evaluate(store.facts(by), catalog, today, subject=by)
    if any(
        s.application == "pending" and s.record.counterpart == organisation
        for p in (profile, now)
        for s in p.records
        if s.record.record_type in release.applications
    ):
        raise WorkflowError(f"{by} already has an application for {release_id} awaiting a decision")
    new = NewRecord(by, release.applications[0], release.authority, on, reference,
                    counterpart=organisation)  # fmt: skip
    record_id = store.submit(
        [new], catalog=catalog, today=today, actor=by, project=default_projector(catalog, today)
    )[0].id
    state = _state(store, catalog, record_id, on)
    assert state.application_decide_by is not None
    return Pending(record_id, "release", on, state.application_decide_by, release.authority, by)


def decide_release(
    store: RecordStore,
    catalog: Loaded,
    application_id: str,
    *,
    authority: str,
    granted: bool,
    reason: str,
    on: date,
    today: date,
) -> Record:
    """The deciding authority grants (the measures the release lifts end for the applicant
    through its roles in the organisation, from ``on``) or refuses a pending application,
    as a record of its own. A grant to a holder of a role that bars it (the actual
    controller, for a replaced representative) is refused."""
    rec = _by_designating_authority(
        store, application_id, authority=authority, may="may decide the application",
        on=on, today=today, reason=reason,
    )  # fmt: skip
    release = catalog.index.release_applied_for(rec.record_type)
    if release is None:
        raise WorkflowError(f"record {application_id} is not an application for a release")
    profile = evaluate(store.facts(rec.subject), catalog, on, subject=rec.subject)
    state = next(s for s in profile.records if s.record.id == application_id)
    if state.application != "pending":
        raise WorkflowError(f"record {application_id} has no application awaiting a decision")
    if granted:
        barred = _roles_held(catalog, profile.records, rec.counterpart, on) & set(
            r.value for r in release.barred_by
        )
        if barred:
            raise WorkflowError(
                f"{rec.subject} is {' and '.join(sorted(barred))} of {rec.counterpart}, "
                f"which bars release {release.id}"
            )
    steps = release.record_types if granted else release.refusals
    if not steps:
        raise WorkflowError(f"release {release.id} records no refusal: grant or leave it")
    new = NewRecord(rec.subject, steps[0], authority, on, reason, counterpart=rec.counterpart)
    record_id = store.submit(
        [new], catalog=catalog, today=today, actor=authority,
        project=default_projector(catalog, today),
    )[0].id  # fmt: skip
    return store.record(record_id)


def _roles_held(
    catalog: Loaded, states: Sequence[RecordState], organisation: str | None, on: date
) -> set[str]:
    """The roles the subject of ``states`` holds in ``organisation`` on ``on``."""
    held: set[str] = set()
    for s in states:
        rt = catalog.index.record_types.get(s.record.record_type)
        if (
            rt is not None
            and rt.role is not None
            and s.record.counterpart == organisation
            and s.status == "in_effect"
            and s.record.decided_on <= on
        ):
            held.add(rt.role.value)
    return held
