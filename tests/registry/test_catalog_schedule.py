"""Activating or retiring a catalog is checked against every day it changes: the catalogs in
force on each day from then on must run together, and run only catalogs in force. A change
that fails is refused before anything is stored (no version, no audit entry), so the
registry never holds a set of catalogs it then refuses to run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from socialcredit.errors import InputError
from socialcredit.registry import catalogs
from socialcredit.registry.ledger import Ledger

HEAD = """[catalog]
id = "{id}"
title = "{id}"
version = "1"
extends = [{extends}]
description = "test"
sources = ["test"]
"""
LITTER = """
[[record_types]]
code = "{code}"
title = "Littering"
domain = "dogs"
subject_kinds = ["person"]
severity = "minor"
nature = "violation"
legal_basis = "City regulation art. 1"
issuers = ["jinan.dog_office"]
repairable = false
publication = {{ published = false, max_months = 3 }}
"""


def catalog(folder: Path, cid: str, code: str, extends: str = "cn-common") -> str:
    path = folder / f"{cid}.toml"
    path.write_text(HEAD.format(id=cid, extends=f'"{extends}"') + LITTER.format(code=code))
    return str(path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    with Ledger.open(url) as led:
        led.init()
        catalogs.activate(led, "cn-common", on=date(2020, 1, 1), actor="test")
        yield led


def stored(ledger: Ledger) -> tuple[int, int]:
    return len(ledger.catalog_versions()), ledger.last_audit_seq()


def test_a_version_clashing_with_one_that_starts_later_is_refused(
    ledger: Ledger, tmp_path: Path
) -> None:
    catalogs.activate(ledger, catalog(tmp_path, "city-a", "city.litter"), on=date(2025, 1, 1),
                      actor="test")  # fmt: skip
    before = stored(ledger)
    clash = catalog(tmp_path, "city-b", "city.litter")  # the same record type
    with pytest.raises(InputError, match="from: from 2025-01-01 the catalogs in force would "
                                         "not run together: .*city.litter"):  # fmt: skip
        catalogs.activate(ledger, clash, on=date(2024, 1, 1), actor="test")
    assert stored(ledger) == before
    catalogs.in_force(ledger, date(2025, 6, 1))  # runs as before


def test_a_catalog_extending_a_custom_one_runs_with_it_and_not_without(
    ledger: Ledger, tmp_path: Path
) -> None:
    ext = catalog(tmp_path, "city-ext", "city.noise", extends="city-base")
    base = catalog(tmp_path, "city-base", "city.litter")
    before = stored(ledger)
    with pytest.raises(InputError, match="from: from 2024-01-01 .*city-base: no such catalog"):
        catalogs.activate(ledger, ext, on=date(2024, 1, 1), actor="test")  # base not in force
    assert stored(ledger) == before
    catalogs.activate(ledger, base, on=date(2024, 1, 1), actor="test")
    catalogs.activate(ledger, ext, on=date(2024, 1, 1), actor="test")
    loaded = catalogs.in_force(ledger, date(2024, 6, 1))
    assert {"city.litter", "city.noise"} <= set(loaded.index.record_types)
    [base_id] = [v.id for v in ledger.catalog_versions() if v.catalog_id == "city-base"]
    before = stored(ledger)
    with pytest.raises(InputError, match="from: from 2025-01-01 .*city-base: no such catalog"):
        catalogs.retire(ledger, base_id, on=date(2025, 1, 1), actor="test")
    assert stored(ledger) == before
    assert all(v.retired_from is None for v in ledger.catalog_versions())


def test_a_bundled_catalog_others_extend_is_not_retired_under_them(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A retired catalog that one in force extends would go on being run through it."""
    catalogs.activate(ledger, catalog(tmp_path, "city-a", "city.litter"), on=date(2024, 1, 1),
                      actor="test")  # fmt: skip
    [common] = [v.id for v in ledger.catalog_versions() if v.catalog_id == "cn-common"]
    before = stored(ledger)
    with pytest.raises(InputError, match="from: from 2025-01-01 catalog.s. cn-common would be "
                                         "run without being in force"):  # fmt: skip
        catalogs.retire(ledger, common, on=date(2025, 1, 1), actor="test")
    assert stored(ledger) == before
    [city] = [v.id for v in ledger.catalog_versions() if v.catalog_id == "city-a"]
    catalogs.retire(ledger, city, on=date(2025, 1, 1), actor="test")  # the one extending first
    catalogs.retire(ledger, common, on=date(2025, 1, 1), actor="test")
    assert [v.retired_from for v in ledger.catalog_versions()] == [date(2025, 1, 1)] * 2


def test_who_activates_or_retires_is_checked_and_an_unknown_id_is_not_found(
    ledger: Ledger, tmp_path: Path
) -> None:
    from socialcredit.errors import NotFound

    city = catalog(tmp_path, "city-a", "city.litter")
    before = stored(ledger)
    for actor, why in (("", "is empty"), ("x\x1b[2J", "control"), ("a" * 121, "at most 120")):
        with pytest.raises(InputError, match=f"actor: .*{why}"):
            catalogs.activate(ledger, city, on=date(2024, 1, 1), actor=actor)
        with pytest.raises(InputError, match=f"actor: .*{why}"):
            catalogs.retire(ledger, 1, on=date(2025, 1, 1), actor=actor)
    for version_id in (0, -1, 10**23):
        with pytest.raises(NotFound, match="no catalog version"):
            catalogs.retire(ledger, version_id, on=date(2025, 1, 1), actor="test")
    assert stored(ledger) == before
