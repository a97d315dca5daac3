"""Calendar months are counted one way: the registry's dates (``registry.dates.add_months``)
and the compiled day numbers every fold uses (``daycount.add_months``) agree on every day."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.daycount import add_months, from_day, to_day
from socialcredit.registry import dates


@settings(deadline=None)  # correctness only: the first call compiles, and the machine is shared
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), st.integers(-600, 600))
def test_both_month_counts_agree(day: date, months: int) -> None:
    assert from_day(add_months(to_day(day), months)) == dates.add_months(day, months)


def test_month_ends_clamp() -> None:
    assert dates.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert from_day(add_months(to_day(date(2023, 1, 31)), 1)) == date(2023, 2, 28)
