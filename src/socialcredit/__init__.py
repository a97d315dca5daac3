"""socialcredit: an inspectable social credit registry with due process, and a simulator that
runs the same policies over a synthetic population.

The Python API (docs/python-api.md)::

    import socialcredit as sc

    law = sc.simulate("china", "law-bound", population=20_000, start="2019-01-01",
                      end="2019-06-30")
    law.metrics          # a pyarrow.Table, a row per day (polars.from_arrow(law.metrics))
    law.by_region        # a row per day and province
    law.summary          # totals over the period, raw and scaled

Importing the package is cheap: the simulator loads on the first call that needs it.
"""

from __future__ import annotations

from socialcredit.api import (
    Simulation,
    StudyResults,
    bundled,
    load_regime,
    load_scenario,
    load_study,
    load_world,
    read_study,
    run_study,
    simulate,
)
from socialcredit.errors import InputError, SocialCreditError


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socialcredit")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
        return "0+unknown"


__version__ = _version()

__all__ = [
    "InputError",
    "Simulation",
    "SocialCreditError",
    "StudyResults",
    "__version__",
    "bundled",
    "load_regime",
    "load_scenario",
    "load_study",
    "load_world",
    "read_study",
    "run_study",
    "simulate",
]
