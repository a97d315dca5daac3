"""A compiled catalog: id maps and a few NamedTuples of typed arrays.

Everything a fold needs from a catalog is here, as numbers. The compiled folds
(:mod:`socialcredit.rules.fold`) take these tables as they are; the registry's batch path, the
check index and the simulator read the same ones. Days are ``int32`` days since 1970-01-01, and
"no date" is :data:`NEVER`. Months are calendar months (:func:`socialcredit.daycount.add_months`).

Ways off a list are bits of ``Lists.ways_off`` (``ways_off & FULFILMENT``); a scheme's kind is
``Schemes.kind`` (:data:`POINTS`, :data:`LICENCE`, :data:`WEIGHTED`); a score-based list's
condition is ``Lists.condition`` (:data:`EXHAUSTED`, :data:`GRADES`, :data:`BELOW`,
:data:`AT_LEAST`; :data:`BY_RECORDS` for a list entered by records).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from socialcredit.daycount import NEVER

__all__ = [
    "AT_LEAST",
    "BELOW",
    "BY_RECORDS",
    "COURSE_PASSED",
    "CREDITOR_REQUEST",
    "EXHAUSTED",
    "EXPIRY",
    "FULFILMENT",
    "GRADES",
    "LICENCE",
    "NEVER",
    "NO_LIMIT",
    "OBJECTION",
    "POINTS",
    "REPAIR",
    "SCORE_RECOVERY",
    "WEIGHTED",
    "Feature",
    "Folded",
    "Lists",
    "MemoRow",
    "OrderRow",
    "Orders",
    "PerkRow",
    "ReleaseRow",
    "Records",
    "Rulebook",
    "Rules",
    "Schemes",
    "Types",
]

I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

NO_LIMIT = -1
"""A period that is not set (no effect limit, no duration, no ``within``)."""

# ways off a list (bits)
FULFILMENT = 1
CREDITOR_REQUEST = 2
REPAIR = 4
EXPIRY = 8
OBJECTION = 16
SCORE_RECOVERY = 32
COURSE_PASSED = 64

# scheme kinds
POINTS, LICENCE, WEIGHTED = 0, 1, 2

# list entry conditions
BY_RECORDS, EXHAUSTED, GRADES, BELOW, AT_LEAST = 0, 1, 2, 3, 4


class Types(NamedTuple):
    """Per record type."""

    min_months: I32
    """Repair ends the record's effect no earlier than this many months after its date."""
    effect_months: I32
    """How long a record counts; :data:`NO_LIMIT` if it has no fixed end."""
    repairable: B
    performance_ends: B
    """A record of a default with no fixed end: it ends when the obligation is performed or
    the creditor withdraws..."""
    after_performance: I32
    """... and this many months after that."""


class Schemes(NamedTuple):
    """Per scheme; ``*_start`` columns are CSR offsets (one more row than schemes)."""

    kind: I32
    base: F64
    """Points: the base score. Licence: the points a licence carries."""
    floor: F64
    ceiling: F64
    low: F64
    high: F64
    period_months: I32
    """Licence: offences count within this rolling period."""
    rule_start: I32
    """The scheme's rules are ``rule_start[s] .. rule_start[s + 1]`` (occurrence counters)."""
    band_start: I32
    band_min: F64
    """Grade thresholds, highest first per scheme; grade ``g`` is ``band_start[s] + g``."""
    dim_start: I32
    dim_base: F64
    dim_weight: F64
    renewed: B
    """``renewed[s, t]``: a record of type ``t`` returns licence ``s`` with its full points
    (offences decided on or before it no longer count)."""


class Rules(NamedTuple):
    """Which rules a record of a type triggers in a scheme, and their points by occurrence.

    ``entry_start[s * n_types + t] .. entry_start[s * n_types + t + 1]`` index ``entry_rule`` and
    ``entry_dim`` (the dimension of a weighted scheme the rule adds to), and a rule's points for
    its ``k``-th occurrence (1-based) are ``occ_points[occ_start[r] + min(k, n) - 1]`` with ``n``
    values (the last repeats). Rules that reach other people's records are not here: see
    :attr:`Rulebook.links`.
    """

    entry_start: I32
    entry_rule: I32
    entry_dim: I32
    occ_start: I32
    occ_points: F64


