"""Three small rules every part of the registry asks, each written once.

- :func:`in_force`: whether a measure (or anything with a since/until) holds on a day;
- :func:`decide`: the consumer's answer for a measure, from the grounds in force;
- :func:`repair_block`: why a record cannot be repaired on a day, if it cannot.

>>> from datetime import date
>>> in_force(date(2020, 1, 1), date(2021, 1, 1), date(2021, 1, 1))
False
>>> decide("restriction", [Ground("court.list", "consumption", None, None, None)])[0]
'deny'
>>> decide("incentive", [])[2]
[{'code': 'NOT_ELIGIBLE'}]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Any, NamedTuple

__all__ = ["Ground", "RepairBlock", "decide", "in_force", "repair_block"]


def in_force(since: date | None, until: date | None, on: date) -> bool:
    """``since <= on < until``; a missing bound does not limit."""
    return (since is None or since <= on) and (until is None or on < until)


class Ground(NamedTuple):
    """Why a measure applies: a list and the memorandum mapping it to the measure, a score
    threshold of a scheme, or an order made directly by a record (a court's consumption
    restriction order); the role held in a listed organisation, if it reaches that way."""

    list: str | None
    memorandum: str | None
    scheme: str | None
    via_role: str | None
    until: date | None
    order: str | None = None


def decide(kind: str, grounds: Sequence[Ground]) -> tuple[str, date | None, list[dict[str, Any]]]:
    """``(decision, until, reasons)`` for a measure of ``kind`` (``restriction`` or
    ``incentive``) given the grounds in force.

    A restriction with any ground in force: ``deny`` until the latest end (``None`` if any
    ground has no end); none: ``allow``. An incentive: ``allow`` while a ground holds, otherwise
    ``deny`` with ``NOT_ELIGIBLE``. Reasons name the chain (list, memorandum, scheme, order, role),
    never the records' contents.
    """
    reasons: list[dict[str, Any]] = []
    for g in grounds:
        reason: dict[str, Any] = {
            "code": "LISTED" if g.list else "ORDERED" if g.order else "THRESHOLD",
            "list": g.list,
            "memorandum": g.memorandum,
            "until": g.until.isoformat() if g.until is not None else None,
        }
        if g.scheme is not None:
            reason["scheme"] = g.scheme
        if g.order is not None:
            reason["order"] = g.order
        if g.via_role is not None:
            reason["via_role"] = g.via_role
        reasons.append(reason)
    until: date | None = None
    if grounds and all(g.until is not None for g in grounds):
        until = max(g.until for g in grounds if g.until is not None)
    if kind == "restriction":
        return ("deny", until, reasons) if grounds else ("allow", None, [])
    if grounds:
        return "allow", until, reasons
    return "deny", None, [{"code": "NOT_ELIGIBLE"}]


class RepairBlock(Enum):
    """Why a repair cannot be applied for or granted (the value is the explanation)."""

    NOT_REPAIRABLE = "records of this type cannot be repaired"
    VOIDED = "the record has no effect: nothing to repair"
    NOT_IN_EFFECT = "the record is no longer in effect: nothing to repair"
    TOO_EARLY = "the minimum period before repair has not passed"
    NOT_FULFILLED = "the record is of an obligation not performed: it must be fulfilled first"


def repair_block(
    *,
    repairable: bool,
    is_default: bool,
    repairable_from: date | None,
    voided: bool,
    in_effect: bool,
    fulfilled: bool,
    on: date,
) -> RepairBlock | None:
    """The first reason a record cannot be repaired on ``on``, or ``None`` if it can: a type
    that allows repair, a record in effect, the minimum period passed, and for a default
    (an obligation not performed) the obligation fulfilled."""
    if not repairable or repairable_from is None:
        return RepairBlock.NOT_REPAIRABLE
    if voided:
        return RepairBlock.VOIDED
    if not in_effect:
        return RepairBlock.NOT_IN_EFFECT
    if on < repairable_from:
        return RepairBlock.TOO_EARLY
    if is_default and not fulfilled:
        return RepairBlock.NOT_FULFILLED
    return None
