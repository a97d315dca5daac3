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
from datetime import date
from functools import lru_cache

from socialcredit.errors import InputError

__all__ = ["add_months", "date"]


@lru_cache(maxsize=1 << 16)
def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the day clamps to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise InputError("date", f"{day} plus {months} months is outside the calendar")
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))
