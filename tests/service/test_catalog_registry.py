"""The service's registry follows the catalogs in force (:meth:`Registry.follow_catalogs`),
and its profile says why a record's type stopped having effect, as the portal shows it. In
process, over a real SQLite ledger; the same over HTTP and with real processes is in
``test_catalog_follow.py``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from socialcredit.errors import InputError
from socialcredit.registry.catalogs import activate, in_force, record_types_of, retirements
from socialcredit.registry.ledger import CatalogVersion, Ledger, NewRecord
from socialcredit.service.portal.views import _record_view
from socialcredit.service.registry import Registry

PERSON = "34052419800101001X"
CUSTOM = Path(__file__).parents[1] / "data" / "registry.toml"
JULY = date(2024, 7, 1)


def _v2(tmp_path: Path) -> Path:
    """Version 2 of the custom catalog, without the court's record type and its list."""
    text = CUSTOM.read_text(encoding="utf-8")
    start = text.index('[[record_types]]\ncode = "court.refuse"')
    v2 = text[:start] + text[text.index('[[record_types]]\ncode = "city.late_fee"') :]
    v2 = v2[: v2.index("[[lists]]")] + v2[v2.index("[[measures]]") : v2.index("[[memoranda]]")]
    path = tmp_path / "registry.toml"
    path.write_text(v2.replace('version = "1"', 'version = "2"'), encoding="utf-8")
    return path


def _refuse(n: int, day: date) -> NewRecord:
    return NewRecord(PERSON, "court.refuse", "court", day, f"(2024) Zhi {n}")


def test_the_server_swaps_in_a_new_version_and_explains_the_retired_type(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'reg.db'}")
    try:
        ledger.init()
        activate(ledger, str(CUSTOM), on=date(2020, 1, 1), actor="test")
        today = [date(2024, 6, 1)]
        reg = Registry(ledger, in_force(ledger, today[0]), today=lambda: today[0])
        assert reg.follow_catalogs()  # the first look: what is in force today
        assert not reg.follow_catalogs()  # nothing changed: nothing loaded
        reg.submit([_refuse(1, date(2024, 1, 10))], actor="authority:court")
        ledger.retire_catalog(1, retired_from=JULY, actor="test")
        activate(ledger, str(_v2(tmp_path)), on=JULY, actor="test")
        assert not reg.follow_catalogs()  # still version 1 on this day
        assert reg.profile(PERSON, today[0]).records[0].status == "in_effect"
        today[0] = date(2024, 8, 1)  # the day changes: version 2 is in force
        assert reg.follow_catalogs()
        assert "court.refuse" not in reg.catalog.index.record_types
        [state] = reg.profile(PERSON, today[0]).records
        assert state.status == "retired" and state.voided
        why = "retired on 2024-07-01 by catalog registry-test v2 (v1 defined it)"
        assert state.retired is not None and state.retired.why() == why
        assert _record_view(reg.catalog.index, state, today[0])["status_text"] == why
        with pytest.raises(InputError, match="court.refuse"):
            reg.submit([_refuse(2, date(2024, 7, 20))], actor="authority:court")
    finally:
        ledger.close()


def _version(
    vid: int, catalog: str, version: str, types: list[str], start: date, end: date | None
) -> CatalogVersion:
    text = f'[catalog]\nid = "{catalog}"\n' + "".join(
        f'[[record_types]]\ncode = "{t}"\n' for t in types
    )
    now = date(2024, 1, 1)
    return CatalogVersion(vid, f"{catalog}.toml", catalog, version, catalog, False, text, "",
                          start, end, "test", now, None, None)  # type: ignore[arg-type]  # fmt: skip


def test_retirements_name_the_latest_retirement_of_types_no_catalog_in_force_defines() -> None:
    versions = [
        _version(1, "a", "1", ["a.x", "a.y", "shared"], date(2020, 1, 1), date(2021, 1, 1)),
        _version(2, "a", "2", ["a.x"], date(2021, 1, 1), date(2022, 1, 1)),
        _version(3, "b", "1", ["shared"], date(2020, 1, 1), None),
        _version(4, "c", "1", ["c.z"], date(2020, 1, 1), date(2030, 1, 1)),
    ]
    on = date(2023, 1, 1)
    known = {"shared", "c.z"}  # what b and c (in force on the day) define
    found = {code: r.why() for code, r in retirements(versions, on, known).items()}
    assert found == {
        "a.x": "retired on 2022-01-01 by catalog a v2",  # the latest: version 2's own retirement
        "a.y": "retired on 2021-01-01 by catalog a v1",  # no version of a in force on the day
    }
    # before version 2 was retired, version 2 itself took a.y out
    found = {c: r.why() for c, r in retirements(versions, date(2021, 6, 1), {"a.x"}).items()}
    assert found["a.y"] == "retired on 2021-01-01 by catalog a v2 (v1 defined it)"
    assert record_types_of("not toml [") == []
