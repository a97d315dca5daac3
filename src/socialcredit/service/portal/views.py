"""What the pages show of a profile, a record, a measure (the subject's, desk, check)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from socialcredit.policy.loader import CatalogIndex
from socialcredit.policy.schema import Nature
from socialcredit.registry.dates import add_months
from socialcredit.registry.evaluate import Profile, RecordState, evaluate
from socialcredit.rules import RepairBlock, repair_block
from socialcredit.service.portal.common import HISTORY_MONTHS, STATUS_TEXT
from socialcredit.service.registry import Registry


def _title(items: Mapping[str, Any], item_id: str | None) -> str:
    if item_id is None:
        return ""
    item = items.get(item_id)
    return str(item.title) if item is not None else item_id


def _record_view(index: CatalogIndex, state: RecordState, today: date) -> dict[str, Any]:
    rec = state.record
    rt = index.record_types.get(rec.record_type)
    view: dict[str, Any] = {
        "id": rec.id,
        "type": rec.record_type,
        "type_title": rt.title if rt else rec.record_type,
        "legal_basis": rt.legal_basis if rt else "",
        "severity": rt.severity.value if rt else "",
        "authority": rec.authority,
        "authority_title": _title(index.authorities, rec.authority),
        "decided_on": rec.decided_on,
        "decision_ref": rec.decision_ref,
        "counterpart": rec.counterpart,
        "status": state.status,
        "status_text": state.retired.why()
        if state.retired is not None
        else STATUS_TEXT.get(state.status, state.status.replace("_", " ")),
        "voided": state.voided,
        "effect_until": state.effect_until,
        "published": state.published,
        "published_until": state.published_until,
        "repairable_from": state.repairable_from,
        "objection": state.objection,
        "objection_decide_by": state.objection_decide_by,
        "repair": state.repair,
        "repair_decide_by": state.repair_decide_by,
        "fulfilled_on": state.fulfilled_on,
        "repaired_on": state.repaired_on,
        "overdue": any(
            by is not None and today > by
            for by in (state.objection_decide_by, state.repair_decide_by)
        ),
        "can_object": not state.voided and state.objection != "pending",
        "can_repair": False,
        "repair_note": "",
    }
    block = repair_block(
        repairable=rt is not None and rt.repairable,
        is_default=rt is not None and rt.nature is Nature.default,
        repairable_from=state.repairable_from,
        voided=state.voided,
        in_effect=state.status == "in_effect",
        fulfilled=state.fulfilled_on is not None,
        on=today,
    )
    notes = {
        RepairBlock.NOT_REPAIRABLE: "Records of this type cannot be repaired.",
        RepairBlock.TOO_EARLY: f"You may apply for repair from {state.repairable_from}.",
        RepairBlock.NOT_FULFILLED: "This records an obligation not performed: it must be "
        "fulfilled before repair.",
    }
    if block is not None:
        view["repair_note"] = notes.get(block, "")
    elif state.repair not in ("applied", "granted"):
        view["can_repair"] = True
    return view


def _measure_view(index: CatalogIndex, m: Any) -> dict[str, Any]:
    measure = index.measures.get(m.measure)
    return {
        "id": m.measure,
        "title": measure.title if measure else m.measure,
        "kind": m.kind,
        "legal_basis": measure.legal_basis if measure else "",
        "domain": measure.domain if measure else "",
        "since": m.since,
        "until": m.until,
        "list": m.list,
        "list_title": _title(index.lists, m.list),
        "memorandum": m.memorandum,
        "memorandum_title": _title(index.memoranda, m.memorandum),
        "memorandum_basis": (
            index.memoranda[m.memorandum].legal_basis if m.memorandum in index.memoranda else ""
        ),  # fmt: skip
        "scheme": m.scheme,
        "scheme_title": _title(index.schemes, m.scheme),
        "private": bool(m.scheme in index.schemes and index.schemes[m.scheme].private),
        "records": list(m.records),
        "via_role": m.via_role,
        "via_subject": m.via_subject,
    }


def _profile_view(index: CatalogIndex, profile: Profile, today: date) -> dict[str, Any]:
    records = {s.record.id: _record_view(index, s, today) for s in profile.records}
    measures = [_measure_view(index, m) for m in profile.measures]
    lists = []
    for m in profile.lists:
        lst = index.lists.get(m.list)
        memos: dict[str | None, dict[str, Any]] = {}
        for mv in measures:
            if mv["list"] != m.list or mv["via_role"]:
                continue
            memo = memos.setdefault(
                mv["memorandum"],
                {"id": mv["memorandum"], "title": mv["memorandum_title"],
                 "legal_basis": mv["memorandum_basis"], "measures": []},
            )  # fmt: skip
            memo["measures"].append(mv)
        lists.append(
            {
                "id": m.list,
                "title": lst.title if lst else m.list,
                "kind": m.kind,
                "legal_basis": lst.legal_basis if lst else "",
                "since": m.since,
                "until": m.until,
                "removal": list(m.removal),
                "scheme": m.scheme,
                "scheme_title": _title(index.schemes, m.scheme),
                "records": [records[r] for r in m.records if r in records],
                "other_records": [r for r in m.records if r not in records],
                "memoranda": list(memos.values()),
            }
        )
    schemes = []
    for s in profile.schemes.values():
        scheme = index.schemes.get(s.scheme)
        private = bool(scheme and scheme.private)
        schemes.append(
            {
                "id": s.scheme,
                "title": scheme.title if scheme else s.scheme,
                "private": private,
                "keeper": keeper(index, scheme.operator if scheme else None, private),
                "kind": scheme.kind if scheme else "",
                "legal_basis": scheme.legal_basis if scheme else "",
                "score": s.score,
                "grade": s.grade,
                "exhausted": s.exhausted,
                "dimensions": s.dimensions or {},
                "history": [],
            }
        )
    return {
        "subject": profile.subject,
        "as_of": profile.as_of,
        "schemes": schemes,
        "lists": lists,
        "measures": distinct_measures(measures),
        "reasons": len(measures),
        "records": list(records.values()),
    }


def keeper(index: CatalogIndex, operator: str | None, private: bool) -> str:
    """Who keeps a score, in words: a company (a private or commercial score, on data the
    subject agreed to share) or an authority of the state."""
    who = _title(index.authorities, operator) if operator else ""
    if private:
        return f"{who or 'a company'}: a private, commercial score, not the state's"
    return f"{who or 'a public authority'}: kept by the state"


def distinct_measures(paths: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per measure in force, however many lists, memoranda or roles bring it (each
    is one of its ``paths``): in force until the last of them ends (open if any is)."""
    out: dict[str, dict[str, Any]] = {}
    for mv in paths:
        m = out.setdefault(mv["id"], {**mv, "paths": []})
        m["paths"].append(mv)
        ends = [p["until"] for p in m["paths"]]
        m["until"] = None if None in ends else max(ends)
    return list(out.values())


def _history(
    reg: Registry, facts: list[Any], subject: str, today: date, view: dict[str, Any]
) -> list[date]:
    """Fill each scheme's ``history`` with (score, grade) at a few past dates."""
    if not view["schemes"]:
        return []
    days = [add_months(today, -n) for n in HISTORY_MONTHS]
    by_day = [evaluate(facts, reg.catalog, d, subject=subject).schemes for d in days]
    for s in view["schemes"]:
        s["history"] = [
            (d, found[s["id"]].score, found[s["id"]].grade) if s["id"] in found else (d, None, None)
            for d, found in zip(days, by_day, strict=True)
        ]
    return days