class Lists(NamedTuple):
    """Per list, and the two lookups a fold needs (record type -> lists, scheme -> lists)."""

    duration_months: I32
    """[list, type]: how long a listing by a record of the type lasts (the list's, or its
    term's for the type); :data:`NO_LIMIT`: no fixed term."""
    min_count: I32
    within_months: I32
    ways_off: I32
    """[list, type]: the ways off (bits) of a listing by a record of the type."""
    scheme: I32
    """The scheme a score-based list reads; -1 for a list entered by records."""
    condition: I32
    threshold: F64
    grade_mask: B
    """``grade_mask[l, g]``: grade ``g`` of the list's scheme puts a subject on list ``l``."""
    type_start: I32
    type_list: I32
    """Lists entered by records of type ``t``: ``type_list[type_start[t]:type_start[t + 1]]``."""
    scheme_start: I32
    scheme_list: I32
    """Score-based lists of scheme ``s``, in id order."""
    extension_months: I32
    """``[list, t, e]``: months a record of type ``e`` extends a fixed-term listing by a record
    of type ``t`` decided while it lasts (0: it does not); the largest such extension counts."""
    extendable: B
    """``[list, t]``: some record type extends a listing by a record of type ``t``."""


class Orders(NamedTuple):
    """Measures ordered directly by records (per order, as :class:`Lists` per list): a record
    of a type in ``type_list[type_start[t]:type_start[t + 1]]`` orders them from its date for
    ``duration_months[o, t]``, ended early by ``ways_off[o, t]``."""

    duration_months: I32
    ways_off: I32
    type_start: I32
    type_list: I32


class Records(NamedTuple):
    """Records as columns, grouped by subject, each subject's in decision order; per record the
    windows its lifecycle events gave it (:func:`socialcredit.rules.fold.record_windows`)."""

    type: I32
    day: I32
    voided: B
    effect_until: I32
    natural_end: I32
    fulfilled: I32
    withdrawn: I32
    repaired: I32


class Folded(NamedTuple):
    """What :func:`socialcredit.rules.fold.fold_subjects` writes: per subject and scheme (dense
    rows) the score, grade (-1: none), whether a record counted and whether a licence is
    exhausted; memberships as rows from ``m_off[i]``, ``m_count[i]`` of them for subject ``i``
    (``m_scheme`` -1 for a list entered by records; ``m_list`` ``n_lists + o`` for order
    ``o`` in force)."""

    score: F64
    grade: I32
    touched: B
    exhausted: B
    m_off: npt.NDArray[np.int64]
    m_list: I32
    m_since: I32
    m_until: I32
    m_scheme: I32
    m_count: I32


class MemoRow(NamedTuple):
    memorandum: str
    list: str
    measures: tuple[str, ...]
    extends_to: tuple[str, ...]


class OrderRow(NamedTuple):
    order: str
    measures: tuple[str, ...]
    extends_to: tuple[str, ...] = ()
    """Roles the order's measures also reach in an ordered organisation."""


class ReleaseRow(NamedTuple):
    """A release: a grant (a record of one of ``record_types`` about a holder of one of
    ``roles``, naming the organisation) ends from its date what the memoranda and orders in
    ``lifts`` reach him with through that role there."""

    release: str
    roles: tuple[str, ...]
    lifts: tuple[str, ...]
    record_types: tuple[str, ...]


class PerkRow(NamedTuple):
    scheme: str
    at_least: float
    measures: tuple[str, ...]


class Feature(NamedTuple):
    """A catalog feature in use, and the catalog item that uses it (for refusals)."""

    name: str
    item: str


@dataclass(frozen=True)
class Rulebook:
    """A catalog compiled: id maps, the tables, and what cannot be tabulated (memoranda,
    perks, links to other subjects) as small rows."""

    type_ids: dict[str, int]
    scheme_ids: list[str]
    list_ids: list[str]
    grade_names: list[list[str]]
    types: Types
    schemes: Schemes
    rules: Rules
    lists: Lists
    orders: Orders
    order_rows: list[OrderRow]
    """Per order (index ``o``), its id and measures."""
    memoranda: list[MemoRow]
    perks: list[PerkRow]
    measure_kinds: dict[str, str]
    role_types: frozenset[str]
    """Record types that record a legal organisational role, or a step of a release (their
    subjects are evaluated by the reference, which follows roles)."""
    links: tuple[tuple[str, str, str], ...]
    """Rules that reach another subject's records: ``(scheme, record type, via)``."""
    features: tuple[Feature, ...]
    """Every feature the catalog uses, with the item using it (see :mod:`.features`)."""
    digest: str
    """SHA-256 of the catalog's content: two loads of the same rules share one compilation."""
    releases: list[ReleaseRow] = field(default_factory=list)
    """Per release (``[[releases]]``), what a grant ends."""

    @property
    def n_types(self) -> int:
        return len(self.type_ids)


assert int(NEVER) == 2**31 - 1
