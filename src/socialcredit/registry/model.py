"""Records and their lifecycle: immutable facts the ledger stores and evaluation folds.

A :class:`Record` is an authority's dated decision about a subject. Nothing about it ever changes;
what happens to it afterwards (an objection filed and upheld, a repair granted, the obligation
fulfilled, a revocation) is a :class:`LifecycleEvent` that refers to it. A subject's state at any
date is a pure fold over these facts (:func:`socialcredit.registry.evaluate.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Record:
    """An authority's decision: ``record_type`` about ``subject``, decided on ``decided_on``."""

    id: str
    subject: str
    record_type: str
    authority: str
    decided_on: date
    decision_ref: str = ""
    counterpart: str | None = None
    """For a role record: the organisation in which the subject holds the role."""


class EventKind(StrEnum):
    """What happened to a record, in the past tense."""

    fulfilled = "fulfilled"  # the obligation behind it was performed
    creditor_withdrew = "creditor_withdrew"  # the creditor asked for removal
    objection_filed = "objection_filed"
    objection_upheld = "objection_upheld"  # the record was wrong: it has no effect at all
    objection_rejected = "objection_rejected"
    revoked = "revoked"  # withdrawn by the authority: no effect at all
    repair_applied = "repair_applied"
    repair_granted = "repair_granted"  # publication and effect end (not before the minimum)
    repair_refused = "repair_refused"


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """``kind`` happened to record ``record_id`` on ``on``."""

    record_id: str
    kind: EventKind
    on: date
    actor: str = ""
    note: str = ""


Fact = Record | LifecycleEvent
