"""``Ledger.catalog_stamp``: what a running server reads several times a second to notice a
catalog activated or retired elsewhere changes with each, and only with them; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from socialcredit.registry.catalogs import activate
from socialcredit.registry.ledger import Ledger

CUSTOM = Path(__file__).parents[1] / "data" / "registry.toml"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_stamp_changes_with_each_activation_and_retirement(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    with Ledger.open(url) as ledger:
        ledger.init()
        empty = ledger.catalog_stamp()
        assert empty == (0, 0, 0)
        v = activate(ledger, str(CUSTOM), on=date(2020, 1, 1), actor="test")
        active = ledger.catalog_stamp()
        assert active == (1, v.id, 0)
        ledger.log_access(actor="test", action="profile", subject=None, purpose="a read")
        assert ledger.catalog_stamp() == active  # other writes leave it
        ledger.retire_catalog(v.id, retired_from=date(2024, 1, 1), actor="test")
        assert ledger.catalog_stamp() == (1, v.id, 1)
