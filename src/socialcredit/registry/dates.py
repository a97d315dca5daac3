"""Calendar arithmetic the catalogs need: months added the way a legal period is counted.

>>> add_months(date(2024, 1, 31), 1)
datetime.date(2024, 2, 29)
>>> add_months(date(2023, 3, 15), 24)
datetime.date(2025, 3, 15)
>>> add_months(date(2025, 3, 15), -24)
datetime.date(2023, 3, 15)
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

from socialcredit.errors import InputError

__all__ = ["OBJECTION_DAYS", "REPAIR_WORKING_DAYS", "add_months", "add_working_days", "date"]


@lru_cache(maxsize=1 << 16)
def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the day clamps to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise InputError("date", f"{day} plus {months} months is outside the calendar")
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


OBJECTION_DAYS = 20
"""An objection is answered within 20 days (PBOC credit reporting)."""
REPAIR_WORKING_DAYS = 13
"""A repair application is decided within 13 working days: Credit China forwards it within 10,
the designating authority decides within 3."""


def add_working_days(day: date, n: int) -> date:
    """``day`` plus ``n`` working days (Monday to Friday; public holidays are not modelled).

    >>> add_working_days(date(2026, 11, 20), 3)  # a Friday
    datetime.date(2026, 11, 25)
    """
    step = timedelta(days=1)
    while n > 0:
        day += step
        if day.weekday() < 5:
            n -= 1
    return day
