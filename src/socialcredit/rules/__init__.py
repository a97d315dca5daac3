"""The rulebook: the one place where a catalog's meaning becomes computation.

A loaded catalog compiles once (:func:`compile_catalog`) into a :class:`Rulebook` of typed
tables; compiled folds (:mod:`socialcredit.rules.fold`) apply them; :mod:`.decide` holds the
consumer's decision, repair eligibility and "in force on a day", each once. The registry's
batch path and the check index run these; :func:`socialcredit.registry.evaluate.evaluate`
stays the readable reference, and tests hold the two to the same answers on random catalogs.
A feature a driver cannot run is refused by name (:func:`require`), never approximated.
"""

from socialcredit.rules.compile import compile_catalog, rules_of
from socialcredit.rules.decide import (
    RepairBlock,
    decide,
    in_force,
    repair_block,
)
from socialcredit.rules.features import (
    FILING_ONLY,
    FOLDED_TOO,
    THROUGH_ROLES,
    Unsupported,
    catalog_features,
    require,
)
from socialcredit.rules.tables import NEVER, Feature, Rulebook

__all__ = [
    "FILING_ONLY",
    "FOLDED_TOO",
    "NEVER",
    "THROUGH_ROLES",
    "Feature",
    "RepairBlock",
    "Rulebook",
    "Unsupported",
    "catalog_features",
    "compile_catalog",
    "decide",
    "in_force",
    "repair_block",
    "require",
    "rules_of",
]
