"""Where the registry's database and catalogs come from."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from socialcredit.errors import InputError
from socialcredit.policy.loader import Loaded, bundled

DEFAULT_DB = "sqlite:///./socialcredit.db"
FIRST_DAY = date(1949, 10, 1)
LAST_DAY = date(2199, 12, 31)


def db_url(given: str | None = None) -> str:
    """``--db``, else ``$SOCIALCREDIT_DB``, else ``./socialcredit.db``."""
    return given or os.environ.get("SOCIALCREDIT_DB") or DEFAULT_DB


def registry_url(given: str | None = None) -> str:
    """:func:`db_url` for a command over a registry made before: a SQLite file that does not
    exist is refused (``db``: a mistyped path), rather than made, empty, by opening it."""
    from socialcredit.registry.ledger.dialect import normalise_url

    url = normalise_url(db_url(given))
    if url.startswith("sqlite:///") and "?" not in url:
        path = url.removeprefix("sqlite:///")
        if path not in ("", ":memory:") and not Path(path).exists():
            raise InputError("db", f"no registry at {path}: make one with `socialcredit db init`")
    return url


def registry_catalog(refs: Sequence[str] = ()) -> Loaded:
    """The catalogs the registry runs: the given ones, or every bundled admissible one.

    The registry refuses any catalog with an error finding (raises ``CatalogRefused``).
    """
    from socialcredit.policy.checker import load_admissible

    chosen = list(refs) or [str(b.path) for b in bundled() if not b.synthetic]
    return load_admissible(*chosen)


def parse_date(value: str | None, *, field: str, default: date | None = None) -> date:
    """An ISO date from the command line or an API, or a clear error naming the field."""
    if value is None or value == "":
        if default is None:
            raise InputError(field, "a date is required (YYYY-MM-DD)")
        return default
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(field, f"{value!r} is not a date (expected YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(
            field, f"{day} is outside the dates this registry handles ({FIRST_DAY} to {LAST_DAY})"
        )
    return day
