"""Regimes: which catalog rules a run applies, compiled into the few numbers the kernel needs.

A regime file names catalogs (loaded with the policy loader: the simulator may load the
synthetic, refused ones too), the record type a refused judgment produces, the list it feeds,
and the measures whose bookings are counted. Everything about periods and ways off comes from
the catalog itself, never from here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded, load
from socialcredit.policy.schema import Removal, Role
from socialcredit.rules import Feature, Unsupported, compile_catalog, require, rules_of
from socialcredit.sim.common import bundled_toml, read_ref

if TYPE_CHECKING:
    from socialcredit.sim.folding import FoldRegime

BUNDLED = "socialcredit.sim.regimes"


class RegimeFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    catalogs: tuple[str, ...]
    record_type: str
    list: str
    flight_measure: str
    train_measure: str
    due_process: bool = True
    """Whether objections can succeed (a regime without appeal ignores them)."""


@dataclass(frozen=True)
class Regime:
    """The rules of one run, as numbers."""

    spec: RegimeFile
    loaded: Loaded
    list_months: int | None
    effect_months: int | None
    fulfilment_ends_listing: bool
    objection_voids: bool
    flight_restricted: bool
    train_restricted: bool
    authority: str
    repair_months: int | None = None
    """The record's minimum period before repair, if repair is a way off the list."""
    representatives_restricted: bool = False
    """Whether the memoranda carrying the travel measures reach a listed organisation's legal
    representative."""

    @property
    def name(self) -> str:
        return self.spec.name


def bundled_names() -> list[str]:
    return bundled_toml(BUNDLED)


def load_any_regime(ref: str | Path) -> Regime | FoldRegime:
    """A regime: a list of catalogs for the one engine, or (a file naming ``record_type`` and
    ``list``) the court list's engine. Catalog paths resolve relative to the regime file."""
    text = _read(ref)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("regime", f"{ref}: {exc}") from None
    if "record_type" in raw:
        return load_regime(ref)
    from socialcredit.sim.folding import load_fold_regime

    base = Path(ref).parent if isinstance(ref, Path) or str(ref).endswith(".toml") else None
    return load_fold_regime(raw, str(ref), base=base)


def _read(ref: str | Path) -> str:
    return read_ref(ref, BUNDLED, "regime")[0]


COURT_RUNS = (
    "list.by_records",
    "list.terms", "list.duration", "way_off.fulfilment", "way_off.repair",
    "way_off.creditor_request", "memorandum.reach.legal_representative",
    "memorandum.reach.responsible_person", "memorandum.reach.actual_controller",
)  # fmt: skip
"""What the court list's engine runs of the items its record type reaches: one list entered
by one record, its duration and ways off, measures reaching a listed organisation's legal
roles (this world's organisations have a legal representative only: other roles reach no one).
Creditor requests are a way off no conduct in this world produces."""


def _refuse_what_it_cannot_run(loaded: Loaded, spec: RegimeFile) -> None:
    """Refuse (:class:`~socialcredit.rules.Unsupported`) a feature of the items the run's record
    type reaches (the lists it enters, the schemes counting it, their memoranda) that the court
    list's engine does not run: a second list, a score, several records per entry..."""
    idx = loaded.index
    code = spec.record_type
    lists = [lst for lst in idx.catalog.lists if code in lst.entry.record_types]
    schemes = [s for s in idx.catalog.schemes if any(r.record_type == code
                                                     for r, _d, _v in rules_of(s))]  # fmt: skip
    driver = f"the court list's engine (regime {spec.name})"
    for lst in lists:
        if lst.id != spec.list:
            raise Unsupported(driver, Feature("a second list of the record type", f"list {lst.id}"))
    for scheme in schemes:
        raise Unsupported(driver, Feature(f"scheme.{scheme.kind}", f"scheme {scheme.id}"))
    items = {f"list {spec.list}"} | {
        f"memorandum {m.id}" for m in idx.memoranda_by_list.get(spec.list, [])
    }
    reached = [f for f in compile_catalog(loaded).features if f.item in items]
    require(reached, COURT_RUNS, driver=driver)


def load_regime(ref: str | Path) -> Regime:
    """A bundled regime by name, or a regime TOML file, compiled against its catalogs."""
    text = _read(ref)
    try:
        raw = tomllib.loads(text)
        if "record_type" not in raw:
            raise InputError("regime", f"{ref} is a regime of catalogs, not of the court list")
        spec = RegimeFile.model_validate(raw)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise InputError("regime", f"{ref}: {exc}") from None
    base = Path(ref).parent if isinstance(ref, Path) or str(ref).endswith(".toml") else None
    loaded = load(*(base / c if base is not None and c.endswith(".toml") else c
                    for c in spec.catalogs))  # fmt: skip
    idx = loaded.index
    rt = idx.record_types.get(spec.record_type)
    lst = idx.lists.get(spec.list)
    if rt is None:
        raise InputError("regime.record_type", f"{spec.record_type!r} is in no catalog named")
    if lst is None:
        raise InputError("regime.list", f"{spec.list!r} is in no catalog named")
    if spec.record_type not in lst.entry.record_types:
        raise InputError("regime.list", f"{spec.list!r} is not entered by {spec.record_type!r}")
    _refuse_what_it_cannot_run(loaded, spec)
    term_months, term_ways = lst.term_for(spec.record_type)
    memoranda = idx.memoranda_by_list.get(spec.list, [])
    measures = {m for memo in memoranda for m in memo.measures}
    travel = (spec.flight_measure, spec.train_measure)
    reps = any(
        Role.legal_representative in memo.extends_to and any(m in memo.measures for m in travel)
        for memo in memoranda
    )
    return Regime(
        spec=spec,
        loaded=loaded,
        list_months=term_months,
        effect_months=rt.publication.effect,
        fulfilment_ends_listing=Removal.fulfilment in term_ways,
        objection_voids=spec.due_process,
        flight_restricted=spec.flight_measure in measures,
        train_restricted=spec.train_measure in measures,
        authority=rt.issuers[0] if rt.issuers else "court",
        repair_months=(
            rt.publication.min_months if Removal.repair in term_ways and rt.repairable else None
        ),
        representatives_restricted=reps,
    )
