"""Regimes: a regime is a list of catalogs, nothing more (bundled ones in ``sim/regimes/``).

Everything a run does with a record (the lists it enters, their terms and ways off, the scores
it moves, the measures that follow) comes from the catalogs, compiled once into the rulebook;
catalog paths in a regime file resolve relative to that file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialcredit.errors import InputError
from socialcredit.sim.common import bundled_toml, read_ref

if TYPE_CHECKING:
    from socialcredit.sim.folding import FoldRegime

BUNDLED = "socialcredit.sim.regimes"


def bundled_names() -> list[str]:
    return bundled_toml(BUNDLED)


def load_any_regime(ref: str | Path, **overrides: Any) -> FoldRegime:
    """A bundled regime by name, or a regime TOML file, with its catalogs compiled (a catalog
    feature the engine cannot run is refused by name); ``overrides`` (path -> value, as a
    scenario's: ``cameras.coverage``) change the file's values before it is validated."""
    from socialcredit.sim.folding import FoldRegimeFile, load_fold_regime
    from socialcredit.sim.scenario import merge_overrides

    text, source = read_ref(ref, BUNDLED, "regime")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("regime", f"{source}: not valid TOML: {exc}") from None
    merge_overrides(raw, overrides, FoldRegimeFile, root="regime")
    base = Path(ref).parent if isinstance(ref, Path) or str(ref).endswith(".toml") else None
    return load_fold_regime(raw, source, base=base)
